"""Verified, idempotent loading, and the corrupt-export corpus (structural and row-level)."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_factory import valid_rows, write_csv, write_manifest, write_night

from itw_radar.contract import TABLES
from itw_radar.ingestion import ExportError, load_night, verify_night
from itw_radar.paths import Home

D1 = date(2026, 11, 22)
D2 = date(2026, 11, 23)


@pytest.fixture
def env(tmp_path: Path) -> tuple[Home, Path]:
    home = Home.resolve(tmp_path / "home")
    exports = tmp_path / "exports"
    write_night(exports, D1, mode="full")
    load_night(home, exports, D1)
    return home, exports


def snapshot(home: Home) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        out = {}
        for t in TABLES:
            cols = ", ".join(f'"{c}"' for c in TABLES[t].column_names)
            out[t] = con.execute(
                f"SELECT {cols}, _export_date, _line FROM raw.{t} ORDER BY ALL").fetchall()
        for t in ("quarantine", "load_files"):
            out[t] = con.execute(
                f"SELECT * EXCLUDE (load_id) FROM raw.{t} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def quarantine(home: Home, day: date) -> list[tuple]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT table_name, file_name, line, column_name, rule, reason FROM raw.quarantine "
            "WHERE export_date = ? ORDER BY table_name, line", [day]).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- structural: the night stops

def _rewrite(folder: Path, name: str, text: str, day: date = D2) -> None:
    (folder / name).write_text(text, encoding="utf-8")
    write_manifest(folder, day)


def no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def bad_json(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"contract_version": "1.0", ')


def unknown_version(folder: Path) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    m["contract_version"] = "9.9"
    (folder / "manifest.json").write_text(json.dumps(m))


def wrong_date(folder: Path) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    m["export_date"] = "2026-11-21"
    (folder / "manifest.json").write_text(json.dumps(m))


def listed_missing(folder: Path) -> None:
    (folder / "reviews.csv").unlink()


def unlisted_present(folder: Path) -> None:
    shutil.copy(folder / "reviews.csv", folder / "reviews_old.csv")


def count_off(folder: Path) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    m["files"]["logins.csv"]["rows"] += 1
    (folder / "manifest.json").write_text(json.dumps(m))


def checksum_off(folder: Path) -> None:
    with (folder / "logins.csv").open("a") as f:
        f.write("l-9,acc-0,2026-11-23T05:00:00Z,203.0.113.9,US,64500,residential,d,ua,true\n")


def truncated_csv(folder: Path) -> None:
    text = (folder / "logins.csv").read_text()
    _rewrite(folder, "logins.csv", text[: text.rindex("\n", 0, len(text) - 1) + 20])


def corrupt_gzip(folder: Path) -> None:
    data = gzip.compress((folder / "logins.csv").read_bytes())
    (folder / "logins.csv").unlink()
    (folder / "logins.csv.gz").write_bytes(data[: len(data) // 2])
    write_manifest(folder, D2, rows={"logins.csv.gz": 3})


def header_only(folder: Path) -> None:
    cols = list(TABLES["logins"].column_names)
    write_csv(folder / "logins.csv", [], cols)
    write_manifest(folder, D2, rows={"logins.csv": 3})


def missing_column(folder: Path) -> None:
    rows = valid_rows(D2)["logins"]
    write_csv(folder / "logins.csv", rows, [c for c in TABLES["logins"].column_names if c != "ip"])
    write_manifest(folder, D2)


def renamed_column(folder: Path) -> None:
    text = (folder / "logins.csv").read_text().replace("account_id", "user_id", 1)
    _rewrite(folder, "logins.csv", text)


def parquet_wrong_type(folder: Path) -> None:
    rows = valid_rows(D2)["reviews"]
    (folder / "reviews.csv").unlink()
    table = pa.table({c: [r[c] for r in rows] for c in TABLES["reviews"].column_names})
    pq.write_table(table, folder / "reviews.parquet")  # every column a string: rating is not
    write_manifest(folder, D2)


def not_what_extension_says(folder: Path) -> None:
    (folder / "reviews.csv").unlink()
    (folder / "reviews.parquet").write_text("review_id,contract_id\nr-0,c-0\n")
    write_manifest(folder, D2, rows={"reviews.parquet": 1})


STRUCTURAL: dict[str, tuple[Callable[[Path], None], str]] = {
    "no manifest": (no_manifest, "no manifest"),
    "manifest not JSON": (bad_json, "not valid JSON"),
    "unknown contract version": (unknown_version, "contract_version '9.9' is not supported"),
    "export date not the folder's": (wrong_date, "is not the folder's date"),
    "listed file missing": (listed_missing, "file reviews.csv: listed in the manifest but absent"),
    "unlisted file present": (unlisted_present, "file reviews_old.csv: present in the folder but"),
    "row count off": (count_off, "file logins.csv: holds 3 data rows but the manifest says 4"),
    "checksum off": (checksum_off, "file logins.csv: SHA-256 differs"),
    "truncated csv": (truncated_csv, "file logins.csv, data row 3: has 3 fields but the header "
                      "has 10; the file is truncated"),
    "corrupt gzip": (corrupt_gzip, "file logins.csv.gz: unreadable"),
    "header only, rows promised": (header_only, "holds 0 data rows but the manifest says 3"),
    "missing column": (missing_column, "file logins.csv, column ip: required column missing"),
    "renamed column": (renamed_column, "column account_id: required column missing"),
    "parquet wrong type": (parquet_wrong_type,
                           "file reviews.parquet, column rating: Parquet type VARCHAR"),
    "not what the extension says": (not_what_extension_says,
                                     "file reviews.parquet: not a readable Parquet file"),
}


@pytest.mark.parametrize("case", list(STRUCTURAL))
def test_structural_problem_stops_the_night_and_changes_nothing(env, case: str) -> None:
    home, exports = env
    # The night was delivered fine once; a broken re-delivery must leave it as it was.
    write_night(exports, D2)
    load_night(home, exports, D2)
    before = snapshot(home)
    shutil.rmtree(exports / D2.isoformat())
    folder = write_night(exports, D2)
    breaker, message = STRUCTURAL[case]
    breaker(folder)
    with pytest.raises(ExportError) as err:
        load_night(home, exports, D2)
    text = str(err.value)
    assert text.startswith(f"Night {D2.isoformat()}"), text
    assert message in text, text
    assert "\n" not in text
    assert snapshot(home) == before


# ---------------------------------------------------------------- row level: quarantined

def _row_case(table: str, index: int, **changes: str) -> Callable[[dict], None]:
    def apply(rows: dict) -> None:
        rows[table].append(dict(rows[table][index], **changes))
    return apply


ROW_LEVEL: dict[str, tuple[Callable[[dict], None], str, str, str]] = {
    # case: (change, table, column, rule)
    "null key": (_row_case("logins", 0, login_id=""), "logins", "login_id", "not_null"),
    "bad enum": (_row_case("logins", 0, login_id="l-x", ip_kind="satellite"),
                 "logins", "ip_kind", "enum"),
    "unparsable timestamp": (_row_case("logins", 0, login_id="l-x", ts="yesterday noon"),
                             "logins", "ts", "type"),
    "event years in the future": (_row_case("logins", 0, login_id="l-x",
                                             ts="2031-01-01T00:00:00Z"), "logins", "ts", "future"),
    "malformed ip": (_row_case("logins", 0, login_id="l-x", ip="999.1.1.1"),
                     "logins", "ip", "format"),
    "hash of the wrong length": (_row_case("accounts", 0, account_id="acc-x",
                                           email_hash="abc123"), "accounts", "email_hash",
                                 "format"),
    "phash not hex": (_row_case("identity_documents", 0, document_id="doc-x",
                                image_phash="zz23456789abcdef"), "identity_documents",
                      "image_phash", "format"),
    "rating of 7": (_row_case("reviews", 0, review_id="r-x", rating="7"),
                    "reviews", "rating", "range"),
    "rating of 0": (_row_case("reviews", 0, review_id="r-y", rating="0"),
                    "reviews", "rating", "range"),
    "negative amount": (_row_case("transactions", 0, transaction_id="t-x", amount_usd="-5"),
                        "transactions", "amount_usd", "range"),
    "ended before started": (_row_case("work_sessions", 0, session_id="s-x",
                                       ended_at="2026-11-23T08:00:00Z"),
                             "work_sessions", "ended_at", "order"),
    "updated before created": (_row_case("contracts", 0, contract_id="c-x",
                                         updated_at="2020-01-01T00:00:00Z"),
                               "contracts", "updated_at", "order"),
    "bad country": (_row_case("accounts", 0, account_id="acc-y", country="USA"),
                    "accounts", "country", "format"),
    "bad time zone": (_row_case("accounts", 0, account_id="acc-z", timezone="Mars/Olympus"),
                      "accounts", "timezone", "format"),
    "bad boolean": (_row_case("logins", 0, login_id="l-b", success="yes"),
                    "logins", "success", "type"),
    "duplicate key, different content": (_row_case("messages", 0, body="changed"),
                                         "messages", "message_id", "duplicate_key"),
    "exact duplicate row": (_row_case("interviews", 0), "interviews", "interview_id",
                            "duplicate"),
    "NUL byte in a message": (_row_case("messages", 0, message_id="m-nul", body="a\x00b"),
                              "messages", "body", "control_char"),
}


@pytest.mark.parametrize("case", list(ROW_LEVEL))
def test_row_level_problem_is_quarantined_with_its_reason(env, case: str) -> None:
    home, exports = env
    change, table, column, rule = ROW_LEVEL[case]
    rows = valid_rows(D2)
    change(rows)
    write_night(exports, D2, rows)
    result = load_night(home, exports, D2)
    q = [r for r in quarantine(home, D2) if r[0] == table]
    assert q, f"nothing quarantined for {case}"
    assert any(r[3] == column and r[4] == rule for r in q), q
    for f in result.files:
        assert f.rows_loaded + f.rows_quarantined == f.rows_expected
    # The other tables' rows all loaded.
    assert result.rows_quarantined == len(q)


def test_quarantine_keeps_the_whole_record(env) -> None:
    home, exports = env
    rows = valid_rows(D2)
    rows["reviews"].append(dict(rows["reviews"][0], review_id="r-7", rating="7"))
    write_night(exports, D2, rows)
    load_night(home, exports, D2)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    line, record = con.execute(
        "SELECT line, record FROM raw.quarantine WHERE export_date = ?", [D2]).fetchone()
    con.close()
    assert line == 2
    assert json.loads(record)["review_id"] == "r-7"
    assert json.loads(record)["rating"] == "7"


# ---------------------------------------------------------------- clean loads

def test_load_twice_equals_load_once(env) -> None:
    home, exports = env
    write_night(exports, D2)
    load_night(home, exports, D2)
    once = snapshot(home)
    load_night(home, exports, D2)
    assert snapshot(home) == once
    con = duckdb.connect(str(home.warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.logins WHERE _export_date = ?",
                       [D2]).fetchone()[0] == 3
    con.close()


def test_extra_column_bom_crlf_and_unicode_load_unchanged(env) -> None:
    home, exports = env
    rows = valid_rows(D2)
    names = ["김정은 테스트", "Иван Петров", "Zoë 🚀 Ng"]
    for r, n in zip(rows["accounts"], names, strict=True):
        r["display_name"] = n
        r["favourite_colour"] = "blue"  # not in the contract: tolerated
    folder = write_night(exports, D2, {"accounts": rows["accounts"]})
    cols = [*TABLES["accounts"].column_names, "favourite_colour"]
    write_csv(folder / "accounts.csv", rows["accounts"], cols)
    text = (folder / "accounts.csv").read_text(encoding="utf-8")
    (folder / "accounts.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    write_manifest(folder, D2)
    result = load_night(home, exports, D2)
    assert result.rows_quarantined == 0
    con = duckdb.connect(str(home.warehouse), read_only=True)
    got = [r[0] for r in con.execute("SELECT display_name FROM raw.accounts WHERE _export_date = ?"
                                     " ORDER BY account_id", [D2]).fetchall()]
    con.close()
    assert got == names


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_gzip_and_parquet_load_like_csv(tmp_path: Path, fmt: str) -> None:
    exports = tmp_path / "exports"
    folder = exports / D2.isoformat()
    folder.mkdir(parents=True)
    for name, rows in valid_rows(D2).items():
        cols = list(TABLES[name].column_names)
        if fmt == "csv.gz":
            write_csv(folder / f"{name}.csv.gz", rows, cols, gz=True)
        else:
            con = duckdb.connect()
            write_csv(tmp_path / f"{name}.csv", rows, cols)
            types = {c.name: c.duckdb_type for c in TABLES[name].columns}
            con.execute(f"COPY (SELECT * FROM read_csv('{tmp_path / name}.csv', header=true, "
                        f"columns={types!r})) TO '{folder / name}.parquet' (FORMAT parquet)")
            con.close()
    write_manifest(folder, D2, "full")
    home = Home.resolve(tmp_path / "home")
    result = load_night(home, exports, D2)
    assert result.rows_quarantined == 0
    assert result.rows_loaded == sum(len(r) for r in valid_rows(D2).values())


def test_verify_reports_counts(tmp_path: Path) -> None:
    write_night(tmp_path, D2)
    m = verify_night(tmp_path, D2)
    assert {f.table: f.rows for f in m.files}["logins"] == 3
    assert m.mode == "delta"


def test_mixed_line_endings_big_and_multiline_bodies_load(env) -> None:
    home, exports = env
    rows = valid_rows(D2)
    rows["messages"].append(dict(rows["messages"][0], message_id="m-big", body="x" * 5_000_000))
    rows["messages"].append(dict(rows["messages"][0], message_id="m-nl",
                                 body='line one\nline "two"\r\nline, three'))
    folder = write_night(exports, D2, rows)
    lines = (folder / "logins.csv").read_text().split("\n")
    (folder / "logins.csv").write_text("\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:]))
    write_manifest(folder, D2)
    result = load_night(home, exports, D2)
    assert result.rows_quarantined == 0
    con = duckdb.connect(str(home.warehouse), read_only=True)
    bodies = dict(con.execute("SELECT message_id, body FROM raw.messages WHERE _export_date = ?",
                              [D2]).fetchall())
    logins = con.execute("SELECT login_id, _line FROM raw.logins WHERE _export_date = ? "
                         "ORDER BY _line", [D2]).fetchall()
    con.close()
    assert len(bodies["m-big"]) == 5_000_000
    assert bodies["m-nl"] == 'line one\nline "two"\r\nline, three'
    assert logins == [("l-0", 1), ("l-1", 2), ("l-2", 3)]
