"""The nightly DAG's settings and its astronomer-cosmos tuning, read from the environment.

`dags/itw_radar_nightly.py` only wires tasks; everything it is configured by lives here, where it
is imported and tested without Airflow's scheduler. Every setting is an environment variable
(the paths can also be given per run as the DAG params `exports` and `home`):

    ITW_RADAR_EXPORTS              export root (folders YYYY-MM-DD): a local folder, or an
                                   s3://, gs:// or az:// URL read with the Airflow connection
                                   itw_radar_exports (itw_radar.export_source)
    ITW_RADAR_HOME                 warehouse, serving database, logs (default ./var)
    ITW_RADAR_SCHEDULE             cron, default "0 2 * * *" (UTC)
    ITW_RADAR_START_DATE           first night the scheduler runs; default: the earliest night
                                   folder under ITW_RADAR_EXPORTS (a local one: object
                                   storage is not listed while the DAG is parsed); with
                                   neither, the DAG has no start date: the scheduler waits for
                                   one, and runs triggered by hand (or `itw-radar run`) take
                                   any night
    ITW_RADAR_END_DATE             last night (optional)
    ITW_RADAR_MANIFEST_TIMEOUT     seconds to wait for an export, default 21600 (6 h)
    ITW_RADAR_MANIFEST_POKE        seconds between looks for the manifest, default 300
    ITW_RADAR_RETRIES / ITW_RADAR_RETRY_DELAY   retries of the transient steps (2, 60 s)
    ITW_RADAR_DBT_EXECUTION        watcher (default: one `dbt build`) or local (one dbt call
                                   per node, serialised through the one-slot pool)
    ITW_RADAR_DBT_TEST_BEHAVIOR    in_build (default: the data tests run in the producer's
                                   `dbt build`, each after its model), after_all (one `dbt
                                   test` task after the models) or after_each (a task per
                                   model's tests)
    ITW_RADAR_DBT_WATCH_TIMEOUT    seconds a dbt watcher waits for its model, default 3600
    ITW_RADAR_DBT_EXCLUDE          dbt selectors left out of the night (unit tests)
    ITW_RADAR_DBT_PROJECT / ITW_RADAR_DBT_MANIFEST   dbt project and its parsed manifest
    ITW_RADAR_ENGINE               duckdb (default) or spark: the dbt target that builds the
                                   night (itw_radar.engines; Spark's own settings, such as
                                   ITW_RADAR_SPARK_MASTER, in dbt_project/profiles.yml)

A manifest missing at parse time is not an error: cosmos then lists the project with `dbt ls`
(slower to parse, same tasks). `./dev setup` and `itw-radar run` write the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from itw_radar.contract import night_folders

REPO = Path(__file__).resolve().parents[2]
WAREHOUSE_POOL = "itw_radar_warehouse"  # one slot: DuckDB allows one writing process
WATCHER_POOL = "itw_radar_dbt_watchers"  # a few slots: dbt model tasks watching the producer
# The data tests' placement in watcher mode (see `DagSettings.test_behavior`).
TEST_BEHAVIORS = ("in_build", "after_all", "after_each")


class SettingsError(ValueError):
    """An ITW_RADAR_* setting of the DAG has a value it cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: give a whole number (default {default})") from None


