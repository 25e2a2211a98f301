"""The dashboard's one data-access module: parameterised, cached queries on the serving database.

- The serving file (`<home>/serving/radar.duckdb`) is opened read-only, through a fresh in-memory
  DuckDB that ATTACHes it, for one query at a time; no connection outlives a query (a read-only
  connection still holds a lock, and the file is replaced every night).
- Query *results* are cached (`st.cache_data`) under a key that includes the file's inode, mtime
  and size (`Snapshot`), so a newly published night shows on the next rerun without a restart.
- Each script run takes one `Snapshot` (`begin_run`) and every query of that run reads that
  snapshot: if the file was replaced in between, `ServingReplaced` is raised and the app reruns on
  the new night, so a page never mixes two nights.
- Every value from the user goes in through `?` placeholders; the only SQL fragments chosen at run
  time come from fixed whitelists in this module (sort columns, directions).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import streamlit as st

from itw_radar import reviews
from itw_radar.paths import Home

TIERS = ("high", "medium", "low", "none")
FLAGGED_TIERS = ("high", "medium", "low")
UNREVIEWED = "unreviewed"
REVIEW_FILTER_VALUES = (*reviews.STATUSES, UNREVIEWED)
EXPORT_MAX_ROWS = 200_000
CACHE_TTL_SECONDS = 3600
_SNAPSHOT_KEY = "_itw_serving_snapshot"


class NoServingDatabase(RuntimeError):
    """No night has been published yet under this home."""


class ServingReplaced(RuntimeError):
    """The serving file was replaced during this script run; rerun to read the new night."""


class Snapshot(NamedTuple):
    """One published version of the serving file (part of every cache key)."""

    path: str
    inode: int
    mtime_ns: int
    size: int


def home() -> Home:
    return Home.resolve()


def snapshot(at: Home | None = None) -> Snapshot | None:
    """The serving file's current version, or None when nothing has been published yet."""
    path = (at or home()).serving
    try:
        st_ = os.stat(path)
    except FileNotFoundError:
        return None
    return Snapshot(str(path), st_.st_ino, st_.st_mtime_ns, st_.st_size)


def begin_run() -> Snapshot | None:
    """Take the snapshot that every query of this script run reads; call once per run."""
    snap = snapshot()
    st.session_state[_SNAPSHOT_KEY] = snap
    return snap


def current() -> Snapshot:
    """This run's snapshot (raises NoServingDatabase when nothing is published)."""
    snap = st.session_state.get(_SNAPSHOT_KEY) or begin_run()
    if snap is None:
        raise NoServingDatabase(
            f"No serving database at {home().serving}: run the pipeline "
            "(`itw-radar run --exports DIR --from DATE --to DATE`) to publish a night."
        )
    return snap


def _fetch(snap: Snapshot, sql: str, params: tuple[Any, ...],
           frames: tuple[tuple[str, pd.DataFrame], ...] = ()) -> pd.DataFrame:
    """Run one query on `snap` in a short-lived connection; retry once if the file moves."""
    last: Exception | None = None
    for attempt in range(2):
        con = duckdb.connect(":memory:", config={"threads": "2", "memory_limit": "1GB"})
        try:
            con.execute("SET TimeZone = 'UTC'")
            try:
                con.execute("ATTACH ? AS serving (READ_ONLY)", [snap.path])
            except (duckdb.IOException, duckdb.CatalogException) as exc:
                last = exc  # being replaced right now: try once more
                time.sleep(0.2)
                continue
            try:
                now = os.stat(snap.path).st_ino
            except FileNotFoundError:
                now = -1
            if now != snap.inode:
                raise ServingReplaced(snap.path)
            con.execute("USE serving")
            for name, frame in frames:
                con.register(name, frame)
            return con.execute(sql, [list(p) if isinstance(p, tuple) else p for p in params]).df()
        except duckdb.IOException as exc:
            last = exc
            if attempt == 0:
                time.sleep(0.2)
        finally:
            con.close()
    raise RuntimeError(f"could not read the serving database {snap.path}: {last}") from last


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=1024, show_spinner=False)
def query(snap: Snapshot, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """A cached query result for this snapshot (lists go in as tuples)."""
    return _fetch(snap, sql, params)


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=256, show_spinner=False)
def query_with_reviews(snap: Snapshot, sql: str, params: tuple[Any, ...],
                       live: pd.DataFrame) -> pd.DataFrame:
    """Like `query`, with the analysts' current decisions available as table `live_reviews`."""
    return _fetch(snap, sql, params, (("live_reviews", live),))


