"""itw-radar run waits for a warehouse lock left by an interrupted night, then names its holder.

A night killed while dbt ran can leave that dbt process holding DuckDB's lock until it ends;
these tests hold the lock from a real second process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from itw_radar.orchestration import OrchestrationError, wait_for_warehouse


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(float(sys.argv[2]))", str(db), str(seconds)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_waits_until_the_holder_exits(tmp_path: Path) -> None:
    db = tmp_path / "radar.duckdb"
    duckdb.connect(str(db)).close()
    holder = _hold_lock(db, 3)
    lines: list[str] = []
    wait_for_warehouse(db, timeout=120, echo=lines.append)
    assert len(lines) == 1 and f"process {holder.pid}" in lines[0]  # it met the lock and waited
    # DuckDB frees the lock while the holder's interpreter shuts down, so the process may still
    # be exiting when the wait returns (seen on a loaded machine): it ends, it is not killed
    assert holder.wait(timeout=30) == 0
    duckdb.connect(str(db)).close()  # and the warehouse opens for writing


def test_names_the_holder_when_it_does_not_exit(tmp_path: Path) -> None:
    db = tmp_path / "radar.duckdb"
    duckdb.connect(str(db)).close()
    holder = _hold_lock(db, 60)
    try:
        with pytest.raises(OrchestrationError) as err:
            wait_for_warehouse(db, timeout=1, echo=lambda _line: None)
        message = str(err.value)
        assert f"locked by process {holder.pid}" in message
        assert f"kill {holder.pid}" in message and "run the night again" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_missing_warehouse_is_not_created(tmp_path: Path) -> None:
    wait_for_warehouse(tmp_path / "absent.duckdb", timeout=0)
    assert not (tmp_path / "absent.duckdb").exists()


def test_release_freed_memory_hands_arrow_pages_back() -> None:
    """`itw-radar run` runs every task in one process, which then waits beside the dbt build:
    what the loader and GX freed must leave its resident memory before dbt starts."""
    import numpy as np
    import psutil
    import pyarrow as pa

    from itw_radar.pipeline import release_freed_memory

    me = psutil.Process()
    texts = pa.array(np.arange(20_000_000, dtype=np.int64)).cast(pa.string())  # ~230 MB
    assert texts.nbytes > 200 * 2**20
    del texts
    held = me.memory_info().rss
    release_freed_memory()
    assert me.memory_info().rss < held - 150 * 2**20
