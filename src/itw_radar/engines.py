"""The engine that runs the dbt project: DuckDB (the default) or Apache Spark.

    ITW_RADAR_ENGINE=duckdb   dbt's `dev` target builds everything in the warehouse file
    ITW_RADAR_ENGINE=spark    dbt's `spark` target (dbt-spark) builds from the raw layer as
                              Parquet (itw_radar.lake) into Spark's tables

The rest of the night is the same for both: the loader and Great Expectations work on the
warehouse's raw layer, and the dashboard reads one serving DuckDB file. With Spark, two steps
are added (docs/scale-out.md): before dbt, the run's nights and the pipeline's bookkeeping
tables are written to the lake (`itw_radar.lake.write_nights`); after dbt, Spark's marts are
read back from their Parquet files into the warehouse's `main` schema (`import_spark_marts`),
from where publishing writes the serving file exactly as it does after a DuckDB build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import duckdb

ENGINE_ENV = "ITW_RADAR_ENGINE"
ENGINES = ("duckdb", "spark")
# dbt_project/profiles.yml: the target each engine runs
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}


class EngineError(ValueError):
    """The engine setting, or what an engine built, cannot be used."""


def engine(env: Mapping[str, str] | None = None) -> str:
    """ITW_RADAR_ENGINE, validated: 'duckdb' (default) or 'spark'."""
    value = (os.environ if env is None else env).get(ENGINE_ENV, "").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise EngineError(f"{ENGINE_ENV}={value!r}: give duckdb (the default) or spark")
    return value


def check_engine(env: Mapping[str, str] | None = None) -> str:
    """The configured engine, once it can run here: Spark needs a Java runtime on PATH."""
    name = engine(env)
    if name == "spark" and shutil.which("java") is None:
        raise EngineError("ITW_RADAR_ENGINE=spark needs a Java 17 runtime on PATH for pyspark "
                          "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless)")
    return name


def dbt_target(env: Mapping[str, str] | None = None) -> str:
    """The dbt profile target of the configured engine."""
    return DBT_TARGETS[engine(env)]


def _lit(text: str) -> str:
    return text.replace("'", "''")


def spark_marts(spark_home: Path) -> dict[str, Path]:
    """Spark's marts (dbt's `main` schema): table name -> its folder."""
    schema = spark_home / "warehouse" / "main.db"
    return {p.name: p for p in sorted(schema.iterdir()) if p.is_dir()} if schema.is_dir() else {}


def import_spark_marts(con: duckdb.DuckDBPyConnection, spark_home: Path) -> list[str]:
    """Replace the warehouse's marts (`main`) with the tables Spark's dbt build wrote.

    Each table is read from its Parquet files, partition folders included; Spark's timestamps
    become TIMESTAMPTZ in UTC, as the DuckDB build types them. A partitioned table with no
    rows has no file: it keeps the columns the warehouse already has, emptied. Marts Spark no
    longer builds are dropped. Returns the imported tables' names.
    """
    marts = spark_marts(spark_home)
    if not marts:
        raise EngineError(f"Spark built no marts under {spark_home / 'warehouse' / 'main.db'}; "
                          "run the night's dbt build with the spark target first")
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'").fetchall()}
    for name, folder in marts.items():
        t = '"' + name.replace('"', '""') + '"'
        if not any(folder.rglob("*.parquet")):
            if name not in existing:
                raise EngineError(
                    f"Spark's mart {name} has no data file and the warehouse no earlier copy "
                    f"to take its columns from ({folder}); rebuild it with `dbt build --select "
                    f"{name} --full-refresh` on the spark target")
            con.execute(f"CREATE OR REPLACE TABLE main.{t} AS SELECT * FROM main.{t} LIMIT 0")
            continue
        files = (f"read_parquet('{_lit(str(folder))}/**/*.parquet', hive_partitioning = true, "
                 "union_by_name = true)")
        # Spark writes its timestamps (instants, session time zone UTC) as Parquet INT96,
        # which DuckDB reads as TIMESTAMP: back to TIMESTAMPTZ, as the DuckDB build has them
        columns = con.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()
        exprs = ", ".join(
            f"timezone('UTC', \"{c}\") AS \"{c}\"" if kind == "TIMESTAMP" else f'"{c}"'
            for c, kind, *_ in columns)
        con.execute(f"CREATE OR REPLACE TABLE main.{t} AS SELECT {exprs} FROM {files}")
    for name in sorted(existing - set(marts)):
        con.execute(f'DROP TABLE main."{name}"')
    return list(marts)
