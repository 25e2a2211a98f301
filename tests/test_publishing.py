"""Publishing and the DAG's task logic on real DuckDB files (no Airflow, no dbt: fast).

The warehouse here is built by hand with the marts' contract columns; tests/test_pipeline_e2e.py
runs the same code through the real DAG, dbt project and generated exports.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from itw_radar import pipeline
from itw_radar.paths import Home
from itw_radar.publishing import (
    OUTPUT_CONTRACT,
    PIPELINE_RUNS_SQL,
    PublishError,
    check_serving,
    publish,
    published_night,
    remove_stale_temporaries,
)
from itw_radar.warehouse import connect, ensure_raw_schema, log_step

N1 = date(2026, 11, 1)
N2 = date(2026, 11, 2)
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build_marts(home: Home, night: date, high: int = 1, drop: str | None = None) -> None:
    """What dbt leaves in the warehouse's main schema after a night (contract columns+)."""
    con = connect(home.warehouse)
    try:
        ensure_raw_schema(con)
        d = night.isoformat()
        con.execute(f"""CREATE OR REPLACE TABLE account_risk AS
            SELECT 'acc_' || i AS account_id, 'freelancer' AS account_type,
                   DATE '{d}' AS as_of_date,
                   CASE WHEN i < {high} THEN 90.0 ELSE 10.0 END AS risk_score,
                   CASE WHEN i < {high} THEN 'high' ELSE 'none' END AS risk_tier,
                   CASE WHEN i < {high} THEN 3 ELSE 0 END AS indicators_fired,
                   'evidence' AS reasons, NULL::VARCHAR AS cluster_id,
                   i < {high} AS is_new_high
            FROM range(5) t(i)""")
        con.execute(f"""CREATE OR REPLACE TABLE account_indicator_hits AS
            SELECT 'acc_0' AS account_id, DATE '{d}' AS as_of_date, 'shared_ip' AS indicator_id,
                   30.0 AS points, '4 accounts on one IP' AS evidence""")
        con.execute("""CREATE OR REPLACE TABLE indicators AS
            SELECT 'shared_ip' AS indicator_id, 'Shared IP' AS name, 'd' AS description,
                   'ROK 2022' AS source, 0.3 AS weight""")
        con.execute(f"""CREATE OR REPLACE TABLE risk_daily AS
            SELECT DATE '{d}' AS as_of_date, risk_tier, count(*) AS accounts,
                   0 AS new_accounts FROM account_risk GROUP BY ALL""")
        con.execute("CREATE OR REPLACE TABLE pipeline_runs AS SELECT 1 AS stale_dbt_copy")
        if drop:
            con.execute(f"DROP TABLE {drop}")
    finally:
        con.close()


def _log_night(home: Home, night: date, start: datetime, rows: int = 100, quarantined: int = 2
               ) -> None:
    con = connect(home.warehouse)
    try:
        log_step(con, export_date=night, load_id="", step="verify", status="success",
                 started_at=start, finished_at=start + timedelta(seconds=1))
        log_step(con, export_date=night, load_id=f"{night}-abc", step="load", status="success",
                 started_at=start + timedelta(seconds=2), finished_at=start + timedelta(seconds=3),
                 rows_loaded=rows, rows_quarantined=quarantined)
        log_step(con, export_date=night, load_id=f"{night}-abc", step="validate",
                 status="success", started_at=start + timedelta(seconds=4),
                 finished_at=start + timedelta(seconds=5))
    finally:
        con.close()


def _runs(path: Path) -> dict[date, tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT export_date, status, rows_loaded, rows_quarantined, error, summary "
            "FROM pipeline_runs").fetchall()}
    finally:
        con.close()


def _warehouse_runs(home: Home) -> dict[date, tuple]:
    con = connect(home.warehouse, read_only=True)
    try:
        sql = PIPELINE_RUNS_SQL.format(log="raw.load_log")
        return {r[0]: r[1:] for r in con.execute(
            f"SELECT export_date, status, rows_loaded, error FROM ({sql})").fetchall()}
    finally:
        con.close()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home").ensure()


