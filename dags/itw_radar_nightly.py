"""ITW Radar's nightly pipeline: one run per export night, in date order.

wait_for_manifest -> verify_manifest -> load_raw -> validate -> sync_reviews
    -> dbt_build (astronomer-cosmos: a task per dbt model, then the data tests)
    -> publish -> summarise

The run for logical date D processes the export folder `<exports>/D/`; the schedule's data
interval is the export day, so the run starts after that day ends (02:00 UTC by default).
Settings (environment, read when the file is parsed; the paths can also be given per run as the
params `exports` and `home`):

    ITW_RADAR_EXPORTS              export root (folders YYYY-MM-DD)
    ITW_RADAR_HOME                 warehouse, serving database, logs (default ./var)
    ITW_RADAR_SCHEDULE             cron, default "0 2 * * *" (UTC)
    ITW_RADAR_START_DATE           first night, default 2026-11-01
    ITW_RADAR_END_DATE             last night (optional)
    ITW_RADAR_MANIFEST_TIMEOUT     seconds to wait for an export, default 21600 (6 h)
    ITW_RADAR_DBT_EXECUTION        watcher (default: one `dbt build`) or local (one dbt call
                                   per node, serialised through the one-slot pool)
    ITW_RADAR_DBT_TEST_BEHAVIOR    in_build (default: the data tests run in the producer's
                                   `dbt build`, each after its model), after_all (one `dbt
                                   test` task after the models) or after_each (a task per
                                   model's tests)
    ITW_RADAR_DBT_PROJECT / ITW_RADAR_DBT_MANIFEST   dbt project and its parsed manifest

Parsing does no work: the task logic lives in itw_radar.pipeline and is imported when a task
runs; cosmos reads the dbt graph from a manifest (`python -m itw_radar.orchestration manifest`
writes it) instead of running `dbt ls`.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    Param,
    PokeReturnValue,
    dag,
    task,
)
from airflow.sdk.exceptions import AirflowFailException
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    PRODUCER_WATCHER_DONE_TASK_ID,
    PRODUCER_WATCHER_TASK_ID,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
)

Json = dict[str, Any]
Params = dict[str, Any] | None

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = Path(os.environ.get("ITW_RADAR_DBT_PROJECT", REPO / "dbt_project")).resolve()
# Written by `python -m itw_radar.orchestration manifest` into a folder of its own, so that dbt
# commands run by hand in dbt_project/ do not change the DAG under a running night.
DBT_MANIFEST = Path(os.environ.get("ITW_RADAR_DBT_MANIFEST",
                                   DBT_PROJECT / "target" / "airflow" / "manifest.json")).resolve()
SCHEDULE = os.environ.get("ITW_RADAR_SCHEDULE", "0 2 * * *")
START_DATE = datetime.fromisoformat(os.environ.get("ITW_RADAR_START_DATE", "2026-11-01")
                                    + "T00:00:00+00:00")
_END = os.environ.get("ITW_RADAR_END_DATE")
END_DATE = datetime.fromisoformat(_END + "T23:59:59+00:00") if _END else None
MANIFEST_TIMEOUT = int(os.environ.get("ITW_RADAR_MANIFEST_TIMEOUT", str(6 * 3600)))
MANIFEST_POKE = int(os.environ.get("ITW_RADAR_MANIFEST_POKE", "300"))
DBT_WATCH_TIMEOUT = int(os.environ.get("ITW_RADAR_DBT_WATCH_TIMEOUT", "3600"))
RETRIES = int(os.environ.get("ITW_RADAR_RETRIES", "2"))
RETRY_DELAY = int(os.environ.get("ITW_RADAR_RETRY_DELAY", "60"))
# dbt unit tests check SQL logic on fixtures, not the night's data: CI runs them, nights skip them.
DBT_EXCLUDE = os.environ.get("ITW_RADAR_DBT_EXCLUDE", "resource_type:unit_test").split()
DBT_EXECUTION = os.environ.get("ITW_RADAR_DBT_EXECUTION", "watcher").strip().lower()
# How dbt's data tests run in watcher mode:
# - "in_build" (default): the producer's one `dbt build` runs them, each right after its model
#   (dbt's own order: a failing test skips the models built on it, fails the producer and the
#   night, and the failure callback names it). No second dbt process: its start-up, the load of
#   the saved parse and the run_results it writes cost 3.3 s of section 4's tiny night, about
#   10 s on a 2.6x slower machine (docs/benchmarks.md, finding 11).
# - "after_all": every model in the producer's `dbt build`, then all data tests in one `dbt test`
#   task before publish.
# - "after_each": each model's tests in a watcher task of its own: nearly twice the tasks, each
#   costing scheduling time (docs/orchestration.md has the counts).
# Local mode always runs each model's tests after it.
_TEST_BEHAVIORS = {"in_build": TestBehavior.NONE, "after_all": TestBehavior.AFTER_ALL,
                   "after_each": TestBehavior.AFTER_EACH}  # cosmos' rendering of each
TEST_BEHAVIOR = os.environ.get("ITW_RADAR_DBT_TEST_BEHAVIOR", "in_build").strip().lower()
if TEST_BEHAVIOR not in _TEST_BEHAVIORS:
    raise ValueError("ITW_RADAR_DBT_TEST_BEHAVIOR must be in_build, after_all or after_each (the "
                     "other cosmos behaviours skip dbt's data tests or do not run in watcher "
                     "mode)")
INLINE_RUN = os.environ.get("ITW_RADAR_DAG_TEST", "") == "1"  # set by itw_radar.orchestration
WAREHOUSE_POOL = "itw_radar_warehouse"  # one slot: DuckDB allows one writing process
WATCHER_POOL = "itw_radar_dbt_watchers"  # a few slots: dbt model tasks watching the producer

# Other DAGs can follow the published serving database.
# The URI is logical, not the file's path: a home that is moved or restored from a copy keeps
# the same asset (a path-based URI left the old one registered and failed the publish task).
SERVING_DB = Asset(name="itw_radar_serving", uri="itw-radar://serving/radar.duckdb")

if not DBT_MANIFEST.is_file():
    raise FileNotFoundError(
        f"dbt manifest {DBT_MANIFEST} is missing: run `python -m itw_radar.orchestration "
        "manifest` (itw-radar run and scripts/airflow_standalone.sh do it for you)")


def _fail_fast(exc: Exception) -> AirflowFailException:
    """The project's own errors are facts about the data: fail the night, never retry."""
    return AirflowFailException(str(exc))


