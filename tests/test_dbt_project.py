"""The dbt project on real generated nights: build (models, data tests, unit tests), the
incremental path equals --full-refresh, re-running a night changes nothing, docs generate.

One module-scoped run: 5 tiny generated nights (late and re-delivered events included) loaded
with the real loader, processed night by night with dbtRunner.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from itw_radar.dbt_runner import PROJECT_DIR, run_dbt
from itw_radar.evaluation import evaluate, format_report
from itw_radar.generator import generate
from itw_radar.ingestion import load_night
from itw_radar.paths import Home
from itw_radar.publishing import mart_differences

START = date(2026, 11, 1)
NIGHTS = 5
LAST = START + timedelta(days=NIGHTS - 1)
MARTS = sorted(p.stem for p in (PROJECT_DIR / "models" / "marts").glob("*.sql"))
SERVING_TABLES = {
    "account_risk", "account_indicator_hits", "indicators", "risk_daily", "pipeline_runs",
    "account_score_history", "account_links", "clusters", "indicator_daily", "payouts_daily",
    "evidence_logins", "evidence_messages", "account_profile", "load_files", "gx_results",
    "quarantine",
}


@dataclass
class Run:
    exports: Path
    incremental: Home
    full: Home
    rebuilt: Home
    target: Path
    logs: Path


def _dbt(command: str, run: Run, home: Home, as_of: date | None = None, **kw):
    return run_dbt(command, warehouse=home.warehouse, as_of=as_of, target_path=run.target,
                   log_path=run.logs, **kw)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("dbt")
    exports = root / "exports"
    generate(exports, START, NIGHTS, freelancers=120, clients=50, seed=7)
    inc = Home.resolve(root / "incremental")
    full = Home.resolve(root / "full")
    rebuilt = Home.resolve(root / "rebuilt")
    for i in range(NIGHTS):
        load_night(inc, exports, START + timedelta(days=i))
    for copy in (full, rebuilt):
        copy.ensure()
        shutil.copyfile(inc.warehouse, copy.warehouse)  # same raw layer, nothing built yet
    r = Run(exports, inc, full, rebuilt, root / "target", root / "logs")
    _dbt("seed", r, inc)
    for i in range(NIGHTS - 1):
        _dbt("run", r, inc, START + timedelta(days=i))
    _dbt("build", r, inc, LAST)  # models + data tests + unit tests on the last night
    yield r


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> set[str]:
    return {t for (t,) in con.execute(
        f"select table_name from information_schema.tables "
        f"where table_catalog = '{db}' and table_schema = 'main'").fetchall()}


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int, int]]:
    """Per mart: (rows in a, rows only in a, rows only in b) where the two differ."""
    return mart_differences(a, b, MARTS)


def test_marts_are_the_serving_tables(run: Run) -> None:
    assert set(MARTS) == SERVING_TABLES
    con = duckdb.connect(str(run.incremental.warehouse), read_only=True)
    try:
        assert _tables(con, "radar") >= SERVING_TABLES
        risk = con.execute("select count(*), count(distinct account_id), min(as_of_date), "
                           "max(as_of_date) from main.account_risk").fetchone()
        accounts = con.execute("select count(distinct account_id) from raw.accounts").fetchone()
        assert risk[0] == risk[1] == accounts[0]  # every account scored, clients included
        assert risk[2] == risk[3] == LAST
        nights = con.execute("select count(distinct as_of_date) from main.risk_daily").fetchone()
        assert nights[0] == NIGHTS
        hits = con.execute("select count(*), count(distinct indicator_id) "
                           "from main.account_indicator_hits").fetchone()
        assert hits[0] > 0 and hits[1] >= 5
        reasons = con.execute("select reasons from main.account_risk "
                              "order by risk_score desc limit 1").fetchone()[0]
        assert any(ch.isdigit() for ch in reasons)  # the evidence carries its numbers
    finally:
        con.close()


def test_full_refresh_equals_incremental(run: Run) -> None:
    _dbt("seed", run, run.full)
    _dbt("run", run, run.full, LAST, full_refresh=True)
    assert _differences(run.incremental.warehouse, run.full.warehouse) == {}


def test_rebuild_in_batches_equals_incremental_and_publishes(run: Run) -> None:
    """`itw-radar rebuild`: a full refresh replayed 2 nights per dbt build (3 builds for 5)."""
    from typer.testing import CliRunner

    from itw_radar.cli import app
    from itw_radar.publishing import published_night

    res = CliRunner().invoke(app, ["rebuild", "--home", str(run.rebuilt.root),
                                   "--batch-nights", "2"])
    assert res.exit_code == 0, res.output
    assert res.output.count("built (as of") == 3, res.output
    assert "batch 3/3 built (as of 2026-11-05)" in res.output
    assert _differences(run.incremental.warehouse, run.rebuilt.warehouse) == {}
    assert published_night(run.rebuilt.serving) == LAST


def test_rebuild_without_a_warehouse_says_what_to_do(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from itw_radar.cli import app

    res = CliRunner().invoke(app, ["rebuild", "--home", str(tmp_path / "empty")])
    assert res.exit_code != 0
    assert "no warehouse" in res.output and "itw-radar run" in res.output


def test_rebuild_batch_out_of_memory_says_which_batch_and_what_to_change(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real DuckDB out-of-memory (20 MB, 1 MB of spill) in `itw-radar rebuild`."""
    from typer.testing import CliRunner

    from itw_radar.cli import app

    home = Home.resolve(tmp_path / "small").ensure()
    shutil.copyfile(run.rebuilt.warehouse, home.warehouse)
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MEMORY_LIMIT", "20MB")
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MAX_TEMP", "1MB")
    res = CliRunner().invoke(app, ["rebuild", "--home", str(home.root), "--batch-nights", "4",
                                   "--no-publish"])
    assert res.exit_code != 0
    out = " ".join(res.output.split())
    assert "rebuild batch 1 of 2 (4 nights, 2026-11-01 to 2026-11-04) ran out of memory" in out
    assert "itw-radar rebuild --batch-nights 2" in out
    assert "run the night again" not in out