def _night(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: give a night as YYYY-MM-DD") from None


def _engine(env: Mapping[str, str]) -> str:
    from itw_radar.engines import EngineError, engine

    try:
        return engine(env)
    except EngineError as exc:
        raise SettingsError(str(exc)) from None


def _midnight(night: date) -> datetime:
    return datetime(night.year, night.month, night.day, tzinfo=UTC)


@dataclass(frozen=True)
class DagSettings:
    """Everything the nightly DAG is configured by (see the module's docstring)."""

    exports: str = ""
    home: str = ""
    schedule: str = "0 2 * * *"
    start_date: datetime | None = None
    end_date: datetime | None = None
    manifest_timeout: int = 6 * 3600
    manifest_poke: int = 300
    retries: int = 2
    retry_delay: int = 60
    dbt_project: Path = REPO / "dbt_project"
    dbt_manifest: Path = REPO / "dbt_project" / "target" / "airflow" / "manifest.json"
    dbt_execution: str = "watcher"
    test_behavior: str = "in_build"
    dbt_watch_timeout: int = 3600
    dbt_exclude: tuple[str, ...] = ("resource_type:unit_test",)
    inline_run: bool = False  # under `dag.test()` (itw-radar run)
    engine: str = "duckdb"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DagSettings:
        """Read the settings; raises SettingsError naming the variable with a bad value."""
        env = os.environ if env is None else env
        project = Path(env.get("ITW_RADAR_DBT_PROJECT") or REPO / "dbt_project").resolve()
        manifest = Path(env.get("ITW_RADAR_DBT_MANIFEST")
                        or project / "target" / "airflow" / "manifest.json").resolve()
        exports = env.get("ITW_RADAR_EXPORTS", "").strip()
        start = _night(env, "ITW_RADAR_START_DATE")
        # The earliest night of a local export root. An object-storage root is not listed here:
        # parsing the DAG would call the store (and look up its credentials) at every parse.
        if start is None and exports and "://" not in exports:
            found = night_folders(Path(exports).expanduser())
            start = found[0] if found else None
        end = _night(env, "ITW_RADAR_END_DATE")
        if start is not None and end is not None and end < start:
            raise SettingsError(f"ITW_RADAR_END_DATE={end} is before the first night {start}")
        execution = env.get("ITW_RADAR_DBT_EXECUTION", "watcher").strip().lower()
        if execution not in ("watcher", "local"):
            raise SettingsError(f"ITW_RADAR_DBT_EXECUTION must be watcher or local, not "
                                f"{execution!r}")
        tests = env.get("ITW_RADAR_DBT_TEST_BEHAVIOR", "in_build").strip().lower()
        if tests not in TEST_BEHAVIORS:
            raise SettingsError(
                "ITW_RADAR_DBT_TEST_BEHAVIOR must be in_build, after_all or after_each (the "
                "other cosmos behaviours skip dbt's data tests or do not run in watcher mode)")
        return cls(
            exports=exports,
            home=env.get("ITW_RADAR_HOME", ""),
            schedule=env.get("ITW_RADAR_SCHEDULE", "0 2 * * *"),
            start_date=_midnight(start) if start else None,
            end_date=(_midnight(end) + timedelta(days=1, seconds=-1)) if end else None,
            manifest_timeout=_int(env, "ITW_RADAR_MANIFEST_TIMEOUT", 6 * 3600),
            manifest_poke=_int(env, "ITW_RADAR_MANIFEST_POKE", 300),
            retries=_int(env, "ITW_RADAR_RETRIES", 2),
            retry_delay=_int(env, "ITW_RADAR_RETRY_DELAY", 60),
            dbt_project=project,
            dbt_manifest=manifest,
            dbt_execution=execution,
            test_behavior=tests,
            dbt_watch_timeout=_int(env, "ITW_RADAR_DBT_WATCH_TIMEOUT", 3600),
            # dbt unit tests check SQL logic on fixtures, not the night's data: CI runs them,
            # nights skip them.
            dbt_exclude=tuple(env.get("ITW_RADAR_DBT_EXCLUDE",
                                      "resource_type:unit_test").split()),
            inline_run=env.get("ITW_RADAR_DAG_TEST", "") == "1",
            engine=_engine(env),
        )

    @property
    def has_manifest(self) -> bool:
        return self.dbt_manifest.is_file()


# --------------------------------------------------------------------------------------------
# astronomer-cosmos


def cosmos_render(settings: DagSettings) -> dict[str, Any]:
    """Keyword arguments of cosmos' DbtTaskGroup that say how the dbt graph becomes tasks.

    From the manifest (parsing the DAG then never runs dbt). A clone where no command wrote it
    yet gets it from one `dbt parse` here, once; where it cannot be written (a read-only
    checkout), cosmos lists the project with `dbt ls` at every parse instead.
    """
    from cosmos import ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import LoadMode

    from itw_radar.engines import DBT_TARGETS

    manifest = settings.has_manifest or write_manifest(settings)
    return {
        "project_config": ProjectConfig(
            dbt_project_path=settings.dbt_project,
            manifest_path=settings.dbt_manifest if manifest else None,
            install_dbt_deps=False),
        "profile_config": ProfileConfig(
            profile_name="itw_radar", target_name=DBT_TARGETS[settings.engine],
            profiles_yml_filepath=settings.dbt_project / "profiles.yml"),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if manifest else LoadMode.DBT_LS,
            test_behavior=test_behavior(settings),
            exclude=list(settings.dbt_exclude),
            # local mode: a test of two models runs after both
            should_detach_multiple_parents_tests=settings.dbt_execution == "local",
            emit_datasets=False,
            # dbt ls (no manifest) runs with cosmos' mock profile: no warehouse is opened
        ),
    }


