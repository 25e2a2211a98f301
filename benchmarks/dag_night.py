"""One night through the real DAG, timed: the runs sections large, steady, tiny and history
share, their timing sources (Airflow's metadata DB, dbt's run results) and their tables."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from benchmarks.harness import (
    START,
    STEPS,
    NightSize,
    _load_average,
    _med,
    _memory_limit,
    _night_counts,
    ensure_free_disk,
    run_step,
    tree_bytes,
)

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
                             echo=lambda line: print(line, file=sys.stderr),
                             batch_nights=int(args.get("batch_nights", 1)))
    failed = [r.error for r in results if not r.ok]
    if failed or not results:
        raise RuntimeError(f"the DAG run failed: {failed[:1] or 'no night ran'}")
    return {"tree_peak_mb": sampler.peak_mb,
            "nights": {r.export_date.isoformat(): r.seconds for r in results}}


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


STEPS.update({"prepare": _step_prepare, "dag_nights": _step_dag_nights,
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
            # the warehouse path, so one made in `base` does not serve the copy
            # (docs/benchmark-findings.md, finding 16)
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


TABLE_DBT_NODES = 10  # the slowest dbt nodes in a night's table; the others fold below it


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
    nodes = sorted(dbt.items(), key=lambda kv: -_med(kv[1]))
    for name, vals in nodes[:TABLE_DBT_NODES]:
        v = _med(vals)
        lines.append(f"| &nbsp;&nbsp;dbt {name} | {v:.2f} | {v / whole:.1%} |")
    accounted = sum(_med(tasks[t]) for t in _STAGE_TASKS if t in tasks) + (
        dbt_wall if producer else 0.0)
    lines.append(f"| other (Airflow start-up, DAG parsing, scheduling, watcher tasks) | "
                 f"{whole - accounted:.1f} | {(whole - accounted) / whole:.0%} |")
    if rest := nodes[TABLE_DBT_NODES:]:  # folded, so that a section stays about a screen
        lines += ["", f"<details><summary>The other {len(rest)} dbt nodes (dbt's own seconds, "
                  "median)</summary>", "", "| dbt node | seconds (median) | share of night |",
                  "|---|---:|---:|"]
        lines += [f"| dbt {name} | {_med(vals):.2f} | {_med(vals) / whole:.1%} |"
                  for name, vals in rest]
        lines += ["", "</details>"]
    return lines


def _peak_line(res: dict) -> str:
    runs = res["runs"]
    tree = max(r["tree_peak_mb"] for r in runs)
    single = max(r["peak_mb"] for r in runs)
    return (f"Peak memory: **{tree / 1024:.2f} GB** summed over the whole process tree "
            f"(sampled every 0.2 s), largest single process {single / 1024:.2f} GB "
            f"(ru_maxrss); DuckDB memory_limit {res['memory_limit']} "
            f"(`ITW_RADAR_DUCKDB_MEMORY_LIMIT`).")


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


