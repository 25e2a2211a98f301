"""Analysts open the serving database with DuckDB clients older than the one that writes it.

Publishing writes the file in SERVING_STORAGE_VERSION, on the fresh path and on the incremental
one (which starts from a copy of the published file); the `duckdb` CLI the project installs
(duckdb-cli, a 1.x release that cannot read DuckDB 2.0's own format) opens it, and so do
`itw-radar sql` and the dashboard's reader. The warehouse here is built by hand, as in
tests/test_publishing.py, with a column of every type the real marts publish.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from itw_radar import cli
from itw_radar.paths import Home
from itw_radar.publishing import SERVING_STORAGE_VERSION, publish, storage_version
from itw_radar.warehouse import connect, ensure_raw_schema, log_step

N1 = date(2026, 11, 1)
N2 = date(2026, 11, 2)
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
BIN = Path(sys.executable).parent
DUCKDB_CLI = BIN / "duckdb"
ITW_RADAR = BIN / "itw-radar"
ACCOUNTS = 7

needs_cli = pytest.mark.skipif(not DUCKDB_CLI.exists(),
                               reason=f"no {DUCKDB_CLI}: the duckdb-cli package is not installed")


def _build_night(home: Home, night: date) -> None:
    """The contract marts after `night`, with the types the real marts use (DECIMAL, TIMESTAMPTZ,
    BOOLEAN, INTEGER, BIGINT, DOUBLE, DATE, VARCHAR), and the night's log rows."""
    con = connect(home.warehouse)
    try:
        ensure_raw_schema(con)
        d = night.isoformat()
        con.execute(f"""CREATE OR REPLACE TABLE account_risk AS
            SELECT 'acc_' || i AS account_id, 'freelancer' AS account_type,
                   DATE '{d}' AS as_of_date, CASE WHEN i = 0 THEN 90.0 ELSE 10.0 END AS risk_score,
                   CASE WHEN i = 0 THEN 'high' ELSE 'none' END AS risk_tier,
                   (i % 3)::INTEGER AS indicators_fired, 'reason ' || i AS reasons,
                   NULL::VARCHAR AS cluster_id, i = 0 AS is_new_high,
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_days(i::INTEGER) AS created_at,
                   (i * 12.3456)::DECIMAL(18, 4) AS payout_usd
            FROM range({ACCOUNTS}) t(i)""")
        # A history mart: one slice per night, kept by the incremental path.
        con.execute("CREATE TABLE IF NOT EXISTS account_indicator_hits (account_id VARCHAR, "
                    "as_of_date DATE, indicator_id VARCHAR, points DOUBLE, evidence VARCHAR)")
        con.execute(f"DELETE FROM account_indicator_hits WHERE as_of_date = DATE '{d}'")
        con.execute(f"INSERT INTO account_indicator_hits VALUES "
                    f"('acc_0', DATE '{d}', 'shared_ip', 30.0, 'IP on {d}')")
        con.execute("""CREATE OR REPLACE TABLE indicators AS
            SELECT 'shared_ip' AS indicator_id, 'Shared IP' AS name, 'd' AS description,
                   'ROK 2022' AS source, 0.3 AS weight""")
        con.execute("CREATE TABLE IF NOT EXISTS risk_daily (as_of_date DATE, risk_tier VARCHAR, "
                    "accounts BIGINT, new_accounts BIGINT)")
        con.execute(f"DELETE FROM risk_daily WHERE as_of_date = DATE '{d}'")
        con.execute("INSERT INTO risk_daily SELECT as_of_date, risk_tier, count(*), 0 "
                    "FROM account_risk GROUP BY ALL")
        start = T0 + timedelta(days=(night - N1).days)
        log_step(con, export_date=night, load_id=f"{night}-a", step="load", status="success",
                 started_at=start, finished_at=start + timedelta(seconds=1), rows_loaded=10,
                 rows_quarantined=0)
    finally:
        con.close()


def _cli_count(path: Path, table: str = "account_risk") -> int:
    """count(*) of `table` read by the project's duckdb CLI (read-only), in a subprocess."""
    out = subprocess.run([str(DUCKDB_CLI), "-readonly", str(path), "-csv", "-noheader", "-c",
                          f"select count(*) from {table}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home").ensure()


@needs_cli
def test_the_cli_is_older_than_the_writer_and_reads_the_published_file(home: Home) -> None:
    cli_version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True,
                                 text=True, timeout=60).stdout
    assert cli_version.startswith("v1."), cli_version  # what makes this test mean something
    assert duckdb.__version__.startswith("2.")

    _build_night(home, N1)
    path = publish(home, N1)
    assert storage_version(path) == SERVING_STORAGE_VERSION + "+"
    assert _cli_count(path) == ACCOUNTS
    assert _cli_count(path, "pipeline_runs") == 1