def test_publish_copies_every_mart_and_marks_the_night_published(home: Home) -> None:
    _build_marts(home, N1)
    _log_night(home, N1, T0)
    path = publish(home, N1, dbt_started_at=T0 + timedelta(seconds=6), load_id=f"{N1}-abc")

    assert path == home.serving
    assert check_serving(path) == []
    assert published_night(path) == N1
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert set(OUTPUT_CONTRACT) <= tables
        assert con.execute("SELECT count(*) FROM account_risk").fetchone()[0] == 5
    finally:
        con.close()
    status, loaded, quarantined, error, summary = _runs(path)[N1]
    assert (status, loaded, quarantined, error) == ("success", 100, 2, None)
    info = json.loads(summary)
    assert info["accounts_per_tier"] == {"high": 1, "medium": 0, "low": 0, "none": 4}
    assert info["new_high_risk_accounts"] == 1
    assert info["new_high_risk_sample"] == ["acc_0"]
    con = connect(home.warehouse, read_only=True)
    try:
        steps = [r[0] for r in con.execute(
            "SELECT step FROM raw.load_log WHERE export_date = ? ORDER BY started_at, step",
            [N1]).fetchall()]
    finally:
        con.close()
    assert steps == ["verify", "load", "validate", "dbt", "publish"]
    assert not list(home.serving_dir.glob(".radar.*"))


def test_a_failed_publish_leaves_the_previous_file_byte_identical(home: Home) -> None:
    _build_marts(home, N1)
    _log_night(home, N1, T0)
    publish(home, N1)
    before = _digest(home.serving)

    _build_marts(home, N2, drop="account_risk")
    _log_night(home, N2, T0 + timedelta(days=1))
    with pytest.raises(PublishError, match="no mart account_risk"):
        publish(home, N2)

    assert _digest(home.serving) == before
    assert published_night(home.serving) == N1
    assert not list(home.serving_dir.glob(".radar.*"))


def test_a_reader_keeps_the_old_night_while_the_new_file_is_swapped_in(home: Home) -> None:
    _build_marts(home, N1)
    _log_night(home, N1, T0)
    publish(home, N1)
    reader = duckdb.connect(str(home.serving), read_only=True)
    try:
        _build_marts(home, N2, high=3)
        _log_night(home, N2, T0 + timedelta(days=1))
        publish(home, N2)
        old = reader.execute("SELECT max(as_of_date), count(*) FILTER (WHERE risk_tier = 'high')"
                             " FROM account_risk").fetchone()
    finally:
        reader.close()
    assert old == (N1, 1)
    assert published_night(home.serving) == N2
    assert set(_runs(home.serving)) == {N1, N2}


def test_half_written_files_of_killed_nights_are_removed(home: Home) -> None:
    stale = home.serving_dir / ".radar.2026-11-01.dead.duckdb.tmp"
    stale.write_bytes(b"half a database")
    keep = home.serving_dir / "notes.txt"
    keep.write_text("mine")
    assert remove_stale_temporaries(home) == [stale]
    assert not stale.exists() and keep.exists()


def test_pipeline_runs_follow_the_latest_attempt_of_each_night(home: Home) -> None:
    _build_marts(home, N1)
    _log_night(home, N1, T0)
    publish(home, N1)
    assert _warehouse_runs(home)[N1] == ("success", 100, None)

    # A re-delivery of N1 fails at verify: the night is failed and says why, no rows loaded.
    msg = "night 2026-11-01: file logins.csv: sha256 differs from the manifest"
    pipeline.record_failure(home, N1, "verify_manifest", msg)
    assert _warehouse_runs(home)[N1] == ("failed", 0, msg)

    # A later good attempt (verify, load, ...) makes it a success again.
    _log_night(home, N1, datetime.now(UTC) + timedelta(seconds=1), rows=120)
    assert _warehouse_runs(home)[N1] == ("success", 120, None)


