"""Analysts' review decisions and the log of revealed personal data.

Decisions live in their own DuckDB file (`Home.reviews`, `<home>/reviews/reviews.duckdb`), never in
the serving file that is replaced every night. Both tables are append-only: a new decision on an
account is a new row, the latest row per account is its current status, and older rows are its
history. Every function opens a short-lived connection and closes it before returning, retrying
for a few seconds when another process (the pipeline, another dashboard) holds the file's lock.

`export_decisions_to_warehouse` copies the latest decision per account into
`raw.analyst_reviews` of the warehouse so that the next night's `account_risk` carries it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

import duckdb
import pandas as pd

from itw_radar.paths import Home
from itw_radar.store_locks import store_connection

Status = Literal["confirmed", "false_positive", "escalated", "watch"]
STATUSES: tuple[str, ...] = get_args(Status)
REVEAL_FIELDS = ("profile", "names", "contact", "documents", "payout", "messages")
MAX_NOTE_CHARS = 4000

DDL = (
    """CREATE TABLE IF NOT EXISTS decisions (
        review_id VARCHAR PRIMARY KEY, account_id VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN
            ('confirmed', 'false_positive', 'escalated', 'watch')),
        note VARCHAR, author VARCHAR NOT NULL, decided_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS reveal_log (
        account_id VARCHAR NOT NULL, field VARCHAR NOT NULL, author VARCHAR NOT NULL,
        revealed_at TIMESTAMPTZ NOT NULL)""",
)

DECISION_COLUMNS = ["review_id", "account_id", "status", "note", "author", "decided_at"]
LATEST_SQL = """
    SELECT review_id, account_id, status, note, author, decided_at FROM decisions
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY decided_at DESC, review_id DESC)
        = 1
"""


class ReviewError(ValueError):
    """A decision or reveal that cannot be recorded as given (the message says why)."""


@contextmanager
def _connect(home: Home) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection to the reviews file, created with its tables."""
    with store_connection(home.reviews, DDL) as con:
        yield con


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
           ) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _clean_text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise ReviewError(f"{what} is {len(text)} characters long; shorten it to at most {limit}.")
    return text


def record_decision(home: Home, account_id: str, status: str, note: str | None, author: str
                    ) -> str:
    """Append a decision on `account_id` and return its review_id."""
    account_id = _clean_text(account_id, "account id", 200)
    author = _clean_text(author, "author", 200)
    if not account_id:
        raise ReviewError("account id is empty; choose the account the decision is about.")
    if not author:
        raise ReviewError("author is empty; log in before recording a decision.")
    if status not in STATUSES:
        raise ReviewError(f"status {status!r} is not one of {', '.join(STATUSES)}.")
    note_text = _clean_text(note, "note", MAX_NOTE_CHARS)
    now = dt.datetime.now(dt.UTC)
    # sortable: ties on decided_at still order by the time the decision was made
    review_id = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
    with _connect(home) as con:
        con.execute(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
            [review_id, account_id, status, note_text, author, now],
        )
    return review_id


def _read(home: Home, sql: str, params: list[object] | None, columns: list[str]) -> pd.DataFrame:
    if not home.reviews.exists():
        return pd.DataFrame(columns=columns)
    with _connect(home) as con:
        return _frame(con, sql, params)


def latest_decisions(home: Home, account_ids: list[str] | None = None) -> pd.DataFrame:
    """The current decision per account (newest first); optionally only for `account_ids`."""
    sql = f"SELECT * FROM ({LATEST_SQL}) "
    params: list[object] = []
    if account_ids is not None:
        sql += "WHERE account_id IN (SELECT unnest(?)) "
        params.append(list(account_ids))
    return _read(home, sql + "ORDER BY decided_at DESC", params, DECISION_COLUMNS)


def history(home: Home, account_id: str) -> pd.DataFrame:
    """Every decision on `account_id`, newest first."""
    return _read(
        home,
        "SELECT * FROM decisions WHERE account_id = ? ORDER BY decided_at DESC, review_id DESC",
        [account_id],
        DECISION_COLUMNS,
    )


def histories(home: Home, account_ids: list[str]) -> pd.DataFrame:
    """Every decision on any of `account_ids` (one query, not one per account), ordered by
    account, newest first."""
    return _read(
        home,
        "SELECT * FROM decisions WHERE account_id IN (SELECT unnest(?)) "
        "ORDER BY account_id, decided_at DESC, review_id DESC",
        [list(account_ids)],
        DECISION_COLUMNS,
    )


