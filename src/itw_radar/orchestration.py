"""Run nights through the real Airflow DAG (dags/itw_radar_nightly.py), locally.

`run_nights` is what `itw-radar run` calls. It keeps a local Airflow under `<home>/airflow`
(sqlite metadata database, logs), makes sure the dbt manifest the DAG renders from is current,
and runs each night, or each catch-up batch of consecutive nights, with `dag.test()` in a child
process (Airflow reads its configuration when it is first imported, so the child starts with the
right environment):

    python -m itw_radar.orchestration nights --home H --exports E --from D1 --to D2  # a run a night
    python -m itw_radar.orchestration nights --home H --exports E --batches '[["D1", "D5"]]'
    python -m itw_radar.orchestration manifest      # (re)write dbt_project/target/manifest.json
    python -m itw_radar.orchestration env --home H  # the environment, as shell exports

The child prints one result line per night; everything Airflow logs goes to
`<home>/logs/run-<time>.log`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from itw_radar.paths import Home

REPO = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO / "dags"
DAG_ID = "itw_radar_nightly"
DBT_PROJECT_ENV = "ITW_RADAR_DBT_PROJECT"  # another dbt project (the DAG reads it too)
RESULT_MARK = "@@itw-radar-night@@ "
_DBT_INPUTS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
_DBT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")


class OrchestrationError(RuntimeError):
    """The local Airflow or the dbt manifest could not be set up."""


@dataclass
class NightResult:
    export_date: date
    status: str  # success or failed
    seconds: float
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def line(self) -> str:
        """The one-line summary printed for the night."""
        if not self.ok:
            return f"{self.export_date}: FAILED after {self.seconds:.0f} s: {self.error}"
        from itw_radar.pipeline import summary_line

        text = summary_line({**self.summary, "export_date": self.export_date.isoformat()})
        return f"{text} [{self.seconds:.0f} s]"


# --------------------------------------------------------------------------------------------
# set-up


def airflow_env(home: Home, exports: Path | str | None = None, base: dict[str, str] | None = None,
                quick_retries: bool = True) -> dict[str, str]:
    """The environment for Airflow processes that run this project's DAG on `home`.

    `quick_retries` (for `itw-radar run`, which runs nights with `dag.test()`): retry a
    transient step once after 5 s instead of twice with a backoff from 60 s, and let the dbt
    watcher tasks poke instead of deferring to a triggerer.
    """
    af = home.airflow
    env = dict(os.environ if base is None else base)
    env.update({
        "AIRFLOW_HOME": str(af),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(af / "logs"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(af / "cosmos"),
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
        "ITW_RADAR_HOME": str(home.root),
        "ITW_RADAR_WAREHOUSE": str(home.warehouse),
    })
    if quick_retries:
        # `itw-radar run` processes the nights it is given, whatever the scheduler's range.
        env.pop("ITW_RADAR_START_DATE", None)
        env.pop("ITW_RADAR_END_DATE", None)
        env.setdefault("ITW_RADAR_RETRIES", "1")
        env.setdefault("ITW_RADAR_RETRY_DELAY", "5")
        env["ITW_RADAR_DAG_TEST"] = "1"  # dbt watchers poke instead of deferring (dag.test)
    if exports is not None:
        from itw_radar.export_source import parse_root

        env["ITW_RADAR_EXPORTS"] = str(parse_root(exports))
    return env


def _newest_input(project: Path) -> float:
    newest = 0.0
    for name in _DBT_FILES:
        p = project / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    for sub in _DBT_INPUTS:
        d = project / sub
        if d.is_dir():
            for p in d.rglob("*"):
                if p.is_file():
                    newest = max(newest, p.stat().st_mtime)
    return newest


def dbt_project() -> Path:
    """The dbt project the DAG runs: dbt_project/ unless ITW_RADAR_DBT_PROJECT says otherwise."""
    return Path(os.environ.get(DBT_PROJECT_ENV) or REPO / "dbt_project").resolve()


def manifest_path(project: Path | None = None) -> Path:
    """The manifest the DAG renders from: target/airflow/, apart from dbt's own target/."""
    return (project or dbt_project()) / "target" / "airflow" / "manifest.json"


