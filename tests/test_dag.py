"""The nightly DAG as Airflow's DagBag parses it: no import errors, the flow chart's tasks and
dependencies, the settings the issue asks for, and no work at import time.

Airflow reads its configuration when first imported, so the DagBag is built in a child process
with the environment `itw-radar run` uses (itw_radar.orchestration.airflow_env).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from itw_radar.orchestration import (
    DAG_ID,
    DAGS_DIR,
    airflow_env,
    ensure_dbt_manifest,
    manifest_path,
)
from itw_radar.paths import Home

MAIN_CHAIN = ["wait_for_manifest", "verify_manifest", "load_raw", "validate", "sync_reviews"]

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter() - t0
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get(sys.argv[2])
out = {"import_errors": {k: v[-2000:] for k, v in bag.import_errors.items()},
       "parse_seconds": [s.duration.total_seconds() for s in bag.dagbag_stats]}
if dag is not None:
    out.update(
        schedule=str(getattr(dag.timetable, "expression", None)),
        timetable=type(dag.timetable).__name__,
        catchup=dag.catchup, max_active_runs=dag.max_active_runs,
        start_date=str(dag.start_date),
        params=sorted(dag.params.keys()),
        tasks={t.task_id: {
            "upstream": sorted(t.upstream_task_ids), "downstream": sorted(t.downstream_task_ids),
            "retries": t.retries, "pool": t.pool, "type": type(t).__name__,
            "mode": getattr(t, "mode", None), "timeout": getattr(t, "timeout", None),
            "outlets": [getattr(o, "name", str(o)) for o in t.outlets],
            "callback": bool(t.on_failure_callback),
            "vars": getattr(t, "vars", None), "env": getattr(t, "env", None),
            "invocation": str(getattr(t, "invocation_mode", "")),
            "dbt_flags": getattr(t, "dbt_cmd_flags", None),
        } for t in dag.tasks})
print("@@" + json.dumps(out, default=str))
"""


def _parse(tmp: Path, inline: bool, exports: Path | None = None,
           **extra: str) -> dict[str, Any]:
    """The DAG as a DagBag parses it under `itw-radar run` (inline) or a scheduler."""
    home = Home.resolve(tmp / "home")
    ensure_dbt_manifest()
    env = airflow_env(home, exports or tmp / "no-exports-here", quick_retries=inline)
    env.update(extra)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(DAGS_DIR), DAG_ID], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@")]
    assert lines, f"DagBag probe failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    out = json.loads(lines[-1][2:])
    out["home"] = home
    return out


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _parse(tmp_path_factory.mktemp("dagbag"), inline=True)