def test_a_failure_after_loading_keeps_the_attempts_row_counts(home: Home) -> None:
    start = T0
    _log_night(home, N2, start, rows=77, quarantined=1)
    line = pipeline.record_failure(home, N2, "validate", "night 2026-11-02: GX failed",
                                   attempt_started_at=start.isoformat())
    assert line.startswith(f"{pipeline.PAGER_PREFIX} night=2026-11-02 task=validate: ")
    # A second task failing in the same attempt does not add a second failure row.
    pipeline.record_failure(home, N2, "summarise", "other", attempt_started_at=start.isoformat())
    assert _warehouse_runs(home)[N2] == ("failed", 77, "night 2026-11-02: GX failed")
    con = connect(home.warehouse, read_only=True)
    try:
        failed = con.execute("SELECT count(*) FROM raw.load_log WHERE step = 'failed'"
                             ).fetchone()[0]
    finally:
        con.close()
    assert failed == 1
    assert pipeline.last_failure(home, N2) == "night 2026-11-02: GX failed"


def test_failure_text_is_one_sentence_naming_the_cause(home: Home, tmp_path: Path) -> None:
    cfg = pipeline.NightConfig(home, tmp_path / "exports", N1)
    timeout = pipeline.failure_text(
        "wait_for_manifest", TimeoutError("Sensor has timed out; run duration of 21601 seconds "
                                          "exceeds the specified timeout of 21600.0."),
        cfg, "2026-11-01")
    assert timeout.startswith("night 2026-11-01: the export never arrived after waiting 6.0 h")
    assert str(cfg.manifest) in timeout

    passthrough = pipeline.failure_text(
        "verify_manifest", ValueError("night 2026-11-01: file a.csv:\n bad  checksum"), cfg,
        "2026-11-01")
    assert passthrough == "night 2026-11-01: file a.csv: bad checksum"

    target = pipeline.dbt_target(home)
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.itw_radar.account_risk", "status": "success", "message": "OK"},
        {"unique_id": "test.itw_radar.unique_account_risk_account_id.1a2b", "status": "fail",
         "message": "Got 2 results, configured to fail if != 0"},
    ]}))
    dbt = pipeline.failure_text("dbt_build.account_risk.test", RuntimeError("dbt failed"), cfg,
                                "2026-11-01")
    assert dbt.startswith("night 2026-11-01: dbt build failed, nothing was published: test "
                          "unique_account_risk_account_id")
    assert "Got 2 results" in dbt
    # run_results.json from before this attempt is not this night's failure.
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    stale = pipeline.failure_text("dbt_build.dbt_producer_watcher", RuntimeError("exit 1"), cfg,
                                  "2026-11-01", later)
    assert "dbt_producer_watcher: exit 1" in stale


def test_night_config_reads_params_then_environment(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pipeline.EXPORTS_ENV, raising=False)
    with pytest.raises(pipeline.ConfigError, match="ITW_RADAR_EXPORTS"):
        pipeline.night_config({}, "2026-11-01")
    monkeypatch.setenv(pipeline.EXPORTS_ENV, str(tmp_path / "env-exports"))
    monkeypatch.setenv("ITW_RADAR_HOME", str(tmp_path / "env-home"))
    cfg = pipeline.night_config({"exports": "", "home": ""}, "2026-11-01")
    assert cfg.exports == (tmp_path / "env-exports").resolve()
    assert cfg.home.root == (tmp_path / "env-home").resolve()
    cfg = pipeline.night_config({"exports": str(tmp_path / "p"), "home": str(tmp_path / "h")},
                                "2026-11-02")
    assert (cfg.exports, cfg.home.root) == ((tmp_path / "p").resolve(), (tmp_path / "h").resolve())
    assert cfg.manifest == (tmp_path / "p").resolve() / "2026-11-02" / "manifest.json"
    assert not pipeline.manifest_ready(cfg)
    cfg.folder.mkdir(parents=True)
    cfg.manifest.write_text("{}")
    assert pipeline.manifest_ready(cfg)