# --- reviews (their own small file, read fresh each run) ------------------------------------

def live_reviews() -> pd.DataFrame:
    """account_id, status, author of each account's latest decision (typed even when empty)."""
    frame = reviews.latest_decisions(home())
    out = frame[["account_id", "status", "author"]].reset_index(drop=True)
    return out.astype({"account_id": "string", "status": "string", "author": "string"})


# --- overview -------------------------------------------------------------------------------

def nights(snap: Snapshot) -> list[dt.date]:
    frame = query(snap, "SELECT DISTINCT as_of_date FROM risk_daily ORDER BY 1")
    return [pd.Timestamp(d).date() for d in frame["as_of_date"]]


def as_of(snap: Snapshot) -> dt.date | None:
    frame = query(snap, "SELECT max(as_of_date) AS d FROM account_risk")
    value = frame["d"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def tier_counts(snap: Snapshot) -> pd.DataFrame:
    """risk_tier, accounts tonight, accounts the night before, new_accounts tonight."""
    return query(snap, """
        WITH n AS (SELECT DISTINCT as_of_date FROM risk_daily ORDER BY 1 DESC LIMIT 2),
        t AS (SELECT max(as_of_date) AS tonight, min(as_of_date) AS before FROM n)
        SELECT tier.risk_tier,
          coalesce(max(r.accounts) FILTER (WHERE r.as_of_date = t.tonight), 0) AS tonight,
          coalesce(max(r.accounts) FILTER (
            WHERE r.as_of_date = t.before AND t.before < t.tonight), 0) AS before,
          coalesce(max(r.new_accounts) FILTER (WHERE r.as_of_date = t.tonight), 0)
            AS new_accounts
        FROM (SELECT unnest(['high', 'medium', 'low', 'none']) AS risk_tier) tier
        CROSS JOIN t
        LEFT JOIN risk_daily r ON r.risk_tier = tier.risk_tier
        GROUP BY tier.risk_tier
        ORDER BY list_position(['high', 'medium', 'low', 'none'], tier.risk_tier)""")


def new_high(snap: Snapshot, limit: int = 50) -> pd.DataFrame:
    return query(snap, """
        SELECT account_id, risk_score, previous_tier, indicators_fired, reasons, cluster_id,
          country
        FROM account_risk WHERE is_new_high ORDER BY risk_score DESC, account_id LIMIT ?""",
        (int(limit),))


def high_risk_payouts(snap: Snapshot, days: int = 30) -> pd.DataFrame:
    """Total and per-night payouts in the last `days` nights to accounts high risk tonight."""
    return query(snap, """
        WITH last AS (SELECT max(as_of_date) AS d FROM payouts_daily)
        SELECT p.as_of_date, sum(p.payout_usd)::DOUBLE AS payout_usd,
          count(DISTINCT p.account_id) AS accounts
        FROM payouts_daily p JOIN account_risk a USING (account_id), last
        WHERE a.risk_tier = 'high' AND p.as_of_date > last.d - ?
        GROUP BY 1 ORDER BY 1""", (int(days),))


def tier_trend(snap: Snapshot) -> pd.DataFrame:
    return query(snap, """
        SELECT as_of_date, risk_tier, accounts, new_accounts FROM risk_daily
        WHERE risk_tier <> 'none' ORDER BY as_of_date, risk_tier""")


def indicator_trend(snap: Snapshot) -> pd.DataFrame:
    return query(snap, """
        SELECT d.as_of_date, d.indicator_id, coalesce(i.name, d.indicator_id) AS name,
          d.accounts
        FROM indicator_daily d LEFT JOIN indicators i USING (indicator_id)
        ORDER BY d.as_of_date, d.indicator_id""")


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=16, show_spinner=False)
def alert_digest(snap: Snapshot) -> tuple[str, str]:
    """(title, body) of the published night's alert digest, as the DAG's `alert` task sends it
    (ids, scores, reasons, links; no personal data)."""
    from pathlib import Path

    from itw_radar import alerts

    return alerts.format_digest(alerts.night_digest(Path(snap.path)))


