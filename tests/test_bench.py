"""The benchmark harness (benchmarks/) at tiny sizes, so it cannot rot (issue 6). No timed
assertions.

One small night goes through the real DAG (sections large, floor, dashboard share it) and a
three-night history runs each night through the DAG, with a full refresh whose marts must equal
the incremental ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import dag_night, dashboard, floor, harness, history, large, steady

pytestmark = pytest.mark.slow


def test_write_section_replaces_only_its_own_block(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    harness.write_section(doc, "a", "first A")
    harness.write_section(doc, "b", "first B")
    harness.write_section(doc, "a", "second A")
    text = doc.read_text()
    assert "second A" in text and "first A" not in text and "first B" in text
    assert text.index("<!-- bench:a -->") < text.index("<!-- bench:b -->")


def test_p95_and_dbt_model_times(tmp_path: Path) -> None:
    assert harness._p95([float(i) for i in range(1, 101)]) == 95.0
    assert harness._p95([3.0]) == 3.0
    rr = tmp_path / "run_results.json"
    rr.write_text(json.dumps({"results": [
        {"unique_id": "model.itw_radar.stg_logins", "execution_time": 1.5},
        {"unique_id": "test.itw_radar.not_null_x", "execution_time": 0.25},
        {"unique_id": "test.itw_radar.unique_y", "execution_time": 0.25},
    ]}))
    assert dag_night._dbt_model_times(rr) == {"stg_logins": 1.5, "tests": 0.5}
    # tests only (the DAG's dbt test task replaced the producer's results): models from the log
    rr.write_text(json.dumps({"results": [
        {"unique_id": "test.itw_radar.not_null_x", "execution_time": 0.25}]}))
    log = tmp_path / "run.log"
    log.write_text(
        "[info] 03:34:34  11 of 61 OK created sql incremental model staging.stg_logins ......"
        " [\x1b[32mOK\x1b[0m in 8.24s] [cosmos]\n"
        "[info] 03:34:14  2 of 61 OK loaded seed file seeds.text_patterns ......"
        " [\x1b[32mINSERT 12\x1b[0m in 0.04s]\n")
    assert dag_night._dbt_model_times(rr, log) == {"tests": 0.25, "stg_logins": 8.24,
                                              "seed text_patterns": 0.04}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("bench")
    doc = work / "benchmarks.md"
    large.run_large_benchmark(work, doc, repeats=1, quick=True)
    return work, doc


def _section(doc: Path, key: str) -> str:
    text = doc.read_text()
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    assert start in text and end in text, f"section {key} missing"
    return text[text.index(start):text.index(end)]


def test_the_plot_draws_a_section_from_its_median_run() -> None:
    runs = [{"seconds": 40.0, "id": "a"}, {"seconds": 38.0, "id": "b"},
            {"seconds": 39.0, "id": "c"}]
    assert harness._median_run(runs)["id"] == "c"  # not the last run, "a"
    assert harness._median_run(runs[:2])["id"] == "b"  # even count: the lower middle


def test_free_disk_check_names_what_and_where(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "warehouse.duckdb").write_bytes(b"x" * 1000)
    assert harness.tree_bytes(tmp_path / "home") == 1000
    harness.ensure_free_disk(tmp_path, 1000, "a small copy")  # fits
    with pytest.raises(RuntimeError, match=r"not enough free disk for a huge copy: .* under "
                       + re.escape(str(tmp_path)) + r".*--work on a larger disk"):
        harness.ensure_free_disk(tmp_path, 1 << 60, "a huge copy")


def test_large_section_through_the_dag(quick_run: tuple[Path, Path]) -> None:
    work, doc = quick_run
    body = _section(doc, "large")
    saved = json.loads((work / "bench-results.json").read_text())
    for key in ("large", "large_full"):  # the regular (delta) night and the first export
        run = saved[key]["runs"][0]
        # every stage of the DAG was timed from the Airflow metadata DB, dbt models one by one
        for task in ("verify_manifest", "load_raw", "validate", "dbt_build.dbt_producer_watcher",
                     "publish"):
            assert task in run["tasks"], f"{key}: no time for task {task}: {sorted(run['tasks'])}"
        assert "stg_logins" in run["dbt"] and "account_risk" in run["dbt"], run["dbt"]
        # the data tests ran in the producer's build (the DAG's default test behaviour)
        assert run["dbt"].get("tests", 0) > 0, run["dbt"]
        assert run["tree_peak_mb"] > 50
    full, delta = saved["large_full"], saved["large"]
    platform = large.QUICK_NIGHT.freelancers + large.QUICK_NIGHT.clients
    # the first export holds every account that exists on night 1 (a few sign up on night 2)
    assert 0.95 * platform <= full["counts"]["accounts"] <= platform
    assert 0 < delta["counts"]["accounts"] < full["counts"]["accounts"]  # only the day's changes
    assert delta["night"] > full["night"]
    assert len(re.findall(r"Whole night \d+ s", body)) == 2
    assert "dbt stg_logins" in body
    # the tests' own time is reported under the build that ran them, once per night
    assert body.count("the data tests' own time (sum over tests, each after its model in this "
                      "build)") == 2, body


def test_floor_and_dashboard_sections(quick_run: tuple[Path, Path]) -> None:
    work, doc = quick_run
    floor.run_floor_benchmark(work, doc, repeats=1, quick=True)
    assert "pipeline / floor" in _section(doc, "floor")
    saved = json.loads((work / "bench-results.json").read_text())["floor"]
    # the pipeline does more than read the files once
    assert saved["ratios"]["large"] > 1 and saved["ratios"]["large_full"] > 1
    # the stack floor ran Airflow, GX and dbt for real, and the pipeline costs more than it
    assert {"airflow import", "dag parse", "dag run", "gx", "dbt"} <= set(saved["stack_parts"])
    assert saved["stack_s"] > 0 and all(v > 1 for v in saved["stack_ratios"].values())
    assert "pipeline / (floor + stack floor)" in _section(doc, "floor")

    dashboard.run_dashboard_benchmark(work, doc, repeats=1, quick=True)
    dash = json.loads((work / "bench-results.json").read_text())["dashboard"]
    assert not dash["errors"], dash["errors"]
    pages = {key.split(":")[0] for key in dash["times"]}
    assert pages == {"overview", "flagged", "account", "networks", "reviews", "cases",
                     "watchlists", "data quality", "backtest", "users"}
    # the analyst stores were seeded before the pages were timed
    assert dash["seed"]["cases"] > 0 and dash["seed"]["decisions"] > 0, dash["seed"]
    assert any("live reviews" in key and "(0 live" not in key for key in dash["times"])
    assert "seeded first" in _section(doc, "dashboard")
    assert "Worst p95" in _section(doc, "dashboard")
    assert "<!-- bench:large -->" in doc.read_text()  # the other sections stay


def test_history_section_full_refresh_equals_incremental(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    history.run_history_benchmark(tmp_path, doc, repeats=1, quick=True)
    res = json.loads((tmp_path / "bench-results.json").read_text())["history"]
    assert sorted(int(k) for k in res["timed"]) == [1, 2, 3]
    # each timed night went through the DAG: its tasks, the producer's dbt build among them
    assert all("dbt_build.dbt_producer_watcher" in t["tasks"] for t in res["timed"].values())
    assert res["marts"] > 5
    assert res["marts_differing"] == []
    assert [b["as_of"] for b in res["full"]["batches"]] == ["2026-11-02", "2026-11-03"]
    body = _section(doc, "history")
    assert "whole night: night 3 / night 1" in body and "identical" in body


def test_steady_section_times_the_night_after_its_history(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    steady.run_steady_benchmark(tmp_path, doc, repeats=1, quick=True)
    res = json.loads((tmp_path / "bench-results.json").read_text())["steady"]
    # nights 1-2 caught up (loader + dbt), night 3 timed through the DAG on top of them
    assert sorted(res["history_nights"]) == ["2026-11-01", "2026-11-02"]
    assert res["night"] == "2026-11-03"
    run = res["runs"][0]
    assert "publish" in run["tasks"] and "int_account_links" in run["dbt"], run
    assert list(run["nights"]) == ["2026-11-03"]  # the DAG ran exactly the night after them
    assert res["home"] is None and not (tmp_path / "quick-steady-home").exists()  # disk freed
    import duckdb

    from itw_radar.paths import Home

    base = Home.resolve(str(tmp_path / "quick-steady-base-home"))
    with duckdb.connect(str(base.warehouse), read_only=True) as con:
        nights = con.execute("select count(distinct as_of_date) from main.risk_daily").fetchone()
    assert nights == (2,)  # the caught-up history: its nights are in the marts
    body = _section(doc, "steady")
    assert "Night 3, windows full" in body and re.search(r"Whole night \d+ s", body)
    # its ratio comes from floors measured in the same run, right after the timed night
    assert res["floors"]["floor_s"] > 0 and res["floors"]["stack_s"] > 0
    assert re.search(r"pipeline / \(floor \+ stack floor\) = \d+\.\d", body)
    # and the window floor: DuckDB alone on the stored logins of the nights before (2 here)
    assert res["floors"]["window_s"] > 0
    delivered = sum(f["rows"] for m in (tmp_path / "quick-steady-exports").glob(
        "2026-11-0[12]/manifest.json") for f in json.loads(m.read_text())["files"].values()
        if f["table"] == "logins")
    assert 0.9 * delivered < res["floors"]["window_rows"] <= delivered  # not night 3's own
    assert re.search(r"pipeline / \(floor \+ window floor \+ stack floor\) = \d+\.\d", body)
    assert doc.with_suffix(".png").is_file()  # the plot is drawn with the steady night in it
    # a second run reuses the caught-up history instead of rebuilding it
    marker = tmp_path / "quick-steady-base-home" / "caught-up.json"
    before = marker.stat().st_mtime
    steady.run_steady_benchmark(tmp_path, doc, repeats=1, quick=True)
    assert marker.stat().st_mtime == before