def _on_failure(context: Any) -> None:
    """Write the failure into raw.load_log (-> pipeline_runs) and log one pager line."""
    from itw_radar import pipeline

    ti = context["ti"]
    ds = context["ds"]
    exc = context.get("exception")
    try:
        cfg = pipeline.night_config(context.get("params"), ds)
    except pipeline.ConfigError as err:
        print(f"{pipeline.PAGER_PREFIX} night={ds} task={ti.task_id}: {err}", flush=True)
        return
    attempt = None
    if ti.task_id not in ("wait_for_manifest", "verify_manifest"):
        verified = ti.xcom_pull(task_ids="verify_manifest")
        attempt = (verified or {}).get("attempt_started_at")
    message = pipeline.failure_text(ti.task_id, exc, cfg, ds, attempt)
    pipeline.record_failure(cfg.home, cfg.export_date, ti.task_id, message, attempt)


def _dbt_paths(params: Params) -> dict[str, str]:
    """Template macro `itw_radar_dbt_paths(params)`: pipeline.dbt_paths, imported when used."""
    from itw_radar import pipeline

    return pipeline.dbt_paths(params)


def _cfg(params: Params, ds: str) -> Any:  # itw_radar.pipeline.NightConfig
    from itw_radar import pipeline

    try:
        return pipeline.night_config(params, ds)
    except pipeline.ConfigError as exc:
        raise _fail_fast(exc) from exc