def pipeline_runs(snap: Snapshot, limit: int = 400) -> pd.DataFrame:
    return query(snap, """
        SELECT export_date, status, started_at, finished_at, rows_loaded, rows_quarantined,
          error, summary
        FROM pipeline_runs ORDER BY export_date DESC, started_at DESC LIMIT ?""", (int(limit),))


def indicators(snap: Snapshot) -> pd.DataFrame:
    return query(snap, """
        SELECT indicator_id, name, description, source, weight, thresholds, evidence_class,
          data_status
        FROM indicators ORDER BY weight DESC, indicator_id""")


# --- flagged accounts -----------------------------------------------------------------------

SORTS: dict[str, str] = {
    "risk score": "a.risk_score",
    "indicators fired": "a.indicators_fired",
    "account age": "a.account_age_days",
    "account id": "a.account_id",
    "country": "a.country",
    "cluster": "a.cluster_id",
}
DIRECTIONS = {"descending": "DESC", "ascending": "ASC"}


@dataclass(frozen=True)
class FlagFilters:
    tiers: tuple[str, ...] = FLAGGED_TIERS
    indicators: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    hits_from: dt.date | None = None  # keep accounts with a hit (of `indicators`) in range
    hits_to: dt.date | None = None
    review_statuses: tuple[str, ...] = ()  # values of REVIEW_FILTER_VALUES
    search: str = ""


def like_pattern(text: str) -> str:
    """`%text%` with LIKE wildcards in the user's text escaped (used with ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _flagged_where(f: FlagFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.tiers:
        clauses.append("list_contains(?::VARCHAR[], a.risk_tier)")
        params.append(list(f.tiers))
    if f.countries:
        clauses.append("list_contains(?::VARCHAR[], a.country)")
        params.append(list(f.countries))
    if f.categories:
        clauses.append("list_has_any(string_split(coalesce(a.categories, ''), ','), ?::VARCHAR[])")
        params.append(list(f.categories))
    if f.indicators or f.hits_from or f.hits_to:
        clauses.append("""EXISTS (SELECT 1 FROM account_indicator_hits h
            WHERE h.account_id = a.account_id
              AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], h.indicator_id))
              AND (?::DATE IS NULL OR h.as_of_date >= ?::DATE)
              AND (?::DATE IS NULL OR h.as_of_date <= ?::DATE))""")
        inds = list(f.indicators) if f.indicators else None
        params += [inds, inds, f.hits_from, f.hits_from, f.hits_to, f.hits_to]
    if f.review_statuses:
        wanted = [s for s in f.review_statuses if s != UNREVIEWED]
        clause = "list_contains(?::VARCHAR[], coalesce(r.status, a.review_status))"
        if UNREVIEWED in f.review_statuses:
            clause = f"({clause} OR coalesce(r.status, a.review_status) IS NULL)"
        clauses.append(clause)
        params.append(wanted)
    if f.search.strip():
        clauses.append("(a.account_id ILIKE ? ESCAPE '\\' OR a.display_name ILIKE ? ESCAPE '\\')")
        pattern = like_pattern(f.search.strip())
        params += [pattern, pattern]
    return (" AND ".join(clauses) or "TRUE"), params


_FLAGGED_FROM = "FROM account_risk a LEFT JOIN live_reviews r USING (account_id)"
_FLAGGED_COLUMNS = """a.account_id, a.risk_score, a.risk_tier, a.previous_tier,
    a.indicators_fired, a.reasons, a.cluster_id, a.country, a.account_age_days,
    a.categories, coalesce(r.status, a.review_status) AS review_status, a.display_name"""


def flagged_count(snap: Snapshot, f: FlagFilters, live: pd.DataFrame) -> int:
    where, params = _flagged_where(f)
    frame = query_with_reviews(snap, f"SELECT count(*) AS n {_FLAGGED_FROM} WHERE {where}",
                               tuple(params), live)
    return int(frame["n"].iloc[0])


def flagged_page(snap: Snapshot, f: FlagFilters, live: pd.DataFrame, sort: str = "risk score",
                 direction: str = "descending", page: int = 1, page_size: int = 50
                 ) -> pd.DataFrame:
    """One page of the ranked list (server-side LIMIT/OFFSET)."""
    order = SORTS.get(sort, SORTS["risk score"])
    how = DIRECTIONS.get(direction, "DESC")
    where, params = _flagged_where(f)
    sql = (f"SELECT {_FLAGGED_COLUMNS} {_FLAGGED_FROM} WHERE {where} "
           f"ORDER BY {order} {how} NULLS LAST, a.account_id LIMIT ? OFFSET ?")
    size = max(1, min(int(page_size), 500))
    offset = max(0, int(page) - 1) * size
    return query_with_reviews(snap, sql, (*params, size, offset), live)


def flagged_export(snap: Snapshot, f: FlagFilters, live: pd.DataFrame, sort: str = "risk score",
                   direction: str = "descending") -> pd.DataFrame:
    """The whole filtered list for CSV export (at most EXPORT_MAX_ROWS rows)."""
    order = SORTS.get(sort, SORTS["risk score"])
    how = DIRECTIONS.get(direction, "DESC")
    where, params = _flagged_where(f)
    sql = (f"SELECT {_FLAGGED_COLUMNS} {_FLAGGED_FROM} WHERE {where} "
           f"ORDER BY {order} {how} NULLS LAST, a.account_id LIMIT ?")
    return _fetch(snap, sql, (*params, EXPORT_MAX_ROWS), (("live_reviews", live),))


def filter_options(snap: Snapshot) -> dict[str, list[str]]:
    """Values offered by the flagged list's filters."""
    countries = query(snap, """SELECT DISTINCT country FROM account_risk
                               WHERE country IS NOT NULL ORDER BY 1""")
    cats = query(snap, """SELECT DISTINCT trim(unnest(string_split(categories, ','))) AS c
                          FROM account_risk WHERE categories IS NOT NULL ORDER BY 1""")
    inds = indicators(snap)
    return {
        "countries": countries["country"].tolist(),
        "categories": [c for c in cats["c"].tolist() if c],
        "indicators": inds["indicator_id"].tolist(),
    }


