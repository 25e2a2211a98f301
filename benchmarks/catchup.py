"""Section 6 (catchup): a platform's backlog caught up by `itw-radar run` in one command.

Two measurements on a 10,000-account platform (the generator's, seed 7):
- a year: 365 nights into a fresh home, batched as `itw-radar run` batches them;
- 40 nights caught up in one command, then the 41st night alone through the DAG (an ordinary
  night of the same platform, `repeats` times on copies of the caught-up home): the ratio says
  what a catch-up costs in ordinary nights (night by night costs about 40).
Where the time goes comes from Airflow's metadata DB: each task's time summed over the runs.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from benchmarks.dag_night import _ensure_exports
from benchmarks.harness import (
    START,
    NightSize,
    _med,
    _memory_limit,
    _preamble,
    _save,
    nights,
    run_step,
    write_section,
)

PLATFORM = NightSize("10,000 accounts", 7_000, 3_000)
YEAR_NIGHTS, QUICK_YEAR_NIGHTS = 365, 8
COMPARE_NIGHTS, QUICK_COMPARE_NIGHTS = 40, 4
_MAIN_TASKS = ("wait_for_manifest", "verify_manifest", "load_raw", "validate", "sync_reviews",
               "dbt_build.dbt_producer_watcher", "publish", "summarise")


def stage_seconds(home: Path) -> dict[str, float]:
    """Seconds per task summed over every DAG run of a home (watchers together)."""
    con = sqlite3.connect(home / "airflow" / "airflow.db")
    try:
        rows = con.execute(
            "SELECT task_id, sum((julianday(end_date) - julianday(start_date)) * 86400), "
            "count(DISTINCT run_id) FROM task_instance WHERE dag_id = 'itw_radar_nightly' "
            "AND end_date IS NOT NULL GROUP BY task_id").fetchall()
    finally:
        con.close()
    out: dict[str, float] = {"dbt watcher tasks": 0.0}
    runs = 0
    for task, seconds, n in rows:
        runs = max(runs, int(n))
        if task in _MAIN_TASKS:
            out[task] = round(float(seconds), 1)
        elif task.startswith("dbt_build."):
            out["dbt watcher tasks"] += float(seconds)
    out["dbt watcher tasks"] = round(out["dbt watcher tasks"], 1)
    out["dag runs"] = runs
    return out


def _catch_up(exports: Path, home: Path, first: str, last: str, env: dict[str, str]) -> dict:
    """Nights first..last into a fresh home in one `run_nights`, batched as `itw-radar run`
    batches them."""
    from itw_radar.orchestration import catchup_batch_size

    shutil.rmtree(home, ignore_errors=True)
    run_step("prepare", {"home": str(home)}, env)
    span = nights(date.fromisoformat(first),
                  (date.fromisoformat(last) - date.fromisoformat(first)).days + 1)
    size = catchup_batch_size(exports, span)
    r = run_step("dag_nights", {"home": str(home), "exports": str(exports), "from": first,
                                "to": last, "batch_nights": size}, env)
    return {"seconds": r["seconds"], "peak_mb": r["tree_peak_mb"], "batch_nights": size,
            "nights": len(span), "stages": stage_seconds(home)}


def run_catchup_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 6: a year caught up; 40 nights in one command against one ordinary night."""
    year = QUICK_YEAR_NIGHTS if quick else YEAR_NIGHTS
    compare = QUICK_COMPARE_NIGHTS if quick else COMPARE_NIGHTS
    tag = "quick-catchup" if quick else "catchup"
    env = {"ITW_RADAR_DUCKDB_MEMORY_LIMIT": _memory_limit()}
    exports = work / f"{tag}-exports"
    _ensure_exports(exports, year, PLATFORM)
    last_year = (START + timedelta(days=year - 1)).isoformat()
    res_year = _catch_up(exports, work / f"{tag}-year-home", START.isoformat(), last_year, env)

    # 40 nights in one command, then the 41st alone (each repeat on a copy of that home)
    base = work / f"{tag}-compare-home"
    last_compare = START + timedelta(days=compare - 1)
    res_compare = _catch_up(exports, base, START.isoformat(), last_compare.isoformat(), env)
    night = (last_compare + timedelta(days=1)).isoformat()
    ordinary: list[float] = []
    for _ in range(repeats):
        home = work / f"{tag}-ordinary-home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base, home)
        r = run_step("dag_nights", {"home": str(home), "exports": str(exports), "from": night,
                                    "to": night}, env)
        ordinary.append(r["seconds"])
    one = _med(ordinary)
    res = {"year": res_year, "compare": res_compare, "ordinary_s": ordinary,
           "ratio": res_compare["seconds"] / one, "quick": quick}
    _save(work, tag, res)
    body = _section(res, repeats, year, compare, one)
    write_section(doc, "catchup", body)
    return body


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _section(res: dict, repeats: int, year: int, compare: int, one: float) -> str:
    y, c = res["year"], res["compare"]
    stages = y["stages"]
    total = sum(v for k, v in stages.items() if k != "dag runs")
    rows = [f"| {k} | {v:.0f} | {100 * v / y['seconds']:.0f}% |"
            for k, v in sorted(stages.items(), key=lambda kv: -kv[1]) if k != "dag runs"]
    return "\n".join([
        f"## 6. Catch-up: a backlog of a {PLATFORM.label} platform in one command",
        "",
        _preamble(repeats, "python -m benchmarks --sections catchup"),
        "",
        f"- **{year} nights** caught up by one `itw-radar run` (batches of {y['batch_nights']} "
        f"nights a DAG run, {stages.get('dag runs', 0)} runs): **{y['seconds'] / 60:.1f} min** "
        f"({y['seconds'] / year:.1f} s a night), peak {y['peak_mb'] / 1024:.2f} GB summed over "
        f"the process tree. Target at most 15 min: **{_verdict(y['seconds'] <= 15 * 60)}**"
        + (" (quick sizes: no verdict)" if res.get("quick") else "") + ".",
        f"- **{compare} nights** in one command: **{c['seconds']:.0f} s**; one ordinary night "
        f"of the same platform (night {compare + 1} alone, median of {repeats}): "
        f"**{one:.1f} s**; ratio **{res['ratio']:.1f}**, target at most 8: "
        f"**{_verdict(res['ratio'] <= 8)}** (night by night costs about {compare}).",
        "",
        f"Where the year's {y['seconds']:.0f} s go (task time summed over the runs; "
        f"{y['seconds'] - total:.0f} s outside the tasks: Airflow's start-up, DAG parsing and "
        "scheduling between tasks):",
        "",
        "| task | seconds | share |",
        "|---|---:|---:|",
        *rows,
    ])