def _dbt_execution() -> tuple[ExecutionConfig, dict[str, Any]]:
    # dbt runs as a subprocess: dbt-duckdb run in-process keeps its warehouse connection open,
    # which would lock the later tasks out when `dag.test()` runs them all in one process.
    venv_dbt = Path(sys.executable).with_name("dbt")
    dbt = str(venv_dbt) if venv_dbt.exists() else "dbt"
    if DBT_EXECUTION == "local":
        # One dbt process per node; the pool makes them take turns on the warehouse.
        return (ExecutionConfig(execution_mode=ExecutionMode.LOCAL, dbt_executable_path=dbt,
                                invocation_mode=InvocationMode.SUBPROCESS),
                {"pool": WAREHOUSE_POOL})
    if DBT_EXECUTION != "watcher":
        raise ValueError(f"ITW_RADAR_DBT_EXECUTION must be watcher or local, not {DBT_EXECUTION!r}")
    # One `dbt build` (the producer, in the warehouse pool) writes; every model task watches its
    # result. The watchers poke from a worker slot of their own pool: deferring them to the
    # triggerer hits an Airflow 3.3 scheduler race (a trigger that fires at once fails the task,
    # apache/airflow#72716). Under `dag.test()` (itw-radar run) tasks run one at a time: there
    # they run after the producer (_watch_after_producer) and find their status at the first
    # poke; poke mode spares each the reschedule mode's look-up of its first reschedule.
    watch: dict[str, Any] = (
        {"deferrable": False, "mode": "poke", "poke_interval": 2} if INLINE_RUN
        else {"deferrable": False, "mode": "poke", "poke_interval": 5, "pool": WATCHER_POOL})
    watch["timeout"] = DBT_WATCH_TIMEOUT  # a watcher whose status never comes fails the night
    producer: dict[str, Any] = {"pool": WAREHOUSE_POOL}
    if TEST_BEHAVIOR == "in_build":
        # Rendered with TestBehavior.NONE (no test tasks), cosmos limits the producer's build to
        # `--resource-type model seed snapshot`; adding `test` keeps the data tests in it.
        producer["dbt_cmd_flags"] = ["--resource-type", "test"]
    return (ExecutionConfig(execution_mode=ExecutionMode.WATCHER, dbt_executable_path=dbt,
                            invocation_mode=InvocationMode.SUBPROCESS,
                            setup_operator_args=producer), watch)


def _watch_after_producer(group: DbtTaskGroup) -> None:
    """Under `dag.test()` only: put the producer upstream of the watchers it had no edge to.

    `dag.test()` runs one task at a time, so a watcher it picked before the producer could only
    poke, find no status and reschedule (the project's 17 root watchers: 3.9 s of the tiny
    night, docs/benchmarks.md finding 14). After the producer each watcher runs once and finds
    its status.
    Under a scheduler the watchers stay beside the producer, as cosmos renders them, and show
    each model's state while the one `dbt build` runs.
    """
    tasks = {t.task_id: t for t in group.children.values()}
    producer = tasks[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    for task_id, t in tasks.items():
        if t is producer or task_id.endswith(PRODUCER_WATCHER_DONE_TASK_ID):
            continue
        if not set(t.upstream_task_ids) & set(tasks):
            producer >> t


def _test_behavior() -> TestBehavior:
    """cosmos' test behaviour for ITW_RADAR_DBT_TEST_BEHAVIOR (in_build: no test tasks)."""
    if DBT_EXECUTION != "watcher":
        return TestBehavior.AFTER_EACH
    return _TEST_BEHAVIORS[TEST_BEHAVIOR]


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "itw-radar",
    "retries": RETRIES,
    "retry_delay": timedelta(seconds=RETRY_DELAY),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": _on_failure,
}


