"""Masking personal data inside free text (itw_radar.masking.mask_text): reasons, evidence and
message bodies quote the addresses, devices, hashes and contact details an indicator read."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from itw_radar.masking import mask_identifier, mask_link_value, mask_text

FULL_IPV4 = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]|/\d)")


def test_the_project_evidence_texts_keep_their_meaning_and_lose_the_identifiers() -> None:
    cases = {
        "IP 203.0.113.7 (vpn) used by 4 accounts (3 freelancers) on 2026-11-02":
            "IP 203.0.*.* (vpn) used by 4 accounts (3 freelancers) on 2026-11-02",
        "shares 3 IPs (10.1.2.3,2001:db8:0:1::5; 2 networks) with A9 on 2 days in 30 days":
            "shares 3 IPs (10.1.*.*,2001:db8:*; 2 networks) with A9 on 2 days in 30 days",
        "login L1 at 2026-11-01 12:30 from device d-81f2aa9":
            "login L1 at 2026-11-01 12:30 from device d-81…",
        "before: 3 logins in 30 days, devices d-1x2,d-9y8, networks AS7":
            "before: 3 logins in 30 days, devices d-1x…,d-9y…, networks AS7",
        "devices unknown, networks AS7; median 09:00 UTC":
            "devices unknown, networks AS7; median 09:00 UTC",
        "(e.g. F1, fingerprint 9c1e3f00...) and 2 high rating(s)":
            "(e.g. F1, fingerprint 9c1e…) and 2 high rating(s)",
        "same verification phone on 3 accounts": "same verification phone on 3 accounts",
        # a listed range is a network, not a person: kept; the address that matched is masked
        "watchlist entry 3 (ip_cidr 175.45.176.0/22; source: APNIC): latest from 175.45.177.9":
            "watchlist entry 3 (ip_cidr 175.45.176.0/22; source: APNIC): latest from 175.45.*.*",
        "at 12:30:45 UTC from fe80::1": "at 12:30:45 UTC from fe80::*",
        "$35/h, 40% of the median; 1,234 h lifetime, version 1.2.3.4.5":
            "$35/h, 40% of the median; 1,234 h lifetime, version 1.2.3.4.5",
    }
    for text, masked in cases.items():
        assert mask_text(text) == masked, text


def test_contact_details_and_quotes() -> None:
    body = ("mail bob.smith@gmail.com or call +1 (415) 555-0199, (415) 555-0199, "
            "0044 20 7946 0958; telegram @bob_smith")
    assert mask_text(body, quotes=False) == (
        "mail …@gmail.com or call …, …, …; telegram @…")
    assert mask_text('payout held by "Jin Park"') == 'payout held by "…"'
    assert mask_text(None) == "" and mask_text(float("nan")) == ""


def test_identifiers_and_link_values() -> None:
    assert mask_identifier("dev-81f2aa9c") == "dev-…"
    assert mask_identifier(None) == ""
    assert mask_link_value("ip_day", "198.51.100.23") == "198.51.*.*"
    assert mask_link_value("payout_fingerprint", "9c1e3f0011") == "9c1e…"


_octet = st.integers(0, 255).map(str)
_ipv4 = st.tuples(_octet, _octet, _octet, _octet).map(".".join)
_words = st.lists(st.sampled_from(["login", "from", "IP", "on", "2026-11-02", "(vpn),", "e.g.",
                                   "shares", "AS13335", "12:30", "and", ";", "0044", "20",
                                   "2026-11-02T12:30", "1999-01-31 23:59:59", "(415)",
                                   "555-0199"]), max_size=6)


@given(st.lists(st.tuples(_words, _ipv4), min_size=1, max_size=5), _words)
# a date before an address once read as a phone number and ate the address's first octet
@example(parts=[(["2026-11-02", "2026-11-02"], "6.131.113.235")], tail=["login"])
@example(parts=[(["0044", "20"], "6.131.113.235")], tail=[])
def test_no_full_ipv4_address_survives(parts: list[tuple[list[str], str]],
                                       tail: list[str]) -> None:
    text = " ".join(" ".join(words) + " " + ip for words, ip in parts) + " " + " ".join(tail)
    masked = mask_text(text)
    assert not FULL_IPV4.search(masked), (text, masked)
    for _, ip in parts:  # the network's first half stays, to say what kind of network it is
        assert ".".join(ip.split(".")[:2]) + ".*.*" in masked
