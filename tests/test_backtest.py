"""`itw-radar backtest`: a rule change rebuilt in a scratch copy (through ITW_RADAR_RULES, as the
nightly runs get approved changes), its numbers checked against a direct rebuild with the same
change written into a copy of the project, the warehouse untouched, bad change files named."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from itw_radar import backtest, reviews
from itw_radar.dbt_runner import loaded_nights, rebuild
from itw_radar.paths import Home

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

START, NIGHTS = date(2030, 1, 6), 4
CHANGE = """
weights:
  foreign_hours: 0.7
  anonymised_ip: 0.5
thresholds:
  low_rate: {max_ratio: 0.6}
tiers:
  medium: 25
  high: 60
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(home: Home, **kwargs: object) -> None:
    rebuild("build --exclude resource_type:unit_test", warehouse=home.warehouse,
            nights=loaded_nights(home.warehouse), **kwargs)


def small_platform(root: Path) -> tuple[Path, Home]:
    """Exports of NIGHTS nights of a small platform and a home with them loaded and built with
    the project's defaults (also the rule tests' platform)."""
    from itw_radar.generator import generate
    from itw_radar.ingestion import load_night

    exports = root / "exports"
    generate(exports, START, NIGHTS, freelancers=200, clients=80, seed=5)
    h = Home.resolve(root / "home")
    for i in range(NIGHTS):
        load_night(h, exports, START + timedelta(days=i))
    _build(h, target_path=root / "target", log_path=root / "logs")
    return exports, h


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return small_platform(tmp_path_factory.mktemp("backtest"))[1]


def _tiers(db: Path, night: date) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT account_id, risk_tier FROM account_score_history "
                                "WHERE as_of_date = ?", [night]).fetchall())
    finally:
        con.close()


def test_backtest_equals_a_direct_rebuild_and_touches_nothing(home: Home, tmp_path: Path
                                                              ) -> None:
    change_file = tmp_path / "change.yml"
    change_file.write_text(CHANGE)
    change = backtest.load_change(change_file)
    last = START + timedelta(days=NIGHTS - 1)
    before = _tiers(home.warehouse, last)
    flagged = sorted(a for a, t in before.items() if t in ("high", "medium"))
    assert len(flagged) >= 2
    reviews.record_decision(home, flagged[0], "confirmed", "seen", "tester")
    reviews.record_decision(home, flagged[1], "false_positive", "agency", "tester")
    warehouse_sha = _sha(home.warehouse)
    serving_sha = _sha(home.serving) if home.serving.exists() else None

    result = backtest.run_backtest(home, change, nights=2, scratch=tmp_path / "scratch")
    assert _sha(home.warehouse) == warehouse_sha  # only read
    # no approved rule change: laid over the defaults, recorded for `rules propose --backtest`
    record = backtest.read_record(result.scratch)
    assert result.base_version == record["base_version"] == 0
    assert record["change"] == change.as_dict() and record["rules"] == result.rules
    assert (_sha(home.serving) if home.serving.exists() else None) == serving_sha
    assert result.nights == [last - timedelta(days=1), last]

    # the same change applied by hand: a copy of the project and warehouse, rebuilt directly
    direct = Home.resolve(tmp_path / "direct")
    direct.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(home.warehouse, direct.warehouse)
    project = backtest.scratch_project(change, tmp_path / "direct_project")
    _build(direct, extra_vars=backtest.dbt_vars(change), project_dir=project,
           target_path=tmp_path / "direct_target", log_path=tmp_path / "direct_logs")
    for night in result.nights:
        was, now = _tiers(home.warehouse, night), _tiers(direct.warehouse, night)
        for m in (m for m in result.movements if m.night == night):
            assert m.entered == sorted(a for a, t in now.items()
                                       if t == m.tier and was.get(a) != m.tier), (night, m.tier)
            assert m.left == sorted(a for a, t in was.items()
                                    if t == m.tier and now.get(a) != m.tier), (night, m.tier)
    # the change lowers medium to 25 and raises weights: accounts enter medium or high
    assert any(m.entered for m in result.movements)
    # precision and recall against the two decisions, before and after
    assert (result.before.flagged_confirmed, result.before.flagged_false_positive) == (1, 1)
    assert result.before.precision == 0.5 and result.before.recall == 1.0
    now = _tiers(direct.warehouse, last)
    assert result.after.flagged_confirmed == int(now.get(flagged[0]) in ("high", "medium"))
    text = backtest.format_result(result)
    assert "| before | 0.500 | 1.000 |" in text
    assert f"| {last} | medium |" in text
    # every mover of every night with its reasons: on an earlier night, that night's hits in
    # the direct rebuild (entering) or in the warehouse (leaving)
    rows = result.mover_rows()
    assert len(rows) == sum(len(m.entered) + len(m.left) for m in result.movements)
    first = [r for r in rows if r["night"] == result.nights[0]]
    con = duckdb.connect(str(direct.warehouse), read_only=True)
    for r in (r for r in first if r["move"] == "enter"):
        ids = [i for (i,) in con.execute(
            "SELECT indicator_id FROM account_indicator_hits WHERE as_of_date = ? AND "
            "account_id = ? ORDER BY points DESC, indicator_id", [r["night"], r["account_id"]]
        ).fetchall()]
        assert [part.split(" (")[0] for part in r["reasons"].split("; ")] == ids, r
    con.close()
    for r in rows[:3]:
        assert f"- {r['night']} {r['tier']} {r['move']}: {r['account_id']}: " in text


