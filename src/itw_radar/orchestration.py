"""Run nights through the real Airflow DAG (dags/itw_radar_nightly.py), locally.

`run_nights` is what `itw-radar run` calls. It keeps a local Airflow under `<home>/airflow`
(sqlite metadata database, logs), makes sure the dbt manifest the DAG renders from is current,
and runs each night with `dag.test()` in a child process (Airflow reads its configuration when it
is first imported, so the child starts with the right environment):

    python -m itw_radar.orchestration nights --home H --exports E --from D1 --to D2
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
from collections.abc import Callable, Iterable
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


def airflow_env(home: Home, exports: Path | None = None, base: dict[str, str] | None = None,
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
        env.setdefault("ITW_RADAR_RETRIES", "1")
        env.setdefault("ITW_RADAR_RETRY_DELAY", "5")
        env["ITW_RADAR_DAG_TEST"] = "1"  # dbt watchers poke instead of deferring (dag.test)
    if exports is not None:
        env["ITW_RADAR_EXPORTS"] = str(Path(exports).resolve())
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


def run_nights(home: Home, exports: Path, date_from: date, date_to: date,
               echo: Callable[[str], None] = print) -> list[NightResult]:
    """Process each night from `date_from` to `date_to` in order through the Airflow DAG.

    Stops at the first failing night: the last result then has status `failed` and `error`, the
    one sentence from the failing step. `echo` receives one line per night as it finishes.
    """
    if date_to < date_from:
        raise OrchestrationError(f"--to {date_to} is before --from {date_from}")
    exports = Path(exports).resolve()
    if not exports.is_dir():
        raise OrchestrationError(f"exports folder {exports} does not exist; run `itw-radar "
                                 "generate` first or point --exports at the export root")
    home = home.ensure()
    wait_for_warehouse(home.warehouse, echo=echo)
    env = airflow_env(home, exports)
    ensure_dbt_manifest(warehouse=home.warehouse)
    ensure_airflow_db(home, env)
    home.logs.mkdir(parents=True, exist_ok=True)
    log_file = home.logs / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    cmd = [sys.executable, "-m", "itw_radar.orchestration", "nights", "--home", str(home.root),
           "--exports", str(exports), "--from", date_from.isoformat(),
           "--to", date_to.isoformat()]
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
        missing = next((d for d in _nights(date_from, date_to) if d not in done), date_to)
        res = NightResult(missing, "failed", time.monotonic() - started,
                          error=f"night {missing}: the Airflow run stopped unexpectedly (exit "
                                f"code {code}); see {log_file}")
        results.append(res)
        echo(res.line)
    return results


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


def _night_outcome(home: Home, night: date, dr: Any, seconds: float) -> NightResult:
    from itw_radar import pipeline

    state = str(getattr(dr.state, "value", dr.state))
    if state == "success":
        return NightResult(night, "success", seconds, summary=_night_summary(home, night))
    error = pipeline.last_failure(home, night)
    if not error:
        failed = [ti.task_id for ti in dr.get_task_instances()
                  if getattr(ti.state, "value", ti.state) == "failed"]
        error = (f"night {night}: the DAG run ended {state}"
                 + (f" at task {failed[0]}" if failed else "") + "; see the Airflow log")
    return NightResult(night, "failed", seconds, error=error)


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


def run_nights_here(home: Home, exports: Path, nights: Iterable[date]) -> list[NightResult]:
    """Run each night with dag.test() in this process; stop at the first failure."""
    dag = load_dag()
    results: list[NightResult] = []
    conf = {"exports": str(exports), "home": str(home.root), "wait_for_export": False}
    for night in nights:
        t0 = time.monotonic()
        logical = datetime(night.year, night.month, night.day, tzinfo=UTC)
        try:
            dr = dag.test(logical_date=logical, run_conf=conf)
            res = _night_outcome(home, night, dr, time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - turned into the night's one-line error
            res = NightResult(night, "failed", time.monotonic() - t0,
                              error=f"night {night}: Airflow could not run the DAG: {exc}")
        _emit(res)
        results.append(res)
        if not res.ok:
            break
    return results


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m itw_radar.orchestration")
    sub = ap.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("nights", help="run nights through the DAG in this process")
    n.add_argument("--home", required=True)
    n.add_argument("--exports", required=True)
    n.add_argument("--from", dest="date_from", required=True)
    n.add_argument("--to", dest="date_to", required=True)
    m = sub.add_parser("manifest", help="(re)write the dbt manifest the DAG renders from")
    m.add_argument("--force", action="store_true")
    e = sub.add_parser("env", help="print the Airflow environment for a home as shell exports")
    e.add_argument("--home", default=None)
    e.add_argument("--exports", default=None)
    args = ap.parse_args(argv)
    if args.cmd == "manifest":
        print(ensure_dbt_manifest(force=args.force))
        return 0
    if args.cmd == "env":
        home = Home.resolve(args.home)
        env = airflow_env(home, Path(args.exports) if args.exports else None, base={},
                          quick_retries=False)
        for k, v in env.items():
            print(f"export {k}={json.dumps(v)}")
        return 0
    home = Home.resolve(args.home)
    nights = _nights(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to))
    try:
        results = run_nights_here(home, Path(args.exports), nights)
    except OrchestrationError as exc:
        _emit(NightResult(nights[0], "failed", 0.0, error=str(exc)))
        return 1
    return 0 if results and results[-1].ok else 1


if __name__ == "__main__":
    sys.exit(_main())
