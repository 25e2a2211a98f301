"""Analyst-managed watchlists: identifiers known to belong to DPRK IT-worker operations.

A watchlist entry is one value of one type (LIST_TYPES: an IP range, an ASN, an e-mail domain,
an e-mail or phone hash, a payment fingerprint, a wallet address, a device id) with the source
that names it, the reason, who added it and when, and an optional expiry. A hit on an entry is
the indicator `watchlist` (dbt model int_indicator__watchlist), whose evidence names the entry,
its source and the matching row.

Entries live in their own DuckDB file in the home (`<home>/watchlists/watchlists.duckdb`, like
the review decisions: analyst state, never in the serving file). Every change is appended to
the `audit` table (who, when, what): add, update, expire, remove, `lapsed` when an entry's
expiry has passed (recorded the next time the store is opened), and `reveal` when someone
showed the personal values (hashes, devices, wallets) on the dashboard. Entries are never deleted:
`remove` marks one removed (it was wrong), `expire` ends it now (it was right, no longer is).

Files: `import_csv` reads CSV_COLUMNS (a bad row names file, line, column and rule, and nothing
is imported); importing the same file again changes nothing. The lists shipped in the
repository's `watchlists/` folder (public, non-personal data only) are imported when a store
is first created, so every home starts with them.

`export_to_warehouse` copies the entries not removed into `raw.watchlist_entries` before dbt
runs (the nightly DAG's sync step); the dbt model keeps, for each night, the entries not yet
expired on that night (expires_at after the night's date).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import ipaddress
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from itw_radar.paths import Home
from itw_radar.store_locks import with_lock_retry

LIST_TYPES: dict[str, str] = {
    "ip_cidr": "IPv4 or IPv6 network in CIDR notation (a single address is a /32 or /128); "
               "matches logins.ip",
    "asn": "autonomous system number (131279 or AS131279); matches logins.ip_asn",
    "email_domain": "e-mail domain (example.com; also matches its subdomains); matches "
                    "accounts.email_domain",
    "email_hash": "SHA-256 hex of the lower-cased e-mail address; matches accounts.email_hash",
    "phone_hash": "SHA-256 hex of the E.164 phone number; matches accounts.phone_hash",
    "payment_fingerprint": "payment method fingerprint as the platform exports it; matches "
                           "payment_methods.fingerprint",
    "wallet_address": "cryptocurrency wallet address; matches the fingerprint of a crypto_wallet "
                      "payment method equal to it, or to the SHA-256 hex of the lower-cased "
                      "address",
    "device_id": "the platform's device fingerprint; matches logins.device_id",
}
CSV_COLUMNS = ("list_type", "value", "source", "reason", "added_by", "added_at", "expires_at")
REQUIRED_COLUMNS = ("list_type", "value", "source", "reason")
SYSTEM_USER = "itw-radar"
DEFAULT_LISTS_DIR = Path(__file__).resolve().parents[2] / "watchlists"
MAX_SOURCE = 1000
MAX_REASON = 2000
MAX_VALUE = 200
ENTRY_COLUMNS = ["entry_id", "list_type", "value", "source", "reason", "added_by", "added_at",
                 "expires_at", "removed_at", "removed_by"]
PERSONAL_TYPES = ("email_hash", "phone_hash", "payment_fingerprint", "wallet_address", "device_id")
AUDIT_COLUMNS = ["changed_at", "actor", "action", "entry_id", "list_type", "value", "detail"]

DDL = (
    """CREATE TABLE IF NOT EXISTS entries (
        entry_id VARCHAR PRIMARY KEY,
        list_type VARCHAR NOT NULL CHECK (list_type IN ('ip_cidr', 'asn', 'email_domain',
            'email_hash', 'phone_hash', 'payment_fingerprint', 'wallet_address', 'device_id')),
        value VARCHAR NOT NULL, source VARCHAR NOT NULL, reason VARCHAR NOT NULL,
        added_by VARCHAR NOT NULL, added_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ,
        removed_at TIMESTAMPTZ, removed_by VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS audit (
        changed_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL CHECK (action IN ('add', 'update', 'expire', 'remove',
            'lapsed', 'reveal')),
        entry_id VARCHAR NOT NULL, list_type VARCHAR NOT NULL, value VARCHAR NOT NULL,
        detail VARCHAR)""",
)
WAREHOUSE_DDL = """CREATE TABLE IF NOT EXISTS raw.watchlist_entries (
    entry_id VARCHAR, list_type VARCHAR, value VARCHAR, source VARCHAR, reason VARCHAR,
    added_by VARCHAR, added_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)"""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                     r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
_TOKEN = re.compile(r"[^\s,;]+")


class WatchlistError(ValueError):
    """An entry or file that cannot be recorded as given (the message says what to fix)."""


@dataclass(frozen=True)
class Entry:
    """A validated entry, before it is stored."""

    list_type: str
    value: str
    source: str
    reason: str
    added_by: str
    added_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    entry_ids: list[str] = field(default_factory=list)


def store_path(home: Home) -> Path:
    """Where the watchlists live: `<home>/watchlists/watchlists.duckdb`."""
    return home.root / "watchlists" / "watchlists.duckdb"


# --------------------------------------------------------------------------------------------
# validation


def normalise_value(list_type: str, value: object) -> str:
    """The value in its stored form, or WatchlistError saying what to write instead."""
    if list_type not in LIST_TYPES:
        raise WatchlistError(f"list type {list_type!r} is not one of {', '.join(LIST_TYPES)}")
    text = "" if value is None else str(value).strip()
    if not text:
        raise WatchlistError(f"{list_type}: the value is empty; give {LIST_TYPES[list_type]}")
    if list_type == "ip_cidr":
        return _normalise_cidr(text)
    if list_type == "asn":
        digits = text.upper().removeprefix("AS")
        if not digits.isdigit() or not 1 <= int(digits) <= 4_294_967_295:
            raise WatchlistError(f"asn: {text!r} is not an AS number; write a whole number "
                                 "between 1 and 4294967295, e.g. 131279 or AS131279")
        return str(int(digits))
    if list_type == "email_domain":
        domain = text.lower().removeprefix("@").rstrip(".")
        if "@" in domain or not _DOMAIN.fullmatch(domain):
            raise WatchlistError(f"email_domain: {text!r} is not a domain name; write only the "
                                 "part after the @, e.g. example.com")
        return domain
    if list_type in ("email_hash", "phone_hash"):
        digest = text.lower()
        if not _HEX64.fullmatch(digest):
            what = ("the lower-cased e-mail address" if list_type == "email_hash"
                    else "the E.164 phone number (+15551234567)")
            raise WatchlistError(f"{list_type}: {text[:80]!r} is not a SHA-256 hex digest (64 "
                                 f"characters 0-9a-f); give the SHA-256 of {what}, never the "
                                 "address or number itself")
        return digest
    if len(text) > MAX_VALUE or not _TOKEN.fullmatch(text):
        raise WatchlistError(f"{list_type}: {text[:80]!r} must be one token of at most "
                             f"{MAX_VALUE} characters without spaces, commas or semicolons")
    if list_type == "wallet_address" and len(text) < 20:
        raise WatchlistError(f"wallet_address: {text!r} is too short for a wallet address "
                             "(at least 20 characters); check that it was copied whole")
    return text


def _normalise_cidr(text: str) -> str:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise WatchlistError(f"ip_cidr: {text!r} has host bits set; write the network "
                                 f"address {loose}") from None
        raise WatchlistError(f"ip_cidr: {text!r} is not an IP network; write it in CIDR "
                             "notation, e.g. 175.45.176.0/22 or 2001:db8::/32") from None
    if net.prefixlen == 0:
        raise WatchlistError(f"ip_cidr: {text!r} covers every address; give a longer prefix")
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None:
        raise WatchlistError(f"ip_cidr: {text!r} is an IPv4-mapped IPv6 range; write the IPv4 "
                             "range instead")
    return str(net)


def parse_time(value: object, what: str) -> dt.datetime | None:
    """An ISO date or date-time (UTC when no offset is given), or None when empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise WatchlistError(f"{what} {text!r} is not a date; write YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM:SS+00:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _text(value: object, what: str, limit: int) -> str:
    text = "" if value is None else " ".join(str(value).split())
    if not text:
        raise WatchlistError(f"{what} is empty; {_WHY[what]}")
    if len(text) > limit:
        raise WatchlistError(f"{what} is {len(text)} characters long; shorten it to at most "
                             f"{limit}")
    return text


_WHY = {
    "source": "name where the value comes from (an advisory, a registry, a case number)",
    "reason": "say why the value belongs on the list",
    "added_by": "give who adds the entry (log in, or pass --by)",
}


def make_entry(list_type: str, value: object, source: object, reason: object, added_by: object,
               added_at: object = None, expires_at: object = None) -> Entry:
    """A validated Entry; WatchlistError names the first field to fix."""
    list_type = str(list_type or "").strip().lower()
    norm = normalise_value(list_type, value)
    added = parse_time(added_at, "added_at")
    expires = parse_time(expires_at, "expires_at")
    if expires is not None and added is not None and expires <= added:
        raise WatchlistError(f"expires_at {expires:%Y-%m-%d %H:%M} is not after added_at "
                             f"{added:%Y-%m-%d %H:%M}; give a later expiry or none")
    return Entry(list_type, norm, _text(source, "source", MAX_SOURCE),
                 _text(reason, "reason", MAX_REASON), _text(added_by, "added_by", 200),
                 added, expires)


# --------------------------------------------------------------------------------------------
# the store


@contextmanager
def _connect(home: Home, defaults: Path | None = DEFAULT_LISTS_DIR
             ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection to the store; a new store gets the shipped lists."""
    path = store_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    con = with_lock_retry(lambda: duckdb.connect(str(path)))
    try:
        con.execute("SET TimeZone = 'UTC'")
        new = not con.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_name = 'entries'").fetchone()[0]
        for ddl in DDL:
            con.execute(ddl)
        if new and defaults is not None and defaults.is_dir():
            for csv_file in sorted(defaults.glob("*.csv")):
                _import_rows(con, read_csv(csv_file), SYSTEM_USER)
        _record_lapsed(con)
        yield con
    finally:
        con.close()


def _record_lapsed(con: duckdb.DuckDBPyConnection) -> None:
    """Append a `lapsed` audit row for each entry whose expiry has passed (once per entry)."""
    con.execute(
        """INSERT INTO audit
           SELECT e.expires_at, ?, 'lapsed', e.entry_id, e.list_type, e.value,
                  'expiry reached'
           FROM entries AS e
           WHERE e.removed_at IS NULL AND e.expires_at <= now()
             AND NOT EXISTS (SELECT 1 FROM audit AS a WHERE a.entry_id = e.entry_id
                             AND a.action IN ('lapsed', 'expire'))""", [SYSTEM_USER])


def _new_id(now: dt.datetime) -> str:
    return f"wl-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"


def _audit(con: duckdb.DuckDBPyConnection, at: dt.datetime, actor: str, action: str,
           entry_id: str, list_type: str, value: str, detail: str) -> None:
    con.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                [at, actor, action, entry_id, list_type, value, detail])


def _import_rows(con: duckdb.DuckDBPyConnection, entries: Iterable[Entry], actor: str
                 ) -> ImportResult:
    """Add or update entries keyed on (list_type, value) among those not removed."""
    result = ImportResult()
    now = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        for e in entries:
            row = con.execute(
                "SELECT entry_id, source, reason, expires_at FROM entries WHERE list_type = ? "
                "AND value = ? AND removed_at IS NULL", [e.list_type, e.value]).fetchone()
            if row is None:
                entry_id = _new_id(now)
                con.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                            [entry_id, e.list_type, e.value, e.source, e.reason, e.added_by,
                             e.added_at or now, e.expires_at])
                _audit(con, now, actor, "add", entry_id, e.list_type, e.value,
                       f"source: {e.source}; reason: {e.reason}"
                       + (f"; expires {e.expires_at.isoformat()}" if e.expires_at else ""))
                result.added += 1
            else:
                entry_id, source, reason, expires = row
                if (source, reason, expires) == (e.source, e.reason, e.expires_at):
                    result.unchanged += 1
                else:
                    con.execute("UPDATE entries SET source = ?, reason = ?, expires_at = ? "
                                "WHERE entry_id = ?",
                                [e.source, e.reason, e.expires_at, entry_id])
                    _audit(con, now, actor, "update", entry_id, e.list_type, e.value,
                           f"source: {e.source}; reason: {e.reason}; expires "
                           f"{e.expires_at.isoformat() if e.expires_at else 'never'}")
                    result.updated += 1
            result.entry_ids.append(entry_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def add_entry(home: Home, list_type: str, value: str, source: str, reason: str, added_by: str,
              expires_at: object = None) -> str:
    """Add one entry (or update the active one with the same type and value); its entry_id."""
    entry = make_entry(list_type, value, source, reason, added_by, None, expires_at)
    if entry.expires_at is not None and entry.expires_at <= dt.datetime.now(dt.UTC):
        raise WatchlistError(f"expires_at {entry.expires_at:%Y-%m-%d %H:%M} is in the past; "
                             "give a later expiry or none")
    with _connect(home) as con:
        return _import_rows(con, [entry], entry.added_by).entry_ids[0]


def _end(home: Home, entry_id: str, actor: str, action: str, note: str | None) -> None:
    actor = _text(actor, "added_by", 200)
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        row = con.execute("SELECT list_type, value, expires_at, removed_at FROM entries "
                          "WHERE entry_id = ?", [entry_id]).fetchone()
        if row is None:
            raise WatchlistError(f"no watchlist entry {entry_id!r}; see `itw-radar watchlist "
                                 "list` for the ids")
        list_type, value, expires, removed = row
        if removed is not None:
            raise WatchlistError(f"entry {entry_id} was already removed")
        detail = (note or "").strip()[:MAX_REASON]
        con.execute("BEGIN TRANSACTION")
        if action == "remove":
            con.execute("UPDATE entries SET removed_at = ?, removed_by = ? WHERE entry_id = ?",
                        [now, actor, entry_id])
        else:
            if expires is not None and expires <= now:
                con.execute("ROLLBACK")
                raise WatchlistError(f"entry {entry_id} has already expired")
            con.execute("UPDATE entries SET expires_at = ? WHERE entry_id = ?", [now, entry_id])
        _audit(con, now, actor, action, entry_id, list_type, value, detail)
        con.execute("COMMIT")


def expire_entry(home: Home, entry_id: str, actor: str, note: str | None = None) -> None:
    """End an entry now (it stops counting from the next night computed)."""
    _end(home, entry_id, actor, "expire", note)


def remove_entry(home: Home, entry_id: str, actor: str, note: str | None = None) -> None:
    """Mark an entry removed (added by mistake): it no longer counts for any night."""
    _end(home, entry_id, actor, "remove", note)


def entries(home: Home, include_inactive: bool = False) -> pd.DataFrame:
    """The entries, newest first: active ones only (not removed, not expired) by default."""
    where = "" if include_inactive else \
        "WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
    with _connect(home) as con:
        return con.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries {where}"
                           "ORDER BY added_at DESC, entry_id DESC").df()


def log_reveal(home: Home, actor: str) -> None:
    """Record that `actor` revealed the lists' personal values (hashes, devices, wallets)."""
    actor = _text(actor, "added_by", 200)
    with _connect(home) as con:
        _audit(con, dt.datetime.now(dt.UTC), actor, "reveal", "*", "*", "*",
               "personal values shown on the dashboard")


def audit_log(home: Home, limit: int = 500) -> pd.DataFrame:
    """Every change, newest first."""
    with _connect(home) as con:
        return con.execute("SELECT * FROM audit ORDER BY changed_at DESC LIMIT ?",
                           [int(limit)]).df()


# --------------------------------------------------------------------------------------------
# files


def read_csv(path: Path, default_added_by: str | None = None) -> list[Entry]:
    """Validate every row of a watchlist CSV; WatchlistError names file, line, column and rule
    of the first bad rows (up to 5), and nothing is returned then."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing:
        what = "; ".join(filter(None, [
            f"unknown column(s) {', '.join(unknown)}" if unknown else "",
            f"missing column(s) {', '.join(missing)}" if missing else ""]))
        raise WatchlistError(f"{path} line 1: {what}; the header must name columns of "
                             f"{','.join(CSV_COLUMNS)} (required: {','.join(REQUIRED_COLUMNS)})")
    reader.fieldnames = header
    errors: list[str] = []
    out: list[Entry] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            errors.append(f"{path} line {line}: more fields than the header's {len(header)}")
            continue
        try:
            entry = make_entry(row.get("list_type") or "", row.get("value"), row.get("source"),
                               row.get("reason"), row.get("added_by") or default_added_by,
                               row.get("added_at"), row.get("expires_at"))
        except WatchlistError as exc:
            errors.append(f"{path} line {line} column {_column_of(str(exc))}: {exc}")
            continue
        key = (entry.list_type, entry.value)
        if key in seen:
            errors.append(f"{path} line {line} column value: {entry.list_type} {entry.value} "
                          f"is already on line {seen[key]}; keep one row per value")
            continue
        seen[key] = line
        out.append(entry)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise WatchlistError("nothing imported: " + " | ".join(errors[:5]) + more)
    return out


def _column_of(message: str) -> str:
    head = message.split(" ", 1)[0].rstrip(":")
    if head in ("source", "reason", "added_by", "added_at", "expires_at"):
        return head
    if head == "list":
        return "list_type"
    return "value"


def import_csv(home: Home, path: Path, actor: str) -> ImportResult:
    """Import a watchlist CSV (all rows or none); the same file twice changes nothing."""
    rows = read_csv(path, default_added_by=actor)
    with _connect(home) as con:
        return _import_rows(con, rows, actor)


def export_csv(home: Home, path: Path | None = None, include_inactive: bool = False) -> str:
    """The entries as CSV (CSV_COLUMNS; a file `import_csv` reads back); written to `path`."""
    frame = entries(home, include_inactive=include_inactive)
    lines: list[list[str]] = [list(CSV_COLUMNS)]
    for r in frame.itertuples(index=False):
        lines.append([r.list_type, r.value, r.source, r.reason, r.added_by,
                      _iso(r.added_at), _iso(r.expires_at)])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    if path is not None:
        path.write_text(buf.getvalue(), encoding="utf-8")
    return buf.getvalue()


def _iso(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    return pd.Timestamp(value).tz_convert("UTC").isoformat()


# --------------------------------------------------------------------------------------------
# warehouse


def export_to_warehouse(home: Home, con: duckdb.DuckDBPyConnection) -> int:
    """Replace `raw.watchlist_entries` in the warehouse `con` with the entries not removed
    (expired ones too: the dbt model keeps those not expired on each night). Returns the rows."""
    current = entries(home, include_inactive=True)
    current = current[current["removed_at"].isna()]
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("DROP TABLE IF EXISTS raw.watchlist_entries")
    con.execute(WAREHOUSE_DDL)
    if current.empty:
        return 0
    rows = current[["entry_id", "list_type", "value", "source", "reason", "added_by",
                    "added_at", "expires_at"]]
    con.register("_itw_watchlist", rows)
    try:
        con.execute("INSERT INTO raw.watchlist_entries SELECT entry_id, list_type, value, "
                    "source, reason, added_by, CAST(added_at AS TIMESTAMPTZ), "
                    "CAST(expires_at AS TIMESTAMPTZ) FROM _itw_watchlist")
    finally:
        con.unregister("_itw_watchlist")
    return len(rows)


def wallet_fingerprint(address: str) -> str:
    """The SHA-256 hex of the lower-cased address: one of the two fingerprints a wallet_address
    entry matches (the other is the address as written)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# re-score the published night


@dataclass(frozen=True)
class RescoreResult:
    night: dt.date
    entries: int
    seconds: float
    dbt_seconds: float
    publish_seconds: float
    serving: Path
    scope: str  # "watchlist models and downstream" or "whole night"


RESCORE_SELECT = "stg_watchlist_entries+"


def _last_built_nights(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The nights the warehouse's intermediate models were last computed for ([] if unknown)."""
    try:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT night FROM intermediate.int_nights ORDER BY 1").fetchall()]
    except duckdb.Error:
        return []


def rescore(home: Home, *, whole_night: bool = False,
            echo: Callable[[str], None] | None = None) -> RescoreResult:
    """Re-score the latest published night with the current lists, without a full rebuild.

    Copies the entries into raw.watchlist_entries and runs `dbt build` (models and data tests)
    as of the published night, incrementally: only that night is recomputed, every earlier
    night's stored results stay as they are. When the warehouse's intermediate models were last
    computed for exactly that night (the usual case: the night was published by the last run),
    only the watchlist models and what depends on them are built (RESCORE_SELECT: the hits, the
    scores, the marts); otherwise, or with `whole_night`, every model of the night. Then the
    serving database is published again (a complete new file swapped in atomically,
    itw_radar.publishing.publish). Stop the nightly DAG first: the warehouse takes one writer.
    Raises WatchlistError, DbtError or PublishError.
    """
    from itw_radar import rules
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.pipeline import dbt_target
    from itw_radar.publishing import publish, published_night
    from itw_radar.warehouse import connect, ensure_raw_schema

    say = echo or (lambda _line: None)
    if not home.serving.exists() or not home.warehouse.exists():
        raise WatchlistError(f"nothing to re-score: no published night in {home.root}; run "
                             "`itw-radar run` first (the lists count from the next night)")
    night = published_night(home.serving)
    if night is None:
        raise WatchlistError(f"nothing to re-score: {home.serving} holds no scores yet")
    started = time.monotonic()
    con = connect(home.warehouse)
    try:
        ensure_raw_schema(con)
        n = export_to_warehouse(home, con)
        row = con.execute("SELECT max(load_id) FROM raw.load_files WHERE export_date = ?",
                          [night]).fetchone()
        load_id = str(row[0] or "") if row else ""
        partial = not whole_night and _last_built_nights(con) == [night]
    finally:
        con.close()
    scope = "watchlist models and downstream" if partial else "whole night"
    say(f"re-scoring night {night} with {n} watchlist entries (dbt build, incremental, {scope})")
    dbt_started = dt.datetime.now(dt.UTC)
    target = dbt_target(home)
    command = "build --exclude resource_type:unit_test"
    with rules.applied(rules.active(home).overrides):  # the approved weights, thresholds, tiers
        result = run_dbt(command, warehouse=home.warehouse, as_of=night,
                         select=RESCORE_SELECT if partial else None, target_path=target,
                         log_path=target / "logs", check=not partial)
        if not result.success:
            # e.g. a model the selection reads was added by a code update and never built here
            failed = "; ".join(result.failures[:2]) or "see the dbt log"
            say(f"the partial build failed ({failed}); building every model of the night")
            scope = "whole night"
            run_dbt(command, warehouse=home.warehouse, as_of=night, target_path=target,
                    log_path=target / "logs")
    dbt_done = time.monotonic()
    path = publish(home, night, load_id=load_id, dbt_started_at=dbt_started)
    done = time.monotonic()
    say(f"published {path}")
    return RescoreResult(night, n, done - started, dbt_done - started, done - dbt_done, path,
                         scope)
