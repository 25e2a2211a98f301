"""ITW Radar's nightly pipeline: one run per export night, in date order.

wait_for_manifest -> verify_manifest -> load_raw -> validate -> sync_reviews
    -> dbt_build (astronomer-cosmos: a task per dbt model, then the data tests)
    -> publish -> summarise -> alert

The run for logical date D processes the export folder `<exports>/D/`; the schedule's data
interval is the export day, so the run starts after that day ends (02:00 UTC by default). A run
given the param `through` (a later night) catches up: it verifies, loads and validates every
night from D to that night, builds them in one dbt build and publishes the last
(`itw-radar run` does this for a backlog).

The first night the scheduler runs is ITW_RADAR_START_DATE, else the earliest night folder of the
export root; every setting is listed in `itw_radar.dag_settings`. Parsing does no work: the task
logic lives in `itw_radar.pipeline`, imported when a task runs.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, PokeReturnValue, dag, task
from airflow.sdk.exceptions import AirflowFailException
from cosmos import DbtTaskGroup

from itw_radar.dag_settings import (
    WAREHOUSE_POOL,
    DagSettings,
    cosmos_render,
    dbt_env,
    dbt_execution,
    watch_after_producer,
)

Json = dict[str, Any]
Params = dict[str, Any] | None

SETTINGS = DagSettings.from_env()

# Other DAGs can follow the published serving database. The URI is logical, not the file's path:
# a home that is moved or restored from a copy keeps the same asset.
SERVING_DB = Asset(name="itw_radar_serving", uri="itw-radar://serving/radar.duckdb")


def _fail_fast(exc: Exception) -> AirflowFailException:
    """The project's own errors are facts about the data: fail the night, never retry."""
    return AirflowFailException(str(exc))


def _cfg(params: Params, ds: str | None) -> Any:  # itw_radar.pipeline.NightConfig
    from itw_radar import pipeline

    try:
        return pipeline.night_config(params, ds or "")
    except pipeline.ConfigError as exc:
        raise _fail_fast(exc) from exc


def _on_failure(context: Any) -> None:
    """Write the failure into raw.load_log (-> pipeline_runs) and log one pager line."""
    from itw_radar import pipeline

    pipeline.on_task_failure(context["ti"], context["ds"], context.get("params"),
                             context.get("exception"))


def _dbt_paths(params: Params) -> dict[str, str]:
    """Template macro `itw_radar_dbt_paths(params)`: the warehouse and dbt target of the home."""
    from itw_radar import pipeline

    return pipeline.dbt_paths(params)


def _last_night(params: Params, ds: str) -> str:
    """Template macro `itw_radar_last_night(params, ds)`: the night dbt builds as of."""
    from itw_radar import pipeline

    return pipeline.last_night(params, ds)


def _rules(params: Params, dag_run: Any = None) -> str:
    """Template macro `itw_radar_rules(params, dag_run)`: the approved rule changes active when
    the run started (JSON for dbt's ITW_RADAR_RULES; empty: the project's defaults)."""
    from itw_radar import pipeline, rules

    return rules.for_run(pipeline.night_home(params), getattr(dag_run, "start_date", None))


