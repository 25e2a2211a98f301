"""Cases: one or more accounts worked to a decision by the risk team.

A case has a title, an assignee, a status (open, investigating, waiting, closed), a decision
when closed (confirmed, false_positive, no_action), a due date, its accounts and an append-only
audit trail of every change and note (who, when, what). It lives in its own DuckDB file
(`<home>/cases/cases.duckdb`), never in the serving file that each night replaces. Closing a case
as confirmed or false_positive records that decision on each of its accounts in the reviews store,
so decisions keep feeding back into scoring as before. `export_bundle` writes the evidence of a
case as a zip for the platform's trust-and-safety or legal team: personal data masked unless the
caller may reveal it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from itw_radar import reviews
from itw_radar.masking import csv_safe, mask_frame, mask_name
from itw_radar.paths import Home
from itw_radar.store_locks import store_connection

STATUSES = ("open", "investigating", "waiting", "closed")
DECISIONS = ("confirmed", "false_positive", "no_action")
QUEUES = ("mine", "unassigned", "overdue", "open", "closed", "all")
MAX_TEXT = 4000
DDL = (
    """CREATE TABLE IF NOT EXISTS cases (
        case_id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, status VARCHAR NOT NULL,
        decision VARCHAR, assignee VARCHAR, due_date DATE, created_by VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS case_accounts (
        case_id VARCHAR NOT NULL, account_id VARCHAR NOT NULL, added_by VARCHAR NOT NULL,
        added_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS case_events (
        case_id VARCHAR NOT NULL, event_at TIMESTAMPTZ NOT NULL, author VARCHAR NOT NULL,
        action VARCHAR NOT NULL, detail VARCHAR)""",
)


class CaseError(ValueError):
    """A case change that cannot be made as given (the message says why)."""


def cases_path(home: Home) -> Path:
    return home.root / "cases" / "cases.duckdb"


@contextmanager
def _connect(home: Home) -> Iterator[duckdb.DuckDBPyConnection]:
    with store_connection(cases_path(home), DDL) as con:
        yield con


def _text(value: str | None, what: str, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise CaseError(f"{what} is empty.")
    if len(text) > MAX_TEXT:
        raise CaseError(f"{what} is {len(text)} characters long; shorten it to {MAX_TEXT}.")
    return text


def _event(con: duckdb.DuckDBPyConnection, case_id: str, author: str, action: str,
           detail: str, now: dt.datetime) -> None:
    con.execute("INSERT INTO case_events VALUES (?, ?, ?, ?, ?)",
                [case_id, now, author, action, detail])


def _ids(account_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(a.strip() for a in account_ids if a and a.strip()))
    if not ids:
        raise CaseError("a case needs at least one account id.")
    return ids


def create_case(home: Home, title: str, account_ids: Sequence[str], author: str,
                assignee: str | None = None, due: dt.date | None = None) -> str:
    """Open a case on `account_ids`; returns its id (CASE-000001, ...)."""
    title = _text(title, "title", required=True)
    author = _text(author, "author", required=True)
    ids = _ids(account_ids)
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        n = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        case_id = f"CASE-{n + 1:06d}"
        con.execute("INSERT INTO cases VALUES (?, ?, 'open', NULL, ?, ?, ?, ?, ?)",
                    [case_id, title, _text(assignee, "assignee") or None, due, author, now, now])
        con.executemany("INSERT INTO case_accounts VALUES (?, ?, ?, ?)",
                        [(case_id, a, author, now) for a in ids])
        _event(con, case_id, author, "created",
               f"title {title!r}; accounts {', '.join(ids)}; assignee {assignee or '-'}; "
               f"due {due or '-'}", now)
    return case_id


def _case(con: duckdb.DuckDBPyConnection, case_id: str) -> dict[str, Any]:
    rows = con.execute("SELECT * FROM cases WHERE case_id = ?", [case_id]).df()
    if rows.empty:
        raise CaseError(f"no case {case_id!r}; pick one from a queue.")
    return rows.iloc[0].to_dict()


def add_accounts(home: Home, case_id: str, account_ids: Sequence[str], author: str) -> None:
    ids = _ids(account_ids)
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        _case(con, case_id)
        have = {a for (a,) in con.execute("SELECT account_id FROM case_accounts WHERE case_id = ?",
                                          [case_id]).fetchall()}
        new = [a for a in ids if a not in have]
        con.executemany("INSERT INTO case_accounts VALUES (?, ?, ?, ?)",
                        [(case_id, a, author, now) for a in new])
        if new:
            _event(con, case_id, author, "accounts added", ", ".join(new), now)


def update_case(home: Home, case_id: str, author: str, *, status: str | None = None,
                decision: str | None = None, assignee: str | None = None,
                due: dt.date | None = None, clear_due: bool = False) -> None:
    """Change status, assignee or due date; closing needs a decision, which is then recorded
    on every account of the case (confirmed / false_positive feed scoring)."""
    author = _text(author, "author", required=True)
    if status is not None and status not in STATUSES:
        raise CaseError(f"status {status!r} is not one of {', '.join(STATUSES)}.")
    if decision is not None and decision not in DECISIONS:
        raise CaseError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}.")
    if status == "closed" and decision is None:
        raise CaseError("closing a case needs a decision: confirmed, false_positive or "
                        "no_action.")
    if decision is not None and status != "closed":
        raise CaseError("a decision closes the case: set the status to closed with it.")
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        case = _case(con, case_id)
        changes = []
        if status is not None and status != case["status"]:
            changes.append(("status", f"{case['status']} -> {status}"
                            + (f" ({decision})" if decision else "")))
            con.execute("UPDATE cases SET status = ?, decision = ? WHERE case_id = ?",
                        [status, decision if status == "closed" else None, case_id])
        if assignee is not None and assignee != (case["assignee"] or ""):
            changes.append(("assigned", f"{case['assignee'] or '-'} -> {assignee or '-'}"))
            con.execute("UPDATE cases SET assignee = ? WHERE case_id = ?",
                        [assignee or None, case_id])
        if due is not None or clear_due:
            changes.append(("due date", f"{case['due_date'] or '-'} -> {due or '-'}"))
            con.execute("UPDATE cases SET due_date = ? WHERE case_id = ?", [due, case_id])
        if not changes:
            return
        con.execute("UPDATE cases SET updated_at = ? WHERE case_id = ?", [now, case_id])
        for action, detail in changes:
            _event(con, case_id, author, action, detail, now)
        accounts = [a for (a,) in con.execute(
            "SELECT account_id FROM case_accounts WHERE case_id = ? ORDER BY account_id",
            [case_id]).fetchall()]
    if decision in ("confirmed", "false_positive"):
        for a in accounts:
            reviews.record_decision(home, a, decision, f"closed with case {case_id}", author)


def add_note(home: Home, case_id: str, author: str, text: str) -> None:
    note = _text(text, "note", required=True)
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        _case(con, case_id)
        _event(con, case_id, _text(author, "author", required=True), "note", note, now)
        con.execute("UPDATE cases SET updated_at = ? WHERE case_id = ?", [now, case_id])


def queue(home: Home, name: str, user: str | None = None, today: dt.date | None = None
          ) -> pd.DataFrame:
    """The cases of a queue: mine (assigned to `user`, not closed), unassigned, overdue (due
    before `today`, not closed), open (not closed), closed, all; with their account counts."""
    if name not in QUEUES:
        raise CaseError(f"queue {name!r} is not one of {', '.join(QUEUES)}.")
    where = {
        "mine": "status <> 'closed' AND assignee = $user",
        "unassigned": "status <> 'closed' AND assignee IS NULL",
        "overdue": "status <> 'closed' AND due_date < $today",
        "open": "status <> 'closed'",
        "closed": "status = 'closed'",
        "all": "true",
    }[name]
    columns = ["case_id", "title", "status", "decision", "assignee", "due_date", "accounts",
               "created_by", "updated_at"]
    if not cases_path(home).exists():
        return pd.DataFrame(columns=columns)
    with _connect(home) as con:
        return con.execute(f"""
            SELECT c.case_id, c.title, c.status, c.decision, c.assignee, c.due_date,
                   (SELECT count(*) FROM case_accounts a WHERE a.case_id = c.case_id) AS accounts,
                   c.created_by, c.updated_at
            FROM cases c WHERE {where}
            ORDER BY c.due_date NULLS LAST, c.updated_at DESC""",
                           {k: v for k, v in (("user", user or ""),
                                              ("today", today or dt.date.today()))
                            if f"${k}" in where}).df()


def detail(home: Home, case_id: str) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """(case, its account ids, its audit trail oldest first)."""
    with _connect(home) as con:
        case = _case(con, case_id)
        accounts = [a for (a,) in con.execute(
            "SELECT account_id FROM case_accounts WHERE case_id = ? ORDER BY added_at, account_id",
            [case_id]).fetchall()]
        events = con.execute("SELECT event_at, author, action, detail FROM case_events "
                             "WHERE case_id = ? ORDER BY event_at, rowid", [case_id]).df()
    return case, accounts, events


PERSONAL = {"display_name": mask_name, "document_holder_names": mask_name,
            "payout_holder_names": mask_name, "email_hash": lambda v: "…" if v else v,
            "phone_hash": lambda v: "…" if v else v, "ip": lambda v: "…" if v else v,
            "user_agent": lambda v: "…" if v else v}


def export_bundle(home: Home, case_id: str, serving: Path, reveal: bool) -> bytes:
    """A zip of the case's evidence: case.json, accounts.csv (risk and profile), hits.csv,
    links.csv, logins.csv, decisions.csv, trail.csv. Personal data (names, hashes, IPs, devices,
    user agents, and those quoted in reasons and evidence) is masked unless `reveal`."""
    case, accounts, events = detail(home, case_id)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        ids = accounts

        def rows(sql: str) -> pd.DataFrame:
            return con.execute(sql, [ids]).df()

        tables = {
            "accounts.csv": rows("""SELECT r.account_id, r.account_type, r.as_of_date,
                    r.risk_score, r.risk_tier, r.reasons, r.cluster_id, p.display_name,
                    p.country, p.created_at, p.email_hash, p.phone_hash,
                    p.document_holder_names, p.payout_holder_names
                FROM account_risk r LEFT JOIN account_profile p USING (account_id)
                WHERE list_contains(?, r.account_id) ORDER BY r.account_id"""),
            "hits.csv": rows("""SELECT account_id, as_of_date, indicator_id, strength, points,
                    evidence FROM account_indicator_hits WHERE list_contains(?, account_id)
                ORDER BY account_id, as_of_date, indicator_id"""),
            "links.csv": rows("""SELECT account_id, linked_account_id, link_type, cluster_id
                FROM account_links WHERE list_contains(?, account_id)
                ORDER BY account_id, linked_account_id, link_type"""),
            "logins.csv": rows("""SELECT account_id, login_id, ts, ip, ip_country, ip_kind,
                    device_id, user_agent FROM evidence_logins
                WHERE list_contains(?, account_id) ORDER BY account_id, ts"""),
        }
    finally:
        con.close()
    history = reviews.histories(home, list(accounts))
    tables["decisions.csv"] = history
    tables["trail.csv"] = events
    if not reveal:
        # the dashboard's masking of texts and identifiers, then the bundle's own (whole
        # addresses, user agents, names, hashes)
        tables = {name: mask_frame(frame) for name, frame in tables.items()}
        for frame in tables.values():
            for col, mask in PERSONAL.items():
                if col in frame.columns:
                    frame[col] = frame[col].map(mask)
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else None if pd.isna(v) else v)
            for k, v in case.items()}
    meta.update(accounts=accounts, personal_data="revealed" if reveal else "masked",
                exported_at=dt.datetime.now(dt.UTC).isoformat())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("case.json", json.dumps(meta, indent=2, default=str))
        for name, frame in tables.items():
            z.writestr(name, frame.map(csv_safe).to_csv(index=False))
    return buf.getvalue()
