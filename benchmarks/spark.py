"""Section 7 (spark): the large platform's regular night built by dbt on Apache Spark
(`local[1]`, `local[2]`) beside DuckDB, on one machine in one run (issue 29).

The same two nights (seed 7) are loaded once; the raw layer is written to the Parquet lake both
engines read. Each engine then builds night 1 (the first export, untimed history) and night 2
(a regular night, timed) with the night's `dbt build` (models and data tests, no unit tests),
each in a child process of its own. Stage times are dbt's own per node (run_results.json),
grouped by the project's folders; the peak memory adds Spark's JVM to its Python process.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.dag_night import _ensure_exports
from benchmarks.harness import (
    START,
    STEPS,
    _med,
    _memory_limit,
    _preamble,
    _save,
    run_step,
    write_section,
)
from benchmarks.large import LARGE_NIGHT, QUICK_NIGHT

# (label, Spark master; None: DuckDB)
# (local[2] before local[1]: the section is written after each engine, and the slowest last)
ENGINES = (("DuckDB", None), ("Spark local[2]", "local[2]"), ("Spark local[1]", "local[1]"))
# The stages of a night's build: the folder of each node's model (a data test counts as tests).
STAGES = (("staging", "models/staging/"), ("base", "models/intermediate/base/"),
          ("availability", "models/intermediate/availability/"),
          ("indicators", "models/intermediate/indicators/"),
          ("links, clusters", "models/intermediate/links/"),
          ("scoring", "models/intermediate/scoring/"), ("marts", "models/marts/"))
BUILD = "build --exclude resource_type:unit_test"
SPARK_DRIVER_MEMORY = os.environ.get("ITW_RADAR_SPARK_DRIVER_MEMORY", "8g")


def _step_prepare_lake(args: dict) -> dict:
    """Load the nights into a fresh home and write them to its lake; rows per night."""
    from itw_radar.ingestion import load_night
    from itw_radar.lake import write_warehouse_nights
    from itw_radar.paths import Home

    home = Home.resolve(args["home"]).ensure()
    rows = {}
    for night in args["nights"]:
        res = load_night(home, Path(args["exports"]), date.fromisoformat(night))
        rows[night] = res.rows_loaded
    write_warehouse_nights(home.warehouse, home.lake)
    return {"rows": rows}


def _jvm_peak_mb() -> float:
    """The peak resident memory of this process's living children (Spark's JVM), from
    /proc (a child not yet waited for is not in RUSAGE_CHILDREN)."""
    peak = 0.0
    me = str(os.getpid())
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me:
            peak += float(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    return peak


def _step_engine_night(args: dict) -> dict:
    """One night's dbt build on one engine; dbt's seconds per stage and the JVM's peak."""
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.paths import Home

    home = Home.resolve(args["home"])
    target = Path(args["target"])
    master = args.get("master")
    env = {**home.spark_env(), "ITW_RADAR_LAKE": args["lake"],
           "ITW_RADAR_SPARK_MASTER": master} if master else None
    kind = "spark" if master else None
    t0 = time.perf_counter()
    run_dbt(BUILD, warehouse=home.warehouse, as_of=date.fromisoformat(args["night"]),
            target_path=target, log_path=target / "logs", target=kind, env=env)
    seconds = time.perf_counter() - t0
    results = json.loads((target / "run_results.json").read_text())["results"]
    paths = {uid: n.get("original_file_path", "") for uid, n in
             json.loads((target / "manifest.json").read_text())["nodes"].items()}
    stages: dict[str, float] = {}
    for r in results:
        uid = r["unique_id"]
        stage = "tests" if uid.startswith("test.") else next(
            (name for name, prefix in STAGES if paths.get(uid, "").startswith(prefix)), "other")
        stages[stage] = stages.get(stage, 0.0) + float(r.get("execution_time") or 0.0)
    return {"dbt_s": seconds, "stages": stages, "jvm_peak_mb": _jvm_peak_mb() if master else 0.0}


STEPS.update({"spark_prepare": _step_prepare_lake, "engine_night": _step_engine_night})


