"""How many nights `itw-radar rebuild` puts in one dbt build, from a real warehouse's
raw.load_files and the DuckDB memory limit (the build itself: tests/test_dbt_project.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from itw_radar.dbt_runner import (
    DEFAULT_REBUILD_BATCH,
    REBUILD_BATCH_ENV,
    memory_limit_gb,
    rebuild_batch_size,
)
from itw_radar.warehouse import connect, ensure_raw_schema


def _warehouse(tmp_path: Path, logins_per_night: list[list[int]]) -> Path:
    """raw.load_files with one row per logins file (a night may arrive in several parts)."""
    path = tmp_path / "radar.duckdb"
    con = connect(path)
    try:
        ensure_raw_schema(con)
        for i, parts in enumerate(logins_per_night):
            night = date(2026, 11, 1) + timedelta(days=i)
            for j, rows in enumerate(parts):
                con.execute("INSERT INTO raw.load_files VALUES (?, 'l', 'logins', ?, ?, ?, 0)",
                            [night, f"logins-{j}.csv", rows, rows])
            con.execute("INSERT INTO raw.load_files VALUES (?, 'l', 'accounts', 'a.csv', ?, ?, 0)",
                        [night, 10**7, 10**7])  # other tables do not size the batch
    finally:
        con.close()
    return path


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REBUILD_BATCH_ENV, raising=False)
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MEMORY_LIMIT", "4GB")


def test_a_million_account_platform_gets_the_batch_that_fitted(tmp_path: Path) -> None:
    """3M logins a night at 4 GB: 3 nights a build (3 fitted there, 10 ran out of memory)."""
    size = rebuild_batch_size(_warehouse(tmp_path, [[2_900_000], [1_600_000, 1_400_000]]))
    assert size.nights == 3
    assert "3,000,000 logins" in size.reason and "ITW_RADAR_DUCKDB_MEMORY_LIMIT=4GB" in size.reason


def test_a_smaller_platform_keeps_the_most_nights(tmp_path: Path) -> None:
    assert rebuild_batch_size(_warehouse(tmp_path, [[300_000]] * 4)).nights == DEFAULT_REBUILD_BATCH


def test_the_batch_follows_the_memory_limit_and_never_drops_below_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = _warehouse(tmp_path, [[3_000_000]])
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MEMORY_LIMIT", "12GB")
    assert rebuild_batch_size(wh).nights == 10
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MEMORY_LIMIT", "500MB")
    assert rebuild_batch_size(wh).nights == 1


def test_the_environment_overrides_the_sizing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = _warehouse(tmp_path, [[3_000_000]])
    monkeypatch.setenv(REBUILD_BATCH_ENV, "7")
    assert rebuild_batch_size(wh).nights == 7
    monkeypatch.setenv(REBUILD_BATCH_ENV, "none")
    with pytest.raises(ValueError, match=REBUILD_BATCH_ENV):
        rebuild_batch_size(wh)


def test_an_empty_warehouse_uses_the_default(tmp_path: Path) -> None:
    assert rebuild_batch_size(_warehouse(tmp_path, [])).nights == DEFAULT_REBUILD_BATCH


@pytest.mark.parametrize(("text", "gb"), [("4GB", 4.0), ("4096MiB", 4.294967296),
                                          ("500 mb", 0.5), ("1.5GiB", 1.610612736)])
def test_memory_limits_read_as_duckdb_reads_them(text: str, gb: float) -> None:
    assert memory_limit_gb(text) == pytest.approx(gb)


def test_an_unreadable_memory_limit_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="such as 4GB"):
        memory_limit_gb("four gigs")
