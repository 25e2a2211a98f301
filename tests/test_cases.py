"""Cases (itw_radar.cases): worked to a decision, audited, queued, exported as evidence."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest
from dashboard_fixture import build_serving_db

from itw_radar import cases, reviews
from itw_radar.paths import Home

TODAY = dt.date(2030, 5, 10)


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    h = Home.resolve(tmp_path / "home").ensure()
    build_serving_db(h.serving, accounts=60, nights=3, seed=2)
    return h


def test_a_case_is_worked_to_a_decision_with_an_audit_trail(home: Home) -> None:
    cid = cases.create_case(home, "Cell on one office line", ["A000001", "A000002", "A000001"],
                            "alice", due=TODAY)
    assert cid == "CASE-000001"
    case, accounts, trail = cases.detail(home, cid)
    assert accounts == ["A000001", "A000002"] and case["status"] == "open"
    cases.update_case(home, cid, "bob", assignee="bob", status="investigating")
    cases.add_note(home, cid, "bob", "same portrait as A000003")
    cases.add_accounts(home, cid, ["A000003", "A000002"], "bob")
    with pytest.raises(cases.CaseError, match="needs a decision"):
        cases.update_case(home, cid, "bob", status="closed")
    with pytest.raises(cases.CaseError, match="not one of"):
        cases.update_case(home, cid, "bob", status="done")
    cases.update_case(home, cid, "bob", status="closed", decision="confirmed")
    case, accounts, trail = cases.detail(home, cid)
    assert (case["status"], case["decision"], case["assignee"]) == ("closed", "confirmed", "bob")
    assert trail["action"].tolist() == ["created", "status", "assigned", "note",
                                        "accounts added", "status"]
    assert trail["author"].tolist() == ["alice", "bob", "bob", "bob", "bob", "bob"]
    assert "open -> investigating" in trail["detail"].tolist()[1]
    # the decision reached every account of the case, and so the next night's scoring
    latest = reviews.latest_decisions(home, accounts)
    assert sorted(latest["account_id"]) == ["A000001", "A000002", "A000003"]
    assert set(latest["status"]) == {"confirmed"}
    # the evidence bundle carries every account's decisions (read in one query)
    reviews.record_decision(home, "A000002", "watch", "earlier look", "carol")
    decided = _bundle(cases.export_bundle(home, cid, home.serving, reveal=False))["decisions.csv"]
    assert sorted((r["account_id"], r["status"]) for r in decided) == [
        ("A000001", "confirmed"), ("A000002", "confirmed"), ("A000002", "watch"),
        ("A000003", "confirmed")]


def test_queues(home: Home) -> None:
    mine = cases.create_case(home, "mine", ["A000001"], "alice", assignee="alice",
                             due=TODAY + dt.timedelta(days=3))
    late = cases.create_case(home, "late", ["A000002"], "alice", assignee="bob",
                             due=TODAY - dt.timedelta(days=1))
    free = cases.create_case(home, "unassigned", ["A000003"], "alice")
    done = cases.create_case(home, "done", ["A000004"], "alice", assignee="alice",
                             due=TODAY - dt.timedelta(days=9))
    cases.update_case(home, done, "alice", status="closed", decision="no_action")

    def ids(name: str, user: str = "alice") -> list[str]:
        return cases.queue(home, name, user, TODAY)["case_id"].tolist()

    assert ids("mine") == [mine]
    assert ids("mine", "bob") == [late]
    assert ids("unassigned") == [free]
    assert ids("overdue") == [late]  # a closed case is never overdue
    assert sorted(ids("open")) == sorted([mine, late, free])
    assert ids("closed") == [done]
    assert reviews.latest_decisions(home, ["A000004"]).empty  # no_action records nothing
    with pytest.raises(cases.CaseError, match="queue"):
        cases.queue(home, "everything")


def _bundle(data: bytes) -> dict[str, list[dict[str, str]]]:
    z = zipfile.ZipFile(io.BytesIO(data))
    out = {n: list(csv.DictReader(io.StringIO(z.read(n).decode()))) for n in z.namelist()
           if n.endswith(".csv")}
    out["case.json"] = [json.loads(z.read("case.json"))]
    return out


def test_export_bundle_masks_personal_data_unless_revealed(home: Home) -> None:
    cid = cases.create_case(home, "export", ["A000002"], "alice")
    cases.add_note(home, cid, "alice", "checked the payout holder")
    con = duckdb.connect(str(home.serving), read_only=True)
    name = con.execute("SELECT display_name FROM account_profile WHERE account_id = 'A000002'"
                       ).fetchone()[0]
    hits = con.execute("SELECT count(*) FROM account_indicator_hits WHERE account_id = "
                       "'A000002'").fetchone()[0]
    con.close()
    masked = _bundle(cases.export_bundle(home, cid, home.serving, reveal=False))
    assert set(masked) == {"case.json", "accounts.csv", "hits.csv", "links.csv", "logins.csv",
                           "decisions.csv", "trail.csv"}
    assert masked["case.json"][0]["personal_data"] == "masked"
    assert masked["case.json"][0]["accounts"] == ["A000002"]
    row = masked["accounts.csv"][0]
    assert row["account_id"] == "A000002" and row["display_name"] != name
    assert len(masked["hits.csv"]) == hits
    assert all(r["ip"] in ("…", "") for r in masked["logins.csv"])
    assert all(r["device_id"].endswith("…") for r in masked["logins.csv"] if r["device_id"])
    assert [r["action"] for r in masked["trail.csv"]] == ["created", "note"]
    revealed = _bundle(cases.export_bundle(home, cid, home.serving, reveal=True))
    # the fixture's name is a script tag: a spreadsheet-safe copy, otherwise in clear
    assert revealed["accounts.csv"][0]["display_name"].lstrip("'") == name
    assert revealed["case.json"][0]["personal_data"] == "revealed"


def test_the_case_cli(home: Home, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from itw_radar.cli import app

    run = CliRunner().invoke
    base = ["--home", str(home.root), "--by", "carol"]
    opened = run(app, ["case", "open", "--title", "two accounts", "A000001", "A000005",
                       "--assignee", "carol", "--due", "2020-01-01", *base])
    assert opened.exit_code == 0, opened.output
    cid = opened.output.strip()
    listed = run(app, ["case", "list", "--queue", "overdue", *base])
    assert cid in listed.output
    bad = run(app, ["case", "close", cid, "--decision", "maybe", *base])
    assert bad.exit_code != 0 and "not one of" in bad.output
    # worked: status, assignee, a new due date, a note and one more account, each in the trail
    worked = run(app, ["case", "update", cid, "--status", "investigating", "--assignee", "dave",
                       "--due", "2031-05-01", "--note", "checking the payouts",
                       "--add", "A000007", *base])
    assert worked.exit_code == 0, worked.output
    assert cid not in run(app, ["case", "list", "--queue", "overdue", *base]).output
    assert cid in run(app, ["case", "list", "--queue", "mine", "--by", "dave",
                            "--home", str(home.root)]).output
    for bad_args, says in ((["--due", "soon"], "soon"), (["--status", "closed"], "case close"),
                           ([], "nothing to change")):
        bad = run(app, ["case", "update", cid, *bad_args, *base])
        assert bad.exit_code != 0 and says in bad.output, bad.output
    closed = run(app, ["case", "close", cid, "--decision", "false_positive", "--note", "agency",
                       *base])
    assert closed.exit_code == 0, closed.output
    assert set(reviews.latest_decisions(home, ["A000001", "A000005", "A000007"])["status"]) == \
        {"false_positive"}
    out = tmp_path / "bundle.zip"
    exported = run(app, ["case", "export", cid, "-o", str(out), *base])
    assert exported.exit_code == 0, exported.output
    bundle = _bundle(out.read_bytes())
    assert bundle["case.json"][0]["decision"] == "false_positive"
    assert bundle["case.json"][0]["personal_data"] == "masked"
    assert [r["action"] for r in bundle["trail.csv"]] == [
        "created", "accounts added", "status", "assigned", "due date", "note", "note", "status"]


def test_export_bundle_masks_addresses_quoted_in_evidence(home: Home) -> None:
    import re

    con = duckdb.connect(str(home.serving), read_only=True)
    account = con.execute("""SELECT account_id FROM account_indicator_hits
        WHERE regexp_matches(evidence, '\\d+\\.\\d+\\.\\d+\\.\\d+')
        ORDER BY 1 LIMIT 1""").fetchone()[0]
    con.close()
    cid = cases.create_case(home, "addresses", [account], "alice")
    full = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
    masked = _bundle(cases.export_bundle(home, cid, home.serving, reveal=False))
    assert masked["hits.csv"] and not any(full.search(r["evidence"]) for r in masked["hits.csv"])
    assert not any(full.search(r["reasons"]) for r in masked["accounts.csv"])
    revealed = _bundle(cases.export_bundle(home, cid, home.serving, reveal=True))
    assert any(full.search(r["evidence"]) for r in revealed["hits.csv"])
