"""`itw-radar check`: the pre-flight of an export root (src/itw_radar/preflight.py)."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from export_factory import h, valid_rows, write_csv, write_manifest, write_night
from typer.testing import CliRunner

from itw_radar.cli import app
from itw_radar.contract import SUPPORTED_CONTRACT_VERSIONS, TABLES
from itw_radar.ingestion import ExportError, verify_night
from itw_radar.paths import Home
from itw_radar.preflight import check_exports, classify

D1 = date(2026, 9, 1)
runner = CliRunner()


def _days(n: int, start: date = D1) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def _root(tmp_path: Path, nights: list[date]) -> Path:
    exports = tmp_path / "exports"
    exports.mkdir()
    for i, d in enumerate(nights):
        write_night(exports, d, mode="full" if i == 0 else "delta")
    return exports


def _home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


def _publish(home: Home, night: date) -> None:
    """A stand-in serving database whose last published night is `night`."""
    home.serving.parent.mkdir(parents=True)
    con = duckdb.connect(str(home.serving))
    con.execute("CREATE TABLE account_risk (account_id VARCHAR, as_of_date DATE)")
    con.execute("INSERT INTO account_risk VALUES ('acc-0', ?)", [night])
    con.close()


def _manifest_set(folder: Path, **changes: object) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _check(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["check", *args])
    return result.exit_code, result.stdout


def test_valid_root_would_process_every_night(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(3))
    (exports / "_truth").mkdir()
    (exports / "_truth" / "labels.csv").write_text("account_id,is_dprk,scenario\n")
    report = check_exports(exports, _home(tmp_path))
    assert report.ok
    assert report.run.summary == "run would process 3 nights, 2026-09-01 to 2026-09-03"
    assert report.run.process == _days(3)
    assert (report.first_night, report.last_night) == (D1, D1 + timedelta(days=2))
    assert report.gaps == [] and report.incomplete == [] and report.problems == []
    assert report.ignored == []  # _truth is ignored silently
    first = report.nights[0]
    assert first.verified and first.status == "ok" and first.run == "process"
    assert (first.contract_version, first.mode, first.formats) == ("1.0", "full", ["csv"])
    assert report.nights[1].mode == "delta"
    assert first.rows == {t: len(rows) for t, rows in valid_rows(D1).items()}
    assert first.absent_tables == [] and first.optional_tables == [] and first.v11_columns == []


def test_gaps_stop_the_run_unless_skip_missing(tmp_path: Path) -> None:
    nights = [D1, D1 + timedelta(days=1), D1 + timedelta(days=3), D1 + timedelta(days=7)]
    exports = _root(tmp_path, nights)
    report = check_exports(exports, _home(tmp_path))
    assert not report.ok
    assert [str(g) for g in report.gaps] == ["2026-09-03", "2026-09-05 to 2026-09-07 (3 nights)"]
    assert report.run.process == nights[:2]
    assert report.run.stop_at == date(2026, 9, 3)
    assert report.run.summary.endswith(
        "then stop at 2026-09-03: the night is missing (pass --skip-missing to go around it)")
    assert [p.rule for p in report.problems] == ["missing_night", "missing_night"]
    assert [n.run for n in report.nights] == ["process", "process", "after_stop", "after_stop"]
    # the nights after the stop are still verified
    assert all(n.verified for n in report.nights)

    around = check_exports(exports, _home(tmp_path), skip_missing=True)
    assert around.ok
    assert around.run.process == nights
    assert around.run.summary == ("run would process 4 nights, 2026-09-01 to 2026-09-08, going "
                                  "around 4 missing nights")

    (exports / "2026-09-08" / "reviews.csv").write_text("review_id\n")
    failing = check_exports(exports, _home(tmp_path), skip_missing=True)
    assert failing.run.summary.startswith(
        "run would process 3 nights, 2026-09-01 to 2026-09-04, going around 4 missing nights, "
        "then fail at 2026-09-08: Night 2026-09-08, file reviews.csv: SHA-256 differs")


def test_a_night_without_manifest_stops_the_run_there(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(4))
    (exports / "2026-09-03" / "manifest.json").unlink()
    (exports / "2026-09-04" / "accounts.csv").write_text("broken")  # reported too
    report = check_exports(exports, _home(tmp_path))
    assert not report.ok
    assert report.incomplete == [date(2026, 9, 3)]
    assert report.run.stop_at == date(2026, 9, 3) and report.run.stop_rule == "incomplete"
    assert report.run.summary == (
        "run would process 2 nights, 2026-09-01 to 2026-09-02, then stop at 2026-09-03: no "
        "manifest.json yet, the export is not complete")
    incomplete = report.nights[2]
    assert incomplete.status == "incomplete" and incomplete.formats == ["csv"]
    assert incomplete.problem is not None and incomplete.problem.file == "manifest.json"
    # every night's problem, not only the first one's
    assert [(p.night, p.rule) for p in report.problems] == [
        (date(2026, 9, 3), "incomplete"), (date(2026, 9, 4), "checksum")]


def test_checksum_mismatch_names_night_file_and_rule(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(2))
    with (exports / "2026-09-02" / "logins.csv").open("a") as f:
        f.write("l-9,acc-0,2026-09-02T05:00:00Z,203.0.113.7,US,64500,residential,d,ua,true\n")
    report = check_exports(exports, _home(tmp_path))
    assert not report.ok
    (p,) = report.problems
    assert (p.night, p.file, p.column, p.rule) == (date(2026, 9, 2), "logins.csv", None,
                                                  "checksum")
    assert "SHA-256 differs" in p.message
    assert report.run.stop_rule == "checksum" and report.run.process == [D1]
    assert report.run.summary.startswith(
        "run would process 1 night, 2026-09-01, then fail at 2026-09-02: Night 2026-09-02, "
        "file logins.csv: SHA-256 differs")
    assert report.nights[1].run == "fail" and not report.nights[1].verified


def test_wrong_row_count(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    folder = write_night(exports, D1)
    write_manifest(folder, D1, rows={"reviews.csv": 7})  # checksums right, one count wrong
    report = check_exports(exports, _home(tmp_path))
    (p,) = report.problems
    assert (p.file, p.rule) == ("reviews.csv", "row_count")
    assert "holds 1 data rows but the manifest says 7" in p.message
    assert report.nights[0].rows["reviews"] == 7  # the manifest's claim is what is shown
    assert not report.ok and report.run.process == []
    assert report.run.summary.startswith("run would fail at 2026-09-01: Night 2026-09-01")


def test_missing_required_column_names_the_column(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    folder = write_night(exports, D1)
    rows = valid_rows(D1)["messages"]
    write_csv(folder / "messages.csv", rows, [c for c in rows[0] if c != "body"])
    write_manifest(folder, D1)
    (p,) = check_exports(exports, _home(tmp_path)).problems
    assert (p.file, p.column, p.rule) == ("messages.csv", "body", "required_column")


def _v11_night(exports: Path, day: date) -> Path:
    """A contract 1.1 night: the three added columns and the two added tables."""
    d = day.isoformat()
    tables = valid_rows(day)
    for i, r in enumerate(tables["accounts"]):
        r["profile_text"] = f"Senior full-stack developer {i}"
        r["referred_by_account_id"] = "acc-0" if i else ""
    for r in tables["identity_documents"]:
        r["verified_at"] = f"{d}T11:00:00Z"
    tables["proposals"] = [
        {"proposal_id": "p-0", "freelancer_account_id": "acc-0", "client_account_id": "acc-2",
         "job_id": "j-0", "job_category": "web", "submitted_at": f"{d}T08:00:00Z",
         "bid_usd": "40", "cover_letter": "I can do this."}]
    tables["profile_changes"] = [
        {"change_id": "pc-0", "account_id": "acc-0", "changed_at": f"{d}T07:00:00Z",
         "field": "display_name", "old_value_hash": h(1), "new_value_hash": h(2)}]
    folder = exports / d
    folder.mkdir(parents=True)
    for name, rows in tables.items():
        write_csv(folder / f"{name}.csv", rows)
    write_manifest(folder, day)
    _manifest_set(folder, contract_version="1.1")
    return folder


def test_contract_1_0_and_1_1_nights(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_night(exports, D1, mode="full")
    _v11_night(exports, D1 + timedelta(days=1))
    report = check_exports(exports, _home(tmp_path))
    old, new = report.nights
    assert old.contract_version == "1.0" and old.verified
    assert old.optional_tables == [] and old.v11_columns == []
    assert new.contract_version == "1.1"
    assert new.optional_tables == ["proposals", "profile_changes"]
    assert new.v11_columns == ["accounts.profile_text", "accounts.referred_by_account_id",
                               "identity_documents.verified_at"]
    assert new.rows["proposals"] == 1 and new.rows["profile_changes"] == 1
    # the verdict is ingestion's own: whatever verify_night says about a 1.1 night
    try:
        verify_night(exports, new.night)
        accepted = True
    except ExportError:
        accepted = False
    assert accepted == ("1.1" in SUPPORTED_CONTRACT_VERSIONS)
    assert new.verified == accepted and report.ok == accepted
    if not accepted:
        assert new.problem is not None and new.problem.rule == "contract_version"
        assert any("contract version(s) 1.1 present" in n for n in report.notes)


def _write_parquet(path: Path, table: str, rows: list[dict[str, str]]) -> None:
    """Rows as Parquet with each column's matching Parquet type (1.0's Parquet typing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    typ = {"timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(),
           "decimal": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
    columns = {}
    for name in rows[0]:
        kind = TABLES[table].column(name).type if name in TABLES[table].column_names else "s"
        values = [r[name] or None for r in rows]
        if kind in ("timestamp", "date"):
            values = [v and datetime.fromisoformat(v) for v in values]
            if kind == "date":
                values = [v and v.date() for v in values]
        elif kind in ("decimal", "integer"):
            values = [v and (float(v) if kind == "decimal" else int(v)) for v in values]
        elif kind == "boolean":
            values = [v and v == "true" for v in values]
        columns[name] = pa.array(values, type=typ.get(kind, pa.string()))
    pq.write_table(pa.table(columns), path)


def test_parquet_and_csv_gz_nights(tmp_path: Path) -> None:

    exports = tmp_path / "exports"
    for day, fmt in ((D1, "parquet"), (D1 + timedelta(days=1), "csv.gz")):
        folder = exports / day.isoformat()
        folder.mkdir(parents=True)
        for name, rows in valid_rows(day).items():
            if fmt == "parquet":
                _write_parquet(folder / f"{name}.parquet", name, rows)
            else:
                write_csv(folder / f"{name}.csv.gz", rows, gz=True)
        write_manifest(folder, day)
    # a mixed night: most files CSV, accounts as Parquet with a 1.1 column
    mixed = write_night(exports, D1 + timedelta(days=2))
    accounts = valid_rows(D1 + timedelta(days=2))["accounts"]
    for r in accounts:
        r["profile_text"] = "hello"
    (mixed / "accounts.csv").unlink()
    _write_parquet(mixed / "accounts.parquet", "accounts", accounts)
    write_manifest(mixed, D1 + timedelta(days=2))

    report = check_exports(exports, _home(tmp_path))
    assert report.ok, report.problems
    assert [n.formats for n in report.nights] == [["parquet"], ["csv.gz"], ["parquet", "csv"]]
    assert report.nights[0].rows == report.nights[1].rows
    assert report.nights[2].files["accounts"] == "accounts.parquet"
    assert report.nights[2].v11_columns == ["accounts.profile_text"]


def test_nights_dated_1990_and_2099(tmp_path: Path) -> None:
    old, now, future = date(1990, 1, 1), date(2026, 9, 1), date(2099, 12, 31)
    exports = _root(tmp_path, [old, now, future])
    report = check_exports(exports, _home(tmp_path), today=date(2026, 12, 6))
    assert [n.night for n in report.nights] == [old, now, future]
    assert [g.to_dict() for g in report.gaps] == [
        {"first": "1990-01-02", "last": "2026-08-31", "nights": (now - old).days - 1},
        {"first": "2026-09-02", "last": "2099-12-30", "nights": (future - now).days - 1}]
    assert report.run.stop_at == date(1990, 1, 2) and report.run.process == [old]
    assert "(13,391 nights to 2026-08-31; pass --skip-missing" in report.run.summary
    assert any("dated after today" in n and "2099-12-31" in n for n in report.notes)
    around = check_exports(exports, _home(tmp_path), skip_missing=True)
    assert around.ok and around.run.process == [old, now, future]
    assert len(json.dumps(around.to_dict())) < 20_000  # gaps are ranges, not every date


def test_empty_and_missing_root(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = check_exports(empty, _home(tmp_path))
    assert not report.ok and report.nights == [] and report.run.stop_rule == "no_nights"
    assert "no night folders (YYYY-MM-DD)" in report.run.summary
    assert [p.rule for p in report.problems] == ["no_nights"]
    code, out = _check(["--exports", str(empty), "--home", str(tmp_path / "home"), "--json"])
    assert code == 1 and json.loads(out)["run"]["stop_rule"] == "no_nights"

    missing = check_exports(tmp_path / "nowhere", _home(tmp_path))
    assert not missing.ok and missing.problems[0].rule == "exports_root"
    assert "does not exist" in missing.run.summary


def test_non_date_folders_are_listed_as_ignored(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(2))
    for name in ("notes", "2026-13-01", "2026-9-3", "_truth", ".staging"):
        (exports / name).mkdir()
    (exports / "2026-09-05").write_text("a file, not a folder")
    report = check_exports(exports, _home(tmp_path))
    assert report.ok
    assert [n.night for n in report.nights] == _days(2)
    assert report.ignored == [".staging/", "2026-09-05", "2026-13-01/", "2026-9-3/", "notes/"]


def test_published_nights_are_not_processed(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(5))
    home = _home(tmp_path)
    _publish(home, D1 + timedelta(days=1))
    report = check_exports(exports, home)
    assert report.last_published == D1 + timedelta(days=1)
    assert report.ok and report.run.process == _days(3, D1 + timedelta(days=2))
    assert report.run.not_processed == _days(2)
    assert [n.run for n in report.nights][:2] == ["published", "published"]
    assert report.nights[0].status == "published" and not report.nights[0].verified

    # a gap between the last published night and the first new one
    later = Home.resolve(tmp_path / "home2")
    _publish(later, D1 - timedelta(days=2))
    gap = check_exports(exports, later)
    assert gap.run.stop_at == D1 - timedelta(days=1) and gap.run.process == []
    assert gap.problems[0].rule == "missing_night"
    assert gap.problems[0].night == D1 - timedelta(days=1)

    # everything published: nothing to do, and that is not a failure
    all_done = Home.resolve(tmp_path / "home3")
    _publish(all_done, D1 + timedelta(days=4))
    done = check_exports(exports, all_done)
    assert done.ok and done.run.process == []
    assert done.run.summary.startswith("run would process no night")


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(3))
    home = tmp_path / "home"
    code, out = _check(["--exports", str(exports), "--home", str(home)])
    assert code == 0, out
    assert "run would process 3 nights, 2026-09-01 to 2026-09-03" in out

    code, out = _check(["--exports", str(exports), "--home", str(home), "--json"])
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["run"]["nights"] == 3
    assert data["first_night"] == "2026-09-01" and data["last_night"] == "2026-09-03"
    assert data["nights"][0]["rows"]["logins"] == 3
    assert data["nights"][0]["formats"] == ["csv"]

    (exports / "2026-09-02" / "manifest.json").unlink()
    code, out = _check(["--exports", str(exports), "--home", str(home), "--json"])
    assert code == 1
    data = json.loads(out)
    assert data["incomplete"] == ["2026-09-02"] and data["run"]["stop_at"] == "2026-09-02"
    assert data["problems"][0] == {
        "night": "2026-09-02", "file": "manifest.json", "column": None, "rule": "incomplete",
        "message": data["problems"][0]["message"]}

    shutil.rmtree(exports / "2026-09-02")
    code, out = _check(["--exports", str(exports), "--home", str(home)])
    assert code == 1
    assert "stop at 2026-09-02: the night is missing" in " ".join(out.split())
    code, _ = _check(["--exports", str(exports), "--home", str(home), "--skip-missing"])
    assert code == 0


def test_check_writes_nothing_in_the_home(tmp_path: Path) -> None:
    exports = _root(tmp_path, _days(2))
    home = tmp_path / "home"
    code, _ = _check(["--exports", str(exports), "--home", str(home)])
    assert code == 0
    assert not home.exists()  # no warehouse, no serving database, not even the folder

    published = Home.resolve(tmp_path / "published")
    _publish(published, D1)
    before = sorted(p.name for p in published.root.rglob("*"))
    mtime = published.serving.stat().st_mtime_ns
    code, out = _check(["--exports", str(exports), "--home", str(published.root)])
    assert code == 0 and "run would process 1 night, 2026-09-02" in out
    assert not published.warehouse.exists()
    assert sorted(p.name for p in published.root.rglob("*")) == before
    assert published.serving.stat().st_mtime_ns == mtime


def test_an_unexpected_error_is_one_night_s_problem(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import itw_radar.ingestion as ingestion

    exports = _root(tmp_path, _days(3))
    real = ingestion.verify_night

    def flaky(root: Path, night: date) -> object:
        if night == D1 + timedelta(days=1):
            raise PermissionError("[Errno 13] Permission denied: 'logins.csv'")
        return real(root, night)

    monkeypatch.setattr(ingestion, "verify_night", flaky)
    report = check_exports(exports, _home(tmp_path))
    assert not report.ok and report.run.stop_at == D1 + timedelta(days=1)
    assert [(p.rule, p.night) for p in report.problems] == [("error", D1 + timedelta(days=1))]
    assert "PermissionError" in report.problems[0].message
    assert report.nights[2].verified  # the nights after it are still checked


@pytest.mark.parametrize(("message", "where", "rule"), [
    ("Night 2026-09-01, file logins.csv, column ts: Parquet type DATE does not hold a contract "
     "timestamp", ("logins.csv", "ts"), "parquet_type"),
    ("Night 2026-09-01, file x.csv: present in the folder but not listed in the manifest; the "
     "export is corrupt", ("x.csv", None), "unlisted_file"),
    ("Night 2026-09-01, manifest.json: mode 'weekly' is neither 'full' nor 'delta'",
     ("manifest.json", None), "mode"),
    ("Night 2026-09-01, file a.csv, data row 4: has 3 fields but the header has 14; the file is "
     "truncated or malformed", ("a.csv", None), "unreadable"),
    ("something new", (None, None), "export"),
])
def test_classify(message: str, where: tuple[str | None, str | None], rule: str) -> None:
    p = classify(D1, message)
    assert (p.file, p.column, p.rule, p.message) == (*where, rule, message)