@needs_cli
def test_the_incremental_path_keeps_the_storage_version(home: Home,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    _build_night(home, N1)
    publish(home, N1)
    _build_night(home, N2)
    with caplog.at_level(logging.INFO, logger="itw_radar.publishing"):
        path = publish(home, N2)
    assert f"updated from night {N1}" in caplog.text  # the copy of the N1 file, not a new one
    assert storage_version(path) == SERVING_STORAGE_VERSION + "+"
    assert _cli_count(path, "account_indicator_hits") == 2
    assert _cli_count(path, "pipeline_runs") == 2


@needs_cli
def test_a_file_in_duckdb_2_format_is_rewritten_not_copied(home: Home,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    """A serving file published before the storage version was set (DuckDB 2.0's own format)
    cannot be lowered in place: the next night writes a new file the older clients read."""
    _build_night(home, N1)
    publish(home, N1)
    old = home.serving.with_name("old.duckdb")
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{home.serving}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{old}' AS b")  # DuckDB 2.0's default format
        con.execute("COPY FROM DATABASE a TO b")
    finally:
        con.close()
    os.replace(old, home.serving)
    assert storage_version(home.serving) != SERVING_STORAGE_VERSION + "+"

    _build_night(home, N2)
    with caplog.at_level(logging.INFO, logger="itw_radar.publishing"):
        path = publish(home, N2)
    assert "written from scratch" in caplog.text
    assert storage_version(path) == SERVING_STORAGE_VERSION + "+"
    assert _cli_count(path, "pipeline_runs") == 2


def test_the_dashboard_still_reads_the_file(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from dashboard import data

    _build_night(home, N1)
    publish(home, N1)
    snap = data.snapshot(home)
    assert snap is not None
    frame = data._fetch(snap, "SELECT count(*) AS n, max(as_of_date) AS night FROM account_risk",
                        ())
    assert int(frame.n[0]) == ACCOUNTS
    assert frame.night[0].date() == N1


@needs_cli
def test_itw_radar_sql_runs_one_query_on_the_serving_file(home: Home) -> None:
    _build_night(home, N1)
    publish(home, N1)
    out = subprocess.run([str(ITW_RADAR), "sql", "--home", str(home.root), "-c",
                          "select count(*) as n from account_risk"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(ACCOUNTS) in out.stdout
    # Read-only: a write is refused and the exit status says so.
    out = subprocess.run([str(ITW_RADAR), "sql", "--home", str(home.root), "-c",
                          "create table t (i int)"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "read-only" in (out.stdout + out.stderr).lower()


def test_itw_radar_sql_names_what_is_missing(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    res = runner.invoke(cli.app, ["sql", "--home", str(home.root), "-c", "select 1"])
    assert res.exit_code == 1
    assert "no serving database" in " ".join(res.output.split())

    _build_night(home, N1)
    publish(home, N1)
    monkeypatch.setattr(cli, "duckdb_shell", lambda: None)
    res = runner.invoke(cli.app, ["sql", "--home", str(home.root), "-c", "select 1"])
    assert res.exit_code == 1
    assert "uv pip install duckdb-cli" in " ".join(res.output.split())


def test_itw_radar_sql_passes_the_query_to_the_shell(home: Home,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _build_night(home, N1)
    publish(home, N1)
    calls: list[list[str]] = []

    def fake_run(args: list[str], check: bool) -> subprocess.CompletedProcess:
        calls.append(args)
        return subprocess.CompletedProcess(args, 3)

    monkeypatch.setattr(cli, "duckdb_shell", lambda: "/opt/duckdb")
    monkeypatch.setattr(subprocess, "run", fake_run)
    res = CliRunner().invoke(cli.app, ["sql", "--home", str(home.root), "-c", "select 'a b'"])
    assert res.exit_code == 3  # the shell's exit status
    assert calls == [["/opt/duckdb", "-readonly", str(home.serving), "-c", "select 'a b'"]]
    CliRunner().invoke(cli.app, ["sql", "--home", str(home.root)])
    assert calls[-1] == ["/opt/duckdb", "-readonly", str(home.serving)]  # interactive