def write_manifest(settings: DagSettings) -> bool:
    """Write the dbt manifest the DAG renders from (`dbt parse`); False when it cannot be."""
    from itw_radar.orchestration import OrchestrationError, ensure_dbt_manifest, manifest_path

    if settings.dbt_manifest != manifest_path(settings.dbt_project):
        return False  # a manifest named by ITW_RADAR_DBT_MANIFEST is the deployment's to write
    try:
        ensure_dbt_manifest(settings.dbt_project)
    except (OSError, OrchestrationError):
        return False
    return settings.has_manifest


def test_behavior(settings: DagSettings) -> Any:  # cosmos.constants.TestBehavior
    """cosmos' rendering of ITW_RADAR_DBT_TEST_BEHAVIOR.

    - in_build (default): the producer's one `dbt build` runs the data tests, each right after
      its model (a failing test skips the models built on it, fails the producer and the night).
      No second dbt process: its start-up cost 3.3 s of a tiny night (docs/benchmark-findings.md,
      finding 11). Rendered as cosmos' NONE: no test tasks.
    - after_all: every model in the producer's build, then all data tests in one `dbt test` task.
    - after_each: each model's tests in a watcher task of its own (nearly twice the tasks).
    Local mode always runs each model's tests after it.
    """
    from cosmos.constants import TestBehavior

    if settings.dbt_execution != "watcher":
        return TestBehavior.AFTER_EACH
    return {"in_build": TestBehavior.NONE, "after_all": TestBehavior.AFTER_ALL,
            "after_each": TestBehavior.AFTER_EACH}[settings.test_behavior]


