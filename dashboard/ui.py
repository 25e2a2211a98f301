"""Small display helpers shared by the pages: masking, safe text, CSV escaping, page headers.

Nothing here renders HTML: names and message bodies go through `st.text`, data frames, or
Markdown in which every punctuation character has been backslash-escaped.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata

import pandas as pd
import streamlit as st

from dashboard import data
from itw_radar import masking
from itw_radar.masking import FORMULA_PREFIXES, csv_safe  # noqa: F401 (the pages' names)

TIER_COLORS = {"high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "none": "#9e9e9e"}
TIER_ORDER = ["high", "medium", "low", "none"]
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=:$&\"'^%/])")
ACCOUNT_PAGE = "app_pages/account.py"
CASES_PAGE = "app_pages/cases.py"
WORD_JOINER = "\u2060"


def visible(text: object) -> str:
    """`text` with every invisible or direction-changing character shown as `⟦U+202E⟧`.

    Names and texts come from the platform's users: a right-to-left override (U+202E) makes
    "evil" read as "live", zero-width characters make two names that differ look equal. Format
    characters (Unicode category Cf: bidi controls, zero-width joiners, the BOM) and control
    characters other than newline and tab are replaced; ordinary text in any script is kept.
    """
    value = "" if text is None else str(text)
    if value.isprintable():
        return value
    return "".join(
        f"⟦U+{ord(ch):04X}⟧" if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs")
        and ch not in "\n\t" else ch
        for ch in value)


def md_escape(text: object) -> str:
    """Markdown text that shows `text` literally (no links, HTML, emphasis, LaTeX, directives)."""
    value = visible("" if text is None else str(text))
    value = value.replace("\r", " ").replace("\n", " ")
    # a word joiner between repeated dashes/dots keeps Markdown typography from turning
    # `--` into a dash or `...` into an ellipsis; the exact text is shown with st.text elsewhere
    value = re.sub(r"(?<=[-.])(?=[-.])", WORD_JOINER, value)
    return _MD_SPECIAL.sub(r"\\\1", value)


def highlight_markdown(body: str, start: int | None, end: int | None) -> str:
    """The escaped message body with characters [start, end) in bold (0-based offsets)."""
    body = body or ""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return md_escape(body)
    s, e = max(0, int(start)), min(len(body), int(end))
    if s >= e:
        return md_escape(body)
    return f"{md_escape(body[:s])}**{md_escape(body[s:e])}**{md_escape(body[e:])}"


def split_match(body: str, start: int | None, end: int | None) -> tuple[str, str, str]:
    body = body or ""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return body, "", ""
    s, e = max(0, int(start)), min(len(body), int(end))
    return body[:s], body[s:e], body[e:]


def mask_name(value: object) -> str:
    """`Jin Park` -> `J** P***`; commas between names are kept; invisible characters shown."""
    return visible(masking.mask_name(value))


def mask_text(value: object, *, quotes: bool = True) -> str:
    """Free text (reasons, evidence, message text) with the addresses, devices, hashes and
    contact details it quotes masked (`itw_radar.masking.mask_text`); invisible characters
    shown."""
    return visible(masking.mask_text(value, quotes=quotes))


def masked_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with personal data masked where a page shows it without a reveal
    (`itw_radar.masking.mask_frame`)."""
    return masking.mask_frame(frame)


def visible_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `visible` applied to its text columns (names, evidence, messages)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: visible(v) if isinstance(v, str) else v)
    return out


