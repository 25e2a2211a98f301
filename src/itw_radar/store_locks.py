"""Opening the analysts' small DuckDB stores (review decisions, watchlists) while another
process holds them: DuckDB allows one writer per file, so a dashboard edit and a pipeline step
that reads the store wait for each other briefly instead of failing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

LOCK_RETRY_SECONDS = 10.0

T = TypeVar("T")


def is_lock_error(exc: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds it."""
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


def with_lock_retry(fn: Callable[[], T], seconds: float = LOCK_RETRY_SECONDS) -> T:
    """`fn()`, retried with backoff for up to `seconds` while the file is locked elsewhere."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        try:
            return fn()
        except duckdb.IOException as exc:
            if not is_lock_error(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@contextmanager
def store_connection(path: Path, ddl: Sequence[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection to a small store file (UTC, its tables created),
    waiting out another process's lock; closed on leaving."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = with_lock_retry(lambda: duckdb.connect(str(path)))
    try:
        con.execute("SET TimeZone = 'UTC'")
        for statement in ddl:
            con.execute(statement)
        yield con
    finally:
        con.close()
