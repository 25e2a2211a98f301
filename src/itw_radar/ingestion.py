"""Verify a night's export folder and load it into the warehouse's raw layer.

Two steps, both safe to repeat:

* `verify_night` reads only the manifest, the folder listing, each file's bytes (SHA-256) and its
  header and record count. Any mismatch stops the night with one sentence naming the night, the
  file and what differs.
* `load_night` reads every listed file as text, checks every value against the contract in SQL,
  sends rows that break a row-level rule to `raw.quarantine` (night, file, line, column, rule,
  reason, the record as JSON) and replaces the night's rows in `raw.<table>` in one transaction.
  `rows_loaded + rows_quarantined` equals the manifest's count for every file.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from itw_radar.contract import (
    IP,
    MANIFEST_NAME,
    PHASH,
    RAW_META_COLUMNS,
    SHA256,
    SUPPORTED_CONTRACT_VERSIONS,
    TABLES,
    Column,
    Table,
    iana_timezones,
    iso_country_codes,
    table_for_file,
)
from itw_radar.paths import Home, pause_point
from itw_radar.warehouse import connect, ensure_raw_schema, log_step, remove_stale_spill

Progress = Callable[[str, int, int], None]

# Parquet column types (DuckDB's names, without parameters) that hold each contract type natively
# (contract 1.1, Layout). Any contract column may also be a UTF-8 string written as in CSV, and a
# file with zero rows may type its columns in any way.
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT")
_PARQUET_TYPES: dict[str, tuple[str, ...]] = {
    "string": (),
    "enum": (),
    "timestamp": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
                  "TIMESTAMP_NS", "TIMESTAMPTZ"),
    "date": ("DATE",),
    "decimal": ("DECIMAL", "DOUBLE", "FLOAT", *_INTEGER_TYPES),
    "integer": ("DECIMAL", "DOUBLE", "FLOAT", *_INTEGER_TYPES),
    "boolean": ("BOOLEAN",),
}
# Every contract type may be written as text; "NULL" is DuckDB's type of an all-null column.
_PARQUET_ANY = ("VARCHAR", '"NULL"', "NULL")


def parquet_type_holds(contract_type: str, parquet_type: str) -> bool:
    """Whether a Parquet column of DuckDB type `parquet_type` may hold a contract type."""
    base = parquet_type.upper().split("(", 1)[0].strip()
    return base in _PARQUET_ANY or base in _PARQUET_TYPES[contract_type]


class ExportError(Exception):
    """A night's export is corrupt or unreadable: the night stops, nothing is written."""


@dataclass(frozen=True)
class ManifestFile:
    name: str
    table: str
    rows: int
    sha256: str
    path: Path
    fmt: str  # ".csv", ".csv.gz" or ".parquet"
    header: tuple[str, ...] = ()
    # Parquet: the name DuckDB gives each header column (it renames a repeated name, compared
    # without case, `a` and `A` -> `a`, `A_1`); CSV: empty.
    read_names: tuple[str, ...] = ()
    # CSV: DuckDB miscounts it, Python's csv module reads it as the manifest says: load it
    # from a normalised copy (see _check_contents).
    normalise: bool = False

    @property
    def known(self) -> bool:
        return self.table in TABLES


@dataclass(frozen=True)
class Manifest:
    export_date: date
    folder: Path
    contract_version: str
    platform: str
    mode: str
    generated_at: str
    files: tuple[ManifestFile, ...]


@dataclass
class FileLoad:
    table: str
    file_name: str
    rows_expected: int
    rows_loaded: int
    rows_quarantined: int


@dataclass
class LoadResult:
    export_date: date
    load_id: str
    files: list[FileLoad] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_expected(self) -> int:
        return sum(f.rows_expected for f in self.files)


# --------------------------------------------------------------------------------------------
# verify


def night_folder(exports: Path, export_date: date) -> Path:
    return Path(exports) / export_date.isoformat()


_LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    """Control characters and line breaks (from a file's column or file names) escaped: the
    error is one line for the pager and the run history."""
    return _LINE_BREAKING.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def _fail(export_date: date, where: str, what: str) -> ExportError:
    return ExportError(_one_line(f"Night {export_date.isoformat()}, {where}: {what}"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(exports: Path, export_date: date) -> dict:
    folder = night_folder(exports, export_date)
    if not folder.is_dir():
        raise _fail(export_date, f"folder {folder}", "the export folder does not exist; check "
                    "--exports and the date, or wait for the platform's export")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise _fail(export_date, MANIFEST_NAME, f"no manifest in {folder}; the export is "
                    "incomplete until the platform writes manifest.json last")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(export_date, MANIFEST_NAME, f"not valid JSON ({exc}); ask the platform to "
                    "re-export the night") from exc
    if not isinstance(data, dict):
        raise _fail(export_date, MANIFEST_NAME, "the manifest is not a JSON object")
    return data


def _read_csv_header(path: Path, fmt: str) -> tuple[str, ...]:
    opener = gzip.open if fmt == ".csv.gz" else open
    first = b""
    with opener(path, "rb") as raw:  # type: ignore[operator]
        # The header is the first record: a quoted name may hold a line break (RFC 4180), so
        # read on while a quote is open.
        while line := raw.readline(1 << 20):
            first += line
            if first.count(b'"') % 2 == 0 or len(first) >= 1 << 24:
                break
    text = first.decode("utf-8-sig")
    row = next(csv.reader(io.StringIO(text)), [])
    return tuple(h.strip() for h in row)


def _check_columns(export_date: date, name: str, table: Table, header: tuple[str, ...]) -> None:
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise _fail(export_date, f"file {name}", f"column(s) {', '.join(dupes)} appear more "
                    "than once in the header")
    missing = [c for c in table.required_column_names if c not in header]
    if missing:
        raise _fail(export_date, f"file {name}, column {missing[0]}",
                    f"required column missing from the header (missing: {', '.join(missing)}; "
                    f"found: {', '.join(header) or 'nothing'}); the contract's column names "
                    "must be used unchanged")


def _csv_relation_sql(path: Path, header: tuple[str, ...]) -> str:
    """The CSV as text, its columns named by position (`_c0`, `_c1`, ...): a header may hold
    any names (extra columns named like ours, or like a contract column in another case)."""
    cols = ", ".join(f"'_c{i}': 'VARCHAR'" for i in range(len(header)))
    p = str(path).replace("'", "''")
    return (
        f"read_csv('{p}', header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
        f"columns={{{cols}}}, strict_mode=true, null_padding=false, compression='auto', "
        f"max_line_size=67108864)"
    )


def _parquet_relation_sql(path: Path, row_number: bool = False) -> str:
    p = str(path).replace("'", "''")
    return f"read_parquet('{p}'{', file_row_number=true' if row_number else ''})"


def _parquet_schema(con: duckdb.DuckDBPyConnection,
                    path: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(header names as written, the names DuckDB reads them as, DuckDB types), in file order."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {_parquet_relation_sql(path)}").fetchall()
    read_names = tuple(r[0] for r in rows)
    types = tuple(str(r[1]) for r in rows)
    header = read_names
    try:  # DuckDB renames a name repeated without regard to case; the file's own names:
        import pyarrow.parquet as pq

        names = tuple(pq.read_schema(path).names)
        if len(names) == len(read_names):
            header = names
    except Exception:  # noqa: BLE001 - DuckDB read it: keep DuckDB's names
        pass
    return header, read_names, types


def _python_records(export_date: date, mf: ManifestFile) -> Iterator[list[str]]:
    """Records of a CSV that DuckDB's strict reader refused (mixed line endings and the like).

    Python's csv module accepts any mix of CR, LF and CRLF; a record with the wrong number of
    fields or an unterminated quote is a structural problem and stops the night.
    """
    opener = gzip.open if mf.fmt == ".csv.gz" else open
    try:
        with opener(mf.path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
            reader = csv.reader(f, strict=True)
            next(reader, None)
            for n, rec in enumerate(reader, start=1):
                if len(rec) != len(mf.header):
                    raise _fail(export_date, f"file {mf.name}, data row {n}", f"has {len(rec)} "
                                f"fields but the header has {len(mf.header)}; the file is "
                                "truncated or malformed, ask the platform to re-export the night")
                yield rec
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
        raise _fail(export_date, f"file {mf.name}", f"unreadable or truncated {mf.fmt} file "
                    f"({exc}); ask the platform to re-export the night") from exc


def _python_count(export_date: date, mf: ManifestFile) -> int | None:
    """Records of a CSV by Python's csv module (None: it cannot read the file either)."""
    try:
        return sum(1 for _ in _python_records(export_date, mf))
    except ExportError:
        return None


def _normalised_copy(export_date: date, mf: ManifestFile, folder: Path) -> Path:
    """Rewrite a CSV DuckDB could not parse strictly as plain LF-terminated UTF-8."""
    target = folder / f"{mf.table}.normalised.csv"
    with target.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        # Positional names: the loader reads columns by position, and a name holding a line
        # break is what DuckDB misreads (see _check_contents).
        w.writerow([f"_c{i}" for i in range(len(mf.header))])
        w.writerows(_python_records(export_date, mf))
    return target


def _count_rows(con: duckdb.DuckDBPyConnection, export_date: date, mf: ManifestFile) -> int:
    try:
        if mf.fmt == ".parquet":
            p = str(mf.path).replace("'", "''")
            return int(con.execute(
                f"SELECT sum(num_rows) FROM parquet_file_metadata('{p}')").fetchone()[0] or 0)
        return int(con.execute(
            f"SELECT count(*) FROM {_csv_relation_sql(mf.path, mf.header)}").fetchone()[0])
    except duckdb.Error as exc:
        if mf.fmt != ".parquet":
            return sum(1 for _ in _python_records(export_date, mf))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(export_date, f"file {mf.name}", f"unreadable or truncated {mf.fmt} file "
                    f"({first}); ask the platform to re-export the night") from exc


def verify_night(exports: Path, export_date: date) -> Manifest:
    """Check the night's folder against its manifest before any row is read.

    Raises ExportError with one sentence (night, file, what differs) on any mismatch.
    """
    data = read_manifest(exports, export_date)
    folder = night_folder(exports, export_date)
    d = export_date.isoformat()

    version = str(data.get("contract_version", ""))
    if version not in SUPPORTED_CONTRACT_VERSIONS:
        raise _fail(export_date, MANIFEST_NAME, f"contract_version {version!r} is not supported "
                    f"(supported: {', '.join(sorted(SUPPORTED_CONTRACT_VERSIONS))}); upgrade "
                    "ITW Radar or ask the platform for an export of a supported version")
    if str(data.get("export_date", "")) != d:
        raise _fail(export_date, MANIFEST_NAME, f"export_date {data.get('export_date')!r} is not "
                    f"the folder's date {d}; the folder or the manifest is misnamed")
    mode = data.get("mode")
    if mode not in ("full", "delta"):
        raise _fail(export_date, MANIFEST_NAME, f"mode {mode!r} is neither 'full' nor 'delta'")
    files = data.get("files")
    if not isinstance(files, dict):
        raise _fail(export_date, MANIFEST_NAME, "'files' is missing or not an object")

    present = {p.name for p in folder.iterdir() if p.name != MANIFEST_NAME}
    unlisted = sorted(present - set(files))
    if unlisted:
        raise _fail(export_date, f"file {unlisted[0]}", "present in the folder but not listed in "
                    "the manifest; the export is corrupt or another night's file was copied in")

    parsed: list[ManifestFile] = []
    for name, meta in sorted(files.items()):
        where = f"file {name}"
        if not isinstance(meta, dict):
            raise _fail(export_date, where, "its manifest entry is not an object")
        tf = table_for_file(name)
        if tf is None:
            raise _fail(export_date, where, "unknown file format; expected .csv, .csv.gz or "
                        ".parquet")
        stem, fmt = tf
        table = str(meta.get("table", stem))
        if table != stem:
            raise _fail(export_date, where, f"the manifest says table {table!r} but the file is "
                        f"named for {stem!r}")
        rows, sha = meta.get("rows"), meta.get("sha256")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise _fail(export_date, where, f"manifest row count {rows!r} is not a count")
        if not isinstance(sha, str):
            raise _fail(export_date, where, "manifest has no sha256 for it")
        path = folder / name
        if not path.is_file():
            raise _fail(export_date, where, "listed in the manifest but absent from the folder")
        parsed.append(ManifestFile(name, table, rows, sha.lower(), path, fmt))

    by_table: dict[str, list[str]] = {}
    for mf in parsed:
        by_table.setdefault(mf.table, []).append(mf.name)
    for table, names in by_table.items():
        if len(names) > 1:
            raise _fail(export_date, f"file {names[1]}", f"table {table} is delivered twice "
                        f"({', '.join(names)}); a night has one file per table")

    # The checksums are computed in a thread while DuckDB counts the rows: hashing is mostly
    # waiting for the disk (a night's files are read cold), and both reads share the page cache.
    # A checksum mismatch is still reported before any problem the count finds in that file.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digests = {mf.name: pool.submit(_sha256, mf.path) for mf in parsed}
        try:
            checked = _check_contents(export_date, parsed)
        except ExportError:
            _check_digests(export_date, parsed, digests)
            raise
        _check_digests(export_date, parsed, digests)

    return Manifest(export_date, folder, version, str(data.get("platform", "")), str(mode),
                    str(data.get("generated_at", "")), tuple(checked))


def _check_digests(export_date: date, files: list[ManifestFile],
                   digests: dict[str, Future[str]]) -> None:
    """Raise for the first file (in name order) whose SHA-256 differs from the manifest's."""
    for mf in files:
        actual = digests[mf.name].result()
        if actual != mf.sha256:
            raise _fail(export_date, f"file {mf.name}", f"SHA-256 differs from the manifest "
                        f"(manifest {mf.sha256[:12]}…, file {actual[:12]}…): the file is "
                        "truncated or changed; ask the platform to re-export the night")


def _check_contents(export_date: date, parsed: list[ManifestFile]) -> list[ManifestFile]:
    """Each known file's columns (header or Parquet schema) and row count against the
    manifest; returns the files with their headers."""
    con = connect(Path(":memory:"))  # in memory, with the configured DuckDB memory limit
    checked: list[ManifestFile] = []
    try:
        for mf in parsed:
            if not mf.known:  # extra tables are tolerated and ignored
                checked.append(mf)
                continue
            table = TABLES[mf.table]
            read_names: tuple[str, ...] = ()
            types: tuple[str, ...] = ()
            if mf.fmt == ".parquet":
                try:
                    header, read_names, types = _parquet_schema(con, mf.path)
                except duckdb.Error as exc:
                    raise _fail(export_date, f"file {mf.name}", f"not a readable Parquet file "
                                f"({str(exc).splitlines()[0]})") from exc
                _check_columns(export_date, mf.name, table, header)
            else:
                try:
                    header = _read_csv_header(mf.path, mf.fmt)
                except (OSError, EOFError, UnicodeDecodeError) as exc:
                    raise _fail(export_date, f"file {mf.name}", f"unreadable {mf.fmt} file "
                                f"({exc}); ask the platform to re-export the night") from exc
                if not header or header == ("",):
                    raise _fail(export_date, f"file {mf.name}", "empty file: no header row")
                _check_columns(export_date, mf.name, table, header)
            mf = ManifestFile(mf.name, mf.table, mf.rows, mf.sha256, mf.path, mf.fmt, header,
                              read_names)
            n = _count_rows(con, export_date, mf)
            if n != mf.rows and mf.fmt != ".parquet" and _python_count(export_date, mf) == mf.rows:
                # DuckDB returns no rows, without an error, for a CSV whose header has a quoted
                # name holding a carriage return (RFC 4180 allows it); Python's csv module
                # reads the file as the manifest says: load it from a normalised copy.
                n = mf.rows
                mf = dataclasses.replace(mf, normalise=True)
            if n != mf.rows:
                raise _fail(export_date, f"file {mf.name}", f"holds {n} data rows but the "
                            f"manifest says {mf.rows}")
            if n > 0 and types:  # a file with no rows may type its columns in any way
                typ = dict(zip(header, types, strict=True))
                for col in table.columns:
                    if col.name in typ and not parquet_type_holds(col.type, typ[col.name]):
                        raise _fail(export_date, f"file {mf.name}, column {col.name}",
                                    f"Parquet type {typ[col.name]} does not hold a contract "
                                    f"{col.type} (contract 1.1: the matching Parquet type or a "
                                    "UTF-8 string written as in CSV)")
            checked.append(mf)
    finally:
        con.close()
    return checked


# --------------------------------------------------------------------------------------------
# row-level rules


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _problem(col: Column, rule: str, cond: str, why: str) -> str:
    """SQL for one check: NULL when the row passes, else 'rule|column|reason'."""
    c = _q(col.name)
    # Control characters (a NUL byte, a line break) are shown as '?': the reason is one line of
    # text on the dashboard; the stored record keeps the value exactly.
    value = f"regexp_replace(left(replace({c}, '|', '/'), 60), '[\\x00-\\x1f\\x7f]', '?', 'g')"
    return (f"CASE WHEN {cond} THEN {_lit(rule + '|' + col.name + '|')} || {_lit(why)} || "
            f"' (value: ' || coalesce({value}, 'null') || ')' END")


# Contract types checked by a cast: the DuckDB type and what a value that fails it is not.
_CASTS: dict[str, tuple[str, str]] = {
    "timestamp": ("TIMESTAMPTZ", "not an ISO-8601 timestamp"),
    "date": ("DATE", "not a YYYY-MM-DD date"),
    "decimal": ("DECIMAL(18,4)", "not a decimal number"),
    "integer": ("BIGINT", "not an integer"),
}


def _column_checks(col: Column) -> list[str]:
    c = _q(col.name)
    checks: list[str] = []
    if not col.nullable:
        checks.append(_problem(col, "not_null", f"{c} IS NULL", "required value is empty"))
    nn = f"{c} IS NOT NULL"
    if col.type in ("string", "enum"):
        checks.append(_problem(col, "control_char", f"contains({c}, chr(0))",
                               "contains a NUL byte"))
    if col.type in _CASTS:
        target, why = _CASTS[col.type]
        cond = f"TRY_CAST({c} AS {target}) IS NULL"
        if col.type == "integer":  # DuckDB rounds '64500.5' to 64501: not an integer
            cond += (f" OR TRY_CAST({c} AS DECIMAL(38,10)) IS DISTINCT FROM "
                     f"TRY_CAST({c} AS {target})")
        checks.append(_problem(col, "type", f"{nn} AND ({cond})", why))
    elif col.type == "boolean":
        checks.append(_problem(col, "type", f"{nn} AND lower({c}) NOT IN ('true', 'false')",
                               "not true or false"))
    elif col.type == "enum":
        allowed = ", ".join(_lit(v) for v in col.values)
        checks.append(_problem(col, "enum", f"{nn} AND {c} NOT IN ({allowed})",
                               "not one of " + "/".join(col.values)))
    if col.min_value is not None or col.max_value is not None:
        lo = "" if col.min_value is None else (
            f"{'>' if col.min_exclusive else '>='} {col.min_value:g}")
        hi = "" if col.max_value is None else f"<= {col.max_value:g}"
        bounds = " and ".join(p for p in (lo, hi) if p)

        def outside(num: str) -> str:
            parts = []
            if col.min_value is not None:
                parts.append(f"{num} {'<=' if col.min_exclusive else '<'} {col.min_value}")
            if col.max_value is not None:
                parts.append(f"{num} > {col.max_value}")
            return f"{num} IS NOT NULL AND ({' OR '.join(parts)})"

        num = f"TRY_CAST({c} AS DOUBLE)"
        checks.append(_problem(col, "range", outside(num), "out of range, must be " + bounds))
        # The value as the raw layer stores it: a decimal keeps 4 places, so 0.00004 is stored
        # as 0, which breaks `> 0` in the warehouse and fails the night's GX suite.
        stored = f"TRY_CAST({c} AS {col.duckdb_type})"
        checks.append(_problem(col, "range", f"NOT coalesce({outside(num)}, false) AND "
                               f"{outside(stored)}", f"out of range once stored with "
                               f"{col.duckdb_type}, must be {bounds}"))
    if col.fmt == "ip":
        checks.append(_problem(
            col, "format",
            f"{nn} AND NOT regexp_full_match({c}, {_lit(IP)})", "not an IPv4 or IPv6 address"))
    elif col.fmt == "sha256":
        checks.append(_problem(col, "format", f"{nn} AND NOT regexp_full_match({c}, "
                               f"{_lit(SHA256)})", "not 64 lowercase hex characters"))
    elif col.fmt == "phash":
        checks.append(_problem(col, "format", f"{nn} AND NOT regexp_full_match({c}, "
                               f"{_lit(PHASH)})", "not 16 lowercase hex characters"))
    elif col.fmt == "country":
        checks.append(_problem(col, "format", f"{nn} AND ({c} NOT IN (SELECT code FROM "
                               f"_iso_countries))", "not an ISO 3166-1 alpha-2 country code"))
    elif col.fmt == "timezone":
        checks.append(_problem(col, "format", f"{nn} AND ({c} NOT IN (SELECT zone FROM "
                               f"_iana_zones))", "not an IANA time zone name"))
    return checks


def _row_checks(table: Table, export_date: date) -> list[str]:
    checks: list[str] = []
    for col in table.columns:
        checks.extend(_column_checks(col))
    for earlier, later in table.order_pairs:
        col = table.column(later)
        checks.append(_problem(
            col, "order",
            f"TRY_CAST({_q(later)} AS TIMESTAMPTZ) < TRY_CAST({_q(earlier)} AS TIMESTAMPTZ)",
            f"{later} is before {earlier}"))
    horizon = f"TIMESTAMPTZ '{export_date.isoformat()} 00:00:00+00' + INTERVAL 2 DAY"
    for col in table.columns:
        if col.type == "timestamp":
            checks.append(_problem(
                col, "future", f"TRY_CAST({_q(col.name)} AS TIMESTAMPTZ) >= {horizon}",
                "after the end of the day following the export date"))
    return checks


# --------------------------------------------------------------------------------------------
# load


def _prepare_lookups(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _iso_countries (code VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO _iso_countries VALUES (?)", [[c] for c in iso_country_codes()])
    con.execute("CREATE OR REPLACE TEMP TABLE _iana_zones (zone VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO _iana_zones VALUES (?)", [[z] for z in iana_timezones()])


def _stage_file(con: duckdb.DuckDBPyConnection, mf: ManifestFile, table: Table,
                export_date: date, stage: str) -> None:
    """Read one file as text into a temp table with its line number and its problems.

    The stage holds the contract's columns under their names (a 1.1 column missing from the
    header is all null), `_line`, and the file's other columns as `_extra_<i>`; the record kept
    for a quarantined row has every column of the file under its own name.
    """
    cols: list[str] = []
    record: list[tuple[str, str]] = []  # (name in the file, column of the stage)
    if mf.fmt == ".parquet":
        read = dict(zip(mf.header, mf.read_names or mf.header, strict=True))
        own_row_number = "file_row_number" not in {n.lower() for n in mf.read_names}
        src = _parquet_relation_sql(mf.path, row_number=own_row_number)
        for col in table.columns:
            if col.name in read:
                cols.append(f"CAST({_q(read[col.name])} AS VARCHAR) AS {_q(col.name)}")
                record.append((col.name, col.name))
            else:
                cols.append(f"NULL::VARCHAR AS {_q(col.name)}")
        line = "file_row_number + 1" if own_row_number else "row_number() OVER ()"
    else:
        src = _csv_relation_sql(mf.path, mf.header)
        position = {h: i for i, h in enumerate(mf.header)}
        for col in table.columns:
            if col.name in position:
                cols.append(f"_c{position[col.name]} AS {_q(col.name)}")
            else:
                cols.append(f"NULL::VARCHAR AS {_q(col.name)}")
        for i, h in enumerate(mf.header):
            if h in table.column_names:
                record.append((h, h))
            else:
                cols.append(f"_c{i} AS _extra_{i}")
                record.append((h, f"_extra_{i}"))
        line = "row_number() OVER ()"
    select = f"SELECT {', '.join(cols)}, {line} AS _line FROM {src}"
    problems = "list_filter([" + ", ".join(_row_checks(table, export_date)) + "], lambda x: x IS "\
        "NOT NULL)"
    # json_object, not struct_pack: a file's names may differ from each other only in case
    record = "json_object(" + ", ".join(f"{_lit(n)}, {_q(c)}" for n, c in record) + ")"
    # One pass: read the file as text, number its lines and check every value.
    checked = (f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT *, CASE WHEN len(_problems) > 0 "
               f"THEN {record} END AS _record FROM (SELECT *, {problems} AS _problems "
               f"FROM ({select}))")
    try:
        if mf.normalise:
            raise duckdb.InvalidInputException(f"{mf.name}: DuckDB miscounts its records")
        con.execute(checked)
    except duckdb.Error as exc:
        if mf.fmt == ".parquet":
            raise _fail(export_date, f"file {mf.name}", f"unreadable {mf.fmt} file "
                        f"({str(exc).splitlines()[0]}); ask the platform to re-export the "
                        "night") from exc
        with tempfile.TemporaryDirectory(prefix="itw-radar-") as tmp:
            copy = _normalised_copy(export_date, mf, Path(tmp))
            con.execute(checked.replace(src, _csv_relation_sql(copy, mf.header)))

    # Duplicate keys among otherwise valid rows. An entity key may appear more than once with
    # different versions (updated_at); the same version (or event key) twice is either an exact
    # copy (keep the first line, quarantine the copies) or a conflict (quarantine every copy).
    group = [_q(table.key)] + ([_q(table.version_column)] if table.version_column else [])
    g = ", ".join(group)
    key = _q(table.key)
    # A grouped count finds the repeated keys (usually none); only their rows are compared.
    content = "hash(" + ", ".join(f"s.{_q(c)}" for c in table.column_names) + ")"
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM r.{c}" for c in group)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {stage}_dup AS
        WITH repeated AS (
            SELECT {g} FROM {stage} WHERE len(_problems) = 0
            GROUP BY {g} HAVING count(*) > 1
        )
        SELECT _line,
               CASE WHEN n_content = 1
                    THEN 'duplicate|{table.key}|exact copy of line ' || first_line
                         || ' (value: ' || left({key}, 60) || ')'
                    ELSE 'duplicate_key|{table.key}|key appears ' || n || ' times with different '
                         || 'content (value: ' || left({key}, 60) || ')'
               END AS problem
        FROM (
            SELECT s._line, s.{key},
                   count(*) OVER w AS n,
                   count(DISTINCT {content}) OVER w AS n_content,
                   min(s._line) OVER w AS first_line
            FROM {stage} AS s
            INNER JOIN repeated AS r ON {same}
            WHERE len(s._problems) = 0
            WINDOW w AS (PARTITION BY {", ".join(f"s.{c}" for c in group)})
        )
        WHERE n > 1 AND (n_content > 1 OR _line <> first_line)
    """)
    con.execute(f"""
        UPDATE {stage} SET _problems = [d.problem], _record = {record}
        FROM {stage}_dup d WHERE {stage}._line = d._line
    """)


def _typed(col: Column) -> str:
    c = _q(col.name)
    if col.type == "boolean":
        return f"lower({c}) = 'true' AS {c}"
    return f"TRY_CAST({c} AS {col.duckdb_type}) AS {c}"


def load_night(home: Home, exports: Path, export_date: date, *,
               manifest: Manifest | None = None, progress: Progress | None = None) -> LoadResult:
    """Verify (unless given a verified manifest) and load one night into the raw layer.

    Loading a night again replaces exactly that night's rows. Raises ExportError on structural
    problems, before anything is written.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    manifest = manifest or verify_night(exports, export_date)
    load_id = f"{export_date.isoformat()}-{uuid.uuid4().hex[:12]}"
    result = LoadResult(export_date, load_id)
    home.ensure()
    con = connect(home.warehouse)
    remove_stale_spill(home.warehouse)  # a killed earlier night's leftovers
    try:
        ensure_raw_schema(con)
        _prepare_lookups(con)
        known = [mf for mf in manifest.files if mf.known]
        stages: list[tuple[ManifestFile, str]] = []
        for i, mf in enumerate(known):
            if progress:
                progress(f"check {mf.name}", i, len(known))
            stage = f"_stage_{mf.table}"
            _stage_file(con, mf, TABLES[mf.table], export_date, stage)
            stages.append((mf, stage))
        if progress:
            progress("write", len(known), len(known))

        d = export_date.isoformat()
        con.execute("BEGIN TRANSACTION")
        try:
            for table in TABLES.values():
                con.execute(f"DELETE FROM raw.{table.name} WHERE _export_date = ?", [d])
            for t in ("quarantine", "load_files"):
                con.execute(f"DELETE FROM raw.{t} WHERE export_date = ?", [d])
            for mf, stage in stages:
                table = TABLES[mf.table]
                typed = ", ".join(_typed(c) for c in table.columns)
                names = ", ".join([_q(c) for c in table.column_names]
                                  + [n for n, _ in RAW_META_COLUMNS])
                con.execute(
                    # No ORDER BY: the stage table keeps the file's order (DuckDB preserves
                    # insertion order), and sorting millions of rows again cost a third of
                    # the load. Every reader orders by _line itself where order matters.
                    f"INSERT INTO raw.{table.name} ({names}) SELECT {typed}, ?::DATE, ?, ?, _line "
                    f"FROM {stage} WHERE len(_problems) = 0",
                    [d, load_id, mf.name])
                con.execute(
                    f"""INSERT INTO raw.quarantine
                    SELECT ?::DATE, ?, ?, ?, _line, split_part(_problems[1], '|', 2),
                           split_part(_problems[1], '|', 1),
                           array_to_string(list_transform(_problems,
                               lambda p: split_part(p, '|', 2) || ': ' || split_part(p, '|', 3)
                                    || ' [' || split_part(p, '|', 1) || ']'), '; '),
                           _record
                    FROM {stage} WHERE len(_problems) > 0 ORDER BY _line""",
                    [d, load_id, table.name, mf.name])
                loaded, quarantined = con.execute(
                    f"SELECT count(*) FILTER (WHERE len(_problems) = 0), "
                    f"count(*) FILTER (WHERE len(_problems) > 0) FROM {stage}").fetchone()
                if loaded + quarantined != mf.rows:
                    raise _fail(export_date, f"file {mf.name}", f"read {loaded + quarantined} "
                                f"rows but the manifest says {mf.rows}")
                con.execute("INSERT INTO raw.load_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [d, load_id, table.name, mf.name, mf.rows, loaded, quarantined])
                result.files.append(FileLoad(table.name, mf.name, mf.rows, loaded, quarantined))
                pause_point("load")  # crash tests only (no-op otherwise)
            result.seconds = time.perf_counter() - t0
            log_step(con, export_date=d, load_id=load_id, step="load", status="success",
                     started_at=started, finished_at=datetime.now(UTC),
                     rows_loaded=result.rows_loaded, rows_quarantined=result.rows_quarantined,
                     summary=json.dumps({f.file_name: [f.rows_loaded, f.rows_quarantined]
                                         for f in result.files}))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for _, stage in stages:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
            con.execute(f"DROP TABLE IF EXISTS {stage}_dup")
    finally:
        con.close()
    return result
