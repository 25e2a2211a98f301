"""Hypothesis strategies for contract-valid export nights, a writer for them, and ways to break
a written night (tests/test_properties.py).

A generated night (`Night`) holds, per file, typed Python values (what the warehouse must end up
with) and the exact text a CSV or string-typed Parquet file carries for each value, so that one
night can be written in every format the contract allows: `csv`, `csv.gz`, Parquet with the
matching Parquet types (`parquet-typed`) and Parquet with every column a UTF-8 string written
as in CSV (`parquet-text`). It covers export dates from 1990 to 2100 (29 February, 31 December),
IPv4 and IPv6 in every textual form, Unicode and right-to-left names (U+202E), ids of other
shapes (UUIDs, numbers, spaces, Unicode), half-hour and 45-minute time zones and UTC offsets,
very long texts, empty and absent tables, extra columns with awkward names, extra (unknown)
tables, shuffled headers, and the contract 1.1 additions present, partly present or absent.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import shutil
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from itw_radar.contract import (
    TABLES,
    Column,
    Table,
    iana_timezones,
    iso_country_codes,
)

FORMATS = ("csv", "csv.gz", "parquet-typed", "parquet-text")
FIRST_NIGHT = dt.date(1990, 1, 1)
LAST_NIGHT = dt.date(2100, 12, 31)
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)  # earliest timestamp generated
# Zones whose offset is not a whole number of hours.
ODD_ZONES = ("Asia/Kolkata", "Australia/Adelaide", "Australia/Darwin", "Australia/Broken_Hill",
             "Asia/Kathmandu", "Asia/Tehran", "America/St_Johns", "Australia/Eucla",
             "Pacific/Chatham", "Asia/Kabul", "Asia/Yangon", "Pacific/Marquesas", "Asia/Colombo",
             "Australia/Lord_Howe")
# UTC offsets a CSV timestamp may be written with (minutes).
OFFSETS = (0, 330, 345, 570, 630, -210, -570, 765, 840, -720, 525, 60, -300)
# Extra column names that look like the loader's own names or a contract column in other case.
AWKWARD_NAMES = ("_line", "_problems", "_record", "_c0", "_c1", "_extra_0", "_extra_1",
                 "file_row_number", "FILE_ROW_NUMBER", "_export_date", "_load_id", "Account_ID",
                 "LOGIN_ID", "Status", "favourite colour", "note, with comma", 'say "hi"',
                 "名前", "\u202eeman", "emoji 🚀", "x" * 300, "note\nline two",
                 "cr\r\nlf")
RTL = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


@dataclass
class Cell:
    value: Any  # typed value as the warehouse must hold it (None: null)
    text: str | None  # how a CSV (and a string-typed Parquet column) writes it


@dataclass
class TableFile:
    table: str
    fmt: str  # one of FORMATS
    columns: list[str]  # header order (contract columns written, then extras, shuffled)
    rows: list[dict[str, Cell]]
    parquet_types: dict[str, str] = field(default_factory=dict)  # parquet-typed: column -> kind
    quote_all: bool = False  # CSV: every field quoted (a null is then `""`)
    crlf: bool = False  # CSV: RFC 4180's CRLF line ends
    final_newline: bool = True  # CSV: the last record ends with a line end
    row_group_size: int | None = None  # Parquet: rows per row group (None: pyarrow's default)
    bom: bool = False  # CSV: a UTF-8 byte-order mark

    @property
    def file_name(self) -> str:
        suffix = "parquet" if self.fmt.startswith("parquet") else self.fmt
        return f"{self.table}.{suffix}"


@dataclass
class Night:
    export_date: dt.date
    version: str
    mode: str
    files: list[TableFile]
    extra_files: dict[str, bytes] = field(default_factory=dict)  # unknown tables: name -> bytes

    def describe(self) -> str:
        parts = [f"{f.file_name}:{len(f.rows)}" for f in self.files]
        return f"night {self.export_date} v{self.version} " + ", ".join(parts)


# --------------------------------------------------------------------------------------------
# values

def export_dates() -> st.SearchStrategy[dt.date]:
    """Any date 1990-2100, with the awkward ones (29 February, 31 December, 1 January) often."""
    leap = [dt.date(y, 2, 29) for y in range(1992, 2100, 4)]
    ends = [dt.date(y, 12, 31) for y in range(1990, 2101)]
    starts = [dt.date(y, 1, 1) for y in range(1990, 2101)]
    return st.one_of(
        st.dates(FIRST_NIGHT, LAST_NIGHT),
        st.sampled_from(leap), st.sampled_from(ends), st.sampled_from(starts),
    )


def _instant(lo: dt.datetime, hi: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    """An instant in [lo, hi) (UTC), with microseconds sometimes."""
    span = int((hi - lo).total_seconds() * 1_000_000)
    whole = st.integers(0, max(0, span - 1) // 1_000_000).map(lambda s: s * 1_000_000)
    micro = st.integers(0, max(0, span - 1))
    return st.one_of(whole, micro).map(lambda us: lo + dt.timedelta(microseconds=us))


def _ts_text(t: dt.datetime, offset: int, zulu: bool, style: int) -> str:
    """ISO-8601 text of an instant: `Z` or an offset (`+05:30`, or `+0530` in style 1), and in
    style 2 a 9-digit fraction (nanoseconds, the last three digits zero)."""
    local = t.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    text = local.isoformat()
    if style == 2:
        text = local.replace(tzinfo=None).isoformat(timespec="microseconds") + "000" + (
            text[-6:])
    if style == 1:
        text = text[:-3] + text[-2:]  # +05:30 -> +0530
    if offset == 0 and zulu:
        text = text[:-6 if style != 1 else -5] + "Z"
    return text


@st.composite
def timestamp_cell(draw: st.DrawFn, lo: dt.datetime, hi: dt.datetime) -> Cell:
    t = draw(_instant(lo, hi))
    return Cell(t, _ts_text(t, draw(st.sampled_from(OFFSETS)), draw(st.booleans()),
                            draw(st.integers(0, 2))))


def _decimal(lo: Decimal, hi: Decimal, places: int) -> st.SearchStrategy[Decimal]:
    q = Decimal(1).scaleb(-places)
    return st.integers(int(lo / q), int(hi / q)).map(lambda n: Decimal(n) * q)


def decimal_cell(col: Column) -> st.SearchStrategy[Cell]:
    lo = Decimal(str(col.min_value)) if col.min_value is not None else Decimal("-1000000")
    hi = Decimal(str(col.max_value)) if col.max_value is not None else Decimal("1000000000")
    if col.min_exclusive:
        lo += Decimal("0.0001")  # contract `> 0`; the warehouse keeps 4 decimal places
    values = st.one_of(
        st.sampled_from([lo, hi]),
        st.integers(0, 4).flatmap(lambda p: _decimal(lo, hi, p)),
    ).filter(lambda d: lo <= d <= hi)
    return values.map(lambda d: Cell(d, format(d, "f")))


def _ip_texts() -> st.SearchStrategy[str]:
    v4 = st.ip_addresses(v=4)
    v6 = st.ip_addresses(v=6)
    return st.one_of(
        v4.map(str),
        v6.map(str),
        v6.map(lambda a: a.exploded),
        v6.map(lambda a: str(a).upper()),
        v4.map(lambda a: f"::ffff:{a}"),
        st.tuples(v6, v4).map(lambda p: ":".join(p[0].exploded.split(":")[:6]) + f":{p[1]}"),
        st.sampled_from(["::", "::1", "0.0.0.0", "255.255.255.255", "fe80::1",
                         str(ipaddress.IPv6Address(2**128 - 1))]),
    )


_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def free_text(min_size: int = 1, long: bool = False) -> st.SearchStrategy[str]:
    """Unicode text (any script, right-to-left overrides, quotes, commas, line breaks)."""
    base = st.one_of(
        st.text(_TEXT, min_size=min_size, max_size=40),
        st.sampled_from(["김정은 테스트", "Иван Петров", "Zoë 🚀 Ng", "محمد عبد الله",
                         "שלום עולם", f"{RTL}gnp.exe", f"Kim{RTL}eeL", "a,b", 'say "hi"',
                         "line one\nline two", "cr\r\nlf", " padded ", "'; DROP TABLE x; --",
                         "=HYPERLINK(\"http://x\")", "NULL", "null", "true", "\\N", "-"]),
    )
    if long:
        big = st.tuples(st.sampled_from(["x", "é", "ж", "🚀", "ab\n"]),
                        st.integers(10_000, 300_000)).map(lambda p: p[0] * (p[1] // len(p[0])))
        base = st.one_of(base, big)
    return base.filter(lambda s: len(s) >= min_size)


def ids() -> st.SearchStrategy[str]:
    """Ids of many shapes: UUIDs, numbers, with spaces or Unicode, right-to-left."""
    return st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.integers(0, 10**18).map(str),
        st.integers(0, 10**6).map(lambda n: f"acc {n}"),
        st.integers(0, 10**6).map(lambda n: f"账户-{n}"),
        st.integers(0, 10**6).map(lambda n: f"{RTL}{n}-di"),
        st.text(_TEXT, min_size=1, max_size=12),
    )


def _string_cell(table: Table, col: Column) -> st.SearchStrategy[str]:
    if col.fmt == "ip":
        return _ip_texts()
    if col.fmt == "sha256":
        return st.binary(min_size=32, max_size=32).map(bytes.hex)
    if col.fmt == "phash":
        return st.binary(min_size=8, max_size=8).map(bytes.hex)
    if col.fmt == "country":
        return st.sampled_from(sorted(iso_country_codes()))
    if col.fmt == "timezone":
        return st.one_of(st.sampled_from(ODD_ZONES), st.sampled_from(iana_timezones()))
    if col.name.endswith("_id") or col.name == "fingerprint":
        return ids()
    return free_text(long=col.name in ("body", "cover_letter", "profile_text", "user_agent"))


@st.composite
def row_cells(draw: st.DrawFn, table: Table, export_date: dt.date, key: str,
              accounts: list[str]) -> dict[str, Cell]:
    """One contract-valid row (every column; a nullable one is null a third of the time)."""
    hi = dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(), dt.UTC)
    cells: dict[str, Cell] = {}
    for col in table.columns:
        if col.nullable and draw(st.integers(0, 2)) == 0:
            cells[col.name] = Cell(None, None)
            continue
        if col.name == table.key:
            cells[col.name] = Cell(key, key)
        elif col.type == "timestamp":
            earlier = next((e for e, later in table.order_pairs if later == col.name), None)
            lo = EARLIEST
            if earlier is not None and cells[earlier].value is not None:
                lo = cells[earlier].value
            cells[col.name] = draw(timestamp_cell(lo, hi))
        elif col.type == "date":
            d = draw(st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
                               st.sampled_from([dt.date(2000, 2, 29), dt.date(1999, 12, 31)])))
            cells[col.name] = Cell(d, d.isoformat())
        elif col.type == "decimal":
            cells[col.name] = draw(decimal_cell(col))
        elif col.type == "integer":
            n = draw(st.integers(int(col.min_value or 0), 2**32 - 1))
            cells[col.name] = Cell(n, str(n))
        elif col.type == "boolean":
            b = draw(st.booleans())
            cells[col.name] = Cell(b, "true" if b else "false")
        elif col.type == "enum":
            v = draw(st.sampled_from(col.values))
            cells[col.name] = Cell(v, v)
        elif col.name.endswith("account_id") and accounts and draw(st.booleans()):
            v = draw(st.sampled_from(accounts))
            cells[col.name] = Cell(v, v)
        else:
            v = draw(_string_cell(table, col))
            cells[col.name] = Cell(v, v)
    return cells


# --------------------------------------------------------------------------------------------
# nights

PARQUET_KINDS = {  # contract type -> Parquet types a typed file may use for it
    "string": ("string", "large_string", "dictionary"),
    "enum": ("string", "dictionary"),
    "timestamp": ("ts_s_utc", "ts_ms_naive", "ts_us_utc", "ts_ns_naive", "ts_us_kolkata"),
    "date": ("date32",),
    "decimal": ("float64", "decimal", "int64"),
    "integer": ("int64", "uint32", "float64", "decimal"),
    "boolean": ("bool",),
}


@st.composite
def table_files(draw: st.DrawFn, table: Table, export_date: dt.date, accounts: list[str],
                version: str, max_rows: int = 3) -> TableFile:
    n = draw(st.integers(0, max_rows))
    keys = draw(st.lists(ids(), min_size=n, max_size=n, unique=True))
    rows = [draw(row_cells(table, export_date, k, accounts)) for k in keys]
    version = table.version_column
    if version and rows and draw(st.booleans()):
        # An entity changed again the same day: the same key with a later version (whole
        # seconds later, so that a Parquet file in seconds keeps the versions apart).
        first = draw(st.sampled_from(rows))
        hi = dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(), dt.UTC)
        start = first[version].value.replace(microsecond=0) + dt.timedelta(seconds=1)
        if start < hi:
            again = draw(row_cells(table, export_date, first[table.key].value, accounts))
            again[version] = draw(timestamp_cell(start, hi))
            for earlier, later in table.order_pairs:
                if later == version and again[earlier].value > again[version].value:
                    again[earlier] = first[earlier]
            rows.insert(draw(st.integers(0, len(rows))), again)
    fmt = draw(st.sampled_from(FORMATS))
    columns = list(table.required_column_names)
    for col in table.columns:  # 1.1 columns: written in a 1.1 export, or left out
        if col.optional and version == "1.1" and draw(st.booleans()):
            columns.append(col.name)
    taken = {c.lower() for c in columns} if fmt.startswith("parquet") else set(columns)
    extras = draw(st.lists(st.one_of(st.sampled_from(AWKWARD_NAMES),
                                     st.text(_TEXT, min_size=1, max_size=20)),
                           max_size=3, unique_by=lambda s: s.strip().lower()))
    for name in extras:
        if name != name.strip() or not name:
            continue  # CSV header names are read stripped
        if (name.lower() if fmt.startswith("parquet") else name) in taken:
            continue
        if name in table.column_names:
            continue
        taken.add(name.lower() if fmt.startswith("parquet") else name)
        columns.append(name)
        for r in rows:
            v = draw(st.one_of(st.none(), free_text()))
            r[name] = Cell(v, v)
    columns = draw(st.permutations(columns))
    for r in rows:  # a column left out of the file is null in the warehouse
        for col in table.columns:
            if col.name not in columns:
                r[col.name] = Cell(None, None)
    types: dict[str, str] = {}
    if fmt == "parquet-typed":
        # One timestamp type per file, as writers do: a file whose `ended_at` is in ms and
        # `started_at` in us could hold an ended_at before its started_at (and break the rule).
        ts_kind = draw(st.sampled_from(PARQUET_KINDS["timestamp"]))
        for col in table.columns:
            kinds = PARQUET_KINDS[col.type]
            if col.type == "timestamp":
                kinds = (ts_kind,)
            if col.type == "decimal" and any(r[col.name].value is not None
                                             and r[col.name].value != int(r[col.name].value)
                                             for r in rows):
                kinds = ("float64", "decimal")
            types[col.name] = draw(st.sampled_from(kinds))
            if not rows:  # a file with no rows may type its columns in any way
                types[col.name] = draw(st.sampled_from((*kinds, "null", "string", "bool")))
            elif all(r[col.name].value is None for r in rows):  # all null: null type too
                types[col.name] = draw(st.sampled_from((*kinds, "null")))
    return TableFile(table.name, fmt, list(columns), rows, types, quote_all=draw(st.booleans()),
                     crlf=draw(st.booleans()), bom=draw(st.booleans()),
                     final_newline=draw(st.integers(0, 3)) > 0,
                     row_group_size=draw(st.one_of(st.none(), st.integers(1, 2))))


@st.composite
def nights(draw: st.DrawFn, max_rows: int = 3, tables: tuple[str, ...] | None = None,
           export_date: dt.date | None = None) -> Night:
    """A contract-valid night: each table present (possibly empty) or absent."""
    export_date = export_date or draw(export_dates())
    version = draw(st.sampled_from(["1.0", "1.1"]))
    names = [t for t in (tables or TABLES) if version == "1.1" or not TABLES[t].optional]
    present = [t for t in names if draw(st.integers(0, 4)) > 0]
    files: list[TableFile] = []
    accounts: list[str] = []
    for name in present:
        f = draw(table_files(TABLES[name], export_date, accounts, version, max_rows))
        if name == "accounts":
            accounts = [r["account_id"].value for r in f.rows]
        files.append(f)
    extra: dict[str, bytes] = {}
    if draw(st.integers(0, 4)) == 0:
        extra["favourite_things.csv"] = b"thing,colour\nkite,red\n"
    mode = draw(st.sampled_from(["full", "delta"]))
    return Night(export_date, version, mode, files, extra)


# --------------------------------------------------------------------------------------------
# writing

def _arrow_column(cells: list[Cell], kind: str) -> pa.Array:
    values = [c.value for c in cells]
    if kind == "null":
        return pa.array([None] * len(cells), pa.null())
    if kind in ("string", "large_string", "dictionary"):
        arr = pa.array([c.text for c in cells], pa.large_string() if kind == "large_string"
                       else pa.string())
        return arr.dictionary_encode() if kind == "dictionary" else arr
    if kind.startswith("ts_"):
        _, unit, zone = kind.split("_")
        tz = {"utc": "UTC", "naive": None, "kolkata": "Asia/Kolkata"}[zone]
        div = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[unit]
        vals = []
        for v in values:
            if v is None:
                vals.append(None)
                continue
            v = v.replace(microsecond=v.microsecond - v.microsecond % div)
            vals.append(v if tz else v.astimezone(dt.UTC).replace(tzinfo=None))
        return pa.array(vals, pa.timestamp(unit, tz=tz))
    if kind == "date32":
        return pa.array(values, pa.date32())
    if kind == "float64":
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kind == "decimal":
        return pa.array([None if v is None else Decimal(v) for v in values],
                        pa.decimal128(20, 4))
    if kind == "int64":
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if kind == "uint32":
        return pa.array([None if v is None else int(v) for v in values], pa.uint32())
    if kind == "bool":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    raise ValueError(kind)


def written_value(f: TableFile, col: Column, cell: Cell) -> Any:
    """The value the warehouse must hold for a written cell (timestamps lose what the file's
    unit drops; decimals keep 4 places)."""
    v = cell.value
    if v is None:
        return None
    kind = f.parquet_types.get(col.name, "") if f.fmt == "parquet-typed" else ""
    if col.type == "timestamp":
        if kind.startswith("ts_"):
            div = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[kind.split("_")[1]]
            v = v.replace(microsecond=v.microsecond - v.microsecond % div)
        return v.astimezone(dt.UTC)
    if col.type == "decimal":
        return Decimal(v).quantize(Decimal("0.0001"))
    return v


def _csv_line(fields: list[str], quote_all: bool) -> str:
    """RFC 4180: a field with a comma, a quote, CR or LF is quoted (Python's csv writer leaves
    a lone CR unquoted when the line ends are LF); `quote_all` quotes every field (a null is
    then `""`)."""
    out = []
    for v in fields:
        if quote_all or any(ch in v for ch in ',"\r\n'):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return ",".join(out)


def write_file(f: TableFile, path: Path) -> None:
    if f.fmt.startswith("parquet"):
        arrays, names = [], []
        for name in f.columns:
            cells = [r[name] for r in f.rows]
            kind = f.parquet_types.get(name, "string") if f.fmt == "parquet-typed" else "string"
            if name not in TABLES[f.table].column_names:
                kind = "string"
            arrays.append(_arrow_column(cells, kind))
            names.append(name)
        pq.write_table(pa.Table.from_arrays(arrays, names=names), path,
                       row_group_size=f.row_group_size)
        return
    end = "\r\n" if f.crlf else "\n"
    lines = [_csv_line(f.columns, f.quote_all)]
    for r in f.rows:
        lines.append(_csv_line(["" if r[c].text is None else r[c].text for c in f.columns],
                               f.quote_all))
    text = end.join(lines) + (end if f.final_newline else "")
    data = ("\ufeff" if f.bom else "").encode() + text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if f.fmt == "csv.gz" else data)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_night(night: Night, exports: Path) -> Path:
    """Write the night's folder (files, then manifest.json) and return it."""
    folder = exports / night.export_date.isoformat()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files: dict[str, dict[str, Any]] = {}
    for f in night.files:
        path = folder / f.file_name
        write_file(f, path)
        files[f.file_name] = {"table": f.table, "rows": len(f.rows), "sha256": sha256(path)}
    for name, data in night.extra_files.items():
        (folder / name).write_bytes(data)
        files[name] = {"table": name.split(".")[0], "rows": data.count(b"\n") - 1,
                       "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {"contract_version": night.version, "platform": "hypothesis",
                "export_date": night.export_date.isoformat(), "mode": night.mode,
                "generated_at": f"{(night.export_date + dt.timedelta(days=1)).isoformat()}"
                                "T01:00:00Z",
                "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


# --------------------------------------------------------------------------------------------
# breaking a written night: each returns what the refusal must mention

def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _save(folder: Path, m: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def break_count(folder: Path, name: str, delta: int) -> str:
    """The manifest announces `delta` (non-zero) rows more or fewer than the file holds."""
    m = _manifest(folder)
    n = m["files"][name]["rows"]
    wrong = n + delta if n + delta >= 0 else n - delta
    m["files"][name]["rows"] = wrong
    _save(folder, m)
    return f"file {name}: holds {n} data rows but the manifest says {wrong}"


def break_checksum(folder: Path, name: str, byte: int) -> str:
    m = _manifest(folder)
    digest = bytearray(bytes.fromhex(m["files"][name]["sha256"]))
    digest[byte % 32] ^= 0x01
    m["files"][name]["sha256"] = digest.hex()
    _save(folder, m)
    return f"file {name}: SHA-256 differs from the manifest"


def break_missing_file(folder: Path, name: str) -> str:
    (folder / name).unlink()
    return f"file {name}: listed in the manifest but absent from the folder"


def break_version(folder: Path, version: str) -> str:
    m = _manifest(folder)
    m["contract_version"] = version
    _save(folder, m)
    return f"manifest.json: contract_version {version!r} is not supported"


def _relist(folder: Path, name: str, rows: int | None = None) -> None:
    m = _manifest(folder)
    path = folder / name
    entry = m["files"].get(name, {"table": name.split(".")[0], "rows": 0})
    entry["sha256"] = sha256(path)
    if rows is not None:
        entry["rows"] = rows
    m["files"][name] = entry
    _save(folder, m)


def break_drop_column(folder: Path, f: TableFile, column: str) -> str:
    """Write the file again without one required column."""
    g = TableFile(f.table, f.fmt, [c for c in f.columns if c != column], f.rows, f.parquet_types)
    write_file(g, folder / f.file_name)
    _relist(folder, f.file_name)
    return f"file {f.file_name}, column {column}: required column missing from the header"


def break_parquet_type(folder: Path, f: TableFile, column: str) -> str:
    """A non-empty Parquet file whose column has a type that cannot hold the contract type."""
    col = TABLES[f.table].column(column)
    wrong = "bool" if col.type != "boolean" else "ts_us_utc"
    arrays = []
    for name in f.columns:
        cells = [r[name] for r in f.rows]
        if name == column:
            arrays.append(pa.array([True] * len(cells)) if wrong == "bool" else
                          pa.array([EARLIEST] * len(cells), pa.timestamp("us", tz="UTC")))
        else:
            arrays.append(_arrow_column(cells, "string"))
    path = folder / f.file_name
    pq.write_table(pa.Table.from_arrays(arrays, names=f.columns), path)
    _relist(folder, f.file_name)
    typ = "BOOLEAN" if wrong == "bool" else "TIMESTAMP WITH TIME ZONE"
    return f"file {f.file_name}, column {column}: Parquet type {typ} does not hold"


def break_second_copy(folder: Path, f: TableFile) -> str:
    """The same table delivered twice, in two formats."""
    other = "csv" if f.fmt.startswith("parquet") else "parquet-text"
    g = TableFile(f.table, other, f.columns, f.rows, {})
    write_file(g, folder / g.file_name)
    _relist(folder, g.file_name, len(f.rows))
    second = sorted([f.file_name, g.file_name])[1]
    return f"file {second}: table {f.table} is delivered twice"


def break_unlisted(folder: Path, f: TableFile) -> str:
    name = f"{f.table}_old.csv"
    shutil.copy(folder / f.file_name, folder / name)
    return f"file {name}: present in the folder but not listed in the manifest"


def break_header_only(folder: Path, f: TableFile) -> str:
    """Rows promised, header only (a truncated delivery)."""
    g = TableFile(f.table, f.fmt, f.columns, [], f.parquet_types)
    write_file(g, folder / f.file_name)
    _relist(folder, f.file_name)
    return f"file {f.file_name}: holds 0 data rows but the manifest says {len(f.rows)}"


def new_uuid() -> str:
    return str(uuid.uuid4())
