"""The raw layer as Hive-partitioned Parquet, which Spark reads (docs/architecture.md, engines).

DuckDB keeps the raw layer in the warehouse file (`raw.*`), which only DuckDB opens. To run the
same dbt project on Apache Spark, the loaded rows are also written as open files both engines
read without an extension or a download:

    <lake>/<table>/night=YYYY-MM-DD/part-0.parquet   one folder per contract table and night
    <lake>/<bookkeeping table>/part-0.parquet               the small pipeline tables, whole

A night's folders are written from the warehouse after the night is loaded, so the Parquet holds
exactly the typed, de-duplicated rows the DuckDB models read; rewriting a night replaces its
folder. Every table gets a file on every night, empty when the night sent none (an optional
table the platform does not send), so that its schema is always readable. Spark sees the
folders as external tables partitioned by `night` (the dbt macro `register_raw_lake`), and the
raw tables the models read as views that call it `_export_date` again (a Hive metastore cannot
filter partitions on a name that starts with `_`); DuckDB reads them with
`read_parquet(..., hive_partitioning = true)`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb

from itw_radar.contract import TABLES

LAKE_ENV = "ITW_RADAR_LAKE"
PARTITION = "night"  # the folder key; the rows' _export_date
# The pipeline's own tables in raw: small, rewritten whole each night.
BOOKKEEPING_TABLES = ("load_files", "load_log", "gx_results", "quarantine", "night_clock",
                      "analyst_reviews", "watchlist_entries")


def night_folder(lake: Path, table: str, night: date) -> Path:
    return lake / table / f"{PARTITION}={night.isoformat()}"


def _copy(con: duckdb.DuckDBPyConnection, query: str, params: list[object], dest: Path) -> int:
    """Write one query's rows to dest/part-0.parquet, replacing the folder atomically; returns
    the number of rows written."""
    tmp = dest.with_name(f".{dest.name}.writing")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    target = str(tmp / "part-0.parquet").replace("'", "''")
    rows = con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)",
                       params).fetchone()[0]
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return rows


def write_nights(con: duckdb.DuckDBPyConnection, lake: Path, nights: Iterable[date]) -> int:
    """Write the raw rows of `nights` (and the bookkeeping tables) from an open warehouse.

    Returns the number of contract-table rows written.
    """
    rows = 0
    for night in nights:
        for name in TABLES:
            dest = night_folder(lake, name, night)
            rows += _copy(con, f"SELECT * EXCLUDE (_export_date) FROM raw.{name} "
                                "WHERE _export_date = ?", [night], dest)
    for name in BOOKKEEPING_TABLES:
        _copy(con, f"SELECT * FROM raw.{name}", [], lake / name / "all")
    return rows


def nights_missing(con: duckdb.DuckDBPyConnection, lake: Path) -> list[date]:
    """The nights the warehouse has loaded (raw.load_files) that the lake has no folder for: a
    home that ran on DuckDB before it switched to Spark."""
    loaded = [d for (d,) in con.execute(
        "SELECT DISTINCT export_date FROM raw.load_files ORDER BY 1").fetchall()]
    first = next(iter(TABLES))
    return [d for d in loaded if not night_folder(lake, first, d).is_dir()]


def write_warehouse_nights(
    warehouse: Path, lake: Path, nights: Iterable[date] | None = None
) -> int:
    """Write `nights` (default: every night in raw.load_files) of a warehouse into the lake."""
    from itw_radar.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        if nights is None:
            nights = [d for (d,) in con.execute(
                "SELECT DISTINCT export_date FROM raw.load_files ORDER BY 1").fetchall()]
        return write_nights(con, lake, list(nights))
    finally:
        con.close()
