"""Watchlists: the store (validation, audit, import/export, shipped list), roles, the CLI, and
the indicator through real dbt runs on a small generated warehouse: IPv4 and IPv6 ranges match
exactly the logins inside them (checked against Python's ipaddress), an adjacent range and an
expired entry do not, and `rescore` changes a score without a full rebuild."""

from __future__ import annotations

import datetime as dt
import ipaddress
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from itw_radar import watchlists as wl
from itw_radar.cli import app
from itw_radar.paths import Home

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard import auth  # noqa: E402

DPRK_BLOCK = "175.45.176.0/22"
HASH = "ab" * 32


# --- the store --------------------------------------------------------------------------------

@pytest.mark.parametrize(("list_type", "value", "expected"), [
    ("ip_cidr", "175.45.176.0/22", "175.45.176.0/22"),
    ("ip_cidr", "2001:0DB8:AB00:0000:0000:0000:0000:0000/40", "2001:db8:ab00::/40"),
    ("ip_cidr", "10.1.2.3", "10.1.2.3/32"),
    ("asn", "AS131279", "131279"),
    ("email_domain", "@Mail.Example.COM", "mail.example.com"),
    ("email_hash", HASH.upper(), HASH),
    ("wallet_address", " 0x52908400098527886E0F7030069857D2E4169EE7 ",
     "0x52908400098527886E0F7030069857D2E4169EE7"),
])
def test_values_are_normalised(list_type: str, value: str, expected: str) -> None:
    assert wl.normalise_value(list_type, value) == expected


@pytest.mark.parametrize(("list_type", "value", "fix"), [
    ("ip_cidr", "175.45.176.1/22", "write the network address 175.45.176.0/22"),
    ("ip_cidr", "175.45.300.0/22", "CIDR notation"),
    ("ip_cidr", "0.0.0.0/0", "longer prefix"),
    ("asn", "AS-FOO", "whole number between 1 and 4294967295"),
    ("asn", "0", "whole number"),
    ("email_domain", "bob@example.com", "only the part after the @"),
    ("email_hash", "bob@example.com", "never the address or number itself"),
    ("phone_hash", "ab" * 31, "64 characters"),
    ("device_id", "two words", "without spaces"),
    ("wallet_address", "0xabc", "too short"),
    ("bank", "x", "is not one of ip_cidr"),
])
def test_bad_values_say_what_to_fix(list_type: str, value: str, fix: str) -> None:
    with pytest.raises(wl.WatchlistError, match=None) as err:
        wl.normalise_value(list_type, value)
    assert fix in str(err.value)


def test_new_store_holds_the_shipped_dprk_block_once(tmp_path: Path) -> None:
    h = Home.resolve(tmp_path)
    first = wl.entries(h)
    assert first[["list_type", "value", "added_by"]].values.tolist() == [
        ["ip_cidr", DPRK_BLOCK, "itw-radar"]]
    assert "APNIC" in first["source"][0] and "Star Joint Venture" in first["source"][0]
    log = wl.audit_log(h)
    assert log[["actor", "action", "value"]].values.tolist() == [["itw-radar", "add", DPRK_BLOCK]]
    wl.remove_entry(h, first["entry_id"][0], "lead1", "test")
    assert wl.entries(h).empty  # removed; reopening does not import it again
    assert wl.audit_log(h)["action"].tolist() == ["remove", "add"]


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("list_type,value,source,reason,expires_at\n" + "\n".join(rows) + "\n")
    return path


