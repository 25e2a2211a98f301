"""Run the dbt project (dbt_project/) in-process with `dbt.cli.main.dbtRunner`.

The Airflow DAG runs dbt through astronomer-cosmos; tests, benchmarks and the command line use
`run_dbt` here. The warehouse path reaches the committed profile through the environment
variable ITW_RADAR_WAREHOUSE; the night through the var `as_of_date`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

WAREHOUSE_ENV = "ITW_RADAR_WAREHOUSE"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


class DbtError(RuntimeError):
    """dbt failed: the message names the command, the night and the failing nodes."""


@dataclass
class DbtRunResult:
    command: str
    as_of: date | None
    success: bool
    failures: list[str] = field(default_factory=list)  # "node: message" per failed node
    statuses: dict[str, str] = field(default_factory=dict)  # unique_id -> status


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    with _envs({name: value}):
        yield


@contextmanager
def _envs(values: dict[str, str]) -> Iterator[None]:
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command.

    Without this, the warehouse file stays open and another connection in the same process
    (publishing, a test, the dashboard) fails with "different configuration".
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


FIX_AND_RERUN = " Fix the failing model or test, then run the night again."


def run_dbt(
    command: str | Sequence[str],
    *,
    warehouse: Path,
    as_of: date | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    extra_vars: dict[str, object] | None = None,
    project_dir: Path = PROJECT_DIR,
    target_path: Path | None = None,
    log_path: Path | None = None,
    check: bool = True,
    target: str | None = None,
    env: dict[str, str] | None = None,
) -> DbtRunResult:
    """Run a dbt command (`build`, `run`, `test`, `seed`, `docs generate`, ...) on `warehouse`.

    `as_of` is the night processed (var as_of_date; default: the latest night loaded). Raises
    DbtError naming the failing nodes when `check` and dbt did not succeed. `target` picks the
    profile's output (`spark`: the same project on Apache Spark, with `env` from
    Home.spark_env(); the default is DuckDB).
    """
    from dbt.cli.main import dbtRunner

    words = command.split() if isinstance(command, str) else list(command)
    args = [*words, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    dbt_vars: dict[str, object] = dict(extra_vars or {})
    if as_of is not None:
        dbt_vars["as_of_date"] = as_of.isoformat()
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if log_path is not None:
        args += ["--log-path", str(log_path)]
    if target is not None:
        args += ["--target", target]
    with _envs({WAREHOUSE_ENV: str(Path(warehouse).resolve()), **(env or {})}):
        try:
            res = dbtRunner().invoke(args)
        finally:
            release_duckdb()
    result = DbtRunResult(" ".join(words), as_of, bool(res.success))
    nodes = getattr(res.result, "results", None) or []
    for r in nodes:
        uid = getattr(getattr(r, "node", None), "unique_id", "?")
        status = str(getattr(r, "status", ""))
        result.statuses[uid] = status
        if status in ("error", "fail", "runtime error"):
            message = _ANSI.sub("", str(getattr(r, "message", "") or "")).strip()
            result.failures.append(f"{uid}: {message}")
    if check and not result.success:
        night = as_of.isoformat() if as_of else "the latest night"
        detail = "; ".join(result.failures[:5]) or str(res.exception or "see the dbt log")
        raise DbtError(f"dbt {result.command} failed for {night} on {warehouse}: {detail}."
                       f"{FIX_AND_RERUN}")
    return result


def batch_failure(message: str, i: int, n: int, batch: Sequence[date]) -> str:
    """A rebuild batch's dbt failure, with which batch it was and, when DuckDB ran out of
    memory or temp space, what to change: a batch computes all of its nights in each model's
    one query, so fewer nights a batch need less memory."""
    where = (f"rebuild batch {i} of {n} ({len(batch)} nights, {batch[0].isoformat()} to "
             f"{batch[-1].isoformat()})")
    if "out of memory" not in message.lower():
        return f"{where}: {message}"
    fewer = max(1, len(batch) // 2)
    message = message.removesuffix(FIX_AND_RERUN)
    return (f"{where} ran out of memory: {message} A batch that does not fit needs fewer nights: "
            f"run `itw-radar rebuild --batch-nights {fewer}` (or set {REBUILD_BATCH_ENV}), or "
            "raise ITW_RADAR_DUCKDB_MEMORY_LIMIT / ITW_RADAR_DUCKDB_MAX_TEMP. The rebuild starts "
            "again from the first night.")


REBUILD_BATCH_ENV = "ITW_RADAR_REBUILD_BATCH_NIGHTS"
CATCHUP_BATCH_ENV = "ITW_RADAR_CATCHUP_NIGHTS"  # nights per DAG run of `itw-radar run`
DEFAULT_REBUILD_BATCH = 15  # the most nights a build: measured on 100,000 accounts
# Logins a rebuild batch may hold per GB of DuckDB memory. A batch computes all of its nights in
# each model's one query, and the login windows (login_ip_burst, shared_ip, the links) are the
# largest. Measured on the 1,000,000-account platform at 4 GB (docs/orchestration.md): 3 nights a
# batch (9M logins) went through, 10 nights (30M) ran out of memory in login_ip_burst. 2.5M a GB
# gives that platform 3 nights and 100,000 accounts (300k logins a night) the 15-night maximum.
LOGINS_PER_GB = 2_500_000
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(%|[KMGT]?i?B)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass(frozen=True)
class BatchSize:
    nights: int
    reason: str  # how the size was chosen, for the rebuild's first line of output


def memory_limit_gb(text: str) -> float:
    """A DuckDB memory_limit ("4GB", "4096MiB", "80%") in GB; "%" is of this machine's memory."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"ITW_RADAR_DUCKDB_MEMORY_LIMIT={text!r}: give a size DuckDB reads, "
                         "such as 4GB, 4096MiB or 50%")
    value, unit = float(m.group(1)), (m.group(2) or "B").lower()
    if unit == "%":
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return value / 100 * total / 1e9
    return value * _UNITS[unit] / 1e9


