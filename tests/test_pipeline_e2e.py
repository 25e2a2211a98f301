"""End to end through the real DAG: generated exports -> `run_nights` -> `dag.test()` per night
-> the real loader, GX suites, dbt project (through cosmos) and publishing.

One scenario, in order, on four small generated nights (a few minutes in all):
two good nights; a corrupt third night (wrong checksum) that fails at verify and leaves the
serving file byte-identical; the fourth night runs and its serving database records why night 3
failed; re-running night 4 leaves every mart identical; a failing dbt test blocks publishing;
a night whose export never came fails at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from itw_radar.orchestration import REPO, NightResult, run_nights
from itw_radar.paths import Home
from itw_radar.publishing import OUTPUT_CONTRACT, PIPELINE_RUNS_SQL, check_serving
from itw_radar.warehouse import connect

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

N1, N2, N3, N4 = (date(2026, 11, d) for d in (1, 2, 3, 4))
# Columns that legitimately differ between two runs of the same night: when it ran, and the
# random id of each load (provenance, not results).
VOLATILE = {"pipeline_runs": {"started_at", "finished_at", "summary"}}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _marts(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every table in a serving file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = 'main'").fetchall():
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                if c not in VOLATILE.get(table, set())]
            select = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) FROM "
                f"(SELECT CAST(ROW({select}) AS VARCHAR) AS r FROM \"{table}\")").fetchone()
        return out
    finally:
        con.close()


def _runs(path: Path) -> dict[date, tuple[str, str | None]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {d: (s, e) for d, s, e in con.execute(
            "SELECT export_date, status, error FROM pipeline_runs").fetchall()}
    finally:
        con.close()


def _scored_nights(path: Path) -> set[date]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT DISTINCT as_of_date FROM risk_daily").fetchall()}
    finally:
        con.close()


def _run(home: Home, exports: Path, first: date, last: date) -> list[NightResult]:
    lines: list[str] = []
    results = run_nights(home, exports, first, last, echo=lines.append)
    assert lines == [r.line for r in results]
    return results


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from itw_radar.generator import generate

    out = tmp_path_factory.mktemp("e2e") / "exports"
    generate(out, N1, 4, freelancers=150, clients=60, seed=11)
    return out


def _display_names(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {n for (n,) in con.execute("SELECT display_name FROM account_profile "
                                          "WHERE display_name IS NOT NULL").fetchall()}
    finally:
        con.close()


def test_nights_through_the_dag(exports: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home.resolve(tmp_path / "home")
    # Alerts go to a real local HTTP receiver through Airflow's Apprise notifier.
    from alert_receiver import Receiver

    from itw_radar import alerts

    receiver = Receiver()
    monkeypatch.setenv(alerts.ALERT_URLS_ENV, receiver.url)
    monkeypatch.setenv(alerts.DASHBOARD_URL_ENV, "https://radar.example")

    # Two good nights.
    results = _run(home, exports, N1, N2)
    assert [(r.export_date, r.status) for r in results] == [(N1, "success"), (N2, "success")]
    # one digest per published night, with ids, scores, reasons and links, no personal data
    digests = [p for p in receiver.posts if p["type"] == "info"]
    assert [p["title"].split(":")[0] for p in digests] == [f"ITW Radar {N1}", f"ITW Radar {N2}"]
    new_high = alerts.night_digest(home.serving).counts["new_high"]
    assert f"{new_high} new high-risk" in digests[1]["title"]
    if new_high:
        assert "https://radar.example/account?account_id=" in digests[1]["message"]
    names = _display_names(home.serving)
    assert names
    for post in receiver.posts:
        assert not [n for n in names if n in post["message"] or n in post["title"]]
    assert results[-1].summary["rows_loaded"] > 0
    assert set(results[-1].summary["accounts_per_tier"]) == {"high", "medium", "low", "none"}
    assert check_serving(home.serving) == []
    assert _scored_nights(home.serving) == {N1, N2}
    # dbt parsed the project once: night 2's build reused night 1's saved parse (the night
    # reaches dbt at run time, and the seeds load from the project copy the build runs in)
    log = sorted(home.logs.glob("run-*.log"))[-1].read_text(errors="replace")
    assert len(re.findall(r"Found \d+ models", log)) == 2  # each night's build ran dbt
    assert log.count("Starting full parse") == 1, "night 2 parsed the dbt project again"
    # ... and its data tests still knew the night: a one-week window ending on it, and only the
    # night's new rows checked for uniqueness (not the whole table grouped again)
    compiled = list((home.airflow / "dbt_target" / "compiled").rglob(
        "unique_new_rows_stg_logins_login_id__export_date.sql"))
    assert len(compiled) == 1
    sql = compiled[0].read_text()
    assert "export_date >= date '2026-11-02' - interval 7 day" in sql
    assert "true as is_new" not in sql and "as is_new" in sql
    after_n2 = _sha(home.serving)

    # Night 3 arrives corrupt: a checksum in its manifest does not match its file.
    manifest = exports / N3.isoformat() / "manifest.json"
    good = manifest.read_text()
    doc = json.loads(good)
    corrupt = sorted(doc["files"])[0]
    doc["files"][corrupt]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(doc))
    try:
        results = _run(home, exports, N3, N4)
    finally:
        manifest.write_text(good)
    assert [(r.export_date, r.status) for r in results] == [(N3, "failed")]
    failed = [p for p in receiver.posts if p["type"] == "failure"]
    assert [p["title"] for p in failed] == [f"ITW Radar {N3}: night FAILED at verify_manifest"]
    assert corrupt in failed[0]["message"]
    assert len([p for p in receiver.posts if p["type"] == "info"]) == 2  # no digest for it
    receiver.close()
    error = results[0].error or ""
    assert "2026-11-03" in error and corrupt in error
    assert "\n" not in error
    assert _sha(home.serving) == after_n2  # the previous night, untouched
    con = connect(home.warehouse, read_only=True)
    sql = PIPELINE_RUNS_SQL.format(log="raw.load_log")
    try:
        runs = {d: (s, e) for d, s, e in con.execute(
            f"SELECT export_date, status, error FROM ({sql})").fetchall()}
    finally:
        con.close()
    assert runs[N3] == ("failed", error)

    # The next good night runs, and the published pipeline_runs says why night 3 failed.
    results = _run(home, exports, N4, N4)
    assert [(r.export_date, r.status) for r in results] == [(N4, "success")]
    assert check_serving(home.serving) == []
    runs = _runs(home.serving)
    assert runs[N3] == ("failed", error)
    assert {d: s for d, (s, _) in runs.items()} == {N1: "success", N2: "success", N3: "failed",
                                                    N4: "success"}
    assert _scored_nights(home.serving) == {N1, N2, N4}
    con = duckdb.connect(str(home.serving), read_only=True)
    try:
        assert con.execute("SELECT max(as_of_date) FROM account_risk").fetchone()[0] == N4
    finally:
        con.close()
    before = _marts(home.serving)
    assert set(OUTPUT_CONTRACT) <= set(before)

    # Re-running a night gives exactly the same marts.
    results = _run(home, exports, N4, N4)
    assert [r.status for r in results] == ["success"]
    after = _marts(home.serving)
    assert after == before, {t for t in before if before[t] != after.get(t)}
    published = _sha(home.serving)

    # A failing dbt test blocks publishing: the same project plus one test that fails.
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests" / "e2e_must_fail.sql").write_text(
        "-- injected by tests/test_pipeline_e2e.py: fails whenever any account was scored\n"
        "select account_id from {{ ref('account_risk') }} where risk_score >= 0\n")
    monkeypatch.setenv("ITW_RADAR_DBT_PROJECT", str(project))
    results = _run(home, exports, N4, N4)
    assert [(r.export_date, r.status) for r in results] == [(N4, "failed")]
    assert "e2e_must_fail" in (results[0].error or "")
    assert "nothing was published" in (results[0].error or "")
    assert _sha(home.serving) == published
    monkeypatch.delenv("ITW_RADAR_DBT_PROJECT")

    # A night whose export never came fails at once under itw-radar run, naming the folder.
    missing = date(2026, 11, 5)
    results = _run(home, exports, missing, missing)
    assert [(r.export_date, r.status) for r in results] == [(missing, "failed")]
    assert "never arrived" in (results[0].error or "")
    assert str(exports / missing.isoformat() / "manifest.json") in (results[0].error or "")
    assert _sha(home.serving) == published