def test_the_backtest_command(home: Home, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from itw_radar.cli import app

    change_file = tmp_path / "change.yml"
    change_file.write_text(CHANGE)
    warehouse_sha = _sha(home.warehouse)
    out = CliRunner().invoke(app, ["backtest", "--home", str(home.root), "--vars",
                                   str(change_file), "--nights", "1"])
    assert out.exit_code == 0, out.output
    assert "| night | tier | enter | leave |" in out.output
    assert "To propose it: itw-radar rules propose" in out.output
    assert _sha(home.warehouse) == warehouse_sha
    bad = tmp_path / "bad.yml"
    bad.write_text("weights: {no_such_indicator: 0.5}")
    out = CliRunner().invoke(app, ["backtest", "--home", str(home.root), "--vars", str(bad),
                                   "--nights", "1"])
    assert out.exit_code != 0 and "unknown indicator 'no_such_indicator'" in out.output


@pytest.mark.parametrize(("doc", "says"), [
    ("weights: {no_such_indicator: 0.5}", "weights: unknown indicator 'no_such_indicator'"),
    ("thresholds: {low_rate: {max_ration: 0.5}}",
     "thresholds: low_rate: unknown threshold 'max_ration'"),
    ("thresholds: {nope: {x: 1}}", "thresholds: unknown indicator 'nope'"),
    ("tiers: {critical: 90}", "tiers: unknown tier 'critical'"),
    ("weights: {low_rate: 3}", "weights: low_rate: 3.0 is not between 0 and 1"),
    ("weights: {low_rate: high}", "is not a number"),
    ("scores: {}", "unknown section(s) ['scores']"),
])
def test_a_bad_change_file_says_which_entry(tmp_path: Path, doc: str, says: str) -> None:
    path = tmp_path / "change.yml"
    path.write_text(doc)
    with pytest.raises(backtest.BacktestError, match=None) as err:
        backtest.load_change(path)
    assert says in str(err.value), str(err.value)
    assert str(path) in str(err.value)


def test_thresholds_merge_into_the_project_defaults() -> None:
    change = backtest.Change(thresholds={"low_rate": {"max_ratio": 0.6}}, tiers={"medium": 25})
    out = backtest.dbt_vars(change)
    assert out["tier_medium"] == 25
    assert out["indicator_thresholds"]["low_rate"]["max_ratio"] == 0.6
    defaults = backtest.project_vars()["indicator_thresholds"]
    assert out["indicator_thresholds"]["low_rate"]["full_ratio"] == \
        defaults["low_rate"]["full_ratio"]
    assert set(out["indicator_thresholds"]) == set(defaults)


def test_the_backtest_page_for_admins(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin page runs the same backtest and shows its numbers."""
    import sys

    from streamlit.testing.v1 import AppTest

    from itw_radar.publishing import publish

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dashboard import auth

    publish(home, START + timedelta(days=NIGHTS - 1), incremental=False)
    monkeypatch.setenv("ITW_RADAR_HOME", str(home.root))
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    monkeypatch.setenv(auth.ROLES_ENV, f"{auth.DEMO_USER}=admin")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py"),
                           default_timeout=600).run()
    at.text_input(key="login_user").input(auth.DEMO_USER)
    at.text_input(key="login_password").input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    at.switch_page("app_pages/backtest.py").run()
    assert not at.exception and not at.error
    at.text_area(key="bt_change").input("weights: {nope: 1}")
    at.button(key="FormSubmitter:backtest_form-Run backtest").click().run()
    assert any("unknown indicator 'nope'" in e.value for e in at.error)
    at.text_area(key="bt_change").input("tiers: {medium: 20}")
    at.number_input(key="bt_nights").set_value(1)
    at.button(key="FormSubmitter:backtest_form-Run backtest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    moves = next(d.value for d in at.dataframe if "enter" in d.value.columns)
    assert set(moves["tier"]) == {"high", "medium", "low"}
    # only the medium bound moved, to 20: the accounts scored 20 to 35 move from low to medium
    con = duckdb.connect(str(home.warehouse), read_only=True)
    between = con.execute("SELECT count(*) FROM account_score_history WHERE as_of_date = ? "
                          "AND risk_score >= 20 AND risk_score < 35",
                          [START + timedelta(days=NIGHTS - 1)]).fetchone()[0]
    con.close()
    assert between > 0
    by_tier = moves.set_index("tier")
    assert by_tier.loc["medium", "enter"] == between == by_tier.loc["low", "leave"]
    assert by_tier.loc["high", "enter"] == by_tier.loc["high", "leave"] == 0
    assert any("precision" in d.value.columns for d in at.dataframe)


def test_the_backtest_page_in_a_browser(home: Home, tmp_path: Path) -> None:
    """An admin runs a backtest from the page in headless Chromium; the numbers it shows are
    those of the warehouse rebuilt with the change (here a lower medium bound, whose effect a
    direct count of the rebuilt nights' scores gives)."""
    import re
    import subprocess
    import sys

    from itw_radar.publishing import publish
    from itw_radar.serve import streamlit_command

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_dashboard_browser import (  # noqa: E402
        _ensure_chromium,
        _free_port,
        _heading,
        _open,
        _settled,
        _wait_healthy,
        chromium,
    )

    _ensure_chromium()
    last = START + timedelta(days=NIGHTS - 1)
    if not home.serving.exists():
        publish(home, last, incremental=False)
    port = _free_port()
    cmd, env = streamlit_command(home, port, demo=True, address="127.0.0.1")
    env.pop("ITW_RADAR_USERS", None)
    env["ITW_RADAR_ROLES"] = "analyst=admin"
    log = tmp_path / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(600_000)
            page.goto(url)
            page.get_by_role("textbox", name="User name").fill("analyst")
            page.get_by_role("textbox", name="Password").fill("radar-demo")
            page.get_by_role("button", name="Log in").click()
            _heading(page, "Overview")
            _open(page, "Backtest")
            page.get_by_role("textbox", name=re.compile("Change")).fill("tiers: {medium: 20}")
            nights = page.get_by_role("spinbutton", name=re.compile("Compare the last"))
            nights.fill("2")
            nights.press("Tab")
            page.get_by_role("button", name="Run backtest").click()
            page.get_by_text(re.compile(r"^2 nights, ")).wait_for()
            _settled(page)
            page.get_by_text("The backtest as text").click()
            text = page.get_by_test_id("stCode").filter(has_text="| night | tier |").inner_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    shown = {(m[0], m[1]): (int(m[2]), int(m[3])) for m in re.findall(
        r"\| (\d{4}-\d\d-\d\d) \| (high|medium|low) \| (\d+) \| (\d+) \|", text)}
    assert len(shown) == 6, text
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        for night in (last - timedelta(days=1), last):
            # the medium bound moves from 35 to 20: what a rebuild with it puts in medium
            between = con.execute(
                "SELECT count(*) FROM account_score_history WHERE as_of_date = ? "
                "AND risk_score >= 20 AND risk_score < ?",
                [night, backtest.default_tiers()["medium"]]).fetchone()[0]
            assert shown[(str(night), "medium")] == (between, 0), (night, text)
            assert shown[(str(night), "low")] == (0, between), (night, text)
            assert shown[(str(night), "high")] == (0, 0), (night, text)
    finally:
        con.close()
