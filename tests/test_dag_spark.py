"""The nightly DAG on either engine, chosen by configuration (issue 29): the same two generated
nights through the real DAG (`run_nights` -> `dag.test()`, cosmos, GX, publishing), once with
the default DuckDB build and once with ITW_RADAR_ENGINE=spark (`local[1]`), publish the same
serving database for the dashboard.

With Spark, sync_reviews writes the nights to the Parquet lake, cosmos runs `dbt build` with the
profile's spark target, and publish reads Spark's marts back (itw_radar.engines).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from itw_radar.generator import generate
from itw_radar.orchestration import run_nights
from itw_radar.paths import Home
from itw_radar.publishing import check_serving, mart_tables

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(shutil.which("java") is None,
                       reason="Spark needs a Java 17 runtime on PATH "
                              "(Debian: apt-get install openjdk-17-jre-headless)"),
]

N1, N2 = date(2026, 11, 1), date(2026, 11, 2)
# Provenance, not results: when a step ran and the random id of each load.
VOLATILE = {"load_id", "started_at", "finished_at", "summary", "loaded_at", "run_at",
            "validated_at", "first_processed_at", "data_docs"}


def _rows(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple]:
    cols = [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
        "table_schema = 'main' AND table_name = ? ORDER BY column_name", [db, table]).fetchall()
        if c not in VOLATILE]
    exprs = ", ".join(f'round("{c}", 9)' if t in ("DOUBLE", "FLOAT") else f'"{c}"::varchar'
                      for c, t in con.execute(
                          "SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ? "
                          "ORDER BY column_name", [db, table]).fetchall() if c in cols)
    return sorted(con.execute(f'SELECT {exprs} FROM {db}.main."{table}"').fetchall(),
                  key=repr)


def _run(root: Path, exports: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> Home:
    home = Home.resolve(root / engine)
    with monkeypatch.context() as m:
        m.setenv("ITW_RADAR_ENGINE", engine)
        m.setenv("ITW_RADAR_SPARK_MASTER", "local[1]")
        lines: list[str] = []
        results = run_nights(home, exports, N1, N2, echo=lines.append)
    assert [r.status for r in results] == ["success", "success"], lines
    return home


def test_the_dag_publishes_the_same_marts_from_either_engine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exports = tmp_path / "exports"
    generate(exports, N1, 2, freelancers=120, clients=50, seed=11)
    duck = _run(tmp_path, exports, monkeypatch, "duckdb")
    spark = _run(tmp_path, exports, monkeypatch, "spark")

    # Spark built it: the raw layer in the lake, the marts in Spark's tables
    assert (spark.lake / "logins" / f"night={N2}").is_dir()
    assert (spark.spark / "warehouse" / "main.db" / "account_risk").is_dir()
    assert not duck.lake.exists()
    assert check_serving(spark.serving) == []

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("ATTACH ? AS d (READ_ONLY)", [str(duck.serving)])
    con.execute("ATTACH ? AS s (READ_ONLY)", [str(spark.serving)])
    tables = mart_tables(con, "d")
    assert mart_tables(con, "s") == tables
    assert con.execute("SELECT count(*) FROM s.main.account_risk "
                       "WHERE as_of_date = ?", [N2]).fetchone()[0] > 100
    differ = {t: (len(a), len(b)) for t in tables
              if (a := _rows(con, "d", t)) != (b := _rows(con, "s", t))}
    assert differ == {}
