"""Detection quality guard: the real loader + dbt on a small generator run and a small run of the
independently written holdout platform (tests/holdout), scored against their ground truth.

The floors are conservative (the model clears them with a wide margin, see docs/detection.md),
so the test is stable across small changes but fails when detection breaks: an indicator that
stops firing, a score or tier that collapses, or look-alikes that flood tier high. Each dataset
is loaded night by night, then dbt builds every model with --full-refresh on the last night
(which replays the nights one by one; tests/test_dbt_project.py shows it equals the incremental
path), skipping data and unit tests, which tests/test_dbt_project.py runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from holdout.platform import write_platform

from itw_radar.dbt_runner import run_dbt
from itw_radar.evaluation import EvalReport, evaluate, format_report
from itw_radar.generator import generate
from itw_radar.ingestion import load_night
from itw_radar.paths import Home

NIGHTS = 10
MIN_PRECISION_HIGH = 0.80
MIN_RECALL_MEDIUM_UP = 0.65  # the small generator run measures 0.80 (20 of 25)
MAX_LOOKALIKES_IN_HIGH = 0.05  # share of all look-alike accounts
MAX_LOOKALIKES_IN_MEDIUM_UP = 0.35
MIN_PR_AUC = 0.70


def _score(root: Path, start: date, write: Callable[[Path], Path]) -> EvalReport:
    exports = root / "exports"
    labels = write(exports)
    home = Home.resolve(root / "home")
    last = start + timedelta(days=NIGHTS - 1)
    for i in range(NIGHTS):
        load_night(home, exports, start + timedelta(days=i))
    run_dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            warehouse=home.warehouse, as_of=last, full_refresh=True,
            target_path=root / "target", log_path=root / "logs")
    report = evaluate(labels, home.warehouse)
    print(format_report(report))  # shown by pytest -s / on failure
    return report


@pytest.fixture(scope="module")
def generator_report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    start = date(2026, 11, 1)

    def write(out: Path) -> Path:
        generate(out, start, NIGHTS, freelancers=600, clients=250, seed=11)
        return out / "_truth" / "labels.csv"

    return _score(tmp_path_factory.mktemp("quality_generator"), start, write)


@pytest.fixture(scope="module")
def holdout_report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    start = date(2026, 11, 2)

    def write(out: Path) -> Path:
        return Path(write_platform(out, start, NIGHTS, accounts=700, seed=3, fmt="mixed"))

    return _score(tmp_path_factory.mktemp("quality_holdout"), start, write)


def _lookalike_share(report: EvalReport, attr: str) -> float:
    total = sum(r.accounts for r in report.lookalikes)
    flagged = sum(getattr(r, attr) * r.accounts for r in report.lookalikes)
    return flagged / total if total else 0.0


@pytest.mark.parametrize("dataset", ["generator_report", "holdout_report"])
def test_detection_clears_floors(dataset: str, request: pytest.FixtureRequest) -> None:
    report: EvalReport = request.getfixturevalue(dataset)
    assert report.dprk_accounts >= 10, "too few planted DPRK accounts to judge detection"
    assert report.lookalikes, "the labels name no look-alike scenario"
    problems = []
    if report.high.flagged == 0 or report.high.precision < MIN_PRECISION_HIGH:
        problems.append(f"precision at high {report.high.precision:.3f} "
                        f"({report.high.flagged} flagged) < {MIN_PRECISION_HIGH}")
    if report.medium_up.recall < MIN_RECALL_MEDIUM_UP:
        problems.append(f"recall at medium+ {report.medium_up.recall:.3f} "
                        f"< {MIN_RECALL_MEDIUM_UP}")
    if (share := _lookalike_share(report, "share_high")) > MAX_LOOKALIKES_IN_HIGH:
        problems.append(f"{share:.1%} of look-alike accounts in high > "
                        f"{MAX_LOOKALIKES_IN_HIGH:.0%}")
    if (share := _lookalike_share(report, "share_medium_up")) > MAX_LOOKALIKES_IN_MEDIUM_UP:
        problems.append(f"{share:.1%} of look-alike accounts at medium+ > "
                        f"{MAX_LOOKALIKES_IN_MEDIUM_UP:.0%}")
    if report.pr_auc < MIN_PR_AUC:
        problems.append(f"PR-AUC {report.pr_auc:.3f} < {MIN_PR_AUC}")
    assert not problems, (
        f"detection regressed on the {dataset.split('_')[0]} run: " + "; ".join(problems)
        + ". Compare the per-scenario table printed above with docs/detection.md to find the "
        "indicator or score change responsible.\n" + format_report(report))


def test_every_dprk_scenario_is_caught_somewhere(generator_report: EvalReport,
                                                 holdout_report: EvalReport) -> None:
    """No planted scenario goes entirely unseen (each has some account at medium or above)."""
    missed = [r.scenario for rep in (generator_report, holdout_report)
              for r in rep.dprk_scenarios if r.share_medium_up == 0]
    assert not missed, f"planted DPRK scenarios with no account at medium or above: {missed}"


def test_clusters_keep_operations_apart(generator_report: EvalReport,
                                        holdout_report: EvalReport) -> None:
    """Issue 27: no cluster mixes two operations or holds a look-alike beside DPRK accounts
    (shared VPN and cloud exits once chained operations into one cluster of 89 accounts)."""
    for name, rep in (("generator", generator_report), ("holdout", holdout_report)):
        p = rep.purity
        assert p.measurable, f"the {name} labels name no operations"
        assert not p.mixed, f"{name}: clusters mixing operations: {p.mixed}"
        assert not p.lookalikes_in_dprk_clusters, (
            f"{name}: look-alikes in DPRK clusters: {p.lookalikes_in_dprk_clusters}")
        assert p.largest_cluster is not None and p.largest_operation is not None
        assert p.largest_cluster[1] <= 2 * p.largest_operation[1], (p.largest_cluster,
                                                                    p.largest_operation)
