"""Backtest a rule change: rebuild past nights with changed weights, thresholds or tiers in a
scratch copy and say what would have changed, before anyone's score does.

`itw-radar backtest --vars change.yml --nights 30` reads a change file

    weights:            {indicator_id: weight}
    thresholds:         {indicator_id: {threshold name: value}}
    tiers:              {high|medium|low: lowest score}

checks every indicator and name against the seed catalog and `dbt_project.yml`, copies the
warehouse into `<home>/backtest/<stamp>/`, rebuilds every loaded night there (the same batched
rebuild as `itw-radar rebuild`) with the change laid over the active configuration (the
approved changes, itw_radar.rules), through the same environment variable the nightly runs
read (ITW_RADAR_RULES, macros/rules.sql), and compares the last N nights with the warehouse as
it is (what it was built with): per night and tier, the accounts that would enter or leave it,
and against the analysts' decisions, precision and recall of confirmed and false-positive
accounts before and after. The warehouse and the serving database are only read. The scratch
folder keeps `backtest.json` (the change, the configuration version it was laid over, the
result) for `itw-radar rules propose --backtest DIR`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from itw_radar.dbt_runner import PROJECT_DIR, loaded_nights, rebuild
from itw_radar.paths import Home

TIER_VARS = {"high": "tier_high", "medium": "tier_medium", "low": "tier_low"}
FLAGGED = ("high", "medium")  # what the precision and recall below count as flagged


class BacktestError(ValueError):
    """A change file or a home that cannot be backtested; the message says what to fix."""


@dataclass
class Change:
    weights: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    tiers: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The change as the store and ITW_RADAR_RULES keep it: only the sections it has."""
        doc: dict[str, Any] = {}
        if self.weights:
            doc["weights"] = dict(sorted(self.weights.items()))
        if self.thresholds:
            doc["thresholds"] = {k: dict(sorted(v.items()))
                                 for k, v in sorted(self.thresholds.items())}
        if self.tiers:
            doc["tiers"] = {t: self.tiers[t] for t in TIER_VARS if t in self.tiers}
        return doc

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.as_dict(), sort_keys=False, default_flow_style=False)

    def __bool__(self) -> bool:
        return bool(self.weights or self.thresholds or self.tiers)


def project_vars(project: Path = PROJECT_DIR) -> dict[str, Any]:
    return yaml.safe_load((project / "dbt_project.yml").read_text())["vars"]


def catalog_weights(project: Path = PROJECT_DIR) -> dict[str, float]:
    with (project / "seeds" / "indicator_catalog.csv").open(newline="") as f:
        return {r["indicator_id"]: float(r["weight"]) for r in csv.DictReader(f)}


def default_tiers(project: Path = PROJECT_DIR) -> dict[str, float]:
    values = project_vars(project)
    return {t: float(values[v]) for t, v in TIER_VARS.items()}


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BacktestError(f"{where}: {value!r} is not a number")
    return float(value)


def _threshold(value: object, default: object, where: str) -> int | float:
    """A threshold keeps the kind of its default: a count or a number of days stays whole
    (the SQL uses it in intervals and comparisons of counts)."""
    number = _number(value, where)
    if isinstance(default, int) and not isinstance(default, bool):
        if not number.is_integer():
            raise BacktestError(f"{where}: {value!r} is not a whole number (the default is "
                                f"{default})")
        return int(number)
    return number


def load_change(path: Path, project: Path = PROJECT_DIR) -> Change:
    """Parse and check a change file; an unknown indicator, threshold or tier says which."""
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BacktestError(f"{path}: cannot read the change file ({exc})") from exc
    return parse_change(doc, str(path), project)


def change_from_text(text: str, where: str = "the change", project: Path = PROJECT_DIR
                     ) -> Change:
    """`load_change` for a change given as YAML text (the dashboard, the rules store)."""
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        raise BacktestError(f"{where}: not YAML ({exc})") from exc
    return parse_change(doc, where, project)