def test_dbt_paths_match_the_homes_the_other_tasks_use(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The dbt tasks' environment (template macro itw_radar_dbt_paths) names the warehouse, dbt
    target, lake and Spark home of the same home that night_config gives every other task."""
    monkeypatch.setenv(pipeline.EXPORTS_ENV, str(tmp_path / "exports"))
    monkeypatch.setenv("ITW_RADAR_HOME", str(tmp_path / "env-home"))
    for params in ({}, {"home": ""}, {"home": str(tmp_path / "param-home")}):
        home = pipeline.night_config(params, "2026-11-01").home
        assert pipeline.dbt_paths(params) == {
            "warehouse": str(home.warehouse), "dbt_target": str(pipeline.dbt_target(home)),
            "lake": str(home.lake), "spark_home": str(home.spark)}
    assert pipeline.dbt_paths({"home": str(tmp_path / "param-home")})["warehouse"].startswith(
        str((tmp_path / "param-home").resolve()))
    assert pipeline.dbt_paths(None)["warehouse"].startswith(str((tmp_path / "env-home").resolve()))


def test_summary_line_reads_like_a_sentence() -> None:
    line = pipeline.summary_line({
        "export_date": "2026-11-03", "rows_loaded": 12345, "rows_quarantined": 7,
        "accounts_per_tier": {"high": 2, "medium": 10, "low": 30, "none": 100},
        "new_high_risk_accounts": 2, "new_high_risk_sample": ["acc_1", "acc_2"]})
    assert line == ("2026-11-03: 12,345 rows loaded, 7 quarantined; accounts by tier: high 2, "
                    "medium 10, low 30, none 100; 2 new high-risk accounts (acc_1, acc_2)")


def test_check_serving_names_what_breaks_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "bad.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE account_risk AS SELECT 'a' AS account_id, 150.0 AS risk_score, "
                "'severe' AS risk_tier")
    con.close()
    problems = check_serving(path)
    assert "table indicators is missing" in problems
    assert any(p.startswith("table account_risk lacks column(s) account_type") for p in problems)
    assert any("risk_tier outside" in p for p in problems)
    assert any("risk_score outside 0..100" in p for p in problems)
    assert check_serving(tmp_path / "absent.duckdb") == [f"{tmp_path / 'absent.duckdb'} does not "
                                                         "exist"]
    os.remove(path)


def _add_history(home: Home, night: date, evidence_days: int = 3, hit_points: float = 30.0
                 ) -> None:
    """Grow the warehouse like a nightly dbt run: one more slice in each history mart, the
    evidence logins of the last `evidence_days` days (older ones leave the window)."""
    con = connect(home.warehouse)
    try:
        d = night.isoformat()
        con.execute("CREATE TABLE IF NOT EXISTS account_score_history (as_of_date DATE, "
                    "account_id VARCHAR, risk_score DOUBLE)")
        con.execute("DELETE FROM account_score_history WHERE as_of_date = ?", [night])
        con.execute(f"""INSERT INTO account_score_history
            SELECT DATE '{d}', 'acc_' || i, i * 7.5 FROM range(5) t(i)""")
        con.execute(f"""CREATE OR REPLACE TABLE account_indicator_hits AS
            SELECT * FROM (SELECT * FROM account_indicator_hits WHERE as_of_date < DATE '{d}')
            UNION ALL SELECT 'acc_0', DATE '{d}', 'shared_ip', {hit_points}, 'IP on {d}'""")
        con.execute(f"""CREATE OR REPLACE TABLE evidence_logins AS
            SELECT 'acc_0' AS account_id, 'login_' || strftime(day, '%Y%m%d') AS login_id,
                   day::TIMESTAMP AS ts
            FROM range(DATE '{d}' - {evidence_days - 1}, DATE '{d}' + 1, INTERVAL 1 DAY)
                 t(day)""")
    finally:
        con.close()


def _publish_logged(home: Home, night: date, caplog: pytest.LogCaptureFixture,
                    **kw: object) -> str:
    caplog.clear()
    with caplog.at_level("INFO", logger="itw_radar.publishing"):
        publish(home, night, **kw)
    return "\n".join(r.getMessage() for r in caplog.records)


def _same_as_a_fresh_publish(home: Home, night: date, tmp: Path) -> dict:
    """Differences between the published file and one written afresh from the warehouse."""
    from itw_radar.publishing import mart_differences

    kept = tmp / "incremental.duckdb"
    kept.write_bytes(home.serving.read_bytes())
    publish(home, night, incremental=False)
    tables = [t for t in ("account_risk", "account_indicator_hits", "account_score_history",
                          "evidence_logins", "indicators", "risk_daily")]
    return mart_differences(kept, home.serving, tables)


def test_a_night_updates_a_copy_of_the_published_file(home: Home, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    _build_marts(home, N1)
    _add_history(home, N1)
    _log_night(home, N1, T0)
    assert "written from scratch" in _publish_logged(home, N1, caplog)

    _build_marts(home, N2, high=2)
    _add_history(home, N2)
    _log_night(home, N2, T0 + timedelta(days=1))
    said = _publish_logged(home, N2, caplog)
    assert f"updated from night {N1}" in said
    assert f"account_score_history: nights after {N1}" in said
    assert "evidence_logins: rows gained and lost" in said
    assert "account_risk: whole" in said
    # risk_daily of _build_marts holds only the new night: its stored night is gone, so whole
    assert "risk_daily: whole" in said
    con = duckdb.connect(str(home.serving), read_only=True)
    try:
        assert con.execute("SELECT as_of_date, count(*) FROM account_score_history "
                           "GROUP BY 1 ORDER BY 1").fetchall() == [(N1, 5), (N2, 5)]
        assert con.execute("SELECT min(ts)::DATE, max(ts)::DATE, count(*) "
                           "FROM evidence_logins").fetchone() == (N2 - timedelta(days=2), N2, 3)
    finally:
        con.close()
    assert set(_runs(home.serving)) == {N1, N2}
    assert check_serving(home.serving) == []
    assert _same_as_a_fresh_publish(home, N2, tmp_path) == {}


def test_a_rebuilt_history_mart_is_copied_whole(home: Home, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _build_marts(home, N1)
    _add_history(home, N1)
    _log_night(home, N1, T0)
    publish(home, N1)
    # A changed model rebuilt night 1 (same rows, other points), then night 2 ran.
    con = connect(home.warehouse)
    try:
        con.execute("UPDATE account_indicator_hits SET points = 45.0")
    finally:
        con.close()
    _add_history(home, N2)
    _log_night(home, N2, T0 + timedelta(days=1))
    said = _publish_logged(home, N2, caplog)
    assert "account_indicator_hits: whole" in said
    assert f"account_score_history: nights after {N1}" in said
    assert _same_as_a_fresh_publish(home, N2, tmp_path) == {}


def test_the_history_marts_are_the_projects_per_night_incremental_marts() -> None:
    from itw_radar.dbt_runner import PROJECT_DIR
    from itw_radar.publishing import HISTORY_MARTS

    # incremental by night on as_of_date: config(**night_incremental('as_of_date', ...))
    # (macros/engines.sql: delete+insert on DuckDB, night partitions on Spark)
    per_night = sorted(
        p.stem for p in (PROJECT_DIR / "models" / "marts").glob("*.sql")
        if "night_incremental('as_of_date'" in p.read_text())
    assert per_night == sorted(HISTORY_MARTS)