def _descendants(tasks: dict[str, Any], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for d in tasks[todo.pop()]["downstream"]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def test_dag_imports_without_errors(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert "tasks" in parsed, f"DAG {DAG_ID} not found"


def test_parsing_does_no_work(parsed: dict[str, Any]) -> None:
    home: Home = parsed["home"]
    assert not home.warehouse.exists()
    assert not home.serving.exists()


def test_the_flow_chart_is_the_dependency_chain(parsed: dict[str, Any]) -> None:
    tasks = parsed["tasks"]
    for a, b in zip(MAIN_CHAIN, MAIN_CHAIN[1:], strict=False):
        assert tasks[b]["upstream"] == [a], f"{b} should run right after {a}"
    dbt = {t for t in tasks if t.startswith("dbt_build.")}
    assert "dbt_build.dbt_producer_watcher" in dbt or any(t.endswith("_run") or ".run" in t
                                                          for t in dbt)
    # every dbt task runs after the reviews are synced and before anything is published
    after_sync = _descendants(tasks, "sync_reviews")
    assert dbt <= after_sync
    assert "publish" in after_sync
    for t in dbt:
        assert "publish" in _descendants(tasks, t), f"{t} does not gate publish"
    # (load_raw and sync_reviews hand publish their results through XCom)
    assert set(tasks["publish"]["upstream"]) <= dbt | {"load_raw", "sync_reviews"}
    assert set(tasks["summarise"]["upstream"]) == {"publish", "load_raw"}
    assert tasks["summarise"]["downstream"] == ["alert"]
    assert tasks["alert"]["upstream"] == ["summarise"] and tasks["alert"]["downstream"] == []
    assert tasks["wait_for_manifest"]["upstream"] == []
    assert set(tasks) == set(MAIN_CHAIN) | dbt | {"publish", "summarise", "alert"}


def test_one_task_per_mart_and_its_tests(parsed: dict[str, Any]) -> None:
    marts = sorted(p.stem for p in (DAGS_DIR.parent / "dbt_project" / "models" / "marts")
                   .glob("*.sql"))
    assert marts, "dbt_project/models/marts/ has no models"
    tasks = parsed["tasks"]
    for mart in marts:
        assert {f"dbt_build.{mart}_run", f"dbt_build.{mart}.run"} & set(tasks), mart
    # the data tests run in the producer's one `dbt build`, each after its model: cosmos
    # limits that build to models, seeds and snapshots unless it is told to include tests
    producer = tasks["dbt_build.dbt_producer_watcher"]
    flags = producer["dbt_flags"] or []
    types = {flags[i + 1] for i, f in enumerate(flags[:-1]) if f == "--resource-type"}
    assert {"model", "seed", "test"} <= types, flags
    assert not [t for t in tasks if "test" in t.split(".")[-1]], "no separate test tasks"
    # publish waits for every model's watcher (a failed test fails the producer and them)
    models = {t for t in tasks if t.startswith("dbt_build.") and t.endswith("_run")}
    assert models and all("publish" in _descendants(tasks, m) for m in models)


def test_watchers_follow_the_producer_only_under_dag_test(
        parsed: dict[str, Any], tmp_path: Path) -> None:
    producer = "dbt_build.dbt_producer_watcher"
    inline = parsed["tasks"]
    watchers = {t for t in inline if t.startswith("dbt_build.") and t.endswith(("_run", "_seed"))}
    assert watchers
    # dag.test() runs one task at a time: every watcher after the producer, none poking early
    assert watchers <= _descendants(inline, producer)
    # under a scheduler the root watchers run beside the producer and show progress
    scheduled = _parse(tmp_path, inline=False)["tasks"]
    assert set(scheduled) == set(inline)
    roots = {t for t in watchers if not set(scheduled[t]["upstream"]) - {"sync_reviews"}}
    assert roots and not roots & _descendants(scheduled, producer)


def test_schedule_catchup_and_one_run_at_a_time(parsed: dict[str, Any]) -> None:
    assert parsed["timetable"] == "CronDataIntervalTimetable"
    assert parsed["schedule"] == "0 2 * * *"
    # no start date configured and no export root to take it from: no hidden default
    assert parsed["start_date"] == "None"
    assert parsed["catchup"] is False
    assert parsed["max_active_runs"] == 1
    assert parsed["params"] == ["exports", "home", "through", "wait_for_export"]


def test_sensor_retries_assets_and_callbacks(parsed: dict[str, Any]) -> None:
    tasks = parsed["tasks"]
    sensor = tasks["wait_for_manifest"]
    assert sensor["mode"] == "reschedule"
    assert 0 < float(sensor["timeout"]) <= 24 * 3600
    # data failures are not retried, transient steps are
    for t in ("verify_manifest", "validate"):
        assert tasks[t]["retries"] == 0
    for t in ("load_raw", "sync_reviews", "publish", "summarise", "alert"):
        assert tasks[t]["retries"] >= 1
    assert tasks["publish"]["outlets"] == ["itw_radar_serving"]
    assert all(t["callback"] for t in tasks.values())
    dbt = [t for name, t in tasks.items() if name.startswith("dbt_build.")]
    # the night reaches dbt through the environment, not --vars: changed vars make dbt parse the
    # whole project again, every night (finding 16 of docs/benchmark-findings.md)
    assert not any(t["vars"] for t in dbt)
    envs = [t["env"] for t in dbt if t["env"] is not None]
    # the run's last night: its logical date, or the param `through` of a catch-up
    assert envs and all(e["ITW_RADAR_AS_OF_DATE"] == "{{ itw_radar_last_night(params, ds) }}"
                        for e in envs)
    assert all(e["DBT_PARTIAL_PARSE"] == "true" for e in envs)
    # dbt failures are tests or SQL, not transient (cosmos' own bookkeeping task may retry)
    assert all(t["retries"] == 0 for name, t in tasks.items()
               if name.startswith("dbt_build.") and not name.endswith("_watcher_done"))


def test_parse_time_is_recorded(parsed: dict[str, Any], capsys: pytest.CaptureFixture) -> None:
    # Not asserted (no timed assertions); printed for docs/orchestration.md.
    with capsys.disabled():
        print(f"\nDAG file parse time: {parsed['parse_seconds']} s")
    assert parsed["parse_seconds"]


def test_the_dag_file_is_not_named_like_dbt() -> None:
    assert not list(Path(DAGS_DIR).glob("dbt_*"))


def test_the_first_night_comes_from_the_export_root(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    for name in ("1990-01-01", "1990-01-02", "_truth", "2026-13-01", "notes"):
        (exports / name).mkdir(parents=True)
    parsed = _parse(tmp_path, inline=False, exports=exports)
    assert parsed["import_errors"] == {}
    assert parsed["start_date"].startswith("1990-01-01")
    assert parsed["catchup"] is True
    # a configured first night wins over the export root
    configured = _parse(tmp_path, inline=False, exports=exports,
                        ITW_RADAR_START_DATE="2099-12-31")
    assert configured["start_date"].startswith("2099-12-31")


def test_the_dag_parses_without_a_dbt_manifest(tmp_path: Path) -> None:
    """A clean clone: no command wrote the manifest yet. The DAG's first parse writes it (one
    `dbt parse`) into a copy of the project here, as it would in a fresh checkout."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DAGS_DIR.parent / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    assert not manifest_path(project).exists()
    parsed = _parse(tmp_path, inline=True, ITW_RADAR_DBT_PROJECT=str(project))
    assert parsed["import_errors"] == {}
    assert manifest_path(project).is_file()
    dbt_tasks = {t for t in parsed["tasks"] if t.startswith("dbt_build.")}
    assert "dbt_build.dbt_producer_watcher" in dbt_tasks
    assert dbt_tasks == {t for t in _parse(tmp_path / "m", inline=True)["tasks"]
                         if t.startswith("dbt_build.")}
