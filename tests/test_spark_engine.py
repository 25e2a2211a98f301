"""The same dbt project on Apache Spark (issue 29): three generated nights through both engines
give the same rows.

One module-scoped run: 3 tiny nights loaded with the real loader; the raw layer written to the
Parquet lake (itw_radar.lake); dbt run night by night on DuckDB (the warehouse file) and on Spark
(`--target spark`, pyspark in this process, `local[1]`). The tables Spark wrote are read back
from its Parquet files and compared with DuckDB's, row for row.

Not on Spark yet (the port goes model by model, docs/scale-out.md): the models in
NOT_YET_ON_SPARK and everything built on them (scores, risk, marts). They are left out of both
runs, so the comparison covers what both engines build.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from itw_radar.dbt_runner import run_dbt
from itw_radar.generator import generate
from itw_radar.ingestion import load_night
from itw_radar.lake import write_warehouse_nights
from itw_radar.paths import Home

JAVA = shutil.which("java")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(JAVA is None, reason="Spark needs a Java 17 runtime on PATH "
                       "(Debian: apt-get install openjdk-17-jre-headless)"),
]

START = date(2026, 11, 1)
NIGHTS = 3
# Models whose Spark dialect is still to come, with what is missing:
NOT_YET_ON_SPARK = {
    "int_indicator__proxy_account": "names_compatible: Jaro-Winkler and strip_accents",
    "int_account_clusters": "12 rounds of label propagation as CTEs: Spark needs them cached",
}
SELECT = "path:models/staging path:models/intermediate"
EXCLUDE = " ".join(f"{m}+" for m in NOT_YET_ON_SPARK)
# Columns holding an engine's own 64-bit hash of a text (DuckDB hash, Spark xxhash64): the
# texts, shingles and pairs they lead to are compared, the numbers cannot be.
ENGINE_HASHES = {"text_hash", "shingles", "shingle"}
# int_account_activity_spells is incremental by account on DuckDB and rebuilt whole each night on
# Spark (no row deletes on Parquet): the spells are the same, the night that last wrote a row
# and the state kept from before it (for re-running that night) are not.
RUN_BOOKKEEPING = {"intermediate.int_account_activity_spells": {
    "updated_night", "prev_last_active_day", "prev_spell_start_day", "prev_dormant_before_day",
    "prev_networks_before_spell", "prev_known_networks"}}


@dataclass
class Run:
    home: Home
    duck: Path  # DuckDB's warehouse


def _dbt(command: str, run: Run, *, spark: bool, night: date | None = None) -> None:
    target = run.home.root / ("target-spark" if spark else "target-duckdb")
    run_dbt(command, warehouse=run.duck, as_of=night, target_path=target,
            log_path=target / "logs", target="spark" if spark else None,
            env=run.home.spark_env() | {"ITW_RADAR_SPARK_MASTER": "local[1]"} if spark else None)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("engines")
    exports = root / "exports"
    generate(exports, START, NIGHTS, freelancers=120, clients=50, seed=7)
    home = Home.resolve(root / "home").ensure()
    for i in range(NIGHTS):
        load_night(home, exports, START + timedelta(days=i))
    write_warehouse_nights(home.warehouse, home.lake)
    r = Run(home, home.warehouse)
    for spark in (False, True):
        _dbt("seed", r, spark=spark)
        for i in range(NIGHTS):
            _dbt(f"run --select {SELECT} --exclude {EXCLUDE}", r, spark=spark,
                 night=START + timedelta(days=i))
    yield r


def _spark_tables(run: Run) -> dict[str, Path]:
    """Spark's tables with data files: '<schema>.<table>' -> folder."""
    out = {}
    for folder in sorted((run.home.spark / "warehouse").glob("*.db/*")):
        if any(folder.rglob("*.parquet")):
            out[f"{folder.parent.name.removesuffix('.db')}.{folder.name}"] = folder
    return out


def _normalised(con: duckdb.DuckDBPyConnection, relation: str, types: dict[str, str],
                columns: list[str]) -> str:
    def one(c: str) -> str:
        t = types[c]
        if t in ("DOUBLE", "FLOAT") or t.startswith("DECIMAL"):
            return f'round("{c}"::double, 9) as "{c}"'
        if t.startswith("TIMESTAMP"):
            return f'"{c}"::timestamptz::varchar as "{c}"'
        if t.endswith("[]"):
            return f'list_sort("{c}")::varchar as "{c}"'
        return f'"{c}"::varchar as "{c}"'
    return f"select {', '.join(one(c) for c in columns)} from {relation}"


def test_spark_builds_what_duckdb_builds_with_the_same_rows(run: Run) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{run.duck}' AS d (READ_ONLY)")
    spark = _spark_tables(run)
    assert len(spark) >= 40, sorted(spark)  # 12 staging tables, base, availability, indicators
    assert "staging.stg_logins" in spark and "intermediate.int_indicator__shared_ip" in spark
    differences = {}
    for name, folder in spark.items():
        schema, table = name.split(".")
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = 'd' and table_schema = ? and table_name = ?",
            [schema, table]).fetchall())
        assert types, f"{name} is on Spark but not in DuckDB"
        files = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        spark_columns = {r[0] for r in con.execute(f"describe select * from {files}").fetchall()}
        assert spark_columns == set(types), (name, spark_columns ^ set(types))
        columns = [c for c in types
                   if c not in ENGINE_HASHES and c not in RUN_BOOKKEEPING.get(name, set())]
        a = _normalised(con, f"d.{schema}.{table}", types, columns)
        b = _normalised(con, files, types, columns)
        only_duck = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
        only_spark = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
        if only_duck or only_spark:
            differences[name] = (only_duck, only_spark,
                                 con.execute(f"({a} except all {b}) limit 2").fetchall(),
                                 con.execute(f"({b} except all {a}) limit 2").fetchall())
    assert not differences, differences