def _published_before_last(run: Run, tmp_path: Path) -> tuple[Path, date]:
    """A copy of the incremental warehouse whose night before LAST is logged as published (its
    rows count as checked by the data tests), and that night."""
    wh = tmp_path / "radar.duckdb"
    shutil.copyfile(run.incremental.warehouse, wh)
    prev = LAST - timedelta(days=1)
    con = duckdb.connect(str(wh))
    try:
        con.execute("insert into raw.load_log (export_date, step, status) "
                    "values (?, 'publish', 'success')", [prev])
    finally:
        con.close()
    return wh, prev


def _test_result(wh: Path, tmp_path: Path, select: str, test_prefix: str,
                 **kw: object) -> tuple[str, str]:
    """`dbt test --select <select>` on night LAST: the status of the test whose id starts with
    `test_prefix`, and the run's failure messages."""
    home = Home.resolve(tmp_path / "home")
    res = run_dbt(f"test --select {select}", warehouse=wh, as_of=LAST,
                  target_path=home.root / "target", log_path=home.root / "logs",
                  check=False, **kw)
    uid = next(u for u in res.statuses if u.startswith(test_prefix))
    return res.statuses[uid], " ".join(res.failures)


def test_uniqueness_of_new_rows_catches_what_a_whole_table_check_would(
        run: Run, tmp_path: Path) -> None:
    """stg_logins.login_id (test unique_new_rows): once night LAST - 1 is published, a night-LAST
    row repeating a checked row fails, and so does a repeat among night LAST's own rows. A repeat
    between two checked nights was caught on its own night; a rebuild batch, which has checked
    nothing yet, passes tested_through 1900-01-01 and catches it too."""
    wh, prev = _published_before_last(run, tmp_path)
    con = duckdb.connect(str(wh))
    try:
        copy = ("insert into staging.stg_logins select * replace (cast(? as date) as export_date) "
                "from staging.stg_logins where export_date = ? order by login_id limit 1")
        con.execute(copy, [LAST, prev])  # tonight repeats a checked row
        con.execute(copy, [LAST, LAST])  # tonight repeats one of its own
    finally:
        con.close()

    def check(**kw: object) -> tuple[str, str]:
        return _test_result(wh, tmp_path, "stg_logins",
                            "test.itw_radar.unique_new_rows_stg_logins_login_id__export_date", **kw)

    status, failures = check()
    assert status == "fail" and "Got 2 results" in failures, failures
    con = duckdb.connect(str(wh))
    try:
        con.execute("delete from staging.stg_logins where export_date = ?", [LAST])
        con.execute(copy, [prev - timedelta(days=1), prev])  # two checked nights repeat
    finally:
        con.close()
    assert check()[0] == "pass"
    assert check(extra_vars={"tested_through": "1900-01-01"})[0] == "fail"


