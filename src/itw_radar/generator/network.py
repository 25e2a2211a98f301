"""IP address space, countries and time zones as numpy lookup tables."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from itw_radar.generator import reference as ref

EXTRA_COUNTRIES = ("CN", "HK", "AE", "RU", "SG", "MY", "KH", "LA", "CH")
ALL_COUNTRIES: tuple[str, ...] = ref.COUNTRY_CODES + EXTRA_COUNTRIES
CIDX: dict[str, int] = {c: i for i, c in enumerate(ALL_COUNTRIES)}
COUNTRY_STR = pa.array(ALL_COUNTRIES, pa.string())

KINDS = ("residential", "mobile", "hosting", "vpn", "tor", "unknown")
KIDX: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
KIND_STR = pa.array(KINDS, pa.string())

TIMEZONES: tuple[str, ...] = tuple(tz for c in ref.COUNTRIES for tz in c.timezones)
TZ_STR = pa.array(TIMEZONES, pa.string())
_tz_first = []
_pos = 0
for _c in ref.COUNTRIES:
    _tz_first.append(_pos)
    _pos += len(_c.timezones)
COUNTRY_TZ_FIRST = np.array(_tz_first, dtype=np.int16)
COUNTRY_TZ_COUNT = np.array([len(c.timezones) for c in ref.COUNTRIES], dtype=np.int16)


def _prefix(text: str) -> int:
    parts = [int(p) for p in text.split(".")]
    parts += [0] * (4 - len(parts))
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]


# Ranges: /16 consumer ranges per country, /24 exits for VPN/hosting/Tor, /16 NAT and leak nets.
_base: list[int] = []
_asn: list[int] = []
_country: list[int] = []
_kind: list[int] = []
_bits: list[int] = []  # host bits available below the prefix (16 or 8)


def _add(prefix: str, asn: int, country: str, kind: str, host_bits: int) -> int:
    _base.append(_prefix(prefix))
    _asn.append(asn)
    _country.append(CIDX[country])
    _kind.append(KIDX[kind])
    _bits.append(host_bits)
    return len(_base) - 1


_res: list[list[int]] = []
_mob: list[list[int]] = []
for _c in ref.COUNTRIES:
    _res.append([_add(p, a, _c.code, "residential", 16) for a, p in _c.residential])
    _mob.append([_add(p, a, _c.code, "mobile", 16) for a, p in _c.mobile])
VPN_RANGES = np.array([_add(p, a, c, k, 8) for k, a, c, p in ref.VPN_EXITS], dtype=np.int32)
US_VPN_RANGES = np.array(
    [r for r, e in zip(VPN_RANGES, ref.VPN_EXITS, strict=True) if e[2] == "US"], dtype=np.int32
)
HOSTING_RANGES = np.array([_add(p, a, c, k, 8) for k, a, c, p in ref.HOSTING_EXITS], np.int32)
TOR_RANGES = np.array([_add(p, a, c, k, 8) for k, a, c, p in ref.TOR_EXITS], dtype=np.int32)
NAT_RANGES = np.array([_add(p, a, c, "residential", 16) for c, a, p in ref.NAT_NETWORKS], np.int32)
LEAK_RANGES = np.array([_add(p, a, c, k, 16) for c, a, p, k in ref.DPRK_LEAK_NETWORKS], np.int32)

RANGE_BASE = np.array(_base, dtype=np.uint32)
RANGE_ASN = np.array(_asn, dtype=np.int64)
RANGE_COUNTRY = np.array(_country, dtype=np.int16)
RANGE_KIND = np.array(_kind, dtype=np.int8)
RANGE_BITS = np.array(_bits, dtype=np.int8)


def _pad(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(x) for x in lists)
    table = np.full((len(lists), width), -1, dtype=np.int32)
    for i, x in enumerate(lists):
        table[i, : len(x)] = x
    return table, np.array([len(x) for x in lists], dtype=np.int32)


RES_TABLE, RES_COUNT = _pad(_res)
MOB_TABLE, MOB_COUNT = _pad(_mob)
V6_PREFIX = pa.array([c.ipv6 or "" for c in ref.COUNTRIES], pa.string())
HAS_V6 = np.array([c.ipv6 is not None for c in ref.COUNTRIES])


def country_range(rng: np.random.Generator, country: np.ndarray, mobile: bool) -> np.ndarray:
    """A random consumer range of each (claimable) country."""
    table, count = (MOB_TABLE, MOB_COUNT) if mobile else (RES_TABLE, RES_COUNT)
    k = (rng.random(len(country)) * count[country]).astype(np.int64)
    return table[country, k]


def address_in(rng: np.random.Generator, ranges: np.ndarray) -> np.ndarray:
    """A random host address (last octet 2..254) inside each range."""
    n = len(ranges)
    host = rng.integers(2, 255, size=n, dtype=np.uint32)
    wide = RANGE_BITS[ranges] == 16
    mid = rng.integers(0, 256, size=n, dtype=np.uint32)
    return RANGE_BASE[ranges] | np.where(wide, mid << np.uint32(8), 0).astype(np.uint32) | host


# A commercial VPN server answers from a handful of exit addresses that all its customers share
# (unrelated people, and unrelated DPRK operations, on the same day).
EXIT_HOSTS = np.array([11, 23, 42, 58, 77, 96, 131, 152, 177, 200, 219, 240], dtype=np.uint32)


def popular_exit(rng: np.random.Generator, ranges: np.ndarray, busiest: int = 0) -> np.ndarray:
    """One of the shared exit addresses of each VPN (or hosting) /24 (`busiest` > 0: one of
    that many busiest ones, where a client's quick-connect lands most often)."""
    n = busiest or len(EXIT_HOSTS)
    host = EXIT_HOSTS[rng.integers(0, n, size=len(ranges))]
    return RANGE_BASE[ranges] | host


@lru_cache(maxsize=64)
def tz_offsets_hours(epoch_day: int) -> np.ndarray:
    """UTC offset in hours of every zone in TIMEZONES at noon UTC of the day."""
    when = dt.datetime(1970, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=epoch_day)
    out = np.empty(len(TIMEZONES), dtype=np.float64)
    for i, name in enumerate(TIMEZONES):
        off = when.astimezone(ZoneInfo(name)).utcoffset()
        out[i] = (off.total_seconds() if off is not None else 0.0) / 3600.0
    return out
