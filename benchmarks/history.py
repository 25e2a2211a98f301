"""Section 3 (history): nightly cost as history grows, each timed night through the DAG, and a
full refresh whose marts must equal the nightly ones."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.dag_night import (
    _ensure_exports,
    _timed_dag_night,
)
from benchmarks.harness import (
    START,
    STEPS,
    Home_resolve,
    NightSize,
    _memory_limit,
    _preamble,
    _results_file,
    _save,
    nights,
    run_step,
    write_section,
)
from benchmarks.plot import write_plot

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


STEPS.update({"history_load": _step_history_load, "dbt_build": _step_dbt_build,
              "dbt_rebuild": _step_dbt_rebuild, "marts": _step_marts,
              "marts_diff": _step_marts_diff})


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
        _preamble(1, "python -m benchmarks --sections history"),
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


