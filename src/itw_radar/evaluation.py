"""Detection benchmark: score a run against the generator's ground truth (`itw-radar eval`).

Reads `<exports>/_truth/labels.csv` (account_id, is_dprk, scenario) and `account_risk` from the
serving database (or the warehouse, whose marts have the same names), and reports precision,
recall and PR-AUC, precision at the top of the ranking, how often each look-alike scenario lands
in tier high, and the recall of each planted DPRK scenario.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from itw_radar.paths import Home

# Targets of issue 3 on a 30-night default generator run.
TARGET_RECALL_MEDIUM_UP = 0.95
TARGET_PRECISION_HIGH = 0.90
TARGET_MAX_LOOKALIKE_HIGH = 0.02
TOP_K = (50, 200)
ORDINARY_SCENARIOS = frozenset({"legit_freelancer", "legit_client"})


class EvaluationError(RuntimeError):
    """The labels or the scores cannot be read: the message says which file and what to do."""


@dataclass(frozen=True)
class TierMetrics:
    name: str  # "high" or "medium+"
    flagged: int
    true_positives: int
    precision: float
    recall: float


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    accounts: int
    share_high: float
    share_medium_up: float
    mean_score: float


@dataclass
class EvalReport:
    database: Path
    as_of_date: str | None
    accounts: int
    dprk_accounts: int
    high: TierMetrics
    medium_up: TierMetrics
    pr_auc: float
    precision_at: dict[int, float]
    dprk_scenarios: list[ScenarioRow] = field(default_factory=list)
    lookalikes: list[ScenarioRow] = field(default_factory=list)
    ordinary: list[ScenarioRow] = field(default_factory=list)

    @property
    def worst_lookalike_high(self) -> float:
        return max((r.share_high for r in self.lookalikes), default=0.0)

    @property
    def targets(self) -> dict[str, bool]:
        return {
            f"recall at medium+ >= {TARGET_RECALL_MEDIUM_UP:.2f}":
                self.medium_up.recall >= TARGET_RECALL_MEDIUM_UP,
            f"precision at high >= {TARGET_PRECISION_HIGH:.2f}":
                self.high.precision >= TARGET_PRECISION_HIGH,
            f"no look-alike above {TARGET_MAX_LOOKALIKE_HIGH:.0%} in high":
                self.worst_lookalike_high <= TARGET_MAX_LOOKALIKE_HIGH,
        }

    @property
    def targets_met(self) -> bool:
        return all(self.targets.values())


def read_labels(labels_csv: Path) -> dict[str, tuple[bool, str]]:
    """account_id -> (is_dprk, scenario) from the generator's labels.csv."""
    if not labels_csv.is_file():
        raise EvaluationError(f"no ground truth at {labels_csv}: run `itw-radar generate` into "
                              f"that exports folder first (it writes _truth/labels.csv)")
    labels: dict[str, tuple[bool, str]] = {}
    with labels_csv.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"account_id", "is_dprk", "scenario"} - set(reader.fieldnames or ())
        if missing:
            raise EvaluationError(f"{labels_csv} lacks the column(s) {', '.join(sorted(missing))}")
        for row in reader:
            flag = row["is_dprk"].strip().lower() in ("1", "true", "t", "yes")
            labels[row["account_id"]] = (flag, row["scenario"])
    if not labels:
        raise EvaluationError(f"{labels_csv} has no rows")
    return labels


def find_database(home: Home) -> Path:
    """The serving database when published, else the warehouse (same mart names)."""
    for path in (home.serving, home.warehouse):
        if path.is_file():
            return path
    raise EvaluationError(f"neither {home.serving} nor {home.warehouse} exists: run "
                          f"`itw-radar run` on the exports first")


def _read_scores(db: Path) -> tuple[dict[str, tuple[float, str]], str | None]:
    if not db.is_file():
        raise EvaluationError(f"no database at {db}: run `itw-radar run` first")
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()}
        if "account_risk" not in tables:
            raise EvaluationError(f"{db} has no table account_risk: the detection models have "
                                  f"not run on it yet")
        rows = con.execute(
            "select account_id, risk_score, risk_tier, as_of_date::varchar from account_risk"
        ).fetchall()
    finally:
        con.close()
    as_of = max((r[3] for r in rows if r[3]), default=None)
    return {r[0]: (float(r[1] or 0.0), r[2] or "none") for r in rows}, as_of


