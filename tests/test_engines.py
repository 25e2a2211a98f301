"""The engine setting and the steps it adds around a Spark build (itw_radar.engines, lake):
fast checks on real files; the builds themselves are in test_spark_engine.py and
test_dag_spark.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from itw_radar.dag_settings import DagSettings, SettingsError, cosmos_render
from itw_radar.engines import EngineError, dbt_target, engine, import_spark_marts
from itw_radar.lake import night_folder, nights_missing, write_nights
from itw_radar.pipeline import dbt_paths
from itw_radar.warehouse import connect


def test_the_engine_is_duckdb_unless_told() -> None:
    assert engine({}) == "duckdb" and dbt_target({}) == "dev"
    assert engine({"ITW_RADAR_ENGINE": " Spark "}) == "spark"
    assert dbt_target({"ITW_RADAR_ENGINE": "spark"}) == "spark"
    with pytest.raises(EngineError, match="ITW_RADAR_ENGINE='trino'.*duckdb.*spark"):
        engine({"ITW_RADAR_ENGINE": "trino"})


def test_the_dag_renders_dbt_with_the_engines_profile_target(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ITW_RADAR_ENGINE"):
        DagSettings.from_env({"ITW_RADAR_ENGINE": "presto"})
    for name, target in (("duckdb", "dev"), ("spark", "spark")):
        settings = DagSettings.from_env({"ITW_RADAR_ENGINE": name})
        assert cosmos_render(settings)["profile_config"].target_name == target


def test_the_dbt_tasks_get_the_lake_and_spark_home_of_the_runs_home(tmp_path: Path) -> None:
    paths = dbt_paths({"home": str(tmp_path / "h")})
    assert paths["lake"] == str(tmp_path / "h" / "lake")
    assert paths["spark_home"] == str(tmp_path / "h" / "spark")


def _spark_table(folder: Path, sql: str, partition: str | None = None) -> None:
    """Write Parquet the way Spark lays a table out (part files, partition folders)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").write_text("")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if partition:
        con.execute(f"COPY ({sql}) TO '{folder}' (FORMAT parquet, PARTITION_BY ({partition}), "
                    "OVERWRITE_OR_IGNORE)")
    else:
        con.execute(f"COPY ({sql}) TO '{folder / 'part-00000.parquet'}' (FORMAT parquet)")


def test_spark_marts_replace_the_warehouse_marts(tmp_path: Path) -> None:
    main = tmp_path / "spark" / "warehouse" / "main.db"
    _spark_table(main / "account_risk",
                 "SELECT 'a1' AS account_id, 42.5::DOUBLE AS risk_score, "
                 "TIMESTAMP '2026-11-02 23:00:00' AS created_at, "
                 "DATE '2026-11-02' AS as_of_date", partition="as_of_date")
    _spark_table(main / "indicators", "SELECT 'shared_ip' AS indicator_id")
    (main / "evidence_messages").mkdir()  # no rows tonight: Spark wrote no file
    wh = connect(tmp_path / "wh.duckdb")
    wh.execute("CREATE TABLE main.evidence_messages (account_id VARCHAR, sent_at TIMESTAMPTZ)")
    wh.execute("INSERT INTO main.evidence_messages VALUES ('old', now())")
    wh.execute("CREATE TABLE main.retired_mart (x INTEGER)")

    assert sorted(import_spark_marts(wh, tmp_path / "spark")) == [
        "account_risk", "evidence_messages", "indicators"]
    tables = {r[0] for r in wh.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    assert tables == {"account_risk", "evidence_messages", "indicators"}
    types = dict(wh.execute("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = 'account_risk'").fetchall())
    assert types == {"account_id": "VARCHAR", "risk_score": "DOUBLE",
                     "created_at": "TIMESTAMP WITH TIME ZONE", "as_of_date": "DATE"}
    assert wh.execute("SELECT account_id, risk_score, as_of_date, "
                      "strftime(created_at AT TIME ZONE 'UTC', '%H:%M') FROM account_risk"
                      ).fetchall() == [("a1", 42.5, date(2026, 11, 2), "23:00")]
    assert wh.execute("SELECT count(*) FROM evidence_messages").fetchone() == (0,)

    (main / "clusters").mkdir()  # no file and no earlier copy: nothing to take columns from
    with pytest.raises(EngineError, match="clusters has no data file.*--full-refresh"):
        import_spark_marts(wh, tmp_path / "spark")
    with pytest.raises(EngineError, match="Spark built no marts"):
        import_spark_marts(wh, tmp_path / "nowhere")
    wh.close()


def test_the_lake_gets_the_nights_a_duckdb_home_never_wrote(tmp_path: Path) -> None:
    from itw_radar.warehouse import ensure_raw_schema

    wh = connect(tmp_path / "wh.duckdb")
    ensure_raw_schema(wh)
    nights = [date(1999, 12, 31), date(2000, 1, 1), date(2031, 6, 30)]
    wh.executemany("INSERT INTO raw.load_files (export_date) VALUES (?)", [[d] for d in nights])
    lake = tmp_path / "lake"
    assert nights_missing(wh, lake) == nights
    write_nights(wh, lake, nights[:1])
    assert night_folder(lake, "accounts", nights[0]).is_dir()
    assert nights_missing(wh, lake) == nights[1:]
    wh.close()