def ensure_dbt_manifest(project: Path | None = None, warehouse: Path | None = None,
                        force: bool = False) -> Path:
    """`dbt parse` the project when its manifest is missing or older than any of its files.

    The DAG renders its dbt tasks from this manifest, so parsing the DAG never runs dbt.
    """
    project = project or dbt_project()
    manifest = manifest_path(project)
    if (not force and manifest.is_file()
            and manifest.stat().st_mtime >= _newest_input(project)):
        return manifest
    env = dict(os.environ)
    env.setdefault("ITW_RADAR_WAREHOUSE", str(warehouse or Path("/tmp/itw-radar-parse.duckdb")))
    cmd = [sys.executable, "-c", "from dbt.cli.main import cli; cli()", "parse",
           "--project-dir", str(project), "--profiles-dir", str(project),
           "--target-path", str(manifest.parent), "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not manifest.is_file():
        detail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise OrchestrationError(
            f"dbt parse of {project} failed ({' | '.join(detail) or 'no output'}); fix the dbt "
            "project (try `dbt parse` in dbt_project/) and run again")
    os.utime(manifest)  # newer than every input even when dbt kept a partial parse
    return manifest


def ensure_airflow_db(home: Home, env: dict[str, str] | None = None) -> Path:
    """Create or upgrade the local Airflow metadata database under `<home>/airflow` once."""
    from importlib.metadata import version

    af = home.airflow
    af.mkdir(parents=True, exist_ok=True)
    marker = af / f".migrated-{version('apache-airflow-core')}"
    db = af / "airflow.db"
    if marker.exists() and db.exists():
        return db
    airflow = Path(sys.executable).with_name("airflow")
    cmd = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    proc = subprocess.run([*cmd, "db", "migrate"], env=env or airflow_env(home),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise OrchestrationError(f"`airflow db migrate` failed for {db} ({tail}); delete "
                                 f"{af} to start the local Airflow afresh")
    marker.write_text(datetime.now(UTC).isoformat())
    return db


# --------------------------------------------------------------------------------------------
# the parent: itw-radar run


def _nights(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]


LOCK_WAIT_ENV = "ITW_RADAR_LOCK_WAIT"  # seconds to wait for another process's warehouse lock
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def wait_for_warehouse(warehouse: Path, timeout: float | None = None,
                       echo: Callable[[str], None] = print) -> None:
    """Return once the warehouse can be opened for writing; wait for another holder to exit.

    A night killed while dbt ran can leave that dbt process (it runs in a session of its own)
    holding DuckDB's lock until it finishes. Rather than fail at load with a lock error, wait
    for it (ITW_RADAR_LOCK_WAIT seconds, default 600) and then say which process holds it.
    """
    import duckdb

    from itw_radar.warehouse import connect

    if not warehouse.exists():
        return
    limit = float(os.environ.get(LOCK_WAIT_ENV, "600")) if timeout is None else timeout
    deadline = time.monotonic() + limit
    told = False
    while True:
        try:
            connect(warehouse).close()
            return
        except duckdb.IOException as exc:
            holder = _LOCK_HOLDER.search(str(exc))
            if holder is None:
                raise
            who = f"process {holder.group(2)} ({holder.group(1)})"
            if time.monotonic() >= deadline:
                raise OrchestrationError(
                    f"the warehouse {warehouse} is locked by {who}, still running after "
                    f"{limit:.0f} s (a dbt run of an interrupted night?); wait for it to end "
                    f"or stop it (kill {holder.group(2)}), then run the night again") from exc
            if not told:
                echo(f"waiting for {who} to release the warehouse {warehouse}")
                told = True
            time.sleep(1.0)


@dataclass
class RunPlan:
    """What `itw-radar run` will process: nights in order, and the nights it goes around."""

    nights: list[date]
    skipped: list[date] = field(default_factory=list)  # missing, --skip-missing
    published: date | None = None  # the last night already published
    stop: str | None = None  # why the run stops after `nights` (a missing or incomplete night)

    @property
    def summary(self) -> str:
        if not self.nights:
            done = f" (the latest published night is {self.published})" if self.published else ""
            return f"nothing to process: every night present is already published{done}"
        span = (f"{self.nights[0]}" if len(self.nights) == 1
                else f"{self.nights[0]} to {self.nights[-1]}")
        text = f"{len(self.nights)} night{'s' if len(self.nights) != 1 else ''}, {span}"
        if self.skipped:
            named = ", ".join(map(str, self.skipped[:5])) + (", ..." if len(self.skipped) > 5
                                                             else "")
            text += f", going around {len(self.skipped)} missing ({named})"
        return text


def plan_run(exports: Path | str, published: date | None, date_from: date | None = None,
             date_to: date | None = None, skip_missing: bool = False) -> RunPlan:
    """The nights a run processes, in order, and why it stops after them (`stop`, one sentence
    naming the night), if it does.

    Without dates: every night folder after the last published night (all of them when none
    is), and the nights between (a missing one is a gap). With dates: every night of the range;
    a range open at one end runs from the night after the published one (or the first present)
    or to the last night present.
    The run stops at a night without a folder unless `skip_missing`, and always at one whose
    manifest.json is not there yet (the platform may be writing it: going around it would
    leave it behind a published night for good). Nights on or before the published one are
    left to the pipeline's refusal.
    An export root in object storage (an s3://, gs:// or az:// URL) is listed in the store.
    """
    from itw_radar.contract import MANIFEST_NAME, night_folders
    from itw_radar.export_source import join, manifest_missing

    remote = _remote(exports)
    if remote is None:
        exports = Path(exports)
        if not exports.is_dir():
            raise OrchestrationError(f"exports folder {exports} does not exist; run `itw-radar "
                                     "generate` first or point --exports at the export root")
        present = night_folders(exports)
    else:
        from itw_radar.export_source import remote_nights
        from itw_radar.ingestion import ExportError

        try:
            present = remote_nights(remote)
        except ExportError as exc:
            raise OrchestrationError(str(exc)) from None
    if date_from is None or date_to is None:
        # an open end: from the night after the published one (or the first present), to the
        # last night present
        todo = [n for n in present if (published is None or n > published)
                and (date_from is None or n >= date_from) and (date_to is None or n <= date_to)]
        if not present:
            raise OrchestrationError(
                f"no night folders (YYYY-MM-DD) under {exports}; point --exports at the "
                "platform's export root")
        if not todo and date_from is None:
            return RunPlan([], published=published)
        start = date_from or (published + timedelta(days=1) if published is not None
                              else todo[0])
        end = date_to or (todo[-1] if todo else start)
    else:
        start, end = date_from, date_to
    if end < start:
        raise OrchestrationError(f"--to {end} is before --from {start}")
    wanted = _nights(start, end)
    have = set(present)
    plan = RunPlan([], published=published)
    for night in wanted:
        manifest = join(exports, night.isoformat(), MANIFEST_NAME)
        problem = None
        if night not in have:
            problem = f"night {night} is missing: {exports} has no folder {night.isoformat()}"
        elif remote is None and not Path(manifest).is_file():
            problem = (f"night {night} is not complete: {manifest} does not exist yet (the "
                       "platform writes it last)")
        elif remote is not None and (why := manifest_missing(remote, night)) is not None:
            problem = (f"night {night} is not complete: {manifest} {why}"
                       + (" yet (the platform writes it last)" if why == "does not exist"
                          else ""))
        if problem is None:
            plan.nights.append(night)
        elif skip_missing and night not in have:
            plan.skipped.append(night)
        else:
            fix = ("deliver it, or pass --skip-missing to process the other nights without it"
                   if night not in have else "wait for the platform to finish it")
            plan.stop = f"{problem}; {fix}, then run again"
            break
    return plan


# The most nights a catch-up run takes. Memory sizes a batch (LOGINS_PER_GB); beyond that a
# batch's cost is nearly all per night (docs/benchmarks.md, section 6), and a night that fails
# late in a larger batch makes the nights before it run again.
CATCHUP_MAX_NIGHTS = 60


def _remote(exports: Path | str) -> Any:  # itw_radar.export_source.RemoteExports | None
    """The store of an export root given as a URL; None for a local folder."""
    from itw_radar.export_source import is_remote, open_root
    from itw_radar.ingestion import ExportError

    if not is_remote(exports):
        return None
    try:
        return open_root(exports)
    except ExportError as exc:
        raise OrchestrationError(str(exc)) from None


def catchup_batch_size(exports: Path | str, nights: Sequence[date]) -> int:
    """Nights per DAG run of a catch-up, sized like a rebuild batch (itw_radar.dbt_runner):
    ITW_RADAR_CATCHUP_NIGHTS when set, else from the largest night's logins in the manifests
    and the DuckDB memory limit, at most CATCHUP_MAX_NIGHTS."""
    from itw_radar.dbt_runner import CATCHUP_BATCH_ENV, batch_size_for_logins, nights_from_env
    from itw_radar.ingestion import ExportError, read_manifest

    try:
        value = nights_from_env(CATCHUP_BATCH_ENV)
    except ValueError as exc:
        raise OrchestrationError(str(exc)) from None
    if value is not None:
        return value
    remote = _remote(exports)
    largest = 0
    for night in nights:
        try:
            if remote is None:
                manifest = read_manifest(Path(exports), night)
            else:
                from itw_radar.export_source import read_remote_manifest

                manifest = read_remote_manifest(remote, night)
            rows = sum(int(f.get("rows", 0)) for f in manifest.get("files", {}).values()
                       if f.get("table") == "logins")
        except (ExportError, OSError, ValueError, TypeError, AttributeError):
            continue  # verify names what is wrong with it
        largest = max(largest, rows)
    return batch_size_for_logins(largest, most=CATCHUP_MAX_NIGHTS).nights


def run_nights(home: Home, exports: Path | str, date_from: date, date_to: date,
               echo: Callable[[str], None] = print, *, nights: Sequence[date] | None = None,
               batch_nights: int = 1) -> list[NightResult]:
    """Process each night from `date_from` to `date_to` in order through the Airflow DAG.

    `nights` (default: every date in the range) may leave some out (`itw-radar run
    --skip-missing`). Up to `batch_nights` consecutive nights go through one DAG run (a
    catch-up: one dbt build for all of them, the last one published); 1 runs night by night.
    Stops at the first failing night: the last result then has status `failed` and `error`, the
    one sentence from the failing step. `echo` receives one line per night as it finishes.
    """
    if date_to < date_from:
        raise OrchestrationError(f"--to {date_to} is before --from {date_from}")
    if batch_nights < 1:
        raise OrchestrationError(f"batch_nights={batch_nights}: give at least 1 night a run")
    from itw_radar.export_source import is_remote

    if not is_remote(exports):  # a URL is read by the DAG's tasks (itw_radar.export_source)
        exports = Path(exports).resolve()
        if not exports.is_dir():
            raise OrchestrationError(f"exports folder {exports} does not exist; run `itw-radar "
                                     "generate` first or point --exports at the export root")
    wanted = sorted(set(nights)) if nights is not None else _nights(date_from, date_to)
    if not wanted:
        return []
    home = home.ensure()
    wait_for_warehouse(home.warehouse, echo=echo)
    env = airflow_env(home, exports)
    ensure_dbt_manifest(warehouse=home.warehouse)
    ensure_airflow_db(home, env)
    home.logs.mkdir(parents=True, exist_ok=True)
    log_file = home.logs / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    batches = batch_runs(wanted, batch_nights)
    cmd = [sys.executable, "-m", "itw_radar.orchestration", "nights", "--home", str(home.root),
           "--exports", str(exports), "--batches",
           json.dumps([[b[0].isoformat(), b[-1].isoformat()] for b in batches])]
    results: list[NightResult] = []
    started = time.monotonic()
    with log_file.open("w") as log, subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1, cwd=str(home.root)) as proc:
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if raw.startswith(RESULT_MARK):
                    res = _parse_result(raw[len(RESULT_MARK):])
                    results.append(res)
                    echo(res.line)
                else:
                    log.write(raw)
            code = proc.wait()
        except BaseException:
            proc.kill()
            raise
    done = {r.export_date for r in results}
    if code != 0 and (not results or results[-1].ok):
        missing = next((d for d in wanted if d not in done), wanted[-1])
        res = NightResult(missing, "failed", time.monotonic() - started,
                          error=f"night {missing}: the Airflow run stopped unexpectedly (exit "
                                f"code {code}); see {log_file}")
        results.append(res)
        echo(res.line)
    return results


def batch_runs(nights: Sequence[date], size: int) -> list[list[date]]:
    """Consecutive nights, at most `size` a run: a DAG run covers a range without gaps."""
    runs: list[list[date]] = []
    for night in sorted(set(nights)):
        if runs and len(runs[-1]) < size and night == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(night)
        else:
            runs.append([night])
    return runs


def _parse_result(text: str) -> NightResult:
    d = json.loads(text)
    return NightResult(date.fromisoformat(d["export_date"]), d["status"], d["seconds"],
                       d.get("error"), d.get("summary") or {})


# --------------------------------------------------------------------------------------------
# the child: dag.test() per night (environment already set by run_nights)


def _emit(res: NightResult) -> None:
    d = asdict(res)
    d["export_date"] = res.export_date.isoformat()
    sys.stdout.write(RESULT_MARK + json.dumps(d, default=str) + "\n")
    sys.stdout.flush()


def load_dag() -> Any:
    """The DAG as the scheduler sees it (import errors become one clear message)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        where, err = next(iter(bag.import_errors.items()))
        last = err.strip().splitlines()[-1] if err.strip() else err
        raise OrchestrationError(f"the DAG file {where} does not import: {last}")
    if DAG_ID not in bag.dags:
        raise OrchestrationError(f"no DAG {DAG_ID} in {DAGS_DIR}")
    return bag.dags[DAG_ID]


def _batch_outcome(home: Home, batch: Sequence[date], dr: Any, seconds: float,
                   since: datetime) -> list[NightResult]:
    """One result per night of a DAG run that succeeded; else one failed result, for the night
    the failure was recorded under."""
    from itw_radar import pipeline

    state = str(getattr(dr.state, "value", dr.state))
    tis = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in
           dr.get_task_instances()}
    if state == "success" and tis.get("summarise") == "success":
        share = seconds / len(batch)
        return [NightResult(n, "success", share, summary=_night_summary(home, n)) for n in batch]
    failed_at, error = pipeline.failure_since(home, batch, since)
    if error:
        return [NightResult(failed_at, "failed", seconds, error=error)]
    if state == "success":  # every task skipped: Airflow did not run the night at all
        return [NightResult(batch[0], "failed", seconds, error=(
            f"night {batch[0]}: the DAG run ran none of its tasks (is the night outside the "
            "DAG's start and end dates, ITW_RADAR_START_DATE / ITW_RADAR_END_DATE?); "
            "nothing was published"))]
    failed = [t for t, st in tis.items() if st == "failed"]
    return [NightResult(batch[0], "failed", seconds, error=(
        f"night {batch[0]}: the DAG run ended {state}"
        + (f" at task {failed[0]}" if failed else "") + "; see the Airflow log"))]


def _night_summary(home: Home, night: date) -> dict[str, Any]:
    from itw_radar.warehouse import connect

    con = connect(home.warehouse, read_only=True)
    try:
        row = con.execute(
            "SELECT summary FROM raw.load_log WHERE export_date = ? AND step = 'summarise' "
            "ORDER BY finished_at DESC LIMIT 1", [night]).fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row and row[0] else {}


def run_nights_here(home: Home, exports: Path | str,
                    batches: Iterable[Sequence[date]]) -> list[NightResult]:
    """Run each batch of nights with dag.test() in this process; stop at the first failure.

    A catch-up batch that fails at a later night is run again up to the night before it, so
    that every night before the failing one is published, as night by night it would be.
    """
    dag = load_dag()
    conf = {"exports": str(exports), "home": str(home.root), "wait_for_export": False}
    results: list[NightResult] = []
    for batch in batches:
        outcome = _run_batch(dag, home, conf, list(batch))
        failure = outcome[-1]
        if not failure.ok and failure.export_date > batch[0]:
            before = [n for n in batch if n < failure.export_date]
            outcome = _run_batch(dag, home, conf, before)
            if outcome[-1].ok:
                outcome.append(failure)
        for res in outcome:
            _emit(res)
            results.append(res)
        if not outcome[-1].ok:
            break
    return results


def _run_batch(dag: Any, home: Home, conf: dict[str, Any],
               batch: list[date]) -> list[NightResult]:
    """One DAG run for consecutive nights (param `through`: its last night)."""
    t0 = time.monotonic()
    since = datetime.now(UTC)
    first = batch[0]
    logical = datetime(first.year, first.month, first.day, tzinfo=UTC)
    run_conf = {**conf, "through": batch[-1].isoformat() if len(batch) > 1 else ""}
    try:
        dr = dag.test(logical_date=logical, run_conf=run_conf)
        return _batch_outcome(home, batch, dr, time.monotonic() - t0, since)
    except Exception as exc:  # noqa: BLE001 - turned into the night's one-line error
        return [NightResult(first, "failed", time.monotonic() - t0,
                            error=f"night {first}: Airflow could not run the DAG: {exc}")]


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m itw_radar.orchestration")
    sub = ap.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("nights", help="run nights through the DAG in this process")
    n.add_argument("--home", required=True)
    n.add_argument("--exports", required=True)
    n.add_argument("--batches",
                   help='JSON [["first", "last"], ...]: one DAG run per range of nights')
    n.add_argument("--from", dest="date_from", help="first night (with --to: one run a night)")
    n.add_argument("--to", dest="date_to", help="last night")
    m = sub.add_parser("manifest", help="(re)write the dbt manifest the DAG renders from")
    m.add_argument("--force", action="store_true")
    e = sub.add_parser("env", help="print the Airflow environment for a home as shell exports")
    e.add_argument("--home", default=None)
    e.add_argument("--exports", default=None)
    args = ap.parse_args(argv)
    from itw_radar.export_source import parse_root

    if args.cmd == "manifest":
        print(ensure_dbt_manifest(force=args.force))
        return 0
    if args.cmd == "env":
        home = Home.resolve(args.home)
        env = airflow_env(home, parse_root(args.exports) if args.exports else None, base={},
                          quick_retries=False)
        for k, v in env.items():
            print(f"export {k}={json.dumps(v)}")
        return 0
    home = Home.resolve(args.home)
    if args.batches:
        batches = [_nights(date.fromisoformat(a), date.fromisoformat(b))
                   for a, b in json.loads(args.batches)]
    elif args.date_from and args.date_to:
        batches = [[n] for n in _nights(date.fromisoformat(args.date_from),
                                        date.fromisoformat(args.date_to))]
    else:
        ap.error("nights needs --batches, or --from and --to")
    try:
        results = run_nights_here(home, parse_root(args.exports), batches)
    except OrchestrationError as exc:
        _emit(NightResult(batches[0][0], "failed", 0.0, error=str(exc)))
        return 1
    return 0 if results and results[-1].ok else 1


if __name__ == "__main__":
    sys.exit(_main())