@dag(
    dag_id="itw_radar_nightly",
    description="Verify, load, validate, score and publish one night of platform exports",
    schedule=CronDataIntervalTimetable(SETTINGS.schedule, timezone="UTC"),
    start_date=SETTINGS.start_date,
    end_date=SETTINGS.end_date,
    # every night from the first one, in order; with no first night known the scheduler starts
    # from now on (Airflow needs a start date to catch up)
    catchup=SETTINGS.start_date is not None,
    max_active_runs=1,
    default_args={
        "owner": "itw-radar",
        "retries": SETTINGS.retries,
        "retry_delay": timedelta(seconds=SETTINGS.retry_delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": _on_failure,
    },
    tags=["itw-radar"],
    doc_md=__doc__,
    user_defined_macros={"itw_radar_dbt_paths": _dbt_paths,
                         "itw_radar_last_night": _last_night,
                         "itw_radar_rules": _rules},
    params={
        "exports": Param(SETTINGS.exports, type="string",
                         description="Export root; empty: ITW_RADAR_EXPORTS"),
        "home": Param(SETTINGS.home, type="string",
                      description="ITW Radar home; empty: ITW_RADAR_HOME or ./var"),
        "wait_for_export": Param(True, type="boolean",
                                 description="Wait for a missing export (false: fail at once)"),
        "through": Param("", type="string",
                         description="Catch up: process every night from the logical date to "
                                     "this one (YYYY-MM-DD) in one run; empty: one night"),
    },
)
def itw_radar_nightly() -> None:
    @task.sensor(task_id="wait_for_manifest", mode="reschedule",
                 poke_interval=SETTINGS.manifest_poke, timeout=SETTINGS.manifest_timeout,
                 retries=0)
    def wait_for_manifest(params: Params = None, ds: str | None = None) -> PokeReturnValue:
        """Done when `<exports>/<night>/manifest.json` exists for every night of the run (the
        platform writes it last); an export root in object storage is asked through fsspec,
        with the Airflow connection itw_radar_exports."""
        from itw_radar import pipeline
        from itw_radar.ingestion import ExportError

        cfg = _cfg(params, ds)
        try:
            ready = pipeline.manifest_ready(cfg)
        except ExportError as exc:  # e.g. gs:// without gcsfs installed: waiting cannot help
            raise _fail_fast(exc) from exc
        if ready:
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
            return pipeline.verify(_cfg(params, ds))
        except ExportError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL)
    def load_raw(params: Params = None, ds: str | None = None) -> Json:
        """Typed rows into raw.<table>, rejected rows into raw.quarantine."""
        from itw_radar import pipeline
        from itw_radar.ingestion import ExportError

        try:
            return pipeline.load(_cfg(params, ds))
        except ExportError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL, retries=0)
    def validate(loaded: Json, params: Params = None, ds: str | None = None) -> Json:
        """Great Expectations suites on the night's raw rows."""
        from itw_radar import pipeline
        from itw_radar.validation import ValidationError

        try:
            return pipeline.validate(_cfg(params, ds), loaded["load_id"], loaded.get("load_ids"))
        except ValidationError as exc:
            raise _fail_fast(exc) from exc

    @task(pool=WAREHOUSE_POOL)
    def sync_reviews(params: Params = None, ds: str | None = None) -> Json:
        """Analysts' latest decisions into raw.analyst_reviews and watchlist entries into
        raw.watchlist_entries (dbt reads them); frees the memory the earlier tasks left in
        this process."""
        from itw_radar import pipeline

        return pipeline.sync_reviews(_cfg(params, ds))

    @task(pool=WAREHOUSE_POOL, outlets=[SERVING_DB])
    def publish(loaded: Json, synced: Json, params: Params = None, ds: str | None = None) -> Json:
        """Copy the marts into a new serving file and swap it in atomically."""
        from itw_radar import pipeline

        return pipeline.publish(_cfg(params, ds), load_id=loaded["load_id"],
                                dbt_started_at=synced["finished_at"])

    @task(pool=WAREHOUSE_POOL)
    def summarise(loaded: Json, published: Json, params: Params = None,
                  ds: str | None = None) -> Json:
        """Rows, quarantined rows, accounts per tier and new high-risk accounts."""
        from itw_radar import pipeline

        return pipeline.summarise(_cfg(params, ds), loaded["load_id"], loaded.get("load_ids"))

    venv_dbt = Path(sys.executable).with_name("dbt")
    execution_config, dbt_operator_args = dbt_execution(
        SETTINGS, str(venv_dbt) if venv_dbt.exists() else "dbt")
    dbt_build = DbtTaskGroup(
        group_id="dbt_build",
        execution_config=execution_config,
        **cosmos_render(SETTINGS),
        operator_args={
            "install_deps": False,
            "retries": 0,  # dbt failures are tests or SQL: re-run the night once fixed
            "env": dbt_env(),
            "append_env": True,
            **dbt_operator_args,
        },
    )
    if SETTINGS.inline_run and SETTINGS.dbt_execution == "watcher":
        watch_after_producer(dbt_build)

    @task(retries=2)
    def alert(summary: Json, params: Params = None, ds: str | None = None) -> Json:
        """Send the night's digest to the risk team: new high-risk accounts, tier escalations and
        new watchlist hits (ids, scores, reasons, dashboard links; no personal data), through
        Airflow's Apprise notifier. Nothing is sent when alerts are not set up."""
        from itw_radar import pipeline

        return pipeline.send_digest(_cfg(params, ds))

    found = wait_for_manifest()
    verified = verify_manifest()
    loaded = load_raw()
    validated = validate(loaded)
    synced = sync_reviews()
    published = publish(loaded, synced)
    done = summarise(loaded, published)
    alerted = alert(done)

    found >> verified >> loaded >> validated >> synced >> dbt_build >> published >> done
    done >> alerted


itw_radar_nightly()