def average_precision(scored: list[tuple[float, bool]]) -> float:
    """Area under the precision-recall curve (step-wise; tied scores form one threshold)."""
    positives = sum(1 for _, p in scored if p)
    if positives == 0:
        return 0.0
    ordered = sorted(scored, key=lambda x: -x[0])
    ap = tp = seen = 0
    prev_recall = 0.0
    i = 0
    while i < len(ordered):
        score = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == score:
            tp += ordered[i][1]
            seen += 1
            i += 1
        recall = tp / positives
        ap += (recall - prev_recall) * (tp / seen)
        prev_recall = recall
    return ap


def _tier(name: str, flagged: list[bool], positives: int) -> TierMetrics:
    tp = sum(flagged)
    return TierMetrics(name, len(flagged), tp, tp / len(flagged) if flagged else 0.0,
                       tp / positives if positives else 0.0)


def evaluate(labels_csv: Path, serving_db: Path) -> EvalReport:
    """Compare account_risk in `serving_db` (serving or warehouse DuckDB) with the labels.

    Labelled accounts missing from account_risk count as score 0, tier none.
    """
    labels = read_labels(Path(labels_csv))
    scores, as_of = _read_scores(Path(serving_db))
    joined = [(aid, dprk, scen, *scores.get(aid, (0.0, "none")))
              for aid, (dprk, scen) in labels.items()]
    positives = sum(1 for r in joined if r[1])
    high = _tier("high", [r[1] for r in joined if r[4] == "high"], positives)
    medium_up = _tier("medium+", [r[1] for r in joined if r[4] in ("high", "medium")], positives)
    ranked = sorted(joined, key=lambda r: (-r[3], r[0]))
    precision_at = {k: sum(r[1] for r in ranked[:k]) / min(k, len(ranked)) for k in TOP_K
                    if ranked}

    by_scenario: dict[str, list[tuple]] = {}
    for r in joined:
        by_scenario.setdefault(r[2], []).append(r)
    report = EvalReport(
        database=Path(serving_db), as_of_date=as_of, accounts=len(joined),
        dprk_accounts=positives, high=high, medium_up=medium_up,
        pr_auc=average_precision([(r[3], r[1]) for r in joined]), precision_at=precision_at)
    for scen in sorted(by_scenario):
        rows = by_scenario[scen]
        n = len(rows)
        row = ScenarioRow(scen, n, sum(r[4] == "high" for r in rows) / n,
                          sum(r[4] in ("high", "medium") for r in rows) / n,
                          sum(r[3] for r in rows) / n)
        if any(r[1] for r in rows):
            report.dprk_scenarios.append(row)
        elif scen in ORDINARY_SCENARIOS:
            report.ordinary.append(row)
        else:
            report.lookalikes.append(row)
    return report


def evaluate_home(exports: Path, home: Home) -> EvalReport:
    """`itw-radar eval --exports DIR --home DIR`: labels from the exports, scores from the home."""
    return evaluate(Path(exports) / "_truth" / "labels.csv", find_database(home))


def format_report(report: EvalReport) -> str:
    """The benchmark as Markdown tables (printable and pasteable into docs/benchmarks.md)."""
    lines = [
        f"Detection benchmark: {report.accounts} labelled accounts, {report.dprk_accounts} DPRK, "
        f"scores as of {report.as_of_date or 'unknown'} ({report.database})",
        "",
        "| cut | flagged | true positives | precision | recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in (report.high, report.medium_up):
        lines.append(f"| tier {t.name} | {t.flagged} | {t.true_positives} | "
                     f"{t.precision:.3f} | {t.recall:.3f} |")
    lines += ["", f"PR-AUC (average precision of the risk-score ranking): {report.pr_auc:.3f}"]
    lines += [f"Precision at top {k}: {v:.3f}" for k, v in report.precision_at.items()]
    lines += ["", "| planted DPRK scenario | accounts | recall high | recall medium+ | "
              "mean score |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.scenario} | {r.accounts} | {r.share_high:.2f} | {r.share_medium_up:.2f} | "
              f"{r.mean_score:.1f} |" for r in report.dprk_scenarios]
    lines += ["", "| legitimate scenario | accounts | share in high | share in medium+ | "
              "mean score |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.scenario}{' (look-alike)' if r in report.lookalikes else ''} | {r.accounts} "
              f"| {r.share_high:.3f} | {r.share_medium_up:.3f} | {r.mean_score:.1f} |"
              for r in [*report.lookalikes, *report.ordinary]]
    lines += ["", "Targets:"]
    lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in report.targets.items()]
    return "\n".join(lines)