def test_uniqueness_of_new_rows_keyed_by_their_night(run: Run, tmp_path: Path) -> None:
    """int_account_day_activity's key holds its night column (unique_new_rows reads only the
    new rows then): a repeat among tonight's rows fails; one among a checked night's rows was
    caught on its own night, and a rebuild batch (tested_through 1900-01-01) catches it."""
    wh, prev = _published_before_last(run, tmp_path)
    repeat = ("insert into intermediate.int_account_day_activity select * "
              "from intermediate.int_account_day_activity where export_date = ? "
              "order by account_id, activity_day limit 1")

    def check(**kw: object) -> str:
        return _test_result(wh, tmp_path, "int_account_day_activity",
                            "test.itw_radar.unique_new_rows_int_account_day_activity_", **kw)[0]

    con = duckdb.connect(str(wh))
    try:
        con.execute(repeat, [prev])  # a checked night repeats one of its rows
    finally:
        con.close()
    assert check() == "pass"
    assert check(extra_vars={"tested_through": "1900-01-01"}) == "fail"
    con = duckdb.connect(str(wh))
    try:
        con.execute(repeat, [LAST])  # tonight repeats one of its own
    finally:
        con.close()
    assert check() == "fail"


def test_not_null_columns_counts_the_nulls_of_every_column(run: Run, tmp_path: Path) -> None:
    """One not_null_columns test per model checks all its listed columns in one query: a null in
    any of them fails it with the nulls counted, and a `where` window (the history marts: the
    last week) leaves older rows out."""
    wh, _ = _published_before_last(run, tmp_path)

    def check(model: str) -> tuple[str, str]:
        return _test_result(wh, tmp_path, model, f"test.itw_radar.not_null_columns_{model}_")

    assert check("stg_logins")[0] == "pass"
    con = duckdb.connect(str(wh))
    try:
        con.execute("update staging.stg_logins set account_id = null where login_id in "
                    "(select login_id from staging.stg_logins order by login_id limit 2)")
        con.execute("update staging.stg_logins set export_date = null where login_id = "
                    "(select max(login_id) from staging.stg_logins)")
        # a row older than the week the history marts are checked over
        con.execute("insert into main.account_score_history select * replace "
                    "(cast(? as date) as as_of_date, null as risk_score) "
                    "from main.account_score_history limit 1", [LAST - timedelta(days=10)])
    finally:
        con.close()
    status, failures = check("stg_logins")
    assert status == "fail" and "Got 3 results" in failures, failures
    assert check("account_score_history")[0] == "pass"
    con = duckdb.connect(str(wh))
    try:
        con.execute("update main.account_score_history set risk_score = null "
                    "where as_of_date = ? and account_id = (select min(account_id) "
                    "from main.account_score_history where as_of_date = ?)", [LAST, LAST])
    finally:
        con.close()
    assert check("account_score_history")[0] == "fail"


def test_rerunning_a_night_changes_nothing(run: Run, tmp_path: Path) -> None:
    before = tmp_path / "before.duckdb"
    shutil.copyfile(run.incremental.warehouse, before)
    _dbt("run", run, run.incremental, LAST)
    assert _differences(before, run.incremental.warehouse) == {}



def test_a_night_that_stores_nothing_still_moves_the_incremental_bound(
        run: Run, tmp_path: Path) -> None:
    """A running table whose night column is sparse (document pairs: most nights find none)
    starts the next night after the last night processed, not after its own latest row: else
    every night compares every document delivered since the last pair found again."""
    import re

    night = LAST + timedelta(days=1)
    run_dbt(["compile", "--select", "int_document_version_pairs"],
            warehouse=run.incremental.warehouse, as_of=night,
            target_path=tmp_path / "target", log_path=tmp_path / "logs")
    sql = next((tmp_path / "target").glob("compiled/**/int_document_version_pairs.sql")).read_text()
    bound = re.search(r"where export_date > (\(select greatest\(.*?\) from [^)]*\))", sql, re.S)
    assert bound, sql
    con = duckdb.connect(str(run.incremental.warehouse), read_only=True)
    try:
        latest_row = con.execute(
            "select max(found_night) from intermediate.int_document_version_pairs").fetchone()[0]
        assert con.execute(f"select {bound.group(1)}").fetchone()[0] == LAST
    finally:
        con.close()
    # the case the test is about: the table's latest row is older than the last night
    assert latest_row is None or latest_row < LAST


