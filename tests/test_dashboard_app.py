"""The dashboard with streamlit.testing.v1.AppTest on a generated serving database.

Every page is rendered after logging in through the login form; filters, paging, search, the
review form and the reveal log are exercised against real DuckDB files (serving and reviews).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from itw_radar import reviews
from itw_radar.paths import Home
from itw_radar.serve import streamlit_command

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard_fixture import START, build_serving_db  # noqa: E402

from dashboard import auth, data, ui  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
NIGHTS = 5
TONIGHT = START + dt.timedelta(days=NIGHTS - 1)
PAGES = {
    "app_pages/overview.py": "Overview",
    "app_pages/flagged.py": "Flagged accounts",
    "app_pages/account.py": "Account",
    "app_pages/networks.py": "Networks",
    "app_pages/reviews.py": "Reviews",
    "app_pages/cases.py": "Cases",
    "app_pages/watchlists.py": "Watchlists",
    "app_pages/data_quality.py": "Data quality",
    "app_pages/backtest.py": "Backtest",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    root = tmp_path_factory.mktemp("dash-home")
    h = Home.resolve(root).ensure()
    build_serving_db(h.serving, accounts=500, nights=NIGHTS, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITW_RADAR_HOME", str(h.root))
        mp.setenv("ITW_RADAR_DEMO", "1")
        mp.delenv("ITW_RADAR_USERS", raising=False)
        yield h


def serving(h: Home, sql: str, params: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(h.serving), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def login(user: str = auth.DEMO_USER, password: str = auth.DEMO_PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def caption_text(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def flagged_count(at: AppTest) -> int:
    for c in at.caption:
        text = str(c.value)
        if "accounts match" in text:
            return int(text.split("**")[1].replace(",", ""))
    raise AssertionError(f"no match count on the page: {caption_text(at)}")


def flagged_ids(at: AppTest) -> list[str]:
    if not any(d.key == "flagged_table" for d in at.dataframe):
        return []
    return at.dataframe(key="flagged_table").value["account_id"].tolist()


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page whose columns start with `columns` (plain tables have no key)."""
    for d in at.dataframe:
        value = d.value
        if list(value.columns[: len(columns)]) == list(columns):
            return value
    raise AssertionError(f"no table with columns {columns} on the page")


# --- login -----------------------------------------------------------------------------------

def test_anonymous_visitor_sees_only_the_login(home: Home) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert titles(at) == ["ITW Radar"]
    assert not at.dataframe and not at.metric
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    for page in PAGES:
        with pytest.raises(ValueError):  # pages are not even registered before login
            at.switch_page(page)


def test_demo_login_opens_the_overview(home: Home) -> None:
    at = login()
    no_errors(at)
    assert titles(at) == ["Overview"]
    assert "Logged in as" in "".join(str(c.value) for c in at.sidebar.caption)


def test_wrong_password_is_refused(home: Home) -> None:
    at = login(password="not-the-password")
    assert titles(at) == ["ITW Radar"]
    assert [e.value for e in at.error] == ["Wrong user name or password."]


