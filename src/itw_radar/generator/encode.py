"""Vectorised encoders: numpy integer arrays in, Arrow string arrays out.

Python-level string formatting would dominate generation time at millions of rows a night, so
identifiers, hashes, timestamps and IP addresses are assembled as byte matrices with numpy and
handed to Arrow without copying.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-mixed 64-bit hash of each value."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


def hash64(namespace: int, keys: np.ndarray) -> np.ndarray:
    """A 64-bit hash of integer keys inside a namespace (equal keys give equal hashes)."""
    with np.errstate(over="ignore"):
        k = keys.astype(np.uint64) * _GOLD + np.uint64(namespace) * _M2
    return mix64(k)


def _from_fixed(mat: np.ndarray) -> pa.StringArray:
    n, width = mat.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(mat).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def hex64(values: np.ndarray) -> pa.StringArray:
    """16 lowercase hex characters per 64-bit value (perceptual hashes, device ids)."""
    raw = np.asarray(values, dtype=">u8").tobytes().hex().encode("ascii")
    mat = np.frombuffer(raw, dtype=np.uint8).reshape(len(values), 16)
    return _from_fixed(mat)


def sha_hex(namespace: int, keys: np.ndarray) -> pa.StringArray:
    """64 lowercase hex characters per key, standing in for SHA-256 of a normalised value."""
    n = len(keys)
    words = np.empty((n, 4), dtype=">u8")
    base = hash64(namespace, keys)
    for j in range(4):
        words[:, j] = hash64(namespace * 7 + j + 1, base)
    raw = words.tobytes().hex().encode("ascii")
    return _from_fixed(np.frombuffer(raw, dtype=np.uint8).reshape(n, 64))


def fixed_strings(n: int, parts: list[bytes | tuple[np.ndarray, int]]) -> pa.StringArray:
    """Strings of one width from constant byte parts and zero-padded decimal number parts."""
    width = sum(len(p) if isinstance(p, bytes) else p[1] for p in parts)
    mat = np.empty((n, width), dtype=np.uint8)
    pos = 0
    for p in parts:
        if isinstance(p, bytes):
            mat[:, pos : pos + len(p)] = np.frombuffer(p, dtype=np.uint8)
            pos += len(p)
            continue
        values, w = p
        v = np.asarray(values, dtype=np.int64).copy()
        for k in range(w - 1, -1, -1):
            mat[:, pos + k] = 48 + (v % 10)
            v //= 10
        pos += w
    return _from_fixed(mat)


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Identifiers like `lgn_000001234567`."""
    return fixed_strings(len(numbers), [prefix.encode(), (numbers, width)])


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant)."""
    z = days.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = y + (m <= 2)
    return y, m, d


_TWO = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(100, 2)


def _date_table(lo: int, hi: int) -> np.ndarray:
    """(hi - lo + 1, 10) bytes of `YYYY-MM-DD` for days lo..hi since 1970-01-01."""
    days = np.arange(lo, hi + 1, dtype=np.int64)
    y, m, d = _civil(days)
    tab = np.empty((len(days), 10), dtype=np.uint8)
    tab[:, 0:2] = _TWO[y // 100]
    tab[:, 2:4] = _TWO[y % 100]
    tab[:, 4] = tab[:, 7] = ord("-")
    tab[:, 5:7] = _TWO[m]
    tab[:, 8:10] = _TWO[d]
    return tab


def iso_timestamps(seconds: np.ndarray) -> pa.StringArray:
    """`YYYY-MM-DDTHH:MM:SSZ` for epoch seconds (UTC)."""
    s = np.asarray(seconds, dtype=np.int64)
    mat = np.empty((len(s), 20), dtype=np.uint8)
    if len(s):
        days = s // 86400
        lo = int(days.min())
        mat[:, 0:10] = _date_table(lo, int(days.max()))[days - lo]
        sod = s - days * 86400
        mat[:, 10] = ord("T")
        mat[:, 11:13] = _TWO[sod // 3600]
        mat[:, 13] = mat[:, 16] = ord(":")
        mat[:, 14:16] = _TWO[(sod // 60) % 60]
        mat[:, 17:19] = _TWO[sod % 60]
        mat[:, 19] = ord("Z")
    return _from_fixed(mat)


def iso_dates(days: np.ndarray) -> pa.StringArray:
    """`YYYY-MM-DD` for days since 1970-01-01."""
    d = np.asarray(days, dtype=np.int64)
    if not len(d):
        return _from_fixed(np.empty((0, 10), dtype=np.uint8))
    lo = int(d.min())
    return _from_fixed(_date_table(lo, int(d.max()))[d - lo])


_OCTETS = pa.array([str(i) for i in range(256)], pa.string())
_HEX16 = pa.array([f"{i:x}" for i in range(65536)], pa.string())


def ipv4(addresses: np.ndarray) -> pa.Array:
    """Dotted quads for 32-bit addresses."""
    a = np.asarray(addresses, dtype=np.uint32)
    octets = [pc.take(_OCTETS, (a >> np.uint32(s)) & np.uint32(255)) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def ipv6(prefixes: pa.Array, interface: np.ndarray) -> pa.Array:
    """`<p1>:<p2>:<g3>:<g4>::<g7>:<g8>` addresses from a /32 prefix and a 64-bit value."""
    v = np.asarray(interface, dtype=np.uint64)
    groups = [
        pc.take(_HEX16, ((v >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64))
        for s in (48, 32, 16, 0)
    ]
    g0, g1, g2, g3 = groups
    return pc.binary_join_element_wise(prefixes, g0, g1, "", g2, g3, ":")


def take_str(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return pc.take(table, pa.array(np.asarray(idx, dtype=np.int64)))


def masked(values: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """`values` with nulls where `null_mask` is true."""
    if not null_mask.any():
        return values
    return pc.if_else(pa.array(null_mask), pa.scalar(None, values.type), values)
