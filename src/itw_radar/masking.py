"""Masking personal data and neutralising spreadsheet formulas, for every place that shows or
exports account data (the dashboard, case evidence bundles)."""

from __future__ import annotations

import re

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def mask_name(value: object) -> str:
    """`Jin Park` -> `J** P***`; commas between names are kept."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    parts = []
    for name in str(value).split(","):
        words = [w[:1] + "*" * max(len(w) - 1, 2) for w in name.split()]
        parts.append(" ".join(words))
    return ", ".join(p for p in parts if p)


def csv_safe(value: object) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or tab/CR) gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# Personal data inside free text (reasons, evidence, message bodies): the identifiers an
# indicator quotes to say which rows it read. Each is cut to what says what kind of thing it is
# without naming anyone: a network's first half, a device id's or a hash's first characters.
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}(?![\w.]|/\d)")
# an IPv6 address (a range written with /nn is a network, kept): three colons or a '::' (a
# time of day with seconds has two, and no '::'), checked in _ipv6
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
                   r"(?:\d{1,3}(?:\.\d{1,3}){3})?(?![\w:.]|/\d)")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_HANDLE = re.compile(r"(?<![\w@…])@[A-Za-z_][\w.]{2,}")
# phone numbers: international (+ and 8 or more digits) or North-American (415) 555-0199
_PHONE = re.compile(r"(?<![\w+])(?:\+\d[\d ()./-]{6,}\d|0\d[\d ()-]{7,}\d"
                    r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?!\w|\.\d)")
# dates and times are not phone numbers: "2026-11-02 2026-11-02" is left alone
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)")
# an identifier named by the word before it: "device d-81f2", "devices a1,b2", "fingerprint
# 9c1e...": tokens with a digit (not "devices unknown", "phone on 3 accounts")
_NAMED = re.compile(r"\b(devices?|fingerprint|phone)( )((?=[^\s,;()]*\d)[^\s,;()]{3,}"
                    r"(?:,[^\s,;()]+)*)")
_QUOTED = re.compile(r'"[^"]*"')
_KEEP = {"unknown"}


def _cut(token: str) -> str:
    if token in _KEEP or token.endswith("…") and len(token) <= 5:
        return token
    return token[:4] + "…"


def _ipv6(m: re.Match[str]) -> str:
    s = m.group(0)
    if "::" not in s and s.count(":") < 3:
        return s
    first, second = s.find(":"), s.find(":", s.find(":") + 1)
    return s[:second if second > first else first] + ":*"


def mask_text(value: object, *, quotes: bool = True) -> str:
    """Free text with the personal data it quotes masked: IPv4 `203.0.113.7` -> `203.0.*.*`,
    IPv6 `2001:db8::1` -> `2001:db8:*`, e-mail addresses -> `…@example.com`, @handles, phone
    numbers, device ids / payment fingerprints / phone hashes after their word ->
    `d-81…`, and (quotes=True) quoted excerpts -> `"…"` (names, message excerpts)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value)
    if quotes:
        text = _QUOTED.sub('"…"', text)
    text = _EMAIL.sub(lambda m: "…@" + m.group(1), text)
    text = _IPV6.sub(_ipv6, text)
    text = _IPV4.sub(lambda m: f"{m.group(1)}.{m.group(2)}.*.*", text)
    text = _NAMED.sub(lambda m: m.group(1) + m.group(2)
                      + ",".join(_cut(t.rstrip(".")) for t in m.group(3).split(",")), text)
    text = _HANDLE.sub("@…", text)
    pieces = _DATETIME.split(text)  # odd pieces are the dates and times, kept as they are
    return "".join(p if i % 2 else _PHONE.sub("…", p) for i, p in enumerate(pieces))


def mask_identifier(value: object) -> str:
    """A device id, hash or fingerprint cut to its first characters: `d-81f2aa9` -> `d-81…`."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return _cut(str(value))


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the personal data of its free-text and identifier columns masked: reasons,
    evidence and addresses as in `mask_text`, device ids and user agents cut, shared
    identifiers by link_type (`mask_link_value`). Other columns are kept."""
    out = frame.copy()
    for col, mask in (("reasons", mask_text), ("evidence", mask_text), ("ip", mask_text),
                      ("device_id", mask_identifier), ("user_agent", mask_identifier)):
        if col in out.columns:
            out[col] = out[col].map(lambda v, m=mask: m(v) if isinstance(v, str) else v)
    if "link_value" in out.columns and "link_type" in out.columns:
        out["link_value"] = [mask_link_value(t, v)
                             for t, v in zip(out["link_type"], out["link_value"], strict=True)]
    return out


def mask_link_value(link_type: object, value: object) -> str:
    """The identifier two linked accounts share, masked by kind: an address (ip_day) as in
    `mask_text`, any other (device, phone, fingerprint, document number, image hash) cut."""
    if str(link_type).startswith("ip"):
        return mask_text(value, quotes=False)
    return mask_identifier(value)
