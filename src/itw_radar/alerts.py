"""The nightly alert digest: what a risk team is told after a night is published.

One digest per published night lists the accounts that became high risk, the accounts whose tier
rose (low -> medium, none -> medium, ...), and the accounts with a watchlist hit they did not have
the night before, each with its id, score, tier and reasons and a link to its dashboard page.
It never carries personal data: ids, numbers and reasons only; in a reason, quoted text (a
message excerpt) is left out and addresses, device ids and hashes are masked (`mask_text`).
`night_digest` reads the serving database; the DAG sends the text
through Airflow's Apprise notifier (`itw_radar.dag_settings.alert_notifier`), to any service
Apprise reaches (Slack, Teams, e-mail, webhooks), configured by an Airflow connection.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import duckdb

from itw_radar.masking import mask_text

ALERT_CONN_ID = "itw_radar_alerts"
DASHBOARD_URL_ENV = "ITW_RADAR_DASHBOARD_URL"
DEFAULT_DASHBOARD_URL = "http://localhost:8501"
MAX_LISTED = 25  # per section; the rest are counted and found on the Flagged accounts page
TIER_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class AlertAccount:
    account_id: str
    account_type: str
    risk_score: float
    risk_tier: str
    previous_tier: str | None
    reasons: str


@dataclass
class Digest:
    night: dt.date
    new_high: list[AlertAccount] = field(default_factory=list)
    escalated: list[AlertAccount] = field(default_factory=list)
    watchlist: list[AlertAccount] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.counts.values())


def safe_reasons(reasons: object) -> str:
    """Reasons without personal data: quoted text (message excerpts may hold a handle or a
    phone number), IP addresses, device ids, hashes and fingerprints masked (`mask_text`)."""
    return mask_text(reasons)


def dashboard_url() -> str:
    return os.environ.get(DASHBOARD_URL_ENV, DEFAULT_DASHBOARD_URL).rstrip("/")


def account_link(account_id: str, base: str | None = None) -> str:
    return f"{base or dashboard_url()}/account?account_id={quote(account_id, safe='')}"


def _accounts(con: duckdb.DuckDBPyConnection, where: str, night: dt.date,
              limit: int) -> tuple[list[AlertAccount], int]:
    rows = con.execute(f"""
        SELECT account_id, account_type, risk_score, risk_tier, previous_tier, reasons,
               count(*) OVER () AS total
        FROM account_risk a
        WHERE as_of_date = ? AND ({where})
        ORDER BY risk_score DESC, account_id
        LIMIT ?""", [night, limit]).fetchall()
    total = int(rows[0][6]) if rows else 0
    return [AlertAccount(str(r[0]), str(r[1]), float(r[2]), str(r[3]),
                         None if r[4] is None else str(r[4]), safe_reasons(r[5]))
            for r in rows], total


def night_digest(serving: Path, night: dt.date | None = None,
                 limit: int = MAX_LISTED) -> Digest:
    """The digest of `night` (default: the night the serving database holds)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        held = con.execute("SELECT max(as_of_date) FROM account_risk").fetchone()[0]
        if held is None:
            return Digest(night or dt.date.min)
        night = night or held
        rank = " ".join(f"WHEN '{t}' THEN {r}" for t, r in TIER_RANK.items())
        escalated = (f"(CASE risk_tier {rank} END) > (CASE coalesce(previous_tier, 'none') "
                     f"{rank} END) AND NOT coalesce(is_new_high, false)")
        # a watchlist hit tonight that the account did not have on its previous scored night
        watch = """account_id IN (
            SELECT h.account_id FROM account_indicator_hits h
            WHERE h.indicator_id = 'watchlist' AND h.as_of_date = a.as_of_date
              AND NOT EXISTS (
                SELECT 1 FROM account_indicator_hits p
                WHERE p.indicator_id = 'watchlist' AND p.account_id = h.account_id
                  AND p.as_of_date = h.as_of_date - 1))"""
        digest = Digest(night)
        digest.new_high, n_high = _accounts(con, "coalesce(is_new_high, false)", night, limit)
        digest.escalated, n_esc = _accounts(con, escalated, night, limit)
        digest.watchlist, n_watch = _accounts(con, watch, night, limit)
        digest.counts = {"new_high": n_high, "escalated": n_esc, "watchlist": n_watch}
        return digest
    finally:
        con.close()