@dag(
    dag_id="itw_radar_nightly",
    description="Verify, load, validate, score and publish one night of platform exports",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=START_DATE,
    end_date=END_DATE,
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["itw-radar"],
    doc_md=__doc__,
    user_defined_macros={"itw_radar_dbt_paths": _dbt_paths},
    params={
        "exports": Param(os.environ.get("ITW_RADAR_EXPORTS", ""), type="string",
                         description="Export root; empty: ITW_RADAR_EXPORTS"),
        "home": Param(os.environ.get("ITW_RADAR_HOME", ""), type="string",
                      description="ITW Radar home; empty: ITW_RADAR_HOME or ./var"),
        "wait_for_export": Param(True, type="boolean",
                                 description="Wait for a missing export (false: fail at once)"),
    },
)
def itw_radar_nightly() -> None:
    @task.sensor(task_id="wait_for_manifest", mode="reschedule", poke_interval=MANIFEST_POKE,
                 timeout=MANIFEST_TIMEOUT, retries=0)
    def wait_for_manifest(params: Params = None, ds: str | None = None) -> PokeReturnValue:
        """Done when `<exports>/<night>/manifest.json` exists (the platform writes it last)."""
        from itw_radar import pipeline

        cfg = _cfg(params, ds or "")
        if pipeline.manifest_ready(cfg):
            return PokeReturnValue(is_done=True, xcom_value=str(cfg.manifest))
        if not (params or {}).get("wait_for_export", True):
            raise AirflowFailException(pipeline.missing_export_message(cfg))
        return PokeReturnValue(is_done=False)

    @task(retries=0)
    def verify_manifest(params: Params = None, ds: str | None = None) -> Json:
        """Files, row counts and SHA-256 checksums against the manifest."""
        from itw_radar import pipeline
        from itw_radar.ingestion import ExportError

        try:
            return pipeline.verify(_cfg(params, ds or ""))
        except ExportError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL)
    def load_raw(params: Params = None, ds: str | None = None) -> Json:
        """Typed rows into raw.<table>, rejected rows into raw.quarantine."""
        from itw_radar import pipeline
        from itw_radar.ingestion import ExportError

        try:
            return pipeline.load(_cfg(params, ds or ""))
        except ExportError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL, retries=0)
    def validate(loaded: Json, params: Params = None,
                 ds: str | None = None) -> Json:
        """Great Expectations suites on the night's raw rows."""
        from itw_radar import pipeline
        from itw_radar.validation import ValidationError

        try:
            return pipeline.validate(_cfg(params, ds or ""), loaded["load_id"])
        except ValidationError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL)
    def sync_reviews(params: Params = None, ds: str | None = None) -> Json:
        """Analysts' latest decisions into raw.analyst_reviews (dbt reads them); frees the
        memory the earlier tasks left in this process."""
        from itw_radar import pipeline

        return pipeline.sync_reviews(_cfg(params, ds or ""))

    @task(pool=WAREHOUSE_POOL, outlets=[SERVING_DB])
    def publish(loaded: Json, synced: Json,
                params: Params = None, ds: str | None = None) -> Json:
        """Copy the marts into a new serving file and swap it in atomically."""
        from itw_radar import pipeline

        return pipeline.publish(_cfg(params, ds or ""), load_id=loaded["load_id"],
                                dbt_started_at=synced["finished_at"])

    @task(pool=WAREHOUSE_POOL)
    def summarise(loaded: Json, published: Json,
                  params: Params = None, ds: str | None = None) -> Json:
        """Rows, quarantined rows, accounts per tier and new high-risk accounts."""
        from itw_radar import pipeline

        return pipeline.summarise(_cfg(params, ds or ""), loaded["load_id"])

    execution_config, dbt_operator_args = _dbt_execution()
    dbt_build = DbtTaskGroup(
        group_id="dbt_build",
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT, manifest_path=DBT_MANIFEST,
                                     install_dbt_deps=False),
        profile_config=ProfileConfig(profile_name="itw_radar", target_name="dev",
                                     profiles_yml_filepath=DBT_PROJECT / "profiles.yml"),
        execution_config=execution_config,
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST,
                                   test_behavior=_test_behavior(),
                                   exclude=DBT_EXCLUDE,
                                   # local mode: a test of two models runs after both
                                   should_detach_multiple_parents_tests=DBT_EXECUTION == "local",
                                   emit_datasets=False),
        operator_args={
            "install_deps": False,
            "retries": 0,  # dbt failures are tests or SQL: re-run the night once fixed
            # profiles.yml reads the warehouse path from here (absolute: cosmos runs a copy).
            "env": {
                "ITW_RADAR_WAREHOUSE": "{{ itw_radar_dbt_paths(params)['warehouse'] }}",
                # The night, read only while dbt executes (macro as_of_date), not a var: dbt
                # re-parses the whole project when its vars change, and reuses its saved
                # parse when only the night does (docs/benchmarks.md, finding 16).
                "ITW_RADAR_AS_OF_DATE": "{{ ds }}",
                # run_results.json where the failure callback can name the failing node, and
                # dbt's saved parse, which the next night's build reuses (dbt re-parses the
                # files that changed).
                "DBT_TARGET_PATH": "{{ itw_radar_dbt_paths(params)['dbt_target'] }}",
                "DBT_PARTIAL_PARSE": "true",
                # dbt's debug file log would go to cosmos' temporary project copy, deleted when
                # the task ends; cosmos reads dbt's JSON lines on stdout (the task log) instead.
                "DBT_LOG_LEVEL_FILE": "none",
            },
            "append_env": True,
            **dbt_operator_args,
        },
    )

    if INLINE_RUN and DBT_EXECUTION == "watcher":
        _watch_after_producer(dbt_build)

    found = wait_for_manifest()
    verified = verify_manifest()
    loaded = load_raw()
    validated = validate(loaded)
    synced = sync_reviews()
    published = publish(loaded, synced)
    done = summarise(loaded, published)

    found >> verified >> loaded >> validated >> synced >> dbt_build >> published >> done


itw_radar_nightly()