def test_import_is_all_or_nothing_and_idempotent(tmp_path: Path) -> None:
    h = Home.resolve(tmp_path / "home")
    bad = _csv(tmp_path / "bad.csv",
               "device_id,dev-1,case 1,seen on two accounts,",
               "email_hash,not-a-hash,case 2,leaked list,",
               "asn,AS131279,APNIC,Star JV,2020-13-01")
    with pytest.raises(wl.WatchlistError) as err:
        wl.import_csv(h, bad, "lead1")
    msg = str(err.value)
    assert f"{bad} line 3 column value: email_hash" in msg
    assert f"{bad} line 4 column expires_at" in msg
    assert wl.entries(h)["value"].tolist() == [DPRK_BLOCK]  # nothing imported
    with pytest.raises(wl.WatchlistError, match="unknown column"):
        wl.import_csv(h, _write(tmp_path / "cols.csv", "list_type,value,source,reason,colour\n"),
                      "lead1")
    with pytest.raises(wl.WatchlistError, match="line 3 column value: .* already on line 2"):
        wl.import_csv(h, _csv(tmp_path / "dup.csv", "asn,131279,a,b,", "asn,AS131279,a,b,"),
                      "lead1")

    good = _csv(tmp_path / "good.csv",
                "device_id,dev-1,case 1,seen on two accounts,",
                f"email_hash,{HASH.upper()},case 2,leaked list,2030-01-01",
                "ip_cidr,2001:db8::/32,case 3,provider range,")
    first = wl.import_csv(h, good, "lead1")
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    again = wl.import_csv(h, good, "lead2")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert len(wl.entries(h)) == 4
    changed = _csv(tmp_path / "good.csv", "device_id,dev-1,case 1,seen on three accounts,")
    assert wl.import_csv(h, changed, "lead2").updated == 1
    log = wl.audit_log(h)
    assert log["action"].tolist()[:4] == ["update", "add", "add", "add"]
    assert log["actor"].tolist()[0] == "lead2"
    # export reads back as the same entries
    exported = tmp_path / "export.csv"
    wl.export_csv(h, exported)
    other = Home.resolve(tmp_path / "other")
    result = wl.import_csv(other, exported, "lead1")
    assert (result.added, result.unchanged) == (3, 1)  # the DPRK block was already there
    assert (sorted(wl.entries(other)["value"]) == sorted(wl.entries(h)["value"]))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_expire_remove_and_lapse_are_audited(tmp_path: Path) -> None:
    h = Home.resolve(tmp_path)
    a = wl.add_entry(h, "device_id", "dev-a", "case 4", "shared device", "lead1")
    b = wl.add_entry(h, "asn", "64500", "case 5", "bulletproof host", "lead1", "2031-01-01")
    with pytest.raises(wl.WatchlistError, match="in the past"):
        wl.add_entry(h, "asn", "64501", "case 5", "x", "lead1", "2001-01-01")
    wl.expire_entry(h, a, "lead2", "case closed")
    with pytest.raises(wl.WatchlistError, match="already expired"):
        wl.expire_entry(h, a, "lead2")
    wl.remove_entry(h, b, "admin1")
    with pytest.raises(wl.WatchlistError, match="no watchlist entry"):
        wl.expire_entry(h, "wl-nope", "lead2")
    assert wl.entries(h)["value"].tolist() == [DPRK_BLOCK]
    everything = wl.entries(h, include_inactive=True).set_index("entry_id")
    assert everything.loc[b, "removed_by"] == "admin1"
    assert everything.loc[a, "expires_at"] <= dt.datetime.now(dt.UTC)
    # an entry whose expiry passes on its own is logged `lapsed` once
    old = _write(tmp_path / "old.csv", "list_type,value,source,reason,added_at,expires_at\n"
                 "device_id,dev-old,case 6,old case,2020-01-01,2020-06-01\n")
    wl.import_csv(h, old, "lead1")
    wl.entries(h)
    log = wl.audit_log(h)
    assert log[log["action"] == "lapsed"]["value"].tolist() == ["dev-old"]
    assert log[log["action"] == "expire"]["actor"].tolist() == ["lead2"]


def test_roles_from_the_users_config() -> None:
    env = {auth.USERS_ENV: f"alice:{'a' * 64}:lead,bob:{'b' * 64},carol:{'c' * 64}:admin+lead",
           auth.ROLES_ENV: "dave@corp.example=admin,bob=analyst"}
    assert auth.load_users(env)["alice"] == "a" * 64  # the roles are not part of the hash
    assert auth.user_roles("alice", env) == {"lead"}
    assert auth.user_roles("carol", env) == {"admin", "lead"}
    assert auth.can("dave@corp.example", "watchlists.edit", env)
    assert not auth.can("bob", "watchlists.edit", env)
    assert not auth.can("eve", "watchlists.edit", env)
    assert auth.can("bob", "something.unlisted", env)
    assert auth.can(auth.DEMO_USER, "watchlists.edit", {auth.DEMO_ENV: "1"})
    assert not auth.can(auth.DEMO_USER, "watchlists.edit",
                        {auth.DEMO_ENV: "1", auth.ROLES_ENV: "analyst=analyst"})