# --- one account ----------------------------------------------------------------------------

def account(snap: Snapshot, account_id: str) -> pd.DataFrame:
    return query(snap, "SELECT * FROM account_risk WHERE account_id = ?", (account_id,))


def profile(snap: Snapshot, account_id: str) -> pd.DataFrame:
    return query(snap, "SELECT * FROM account_profile WHERE account_id = ?", (account_id,))


def score_history(snap: Snapshot, account_id: str) -> pd.DataFrame:
    return query(snap, """SELECT as_of_date, risk_score, risk_tier FROM account_score_history
                          WHERE account_id = ? ORDER BY as_of_date""", (account_id,))


def hits(snap: Snapshot, account_id: str, limit: int = 2000) -> pd.DataFrame:
    return query(snap, """
        SELECT h.as_of_date, h.indicator_id, coalesce(i.name, h.indicator_id) AS name,
          h.strength, h.points, h.evidence, i.source
        FROM account_indicator_hits h LEFT JOIN indicators i USING (indicator_id)
        WHERE h.account_id = ? ORDER BY h.as_of_date DESC, h.points DESC LIMIT ?""",
        (account_id, int(limit)))


def logins(snap: Snapshot, account_id: str, limit: int = 500) -> pd.DataFrame:
    return query(snap, """
        SELECT ts, ip, ip_country, ip_kind, device_id, user_agent, login_id
        FROM evidence_logins WHERE account_id = ? ORDER BY ts DESC LIMIT ?""",
        (account_id, int(limit)))


def links(snap: Snapshot, account_id: str, limit: int = 500) -> pd.DataFrame:
    return query(snap, """
        SELECT l.linked_account_id, l.link_type, l.link_value, l.cluster_id,
          a.risk_score AS linked_score, a.risk_tier AS linked_tier
        FROM account_links l LEFT JOIN account_risk a ON a.account_id = l.linked_account_id
        WHERE l.account_id = ? ORDER BY a.risk_score DESC NULLS LAST, l.linked_account_id
        LIMIT ?""", (account_id, int(limit)))