def _copy_home(base: Path, dest: Path) -> None:
    """A fresh copy of the loaded home (warehouse and lake; no dbt or Spark state)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(base, dest, ignore=shutil.ignore_patterns("lake", "spark", "dbt-target"))


def run_spark_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 7: the regular night's dbt build on DuckDB and on Spark local[1] / local[2]."""
    size = QUICK_NIGHT if quick else LARGE_NIGHT
    tag = "quick-spark" if quick else "spark"
    exports = work / f"{tag}-exports"
    n1, n2 = START, START + timedelta(days=1)
    _ensure_exports(exports, 2, size)
    # DuckDB's memory limit as in every section; Spark's driver (which holds local[N]'s
    # executors) gets SPARK_DRIVER_MEMORY of this machine's memory
    env = {"ITW_RADAR_DUCKDB_MEMORY_LIMIT": _memory_limit(),
           "ITW_RADAR_SPARK_DRIVER_MEMORY": SPARK_DRIVER_MEMORY}
    base = work / f"{tag}-base-home"
    shutil.rmtree(base, ignore_errors=True)
    rows = run_step("spark_prepare", {"home": str(base), "exports": str(exports),
                                      "nights": [n1.isoformat(), n2.isoformat()]}, env)["rows"]
    lake = str(base / "lake")
    engines: dict[str, dict] = {}
    for label, master in ENGINES:
        # Spark's metastore holds its tables' absolute paths: every run of night 2 runs in the
        # same folder, restored from a snapshot of the state night 1 left
        home, snapshot = work / f"{tag}-home", work / f"{tag}-after-night-1"
        _copy_home(base, home)
        args = {"home": str(home), "target": str(home / "dbt-target"), "lake": lake,
                "master": master}
        history = run_step("engine_night", {**args, "night": n1.isoformat()}, env)
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(home, snapshot)
        runs = []
        for i in range(repeats):
            if i:
                shutil.rmtree(home)
                shutil.copytree(snapshot, home)
            r = run_step("engine_night", {**args, "night": n2.isoformat()}, env)
            r["peak_mb"] = r["peak_mb"] + r["jvm_peak_mb"]
            runs.append(r)
        engines[label] = {"night1_s": history["dbt_s"], "runs": runs}
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(snapshot, ignore_errors=True)
        # written after each engine: a run cut short keeps the engines it measured
        res = {"size": size.label, "rows": rows, "engines": engines, "cores": os.cpu_count()}
        _save(work, "spark", res)
        body = spark_section(res, repeats)
        write_section(doc, "spark", body)
    shutil.rmtree(base, ignore_errors=True)
    return body


def spark_section(res: dict, repeats: int) -> str:
    """Section 7's text from its saved results."""
    rows2 = list(res["rows"].values())[-1]
    duck = _med([r["dbt_s"] for r in res["engines"]["DuckDB"]["runs"]])
    head = ["engine", "night 1 s (first export)", "night 2 s", "× DuckDB", "night 2 rows/s",
            "peak GB", *[name for name, _ in STAGES], "data tests"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    names = [n for n, _ in STAGES] + ["tests"]
    through = ["| engine | " + " | ".join(names) + " |", "|---" + "|---:" * len(names) + "|"]
    for label, e in res["engines"].items():
        med = _med([r["dbt_s"] for r in e["runs"]])
        stages = {k: _med([r["stages"].get(k, 0.0) for r in e["runs"]]) for k in names}
        peak = max(r["peak_mb"] for r in e["runs"]) / 1024
        lines.append(
            f"| {label} | {e['night1_s']:.0f} | {med:.0f} | {med / duck:.1f} | "
            f"{rows2 / med:,.0f} | {peak:.1f} | "
            + " | ".join(f"{stages[k]:.0f}" for k, _ in STAGES) + f" | {stages['tests']:.0f} |")
        through.append(f"| {label} | " + " | ".join(
            f"{rows2 / stages[k] / 1000:,.0f}k" if stages[k] > 0 else "-" for k in names) + " |")
    return "\n".join([
        f"## 7. The same dbt project on Apache Spark: {res['size']}",
        "",
        _preamble(repeats, "python -m benchmarks --sections spark"),
        "",
        f"Night 2 is a regular night of {rows2:,} rows. Each engine builds night 1 (untimed "
        "history), then night 2 with the night's `dbt build` (models and data tests, no unit "
        "tests) in a process of its own; dbt's seconds per node are summed by the project's "
        "folders. Both engines read the same loaded rows (Spark from the Parquet lake). Peak: "
        f"the dbt process, plus Spark's JVM (driver memory {SPARK_DRIVER_MEMORY}).",
        "",
        *lines,
        "",
        "Per-stage throughput: night 2's input rows per second of each stage (thousands).",
        "",
        *through,
    ])