def rebuild_batch_size(warehouse: Path | None = None) -> BatchSize:
    """Nights per build of a rebuild.

    ITW_RADAR_REBUILD_BATCH_NIGHTS when set; otherwise sized to the platform: LOGINS_PER_GB
    times the DuckDB memory limit, over the largest night's logins in raw.load_files, between
    1 and DEFAULT_REBUILD_BATCH nights.
    """
    value = nights_from_env(REBUILD_BATCH_ENV)
    if value is not None:
        return BatchSize(value, f"{REBUILD_BATCH_ENV}={value}")
    return batch_size_for_logins(_largest_night_logins(warehouse) if warehouse is not None else 0)


def nights_from_env(name: str) -> int | None:
    """A number of nights from the environment variable `name`; None when it is not set."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}={raw!r}: give a whole number of nights, at least 1 (unset: "
                         "sized from the nightly logins and the memory limit)")
    return value


def batch_size_for_logins(logins: int, most: int | None = None) -> BatchSize:
    """Nights a build for nights of up to `logins` logins: LOGINS_PER_GB times the DuckDB
    memory limit over `logins`, between 1 and `most` (DEFAULT_REBUILD_BATCH)."""
    from itw_radar.warehouse import MEMORY_LIMIT_ENV, duckdb_config

    limit = duckdb_config()["memory_limit"]
    gb = memory_limit_gb(limit)
    if logins <= 0:
        return BatchSize(DEFAULT_REBUILD_BATCH, "the default (no logins loaded)")
    most = most or DEFAULT_REBUILD_BATCH
    nights = max(1, min(most, int(LOGINS_PER_GB * gb // logins)))
    return BatchSize(nights, f"sized for {logins:,} logins on the largest night and "
                             f"{MEMORY_LIMIT_ENV}={limit}")


def _largest_night_logins(warehouse: Path) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("select max(n) from (select sum(rows_loaded) as n from raw.load_files "
                          "where table_name = 'logins' group by export_date)").fetchone()
    finally:
        con.close()
    return int(row[0] or 0) if row else 0


def loaded_nights(warehouse: Path, until: date | None = None) -> list[date]:
    """The nights in raw.load_files (up to `until`), oldest first."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select distinct export_date from raw.load_files "
            "where ? is null or export_date <= ? order by 1", [until, until]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def rebuild(
    command: str | Sequence[str],
    *,
    warehouse: Path,
    nights: Sequence[date],
    batch_nights: int | None = None,
    on_batch: Callable[[int, int, DbtRunResult], None] | None = None,
    **kwargs: Any,
) -> list[DbtRunResult]:
    """Recompute every stored result from the raw layer, a batch of nights per dbt run.

    One `--full-refresh` over all loaded nights computes every night in each model's single
    query; at months of history that outgrows memory (docs/benchmarks.md, section 3). This runs
    `command` with `--full-refresh` as of the last night of the first batch, then incrementally
    as of the last night of each following batch: every night is computed from the data known
    on that night, exactly as the nightly runs did, and the marts equal those of the nightly
    path (tests/test_bench.py checks this). `on_batch(i, n, result)` reports progress.
    """
    size = batch_nights if batch_nights is not None else rebuild_batch_size(warehouse).nights
    if size < 1:
        raise ValueError(f"batch_nights={size}: a rebuild needs at least 1 night per build")
    ordered = sorted(set(nights))
    if not ordered:
        raise DbtError(f"nothing to rebuild on {warehouse}: raw.load_files holds no night; "
                       "load a night first")
    batches = [ordered[i:i + size] for i in range(0, len(ordered), size)]
    results = []
    extra = kwargs.pop("extra_vars", None) or {}
    for i, batch in enumerate(batches):
        # The batch's data tests check every row it wrote: rows after the previous batch's night
        # (macro tested_through), not only its last night's.
        checked = batches[i - 1][-1].isoformat() if i else "1900-01-01"
        try:
            result = run_dbt(command, warehouse=warehouse, as_of=batch[-1],
                             full_refresh=i == 0,
                             extra_vars={**extra, "tested_through": checked}, **kwargs)
        except DbtError as exc:
            raise DbtError(batch_failure(str(exc), i + 1, len(batches), batch)) from exc
        results.append(result)
        if on_batch is not None:
            on_batch(i + 1, len(batches), result)
        if not result.success:  # check=False: stop at the failing batch, later ones need it
            break
    return results