def dbt_execution(settings: DagSettings, dbt: str) -> tuple[Any, dict[str, Any]]:
    """cosmos' ExecutionConfig and the extra operator arguments of the dbt tasks.

    dbt runs as a subprocess: dbt-duckdb run in-process keeps its warehouse connection open,
    which would lock the later tasks out when `dag.test()` runs them all in one process.
    """
    from cosmos import ExecutionConfig
    from cosmos.constants import ExecutionMode, InvocationMode

    if settings.dbt_execution == "local":
        # One dbt process per node; the pool makes them take turns on the warehouse.
        return (ExecutionConfig(execution_mode=ExecutionMode.LOCAL, dbt_executable_path=dbt,
                                invocation_mode=InvocationMode.SUBPROCESS),
                {"pool": WAREHOUSE_POOL})
    # One `dbt build` (the producer, in the warehouse pool) writes; every model task watches its
    # result. The watchers poke from a worker slot of their own pool: deferring them to the
    # triggerer hits an Airflow 3.3 scheduler race (a trigger that fires at once fails the task,
    # apache/airflow#72716). Under `dag.test()` (itw-radar run) tasks run one at a time: there
    # they run after the producer (watch_after_producer) and find their status at the first
    # poke; poke mode spares each the reschedule mode's look-up of its first reschedule.
    watch: dict[str, Any] = (
        {"deferrable": False, "mode": "poke", "poke_interval": 2} if settings.inline_run
        else {"deferrable": False, "mode": "poke", "poke_interval": 5, "pool": WATCHER_POOL})
    watch["timeout"] = settings.dbt_watch_timeout  # a status that never comes fails the night
    producer: dict[str, Any] = {"pool": WAREHOUSE_POOL}
    if settings.test_behavior == "in_build":
        # Rendered with TestBehavior.NONE (no test tasks), cosmos limits the producer's build to
        # `--resource-type model seed snapshot`; adding `test` keeps the data tests in it.
        producer["dbt_cmd_flags"] = ["--resource-type", "test"]
    return (ExecutionConfig(execution_mode=ExecutionMode.WATCHER, dbt_executable_path=dbt,
                            invocation_mode=InvocationMode.SUBPROCESS,
                            setup_operator_args=producer), watch)


def dbt_env() -> dict[str, str]:
    """The dbt tasks' environment (templated per run).

    - The warehouse path, absolute: cosmos runs a copy of the project.
    - The night, read only while dbt executes (macro as_of_date), not a var: dbt re-parses the
      whole project when its vars change, and reuses its saved parse when only the night does
      (docs/benchmark-findings.md, finding 16). A catch-up run's night is the last of its
      batch (param `through`).
    - The approved rule changes (itw_radar.rules, macros/rules.sql): the configuration active
      when the run started, read by dbt only while it executes, as the night is: a new
      configuration does not make the next night's parse a full one.
    - run_results.json where the failure callback can name the failing node, and dbt's saved
      parse, which the next night's build reuses.
    - dbt's debug file log would go to cosmos' temporary project copy, deleted when the task
      ends; cosmos reads dbt's JSON lines on stdout (the task log) instead.
    """
    return {
        "ITW_RADAR_WAREHOUSE": "{{ itw_radar_dbt_paths(params)['warehouse'] }}",
        "ITW_RADAR_AS_OF_DATE": "{{ itw_radar_last_night(params, ds) }}",
        "ITW_RADAR_RULES": "{{ itw_radar_rules(params, dag_run) }}",
        "DBT_TARGET_PATH": "{{ itw_radar_dbt_paths(params)['dbt_target'] }}",
        # the spark target's raw layer and metastore (the duckdb target reads neither)
        "ITW_RADAR_LAKE": "{{ itw_radar_dbt_paths(params)['lake'] }}",
        "ITW_RADAR_SPARK_HOME": "{{ itw_radar_dbt_paths(params)['spark_home'] }}",
        "DBT_PARTIAL_PARSE": "true",
        "DBT_LOG_LEVEL_FILE": "none",
    }


def watch_after_producer(group: Any) -> None:
    """Under `dag.test()` only: put the producer upstream of the watchers it had no edge to.

    `dag.test()` runs one task at a time, so a watcher it picked before the producer could only
    poke, find no status and reschedule (the project's 17 root watchers: 3.9 s of the tiny
    night; docs/benchmark-findings.md, finding 14). After the producer each watcher runs once
    and finds its status.
    Under a scheduler the watchers stay beside the producer, as cosmos renders them, and show
    each model's state while the one `dbt build` runs.
    """
    from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID

    tasks = {t.task_id: t for t in group.children.values()}
    producer = tasks[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    for task_id, t in tasks.items():
        if t is producer or task_id.endswith(PRODUCER_WATCHER_DONE_TASK_ID):
            continue
        if not set(t.upstream_task_ids) & set(tasks):
            producer >> t