def test_cli_import_list_export(tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    bad = _csv(tmp_path / "bad.csv", "ip_cidr,10.0.0.1/8,case,reason,")
    res = runner.invoke(app, ["watchlist", "import", str(bad), "--by", "lead1", *home])
    assert res.exit_code == 1
    assert "line 2 column value" in res.output and "10.0.0.0/8" in res.output
    good = _csv(tmp_path / "good.csv", "ip_cidr,10.0.0.0/8,case,reason,")
    res = runner.invoke(app, ["watchlist", "import", str(good), "--by", "lead1", *home])
    assert res.exit_code == 0 and "1 added" in res.output
    res = runner.invoke(app, ["watchlist", "list", *home])
    assert "10.0.0.0/8" in res.output and DPRK_BLOCK in res.output
    res = runner.invoke(app, ["watchlist", "export", *home])
    assert res.output.splitlines()[0] == ",".join(wl.CSV_COLUMNS)
    assert len(res.output.splitlines()) == 3
    res = runner.invoke(app, ["watchlist", "rescore", *home])
    assert res.exit_code == 1 and "itw-radar run" in res.output


# --- the indicator, through dbt ----------------------------------------------------------------

START = dt.date(2026, 11, 1)
LAST = START + dt.timedelta(days=1)


@dataclass
class Built:
    home: Home
    target: Path
    expected_ip: set[str]      # accounts with a successful login inside an active ip_cidr entry
    adjacent: str              # account whose /24's neighbour is listed
    expired_device_account: str
    rescore_account: str
    rescore_device: str


def _dbt(command: str, b: Home, target: Path, night: dt.date) -> None:
    from itw_radar.dbt_runner import run_dbt

    run_dbt(command, warehouse=b.warehouse, as_of=night, target_path=target,
            log_path=target / "logs")


def _logins(h: Home) -> list[tuple[str, str, str | None]]:
    con = duckdb.connect(str(h.warehouse), read_only=True)
    try:
        return con.execute(
            "select distinct account_id, ip, device_id from raw.logins where success "
            "and _export_date <= ? order by all", [LAST]).fetchall()
    finally:
        con.close()


def _accounts_in(logins: list[tuple[str, str, str | None]], nets: list[str]) -> set[str]:
    networks = [ipaddress.ip_network(n) for n in nets]
    return {a for a, ip, _ in logins
            if any(ipaddress.ip_address(ip) in n for n in networks
                   if n.version == ipaddress.ip_address(ip).version)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from itw_radar.generator import generate
    from itw_radar.ingestion import load_night
    from itw_radar.publishing import publish
    from itw_radar.warehouse import connect, ensure_raw_schema

    root = tmp_path_factory.mktemp("watch")
    exports = root / "exports"
    generate(exports, START, 2, freelancers=60, clients=25, seed=7)
    h = Home.resolve(root / "home").ensure()
    for night in (START, LAST):
        load_night(h, exports, night)
    logins = _logins(h)
    v4 = [(a, ip, d) for a, ip, d in logins if ":" not in ip]
    v6 = [(a, ip, d) for a, ip, d in logins if ":" in ip]
    assert v4 and v6, "the generator writes IPv4 and IPv6 logins"
    hit_v4 = v4[0]
    net_v4 = ipaddress.ip_network(f"{hit_v4[1]}/24", strict=False)
    net_v6 = ipaddress.ip_network(f"{v6[0][1]}/64", strict=False)
    # the /24 right after another account's address, holding none of the logins
    taken = {ipaddress.ip_network(f"{ip}/24", strict=False) for _, ip, _ in v4}
    adjacent = next((a, ipaddress.ip_network(
        (int(ipaddress.ip_network(f"{ip}/24", strict=False).network_address) + 256, 24)))
        for a, ip, _ in v4[1:])
    assert adjacent[1] not in taken or _accounts_in(logins, [str(adjacent[1])])
    devices = [(a, d) for a, _, d in logins if d]
    expired = next((a, d) for a, d in devices if a != hit_v4[0])
    csv_path = root / "entries.csv"
    csv_path.write_text(
        "list_type,value,source,reason,added_at,expires_at\n"
        f"ip_cidr,{net_v4},case v4,test,,\n"
        f"ip_cidr,{net_v6.exploded.upper()},case v6,test,,\n"
        f"ip_cidr,{adjacent[1]},case adjacent,test,,\n"
        f"device_id,{expired[1]},case expired,test,2026-01-01,{START.isoformat()}\n")
    wl.import_csv(h, csv_path, "lead1")
    nets = [DPRK_BLOCK, str(net_v4), str(net_v6), str(adjacent[1])]
    expected = _accounts_in(logins, nets)
    assert hit_v4[0] in expected and v6[0][0] in expected
    con = connect(h.warehouse)
    try:
        ensure_raw_schema(con)
        wl.export_to_warehouse(h, con)
    finally:
        con.close()
    target = root / "target"
    _dbt("seed", h, target, LAST)
    _dbt("run", h, target, START)
    _dbt("run", h, target, LAST)
    # the watchlist models' data tests and unit tests on the built warehouse
    _dbt("build --select stg_watchlist_entries int_indicator__watchlist", h, target, LAST)
    publish(h, LAST)
    hit_devices = {d for a, _, d in logins if a in expected and d}
    rescore = next((a, d) for a, d in devices
                   if a not in expected and a != expired[0] and d not in hit_devices
                   and sum(1 for x, y in devices if y == d) == 1)
    yield Built(h, target, expected, adjacent[0], expired[0], rescore[0], rescore[1])


def _serving(h: Home, sql: str, params: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(h.serving), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _warehouse(h: Home, sql: str, params: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(h.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_cidr_hits_match_python_ipaddress(built: Built) -> None:
    rows = _warehouse(built.home, "select account_id, evidence from "
                      "intermediate.int_indicator__watchlist where night = ?", [LAST])
    ip_hits = {a for a, ev in rows if "(ip_cidr " in ev}
    assert ip_hits == built.expected_ip
    assert built.adjacent not in ip_hits or built.adjacent in built.expected_ip
    evidence = dict(rows)
    some = sorted(built.expected_ip)[0]
    assert "source: case v" in evidence[some] or "APNIC" in evidence[some]
    assert "login " in evidence[some] and " from " in evidence[some]


def test_expired_entry_does_not_fire(built: Built) -> None:
    rows = _warehouse(built.home, "select evidence from intermediate.int_indicator__watchlist "
                      "where account_id = ?", [built.expired_device_account])
    assert not any("device_id" in ev for (ev,) in rows)


def test_hits_reach_the_published_scores(built: Built) -> None:
    hits = _serving(built.home, "select distinct account_id from account_indicator_hits "
                    "where indicator_id = 'watchlist' and as_of_date = ?", [LAST])
    assert {a for (a,) in hits} == built.expected_ip
    catalog = _serving(built.home, "select weight, source from indicators "
                       "where indicator_id = 'watchlist'")
    assert catalog and catalog[0][0] == pytest.approx(0.6)


def test_rescore_changes_a_score_without_a_full_rebuild(built: Built) -> None:
    h, account = built.home, built.rescore_account

    def score() -> float:
        return float(_serving(h, "select risk_score from account_risk where account_id = ?",
                              [account])[0][0])

    before = score()
    history_before = _serving(h, "select * from risk_daily where as_of_date = ? order by all",
                              [START])
    entry = wl.add_entry(h, "device_id", built.rescore_device, "case rescore", "test", "lead1")
    result = wl.rescore(h)
    assert result.night == LAST and result.seconds > 0
    assert result.scope == "watchlist models and downstream"
    after = score()
    assert after > before
    ev = _serving(h, "select evidence from account_indicator_hits where account_id = ? and "
                  "indicator_id = 'watchlist' and as_of_date = ?", [account, LAST])
    assert ev and "case rescore" in ev[0][0] and "device" in ev[0][0]
    # incremental: only the published night was computed again, the earlier night is untouched
    nights = _warehouse(h, "select night from intermediate.int_nights")
    assert nights == [(LAST,)]
    assert _serving(h, "select * from risk_daily where as_of_date = ? order by all",
                    [START]) == history_before
    # removed (added by mistake): gone again after a re-score of every model of the night
    wl.remove_entry(h, entry, "lead1", "wrong device")
    again = wl.rescore(h, whole_night=True)
    assert again.scope == "whole night"
    assert score() == pytest.approx(before)
    assert not _serving(h, "select 1 from account_indicator_hits where account_id = ? and "
                        "indicator_id = 'watchlist'", [account])


def test_rescore_falls_back_to_the_whole_night(built: Built) -> None:
    """A model the partial build reads is missing (added by a code update, never built here)."""
    h = built.home
    con = duckdb.connect(str(h.warehouse))
    try:
        con.execute("drop table intermediate.int_indicator__remote_desktop")
    finally:
        con.close()
    lines: list[str] = []
    result = wl.rescore(h, echo=lines.append)
    assert result.scope == "whole night"
    assert any("partial build failed" in line for line in lines)
    assert _warehouse(h, "select count(*) from information_schema.tables where table_name = "
                      "'int_indicator__remote_desktop'") == [(1,)]


# --- the dashboard page ------------------------------------------------------------------------

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture
def dash_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    from dashboard_fixture import build_serving_db

    h = Home.resolve(tmp_path).ensure()
    build_serving_db(h.serving, accounts=40, nights=2, seed=1)
    monkeypatch.setenv("ITW_RADAR_HOME", str(h.root))
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    monkeypatch.delenv(auth.USERS_ENV, raising=False)
    monkeypatch.delenv(auth.ROLES_ENV, raising=False)
    return h


def _entries_table(at: object) -> object:
    for d in at.dataframe:  # type: ignore[attr-defined]
        if list(d.value.columns[:2]) == ["entry_id", "list_type"]:
            return d.value
    raise AssertionError("no entries table on the page")


def _page() -> object:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="login_user").input(auth.DEMO_USER)
    at.text_input(key="login_password").input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    return at.switch_page("app_pages/watchlists.py").run()


def test_page_lead_adds_and_expires_with_masked_values(dash_home: Home) -> None:
    at = _page()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Watchlists"]
    at.selectbox(key="wl_type").set_value("email_hash")
    at.text_input(key="wl_value").input("not-a-hash")
    at.text_input(key="wl_source").input("case 9")
    at.text_area(key="wl_reason").input("leaked list")
    at.button(key="FormSubmitter:wl_add_form-Add entry").click().run()
    assert any("SHA-256" in e.value for e in at.error)
    assert len(wl.entries(dash_home)) == 1  # only the shipped DPRK block
    at.text_input(key="wl_value").input(HASH)
    at.button(key="FormSubmitter:wl_add_form-Add entry").click().run()
    assert not at.error, [e.value for e in at.error]
    stored = wl.entries(dash_home)
    assert HASH in stored["value"].tolist()
    shown = _entries_table(at).set_index("list_type")["value"]
    assert shown["email_hash"].endswith("…") and shown["ip_cidr"] == DPRK_BLOCK
    log = wl.audit_log(dash_home)
    assert log[["actor", "action"]].values.tolist()[0] == [auth.DEMO_USER, "add"]
    entry = stored[stored["value"] == HASH]["entry_id"].iloc[0]
    at.selectbox(key="wl_end_id").set_value(entry)
    at.radio(key="wl_action").set_value("expire")
    at.button(key="FormSubmitter:wl_end_form-Apply").click().run()
    assert HASH not in wl.entries(dash_home)["value"].tolist()
    assert wl.audit_log(dash_home)["action"].tolist()[0] == "expire"
    at.button(key="wl_reveal").click().run()
    assert wl.audit_log(dash_home)["action"].tolist()[0] == "reveal"


def test_page_is_read_only_without_a_lead_role(dash_home: Home,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ROLES_ENV, f"{auth.DEMO_USER}=analyst")
    at = _page()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Read-only" in i.value for i in at.info)
    keys = {b.key for b in at.button}
    assert "wl_rescore" not in keys and "wl_reveal" not in keys
    assert not any(f.key == "wl_value" for f in at.text_input)
    assert _entries_table(at)["value"].tolist() == [DPRK_BLOCK]


def test_page_works_before_any_night_is_published(dash_home: Home) -> None:
    dash_home.serving.unlink()
    at = _page()
    assert not at.exception, [e.message for e in at.exception]
    assert any("No night published yet" in str(c.value) for c in at.caption)
    assert _entries_table(at)["value"].tolist() == [DPRK_BLOCK]


def test_the_dag_sync_step_copies_the_lists_into_raw(tmp_path: Path) -> None:
    from itw_radar.pipeline import NightConfig, sync_reviews

    h = Home.resolve(tmp_path / "home").ensure()
    kept = wl.add_entry(h, "asn", "64500", "case 1", "test", "lead1")
    gone = wl.add_entry(h, "asn", "64501", "case 2", "test", "lead1")
    wl.remove_entry(h, gone, "lead1")
    sync_reviews(NightConfig(h, tmp_path / "exports", START))
    con = duckdb.connect(str(h.warehouse), read_only=True)
    try:
        rows = con.execute("select entry_id, list_type, value, source from "
                           "raw.watchlist_entries order by value").fetchall()
    finally:
        con.close()
    assert [r[2] for r in rows] == [DPRK_BLOCK, "64500"]
    assert kept in {r[0] for r in rows} and "APNIC" in rows[0][3]


def test_page_rescore_button_republishes(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITW_RADAR_HOME", str(built.home.root))
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    monkeypatch.delenv(auth.USERS_ENV, raising=False)
    monkeypatch.delenv(auth.ROLES_ENV, raising=False)
    published = built.home.serving.stat().st_mtime_ns
    at = _page()
    at.button(key="wl_rescore").click().run(timeout=300)
    assert not at.error, [e.value for e in at.error]
    assert any(f"night {LAST} re-scored" in s.value for s in at.success)
    assert built.home.serving.stat().st_mtime_ns > published