def test_evidence_logins_slides_its_window_like_a_rebuild(run: Run, tmp_path: Path) -> None:
    """28 nights on, the incremental evidence_logins deletes the days and the accounts that left
    its 30-night window (its post-hook) and equals the same model built from scratch."""
    later = LAST + timedelta(days=28)  # window: LAST - 1 .. later
    slid, fresh = tmp_path / "slid.duckdb", tmp_path / "fresh.duckdb"
    for copy in (slid, fresh):
        shutil.copyfile(run.incremental.warehouse, copy)
    for copy, full in ((slid, False), (fresh, True)):
        res = run_dbt("run --select evidence_logins", warehouse=copy, as_of=later,
                      target_path=run.target, log_path=run.logs, full_refresh=full)
        assert res.success
        if not full:  # the night it held came from the table's comment: no login_id anti-join,
            # and its new rows are read by delivery night, day and newly flagged account
            sql = (run.target / "compiled" / "itw_radar" / "models" / "marts"
                   / "evidence_logins.sql").read_text()
            assert f"l.export_date > date '{LAST}'" in sql and "not exists" not in sql
            assert "not flagged.flagged_on_stored_night" in sql
    con = duckdb.connect(str(run.incremental.warehouse), read_only=True)
    try:
        before = con.execute("select count(*), count(*) filter (where login_day < ?) "
                             "from main.evidence_logins", [LAST - timedelta(days=1)]).fetchone()
    finally:
        con.close()
    con = duckdb.connect(str(slid), read_only=True)
    try:
        after = con.execute("select count(*), count(*) filter (where login_day < ?) "
                            "from main.evidence_logins", [LAST - timedelta(days=1)]).fetchone()
        assert con.execute("select comment from duckdb_tables() where table_name = "
                           "'evidence_logins'").fetchone()[0] == f"evidence as of {later}"
    finally:
        con.close()
    assert before[1] > 0 and after[1] == 0 and 0 < after[0] < before[0], (before, after)
    assert mart_differences(slid, fresh, ["evidence_logins"]) == {}

def test_docs_generate(run: Run) -> None:
    _dbt("docs generate", run, run.incremental, LAST)
    assert (run.target / "catalog.json").is_file()
    assert (run.target / "manifest.json").is_file()


# Tests that may read a whole incremental table: not_null_columns filters `<column> is null`,
# which DuckDB answers from row-group statistics; unique_new_rows groups only the rows after the
# last tested night. And tables that do not grow with history: evidence_logins holds 30 nights,
# indicator_daily and risk_daily a few rows a night.
_WHOLE_TABLE_OK = {"not_null_columns", "unique_new_rows"}
_BOUNDED_TABLES = {"evidence_logins", "indicator_daily", "risk_daily"}


def test_data_tests_on_growing_tables_read_a_window(run: Run) -> None:
    """A night's data tests cost what the night delivered, not the history: every test over a
    table that grows night by night (an incremental model) reads a `{night}` window."""
    manifest = json.loads((run.target / "manifest.json").read_text())
    incremental = {uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"
                   and n["config"]["materialized"] == "incremental"}
    unbounded = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        model = node["attached_node"] or ""
        if (model not in incremental or node["test_metadata"]["name"] in _WHOLE_TABLE_OK
                or model.split(".")[-1] in _BOUNDED_TABLES):
            continue
        if "{night}" not in (node["config"].get("where") or ""):
            unbounded.append(node["name"])
    assert len(incremental) >= 10
    assert unbounded == [], f"data tests that read a whole growing table every night: {unbounded}"


def test_evaluate_reads_the_marts(run: Run) -> None:
    report = evaluate(run.exports / "_truth" / "labels.csv", run.incremental.warehouse)
    assert report.accounts == 170 and report.dprk_accounts > 0
    assert 0.0 <= report.pr_auc <= 1.0
    assert report.lookalikes and report.dprk_scenarios
    text = format_report(report)
    assert "tier high" in text and "PR-AUC" in text
