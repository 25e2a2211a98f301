"""Benchmark harness: `itw-radar bench` measures and writes `docs/benchmarks.md`.

Each measured step runs in its own child process (`python -m itw_radar.bench step ...`) so that
its wall time and peak resident memory (ru_maxrss of the child and its children) are its own.
Figures are medians of `repeats` runs; ratios are computed from runs of the same harness call.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

START = date(2026, 11, 1)


@dataclass
class Measurement:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def peak(self) -> float:
        return max(self.peak_mb) if self.peak_mb else float("nan")


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.machine()}, "
            f"Python {platform.python_version()}")


# ---------------------------------------------------------------------------- child steps

def _step_generate(args: dict) -> dict:
    from itw_radar.generator import generate

    s = generate(Path(args["out"]), date.fromisoformat(args["start"]), args["days"],
                 freelancers=args["freelancers"], clients=args["clients"], seed=args["seed"],
                 fmt=args.get("fmt", "csv"))
    return {"rows": s.total_rows}


def _step_load(args: dict) -> dict:
    from itw_radar.ingestion import load_night, verify_night
    from itw_radar.paths import Home

    night = date.fromisoformat(args["night"])
    t0 = time.perf_counter()
    manifest = verify_night(Path(args["exports"]), night)
    t_verify = time.perf_counter() - t0
    res = load_night(Home.resolve(args["home"]), Path(args["exports"]), night, manifest=manifest)
    return {"rows": res.rows_loaded + res.rows_quarantined, "verify_s": t_verify,
            "load_s": res.seconds - t_verify if res.seconds > t_verify else res.seconds}


def _step_validate(args: dict) -> dict:
    from itw_radar.paths import Home
    from itw_radar.validation import validate_night

    validate_night(Home.resolve(args["home"]), date.fromisoformat(args["night"]))
    return {}


STEPS: dict[str, Callable[[dict], dict]] = {
    "generate": _step_generate,
    "load": _step_load,
    "validate": _step_validate,
}


def _child_main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1])
    t0 = time.perf_counter()
    result = STEPS[name](args)
    result["seconds"] = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_mb"] = max(own, kids) / 1024
    print("BENCH-RESULT " + json.dumps(result), flush=True)


def run_step(name: str, args: dict, env: dict[str, str] | None = None) -> dict:
    """Run one step in a child process and return what it measured."""
    proc = subprocess.run(
        [sys.executable, "-m", "itw_radar.bench", name, json.dumps(args)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    raise RuntimeError(f"benchmark step {name} failed (exit {proc.returncode}):\n"
                       f"{proc.stderr[-3000:]}")


# ---------------------------------------------------------------------------- sections

@dataclass
class NightSize:
    label: str
    freelancers: int
    clients: int


DEFAULT_NIGHT = NightSize("default night (2,000 freelancers, 800 clients)", 2000, 800)
# The generator gives ~2.3 logins per account on a one-night run: 1.28M accounts ~ 3M logins.
BIG_NIGHT = NightSize("large night (1,280,000 accounts, ~3,000,000 logins)", 1_090_000, 190_000)
TINY_NIGHT = NightSize("tiny night (100 accounts)", 70, 30)


def bench_ingest(work: Path, size: NightSize, repeats: int, fmt: str = "csv") -> list[str]:
    """Generation and load speed (rows per second) for one night of the given size."""
    rows_md: list[str] = []
    gen = Measurement("generate")
    load = Measurement("verify + load")
    verify_s: list[float] = []
    validate = Measurement("validate (GX)")
    for i in range(repeats):
        out = work / f"exports-{size.freelancers}-{i}"
        home = work / f"home-{size.freelancers}-{i}"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        r = run_step("generate", {"out": str(out), "start": START.isoformat(), "days": 1,
                                  "freelancers": size.freelancers, "clients": size.clients,
                                  "seed": 7, "fmt": fmt})
        gen.seconds.append(r["seconds"])
        gen.peak_mb.append(r["peak_mb"])
        gen.extra["rows"] = r["rows"]
        r = run_step("load", {"exports": str(out), "home": str(home),
                              "night": START.isoformat()})
        load.seconds.append(r["seconds"])
        load.peak_mb.append(r["peak_mb"])
        load.extra["rows"] = r["rows"]
        verify_s.append(r["verify_s"])
        try:
            r = run_step("validate", {"home": str(home), "night": START.isoformat()})
            validate.seconds.append(r["seconds"])
            validate.peak_mb.append(r["peak_mb"])
        except RuntimeError as exc:  # validation not available or failed: say so
            validate.extra["error"] = 1.0
            print(str(exc)[:500], file=sys.stderr)
        logins = _count_logins(out / START.isoformat())
        gen.extra["logins"] = logins
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    rows = gen.extra["rows"]
    rows_md.append(f"| {size.label} | {int(rows):,} | {int(gen.extra['logins']):,} | "
                   f"{gen.median_s:.1f} | {rows / gen.median_s:,.0f} | {gen.peak:,.0f} | "
                   f"{statistics.median(verify_s):.1f} | {load.median_s:.1f} | "
                   f"{rows / load.median_s:,.0f} | {load.peak:,.0f} | "
                   + (f"{validate.median_s:.1f} | {rows / validate.median_s:,.0f} |"
                      if validate.seconds else "n/a | n/a |"))
    return rows_md


def _count_logins(folder: Path) -> int:
    manifest = json.loads((folder / "manifest.json").read_text())
    return sum(f["rows"] for f in manifest["files"].values() if f["table"] == "logins")


INGEST_HEADER = (
    "| night | rows | logins | generate s | generate rows/s | generate peak MB | verify s | "
    "verify + load s | load rows/s | load peak MB | validate s | validate rows/s |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def write_section(doc: Path, key: str, body: str) -> None:
    """Replace (or append) the section between `<!-- bench:key -->` markers in the doc."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before = text[: text.index(start)]
        after = text[text.index(end) + len(end):]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


def run_ingest_benchmark(work: Path, doc: Path, *, big: bool, repeats: int) -> str:
    sizes = [DEFAULT_NIGHT] + ([BIG_NIGHT] if big else [])
    lines = [INGEST_HEADER]
    for size in sizes:
        lines += bench_ingest(work, size, repeats if size is not BIG_NIGHT else max(1, repeats))
    body = (f"## Generation and loading speed\n\nMachine: {machine()}. Median of {repeats} "
            f"run(s) each, measured {time.strftime('%Y-%m-%d')} with `itw-radar bench "
            f"--sections ingest`. Each step runs in its own process; peak MB is its maximum "
            f"resident set size.\n\n" + "\n".join(lines))
    write_section(doc, "ingest", body)
    return body


