"""The nightly alert digest (itw_radar.alerts): what it lists, that it carries no personal data,
and that it reaches a real HTTP receiver through Airflow's Apprise notifier."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from alert_receiver import Receiver

from itw_radar import alerts

NIGHT = dt.date(2031, 2, 14)
SECRET_NAME = "Zhanna Secretname"


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


PROXY = ("Proxy payout account (45 pts): payout account pm9 held under a name the identity "
         "documents do not carry")
OFF_PLATFORM = ('Off-platform contact (20 pts): 3 message(s) asking to move off-platform, '
                'e.g. "my telegram @zhanna_s +1 555 0100"')


def serving_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE account_risk (account_id VARCHAR, account_type VARCHAR,
        as_of_date DATE, risk_score DOUBLE, risk_tier VARCHAR, previous_tier VARCHAR,
        is_new_high BOOLEAN, reasons VARCHAR, display_name VARCHAR)""")
    rows = [("u-1", "freelancer", 91.5, "high", "medium", True, PROXY),
            ("u-2", "freelancer", 48.0, "medium", "low", False, OFF_PLATFORM),
            ("u-3", "client", 40.0, "medium", "medium", False,
             "Watchlist hit (60 pts): w1 (ip_cidr 175.45.176.0/22): login 9 from 175.45.177.9 "
             "on device d-77aa01"),
            ("u-4", "freelancer", 20.0, "low", "high", False, "fading"),
            ("u-5", "freelancer", 0.0, "none", None, False, None)]
    con.executemany("INSERT INTO account_risk VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(a, t, NIGHT, sc, tier, prev, new, r, SECRET_NAME)
                     for a, t, sc, tier, prev, new, r in rows])
    con.execute("""CREATE TABLE account_indicator_hits AS SELECT * FROM (VALUES
        ('u-3', DATE '2031-02-14', 'watchlist'),
        ('u-1', DATE '2031-02-14', 'watchlist'),
        ('u-1', DATE '2031-02-13', 'watchlist'))
        AS t(account_id, as_of_date, indicator_id)""")
    con.close()
    return path


def test_digest_lists_new_high_escalations_and_new_watchlist_hits(tmp_path: Path) -> None:
    digest = alerts.night_digest(serving_db(tmp_path / "serving.duckdb"))
    assert digest.night == NIGHT
    assert [a.account_id for a in digest.new_high] == ["u-1"]
    assert [a.account_id for a in digest.escalated] == ["u-2"]  # low -> medium; not u-4 (down)
    assert [a.account_id for a in digest.watchlist] == ["u-3"]  # u-1 had it the night before
    assert digest.counts == {"new_high": 1, "escalated": 1, "watchlist": 1}


def test_digest_text_has_ids_scores_links_and_no_personal_data(tmp_path: Path) -> None:
    digest = alerts.night_digest(serving_db(tmp_path / "serving.duckdb"))
    title, body = alerts.format_digest(digest, base="https://radar.example/")
    assert title == ("ITW Radar 2031-02-14: 1 new high-risk, 1 escalated, "
                     "1 new watchlist hits")
    assert "- u-1 (freelancer), score 91.5, medium -> high: Proxy payout account" in body
    assert "https://radar.example/account?account_id=u-1" in body
    assert "https://radar.example/overview" in body
    assert SECRET_NAME not in body and "Zhanna" not in body
    assert "@zhanna_s" not in body and "555" not in body  # the quoted excerpt is left out
    assert 'e.g. "…"' in body
    # addresses and devices in reasons are masked; the listed range (a network) is kept
    assert "175.45.177.9" not in body and "d-77aa01" not in body
    assert "from 175.45.*.* on device d-77…" in body and "175.45.176.0/22" in body


