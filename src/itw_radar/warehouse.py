"""The DuckDB warehouse: connections and the raw layer's tables (see docs/architecture.md)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from itw_radar.contract import RAW_META_COLUMNS, TABLES, Table

MEMORY_LIMIT_ENV = "ITW_RADAR_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "ITW_RADAR_DUCKDB_THREADS"
# What a query may spill to disk beyond memory_limit: a runaway query then fails with DuckDB's
# "maximum temp directory size" error instead of filling the disk.
MAX_TEMP_ENV = "ITW_RADAR_DUCKDB_MAX_TEMP"


def duckdb_config() -> dict[str, str]:
    """memory_limit and max_temp_directory_size from the environment (4GB / 40GB)."""
    return {"memory_limit": os.environ.get(MEMORY_LIMIT_ENV, "4GB"),
            "max_temp_directory_size": os.environ.get(MAX_TEMP_ENV, "40GB")}


def remove_stale_spill(path: Path) -> None:
    """Delete spill files a killed process left in `<db>.tmp/`.

    Call it when a night starts writing, right after opening the warehouse: the lock is this
    process's and no query of this night has run yet, so nothing alive is spilling there.
    """
    tmp = Path(f"{path}.tmp")
    if tmp.is_dir():
        for f in tmp.iterdir():
            if f.is_file():
                f.unlink(missing_ok=True)


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (or any project DuckDB file) with the configured memory limit."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = duckdb_config()
    if threads := os.environ.get(THREADS_ENV):
        config["threads"] = threads
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


def raw_table_ddl(table: Table) -> str:
    cols = [f'"{c.name}" {c.duckdb_type}' for c in table.columns]
    cols += [f"{name} {typ}" for name, typ in RAW_META_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS raw.{table.name} (\n  " + ",\n  ".join(cols) + "\n)"


RAW_BOOKKEEPING_DDL = (
    """CREATE TABLE IF NOT EXISTS raw.quarantine (
        export_date DATE, load_id VARCHAR, table_name VARCHAR, file_name VARCHAR,
        line BIGINT, column_name VARCHAR, rule VARCHAR, reason VARCHAR, record VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS raw.load_files (
        export_date DATE, load_id VARCHAR, table_name VARCHAR, file_name VARCHAR,
        rows_expected BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT)""",
    """CREATE TABLE IF NOT EXISTS raw.load_log (
        export_date DATE, load_id VARCHAR, step VARCHAR, status VARCHAR,
        started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_loaded BIGINT,
        rows_quarantined BIGINT, error VARCHAR, summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS raw.analyst_reviews (
        account_id VARCHAR, status VARCHAR, note VARCHAR, author VARCHAR,
        decided_at TIMESTAMPTZ)""",
    # Analysts' watchlist entries (itw_radar.watchlists.export_to_warehouse rewrites it).
    """CREATE TABLE IF NOT EXISTS raw.watchlist_entries (
        entry_id VARCHAR, list_type VARCHAR, value VARCHAR, source VARCHAR, reason VARCHAR,
        added_by VARCHAR, added_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)""",
    # When each night was first processed: analysts' decisions made before that count for it
    # (docs/detection.md, "Analysts' decisions"); re-running a night keeps its first time.
    """CREATE TABLE IF NOT EXISTS raw.night_clock (
        export_date DATE PRIMARY KEY, first_processed_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS raw.gx_results (
        export_date DATE, suite VARCHAR, expectation VARCHAR, column_name VARCHAR,
        success BOOLEAN, unexpected_count BIGINT, details VARCHAR)""",
)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every raw table if missing (idempotent).

    A warehouse created before contract 1.1 gets the 1.1 columns added to its raw tables (after
    the bookkeeping columns: the loader inserts by column name).
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table in TABLES.values():
        con.execute(raw_table_ddl(table))
    have = set(con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'raw'").fetchall())
    for table in TABLES.values():
        for c in table.columns:
            if (table.name, c.name) not in have:
                con.execute(f'ALTER TABLE raw.{table.name} ADD COLUMN "{c.name}" {c.duckdb_type}')
    for ddl in RAW_BOOKKEEPING_DDL:
        con.execute(ddl)


def log_step(
    con: duckdb.DuckDBPyConnection,
    *,
    export_date: object,
    load_id: str,
    step: str,
    status: str,
    started_at: object,
    finished_at: object,
    rows_loaded: int | None = None,
    rows_quarantined: int | None = None,
    error: str | None = None,
    summary: str | None = None,
) -> None:
    """Append one pipeline step outcome to raw.load_log (the source of `pipeline_runs`).

    `step` is one of load, validate, dbt, publish, summarise, failed; `status` success or failed.
    """
    ensure_raw_schema(con)
    con.execute(
        "INSERT INTO raw.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [export_date, load_id, step, status, started_at, finished_at, rows_loaded,
         rows_quarantined, error, summary],
    )