def nights(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


# ============================================================================ pipeline sections
# Issue 6: large night through the DAG, the DuckDB floor, history growth, fixed overhead and
# dashboard query times. Each public `run_<section>_benchmark` writes its own doc section.

# 1,000,000 accounts: a regular (delta) night of this platform has ~3.1M logins; its first
# (full) export ~2.3M logins and every entity row.
LARGE_NIGHT = NightSize("1,000,000 accounts (850,000 freelancers, 150,000 clients)", 850_000,
                        150_000)
QUICK_NIGHT = NightSize("quick night (3,000 accounts)", 2_550, 450)
HISTORY_PLATFORM = NightSize("medium platform (100,000 accounts)", 85_000, 15_000)


def history_platform(accounts: int) -> NightSize:
    """A platform of `accounts` accounts, 85% freelancers, for `--history-accounts`."""
    freelancers = round(accounts * 0.85)
    return NightSize(f"platform of {accounts:,} accounts", freelancers, accounts - freelancers)
QUICK_HISTORY = NightSize("quick platform (1,000 accounts)", 850, 150)
HISTORY_NIGHTS = 90
QUICK_HISTORY_NIGHTS = 3
RUN_LOG_MARTS = ("pipeline_runs",)  # section 3 compares every other mart, nightly vs rebuilt
REBUILD_BATCH = 15  # nights per build of the history's full refresh (the rebuild default)
DEFAULT_MEMORY_LIMIT = "4GB"
_STAGE_TASKS = {"verify_manifest": "verify", "load_raw": "load", "validate": "validate (GX)",
                "sync_reviews": "sync reviews", "dbt_build.dbt_project_test": "dbt data tests",
                "publish": "publish", "summarise": "summarise"}


class _TreeSampler:
    """Peak of the summed resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            try:
                procs = [me, *me.children(recursive=True)]
            except psutil.Error:
                procs = [me]
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> _TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


def _step_prepare(args: dict) -> dict:
    """Airflow metadata DB and dbt manifest for a home: set-up, not part of a night's time."""
    from itw_radar.orchestration import airflow_env, ensure_airflow_db, ensure_dbt_manifest
    from itw_radar.paths import Home

    home = Home.resolve(args["home"]).ensure()
    ensure_dbt_manifest(warehouse=home.warehouse)
    ensure_airflow_db(home, airflow_env(home))
    return {}


def _step_dag_nights(args: dict) -> dict:
    """Nights through the real DAG (`itw-radar run`), with the summed memory of the tree."""
    from itw_radar.orchestration import run_nights
    from itw_radar.paths import Home

    with _TreeSampler() as sampler:
        results = run_nights(Home.resolve(args["home"]), Path(args["exports"]),
                             date.fromisoformat(args["from"]), date.fromisoformat(args["to"]),
                             echo=lambda line: print(line, file=sys.stderr))
    failed = [r.error for r in results if not r.ok]
    if failed or not results:
        raise RuntimeError(f"the DAG run failed: {failed[:1] or 'no night ran'}")
    return {"tree_peak_mb": sampler.peak_mb,
            "nights": {r.export_date.isoformat(): r.seconds for r in results}}


def _step_floor(args: dict) -> dict:
    """DuckDB alone: read each file of the night once, one grouped aggregate per table."""
    import duckdb

    folder = Path(args["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    con = duckdb.connect(":memory:", config={"memory_limit": args["memory_limit"]})
    per_table: dict[str, float] = {}
    rows = 0
    for name, f in manifest["files"].items():
        path = folder / name
        cols = [c[0] for c in con.execute(
            "DESCRIBE SELECT * FROM read_csv(?, header = true)", [str(path)]).fetchall()]
        key = "account_id" if "account_id" in cols else cols[0]
        t0 = time.perf_counter()
        n = con.execute(
            f'SELECT sum(n) FROM (SELECT "{key}", count(*) AS n '
            f'FROM read_csv(?, header = true) GROUP BY 1)', [str(path)]).fetchone()[0]
        per_table[f["table"]] = per_table.get(f["table"], 0.0) + time.perf_counter() - t0
        rows += int(n or 0)
    con.close()
    return {"rows": rows, "per_table": per_table}


def _step_window_floor(args: dict) -> dict:
    """DuckDB alone on the stored history a steady night's windows read: the logins of the
    `days` login days before the night, one grouped aggregate, as `_step_floor` does per file."""
    import duckdb

    night = date.fromisoformat(args["night"])
    con = duckdb.connect(args["warehouse"], read_only=True,
                         config={"memory_limit": args["memory_limit"]})
    n = con.execute(
        "SELECT sum(n) FROM (SELECT account_id, count(*) AS n FROM staging.stg_logins "
        "WHERE login_day BETWEEN ? AND ? GROUP BY 1)",
        [night - timedelta(days=args["days"]), night - timedelta(days=1)]).fetchone()[0]
    con.close()
    return {"counted": {"rows": int(n or 0)}}


# The least any pipeline on this stack pays whatever the data: a one-task DAG file parsed and
# run with `dag.test()` in a fresh process, whose task validates a one-row frame with one GX
# expectation and runs `dbt run` (a subprocess, as cosmos runs it) on a one-model project.
_FLOOR_DAG = '''"""The stack floor: Airflow, GX and dbt once each, no data (itw-radar bench)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow.sdk import dag, task


@task
def one_of_each() -> None:
    """One GX expectation on a one-row frame, then `dbt run` of a one-model project."""
    parts = {}
    t = time.perf_counter()
    import great_expectations as gx
    import pandas as pd

    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("floor").add_dataframe_asset("one")
             .add_batch_definition_whole_dataframe("whole"))
    suite = context.suites.add(gx.ExpectationSuite(
        name="floor", expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="x")]))
    result = gx.ValidationDefinition(name="floor", data=batch, suite=suite).run(
        batch_parameters={"dataframe": pd.DataFrame({"x": [1]})})
    if not result.success:
        raise RuntimeError("the one GX expectation failed")
    parts["gx"] = time.perf_counter() - t
    t = time.perf_counter()
    project = os.environ["ITW_RADAR_FLOOR_DBT"]
    dbt = Path(sys.executable).with_name("dbt")
    proc = subprocess.run([str(dbt) if dbt.exists() else "dbt", "run", "--project-dir", project,
                           "--profiles-dir", project], capture_output=True, text=True, cwd=project)
    if proc.returncode != 0:
        raise RuntimeError("dbt run failed: " + proc.stdout[-2000:])
    parts["dbt"] = time.perf_counter() - t
    Path(os.environ["ITW_RADAR_FLOOR_PARTS"]).write_text(json.dumps(parts))


@dag(dag_id="itw_radar_stack_floor", schedule=None, catchup=False)
def itw_radar_stack_floor() -> None:
    one_of_each()


itw_radar_stack_floor()
'''
_FLOOR_DBT_PROJECT = "name: stack_floor\nversion: '1.0'\nprofile: stack_floor\n"
_FLOOR_DBT_PROFILE = ("stack_floor:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                      "      path: {path}\n      threads: 1\n")


def stack_floor_env(root: Path) -> dict[str, str]:
    """Set up (untimed) the stack floor under `root`: its DAG folder, its one-model dbt project
    and a migrated Airflow metadata DB; returns the environment its runs need."""
    from itw_radar.orchestration import airflow_env, ensure_airflow_db
    from itw_radar.paths import Home

    dags = root / "dags"
    project = root / "dbt"
    (project / "models").mkdir(parents=True, exist_ok=True)
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "itw_radar_stack_floor.py").write_text(_FLOOR_DAG)
    (project / "dbt_project.yml").write_text(_FLOOR_DBT_PROJECT)
    (project / "profiles.yml").write_text(
        _FLOOR_DBT_PROFILE.format(path=json.dumps(str(root / "floor.duckdb"))))
    (project / "models" / "one.sql").write_text("select 1 as x\n")
    home = Home.resolve(str(root / "home")).ensure()
    env = airflow_env(home)
    env.update({"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "ITW_RADAR_FLOOR_DBT": str(project),
                "ITW_RADAR_FLOOR_PARTS": str(root / "parts.json")})
    ensure_airflow_db(home, env)
    return env


def _step_stack_floor(args: dict) -> dict:
    """The stack floor's DAG (see `stack_floor_env`): parsed and run once with `dag.test()`."""
    t0 = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    parts: dict[str, float] = {"airflow import": time.perf_counter() - t0}
    t = time.perf_counter()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors or "itw_radar_stack_floor" not in bag.dags:
        raise RuntimeError(f"the stack floor's DAG does not import: {bag.import_errors}")
    parts["dag parse"] = time.perf_counter() - t
    t = time.perf_counter()
    out = Path(os.environ["ITW_RADAR_FLOOR_PARTS"])
    out.unlink(missing_ok=True)
    dr = bag.dags["itw_radar_stack_floor"].test(logical_date=datetime.now(UTC))
    state = str(getattr(dr.state, "value", dr.state))
    if state != "success" or not out.exists():
        raise RuntimeError(f"the stack floor's DAG run ended {state}")
    task_parts = json.loads(out.read_text())
    parts["dag run"] = time.perf_counter() - t - sum(task_parts.values())
    parts.update(task_parts)
    return {"parts": parts}


def _step_history_load(args: dict) -> dict:
    """Load (verify + load, no GX) nights `from`..`to` into the warehouse: the DAG's loader."""
    from itw_radar.ingestion import load_night, verify_night
    from itw_radar.paths import Home

    home = Home.resolve(args["home"]).ensure()
    exports = Path(args["exports"])
    n = 0
    for night in nights(date.fromisoformat(args["from"]),
                        (date.fromisoformat(args["to"]) - date.fromisoformat(args["from"])).days
                        + 1):
        load_night(home, exports, night, manifest=verify_night(exports, night))
        n += 1
    return {"nights": n}


def _step_dbt_build(args: dict) -> dict:
    """`dbt build` for one night on the warehouse (what the DAG's dbt producer runs): section
    3's untimed catch-up between its timed nights."""
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.paths import Home

    home = Home.resolve(args["home"])
    target = Path(args["target"])
    project = os.environ.get("ITW_RADAR_DBT_PROJECT")  # as the DAG: another dbt project
    # the DAG's build excludes unit tests (dags/itw_radar_nightly.py DBT_EXCLUDE)
    run_dbt("build --exclude resource_type:unit_test", warehouse=home.warehouse,
            **({"project_dir": Path(project)} if project else {}),
            as_of=date.fromisoformat(args["night"]),
            full_refresh=bool(args.get("full_refresh")), target_path=target,
            log_path=target / "logs")
    return {}


def _step_dbt_rebuild(args: dict) -> dict:
    """`itw-radar rebuild`: a full refresh of every loaded night, `batch` nights per build."""
    from itw_radar.dbt_runner import loaded_nights, rebuild
    from itw_radar.paths import Home

    home = Home.resolve(args["home"])
    target = Path(args["target"])
    batches: list[dict] = []
    mark = [time.perf_counter()]

    def timed(i: int, n: int, result: object) -> None:
        now = time.perf_counter()
        batches.append({"batch": i, "as_of": str(getattr(result, "as_of", "")),
                        "seconds": round(now - mark[0], 2)})
        mark[0] = now

    nights_ = loaded_nights(home.warehouse, date.fromisoformat(args["night"]))
    rebuild("build --exclude resource_type:unit_test", warehouse=home.warehouse, nights=nights_,
            batch_nights=int(args["batch"]), on_batch=timed, target_path=target,
            log_path=target / "logs")
    return {"batches": batches, "nights": len(nights_)}


def _step_catch_up(args: dict) -> dict:
    """Nights `from`..`to` one by one: the DAG's loader, then dbt's models and seeds for the
    night (no data tests, no GX, no publish: the untimed history in front of a timed night)."""
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.ingestion import load_night, verify_night
    from itw_radar.paths import Home

    home = Home.resolve(args["home"]).ensure()
    exports = Path(args["exports"])
    target = Path(args["target"])
    first, last = date.fromisoformat(args["from"]), date.fromisoformat(args["to"])
    done: dict[str, dict] = {}
    for night in nights(first, (last - first).days + 1):
        t0 = time.perf_counter()
        load_night(home, exports, night, manifest=verify_night(exports, night))
        t1 = time.perf_counter()
        run_dbt("build --exclude resource_type:test resource_type:unit_test",
                warehouse=home.warehouse, as_of=night, target_path=target,
                log_path=target / "logs")
        done[night.isoformat()] = {"load_s": round(t1 - t0, 1),
                                   "dbt_s": round(time.perf_counter() - t1, 1)}
        print(f"caught up {night}: {done[night.isoformat()]}", file=sys.stderr, flush=True)
    return {"nights": done}


def _step_dashboard(args: dict) -> dict:
    """Each dashboard page's queries, uncached, `repeats` times: seconds per query."""
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from dashboard import data

    # bypass st.cache_data: the module's functions call these two by name
    data.query = lambda snap, sql, params=(): data._fetch(snap, sql, params)
    data.query_with_reviews = (
        lambda snap, sql, params, live: data._fetch(snap, sql, params, (("live_reviews", live),)))
    snap = data.snapshot(Home_resolve(args["home"]))
    if snap is None:
        raise RuntimeError(f"no serving database under {args['home']}")
    live = pd.DataFrame({"account_id": pd.Series([], dtype="string"),
                         "status": pd.Series([], dtype="string"),
                         "author": pd.Series([], dtype="string")})
    top = data.flagged_page(snap, data.FlagFilters(), live, page_size=1)
    acct = str(top["account_id"].iloc[0]) if len(top) else "none"
    cl = data.clusters(snap, limit=1)
    cluster_id = str(cl["cluster_id"].iloc[0]) if len(cl) else "none"
    night = data.as_of(snap)
    some_ind = data.indicators(snap)
    ind = (str(some_ind.iloc[0, 0]),) if len(some_ind) else ()
    filt = data.FlagFilters(indicators=ind, search="a")
    pages: dict[str, dict[str, Callable[[], object]]] = {
        "overview": {
            "nights": lambda: data.nights(snap), "as_of": lambda: data.as_of(snap),
            "tier_counts": lambda: data.tier_counts(snap),
            "new_high": lambda: data.new_high(snap),
            "high_risk_payouts": lambda: data.high_risk_payouts(snap),
            "tier_trend": lambda: data.tier_trend(snap),
            "indicator_trend": lambda: data.indicator_trend(snap)},
        "flagged": {
            "filter_options": lambda: data.filter_options(snap),
            "flagged_count": lambda: data.flagged_count(snap, data.FlagFilters(), live),
            "flagged_page": lambda: data.flagged_page(snap, data.FlagFilters(), live),
            "flagged_count (indicator + search filter)":
                lambda: data.flagged_count(snap, filt, live),
            "flagged_page (indicator + search filter)":
                lambda: data.flagged_page(snap, filt, live)},
        "account": {
            "account": lambda: data.account(snap, acct),
            "profile": lambda: data.profile(snap, acct),
            "score_history": lambda: data.score_history(snap, acct),
            "hits": lambda: data.hits(snap, acct), "logins": lambda: data.logins(snap, acct),
            "links": lambda: data.links(snap, acct),
            "messages": lambda: data.messages(snap, acct)},
        "networks": {
            "clusters": lambda: data.clusters(snap),
            "cluster": lambda: data.cluster(snap, cluster_id),
            "cluster_members": lambda: data.cluster_members(snap, cluster_id),
            "cluster_links": lambda: data.cluster_links(snap, cluster_id)},
        "data quality": {
            "pipeline_runs": lambda: data.pipeline_runs(snap),
            "indicators": lambda: data.indicators(snap),
            "load_files": lambda: data.load_files(snap, night),
            "load_totals": lambda: data.load_totals(snap),
            "gx_results": lambda: data.gx_results(snap, night, False),
            "quarantine_summary": lambda: data.quarantine_summary(snap, night)},
    }
    times: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    for page, queries in pages.items():
        for name, fn in queries.items():
            key = f"{page}: {name}"
            for _ in range(args["repeats"]):
                t0 = time.perf_counter()
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - reported in the doc, not hidden
                    errors[key] = str(exc).splitlines()[0][:200]
                    break
                times.setdefault(key, []).append(time.perf_counter() - t0)
    return {"times": times, "errors": errors}


def _step_marts(args: dict) -> dict:
    """Row count and an order-independent checksum of every mart in the warehouse."""
    from itw_radar.paths import Home
    from itw_radar.publishing import mart_tables
    from itw_radar.warehouse import connect

    con = connect(Home.resolve(args["home"]).warehouse, read_only=True)
    try:
        out = {}
        for t in mart_tables(con):
            n, h = con.execute(f'SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR '
                               f'FROM main."{t}" AS x').fetchone()
            out[t] = [int(n), str(h)]
    finally:
        con.close()
    return {"marts": out}


def _step_marts_diff(args: dict) -> dict:
    """Rows of each mart only in warehouse `a` / only in `b`; doubles compared to 6 decimals."""
    from itw_radar.publishing import mart_differences

    return {"differing": mart_differences(Path(args["a"]), Path(args["b"]), args.get("tables"))}


def _step_publish(args: dict) -> dict:
    """Publish the warehouse's marts as the serving database (the DAG's publish task)."""
    from itw_radar.paths import Home
    from itw_radar.publishing import publish

    publish(Home.resolve(args["home"]), date.fromisoformat(args["night"]))
    return {}


def _step_dbt_parse(args: dict) -> dict:
    """Leave in the home's dbt target the saved parse a night through the DAG leaves there.

    The DAG's build reuses the last night's saved parse when its project files, vars, profile
    (with the warehouse path) and target are the same (dbt's partial parse): the same arguments
    as the producer's (no vars, profile itw_radar, target dev) into the same target folder."""
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.paths import Home
    from itw_radar.pipeline import dbt_target

    home = Home.resolve(args["home"])
    run_dbt(["parse", "--profile", "itw_radar", "--target", "dev"], warehouse=home.warehouse,
            target_path=dbt_target(home))
    return {}


def Home_resolve(root: str) -> object:  # noqa: N802 - tiny local alias
    from itw_radar.paths import Home

    return Home.resolve(root)


STEPS.update({"prepare": _step_prepare, "dag_nights": _step_dag_nights, "floor": _step_floor,
              "window_floor": _step_window_floor,
              "stack_floor": _step_stack_floor,
              "history_load": _step_history_load, "dbt_build": _step_dbt_build,
              "dbt_rebuild": _step_dbt_rebuild, "catch_up": _step_catch_up,
              "dashboard": _step_dashboard, "marts": _step_marts,
              "marts_diff": _step_marts_diff,
              "publish": _step_publish, "dbt_parse": _step_dbt_parse})


# ---------------------------------------------------------------------------- timing sources

_DBT_OK = re.compile(r"OK created sql \w+ model ([\w.]+) \.* \[\S*OK\S* in ([\d.]+)s\]")
_DBT_SEED = re.compile(r"OK loaded seed file ([\w.]+) \.* \[\S*INSERT \d+\S* in ([\d.]+)s\]")


def _dbt_model_times(run_results: Path, run_log: Path | None = None) -> dict[str, float]:
    """Seconds per dbt node of the latest run (models one by one; tests summed as `tests`).

    With the DAG's default test behaviour (`in_build`) the producer's `dbt build` runs models and
    data tests, and its run_results.json holds both. With `after_all` the data tests run in a
    `dbt test` task after it, whose run_results.json replaces the producer's: the model times
    then come from the producer's log lines in the night's run log (`OK created ... in 4.61s`).
    """
    out: dict[str, float] = {}
    if run_results.is_file():
        data = json.loads(run_results.read_text())
        for r in data.get("results", []):
            uid = str(r.get("unique_id", "?"))
            kind = uid.split(".", 1)[0]
            secs = float(r.get("execution_time") or 0.0)
            key = uid.split(".")[-1] if kind in ("model", "seed", "snapshot") else f"{kind}s"
            if kind == "seed":
                key = f"seed {key}"
            out[key] = out.get(key, 0.0) + secs
    if run_log is not None and run_log.is_file() and not any(k != "tests" for k in out):
        text = _ANSI.sub("", run_log.read_text(errors="replace"))
        for m in _DBT_OK.finditer(text):
            out[m.group(1).split(".")[-1]] = float(m.group(2))
        for m in _DBT_SEED.finditer(text):
            out[f"seed {m.group(1).split('.')[-1]}"] = float(m.group(2))
    return out


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _latest_run_log(home: Path) -> Path | None:
    logs = sorted((home / "logs").glob("run-*.log"))
    return logs[-1] if logs else None


def _airflow_task_times(home: Path, night: date) -> dict[str, float]:
    """Seconds per task of the night's DAG run, from the local Airflow metadata DB."""
    import sqlite3

    db = home / "airflow" / "airflow.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT ti.task_id, ti.start_date, ti.end_date FROM task_instance ti "
            "JOIN dag_run dr ON dr.run_id = ti.run_id AND dr.dag_id = ti.dag_id "
            "WHERE ti.dag_id = 'itw_radar_nightly' AND date(dr.logical_date) = ? "
            "AND ti.start_date IS NOT NULL AND ti.end_date IS NOT NULL",
            [night.isoformat()]).fetchall()
    finally:
        con.close()

    out: dict[str, float] = {}
    spans: list[tuple[datetime, datetime]] = []
    for task_id, start, end in rows:
        s, e = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
        out[task_id] = (e - s).total_seconds()
        spans.append((s, e))
    if spans:
        out["_span"] = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
    return out


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _memory_limit() -> str:
    return os.environ.get("ITW_RADAR_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def _night_counts(folder: Path) -> dict[str, int]:
    manifest = json.loads((folder / "manifest.json").read_text())
    out: dict[str, int] = {}
    for f in manifest["files"].values():
        out[f["table"]] = out.get(f["table"], 0) + int(f["rows"])
    return out


def _results_file(work: Path) -> Path:
    return work / "bench-results.json"


def _save(work: Path, key: str, value: object) -> None:
    path = _results_file(work)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=1, default=str))


def _saved(work: Path) -> dict:
    path = _results_file(work)
    return json.loads(path.read_text()) if path.is_file() else {}


def _p95(values: list[float]) -> float:
    s = sorted(values)
    # nearest rank: the ceil(0.95 n)-th smallest value
    return s[min(len(s) - 1, max(0, math.ceil(0.95 * len(s)) - 1))] if s else float("nan")


# ---------------------------------------------------------------------------- one DAG night

def _ensure_exports(exports: Path, days: int, size: NightSize) -> None:
    """Generate `days` nights of `size` (seed 7) into `exports` unless its last night is there."""
    last = START + timedelta(days=days - 1)
    if not (exports / last.isoformat() / "manifest.json").is_file():
        shutil.rmtree(exports, ignore_errors=True)
        run_step("generate", {"out": str(exports), "start": START.isoformat(), "days": days,
                              "freelancers": size.freelancers, "clients": size.clients,
                              "seed": 7})


def _dag_night(work: Path, tag: str, size: NightSize, repeats: int, keep: bool = False,
               delta: bool = False, exports: Path | None = None, base: Path | None = None,
               night: date | None = None) -> dict:
    """Run one night of `size` `repeats` times through the DAG; return medians of the whole
    night, per task and per dbt model, and peaks.

    delta=False: the platform's first export (`mode` full: every entity row), into a fresh home
    each time. delta=True: a regular night of the same platform (`mode` delta: the day's new
    and changed entities and its events): night 1 is processed once (untimed) and saved, and
    each repeat restores that home and times night 2. base and night given: each repeat
    restores the prepared home `base` and times `night` (the caller owns `base`).
    """
    exports = exports or work / f"{tag}-exports"
    own_base = base is None
    if night is None:
        night = START + timedelta(days=(2 if delta else 1) - 1)
    _ensure_exports(exports, (night - START).days + 1, size)
    env = {"ITW_RADAR_DUCKDB_MEMORY_LIMIT": _memory_limit()}
    if base is not None:
        delta = True
    base = base or work / f"{tag}-base-home"
    if delta and own_base:
        shutil.rmtree(base, ignore_errors=True)
        run_step("prepare", {"home": str(base)}, env)
        run_step("dag_nights", {"home": str(base), "exports": str(exports),
                                "from": START.isoformat(), "to": START.isoformat()}, env)
    runs: list[dict] = []
    for i in range(repeats):
        home = work / f"{tag}-home"
        shutil.rmtree(home, ignore_errors=True)
        if delta:
            ensure_free_disk(work, tree_bytes(base), f"a copy of {base} for the timed night")
            shutil.copytree(base, home, symlinks=True)
            # the saved dbt parse the night before leaves in its home: dbt's parse state holds
            # the warehouse path, so one made in `base` does not serve the copy (finding 16)
            run_step("dbt_parse", {"home": str(home)}, env)
        else:
            run_step("prepare", {"home": str(home)}, env)
        runs.append(_timed_dag_night(home, exports, night, env))
        if not keep or i < repeats - 1:
            shutil.rmtree(home, ignore_errors=True)
    if delta and own_base:
        shutil.rmtree(base, ignore_errors=True)
    return {"label": size.label, "counts": _night_counts(exports / night.isoformat()),
            "runs": runs, "home": str(work / f"{tag}-home") if keep else None,
            "exports": str(exports), "night": night.isoformat(),
            "memory_limit": _memory_limit()}


def _timed_dag_night(home: Path, exports: Path, night: date, env: dict[str, str]) -> dict:
    """One night through the DAG in its own process: the whole night, its peaks, each task's
    time from Airflow's metadata (`tasks`), each dbt node's from the producer (`dbt`).

    The disk's write-back of what the set-up wrote (a copied 13 GB home) is finished first,
    untimed: left to run, it would compete with the night's first reads.
    """
    os.sync()
    load_before = _load_average()
    r = run_step("dag_nights", {"home": str(home), "exports": str(exports),
                                "from": night.isoformat(), "to": night.isoformat()}, env)
    r["tasks"] = _airflow_task_times(home, night)
    r["dbt"] = _dbt_model_times(home / "airflow" / "dbt_target" / "run_results.json",
                                _latest_run_log(home))
    r["load_average"] = f"{load_before} before, {_load_average()} after"
    return r


def tree_bytes(root: Path) -> int:
    """Bytes of the regular files under `root` (symlinks not followed)."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_free_disk(where: Path, need: int, what: str, headroom: int = 2 << 30) -> None:
    """Fail before writing `need` bytes under `where` when the disk has less free (plus
    `headroom` for the night's own growth): a full disk half-way through a copy kills the run
    an hour in."""
    where.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(where).free
    if free < need + headroom:
        raise RuntimeError(
            f"not enough free disk for {what}: it needs {need / 2**30:.1f} GB + "
            f"{headroom / 2**30:.1f} GB headroom under {where}, {free / 2**30:.1f} GB are free. "
            "Free space there or pass --work on a larger disk.")


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _median_run(runs: list[dict]) -> dict:
    """The run whose whole-night seconds are the median (the lower one of an even count), so
    that a figure drawn from one run's stages matches the tables' medians."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def _night_table(res: dict) -> list[str]:
    runs = res["runs"]
    whole = _med([r["seconds"] for r in runs])
    lines = ["| stage | seconds (median) | share of night |", "|---|---:|---:|"]
    lines.append(f"| **whole night** (`itw-radar run`, DAG start to end, incl. Airflow start-up) "
                 f"| **{whole:.1f}** | 100% |")
    tasks: dict[str, list[float]] = {}
    for r in runs:
        for k, v in r["tasks"].items():
            tasks.setdefault(k, []).append(v)
    dbt: dict[str, list[float]] = {}
    for r in runs:
        for k, v in r["dbt"].items():
            dbt.setdefault(k, []).append(v)
    # run_results.json's test times: the producer's build's own (the default, the tests run in
    # it), or the test task's (after_all: it runs after, and replaces, the build's)
    test_times = dbt.pop("tests", [])
    in_test_task = "dbt_build.dbt_project_test" in tasks

    def tests_line(where: str) -> None:
        t = _med(test_times)
        lines.append(f"| &nbsp;&nbsp;the data tests' own time (sum over tests{where}) | "
                     f"{t:.2f} | {t / whole:.1%} |")

    for task_id, label in _STAGE_TASKS.items():
        if task_id in tasks:
            v = _med(tasks[task_id])
            lines.append(f"| {label} (task `{task_id}`) | {v:.1f} | {v / whole:.0%} |")
            if task_id.endswith("_test") and test_times:
                tests_line("")
    producer = [k for k in tasks if k.startswith("dbt_build.") and "producer" in k]
    dbt_wall = _med(tasks[producer[0]]) if producer else float("nan")
    if producer:
        lines.append(f"| dbt build (task `{producer[0]}`, one `dbt build`) | {dbt_wall:.1f} | "
                     f"{dbt_wall / whole:.0%} |")
        if test_times and not in_test_task:
            tests_line(", each after its model in this build")
    for name, vals in sorted(dbt.items(), key=lambda kv: -_med(kv[1])):
        v = _med(vals)
        lines.append(f"| &nbsp;&nbsp;dbt {name} | {v:.2f} | {v / whole:.1%} |")
    accounted = sum(_med(tasks[t]) for t in _STAGE_TASKS if t in tasks) + (
        dbt_wall if producer else 0.0)
    lines.append(f"| other (Airflow start-up, DAG parsing, scheduling, watcher tasks) | "
                 f"{whole - accounted:.1f} | {(whole - accounted) / whole:.0%} |")
    return lines


def _peak_line(res: dict) -> str:
    runs = res["runs"]
    tree = max(r["tree_peak_mb"] for r in runs)
    single = max(r["peak_mb"] for r in runs)
    return (f"Peak memory: **{tree / 1024:.2f} GB** summed over the whole process tree "
            f"(sampled every 0.2 s), largest single process {single / 1024:.2f} GB "
            f"(ru_maxrss); DuckDB memory_limit {res['memory_limit']} "
            f"(`ITW_RADAR_DUCKDB_MEMORY_LIMIT`).")


# ---------------------------------------------------------------------------- sections

def _preamble(repeats: int, command: str) -> str:
    project = os.environ.get("ITW_RADAR_DBT_PROJECT")
    note = (f" **dbt project: {project}** (ITW_RADAR_DBT_PROJECT), not dbt_project/."
            if project else "")
    return note + (f"Machine: {machine()}; load average (1/5/15 min) {_load_average()} when the "
            f"section was written (other work shared the 2 cores). Median of {repeats} run(s), "
            f"measured {time.strftime('%Y-%m-%d %H:%M')} UTC with `{command}`.")


def _large_block(title: str, res: dict, what: str) -> list[str]:
    counts = res["counts"]
    whole = _med([r["seconds"] for r in res["runs"]])
    tree = max(r["tree_peak_mb"] for r in res["runs"]) / 1024
    each = ", ".join(f"{r['seconds']:.0f}" for r in res["runs"])
    return [
        f"### {title}",
        "",
        what,
        "",
        f"Night {res.get('night', START.isoformat())}: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(counts.items())) + f" ({sum(counts.values()):,} rows).",
        f" Load average: {'; '.join(r['load_average'] for r in res['runs'])}.",
        "",
        f"**Whole night {whole:.0f} s** (median of {len(res['runs'])}; runs: "
        f"{each} s; target ≤ 180 s: "
        f"{'met' if whole <= 180 else 'MISSED'}); **peak {tree:.2f} GB** (target ≤ 6 GB: "
        f"{'met' if tree <= 6 else 'MISSED'}).",
        "",
        _peak_line(res),
        "",
        *_night_table(res),
        "",
    ]


def run_large_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 1: the large platform through the real DAG: a regular (delta) night and the
    first full export, whole and per stage / dbt model."""
    size = QUICK_NIGHT if quick else LARGE_NIGHT
    tag = "quick-large" if quick else "large"
    delta = _dag_night(work, f"{tag}-delta", size, repeats, keep=True, delta=True)
    _save(work, "large", delta)
    # the same platform's night 1: its first export
    full = _dag_night(work, tag, size, repeats, keep=False, exports=Path(delta["exports"]))
    _save(work, "large_full", full)
    body = "\n".join([
        f"## 1. Large platform through the DAG: {size.label}",
        "",
        _preamble(repeats, "itw-radar bench --sections large"),
        "",
        "Two nights of one generated platform (seed 7): a **regular night** (the export "
        "contract's `mode: delta`: the day's new and changed accounts, documents, payment "
        "methods and contracts, and all of its ~3M logins and other events), which is what the "
        "platform sends every night and what the targets are judged on, and the platform's "
        "**first export** (`mode: full`: every entity row, 10M rows), which happens once. "
        "Stage times are the tasks' start-to-end times in the run's Airflow metadata DB; dbt "
        "model times are dbt's own (`OK created ... in N s` of the producer's log).",
        "",
        *_large_block("1a. A regular night of the large platform (delta)", delta,
                      "Night 1 (the full export) was processed first, untimed, and its home "
                      "restored before each timed run of night 2."),
        *_large_block("1b. The platform's first export (full)", full,
                      "A fresh home each run."),
    ])
    write_section(doc, "large", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


STEADY_NIGHTS = 31  # the login windows (<= 30 days) are full on night 31
# The longest look-back over logins (evidence_logins' 30 nights, cluster links' 30 days): the
# history a steady night must read at the least (its window floor).
LOGIN_WINDOW_DAYS = 30
QUICK_STEADY_NIGHTS = 3


def run_steady_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 1c: a regular night of the large platform at steady state: 30 nights of history
    in front of it, so every look-back window over logins (<= 30 days) is full.

    The history nights go through the loader and dbt's models (untimed, `catch_up`); a copy of
    that home is restored before each timed run of the last night through the real DAG."""
    size = QUICK_NIGHT if quick else LARGE_NIGHT
    days = QUICK_STEADY_NIGHTS if quick else STEADY_NIGHTS
    tag = "quick-steady" if quick else "steady"
    exports = work / f"{tag}-exports"
    night = START + timedelta(days=days - 1)
    _ensure_exports(exports, days, size)
    env = {"ITW_RADAR_DUCKDB_MEMORY_LIMIT": _memory_limit()}
    # the history home is kept (an hour of work at full size) and reused while it matches
    base = work / f"{tag}-base-home"
    marker = base / "caught-up.json"
    want = {"exports": str(exports), "to": (night - timedelta(days=1)).isoformat()}
    saved = json.loads(marker.read_text()) if marker.is_file() else {}
    if {k: saved.get(k) for k in want} != want:
        shutil.rmtree(base, ignore_errors=True)
        run_step("prepare", {"home": str(base)}, env)
        caught = run_step("catch_up", {"home": str(base), "exports": str(exports),
                                       "from": START.isoformat(), "to": want["to"],
                                       "target": str(base / "dbt-target")}, env)
        saved = {**want, "nights": caught["nights"]}
        marker.write_text(json.dumps(saved, indent=1))
    if not (base / "serving" / "radar.duckdb").exists():
        # a platform at steady state has last night's serving database: the timed night's
        # publish starts from it, as every regular night does
        run_step("publish", {"home": str(base), "night": want["to"]}, env)
    # the timed copy is not kept: at full size it is another 13 GB beside the history home
    res = _dag_night(work, tag, size, repeats, keep=False, exports=exports, base=base,
                     night=night)
    res["history_nights"] = saved["nights"]
    # The ratio's floors right after the timed runs, in the same hour: the machine's speed
    # moves through a day by as much as a change of code does (finding 14).
    floor, _ = _floor(exports / night.isoformat(), repeats)
    window, window_rows = _window_floor(base, night, repeats)
    stack, _ = _stack_floor(work, repeats)
    res["floors"] = {"floor_s": floor.median_s, "stack_s": stack.median_s,
                     "window_s": window.median_s, "window_rows": window_rows}
    _save(work, "steady", res)
    body = steady_section(res, repeats)
    write_section(doc, "steady", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


def steady_section(res: dict, repeats: int) -> str:
    """Section 1c's text from its saved results."""
    hist = res["history_nights"]
    dbt_s = [v["dbt_s"] for v in hist.values()]
    return "\n".join([
        f"## 1c. A regular night of the large platform at steady state ({len(hist) + 1} nights)",
        "",
        _preamble(repeats, "itw-radar bench --sections steady"),
        "",
        f"Section 1a's night 2 has two nights in its look-back windows. Here the same platform "
        f"(seed 7) first runs {len(hist)} nights of history through the loader and dbt's models "
        f"(untimed; data tests and GX skipped, the last history night published), so that "
        f"every look-back window over "
        f"logins (at most 30 days: cluster links, shared devices, evidence logins; 14 days: "
        f"foreign hours, anonymised IPs, remote desktop, co-travel) is full. Night "
        f"{len(hist) + 1} is then timed through the real DAG, as in 1a.",
        "",
        f"dbt's models during the history (one process a night, other work on the machine): "
        f"night 1 {dbt_s[0]:.0f} s, night 2 {dbt_s[min(1, len(dbt_s) - 1)]:.0f} s, "
        f"night {len(dbt_s)} {dbt_s[-1]:.0f} s.",
        "",
        *_large_block(f"Night {len(hist) + 1}, windows full", res,
                      "The history's home restored before each timed run."),
        *_steady_ratio(res),
    ])


def _steady_ratio_value(res: dict, *, window: bool = False) -> float | None:
    """The steady night's median whole night / (floor + stack floor measured right after it),
    with the window floor added when `window` (None: not measured then)."""
    floors = res["floors"]
    if window and "window_s" not in floors:
        return None
    floor = floors["floor_s"] + floors["stack_s"] + (floors["window_s"] if window else 0.0)
    return _med([r["seconds"] for r in res["runs"]]) / floor


def _steady_ratio(res: dict) -> list[str]:
    """The steady night's pipeline / (floor + stack floor), and with the window floor, from
    floors measured right after its timed runs (results saved before they were measured have
    none)."""
    floors = res.get("floors")
    if not floors:
        return []
    ratio = _steady_ratio_value(res)
    lines = [
        f"Measured right after the timed runs, as section 2 does for 1a and 1b: the floor "
        f"(DuckDB alone on this night's files) {floors['floor_s']:.1f} s and the stack floor "
        f"{floors['stack_s']:.1f} s: **pipeline / (floor + stack floor) = {ratio:.1f}** "
        f"({'≤' if ratio <= 10 else '>'} 10).",
        "",
    ]
    window = _steady_ratio_value(res, window=True)
    if window is not None:
        lines += [
            f"A night at steady state also reads its look-back windows, which a first night "
            f"does not have. The **window floor** is DuckDB alone on that stored history: the "
            f"{floors['window_rows']:,} logins of the {LOGIN_WINDOW_DAYS} login days before "
            f"the night (the longest look-back over logins: evidence and cluster links), read "
            f"once from the warehouse with one grouped aggregate (count per account), as the "
            f"floor reads each file: {floors['window_s']:.1f} s (median of the same repeats; "
            f"the other windows, 14 days of work sessions and the like, are left out, so it "
            f"is a lower bound). **pipeline / (floor + window floor + stack floor) = "
            f"{window:.1f}** (target ≤ 10 at steady state, findings 18: "
            f"{'met' if window <= 10 else 'MISSED'}).",
            "",
        ]
    return lines


def _repeated(step: str, args: dict, repeats: int, breakdown: str,
              env: dict[str, str] | None = None) -> tuple[Measurement, dict[str, list[float]]]:
    """Run a step `repeats` times: its seconds and peaks, and each run's `breakdown` figures."""
    measured = Measurement(step)
    parts: dict[str, list[float]] = {}
    for _ in range(repeats):
        r = run_step(step, args, env)
        measured.seconds.append(r["seconds"])
        measured.peak_mb.append(r["peak_mb"])
        for k, v in r[breakdown].items():
            parts.setdefault(k, []).append(v)
    return measured, parts


def _floor(folder: Path, repeats: int) -> tuple[Measurement, dict[str, list[float]]]:
    return _repeated("floor", {"folder": str(folder), "memory_limit": _memory_limit()},
                     repeats, "per_table")


def _window_floor(base: Path, night: date, repeats: int) -> tuple[Measurement, int]:
    """The window floor's runs on the history home (read only), as `_floor`'s on files, and
    the logins they counted."""
    from itw_radar.paths import Home

    args = {"warehouse": str(Home.resolve(str(base)).warehouse), "night": night.isoformat(),
            "days": LOGIN_WINDOW_DAYS, "memory_limit": _memory_limit()}
    measured, counted = _repeated("window_floor", args, repeats, "counted")
    return measured, int(counted["rows"][-1])


def _stack_floor(work: Path, repeats: int) -> tuple[Measurement, dict[str, float]]:
    """The stack floor's runs (set-up untimed), with each part's median."""
    floor, parts = _repeated("stack_floor", {}, repeats, "parts",
                             stack_floor_env(work / "stack-floor"))
    return floor, {k: _med(v) for k, v in parts.items()}


def run_floor_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 2: DuckDB alone on the large nights' files, the stack's own start-up with no
    data, and the pipeline's ratios to them."""
    saved = _saved(work)
    if saved.get("large") is None or saved.get("large_full") is None:
        run_large_benchmark(work, doc, repeats=repeats, quick=quick)
        saved = _saved(work)
    stack, parts = _stack_floor(work, repeats)
    lines: list[str] = []
    ratios: dict[str, float] = {}
    stack_ratios: dict[str, float] = {}
    tables: list[str] = []
    regular_floor = float("nan")
    for key, label in (("large", "regular night (delta)"), ("large_full", "first export (full)")):
        res = saved[key]
        night = res.get("night", START.isoformat())
        floor, per_table = _floor(Path(res["exports"]) / night, repeats)
        if key == "large":
            regular_floor = floor.median_s
        whole = _med([r["seconds"] for r in res["runs"]])
        ratios[key] = whole / floor.median_s
        stack_ratios[key] = whole / (floor.median_s + stack.median_s)
        lines.append(f"| {label} | {floor.median_s:.1f} | {floor.peak:,.0f} | {whole:.1f} | "
                     f"{ratios[key]:.1f} (missed) | {floor.median_s + stack.median_s:.1f} | "
                     f"**{stack_ratios[key]:.1f}** "
                     f"({'met' if stack_ratios[key] <= 10 else 'MISSED'}) |")
        tables.append(f"{label}: " + ", ".join(
            f"{k} {_med(v):.2f} s" for k, v in sorted(per_table.items())))
    _save(work, "floor", {"ratios": ratios, "stack_ratios": stack_ratios,
                          "stack_s": stack.median_s, "stack_parts": parts})
    left = 10 * regular_floor - stack.median_s
    body = "\n".join([
        "## 2. The floor: DuckDB alone on the same nights",
        "",
        _preamble(repeats, "itw-radar bench --sections floor"),
        "",
        "One DuckDB process reads each CSV file of the night once (`read_csv`, header, types "
        "sniffed) and computes one grouped aggregate per table (count per account_id, or per "
        "first column). Same memory limit as the pipeline.",
        "",
        f"The **stack floor** is what the fixed stack costs with no data: **{stack.median_s:.1f} "
        "s** (median; " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()) + "; peak "
        f"{stack.peak:,.0f} MB). One fresh process parses a one-task DAG file and runs it with "
        "`dag.test()`, as `itw-radar run` does; the task validates a one-row frame with one GX "
        "expectation and runs `dbt run` (a subprocess, as cosmos runs it) on a one-model "
        "project. No pipeline on Airflow + dbt + GX can take less than floor + stack floor.",
        "",
        "Target: issue 6 set pipeline / floor ≤ 10. On these measurements it is **moved to "
        "pipeline / (floor + stack floor) ≤ 10** (findings, 1): the stack floor alone is "
        f"{stack.median_s / regular_floor:.1f}x the regular night's floor, which leaves "
        f"{max(left, 0.0):.1f} s of a 10x budget to load, validate, score and publish its "
        f"{sum(saved['large']['counts'].values()):,} rows.",
        "",
        "| night | floor s | floor peak MB | pipeline s (section 1) | pipeline / floor "
        "| floor + stack floor s | pipeline / (floor + stack floor) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *lines,
        "",
        "Per table: " + "; ".join(tables) + ".",
    ])
    write_section(doc, "floor", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


def history_section(res: dict) -> str:
    """Section 3's text from the saved results (`bench-results.json`, key `history`)."""
    timed = {int(k): v for k, v in res["timed"].items()}
    marks = sorted(timed)
    full, batch, last = res["full"], res["batch"], marks[-1]
    secs = {m: timed[m]["seconds"] for m in marks}

    def task(m: int, task_id: str) -> float:
        return timed[m].get("tasks", {}).get(task_id, float("nan"))

    def tests(m: int) -> float:
        # the test task (after_all), or the tests' own time inside the producer's build
        return timed[m].get("tasks", {}).get("dbt_build.dbt_project_test",
                                             timed[m]["models"].get("tests", float("nan")))

    dbt_build = {m: task(m, "dbt_build.dbt_producer_watcher") for m in marks}

    def verdict(x: float) -> str:
        return "met" if x <= 1.3 else "MISSED"

    first = secs[last] / secs[marks[0]]
    ratios = [f"**whole night: night {last} / night 1 = {first:.2f}** (target ≤ 1.3: "
              f"{verdict(first)})",
              f"night {last} / night 2 (the first regular night) = "
              f"{secs[last] / secs[marks[1]]:.2f}"]
    ratios += [f"night {last} / night {m} = {secs[last] / secs[m]:.2f}" for m in marks[2:-1]]
    build_first = dbt_build[last] / dbt_build[marks[0]]
    build_ratios = [f"**the dbt build alone: night {last} / night 1 = {build_first:.2f}** "
                    f"({verdict(build_first)} as a target of its own)"]
    build_ratios += [f"night {last} / night {m} = {dbt_build[last] / dbt_build[m]:.2f}"
                     for m in marks[1:-1]]
    ratio_full = full["seconds"] / secs[last]
    ratio_full_build = full["seconds"] / dbt_build[last]
    lines = ["| night | whole night s | dbt build s (producer task) | dbt run s (models) | "
             "data tests s (task, or their sum in the build) | validate (GX) s | load s | "
             "publish s | peak GB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in marks:
        models = sum(v for k, v in timed[m]["models"].items() if k != "tests")
        lines.append(
            f"| night {m}{' (first export, full)' if m == 1 else ''} | {secs[m]:.1f} | "
            f"{dbt_build[m]:.1f} | {models:.1f} | {tests(m):.1f} | "
            f"{task(m, 'validate'):.1f} | {task(m, 'load_raw'):.1f} | {task(m, 'publish'):.1f} | "
            f"{timed[m].get('tree_peak_mb', timed[m]['peak_mb']) / 1024:.2f} |")
    lines.append(f"| night {last} full refresh (`itw-radar rebuild`, {full['nights']} nights in "
                 f"{len(full['batches'])} builds of ≤ {batch}; dbt only) | {full['seconds']:.1f} "
                 f"| | | | | | | {full['peak_mb'] / 1024:.2f} |")
    top = sorted(timed[last]["models"].items(), key=lambda kv: -kv[1])[:12]
    growth = ["| node | " + " | ".join(f"night {m}" for m in marks) + " |",
              "|---|" + "---:|" * len(marks)]
    growth += ["| " + name + " | " + " | ".join(
        f"{timed[m]['models'].get(name, float('nan')):.2f}" for m in marks) + " |"
        for name, _ in top]
    differing = res["marts_rows_differing"]
    bits = [t for t in res["marts_bits_differing"] if t not in differing]
    return "\n".join([
        f"## 3. History growth: {res['label']}, {res['nights']} nights",
        "",
        _preamble(1, "itw-radar bench --sections history"),
        "",
        "Each timed night runs through the real DAG (`itw-radar run`: verify, load, GX, the dbt "
        "build, the data tests, publish), as section 1 times a night. The nights between the "
        "timed ones are loaded with the DAG's loader (`verify_night` + `load_night`, no GX), "
        "caught up by one untimed `dbt build` as of the night before the timed one, and "
        "published, so the timed night processes exactly one new night and publishes from the "
        "night before, as a regular night does. Night 1 is the platform's first export (every "
        "entity row); night 2 is its first regular night. One run each (not a median). The dbt "
        "build column is the producer task (one `dbt build` process: start-up, parse, models); "
        "it is what this section timed alone before.",
        "",
        "; ".join(ratios) + "; " + "; ".join(build_ratios)
        + f"; **full refresh / incremental night {last} = {ratio_full:.1f}** (target ≥ 5: "
        f"{'met' if ratio_full >= 5 else 'MISSED'}; {ratio_full_build:.1f} against the night's "
        "dbt build alone).",
        "",
        *lines,
        "",
        (f"Marts after the incremental night {last} and after the full refresh, row by row "
         "(doubles to 6 decimal places, as `tests/test_dbt_project.py` compares): "
         + (f"identical in all {res['marts']} marts (every mart but the run log, "
            f"{', '.join(RUN_LOG_MARTS)})" if not differing else
            "DIFFERENT in " + ", ".join(
                f"{t} ({v[1]:,} of {v[0]:,} rows only in the nightly path, {v[2]:,} only in "
                "the rebuild)" for t, v in differing.items()))
         + ("" if not bits else
            f"; {', '.join(bits)} differ only beyond the 6th decimal of a double (their "
            "row-hash checksums differ)") + "."),
        "",
        f"The full refresh runs `dbt build --full-refresh` as of night {batch}, then incremental "
        f"builds as of every {batch}th night (`itw-radar rebuild`, `dbt_runner.rebuild`): one "
        "build over all nights computes every night in each model's single query and does not "
        "fit in memory at 90 nights. Seconds per build: "
        + ", ".join(f"{b['seconds']:.0f}" for b in full["batches"]) + ".",
        "",
        f"Slowest dbt nodes at night {last} (seconds, dbt's own times from the producer's log; "
        "`tests` is the sum of the data tests):",
        "",
        *growth,
    ])


def _compared_marts(home: Path, env: dict[str, str]) -> dict[str, list]:
    """Row count and checksum of each mart that section 3 compares, nightly vs rebuilt.

    pipeline_runs is the run log (raw.load_log): the DAG logs a night's dbt, publish and
    summarise steps after its build wrote the mart, so a later build sees more of the log. It
    records runs, not results of the nights' data, and is left out of the comparison.
    """
    marts = run_step("marts", {"home": str(home)}, env)["marts"]
    return {t: v for t, v in marts.items() if t not in RUN_LOG_MARTS}


def run_history_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 3: nightly cost as history grows (timed nights through the DAG, the nights
    between them through the loader and dbt), and a full refresh."""
    size = QUICK_HISTORY if quick else HISTORY_PLATFORM
    days = QUICK_HISTORY_NIGHTS if quick else HISTORY_NIGHTS
    # Night 1 is the platform's full first export; night 2 its first regular (delta) night, the
    # like-for-like baseline for nights 30, 60 and 90.
    marks = [1, 2, 3] if quick else [1, 2, 30, 60, 90]
    accounts = size.freelancers + size.clients
    exports = work / ("quick-history-exports" if quick else f"history-{accounts}-exports")
    last = START + timedelta(days=days - 1)
    _ensure_exports(exports, days, size)
    home = work / ("quick-history-home" if quick else "history-home")
    shutil.rmtree(home, ignore_errors=True)
    env = {"ITW_RADAR_DUCKDB_MEMORY_LIMIT": _memory_limit()}
    timed: dict[int, dict] = {}
    done = 0  # nights processed so far
    run_step("prepare", {"home": str(home)}, env)
    for mark in marks:
        night = START + timedelta(days=mark - 1)
        prev = night - timedelta(days=1)
        if mark - 1 > done:
            # the nights between the marks: loaded and caught up by one untimed build as of the
            # night before, whose results are published, as every regular night finds them
            run_step("history_load", {"home": str(home), "exports": str(exports),
                                      "from": (START + timedelta(days=done)).isoformat(),
                                      "to": prev.isoformat()}, env)
            run_step("dbt_build", {"home": str(home), "night": prev.isoformat(),
                                   "target": str(home / "dbt-target")}, env)
            run_step("publish", {"home": str(home), "night": prev.isoformat()}, env)
        # the timed night: the whole night through the real DAG, as section 1 times it
        r = _timed_dag_night(home, exports, night, env)
        r["models"] = r.pop("dbt")  # the key history_section reads
        timed[mark] = r
        done = mark
    before = _compared_marts(home, env)
    nightly = work / "history-nightly.duckdb"  # the nightly path's marts, to compare row by row
    shutil.copyfile(Home_resolve(str(home)).warehouse, nightly)
    # a full refresh of 90 nights in one build does not fit (section text): `itw-radar rebuild`
    # replays them in batches; the quick run uses batches of 2 so the batching itself is tested
    batch = 2 if quick else REBUILD_BATCH
    full = run_step("dbt_rebuild", {"home": str(home), "night": last.isoformat(), "batch": batch,
                                    "target": str(home / "dbt-target")}, env)
    after = _compared_marts(home, env)
    bits = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
    rows = run_step("marts_diff", {"a": str(nightly), "b": str(Home_resolve(str(home)).warehouse),
                                   "tables": sorted(before)}, env)["differing"]
    if not rows:  # kept when they differ, to find the rows: work/history-nightly.duckdb
        nightly.unlink()
    _save(work, "history", {"timed": timed, "full": full, "marts_differing": sorted(rows),
                            "marts_rows_differing": rows, "marts_bits_differing": bits,
                            "marts": len(before), "batch": batch, "label": size.label,
                            "nights": days})
    body = history_section(json.loads(_results_file(work).read_text())["history"])
    write_section(doc, "history", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


def run_tiny_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 4: fixed overhead, the DAG on a 100-account night."""
    res = _dag_night(work, "tiny", TINY_NIGHT, repeats)
    _save(work, "tiny", res)
    whole = _med([r["seconds"] for r in res["runs"]])
    body = "\n".join([
        f"## 4. Fixed overhead: {TINY_NIGHT.label} through the DAG",
        "",
        _preamble(repeats, "itw-radar bench --sections tiny"),
        "",
        f"Whole night **{whole:.1f} s** for {sum(res['counts'].values()):,} rows: this is what "
        "Airflow (`dag.test()` in a fresh process, DAG parsing), cosmos (copying the dbt "
        "project, rendering, watcher tasks) and dbt (start-up, parsing, one statement per "
        "node) cost whatever the data size. " + _peak_line(res),
        "",
        *_night_table(res),
    ])
    write_section(doc, "tiny", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


def run_dashboard_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 5: each dashboard page's queries on the large night's serving DB, uncached."""
    saved = _saved(work).get("large")
    if saved is None or not saved.get("home") or not Path(saved["home"]).is_dir():
        run_large_benchmark(work, doc, repeats=1, quick=quick)
        saved = _saved(work)["large"]
    n = max(5, repeats * (3 if quick else 10))
    r = run_step("dashboard", {"home": saved["home"], "repeats": n})
    _save(work, "dashboard", r)
    lines = ["| page: query | median s | p95 s |", "|---|---:|---:|"]
    worst = 0.0
    for key, vals in r["times"].items():
        worst = max(worst, _p95(vals))
        lines.append(f"| {key} | {_med(vals):.3f} | {_p95(vals):.3f} |")
    for key, err in r["errors"].items():
        lines.append(f"| {key} | error: {err} | |")
    body = "\n".join([
        f"## 5. Dashboard queries on the serving database of the {saved['label']}",
        "",
        _preamble(1, "itw-radar bench --sections dashboard"),
        "",
        f"Each query function of `dashboard/data.py`, {n} times, with Streamlit's cache "
        "bypassed (each call opens a new connection and ATTACHes the serving file, as the "
        "dashboard does). An empty live-reviews frame.",
        "",
        f"**Worst p95 {worst:.3f} s** (target ≤ 1 s: {'met' if worst <= 1 else 'MISSED'}).",
        "",
        *lines,
    ])
    write_section(doc, "dashboard", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


# ---------------------------------------------------------------------------- plot (PIL)

def _bars(draw: object, box: tuple[int, int, int, int], title: str,
          items: list[tuple[str, float]], unit: str, target: float | None = None) -> None:
    """Horizontal bars in `box` (x0, y0, x1, y1), labelled, with an optional target line."""
    from PIL import ImageDraw

    d: ImageDraw.ImageDraw = draw  # type: ignore[assignment]
    x0, y0, x1, y1 = box
    d.text((x0, y0), title, fill="black")
    if not items:
        d.text((x0, y0 + 20), "not measured", fill="gray")
        return
    label_w, top = 230, y0 + 22
    row = max(12, min(22, (y1 - top) // max(1, len(items))))
    vmax = max([v for _, v in items] + ([target] if target else [])) or 1.0
    scale = (x1 - x0 - label_w - 70) / vmax
    for i, (label, v) in enumerate(items):
        y = top + i * row
        d.text((x0, y + 1), label[:36], fill="black")
        d.rectangle((x0 + label_w, y + 2, x0 + label_w + max(1, int(v * scale)), y + row - 3),
                    fill="#4878a8")
        d.text((x0 + label_w + int(v * scale) + 4, y + 1), f"{v:.3g} {unit}", fill="black")
    if target:
        tx = x0 + label_w + int(target * scale)
        d.line((tx, top - 4, tx, top + len(items) * row), fill="#c03030", width=2)
        d.text((tx + 3, top - 14), f"target {target:g} {unit}", fill="#c03030")


def write_plot(work: Path, png: Path) -> Path:
    """docs/benchmarks.png from the saved results: large-night stages (and the steady night),
    history, dashboard, ratios.
    A section of repeated runs is drawn from its median run."""
    from PIL import Image, ImageDraw

    saved = _saved(work)
    img = Image.new("RGB", (900, 1000), "white")
    d = ImageDraw.Draw(img)
    large = saved.get("large")
    steady = saved.get("steady")
    items: list[tuple[str, float]] = []
    if large:
        run = _median_run(large["runs"])
        full = saved.get("large_full")
        if full:
            items.append(("first export (full), whole night",
                          _median_run(full["runs"])["seconds"]))
        items.append(("regular night (delta), whole night", run["seconds"]))
        if steady:
            items.append(("steady state (1c), whole night",
                          _median_run(steady["runs"])["seconds"]))
        items += [(_STAGE_TASKS[t], run["tasks"][t]) for t in _STAGE_TASKS if t in run["tasks"]]
        items += [(k.split(".", 1)[1], v) for k, v in run["tasks"].items()
                  if k.startswith("dbt_build.") and "producer" in k]
        items += sorted(((f"  dbt {k}", v) for k, v in run["dbt"].items()),
                        key=lambda kv: -kv[1])[:6]
    _bars(d, (10, 10, 890, 400), f"1. {large['label'] if large else 'large night'}: seconds",
          items, "s", 180)
    hist = saved.get("history")
    h_items = ([(f"night {k} incremental", v["seconds"]) for k, v in hist["timed"].items()]
               + [("full refresh", hist["full"]["seconds"])]) if hist else []
    _bars(d, (10, 420, 890, 600), "3. history growth: seconds per night (whole night through "
          "the DAG; full refresh: dbt)", h_items, "s")
    dash = saved.get("dashboard")
    d_items: list[tuple[str, float]] = []
    if dash:
        per_page: dict[str, float] = {}
        for key, vals in dash["times"].items():
            page = key.split(":")[0]
            per_page[page] = max(per_page.get(page, 0.0), _p95(vals))
        d_items = [(f"{p} (slowest query p95)", v) for p, v in per_page.items()]
    _bars(d, (10, 620, 890, 800), "5. dashboard: p95 seconds of each page's slowest query",
          d_items, "s", 1.0)
    floor = saved.get("floor")
    f_items = ([(f"pipeline / floor, {k}", v) for k, v in floor.get("ratios", {}).items()]
               + [(f"pipeline / (floor + stack), {k}", v)
                  for k, v in floor.get("stack_ratios", {}).items()] if floor else [])
    if steady and steady.get("floors"):
        f_items.append(("pipeline / (floor + stack), steady", _steady_ratio_value(steady)))
        window = _steady_ratio_value(steady, window=True)
        if window is not None:
            f_items.append(("pipeline / (floor+win+stack), steady", window))
    tiny = saved.get("tiny")
    if tiny:
        f_items.append(("tiny night (fixed overhead) s", _median_run(tiny["runs"])["seconds"]))
    if floor and "stack_s" in floor:
        f_items.append(("stack floor (no data) s", floor["stack_s"]))
    _bars(d, (10, 820, 890, 990), "2. floor ratio and 4. fixed overhead", f_items, "", 10)
    png.parent.mkdir(parents=True, exist_ok=True)
    img.save(png)
    return png


SECTIONS: dict[str, Callable[..., str]] = {
    "large": run_large_benchmark, "floor": run_floor_benchmark,
    "history": run_history_benchmark, "steady": run_steady_benchmark,
    "tiny": run_tiny_benchmark,
    "dashboard": run_dashboard_benchmark,
}


if __name__ == "__main__":
    _child_main(sys.argv[1:])
