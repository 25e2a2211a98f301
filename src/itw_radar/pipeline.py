"""What each task of the nightly DAG does (dags/itw_radar_nightly.py), without Airflow.

The DAG only wires these functions together and turns the project's own errors into Airflow's
"fail, do not retry"; everything here takes plain paths and dates, so it is tested directly.
Every step logs its outcome in `raw.load_log`, the source of `pipeline_runs`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from itw_radar.contract import MANIFEST_NAME
from itw_radar.paths import HOME_ENV, Home
from itw_radar.warehouse import connect, ensure_raw_schema, log_step

log = logging.getLogger("itw_radar.pipeline")

EXPORTS_ENV = "ITW_RADAR_EXPORTS"
# Set to 1 to process nights older than the published one (re-run every later night after).
REPROCESS_ENV = "ITW_RADAR_REPROCESS"
PAGER_PREFIX = "ITW-RADAR NIGHT FAILED"
T = TypeVar("T")


class ConfigError(ValueError):
    """The DAG run does not say where the exports or the home are."""


@dataclass(frozen=True)
class NightConfig:
    """A DAG run's nights: `export_date` (the logical date) through `through` (a catch-up
    batch: every night in between, in one dbt build), or that one night."""

    home: Home
    exports: Path | str  # a local folder, or an object-storage URL (itw_radar.export_source)
    export_date: date
    through: date | None = None

    @property
    def remote(self) -> bool:
        """Whether the exports are read from object storage (s3://, gs://, az://)."""
        return isinstance(self.exports, str)

    @property
    def folder(self) -> Path | str:
        if self.remote:
            return f"{self.exports}/{self.export_date.isoformat()}"
        return self.exports / self.export_date.isoformat()

    @property
    def manifest(self) -> Path | str:
        if self.remote:
            return f"{self.folder}/{MANIFEST_NAME}"
        return self.folder / MANIFEST_NAME

    @property
    def last(self) -> date:
        """The last night of the run: dbt builds and publish publishes as of this night."""
        return self.through or self.export_date

    @property
    def nights(self) -> list[date]:
        """Every night of the run, oldest first."""
        return [self.export_date + timedelta(days=i)
                for i in range((self.last - self.export_date).days + 1)]

    def night(self, export_date: date) -> NightConfig:
        """The same run's settings for one of its nights."""
        return replace(self, export_date=export_date, through=None)

    def load_id(self, night: date, load_ids: Mapping[str, str] | None, last: str) -> str:
        """A night's load id from load_raw's `load_ids` (`last`: the last night's, as older
        results of load_raw carry only that)."""
        return (load_ids or {}).get(night.isoformat(), last if night == self.last else "")


def night_config(params: Mapping[str, Any] | None, ds: str) -> NightConfig:
    """The run's settings from the DAG run's params, falling back to the environment."""
    params = params or {}
    exports = params.get("exports") or os.environ.get(EXPORTS_ENV)
    if not exports:
        raise ConfigError(f"night {ds}: no exports folder; set the DAG param 'exports' or the "
                          f"environment variable {EXPORTS_ENV} to the platform's export root")
    if "://" in str(exports):  # object storage (s3://, gs://, az://)
        from itw_radar.export_source import ExportSourceError, parse_root

        try:
            root: Path | str = parse_root(str(exports))
        except ExportSourceError as exc:
            raise ConfigError(f"night {ds}: {exc}") from None
    else:  # a local folder, exactly as before
        root = Path(exports).expanduser().resolve()
    return NightConfig(home=night_home(params), exports=root,
                       export_date=date.fromisoformat(ds), through=_through(params, ds))


def _through(params: Mapping[str, Any] | None, ds: str) -> date | None:
    """The DAG param `through`: the last night of a catch-up run, None for one night."""
    through = str((params or {}).get("through") or "").strip()
    if not through:
        return None
    try:
        last = date.fromisoformat(through)
    except ValueError:
        raise ConfigError(f"night {ds}: the DAG param 'through' is {through!r}; give the last "
                          "night of the catch-up as YYYY-MM-DD, or leave it empty") from None
    if last < date.fromisoformat(ds):
        raise ConfigError(f"night {ds}: the DAG param 'through' ({last}) is before the run's "
                          "night; give a later night or leave it empty")
    return last if last.isoformat() != ds else None


def last_night(params: Mapping[str, Any] | None, ds: str) -> str:
    """Template macro of the DAG: the run's last night (param `through`, else the logical
    date), the night dbt builds as of."""
    last = _through(params, ds)
    return last.isoformat() if last else ds


def night_home(params: Mapping[str, Any] | None) -> Home:
    """The run's home: the DAG param `home`, else ITW_RADAR_HOME, else ./var."""
    return Home.resolve((params or {}).get("home") or os.environ.get(HOME_ENV) or None)


def dbt_paths(params: Mapping[str, Any] | None) -> dict[str, str]:
    """The warehouse and dbt target folder of the run's home, for the dbt tasks' environment.

    A template macro of the DAG: computed from the params while a task renders, not pulled from
    another task's XCom (two API calls for each of the ~65 dbt tasks of a night)."""
    home = night_home(params)
    return {"warehouse": str(home.warehouse), "dbt_target": str(dbt_target(home)),
            # the spark target's raw layer and metastore: 'lake', 'spark_home'
            **{k.removeprefix("ITW_RADAR_").lower(): v for k, v in home.spark_env().items()}}


def _now() -> datetime:
    return datetime.now(UTC)


def _with_warehouse(home: Home, fn: Callable[[duckdb.DuckDBPyConnection], T],
                    attempts: int = 5, wait: float = 1.0) -> T:
    """Run `fn` on a warehouse connection, waiting out a lock held by another process."""
    for i in range(attempts):
        try:
            con = connect(home.warehouse)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(wait * (i + 1))
            continue
        try:
            ensure_raw_schema(con)
            return fn(con)
        finally:
            con.close()
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# wait_for_manifest -> verify_manifest -> load_raw -> validate -> sync_reviews


def manifest_ready(cfg: NightConfig) -> bool:
    """The platform writes manifest.json last: its presence means the folder is complete.

    A catch-up run is ready when every one of its nights is. Exports in object storage: the
    store is asked (itw_radar.export_source.manifest_missing)."""
    return _first_missing(cfg) is None


_ABSENT = "does not exist"


def _first_missing(cfg: NightConfig) -> tuple[date, str] | None:
    """The run's first night whose manifest is not there yet, and why (`does not exist`, or
    the object store's error)."""
    if not cfg.remote:
        night = next((n for n in cfg.nights if not cfg.night(n).manifest.is_file()), None)
        return None if night is None else (night, _ABSENT)
    from itw_radar.export_source import manifest_missing, open_root

    remote = open_root(str(cfg.exports))
    for night in cfg.nights:
        why = manifest_missing(remote, night)
        if why is not None:
            return night, why
    return None


def missing_export_message(cfg: NightConfig, waited: str | None = None) -> str:
    from itw_radar.ingestion import ExportError

    try:
        night, why = _first_missing(cfg) or (cfg.export_date, _ABSENT)
    except ExportError as exc:  # the store cannot be opened at all (a package is missing)
        return f"night {cfg.export_date}: the export could not be looked for: {exc}"
    cfg = cfg.night(night)
    after = f" after waiting {waited}" if waited else ""
    if why != _ABSENT:
        return (f"night {cfg.export_date}: the export could not be looked for{after}: "
                f"{cfg.manifest} {why}; then re-run the night")
    return (f"night {cfg.export_date}: the export never arrived{after}: {cfg.manifest} does not "
            "exist; check the platform's export job for that night, then re-run the night")


def verify(cfg: NightConfig) -> dict[str, Any]:
    """Check each night's files against its manifest and log its `verify` step.

    Raises itw_radar.ingestion.ExportError (one sentence: night, file, what is wrong) at the
    first night that does not verify; nothing is loaded before every night verified.
    """
    started = _now()
    refuse_older_night(cfg)
    nights: dict[str, Any] = {}
    for night in cfg.nights:
        manifest = _verify_night(cfg, night)
        rows = sum(f.rows for f in manifest.files)
        info = {"mode": manifest.mode, "files": len(manifest.files), "rows": rows,
                "attempt_started_at": started.isoformat()}
        nights[night.isoformat()] = info
        _with_warehouse(cfg.home, lambda con, n=night, i=info: log_step(
            con, export_date=n, load_id="", step="verify", status="success",
            started_at=started, finished_at=_now(), summary=json.dumps(i)))
        log.info("night %s: manifest ok (%s, %d files, %d rows)", night, manifest.mode,
                 len(manifest.files), rows)
    last = nights[cfg.last.isoformat()]
    return {**last, "rows": sum(i["rows"] for i in nights.values()), "nights": nights}


def _verify_night(cfg: NightConfig, night: date) -> Any:  # itw_radar.ingestion.Manifest
    """verify_night on the export folder; for exports in object storage, on a copy of the night
    under the home, streamed from the store and checked against the manifest on the way
    (itw_radar.export_source.copy_night). Errors name the file by its URL."""
    from itw_radar.ingestion import ExportError, verify_night

    if not cfg.remote:
        return verify_night(cfg.exports, night)
    from itw_radar import export_source

    remote = export_source.open_root(str(cfg.exports))
    copies = export_source.copies_root(cfg.home.ensure().root)
    export_source.copy_night(remote, night, copies)
    try:
        with export_source.remote_errors(remote, night, copies):
            return verify_night(copies, night)
    except ExportError:
        export_source.drop_copy(night, copies)
        raise


def _load_night(cfg: NightConfig, night: date) -> Any:  # itw_radar.ingestion.LoadResult
    """load_night from the export folder; for exports in object storage, from the copy verify
    made (copied again if it is gone or the manifest in the store changed), deleted once the
    night is loaded or refused."""
    from itw_radar.ingestion import ExportError, load_night

    if not cfg.remote:
        return load_night(cfg.home, cfg.exports, night)
    from itw_radar import export_source

    remote = export_source.open_root(str(cfg.exports))
    copies = export_source.copies_root(cfg.home.ensure().root)
    try:
        export_source.local_copy(remote, night, copies)
        with export_source.remote_errors(remote, night, copies):
            res = load_night(cfg.home, copies, night)
    except ExportError:
        export_source.drop_copy(night, copies)
        raise
    export_source.drop_copy(night, copies)  # a failure of another kind keeps it for the retry
    return res


def refuse_older_night(cfg: NightConfig) -> None:
    """Refuse a night older than the published one (a late or re-delivered night).

    The marts are built night by night (incremental dbt models), so processing an older night
    would publish that older night's scores over a newer one. Raises ExportError saying how to
    process it on purpose: with ITW_RADAR_REPROCESS=1, from that night to the latest.
    """
    from itw_radar.ingestion import ExportError
    from itw_radar.publishing import published_night

    if os.environ.get(REPROCESS_ENV, "") == "1" or not cfg.home.serving.exists():
        return
    try:
        latest = published_night(cfg.home.serving)
    except duckdb.Error:
        return  # an unreadable serving file is replaced by this night's publish
    if latest is not None and cfg.export_date < latest:
        raise ExportError(
            f"Night {cfg.export_date}: refused, night {latest} is already published and the "
            f"scores are built night by night; to add this late or re-delivered night, run "
            f"`{REPROCESS_ENV}=1 itw-radar run --from {cfg.export_date} --to {latest}`")


def load(cfg: NightConfig) -> dict[str, Any]:
    """Load each night into the raw layer (replacing that night's rows). Raises ExportError."""
    loads: dict[str, str] = {}
    files: dict[str, list[int]] = {}
    rows_loaded = rows_quarantined = 0
    for night in cfg.nights:
        res = _load_night(cfg, night)
        log.info("night %s: loaded %d rows, quarantined %d (load %s)", night,
                 res.rows_loaded, res.rows_quarantined, res.load_id)
        loads[night.isoformat()] = res.load_id
        rows_loaded += res.rows_loaded
        rows_quarantined += res.rows_quarantined
        if night == cfg.last:
            files = {f.file_name: [f.rows_loaded, f.rows_quarantined] for f in res.files}
    return {"load_id": loads[cfg.last.isoformat()], "load_ids": loads,
            "rows_loaded": rows_loaded, "rows_quarantined": rows_quarantined, "files": files}


def validate(cfg: NightConfig, load_id: str = "",
             load_ids: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the Great Expectations suites on each loaded night (one GX context and one Data Docs
    build for the run's nights). Raises ValidationError at the first night that fails."""
    from itw_radar.validation import validate_nights

    started = _now()
    reports = validate_nights(cfg.home, cfg.nights)

    def record(con: duckdb.DuckDBPyConnection) -> None:
        for report in reports:
            night = report.export_date
            night_load = cfg.load_id(night, load_ids, load_id)
            suites = {name: s.rows for name, s in report.suites.items()}
            log_step(con, export_date=night, load_id=night_load, step="validate",
                     status="success", started_at=started, finished_at=_now(),
                     summary=json.dumps({"suites": suites,
                                         "data_docs": str(report.data_docs or "")}))

    _with_warehouse(cfg.home, record)
    for report in reports:
        log.info("night %s: every expectation passed (%d suites)", report.export_date,
                 len(report.suites))
    last = reports[-1]
    return {"suites": len(last.suites), "data_docs": str(last.data_docs or "")}


def sync_reviews(cfg: NightConfig) -> dict[str, Any]:
    """Copy the analysts' latest review decisions into raw.analyst_reviews and their watchlist
    entries into raw.watchlist_entries (itw_radar.watchlists) before dbt runs, and record
    when each of the run's nights was first processed (raw.night_clock): a decision counts for
    a night processed after it was made (docs/detection.md, "Analysts' decisions").

    The last step before dbt: it also hands the memory earlier tasks freed back to the
    operating system (release_freed_memory). It returns the warehouse and dbt target for the
    log; the dbt tasks compute the same paths from the run's params (dbt_paths)."""
    from itw_radar.engines import engine
    from itw_radar.lake import nights_missing, write_nights
    from itw_radar.reviews import export_decisions_to_warehouse, stamp_nights
    from itw_radar.watchlists import export_to_warehouse as export_watchlists

    spark = engine() == "spark"

    def sync(con: duckdb.DuckDBPyConnection) -> int:
        stamp_nights(con, cfg.nights)
        export_watchlists(cfg.home, con)  # raw.watchlist_entries (indicator watchlist)
        decisions = export_decisions_to_warehouse(cfg.home, con)
        if spark:  # the raw layer Spark reads: the run's nights and the bookkeeping tables,
            # and the earlier nights of a home that ran on DuckDB until now
            earlier = [d for d in nights_missing(con, cfg.home.lake) if d not in cfg.nights]
            write_nights(con, cfg.home.lake, [*earlier, *cfg.nights])
        return decisions

    n = _with_warehouse(cfg.home, sync)
    log.info("night %s: %d review decisions copied to the warehouse%s", cfg.last, n,
             f"; raw layer written to {cfg.home.lake} for Spark" if spark else "")
    release_freed_memory()
    return {"decisions": n, "finished_at": _now().isoformat(),
            "warehouse": str(cfg.home.warehouse), "dbt_target": str(dbt_target(cfg.home))}


def release_freed_memory() -> None:
    """Give the memory that earlier tasks freed back to the operating system.

    Under `dag.test()` (`itw-radar run`) every task runs in one process, which then waits
    beside the dbt build. The allocators keep what the loader and GX freed: Arrow's pool
    (mimalloc) and the C library's heap. This hands both back; on a C library without
    `malloc_trim` it only collects garbage and empties Arrow's pool.
    """
    import ctypes
    import ctypes.util
    import gc
    import sys

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)


def dbt_target(home: Home) -> Path:
    """Where the DAG's dbt runs write run_results.json (env DBT_TARGET_PATH)."""
    return home.airflow / "dbt_target"


def dbt_failures(target: Path, since: datetime | None = None) -> list[str]:
    """'kind name: message' for each failed node of the latest dbt run in `target`.

    Empty when there is no run_results.json written after `since`.
    """
    results = target / "run_results.json"
    if not results.is_file():
        return []
    if since is not None and results.stat().st_mtime < since.timestamp():
        return []
    try:
        data = json.loads(results.read_text())
    except (OSError, ValueError):
        return []
    failed = []
    for r in data.get("results", []):
        if r.get("status") in ("error", "fail", "runtime error"):
            uid = str(r.get("unique_id", "?"))
            kind, _, name = uid.partition(".")
            name = name.split(".", 1)[-1] if "." in name else name
            msg = " ".join(str(r.get("message") or r.get("status")).split())
            failed.append(f"{kind.replace('_', ' ')} {name}: {msg[:200]}")
    return failed


# --------------------------------------------------------------------------------------------
# publish -> summarise


def publish(cfg: NightConfig, *, load_id: str = "", dbt_started_at: str | None = None) -> dict:
    """Swap in a new serving database holding the run's last night's marts (every night of a
    catch-up is in the history marts; see itw_radar.publishing). With ITW_RADAR_ENGINE=spark
    the marts are first read from Spark's tables into the warehouse (itw_radar.engines)."""
    from itw_radar.engines import engine, import_spark_marts
    from itw_radar.publishing import publish as publish_serving

    if engine() == "spark":
        marts = _with_warehouse(cfg.home, lambda con: import_spark_marts(con, cfg.home.spark))
        log.info("night %s: %d marts read from Spark's tables", cfg.last, len(marts))
    path = publish_serving(
        cfg.home, cfg.last, load_id=load_id,
        dbt_started_at=datetime.fromisoformat(dbt_started_at) if dbt_started_at else None)
    log.info("night %s: published %s", cfg.last, path)
    return {"serving": str(path)}


def summary_line(summary: Mapping[str, Any]) -> str:
    """One line a person reads: rows, quarantined, accounts per tier, new high-risk accounts."""
    tiers = summary.get("accounts_per_tier", {})
    tier_text = ", ".join(f"{t} {int(tiers.get(t, 0)):,}" for t in ("high", "medium", "low",
                                                                   "none"))
    new_high = int(summary.get("new_high_risk_accounts", 0))
    sample = list(summary.get("new_high_risk_sample", []))[:5]
    named = f" ({', '.join(sample)}{', ...' if new_high > len(sample) else ''})" if sample else ""
    return (f"{summary.get('export_date')}: {int(summary.get('rows_loaded', 0)):,} rows loaded, "
            f"{int(summary.get('rows_quarantined', 0)):,} quarantined; accounts by tier: "
            f"{tier_text}; {new_high} new high-risk account{'s' if new_high != 1 else ''}{named}")


def summarise(cfg: NightConfig, load_id: str = "",
              load_ids: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Log each night's summary (task log and raw.load_log step `summarise`); return the last's.

    The last night's summary was computed at publish time (the serving `pipeline_runs` row);
    an earlier night of a catch-up is summarised from its slice of the history marts.
    """
    from itw_radar.publishing import night_summary

    started = _now()

    def write(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        infos = []
        for night in cfg.nights:
            info = (night_summary(con, night) if night == cfg.last
                    else history_summary(con, night))
            lid = cfg.load_id(night, load_ids, load_id)
            log_step(con, export_date=night, load_id=lid, step="summarise",
                     status="success", started_at=started, finished_at=_now(),
                     rows_loaded=info["rows_loaded"], rows_quarantined=info["rows_quarantined"],
                     summary=json.dumps(info, sort_keys=True))
            infos.append(info)
        return infos

    infos = _with_warehouse(cfg.home, write)
    for info in infos:
        line = summary_line(info)
        info["line"] = line
        log.info("%s", line)
        print(line, flush=True)
    last = dict(infos[-1])
    if len(infos) > 1:
        last["nights"] = {i["export_date"]: i["line"] for i in infos}
    return last


def history_summary(con: duckdb.DuckDBPyConnection, night: date) -> dict[str, Any]:
    """A catch-up night's summary from the marts' history (`account_risk` holds only the last
    night): rows from raw.load_log, accounts per tier and new high-risk accounts from
    `risk_daily`."""
    from itw_radar.publishing import PIPELINE_RUNS_SQL, RISK_TIERS

    runs = con.execute(f"SELECT rows_loaded, rows_quarantined FROM "
                       f"({PIPELINE_RUNS_SQL.format(log='raw.load_log')}) WHERE export_date = ?",
                       [night]).fetchone()
    tiers = dict.fromkeys(RISK_TIERS, 0)
    new_high = 0
    for tier, n, new in con.execute(
            "SELECT risk_tier, accounts, new_accounts FROM main.risk_daily WHERE as_of_date = ?",
            [night]).fetchall():
        tiers[str(tier)] = int(n)
        if tier == "high":
            new_high = int(new or 0)
    return {"export_date": night.isoformat(), "rows_loaded": int((runs or (0, 0))[0] or 0),
            "rows_quarantined": int((runs or (0, 0))[1] or 0), "accounts_per_tier": tiers,
            "new_high_risk_accounts": new_high, "new_high_risk_sample": []}


# --------------------------------------------------------------------------------------------
# failures


def on_task_failure(ti: Any, ds: str, params: Mapping[str, Any] | None,
                    error: BaseException | None) -> None:
    """The DAG's failure callback: write the failure into raw.load_log (-> pipeline_runs) under
    the night it concerns and log one pager line."""
    try:
        cfg = night_config(params, ds)
    except ConfigError as err:
        print(f"{PAGER_PREFIX} night={ds} task={ti.task_id}: {err}", flush=True)
        return
    attempt = None
    if ti.task_id not in ("wait_for_manifest", "verify_manifest"):
        verified = ti.xcom_pull(task_ids="verify_manifest")
        attempt = (verified or {}).get("attempt_started_at")
    message = failure_text(ti.task_id, error, cfg, ds, attempt)
    night = failed_night(message, cfg)
    record_failure(cfg.home, night, ti.task_id, message, attempt)
    alert_failure(night, ti.task_id, message)


def alert_failure(night: date, task_id: str, message: str) -> None:
    """Tell the risk team a night failed (itw_radar.alerts; nothing when alerts are not set up).
    A failed send is logged: it must never hide the night's own failure."""
    from itw_radar import alerts

    try:
        title, body = alerts.failure_text(night.isoformat(), task_id, message)
        alerts.send(title, body, failure=True)
    except Exception as exc:  # noqa: BLE001 (any delivery problem)
        log.error("%s night=%s: the failure alert was not sent: %s", PAGER_PREFIX, night, exc)


def send_digest(cfg: NightConfig) -> dict[str, Any]:
    """After a published night: send its alert digest (new high-risk accounts, tier escalations,
    new watchlist hits; ids, scores, reasons and links, no personal data). Nothing is sent when
    alerts are not set up (ITW_RADAR_ALERT_URLS or the Airflow connection itw_radar_alerts)."""
    from itw_radar import alerts

    digest = alerts.night_digest(cfg.home.serving, cfg.last)
    title, body = alerts.format_digest(digest)
    try:
        sent = alerts.send(title, body)
    except Exception as exc:  # noqa: BLE001 (the night is published; say so and go on)
        log.error("ITW-RADAR ALERT NOT SENT night=%s: %s", cfg.last, exc)
        return {"sent": False, **digest.counts}
    log.info("night %s: alert digest %s (%s)", cfg.last,
             "sent" if sent else "not sent (alerts not configured)", title)
    return {"sent": sent, **digest.counts}


def failed_night(message: str, cfg: NightConfig) -> date:
    """The night a failure concerns: the run's night its message names, else the run's last
    night (a catch-up's dbt build is built as of its last night)."""
    import re

    for found in re.findall(r"[Nn]ight (\d{4}-\d{2}-\d{2})", message):
        try:
            night = date.fromisoformat(found)
        except ValueError:
            continue
        if cfg.export_date <= night <= cfg.last:
            return night
    return cfg.last


def failure_text(task_id: str, error: BaseException | str | None, cfg: NightConfig | None,
                 ds: str, attempt_started_at: str | None = None) -> str:
    """The one sentence that says what failed, from the task and its exception."""
    name = type(error).__name__ if isinstance(error, BaseException) else ""
    text = str(error or "").strip() or name or "unknown error"
    if task_id == "wait_for_manifest" and "timed out" in text.lower() and cfg is not None:
        return missing_export_message(cfg, waited=_timeout_words(text))
    if task_id.startswith("dbt_build"):
        since = datetime.fromisoformat(attempt_started_at) if attempt_started_at else None
        failed = dbt_failures(dbt_target(cfg.home), since) if cfg is not None else []
        if failed:
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            what = f"{failed[0]}{more}"
        else:
            what = f"{task_id.removeprefix('dbt_build.')}: {' '.join(text.split())[:300]}"
        night = cfg.last.isoformat() if cfg is not None else ds
        batch = (f" (catch-up of the nights {ds} to {night})"
                 if cfg is not None and cfg.through else "")
        return (f"night {night}: dbt build failed{batch}, nothing was published: {what}; fix "
                "the model, test or data, then re-run the night")
    if text.startswith("night ") or text.startswith("Night "):
        return " ".join(text.split())
    return f"night {ds}: task {task_id} failed: {' '.join(text.split())[:500]}"


def _timeout_words(text: str) -> str | None:
    import re

    m = re.search(r"timeout of ([0-9]+(?:\.[0-9]+)?)", text)
    if not m:
        return None
    seconds = float(m.group(1))
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def record_failure(home: Home, export_date: date, task_id: str, message: str,
                   attempt_started_at: str | datetime | None = None) -> str:
    """Write the failure into raw.load_log (step `failed`) and return the pager line.

    Never raises: a failure callback must not hide the original error.
    """
    line = f"{PAGER_PREFIX} night={export_date} task={task_id}: {message}"
    started = (datetime.fromisoformat(attempt_started_at)
               if isinstance(attempt_started_at, str) else attempt_started_at) or _now()

    def write(con: duckdb.DuckDBPyConnection) -> None:
        already = con.execute(
            "SELECT count(*) FROM raw.load_log WHERE export_date = ? AND step = 'failed' "
            "AND started_at = ?", [export_date, started]).fetchone()[0]
        if already and attempt_started_at is not None:
            return  # one failed row per attempt: a second task failing is a consequence
        log_step(con, export_date=export_date, load_id="", step="failed", status="failed",
                 started_at=started, finished_at=_now(), error=message,
                 summary=json.dumps({"task": task_id}))

    try:
        home.ensure()
        _with_warehouse(home, write)
    except Exception as exc:  # noqa: BLE001 - report, never mask the task's own failure
        line += f" (could not record it in {home.warehouse}: {exc})"
    log.error("%s", line)
    print(line, flush=True)
    return line


def last_failure(home: Home, export_date: date) -> str | None:
    """The error of the night's latest `failed` row in raw.load_log, if any."""
    if not home.warehouse.exists():
        return None
    con = connect(home.warehouse, read_only=True)
    try:
        ensure_ok = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
            "AND table_name = 'load_log'").fetchone()[0]
        if not ensure_ok:
            return None
        row = con.execute(
            "SELECT error FROM raw.load_log WHERE export_date = ? AND step = 'failed' "
            "ORDER BY finished_at DESC LIMIT 1", [export_date]).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def failure_since(home: Home, nights: Sequence[date],
                  since: datetime) -> tuple[date, str | None]:
    """The night of `nights` with a `failed` row in raw.load_log written after `since`, and its
    error; (the first night, None) when there is none."""
    if not home.warehouse.exists():
        return nights[0], None
    con = connect(home.warehouse, read_only=True)
    try:
        if not con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
                "AND table_name = 'load_log'").fetchone()[0]:
            return nights[0], None
        row = con.execute(
            "SELECT export_date, error FROM raw.load_log WHERE step = 'failed' AND "
            "export_date BETWEEN ? AND ? AND finished_at >= ? ORDER BY finished_at LIMIT 1",
            [min(nights), max(nights), since]).fetchone()
    finally:
        con.close()
    return (row[0], row[1]) if row else (nights[0], None)
