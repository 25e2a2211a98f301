"""Any night, any range: `itw-radar run` on export roots dated anywhere, catch-up batches, gaps,
and analysts' decisions on nights dated in the past.

The plans are checked directly (no Airflow); the rest runs through the real DAG (`run_nights`,
`dag.test()`), the real loader, GX suites, dbt project and publishing, on small generated nights.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from test_pipeline_e2e import _marts
from typer.testing import CliRunner

from itw_radar.cli import app
from itw_radar.orchestration import (
    OrchestrationError,
    batch_runs,
    catchup_batch_size,
    plan_run,
    run_nights,
)
from itw_radar.paths import Home
from itw_radar.publishing import published_night
from itw_radar.reviews import record_decision


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def _root(tmp_path: Path, nights: list[date], without_manifest: tuple[date, ...] = ()) -> Path:
    """An export root with empty night folders (a manifest each unless told otherwise)."""
    root = tmp_path / "exports"
    for n in nights:
        folder = root / n.isoformat()
        folder.mkdir(parents=True)
        if n not in without_manifest:
            (folder / "manifest.json").write_text(json.dumps({"files": {"logins.csv": {
                "table": "logins", "rows": 1000 * n.day}}}))
    (root / "_truth").mkdir(exist_ok=True)
    (root / "2026-13-01").mkdir()  # not a date: never a night
    return root


# --------------------------------------------------------------------------------------------
# plans (no Airflow)


@pytest.mark.parametrize("first", [date(1990, 1, 1), date(1999, 12, 30), date(2024, 2, 27),
                                   date(2100, 12, 29)])
def test_without_dates_every_unpublished_night_is_planned(tmp_path: Path, first: date) -> None:
    nights = _days(first, 4)
    root = _root(tmp_path, nights)
    assert plan_run(root, None).nights == nights
    assert plan_run(root, nights[1]).nights == nights[2:]
    done = plan_run(root, nights[-1])
    assert done.nights == [] and "already published" in done.summary


def test_a_gap_stops_the_plan_with_one_sentence_unless_told(tmp_path: Path) -> None:
    nights = [date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 2)]
    root = _root(tmp_path, nights)
    plan = plan_run(root, None)
    assert plan.nights == nights[:3]  # up to the night before the gap
    assert plan.stop and "night 2024-03-01 is missing" in plan.stop
    assert "--skip-missing" in plan.stop and "\n" not in plan.stop
    plan = plan_run(root, None, skip_missing=True)
    assert plan.nights == nights and plan.skipped == [date(2024, 3, 1)] and plan.stop is None
    # the night after the published one is part of the range: its absence is a gap too
    plan = plan_run(root, date(2024, 2, 25))
    assert plan.nights == [] and "night 2024-02-26 is missing" in (plan.stop or "")
    # a range given by hand is checked the same way
    plan = plan_run(root, None, date(2024, 2, 28), date(2024, 3, 2))
    assert plan.nights == nights[1:3] and "2024-03-01" in (plan.stop or "")
    # a range open at one end starts after the published night or ends at the last present
    assert plan_run(root, None, date_to=date(2024, 2, 28)).nights == nights[:2]
    assert plan_run(root, date(2024, 2, 27), date_to=date(2024, 2, 29)).nights == nights[1:3]
    assert plan_run(root, None, date_from=date(2024, 3, 2)).nights == nights[3:]


def test_a_night_without_its_manifest_stops_the_plan(tmp_path: Path) -> None:
    nights = _days(date(2031, 12, 30), 3)
    root = _root(tmp_path, nights, without_manifest=(nights[1],))
    # the platform may be writing it: never gone around
    for skip in (False, True):
        plan = plan_run(root, None, skip_missing=skip)
        assert plan.nights == nights[:1] and "2031-12-31 is not complete" in (plan.stop or "")


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("published", [None, date(2024, 2, 27)])
def test_check_plans_what_run_plans(tmp_path: Path, skip: bool, published: date | None) -> None:
    """`itw-radar check` and `itw-radar run` agree on the nights a run processes."""
    from itw_radar.preflight import NightReport
    from itw_radar.preflight import plan_run as check_plan

    nights = [date(2024, 2, 26), date(2024, 2, 27), date(2024, 2, 28), date(2024, 3, 1),
              date(2024, 3, 2)]
    root = _root(tmp_path, nights, without_manifest=(date(2024, 3, 2),))
    reports = [NightReport(n, "incomplete" if n == date(2024, 3, 2) else "ok") for n in nights]
    checked = check_plan(reports, published, skip)
    planned = plan_run(root, published, skip_missing=skip)
    assert checked.process == planned.nights
    assert (checked.stop_at is None) == (planned.stop is None)
    if planned.stop:
        assert str(checked.stop_at) in planned.stop


def test_batches_never_span_a_gap_or_exceed_their_size() -> None:
    nights = _days(date(2024, 12, 30), 5) + _days(date(2025, 1, 10), 2)
    assert batch_runs(nights, 3) == [nights[0:3], nights[3:5], nights[5:7]]
    assert batch_runs(nights, 1) == [[n] for n in nights]
    assert batch_runs(nights, 100) == [nights[:5], nights[5:]]


def test_catchup_batch_size_reads_the_manifests(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    nights = _days(date(2026, 9, 1), 3)
    root = _root(tmp_path, nights)
    monkeypatch.setenv("ITW_RADAR_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setattr("itw_radar.dbt_runner.LOGINS_PER_GB", 6_000)
    assert catchup_batch_size(root, nights) == 2  # 6,000 logins a GB over 3,000 a night
    monkeypatch.setenv("ITW_RADAR_CATCHUP_NIGHTS", "7")
    assert catchup_batch_size(root, nights) == 7
    monkeypatch.setenv("ITW_RADAR_CATCHUP_NIGHTS", "none")
    with pytest.raises(OrchestrationError, match="ITW_RADAR_CATCHUP_NIGHTS"):
        catchup_batch_size(root, nights)


# --------------------------------------------------------------------------------------------
# through the real DAG


def _generate(out: Path, first: date, days: int, seed: int = 5) -> Path:
    from itw_radar.generator import generate

    generate(out, first, days, freelancers=120, clients=50, seed=seed)
    return out


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_catchup_equals_night_by_night_across_a_year_boundary(tmp_path: Path) -> None:
    """Nights 2099-12-30 to 2100-01-02 (a year and century boundary, 2100 not a leap year):
    one catch-up run gives the same marts as four runs of one night."""
    nights = _days(date(2099, 12, 30), 4)
    exports = _generate(tmp_path / "exports", nights[0], len(nights))
    one = Home.resolve(tmp_path / "night-by-night")
    res = run_nights(one, exports, nights[0], nights[-1], echo=lambda _l: None, batch_nights=1)
    assert [r.export_date for r in res if r.ok] == nights, res[-1].error
    batch = Home.resolve(tmp_path / "catch-up")
    lines: list[str] = []
    res = run_nights(batch, exports, nights[0], nights[-1], echo=lines.append, batch_nights=10)
    assert [r.export_date for r in res if r.ok] == nights, res[-1].error
    assert len(lines) == len(nights) and all("rows loaded" in ln for ln in lines)
    assert published_night(batch.serving) == nights[-1]
    a, b = _marts(one.serving), _marts(batch.serving)
    assert a.keys() == b.keys()
    assert {t: v for t, v in a.items()} == {t: v for t, v in b.items()}
    con = duckdb.connect(str(batch.serving), read_only=True)
    try:
        runs = con.execute("SELECT export_date, status FROM pipeline_runs ORDER BY 1").fetchall()
    finally:
        con.close()
    assert runs == [(n, "success") for n in nights]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_run_with_only_exports_on_a_leap_day_gap_and_past_review(tmp_path: Path) -> None:
    """`itw-radar run --exports X` with no other setting on nights of February 1996 (a leap
    day), a gap it names, --skip-missing, and an analyst's decision made today reaching the
    next night processed, although that night is dated 30 years ago."""
    exports = _generate(tmp_path / "exports", date(1996, 2, 27), 5)  # 27 Feb to 2 Mar
    shutil.rmtree(exports / "1996-03-01")
    home = tmp_path / "home"
    cli = CliRunner()

    first = cli.invoke(app, ["run", "--exports", str(exports), "--home", str(home),
                             "--to", "1996-02-28"])
    assert first.exit_code == 0, first.output
    h = Home.resolve(home)
    con = duckdb.connect(str(h.serving), read_only=True)
    try:
        target, before = con.execute(
            "SELECT account_id, risk_score FROM account_risk WHERE risk_score > 0 "
            "ORDER BY risk_score DESC, account_id LIMIT 1").fetchone()
    finally:
        con.close()
    record_decision(h, target, "false_positive", "checked: a legitimate agency", "analyst")

    # without --skip-missing: the night before the gap is processed, then it stops there
    stopped = cli.invoke(app, ["run", "--exports", str(exports), "--home", str(home)])
    assert stopped.exit_code == 1
    assert "night 1996-03-01 is missing" in " ".join(stopped.output.split())
    assert published_night(h.serving) == date(1996, 2, 29)

    rest = cli.invoke(app, ["run", "--exports", str(exports), "--home", str(home),
                            "--skip-missing"])
    assert rest.exit_code == 0, rest.output
    out = " ".join(rest.output.split())
    assert "1996-03-02" in out and "going around 1 missing" in out
    assert published_night(h.serving) == date(1996, 3, 2)
    con = duckdb.connect(str(h.serving), read_only=True)
    try:
        status, after = con.execute(
            "SELECT review_status, risk_score FROM account_risk WHERE account_id = ?",
            [target]).fetchone()
        history = dict(con.execute(
            "SELECT as_of_date, risk_score FROM account_score_history WHERE account_id = ?",
            [target]).fetchall())
    finally:
        con.close()
    assert status == "false_positive"
    assert after < before
    # the night first processed before the decision keeps its score
    assert history[date(1996, 2, 28)] == before