def test_a_quiet_night_says_so(tmp_path: Path) -> None:
    path = serving_db(tmp_path / "serving.duckdb")
    con = duckdb.connect(str(path))
    con.execute("UPDATE account_risk SET is_new_high = false, previous_tier = risk_tier")
    con.execute("DELETE FROM account_indicator_hits")
    con.close()
    digest = alerts.night_digest(path)
    assert digest.empty
    assert "Nothing new tonight" in alerts.format_digest(digest)[1]


def test_long_sections_are_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "serving.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE account_risk AS SELECT 'h' || i AS account_id,
        'freelancer' AS account_type, DATE '2031-02-14' AS as_of_date, 70.0 + i / 100 AS risk_score,
        'high' AS risk_tier, 'none' AS previous_tier, true AS is_new_high, 'r' AS reasons
        FROM range(40) t(i)""")
    con.execute("CREATE TABLE account_indicator_hits (account_id VARCHAR, as_of_date DATE, "
                "indicator_id VARCHAR)")
    con.close()
    digest = alerts.night_digest(path, limit=5)
    assert len(digest.new_high) == 5 and digest.counts["new_high"] == 40
    assert [a.account_id for a in digest.new_high][0] == "h39"  # highest score first
    assert "... and 35 more on" in alerts.format_digest(digest)[1]


def test_send_reaches_a_real_http_receiver(receiver: Receiver,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(alerts.ALERT_URLS_ENV, receiver.url)
    assert alerts.send("ITW Radar test", "body line 1\nline 2")
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["title"] == "ITW Radar test"
    assert post["message"] == "body line 1\nline 2"
    assert post["type"] == "info"
    assert alerts.send("failed", "x", failure=True)
    assert receiver.posts[1]["type"] == "failure"


def test_send_without_configuration_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(alerts.ALERT_URLS_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ITW_RADAR_ALERTS", raising=False)
    assert alerts.send("t", "b") is False


def test_send_through_the_airflow_connection(receiver: Receiver,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(alerts.ALERT_URLS_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_ITW_RADAR_ALERTS", json.dumps(
        {"conn_type": "apprise", "extra": {"config": [{"path": receiver.url}]}}))
    assert alerts.send("via connection", "b")
    assert [p["title"] for p in receiver.posts] == ["via connection"]


def test_failure_text_names_the_night_and_step() -> None:
    title, body = alerts.failure_text("2031-02-14", "verify_manifest",
                                      "night 2031-02-14, logins.csv: checksum mismatch\nmore")
    assert title == "ITW Radar 2031-02-14: night FAILED at verify_manifest"
    assert "logins.csv: checksum mismatch" in body and "more" not in body
    assert "last good night" in body


def test_the_alert_command_prints_and_sends_a_nights_digest(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """`itw-radar alert` shows what the DAG sends; `--send` delivers it (to try the set-up)."""
    from typer.testing import CliRunner

    from itw_radar.cli import app
    from itw_radar.paths import Home

    home = Home.resolve(tmp_path / "home").ensure()
    serving_db(home.serving)
    title, body = alerts.format_digest(alerts.night_digest(home.serving))
    monkeypatch.delenv(alerts.ALERT_URLS_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ITW_RADAR_ALERTS", raising=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["alert", "--home", str(home.root)])
    assert shown.exit_code == 0, shown.output
    assert title in shown.output and "u-1" in shown.output
    assert SECRET_NAME not in shown.output and receiver.posts == []
    unset = runner.invoke(app, ["alert", "--send", "--home", str(home.root)])
    assert unset.exit_code != 0 and "alerts are not set up" in unset.output
    monkeypatch.setenv(alerts.ALERT_URLS_ENV, receiver.url)
    sent = runner.invoke(app, ["alert", "--send", "--night", str(NIGHT),
                               "--home", str(home.root)])
    assert sent.exit_code == 0, sent.output
    assert [(p["title"], p["message"]) for p in receiver.posts] == [(title, body)]
    missing = runner.invoke(app, ["alert", "--home", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "no serving database" in missing.output