def recent_decisions(home: Home, limit: int = 200) -> pd.DataFrame:
    """The newest decisions across all accounts (the audit trail), newest first."""
    return _read(home, "SELECT * FROM decisions ORDER BY decided_at DESC LIMIT ?", [int(limit)],
                 DECISION_COLUMNS)


def log_reveal(home: Home, account_id: str, field: str, author: str) -> None:
    """Record that `author` revealed `field` (personal data) of `account_id`, now."""
    if field not in REVEAL_FIELDS:
        raise ReviewError(f"field {field!r} is not one of {', '.join(REVEAL_FIELDS)}.")
    if not author.strip():
        raise ReviewError("author is empty; log in before revealing personal data.")
    with _connect(home) as con:
        con.execute(
            "INSERT INTO reveal_log VALUES (?, ?, ?, ?)",
            [account_id, field, author.strip(), dt.datetime.now(dt.UTC)],
        )


def reveals(home: Home, account_id: str | None = None, limit: int = 200) -> pd.DataFrame:
    """The reveal log, newest first; optionally for one account."""
    where, params = ("WHERE account_id = ? ", [account_id]) if account_id else ("", [])
    return _read(
        home,
        f"SELECT * FROM reveal_log {where}ORDER BY revealed_at DESC LIMIT ?",
        [*params, int(limit)],
        ["account_id", "field", "author", "revealed_at"],
    )


def reviewer_precision(home: Home, since: dt.datetime | None = None) -> pd.DataFrame:
    """Per author (and `all`): current decisions and precision = confirmed / (confirmed + FP).

    Only each account's latest decision counts; `since` keeps decisions made at or after it.
    `precision` is null where an author has neither confirmed nor rejected an account.
    """
    columns = ["author", "decided", "confirmed", "false_positive", "escalated", "watch",
               "precision"]
    sql = f"""
        WITH latest AS ({LATEST_SQL}),
        kept AS (SELECT * FROM latest WHERE ? IS NULL OR decided_at >= ?),
        per AS (
            SELECT coalesce(author, 'all') AS author, count(*) AS decided,
                count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                count(*) FILTER (WHERE status = 'false_positive') AS false_positive,
                count(*) FILTER (WHERE status = 'escalated') AS escalated,
                count(*) FILTER (WHERE status = 'watch') AS watch,
                grouping(author) AS is_total
            FROM kept GROUP BY ROLLUP (author))
        SELECT author, decided, confirmed, false_positive, escalated, watch,
            CASE WHEN confirmed + false_positive > 0
                 THEN confirmed / (confirmed + false_positive) END AS precision
        FROM per WHERE decided > 0 ORDER BY is_total, decided DESC, author
    """
    return _read(home, sql, [since, since], columns)


def export_decisions_to_warehouse(home: Home, con: duckdb.DuckDBPyConnection) -> int:
    """Replace `raw.analyst_reviews` in the warehouse `con` with each account's latest decision.

    Returns the number of rows written (0, with an empty table, when no decision exists yet).
    """
    latest = latest_decisions(home)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE OR REPLACE TABLE raw.analyst_reviews (
            account_id VARCHAR, status VARCHAR, note VARCHAR, author VARCHAR,
            decided_at TIMESTAMPTZ)"""
    )
    if latest.empty:
        return 0
    rows = latest[["account_id", "status", "note", "author", "decided_at"]]
    con.register("_itw_latest_reviews", rows)
    try:
        con.execute(
            """INSERT INTO raw.analyst_reviews
               SELECT account_id, status, note, author, CAST(decided_at AS TIMESTAMPTZ)
               FROM _itw_latest_reviews"""
        )
    finally:
        con.unregister("_itw_latest_reviews")
    return len(rows)


def stamp_nights(con: duckdb.DuckDBPyConnection, nights: Sequence[dt.date],
                 now: dt.datetime | None = None) -> None:
    """Record in raw.night_clock when each night was first processed (now), keeping the time of
    a night processed before: a decision counts for the nights first processed after it was
    made, and re-running a night reproduces what was known when it first ran. The table is
    the warehouse's (itw_radar.warehouse.ensure_raw_schema)."""
    at = now or dt.datetime.now(dt.UTC)
    con.executemany("INSERT INTO raw.night_clock VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [[n, at] for n in nights])


def reviews_path(home: Home) -> Path:
    """Where the decisions live (for messages and docs)."""
    return home.reviews