def _section(title: str, accounts: list[AlertAccount], total: int, base: str) -> list[str]:
    if not total:
        return []
    lines = [f"{title} ({total}):"]
    for a in accounts:
        move = f"{a.previous_tier or 'none'} -> {a.risk_tier}"
        lines.append(f"- {a.account_id} ({a.account_type}), score {a.risk_score:.1f}, {move}: "
                     f"{a.reasons or 'no reason recorded'}")
        lines.append(f"  {account_link(a.account_id, base)}")
    if total > len(accounts):
        lines.append(f"- ... and {total - len(accounts)} more on {base}/flagged")
    return [*lines, ""]


def format_digest(digest: Digest, base: str | None = None) -> tuple[str, str]:
    """(title, body) of the alert: plain text, ids, scores, reasons and links only."""
    base = (base or dashboard_url()).rstrip("/")
    c = digest.counts
    title = (f"ITW Radar {digest.night}: {c.get('new_high', 0)} new high-risk, "
             f"{c.get('escalated', 0)} escalated, {c.get('watchlist', 0)} new watchlist hits")
    body = [
        *_section("New high-risk accounts", digest.new_high, c.get("new_high", 0), base),
        *_section("Tier escalations", digest.escalated, c.get("escalated", 0), base),
        *_section("New watchlist hits", digest.watchlist, c.get("watchlist", 0), base),
    ]
    if not body:
        body = ["Nothing new tonight: no new high-risk account, no escalation, no new watchlist "
                "hit.", ""]
    body.append(f"Dashboard: {base}/overview")
    return title, "\n".join(body)


def failure_text(night: str, task_id: str, error: object, airflow_url: str | None = None
                 ) -> tuple[str, str]:
    """(title, body) of the alert for a night that failed: which night, step and error."""
    message = str(error or "no error message").splitlines()[0][:500] if error else \
        "no error message"
    body = (f"The ITW Radar night {night} failed at step {task_id}: {message}\n"
            "The published results stay those of the last good night. The task log in the "
            "Airflow UI says what to do next"
            + (f": {airflow_url}" if airflow_url else "."))
    return f"ITW Radar {night}: night FAILED at {task_id}", body


# --- delivery (Airflow's Apprise notifier) ---------------------------------------------------

ALERT_URLS_ENV = "ITW_RADAR_ALERT_URLS"


def alert_urls() -> list[str]:
    """Apprise URLs from ITW_RADAR_ALERT_URLS (space- or comma-separated), if set."""
    raw = os.environ.get(ALERT_URLS_ENV, "")
    return [u for u in re.split(r"[\s,]+", raw) if u]


def _connection_configured() -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(ALERT_CONN_ID)
    except Exception:  # AirflowNotFoundException and its SDK twin
        return False
    return True


def notifier(title: str, body: str, failure: bool = False):  # -> AppriseNotifier | None
    """Airflow's Apprise notifier for (title, body), sent to ITW_RADAR_ALERT_URLS or else to the
    services of the Airflow connection `itw_radar_alerts` (type apprise, extra
    {"config": [{"path": "<apprise url>"}]}); None when neither is configured."""
    from airflow.providers.apprise.notifications.apprise import AppriseNotifier
    from apprise import NotifyType

    kind = NotifyType.FAILURE if failure else NotifyType.INFO
    urls = alert_urls()
    if urls:
        return AppriseNotifier(title=title, body=body, notify_type=kind, config=urls)
    if _connection_configured():
        return AppriseNotifier(title=title, body=body, notify_type=kind,
                               apprise_conn_id=ALERT_CONN_ID)
    return None


def send(title: str, body: str, context: object = None, failure: bool = False) -> bool:
    """Send one alert; False (and nothing sent) when alerts are not configured. The text is
    passed as is (`notify`, not the notifier's template rendering: reasons are data)."""
    sender = notifier(title, body, failure)
    if sender is None:
        return False
    sender.notify(context or {})
    return True