def parse_change(doc: object, where: str, project: Path = PROJECT_DIR) -> Change:
    """Check a parsed change (weights:, thresholds:, tiers:) against the catalog and the vars;
    every error starts with `where` and names the entry to fix."""
    if not isinstance(doc, dict):
        raise BacktestError(f"{where}: expected a mapping with weights:, thresholds:, tiers:")
    unknown = set(doc) - {"weights", "thresholds", "tiers"}
    if unknown:
        raise BacktestError(f"{where}: unknown section(s) {sorted(unknown)}; use weights:, "
                            "thresholds: and tiers:")
    for section in ("weights", "thresholds", "tiers"):
        if not isinstance(doc.get(section) or {}, dict):
            raise BacktestError(f"{where}: {section}: expected name: value pairs")
    known = catalog_weights(project)
    limits = project_vars(project)["indicator_thresholds"]
    change = Change()
    for ind, weight in (doc.get("weights") or {}).items():
        if ind not in known:
            raise BacktestError(f"{where}: weights: unknown indicator {ind!r} (known: "
                                f"{', '.join(sorted(known))})")
        w = _number(weight, f"{where}: weights: {ind}")
        if not 0 <= w <= 1:
            raise BacktestError(f"{where}: weights: {ind}: {w} is not between 0 and 1")
        change.weights[ind] = w
    for ind, names in (doc.get("thresholds") or {}).items():
        if ind not in limits:
            raise BacktestError(f"{where}: thresholds: unknown indicator {ind!r} (with "
                                f"thresholds: {', '.join(sorted(limits))})")
        if not isinstance(names, dict):
            raise BacktestError(f"{where}: thresholds: {ind}: expected name: value pairs")
        for name, value in names.items():
            if name not in limits[ind]:
                raise BacktestError(f"{where}: thresholds: {ind}: unknown threshold {name!r} "
                                    f"(known: {', '.join(sorted(limits[ind]))})")
            change.thresholds.setdefault(ind, {})[name] = _threshold(
                value, limits[ind][name], f"{where}: thresholds: {ind}.{name}")
    for tier, low in (doc.get("tiers") or {}).items():
        if tier not in TIER_VARS:
            raise BacktestError(f"{where}: tiers: unknown tier {tier!r} (high, medium, low)")
        low = _number(low, f"{where}: tiers: {tier}")
        if not 0 < low <= 100:
            raise BacktestError(f"{where}: tiers: {tier}: {low:g} is not a score between 0 "
                                "and 100")
        change.tiers[tier] = low
    return change


def dbt_vars(change: Change, project: Path = PROJECT_DIR) -> dict[str, Any]:
    """--vars for the change: the whole indicator_thresholds (dbt replaces a var, not merges).

    With `scratch_project` this writes a change into a copy of the project the way one would by
    hand; the tests check the backtest (which sets ITW_RADAR_RULES instead) against it."""
    out: dict[str, Any] = {TIER_VARS[t]: v for t, v in change.tiers.items()}
    if change.thresholds:
        merged = {k: dict(v) for k, v in project_vars(project)["indicator_thresholds"].items()}
        for ind, names in change.thresholds.items():
            merged[ind].update(names)
        out["indicator_thresholds"] = merged
    return out


def scratch_project(change: Change, dest: Path, project: Path = PROJECT_DIR) -> Path:
    """A copy of the dbt project with the changed weights in its seed catalog."""
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(
        "target", "logs", "dbt_packages", ".user.yml"))
    seed = dest / "seeds" / "indicator_catalog.csv"
    with seed.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames or []
    for row in rows:
        if row["indicator_id"] in change.weights:
            row["weight"] = f"{change.weights[row['indicator_id']]:g}"
    with seed.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return dest


