"""Rule changes, reviewed before they score anyone: who proposed a change to the weights,
thresholds or tiers, when and why, the backtest it was checked with, and who approved or
rejected it, when and why.

The store is `<home>/rules/rules.duckdb`, two append-only tables: `proposals` (one row a
proposal, never updated) and `decisions` (at most one row a proposal: approved or rejected,
never updated or deleted). Nothing here updates or deletes a row.

A proposal is a change in the backtest's format (itw_radar.backtest: weights:, thresholds:,
tiers:). It becomes part of the active configuration only when approved by a user other than
its proposer. The active configuration is the project's defaults (seed indicator_catalog's
weights, dbt_project.yml's vars indicator_thresholds and tier_*) overlaid by every approved
change, in the order of approval; its version is the number of approved changes. Values equal
to the defaults drop out, so with no approved change (or only changes back to the defaults)
dbt gets nothing and scores exactly as the project says. Reverting is a change back, proposed
and approved like any other (`propose --revert ID` writes it).

dbt reads the active configuration from the environment variable ITW_RADAR_RULES
(macros/rules.sql, at execution only: a new configuration does not re-parse the project). The
nightly DAG templates it per run (dag_settings.dbt_env, the configuration when the run started);
`itw-radar rebuild`, the watchlist re-score and the backtest set it in-process (`applied`).
A change scores the nights processed after its approval; `itw-radar rebuild` re-scores the
history with it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from itw_radar.backtest import (
    BacktestError,
    Change,
    catalog_weights,
    change_from_text,
    default_tiers,
    parse_change,
    project_vars,
    read_record,
)
from itw_radar.dbt_runner import PROJECT_DIR, _env
from itw_radar.paths import Home
from itw_radar.store_locks import store_connection, with_lock_retry

RULES_ENV = "ITW_RADAR_RULES"
MAX_REASON_CHARS = 2000
MAX_CHANGE_CHARS = 20000
DDL = (
    """CREATE TABLE IF NOT EXISTS proposals (
        proposal_id INTEGER PRIMARY KEY, change_json VARCHAR NOT NULL,
        change_yaml VARCHAR NOT NULL, reason VARCHAR NOT NULL, proposed_by VARCHAR NOT NULL,
        proposed_at TIMESTAMPTZ NOT NULL, based_on_version INTEGER NOT NULL,
        backtest_dir VARCHAR, backtest_summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS decisions (
        proposal_id INTEGER PRIMARY KEY,
        decision VARCHAR NOT NULL CHECK (decision IN ('approved', 'rejected')),
        reason VARCHAR NOT NULL, decided_by VARCHAR NOT NULL, decided_at TIMESTAMPTZ NOT NULL)""",
)
DECISIONS = ("approved", "rejected")


class RulesError(ValueError):
    """A proposal or decision that cannot be recorded as given; the message says what to fix."""


def store_path(home: Home) -> Path:
    return home.root / "rules" / "rules.duckdb"


@contextmanager
def _connect(home: Home) -> Iterator[duckdb.DuckDBPyConnection]:
    path = store_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    with store_connection(path, DDL) as con:
        yield con


@dataclass(frozen=True)
class Proposal:
    proposal_id: int
    change: dict[str, Any]
    change_yaml: str
    reason: str
    proposed_by: str
    proposed_at: dt.datetime
    based_on_version: int
    backtest_dir: str | None = None
    backtest_summary: str | None = None
    decision: str | None = None
    decision_reason: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        return self.decision or "pending"


_SELECT = """
    SELECT p.proposal_id, p.change_json, p.change_yaml, p.reason, p.proposed_by, p.proposed_at,
           p.based_on_version, p.backtest_dir, p.backtest_summary,
           d.decision, d.reason, d.decided_by, d.decided_at
    FROM proposals AS p LEFT JOIN decisions AS d USING (proposal_id)
"""


def _proposal(row: tuple[Any, ...]) -> Proposal:
    return Proposal(row[0], json.loads(row[1]), *row[2:])


def history(home: Home) -> list[Proposal]:
    """Every proposal with its decision, if any; oldest first."""
    path = store_path(home)
    if not path.exists():
        return []

    def read() -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(_SELECT + "ORDER BY p.proposal_id").fetchall()
        finally:
            con.close()

    return [_proposal(r) for r in with_lock_retry(read)]


def get(home: Home, proposal_id: int) -> Proposal:
    for p in history(home):
        if p.proposal_id == proposal_id:
            return p
    raise RulesError(f"no proposal #{proposal_id}; `itw-radar rules history` lists them")


def approved(home: Home, at: dt.datetime | None = None) -> list[Proposal]:
    """The approved proposals in the order of approval (those approved by `at`, if given)."""
    done = [p for p in history(home) if p.decision == "approved"
            and (at is None or p.decided_at is not None and p.decided_at <= at)]
    return sorted(done, key=lambda p: (p.decided_at, p.proposal_id))


# --------------------------------------------------------------------------------------------
# the active configuration


def defaults(project: Path = PROJECT_DIR) -> dict[str, Any]:
    """The project's weights, thresholds and tiers, in the store's format (a fresh copy).

    Read once per version of dbt_project.yml and the seed catalog: the Backtest page's
    active configuration and settings lay every approved change over them, and parsing the
    YAML for each change made the page take seconds."""
    yml, seed = project / "dbt_project.yml", project / "seeds" / "indicator_catalog.csv"
    return copy.deepcopy(_defaults(str(project), yml.stat().st_mtime_ns,
                                   seed.stat().st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _defaults(project: str, _yml_mtime: int, _seed_mtime: int) -> dict[str, Any]:
    root = Path(project)
    return {"weights": catalog_weights(root),
            "thresholds": project_vars(root)["indicator_thresholds"],
            "tiers": default_tiers(root)}


def _leaves(doc: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for ind, w in (doc.get("weights") or {}).items():
        yield ("weights", ind), w
    for ind, names in (doc.get("thresholds") or {}).items():
        for name, v in names.items():
            yield ("thresholds", ind, name), v
    for tier, v in (doc.get("tiers") or {}).items():
        yield ("tiers", tier), v


def _lookup(doc: dict[str, Any], key: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in key:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(doc: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in key[:-1]:
        node = node.setdefault(part, {})
    node[key[-1]] = value


def key_name(key: tuple[str, ...]) -> str:
    """`weights.foreign_hours`, `thresholds.low_rate.max_ratio`, `tiers.medium`."""
    return ".".join(key)


def overlay(base: dict[str, Any], change: Change | dict[str, Any],
            project: Path = PROJECT_DIR) -> dict[str, Any]:
    """`base` (overrides) with `change` laid over it, values equal to the defaults dropped.

    Raises RulesError when the tiers would no longer be in order (high > medium > low)."""
    doc = change.as_dict() if isinstance(change, Change) else change
    found = defaults(project)
    merged: dict[str, Any] = {}
    for source in (base, doc):
        for key, value in _leaves(source):
            _set(merged, key, value)
    out: dict[str, Any] = {}
    for key, value in _leaves(merged):
        default = _lookup(found, key)
        if default is None:
            continue  # no longer in the project (a code update removed it): ignored
        if value != default:
            _set(out, key, value)
    tiers = {**found["tiers"], **out.get("tiers", {})}
    if not tiers["high"] > tiers["medium"] > tiers["low"]:
        raise RulesError(
            f"tiers out of order: high {tiers['high']:g}, medium {tiers['medium']:g}, low "
            f"{tiers['low']:g}; each tier's lowest score must be above the next one's")
    return out


@dataclass
class Active:
    """The active configuration: overrides of the defaults, where each came from."""

    overrides: dict[str, Any]
    version: int  # the number of approved changes
    sources: dict[tuple[str, ...], Proposal] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # approved keys the project no longer has

    def env_value(self) -> str:
        return json.dumps(self.overrides, sort_keys=True) if self.overrides else ""


def active(home: Home, at: dt.datetime | None = None, project: Path = PROJECT_DIR) -> Active:
    """The defaults overlaid by every change approved (by `at`), in the order of approval."""
    changes = approved(home, at)
    found = defaults(project)
    overrides: dict[str, Any] = {}
    sources: dict[tuple[str, ...], Proposal] = {}
    ignored: list[str] = []
    for p in changes:
        for key, _value in _leaves(p.change):
            if _lookup(found, key) is None:
                ignored.append(f"{key_name(key)} (#{p.proposal_id})")
            else:
                sources[key] = p
        try:
            overrides = overlay(overrides, p.change, project)
        except RulesError:  # tiers the project's new defaults put out of order: keep going
            overrides = _unchecked(overrides, p.change, found)
    return Active(overrides, len(changes), sources, ignored)


def _unchecked(base: dict[str, Any], change: dict[str, Any], found: dict[str, Any]
               ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in (base, change):
        for key, value in _leaves(source):
            if _lookup(found, key) is not None:
                _set(out, key, value)
    return out


def settings(home: Home, project: Path = PROJECT_DIR) -> list[dict[str, Any]]:
    """Every weight, threshold and tier: its active value, default and where it comes from."""
    act = active(home, project=project)
    found = defaults(project)
    files = {"weights": "seeds/indicator_catalog.csv", "thresholds": "dbt_project.yml",
             "tiers": "dbt_project.yml"}
    rows = []
    for key, default in _leaves(found):
        value = _lookup(act.overrides, key)
        p = act.sources.get(key)
        if p is None:
            source = f"default ({files[key[0]]})"
        else:
            source = (f"#{p.proposal_id}, approved by {p.decided_by} "
                      f"{p.decided_at:%Y-%m-%d %H:%M} UTC")
            if value is None:
                source += " (back to the default)"
        rows.append({"setting": key_name(key), "value": default if value is None else value,
                     "default": default, "changed": value is not None, "source": source})
    return rows


def env_value(home: Home, at: dt.datetime | None = None) -> str:
    """ITW_RADAR_RULES for dbt: the active overrides as JSON, '' with none."""
    return active(home, at).env_value()


def for_run(home: Home, started_at: dt.datetime | None) -> str:
    """ITW_RADAR_RULES of a DAG run: the configuration active when the run started, so that
    every dbt task of a run (and its retries) scores with the same rules."""
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=dt.UTC)  # Airflow's times are UTC
    return env_value(home, started_at)


def applied(overrides: dict[str, Any]) -> AbstractContextManager[None]:
    """Set ITW_RADAR_RULES for in-process dbt runs (dbt_runner.run_dbt) inside the block."""
    return _env(RULES_ENV, Active(overrides, 0).env_value())


# --------------------------------------------------------------------------------------------
# proposing and deciding


def _text(value: str | None, what: str, fix: str, limit: int = MAX_REASON_CHARS) -> str:
    text = (value or "").strip()
    if not text:
        raise RulesError(f"{what} is empty; {fix}")
    if len(text) > limit:
        raise RulesError(f"{what} is {len(text)} characters long; shorten it to at most {limit}")
    return text


def propose(home: Home, change_text: str, reason: str, user: str,
            backtest_dir: Path | str | None = None, where: str = "the change") -> int:
    """Record a proposal (pending until another user approves it); returns its id.

    `backtest_dir`: the scratch folder of the backtest it was checked with; it must have
    tried this very change on the configuration active now."""
    user = _text(user, "the user", "give --user (or set $USER), or log in")
    reason = _text(reason, "the reason", "say why the change is needed (--reason)")
    if len(change_text or "") > MAX_CHANGE_CHARS:
        raise RulesError(f"{where} is longer than {MAX_CHANGE_CHARS} characters")
    try:
        change = change_from_text(change_text, where)
    except BacktestError as exc:
        raise RulesError(str(exc)) from exc
    if not change:
        raise RulesError(f"{where} changes nothing: give weights:, thresholds: or tiers:")
    act = active(home)
    combined = overlay(act.overrides, change)
    if combined == act.overrides:
        raise RulesError(f"{where}: every value in it is already active; nothing to propose")
    summary = None
    if backtest_dir is not None:
        record = read_record(Path(backtest_dir))
        tried = record.get("change")
        if tried != json.loads(json.dumps(change.as_dict())):
            raise RulesError(f"the backtest in {backtest_dir} tried another change ({tried}); "
                             "backtest this change, or propose the change it tried")
        if record.get("base_version") != act.version:
            raise RulesError(
                f"the backtest in {backtest_dir} was laid over rules version "
                f"{record.get('base_version')}; the active configuration is version "
                f"{act.version} now: run the backtest again")
        summary = str(record.get("summary") or "")
        backtest_dir = str(Path(backtest_dir).resolve())
    now = dt.datetime.now(dt.UTC)
    with _connect(home) as con:
        con.execute("BEGIN TRANSACTION")
        row = con.execute("SELECT coalesce(max(proposal_id), 0) + 1 FROM proposals").fetchone()
        proposal_id = int(row[0]) if row else 1
        con.execute("INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [proposal_id, json.dumps(change.as_dict(), sort_keys=True),
                     change_text.strip() + "\n", reason, user, now, act.version,
                     backtest_dir, summary])
        con.execute("COMMIT")
    return proposal_id


def decide(home: Home, proposal_id: int, decision: str, reason: str, user: str,
           allow_stale: bool = False) -> Proposal:
    """Approve or reject a pending proposal. Approving your own proposal is refused: a change
    needs a second person's review (rejecting your own withdraws it). A proposal made on an
    older configuration is refused unless `allow_stale`: its backtest no longer tells what it
    does. Returns the decided proposal."""
    if decision not in DECISIONS:
        raise RulesError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    user = _text(user, "the user", "give --user (or set $USER), or log in")
    reason = _text(reason, "the reason", "say why (--reason)")
    p = get(home, proposal_id)
    if p.decision is not None:
        raise RulesError(f"proposal #{proposal_id} was already {p.decision} by {p.decided_by} "
                         f"on {p.decided_at:%Y-%m-%d %H:%M} UTC; a decision is final: propose "
                         "a new change")
    if decision == "approved":
        if user == p.proposed_by:
            raise RulesError(f"proposal #{proposal_id} was proposed by {user}: a change needs "
                             "the review of a second person; ask another admin to approve it")
        act = active(home)
        if p.based_on_version != act.version and not allow_stale:
            raise RulesError(
                f"proposal #{proposal_id} was made on rules version {p.based_on_version}; the "
                f"active configuration is version {act.version} now, so its backtest no longer "
                "shows what it does: propose it again with a new backtest, or approve with "
                "--stale-ok")
        overlay(act.overrides, p.change)  # tiers still in order on top of what is active
    with _connect(home) as con:
        con.execute("BEGIN TRANSACTION")
        taken = con.execute("SELECT decision FROM decisions WHERE proposal_id = ?",
                            [proposal_id]).fetchone()
        if taken:
            con.execute("ROLLBACK")
            raise RulesError(f"proposal #{proposal_id} was {taken[0]} meanwhile")
        con.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?)",
                    [proposal_id, decision, reason, user, dt.datetime.now(dt.UTC)])
        con.execute("COMMIT")
    return get(home, proposal_id)


def revert_change(home: Home, proposal_id: int) -> Change:
    """The change that puts back what approved proposal #id changed: each value as it was just
    before its approval (the default where nothing had changed it)."""
    p = get(home, proposal_id)
    if p.decision != "approved":
        raise RulesError(f"proposal #{proposal_id} is {p.status}, not approved: nothing to "
                         "revert")
    before: dict[str, Any] = {}
    for q in approved(home):
        if q.proposal_id == proposal_id:
            break
        before = _unchecked(before, q.change, defaults())
    found = defaults()
    doc: dict[str, Any] = {}
    for key, _value in _leaves(p.change):
        old = _lookup(before, key)
        old = _lookup(found, key) if old is None else old
        if old is not None:
            _set(doc, key, old)
    return parse_change(doc, f"the revert of #{proposal_id}")


def describe(change: dict[str, Any]) -> str:
    """`weights.foreign_hours=0.5, tiers.medium=30`."""
    return ", ".join(f"{key_name(k)}={v:g}" if isinstance(v, float) else f"{key_name(k)}={v}"
                     for k, v in _leaves(change))