def test_no_default_user_outside_demo_mode(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ITW_RADAR_DEMO")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("No users are configured" in e.value for e in at.error)
    assert not at.text_input  # no form without users
    assert auth.check_login(auth.DEMO_USER, auth.DEMO_PASSWORD, users=auth.load_users()).ok \
        is False


def test_configured_users_and_rate_limit(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ITW_RADAR_DEMO")
    monkeypatch.setenv("ITW_RADAR_USERS", f"mallory:{auth.hash_password('correct horse 1')},"
                       f"trent:sha256${'0' * 64}")
    at = login("mallory", "correct horse 1")
    no_errors(at)
    assert titles(at) == ["Overview"]
    for _ in range(auth.MAX_FAILURES):
        at = login("mallory", "wrong")
        assert [e.value for e in at.error] == ["Wrong user name or password."]
    at = login("mallory", "correct horse 1")  # right password, but locked out now
    assert titles(at) == ["ITW Radar"]
    assert "Too many failed attempts" in at.error[0].value


def test_password_hash_formats() -> None:
    import hashlib

    assert auth.verify_password("s3cret", auth.hash_password("s3cret", iterations=1000))
    assert not auth.verify_password("s3cret!", auth.hash_password("s3cret", iterations=1000))
    digest = hashlib.sha256(b"s3cret").hexdigest()
    assert auth.verify_password("s3cret", digest)
    assert auth.verify_password("s3cret", "sha256$" + digest)
    assert not auth.verify_password("s3cret", "garbage")
    users = auth.load_users({"ITW_RADAR_USERS": f"a:{digest}, b:sha256${digest}"})
    assert set(users) == {"a", "b"}
    assert auth.DEMO_USER in auth.load_users({"ITW_RADAR_DEMO": "1"})
    assert auth.DEMO_USER not in auth.load_users({})


# --- every page --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def logged_in(home: Home) -> AppTest:
    at = login()
    no_errors(at)
    return at


ADMIN_PAGES = {"app_pages/backtest.py"}  # not even in the navigation of other roles


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(logged_in: AppTest, monkeypatch: pytest.MonkeyPatch,
                            page: str) -> None:
    at = logged_in
    if page in ADMIN_PAGES:
        monkeypatch.setenv(auth.ROLES_ENV, f"{auth.DEMO_USER}=analyst+lead+admin")
        at.run()  # the navigation registers the admin's pages on the next run
    if page == "app_pages/account.py":
        at.query_params["account_id"] = "A000001"
    at.switch_page(page).run()
    no_errors(at)
    assert titles(at) == [PAGES[page]]
    assert f"Night shown: **{TONIGHT}**" in caption_text(at)


def test_overview_shows_tonights_tiers(home: Home, logged_in: AppTest) -> None:
    at = logged_in.switch_page("app_pages/overview.py").run()
    no_errors(at)
    expected = dict(serving(home, "SELECT risk_tier, count(*) FROM account_risk GROUP BY 1"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["High risk"] == f"{expected['high']:,}"
    assert metrics["Medium risk"] == f"{expected['medium']:,}"
    new_high = serving(home, "SELECT count(*) FROM account_risk WHERE is_new_high")[0][0]
    assert metrics["New high-risk accounts tonight"] == f"{new_high:,}"
    assert metrics["Last pipeline run"] == str(TONIGHT)
    # tonight's alert digest, as the DAG's alert task sends it: ids and reasons, no names
    digest = next(c.value for c in at.code if "Dashboard: " in c.value)
    expected_line = f"New high-risk accounts ({new_high}):" if new_high else "Nothing new"
    assert expected_line in digest or not new_high, digest
    names = [n for (n,) in serving(home, "SELECT display_name FROM account_profile "
                                         "WHERE display_name IS NOT NULL")]
    assert not any(n in digest for n in names if len(n) > 3)


def test_overview_says_which_indicators_have_no_data(home: Home, logged_in: AppTest) -> None:
    """A contract 1.1 indicator without its data is named, not shown as a silent zero."""
    at = logged_in.switch_page("app_pages/overview.py").run()
    no_errors(at)
    missing = serving(home, "SELECT name FROM indicators WHERE data_status <> 'ok'")
    assert missing, "the fixture has an indicator without data"
    warnings = " ".join(w.value for w in at.warning)
    for (name,) in missing:
        assert f"{name} (proposals)" in warnings
    assert "Shared" not in warnings  # indicators with data are not listed


# --- flagged list ------------------------------------------------------------------------------

@pytest.fixture()
def flagged(home: Home) -> AppTest:
    at = login()
    at.switch_page("app_pages/flagged.py").run()
    no_errors(at)
    return at


def test_flagged_filters_change_the_list(home: Home, flagged: AppTest) -> None:
    at = flagged
    flagged_total = serving(home, "SELECT count(*) FROM account_risk WHERE risk_tier <> 'none'")
    assert flagged_count(at) == flagged_total[0][0]
    rows = flagged_ids(at)
    assert rows[:1] == [serving(home, "SELECT account_id FROM account_risk "
                                      "ORDER BY risk_score DESC, account_id LIMIT 1")[0][0]]

    at.multiselect(key="f_tiers").set_value(["high"]).run()
    no_errors(at)
    highs = serving(home, "SELECT count(*) FROM account_risk WHERE risk_tier = 'high'")[0][0]
    assert flagged_count(at) == highs < flagged_total[0][0]
    table = at.dataframe(key="flagged_table").value
    assert set(table["risk_tier"]) == {"high"}

    at.multiselect(key="f_countries").set_value(["BR"]).run()
    expected = serving(home, "SELECT count(*) FROM account_risk WHERE risk_tier = 'high' "
                             "AND country = 'BR'")[0][0]
    assert flagged_count(at) == expected
    at.multiselect(key="f_countries").set_value([]).run()

    at.multiselect(key="f_indicators").set_value(["voip_phone"]).run()
    expected = serving(home, """SELECT count(*) FROM account_risk a WHERE risk_tier = 'high'
        AND EXISTS (SELECT 1 FROM account_indicator_hits h WHERE h.account_id = a.account_id
                    AND h.indicator_id = 'voip_phone')""")[0][0]
    assert flagged_count(at) == expected
    at.multiselect(key="f_indicators").set_value([]).run()

    at.multiselect(key="f_categories").set_value(["blockchain"]).run()
    cat = serving(home, "SELECT count(*) FROM account_risk WHERE risk_tier = 'high' "
                        "AND list_contains(string_split(categories, ','), 'blockchain')")[0][0]
    assert flagged_count(at) == cat


def test_flagged_search_is_parameterised(home: Home, flagged: AppTest) -> None:
    at = flagged
    at.text_input(key="f_search").input("A00000").run()
    assert set(flagged_ids(at)) == {f"A00000{i}" for i in range(1, 10)} & set(
        r[0] for r in serving(home, "SELECT account_id FROM account_risk "
                                    "WHERE risk_tier <> 'none'"))
    at.text_input(key="f_search").input("'; DROP TABLE accounts; --").run()
    no_errors(at)
    assert flagged_ids(at) == ["A000001"]  # found by its (hostile) display name
    at.text_input(key="f_search").input("%").run()
    assert flagged_count(at) == 0  # LIKE wildcards in the search text are literal
    at.text_input(key="f_search").input("<script>").run()
    assert flagged_ids(at) == ["A000002"]
    assert serving(home, "SELECT count(*) FROM account_risk")[0][0] == 500
    at.text_input(key="f_search").input("").run()


def test_flagged_sorting_and_paging(flagged: AppTest) -> None:
    at = flagged
    at.selectbox(key="f_page_size").set_value(25).run()
    first = flagged_ids(at)
    assert len(first) == 25
    at.number_input(key="f_page").set_value(2).run()
    no_errors(at)
    second = flagged_ids(at)
    assert len(second) == 25 and not set(first) & set(second)
    at.selectbox(key="f_sort").set_value("account id").run()
    at.selectbox(key="f_dir").set_value("ascending").run()
    ids = flagged_ids(at)
    assert ids == sorted(ids)


def test_open_account_from_the_list_and_come_back(flagged: AppTest) -> None:
    at = flagged
    at.selectbox(key="flagged_open").set_value("A000002").run()
    no_errors(at)
    assert titles(at) == ["Account"]
    assert at.query_params["account_id"] == "A000002"
    at.switch_page("app_pages/flagged.py").run()  # coming back does not jump again
    assert titles(at) == ["Flagged accounts"]
    assert at.selectbox(key="flagged_open").value is None


def test_flagged_review_status_filter_uses_live_decisions(home: Home, flagged: AppTest) -> None:
    reviews.record_decision(home, "A000006", "watch", "keep an eye", "tester")
    at = flagged
    at.multiselect(key="f_reviews").set_value(["watch"]).run()
    no_errors(at)
    assert flagged_ids(at) == ["A000006"]
    table = at.dataframe(key="flagged_table").value
    assert table["review_status"].tolist() == ["watch"]


def test_csv_export_escapes_formulas(home: Home) -> None:
    snap = data.snapshot(home)
    assert snap is not None
    live = pd.DataFrame(columns=["account_id", "status", "author"]).astype("string")
    frame = data.flagged_export(snap, data.FlagFilters(tiers=("high",)), live)
    frame = frame.assign(display_name=frame["display_name"].map(ui.mask_name))
    text = ui.to_csv_bytes(frame).decode()
    line = next(ln for ln in text.splitlines() if ln.startswith("A000004,"))
    assert ",'=" in line  # the masked =HYPERLINK(...) name is neutralised
    assert ui.csv_safe("@SUM(1)") == "'@SUM(1)" and ui.csv_safe("+1") == "'+1"
    assert ui.csv_safe("plain") == "plain" and ui.csv_safe(-3) == -3


# --- account, review, reveal --------------------------------------------------------------------

def test_review_is_saved_and_read_back(home: Home, logged_in: AppTest) -> None:
    at = logged_in
    at.query_params["account_id"] = "A000003"
    at.switch_page("app_pages/account.py").run()
    no_errors(at)
    at.radio(key="rv_status").set_value("escalated")
    at.text_area(key="rv_note").input("same portrait as <b>A000001</b>")
    at.button(key="FormSubmitter:review_form-Save decision").click().run()
    no_errors(at)
    assert any("Saved: escalated" in s.value for s in at.success)
    saved = reviews.history(home, "A000003")
    assert saved["status"].tolist()[0] == "escalated"
    assert saved["author"].tolist()[0] == auth.DEMO_USER
    assert saved["note"].tolist()[0] == "same portrait as <b>A000001</b>"
    shown = frame(at, "decided_at", "status", "author", "note")
    assert shown["status"].tolist()[0] == "escalated"
    assert {m.label: m.value for m in at.metric}["Review status"] == "escalated"
    # and the Reviews page lists it
    at.switch_page("app_pages/reviews.py").run()
    current = frame(at, "account_id", "status", "author", "decided_at")
    assert "A000003" in current["account_id"].tolist()


def test_a_decision_has_no_default_and_save_without_one_saves_nothing(
        home: Home, logged_in: AppTest) -> None:
    at = logged_in
    at.query_params["account_id"] = "A000004"
    at.switch_page("app_pages/account.py").run()
    assert at.radio(key="rv_status").value is None
    at.button(key="FormSubmitter:review_form-Save decision").click().run()
    assert any("Choose a decision first" in e.value for e in at.error)
    assert reviews.history(home, "A000004").empty
    at.switch_page("app_pages/reviews.py").run()
    assert at.radio(key="rp_status").value is None
    at.text_input(key="rp_account").input("A000004")
    at.button(key="FormSubmitter:reviews_form-Save decision").click().run()
    assert any("Choose a decision first" in e.value for e in at.error)
    assert reviews.history(home, "A000004").empty


def test_reviews_page_records_a_decision(home: Home, logged_in: AppTest) -> None:
    at = logged_in.switch_page("app_pages/reviews.py").run()
    at.text_input(key="rp_account").input("A000005")
    at.radio(key="rp_status").set_value("false_positive")
    at.button(key="FormSubmitter:reviews_form-Save decision").click().run()
    no_errors(at)
    assert reviews.latest_decisions(home, ["A000005"])["status"].tolist() == ["false_positive"]
    at.text_input(key="rp_account").input("NO-SUCH-ACCOUNT")
    at.radio(key="rp_status").set_value("false_positive")  # the form cleared it
    at.button(key="FormSubmitter:reviews_form-Save decision").click().run()
    assert any("No scored account" in e.value for e in at.error)
    assert reviews.history(home, "NO-SUCH-ACCOUNT").empty


def test_profile_is_masked_until_revealed_and_the_reveal_is_logged(
        home: Home, logged_in: AppTest) -> None:
    at = logged_in
    at.query_params["account_id"] = "A000002"
    at.switch_page("app_pages/account.py").run()
    profile = frame(at, "field", "value").set_index("field")["value"]
    assert profile["display_name"] != "<script>alert(1)</script>"
    assert profile["email_hash"].endswith("…")
    before = len(reviews.reveals(home, "A000002"))
    at.button(key="reveal").click().run()
    no_errors(at)
    profile = frame(at, "field", "value").set_index("field")["value"]
    assert profile["display_name"] == "<script>alert(1)</script>"  # shown as text in a table
    log = reviews.reveals(home, "A000002")
    assert len(log) == before + 1 and log["author"].tolist()[0] == auth.DEMO_USER


def test_invisible_and_direction_changing_characters_are_shown(
        home: Home, logged_in: AppTest) -> None:
    """A right-to-left override in a name would reverse it on screen, masked or revealed."""
    at = logged_in
    for account_id, shown in (("A000007", "evil⟦U+202E⟧ eman"),
                              ("A000008", "Ad⟦U+200B⟧min Us⟦U+2066⟧er")):
        at.query_params["account_id"] = account_id
        at.switch_page("app_pages/account.py").run()
        no_errors(at)
        masked = frame(at, "field", "value").set_index("field")["value"]["display_name"]
        assert "\u202e" not in masked and "\u200b" not in masked and "*" in masked
        at.button(key="reveal").click().run()
        profile = frame(at, "field", "value").set_index("field")["value"]
        assert profile["display_name"] == shown


def test_visible_marks_only_invisible_characters() -> None:
    assert ui.visible("Jin Park") == "Jin Park"
    assert ui.visible("日本語 عربي Ελληνικά") == "日本語 عربي Ελληνικά"
    assert ui.visible("evil\u202e eman") == "evil⟦U+202E⟧ eman"
    assert ui.visible("a\ufeffb\u200dc\x07") == "a⟦U+FEFF⟧b⟦U+200D⟧c⟦U+0007⟧"
    assert ui.visible("two\nlines") == "two\nlines"
    assert "⟦U\\+202E⟧" in ui.md_escape("x\u202e")  # shown as ⟦U+202E⟧
    assert ui.mask_name("\u202eevil name").startswith("⟦U+202E⟧")
    assert "\u202e" not in ui.visible_frame(pd.DataFrame({"n": ["a\u202eb"]}))["n"][0]


def test_data_quality_shows_each_nights_summary_as_fields(logged_in: AppTest) -> None:
    at = logged_in.switch_page("app_pages/data_quality.py").run()
    no_errors(at)
    runs = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert "summary" not in runs.columns
    ok = runs[runs["status"] == "success"]
    assert ok["high"].tolist()[0] == 3 and ok["new high-risk"].tolist()[0] == 2
    assert "A000001" in ok["details"].tolist()[0]
    assert not any(str(v).startswith("{") for v in runs["details"].fillna(""))


def test_daily_hits_chart_gives_every_indicator_a_labelled_row() -> None:
    from dashboard import charts

    trend = pd.DataFrame({"as_of_date": pd.to_datetime(["2026-11-01", "2026-11-02"] * 17),
                          "name": [f"indicator {i // 2:02d}" for i in range(34)],
                          "accounts": [None if i == 3 else i for i in range(34)]})
    spec = charts.indicator_heatmap(trend).to_dict()
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["y"]["field"] == "name"
    assert spec["encoding"]["y"]["title"] is None and "axis" in spec["encoding"]["y"]
    assert spec["height"] >= 17 * charts.ROW_PX  # 17 rows, none squeezed by a legend
    assert spec["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_account_messages_are_escaped_and_highlighted(logged_in: AppTest) -> None:
    at = logged_in
    at.query_params["account_id"] = "A000001"
    at.switch_page("app_pages/account.py").run()
    no_errors(at)
    bodies = [m.value for m in at.markdown if "alert" in m.value]
    assert bodies, "the hostile message is shown"
    for body in bodies:
        assert "<script>" not in body  # escaped: \<script\>
        assert "\\<script\\>" in body
        assert body.count("**") == 2  # only our highlight is bold
    texts = [t.value for t in at.text]
    assert any(t.startswith("match:") for t in texts)
    assert all(not getattr(m, "allow_html", False) for m in at.markdown)


def test_networks_page_draws_the_cluster(home: Home, logged_in: AppTest) -> None:
    at = logged_in
    at.query_params["cluster_id"] = "C0001"
    at.switch_page("app_pages/networks.py").run()
    no_errors(at)
    assert at.selectbox(key="cluster_pick").value == "C0001"
    members = frame(at, "account_id", "risk_score", "risk_tier", "country")
    assert set(members["account_id"]) == {f"A00000{i}" for i in range(1, 7)}
    links = frame(at, "source", "target", "link_type")
    assert len(links) == serving(home, "SELECT count(*) FROM account_links "
                                       "WHERE cluster_id = 'C0001'")[0][0] // 2
    assert {m.label: m.value for m in at.metric}["Accounts"] == "6"
    # the graph: a Plotly chart (zoom, pan, hover) with one node per member, hover naming it
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    nodes = next(t for t in spec["data"] if t.get("name") == "accounts")
    assert sorted(c[1] for c in nodes["customdata"]) == sorted(members["account_id"])
    assert all("score" in text for text in nodes["text"])
    assert spec["layout"]["dragmode"] == "pan"
    assert json.loads(charts[0].proto.config)["scrollZoom"] is True
    assert "labelled" in caption_text(at)


def test_data_quality_night_filter(home: Home, logged_in: AppTest) -> None:
    at = logged_in.switch_page("app_pages/data_quality.py").run()
    no_errors(at)
    at.selectbox(key="dq_night").set_value(str(TONIGHT)).run()
    table = frame(at, "table_name", "rows_expected", "rows_loaded")
    expected = serving(home, "SELECT sum(rows_quarantined) FROM load_files WHERE export_date = ?",
                       [TONIGHT])[0][0]
    assert int(table["rows_quarantined"].sum()) == expected


# --- a new night is picked up without a restart ------------------------------------------------

def test_new_night_shows_without_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    h = Home.resolve(tmp_path).ensure()
    build_serving_db(h.serving, accounts=60, nights=3, seed=2)
    monkeypatch.setenv("ITW_RADAR_HOME", str(h.root))
    monkeypatch.setenv("ITW_RADAR_DEMO", "1")
    at = login()
    assert "Night shown: **2026-11-03**" in caption_text(at)
    staging = h.serving_dir / "radar.next.duckdb"
    build_serving_db(staging, accounts=60, nights=4, seed=2)
    os.replace(staging, h.serving)
    at.run()
    no_errors(at)
    assert "Night shown: **2026-11-04**" in caption_text(at)


def test_no_serving_database_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setenv("ITW_RADAR_HOME", str(tmp_path))
    monkeypatch.setenv("ITW_RADAR_DEMO", "1")
    at = login()
    assert not at.exception
    assert any("itw-radar run" in w.value for w in at.warning)


# --- reviews store and serve command -----------------------------------------------------------

def test_reviews_store_history_precision_and_export(tmp_path: Path) -> None:
    h = Home.resolve(tmp_path)
    assert reviews.latest_decisions(h).empty
    reviews.record_decision(h, "X1", "confirmed", "a", "alice")
    reviews.record_decision(h, "X1", "false_positive", "b", "bob")
    reviews.record_decision(h, "X2", "confirmed", None, "alice")
    with pytest.raises(reviews.ReviewError):
        reviews.record_decision(h, "X3", "maybe", "", "alice")
    with pytest.raises(reviews.ReviewError):
        reviews.record_decision(h, "X3", "watch", "", " ")
    assert reviews.history(h, "X1")["status"].tolist() == ["false_positive", "confirmed"]
    latest = reviews.latest_decisions(h).set_index("account_id")["status"].to_dict()
    assert latest == {"X1": "false_positive", "X2": "confirmed"}
    precision = reviews.reviewer_precision(h).set_index("author")
    assert precision.loc["all", "precision"] == pytest.approx(0.5)
    assert precision.loc["alice", "precision"] == pytest.approx(1.0)
    reviews.log_reveal(h, "X1", "profile", "alice")
    assert reviews.reveals(h, "X1")["author"].tolist() == ["alice"]

    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    try:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.analyst_reviews AS SELECT 'old' AS account_id")
        assert reviews.export_decisions_to_warehouse(h, con) == 2
        rows = con.execute("SELECT account_id, status, author FROM raw.analyst_reviews "
                           "ORDER BY 1").fetchall()
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'analyst_reviews'").fetchall())
    finally:
        con.close()
    assert rows == [("X1", "false_positive", "bob"), ("X2", "confirmed", "alice")]
    assert types["decided_at"] == "TIMESTAMP WITH TIME ZONE"
    empty = duckdb.connect(":memory:")
    assert reviews.export_decisions_to_warehouse(Home.resolve(tmp_path / "none"), empty) == 0
    assert empty.execute("SELECT count(*) FROM raw.analyst_reviews").fetchone() == (0,)


def test_serve_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITW_RADAR_DEMO", "1")
    h = Home.resolve(tmp_path)
    cmd, env = streamlit_command(h, 8599, demo=False)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == APP
    assert cmd[cmd.index("--server.port") + 1] == "8599"
    assert env["ITW_RADAR_HOME"] == str(h.root)
    assert "ITW_RADAR_DEMO" not in env  # demo credentials only when asked for
    _, env = streamlit_command(h, 8599, demo=True)
    assert env["ITW_RADAR_DEMO"] == "1"
    with pytest.raises(ValueError):
        streamlit_command(h, 0)


# --- roles on every page and action ------------------------------------------------------------

ROLE_USERS = {"vera": "", "anil": "analyst", "ada": "admin"}  # vera: no role, a viewer


@pytest.mark.parametrize("user", sorted(ROLE_USERS))
def test_each_role_on_each_page_and_action(home: Home, monkeypatch: pytest.MonkeyPatch,
                                           user: str) -> None:
    monkeypatch.delenv("ITW_RADAR_DEMO", raising=False)
    password = f"pw of {user} 123"
    monkeypatch.setenv("ITW_RADAR_USERS", ",".join(
        f"{u}:{auth.hash_password(f'pw of {u} 123', iterations=1000)}" for u in ROLE_USERS))
    monkeypatch.setenv(auth.ROLES_ENV, ",".join(f"{u}={r}" for u, r in ROLE_USERS.items() if r))
    role = ROLE_USERS[user] or "viewer"
    may_act = role in ("analyst", "admin")
    at = login(user, password)
    no_errors(at)
    # every page opens for every role allowed to see it, with the night shown
    for page in PAGES:
        if page in ADMIN_PAGES and role != "admin":
            continue  # not in the navigation: checked below
        if page == "app_pages/account.py":
            at.query_params["account_id"] = "A000002"
        at.switch_page(page).run()
        no_errors(at)
        assert titles(at) == [PAGES[page]], (role, page)
        if page == "app_pages/overview.py":  # sending the alert digest again: admins only
            assert ("alert_send" in {b.key for b in at.button}) is (role == "admin"), role
    # Account: reveal and decide only for analysts and admins; a viewer sees masked data
    at.query_params["account_id"] = "A000002"
    at.switch_page("app_pages/account.py").run()
    keys = {b.key for b in at.button}
    assert ("reveal" in keys) is may_act, role
    assert ("FormSubmitter:review_form-Save decision" in keys) is may_act, role
    assert frame(at, "field", "value").set_index("field")["value"]["display_name"] != \
        "<script>alert(1)</script>"
    if may_act:
        at.button(key="reveal").click().run()
        shown = frame(at, "field", "value").set_index("field")["value"]["display_name"]
        assert shown == "<script>alert(1)</script>"
        assert reviews.reveals(home, "A000002")["author"].tolist()[0] == user
    else:
        assert any("masked for your role" in c.value for c in at.caption)
    # Reviews: the record form only for analysts and admins
    at.switch_page("app_pages/reviews.py").run()
    keys = {b.key for b in at.button}
    assert ("FormSubmitter:reviews_form-Save decision" in keys) is may_act, role
    # Cases: opening and working cases for analysts and admins; export for all, masked for viewers
    at.switch_page("app_pages/cases.py").run()
    no_errors(at)
    assert ("FormSubmitter:case_new-Open case" in {b.key for b in at.button}) is may_act, role
    # Backtest: admins only; the page is not in anyone else's navigation
    if role == "admin":
        at.switch_page("app_pages/backtest.py").run()
        no_errors(at)
        assert "FormSubmitter:backtest_form-Run backtest" in {b.key for b in at.button}
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("app_pages/backtest.py")
    # Watchlists: editing for admins (and leads) only
    at.switch_page("app_pages/watchlists.py").run()
    no_errors(at)
    assert ("wl_reveal" in {b.key for b in at.button}) is (role == "admin"), role


def test_the_demo_user_is_an_analyst_and_a_lead(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {auth.DEMO_ENV: "1"}
    assert auth.user_roles(auth.DEMO_USER, env) == {"analyst", "lead"}
    assert auth.can(auth.DEMO_USER, "personal_data.reveal", env)
    assert auth.can("nobody", "reviews.decide", env) is False
    assert auth.can("nobody", "some.unlisted.action", env)  # reading is open to every user


def test_cases_page_opens_a_cluster_as_a_case_and_closes_it(home: Home,
                                                            logged_in: AppTest) -> None:
    from itw_radar import cases

    cluster = serving(home, "SELECT cluster_id, count(*) n FROM account_risk WHERE cluster_id "
                            "IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1")[0]
    at = logged_in.switch_page("app_pages/cases.py").run()
    no_errors(at)
    at.text_input(key="cn_title").input("whole cluster")
    at.text_input(key="cn_cluster").input(cluster[0])
    at.text_input(key="cn_assignee").input(auth.DEMO_USER)
    at.button(key="FormSubmitter:case_new-Open case").click().run()
    no_errors(at)
    opened = cases.queue(home, "mine", auth.DEMO_USER)
    cid = opened["case_id"].tolist()[-1]
    assert opened.set_index("case_id").loc[cid, "accounts"] >= cluster[1]
    at.selectbox(key="case_pick").set_value(cid).run()
    # a due date and one more account first, then the closing decision
    extra = serving(home, "SELECT account_id FROM account_risk WHERE cluster_id IS DISTINCT "
                          "FROM ? ORDER BY account_id LIMIT 1", [cluster[0]])[0][0]
    at.date_input(key="cu_due").set_value(dt.date(2031, 5, 1))
    at.text_input(key="cu_add").input(extra)
    at.button(key="FormSubmitter:case_update-Save").click().run()
    no_errors(at)
    case, members, _ = cases.detail(home, cid)
    assert pd.Timestamp(case["due_date"]).date() == dt.date(2031, 5, 1) and extra in members
    at.selectbox(key="cu_decision").set_value("no_action")
    at.text_area(key="cu_note").input("an agency, known to the platform")
    at.button(key="FormSubmitter:case_update-Save").click().run()
    no_errors(at)
    case, _, trail = cases.detail(home, cid)
    assert (case["status"], case["decision"]) == ("closed", "no_action")
    assert trail["action"].tolist() == ["created", "accounts added", "due date", "status", "note"]
    assert set(trail["author"]) == {auth.DEMO_USER}


FULL_IPV4 = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]|/\d)")


def _page_text(at: AppTest) -> str:
    """Everything a page prints as text: markdown, text, captions, and its tables' cells."""
    parts = [str(m.value) for m in at.markdown] + [str(t.value) for t in at.text]
    parts += [str(c.value) for c in at.caption]
    parts += [d.value.astype(str).to_csv(index=False) for d in at.dataframe]
    return "\n".join(parts)


def test_addresses_and_devices_in_evidence_are_masked_until_revealed(
        home: Home, logged_in: AppTest) -> None:
    # an account whose evidence and kept logins quote full addresses and devices
    account = serving(home, """SELECT h.account_id FROM account_indicator_hits h
        JOIN evidence_logins l USING (account_id)
        WHERE regexp_matches(h.evidence, '\\d+\\.\\d+\\.\\d+\\.\\d+')
        GROUP BY 1 ORDER BY 1 LIMIT 1""")[0][0]
    raw = "\n".join(r[0] for r in serving(home, "SELECT ip FROM evidence_logins WHERE "
                                                "account_id = ?", [account]))
    assert FULL_IPV4.search(raw)
    at = logged_in
    at.query_params["account_id"] = account
    at.switch_page("app_pages/account.py").run()
    no_errors(at)
    text = _page_text(at)
    assert not FULL_IPV4.search(text), FULL_IPV4.search(text)
    assert "dev-" in text and not re.search(r"dev-[0-9a-f]{5,}", text)
    at.button(key="reveal").click().run()
    no_errors(at)
    assert FULL_IPV4.search(_page_text(at))  # revealed (and logged) for the analyst
    # the lists never reveal: Flagged accounts, Overview, Networks
    for page in ("app_pages/flagged.py", "app_pages/overview.py", "app_pages/networks.py"):
        at.switch_page(page).run()
        no_errors(at)
        shown = _page_text(at)
        assert not FULL_IPV4.search(shown), (page, FULL_IPV4.search(shown))


def test_networks_opens_a_case_on_the_whole_cluster(home: Home, logged_in: AppTest) -> None:
    from itw_radar import cases

    at = logged_in.switch_page("app_pages/networks.py").run()
    no_errors(at)
    cluster = at.selectbox(key="cluster_pick").value
    members = serving(home, "SELECT count(*) FROM account_risk WHERE cluster_id = ?",
                      [cluster])[0][0]
    at.button(key="cluster_case").click().run()
    no_errors(at)
    assert titles(at) == ["Cases"]
    opened = cases.queue(home, "all", auth.DEMO_USER)
    row = opened[opened["title"] == f"Cluster {cluster}"].iloc[-1]
    assert row["accounts"] == members
    assert at.selectbox(key="case_pick").value == row["case_id"]