def _tiers(db: Path, nights: list[dt.date]) -> dict[tuple[dt.date, str], str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("""
            SELECT as_of_date, account_id, risk_tier FROM main.account_score_history
            WHERE as_of_date >= ? AND as_of_date <= ?""", [nights[0], nights[-1]]).fetchall()
    finally:
        con.close()
    return {(d, a): t for d, a, t in rows}


def _reasons(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {a: r or "" for a, r in con.execute(
            "SELECT account_id, reasons FROM main.account_risk").fetchall()}
    finally:
        con.close()


def _night_reasons(db: Path, nights: list[dt.date]) -> dict[tuple[dt.date, str], str]:
    """Each account's indicator hits on each night of `nights`, strongest first: `id (points)`
    (the serving reasons text is kept for the last night only; the per-night hits are kept for
    every night, in the warehouse and in the rebuilt copy alike)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("""
            SELECT as_of_date, account_id,
                   string_agg(indicator_id || ' (' || round(points, 1) || ' pts)', '; '
                              ORDER BY points DESC, indicator_id)
            FROM main.account_indicator_hits
            WHERE as_of_date >= ? AND as_of_date <= ?
            GROUP BY ALL""", [nights[0], nights[-1]]).fetchall()
    finally:
        con.close()
    return {(d, a): r for d, a, r in rows}


@dataclass
class Movement:
    night: dt.date
    tier: str
    entered: list[str]
    left: list[str]


@dataclass
class Quality:
    flagged_confirmed: int
    flagged_false_positive: int
    confirmed: int
    false_positive: int

    @property
    def precision(self) -> float | None:
        n = self.flagged_confirmed + self.flagged_false_positive
        return self.flagged_confirmed / n if n else None

    @property
    def recall(self) -> float | None:
        return self.flagged_confirmed / self.confirmed if self.confirmed else None


@dataclass
class BacktestResult:
    scratch: Path
    nights: list[dt.date]
    movements: list[Movement]
    before: Quality
    after: Quality
    reasons_after: dict[str, str]
    reasons_before: dict[str, str]
    change: Change = field(default_factory=Change)
    base_version: int = 0  # the rules configuration the change was laid over (itw_radar.rules)
    rules: dict[str, Any] = field(default_factory=dict)  # what the rebuild scored with
    # (night, account) -> that night's hits (id and points): why a mover moved on its night
    night_reasons_after: dict[tuple[dt.date, str], str] = field(default_factory=dict)
    night_reasons_before: dict[tuple[dt.date, str], str] = field(default_factory=dict)

    def mover_rows(self) -> list[dict[str, Any]]:
        """Every account that would enter or leave a tier, night by night: its reasons after
        the change (entering) or before it (leaving); on the last night the full reasons text,
        on earlier nights the night's hits."""
        last = self.nights[-1]
        rows = []
        for m in self.movements:
            for move, ids, full, per_night in (
                    ("enter", m.entered, self.reasons_after, self.night_reasons_after),
                    ("leave", m.left, self.reasons_before, self.night_reasons_before)):
                for a in ids:
                    why = full.get(a, "") if m.night == last else per_night.get((m.night, a), "")
                    rows.append({"night": m.night, "tier": m.tier, "move": move,
                                 "account_id": a, "reasons": why or "no indicator fired"})
        return rows


def _quality(tiers: dict[tuple[dt.date, str], str], night: dt.date,
             decisions: dict[str, str]) -> Quality:
    flagged = {a for (d, a), t in tiers.items() if d == night and t in FLAGGED}
    conf = {a for a, s in decisions.items() if s == "confirmed"}
    fp = {a for a, s in decisions.items() if s == "false_positive"}
    return Quality(len(flagged & conf), len(flagged & fp), len(conf), len(fp))


def compare(before_db: Path, after_db: Path, nights: list[dt.date],
            decisions: dict[str, str]) -> tuple[list[Movement], Quality, Quality]:
    before, after = _tiers(before_db, nights), _tiers(after_db, nights)
    moves = []
    for night in nights:
        for tier in ("high", "medium", "low"):
            was = {a for (d, a), t in before.items() if d == night and t == tier}
            now = {a for (d, a), t in after.items() if d == night and t == tier}
            moves.append(Movement(night, tier, sorted(now - was), sorted(was - now)))
    return moves, _quality(before, nights[-1], decisions), _quality(after, nights[-1], decisions)


RESULT_FILE = "backtest.json"


def run_backtest(home: Home, change: Change, nights: int, scratch: Path | None = None
                 ) -> BacktestResult:
    """Rebuild every loaded night in a scratch copy with `change` laid over the active rules
    configuration; compare the last `nights` with the warehouse as it is."""
    from itw_radar import reviews, rules

    if nights < 1:
        raise BacktestError("--nights must be at least 1")
    if not home.warehouse.exists():
        raise BacktestError(f"no warehouse at {home.warehouse}: run `itw-radar run` first")
    loaded = loaded_nights(home.warehouse)
    if not loaded:
        raise BacktestError(f"no night loaded in {home.warehouse}: run `itw-radar run` first")
    active = rules.active(home)
    try:
        combined = rules.overlay(active.overrides, change)
    except rules.RulesError as exc:
        raise BacktestError(str(exc)) from exc
    scratch = scratch or home.root / "backtest" / dt.datetime.now(dt.UTC).strftime(
        "%Y%m%dT%H%M%SZ")
    scratch.mkdir(parents=True, exist_ok=False)
    warehouse = scratch / "warehouse.duckdb"
    shutil.copy2(home.warehouse, warehouse)
    with rules.applied(combined):
        rebuild("build --exclude resource_type:unit_test", warehouse=warehouse, nights=loaded,
                target_path=scratch / "target", log_path=scratch / "logs")
    window = loaded[-nights:]
    current = reviews.latest_decisions(home)
    decisions = dict(zip(current["account_id"], current["status"], strict=True))
    moves, before, after = compare(home.warehouse, warehouse, window, decisions)
    result = BacktestResult(scratch, window, moves, before, after, _reasons(warehouse),
                            _reasons(home.warehouse), change, active.version, combined,
                            _night_reasons(warehouse, window),
                            _night_reasons(home.warehouse, window))
    write_record(result)
    return result


def write_record(result: BacktestResult) -> Path:
    """`<scratch>/backtest.json`: what was tried on which configuration, and the result."""
    path = result.scratch / RESULT_FILE
    path.write_text(json.dumps({
        "change": result.change.as_dict(), "base_version": result.base_version,
        "rules": result.rules, "nights": [n.isoformat() for n in result.nights],
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "summary": format_result(result, listed=0)}, indent=1))
    return path


def read_record(scratch: Path) -> dict[str, Any]:
    """The record `run_backtest` left in `scratch`; BacktestError naming the folder if none."""
    path = Path(scratch) / RESULT_FILE
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BacktestError(f"{scratch}: no backtest record ({RESULT_FILE}) there; give the "
                            "folder `itw-radar backtest` printed (scratch copy ...)") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("change"), dict):
        raise BacktestError(f"{path}: not a backtest record")
    return doc


def format_result(result: BacktestResult, listed: int = 10) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    base = (f"laid over rules version {result.base_version}" if result.base_version
            else "laid over the project defaults")
    lines = [f"Backtest of {len(result.nights)} nights ({result.nights[0]} to "
             f"{result.nights[-1]}); change {base}; scratch copy {result.scratch}", "",
             "| night | tier | enter | leave |", "|---|---|---:|---:|"]
    for m in result.movements:
        lines.append(f"| {m.night} | {m.tier} | {len(m.entered)} | {len(m.left)} |")
    shown: dict[tuple[dt.date, str, str], int] = {}
    for row in result.mover_rows():  # per night, tier and move, the first `listed` accounts
        key = (row["night"], row["tier"], row["move"])
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= listed:
            lines.append(f"- {row['night']} {row['tier']} {row['move']}: {row['account_id']}: "
                         f"{row['reasons']}")
    b, a = result.before, result.after
    lines += ["", "Against the analysts' decisions on the last night (flagged = high or medium):",
              "| | precision | recall | confirmed flagged | false positives flagged |",
              "|---|---:|---:|---:|---:|",
              f"| before | {pct(b.precision)} | {pct(b.recall)} | {b.flagged_confirmed} of "
              f"{b.confirmed} | {b.flagged_false_positive} of {b.false_positive} |",
              f"| after | {pct(a.precision)} | {pct(a.recall)} | {a.flagged_confirmed} of "
              f"{a.confirmed} | {a.flagged_false_positive} of {a.false_positive} |"]
    return "\n".join(lines)