def messages(snap: Snapshot, account_id: str, limit: int = 200) -> pd.DataFrame:
    return query(snap, """
        SELECT message_id, indicator_id, sender_account_id, recipient_account_id, sent_at, body,
          match_text, match_start, match_end
        FROM evidence_messages WHERE sender_account_id = ? OR recipient_account_id = ?
        ORDER BY sent_at DESC LIMIT ?""", (account_id, account_id, int(limit)))


def accounts_by_ids(snap: Snapshot, account_ids: tuple[str, ...]) -> pd.DataFrame:
    return query(snap, """
        SELECT account_id, risk_score, risk_tier, cluster_id, country
        FROM account_risk WHERE list_contains(?::VARCHAR[], account_id)""", (account_ids,))


def account_exists(snap: Snapshot, account_id: str) -> bool:
    return not account(snap, account_id).empty


# --- networks -------------------------------------------------------------------------------

def clusters(snap: Snapshot, limit: int = 500) -> pd.DataFrame:
    return query(snap, """
        SELECT cluster_id, accounts, max_score, combined_score, link_types FROM clusters
        ORDER BY combined_score DESC, accounts DESC, cluster_id LIMIT ?""", (int(limit),))


def cluster(snap: Snapshot, cluster_id: str) -> pd.DataFrame:
    return query(snap, "SELECT * FROM clusters WHERE cluster_id = ?", (cluster_id,))


def cluster_members(snap: Snapshot, cluster_id: str, limit: int = 300) -> pd.DataFrame:
    return query(snap, """
        WITH ids AS (
          SELECT account_id FROM account_links WHERE cluster_id = ?
          UNION SELECT linked_account_id FROM account_links WHERE cluster_id = ?
          UNION SELECT account_id FROM account_risk WHERE cluster_id = ?)
        SELECT i.account_id, a.risk_score, a.risk_tier, a.country, a.account_type
        FROM ids i LEFT JOIN account_risk a USING (account_id)
        ORDER BY a.risk_score DESC NULLS LAST, i.account_id LIMIT ?""",
        (cluster_id, cluster_id, cluster_id, int(limit)))


def cluster_links(snap: Snapshot, cluster_id: str, limit: int = 2000) -> pd.DataFrame:
    """One row per undirected link (the file holds both directions)."""
    return query(snap, """
        SELECT DISTINCT least(account_id, linked_account_id) AS source,
          greatest(account_id, linked_account_id) AS target, link_type, link_value
        FROM account_links WHERE cluster_id = ? ORDER BY 1, 2, 3 LIMIT ?""",
        (cluster_id, int(limit)))


# --- data quality ---------------------------------------------------------------------------

def load_files(snap: Snapshot, export_date: dt.date | None) -> pd.DataFrame:
    return query(snap, """
        SELECT export_date, table_name, file_name, rows_expected, rows_loaded, rows_quarantined
        FROM load_files WHERE ?::DATE IS NULL OR export_date = ?::DATE
        ORDER BY export_date DESC, table_name""", (export_date, export_date))


def load_totals(snap: Snapshot) -> pd.DataFrame:
    return query(snap, """
        SELECT export_date, table_name, sum(rows_loaded) AS rows_loaded,
          sum(rows_quarantined) AS rows_quarantined
        FROM load_files GROUP BY ALL ORDER BY 1, 2""")


def gx_results(snap: Snapshot, export_date: dt.date | None, failed_only: bool) -> pd.DataFrame:
    return query(snap, """
        SELECT export_date, suite, expectation, column_name, success, unexpected_count, details
        FROM gx_results
        WHERE (?::DATE IS NULL OR export_date = ?::DATE) AND (NOT ? OR NOT success)
        ORDER BY export_date DESC, success, suite, expectation LIMIT 5000""",
        (export_date, export_date, bool(failed_only)))


def quarantine_summary(snap: Snapshot, export_date: dt.date | None) -> pd.DataFrame:
    return query(snap, """
        SELECT table_name, column_name, rule, reason, count(*) AS rows
        FROM quarantine WHERE ?::DATE IS NULL OR export_date = ?::DATE
        GROUP BY ALL ORDER BY rows DESC LIMIT 500""", (export_date, export_date))
