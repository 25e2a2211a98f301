"""Rule changes applied through a review (itw_radar.rules, `itw-radar rules`, the Backtest page):
the store only grows, a change needs a second person, bad changes are named, and an approved
change scores the nightly rebuild, the DAG's nights and the backtest exactly alike, while no
change (or a change and its revert) leaves every mart as the project's defaults make it.
Real dbt builds on a small generated platform; nothing is mocked."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from test_backtest import CHANGE, NIGHTS, START, small_platform
from test_pipeline_e2e import _marts
from typer.testing import CliRunner

from itw_radar import backtest, rules
from itw_radar.cli import app
from itw_radar.paths import Home

LAST = START + timedelta(days=NIGHTS - 1)
SCORES = ("account_score_history", "account_risk", "account_indicator_hits", "risk_daily",
          "indicators", "indicator_daily", "clusters", "account_links")
cli = CliRunner()


def _store_rows(home: Home) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(rules.store_path(home)), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY proposal_id").fetchall()
                for t in ("proposals", "decisions")}
    finally:
        con.close()


def _grew(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> bool:
    """Every row of `before` is still there, unchanged: the store was only appended to."""
    return all(after[t][:len(rows)] == rows for t, rows in before.items())


# --------------------------------------------------------------------------------------------
# the store (no dbt)


def test_a_change_needs_a_second_person_and_the_store_only_grows(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    assert rules.history(home) == [] and rules.active(home).version == 0
    assert rules.env_value(home) == ""  # nothing approved: dbt gets nothing
    pid = rules.propose(home, CHANGE, "recall of confirmed cases too low", "alice")
    assert rules.active(home).overrides == {}  # pending: not active
    rows = _store_rows(home)
    with pytest.raises(rules.RulesError, match="proposed by alice: a change needs the review "
                       "of a second person"):
        rules.decide(home, pid, "approved", "looks fine", "alice")
    assert _store_rows(home) == rows  # a refused decision writes nothing
    with pytest.raises(rules.RulesError, match="the reason is empty"):
        rules.decide(home, pid, "approved", " ", "bob")
    p = rules.decide(home, pid, "approved", "backtest checked", "bob")
    assert (p.status, p.decided_by, p.decision_reason) == ("approved", "bob", "backtest checked")
    assert _grew(rows, _store_rows(home))
    with pytest.raises(rules.RulesError, match="already approved by bob.*a decision is final"):
        rules.decide(home, pid, "rejected", "changed my mind", "carol")

    act = rules.active(home)
    assert act.version == 1
    assert act.overrides == {"weights": {"anonymised_ip": 0.5, "foreign_hours": 0.7},
                             "thresholds": {"low_rate": {"max_ratio": 0.6}},
                             "tiers": {"high": 60.0, "medium": 25.0}}
    assert json.loads(rules.env_value(home)) == act.overrides
    shown = {r["setting"]: r for r in rules.settings(home)}
    assert shown["weights.foreign_hours"]["value"] == 0.7
    assert shown["weights.foreign_hours"]["source"].startswith(f"#{pid}, approved by bob ")
    assert shown["tiers.low"]["source"] == "default (dbt_project.yml)"
    assert shown["weights.low_rate"]["source"] == "default (seeds/indicator_catalog.csv)"

    # a proposal of one's own can be withdrawn (rejected) by its proposer
    own = rules.propose(home, "tiers: {low: 10}", "fewer accounts in none", "carol")
    assert rules.decide(home, own, "rejected", "withdrawn", "carol").status == "rejected"
    # a proposal made on version 1 is stale once another change was approved
    stale = rules.propose(home, "weights: {low_rate: 0.3}", "cheap rates matter", "dave")
    newer = rules.propose(home, "tiers: {low: 12}", "a bit fewer", "dave")
    rules.decide(home, newer, "approved", "fine", "erin")
    with pytest.raises(rules.RulesError, match="made on rules version 1; the active "
                       "configuration is version 2 now.*--stale-ok"):
        rules.decide(home, stale, "approved", "fine", "erin")
    rules.decide(home, stale, "approved", "checked again by hand", "erin", allow_stale=True)
    assert rules.active(home).overrides["weights"]["low_rate"] == 0.3
    assert [p.status for p in rules.history(home)] == ["approved", "rejected", "approved",
                                                       "approved"]
    assert _grew(rows, _store_rows(home))


def test_reverting_is_a_change_back_and_a_run_keeps_its_configuration(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    first = rules.propose(home, "weights: {foreign_hours: 0.5}\ntiers: {medium: 30}", "r", "a")
    rules.decide(home, first, "approved", "ok", "b")
    started = dt.datetime.now(dt.UTC)
    second = rules.propose(home, "tiers: {medium: 32}", "r", "a")
    rules.decide(home, second, "approved", "ok", "b")
    # a DAG run started before the second approval keeps scoring with the first alone
    assert json.loads(rules.for_run(home, started)) == {"weights": {"foreign_hours": 0.5},
                                                        "tiers": {"medium": 30.0}}
    assert json.loads(rules.for_run(home, None))["tiers"] == {"medium": 32.0}
    back = rules.revert_change(home, second)
    assert back.as_dict() == {"tiers": {"medium": 30.0}}  # as it was before #2, not the default
    back_first = rules.revert_change(home, first)
    assert back_first.as_dict() == {"tiers": {"medium": 35.0}, "weights": {"foreign_hours": 0.4}}
    pid = rules.propose(home, back_first.to_yaml(), "undo #1", "c")
    rules.decide(home, pid, "approved", "ok", "d")
    act = rules.active(home)
    # tiers.medium: #3 put the default back over #2's 32; foreign_hours: back to the default
    assert act.version == 3 and act.overrides == {}
    assert rules.env_value(home) == ""
    shown = {r["setting"]: r["source"] for r in rules.settings(home)}
    assert shown["tiers.medium"].endswith("(back to the default)")


@pytest.mark.parametrize(("change", "says"), [
    ("weights: {no_such_indicator: 0.5}", "weights: unknown indicator 'no_such_indicator'"),
    ("thresholds: {low_rate: {max_ration: 0.5}}",
     "thresholds: low_rate: unknown threshold 'max_ration'"),
    ("thresholds: {low_rate: {min_category_peers: 2.5}}", "is not a whole number"),
    ("tiers: {medium: 80}", "tiers out of order: high 70, medium 80, low 15"),
    ("tiers: {high: 70}", "every value in it is already active"),
    ("{}", "changes nothing"),
    ("weights: [1, 2]", "weights: expected name: value pairs"),
])
def test_a_bad_proposal_says_what_to_fix(tmp_path: Path, change: str, says: str) -> None:
    home = Home.resolve(tmp_path / "home")
    with pytest.raises(rules.RulesError) as err:
        rules.propose(home, change, "why", "alice")
    assert says in str(err.value), str(err.value)
    assert rules.history(home) == []


def test_the_rules_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    change = tmp_path / "change.yml"
    change.write_text("weights: {foreign_hours: 0.5}\n")
    base = ["--home", str(home)]
    res = cli.invoke(app, ["rules", "propose", "--vars", str(change), *base])
    assert res.exit_code == 2 and "--reason" in res.output  # the reason is required
    res = cli.invoke(app, ["rules", "propose", "--vars", str(change), "--reason", "night owls",
                           "--user", "alice", *base])
    assert res.exit_code == 0, res.output
    assert "proposed #1" in res.output and "no backtest given" in res.output
    res = cli.invoke(app, ["rules", "approve", "1", "--reason", "ok", *base],
                     env={"USER": "alice"})
    assert res.exit_code == 1 and "a change needs the review of a second person" in res.output
    res = cli.invoke(app, ["rules", "approve", "1", "--reason", "ok", *base], env={"USER": "bob"})
    assert res.exit_code == 0 and "#1 approved by bob" in res.output, res.output
    res = cli.invoke(app, ["rules", "show", *base])
    assert "rules version 1" in res.output
    assert "weights.foreign_hours = 0.5 (default 0.4): #1, approved by bob" in res.output
    res = cli.invoke(app, ["rules", "history", *base])
    assert "#1 approved: weights.foreign_hours=0.5" in res.output
    assert "proposed by alice" in res.output and "night owls" in res.output
    res = cli.invoke(app, ["rules", "propose", "--revert", "1", "--reason", "undo", "--user",
                           "carol", *base])
    assert res.exit_code == 0 and "proposed #2" in res.output, res.output
    res = cli.invoke(app, ["rules", "reject", "7", "--reason", "x", "--user", "bob", *base])
    assert res.exit_code == 1 and "no proposal #7" in res.output
    bad = tmp_path / "bad.yml"
    bad.write_text("weights: {nope: 1}\n")
    res = cli.invoke(app, ["rules", "propose", "--vars", str(bad), "--reason", "x", "--user",
                           "a", *base])
    assert res.exit_code == 1 and f"{bad}: weights: unknown indicator 'nope'" in res.output


def test_the_dag_templates_the_rules_per_run() -> None:
    """The dbt tasks get the configuration through a template rendered when the run's tasks
    run (no store read while the DAG file is parsed), not through --vars."""
    from itw_radar.dag_settings import dbt_env

    assert dbt_env()["ITW_RADAR_RULES"] == "{{ itw_radar_rules(params, dag_run) }}"
    dag_file = Path(__file__).resolve().parents[1] / "dags" / "itw_radar_nightly.py"
    assert '"itw_radar_rules": _rules' in dag_file.read_text()


# --------------------------------------------------------------------------------------------
# with dbt: the small platform of tests/test_backtest.py


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Home]:
    """Exports of 4 nights and a home with them loaded and built with the defaults."""
    return small_platform(tmp_path_factory.mktemp("rules"))


@pytest.fixture(scope="module")
def predicted(built: tuple[Path, Home], tmp_path_factory: pytest.TempPathFactory
              ) -> backtest.BacktestResult:
    """The backtest of CHANGE on the built home (laid over the defaults)."""
    change = backtest.change_from_text(CHANGE)
    scratch = tmp_path_factory.mktemp("predicted") / "scratch"
    return backtest.run_backtest(built[1], change, NIGHTS, scratch=scratch)


def _copy(home: Home, dest: Path) -> Home:
    shutil.copytree(home.root, dest)
    return Home.resolve(dest)


def _scores(db: Path) -> dict[str, tuple[int, str]]:
    found = _marts(db)
    return {t: found[t] for t in SCORES}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_an_approved_change_rescores_as_its_backtest_predicted(
        built: tuple[Path, Home], predicted: backtest.BacktestResult, tmp_path: Path) -> None:
    home = _copy(built[1], tmp_path / "home")
    record = backtest.read_record(predicted.scratch)
    assert record["base_version"] == 0 and record["change"] == predicted.change.as_dict()
    assert predicted.rules == rules.overlay({}, predicted.change)
    assert _scores(predicted.scratch / "warehouse.duckdb") != _scores(home.warehouse)

    change = tmp_path / "change.yml"
    change.write_text(CHANGE)
    base = ["--home", str(home.root)]
    other = tmp_path / "other.yml"
    other.write_text("tiers: {medium: 25}\n")
    res = cli.invoke(app, ["rules", "propose", "--vars", str(other), "--backtest",
                           str(predicted.scratch), "--reason", "x", "--user", "alice", *base])
    assert res.exit_code == 1 and "tried another change" in res.output, res.output
    res = cli.invoke(app, ["rules", "propose", "--vars", str(change), "--backtest",
                           str(predicted.scratch), "--reason", "more recall", "--user", "alice",
                           *base])
    assert res.exit_code == 0, res.output
    p = rules.get(home, 1)
    assert p.backtest_dir == str(predicted.scratch.resolve())
    assert "Backtest of 4 nights" in (p.backtest_summary or "")
    res = cli.invoke(app, ["rules", "approve", "1", "--reason", "backtest read", "--user", "bob",
                           *base])
    assert res.exit_code == 0, res.output

    # the nightly rebuild with the approved change: every score as the backtest predicted
    res = cli.invoke(app, ["rules", "show", *base])
    assert "weights.anonymised_ip = 0.5 (default 0.25): #1" in res.output
    res = cli.invoke(app, ["rebuild", "--no-publish", *base])
    assert res.exit_code == 0, res.output
    assert "scoring with rules version 1 (weights.anonymised_ip=0.5" in res.output
    assert _scores(home.warehouse) == _scores(predicted.scratch / "warehouse.duckdb")
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        weight, thresholds = con.execute("SELECT weight, thresholds FROM indicators WHERE "
                                         "indicator_id = 'low_rate'").fetchone()
        fh = con.execute("SELECT weight FROM indicators WHERE indicator_id = 'foreign_hours'"
                         ).fetchone()[0]
    finally:
        con.close()
    assert fh == 0.7 and json.loads(thresholds)["max_ratio"] == 0.6
    assert weight == backtest.catalog_weights()["low_rate"]

    # a backtest now lays its change over the active configuration: only the medium bound
    # moves (25 to 20), every weight and threshold of #1 stays
    result = backtest.run_backtest(home, backtest.Change(tiers={"medium": 20.0}), nights=1,
                                   scratch=tmp_path / "second")
    assert result.base_version == 1
    assert result.rules == {**rules.active(home).overrides,
                            "tiers": {"high": 60.0, "medium": 20.0}}
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        between = con.execute("SELECT count(*) FROM account_score_history WHERE as_of_date = ? "
                              "AND risk_score >= 20 AND risk_score < 25", [LAST]).fetchone()[0]
    finally:
        con.close()
    moves = {m.tier: (len(m.entered), len(m.left)) for m in result.movements}
    assert between > 0
    assert moves == {"high": (0, 0), "medium": (between, 0), "low": (0, between)}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_approved_change_scores_as_the_project_says(built: tuple[Path, Home],
                                                       tmp_path: Path) -> None:
    """A change approved and then reverted leaves nothing for dbt: the rebuild's marts are
    those of the build without any rules (the fixture's, ITW_RADAR_RULES unset)."""
    home = _copy(built[1], tmp_path / "home")
    pid = rules.propose(home, CHANGE, "try", "alice")
    rules.decide(home, pid, "approved", "ok", "bob")
    back = rules.propose(home, rules.revert_change(home, pid).to_yaml(), "undo", "bob")
    rules.decide(home, back, "approved", "ok", "alice")
    assert rules.active(home).version == 2 and rules.env_value(home) == ""
    res = cli.invoke(app, ["rebuild", "--no-publish", "--home", str(home.root)])
    assert res.exit_code == 0, res.output
    assert "scoring with rules version 2 (the project's defaults)" in res.output
    assert _marts(home.warehouse) == _marts(built[1].warehouse)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_nightly_dag_scores_with_the_active_rules(built: tuple[Path, Home],
                                                      predicted: backtest.BacktestResult,
                                                      tmp_path: Path) -> None:
    """The nights run through the Airflow DAG (cosmos' dbt tasks, ITW_RADAR_RULES templated
    per run) score with the approved change as the backtest predicted."""
    from itw_radar.orchestration import run_nights

    exports, _ = built
    home = Home.resolve(tmp_path / "home")
    pid = rules.propose(home, CHANGE, "more recall", "alice")
    rules.decide(home, pid, "approved", "backtest read", "bob")
    res = run_nights(home, exports, START, LAST, echo=lambda _line: None, batch_nights=NIGHTS)
    assert [r.export_date for r in res if r.ok] == [START + timedelta(days=i)
                                                    for i in range(NIGHTS)], res[-1].error
    assert _scores(home.warehouse) == _scores(predicted.scratch / "warehouse.duckdb")
    assert _scores(home.warehouse) != _scores(built[1].warehouse)  # not the defaults' scores


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_page_proposes_and_another_admin_approves(
        built: tuple[Path, Home], predicted: backtest.BacktestResult, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from itw_radar.publishing import publish

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dashboard import auth

    home = _copy(built[1], tmp_path / "home")
    publish(home, LAST, incremental=False)
    secret = auth.hash_password("pw-for-tests", iterations=1000)
    monkeypatch.setenv("ITW_RADAR_HOME", str(home.root))
    monkeypatch.delenv(auth.DEMO_ENV, raising=False)
    monkeypatch.delenv(auth.ROLES_ENV, raising=False)
    monkeypatch.setenv(auth.USERS_ENV, f"alice:{secret}:admin,bob:{secret}:admin")
    app_file = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

    def page(user: str) -> AppTest:
        at = AppTest.from_file(app_file, default_timeout=120).run()
        at.text_input(key="login_user").input(user)
        at.text_input(key="login_password").input("pw-for-tests")
        at.button[0].click().run()
        at.switch_page("app_pages/backtest.py").run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        return at

    alice = page("alice")
    assert any("project's default" in i.value for i in alice.info)
    # the backtest itself is tests/test_backtest.py's: its result is the one computed above
    alice.session_state["bt_result"] = predicted
    alice.session_state["bt_result_change"] = CHANGE
    alice.run()
    alice.text_area(key="rules_propose_reason").input("more recall on confirmed cases")
    alice.button(key="FormSubmitter:rules_propose_form-Propose").click().run()
    assert not alice.exception and not alice.error, [e.value for e in alice.error]
    assert any("Proposed #1" in s.value for s in alice.success)
    approve = alice.button(key="FormSubmitter:rules_decide_1-Approve")
    assert approve.disabled  # not one's own
    assert rules.active(home).version == 0

    bob = page("bob")
    history = next(d.value for d in bob.dataframe if "decided by" in d.value.columns)
    assert list(history["status"]) == ["pending"]
    bob.button(key="FormSubmitter:rules_decide_1-Approve").click().run()
    assert any("the reason is empty" in e.value for e in bob.error)
    bob.text_input(key="rules_decide_reason_1").input("backtest read: recall up")
    bob.button(key="FormSubmitter:rules_decide_1-Approve").click().run()
    assert not bob.exception and not bob.error, [e.value for e in bob.error]
    assert any("#1 approved" in s.value for s in bob.success)
    p = rules.get(home, 1)
    assert (p.proposed_by, p.decided_by, p.decision) == ("alice", "bob", "approved")
    assert p.backtest_dir == str(predicted.scratch.resolve())
    assert rules.active(home).overrides == predicted.rules
    active = next(d.value for d in bob.dataframe if "source" in d.value.columns)
    assert "weights.foreign_hours" in set(active["setting"])