def mask_hash(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    text = str(value)
    return text[:4] + "…" if len(text) > 4 else "…"


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(csv_safe)
    buf = io.StringIO()
    safe.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def fmt_date(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def page_header(title: str) -> data.Snapshot:
    """Title plus the night being shown; returns this run's snapshot (stops if none)."""
    st.title(title)
    try:
        snap = data.current()
    except data.NoServingDatabase as exc:
        st.warning(str(exc))
        st.stop()
    night = data.as_of(snap)
    st.caption(f"Night shown: **{night or 'unknown'}**  ·  serving database "
               f"{md_escape(snap.path)}")
    return snap


def open_account(account_id: str) -> None:
    """Switch to the Account page for `account_id`."""
    st.session_state["account_id"] = account_id
    st.switch_page(ACCOUNT_PAGE, query_params={"account_id": account_id})


def graph_layout(nodes: list[str], edges: list[tuple[str, str]], seed: int = 7,
                 iterations: int = 120) -> dict[str, tuple[float, float]]:
    """Positions in [-1, 1]² for a small graph (Fruchterman-Reingold, deterministic)."""
    import numpy as np

    n = len(nodes)
    if n == 0:
        return {}
    if n == 1:
        return {nodes[0]: (0.0, 0.0)}
    index = {node: i for i, node in enumerate(nodes)}
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rng = np.random.default_rng(seed)
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) + rng.normal(0, 0.01, (n, 2))
    pairs = np.array([(index[a], index[b]) for a, b in edges if a in index and b in index]
                     or np.zeros((0, 2), dtype=int))
    k = 1.0 / np.sqrt(n)
    temp = 0.2
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        disp = ((k * k / dist**2)[:, :, None] * delta).sum(axis=1)
        if len(pairs):
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            length = np.maximum(np.linalg.norm(d, axis=1), 1e-3)
            pull = (length / k)[:, None] * d
            np.add.at(disp, pairs[:, 0], -pull)
            np.add.at(disp, pairs[:, 1], pull)
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, temp)[:, None]
        temp *= 0.97
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max() or 1.0
    pos /= scale
    return {node: (float(pos[i, 0]), float(pos[i, 1])) for node, i in index.items()}


_GOTO_KEY = "_itw_goto_account"


def account_picker(label: str, options: list[str], key: str, help: str | None = None) -> None:
    """A select box that opens the chosen account's page (and resets itself, so coming back
    to this page, or to another account, never jumps again)."""

    def picked() -> None:
        value = st.session_state.get(key)
        if value:
            st.session_state[_GOTO_KEY] = value
        st.session_state[key] = None

    st.selectbox(label, options, index=None, key=key, on_change=picked,
                 placeholder="Choose an account", help=help)
    if goto := st.session_state.pop(_GOTO_KEY, None):
        open_account(str(goto))


def run_details(summary: object) -> dict[str, object]:
    """A pipeline run's JSON summary as readable fields: accounts per tier and new high-risk
    accounts for a published night, rows per file for a night that stopped after loading."""
    if not isinstance(summary, str) or not summary.strip():
        return {}
    try:
        parsed = json.loads(summary)
    except ValueError:
        return {"details": visible(summary)}
    if not isinstance(parsed, dict):
        return {"details": visible(summary)}
    if "accounts_per_tier" in parsed:
        tiers = parsed.get("accounts_per_tier") or {}
        out: dict[str, object] = {t: int(tiers.get(t, 0) or 0) for t in TIER_ORDER}
        out["new high-risk"] = int(parsed.get("new_high_risk_accounts", 0) or 0)
        sample = parsed.get("new_high_risk_sample") or []
        out["details"] = ("new high-risk: " + ", ".join(visible(a) for a in sample[:5])
                          + (", ..." if out["new high-risk"] > len(sample[:5]) else "")
                          if sample else "")
        return out
    files = []
    for name, value in parsed.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            files.append(f"{visible(name)}: {int(value[0] or 0):,} rows, "
                         f"{int(value[1] or 0):,} quarantined")
        else:
            files.append(f"{visible(name)}: {visible(value)}")
    return {"details": "; ".join(files)}


def runs_for_display(runs: pd.DataFrame) -> pd.DataFrame:
    """pipeline_runs with its `summary` JSON spread into columns (tiers, new high-risk, details)."""
    if runs.empty or "summary" not in runs.columns:
        return runs
    details = pd.DataFrame([run_details(v) for v in runs["summary"]], index=runs.index)
    for col in [*TIER_ORDER, "new high-risk"]:
        if col in details.columns:
            details[col] = details[col].astype("Int64")
    return pd.concat([runs.drop(columns=["summary"]), details], axis=1)
