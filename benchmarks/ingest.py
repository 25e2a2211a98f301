"""Section ingest: generation, load and validation speed (rows per second) of one night."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.harness import (
    START,
    STEPS,
    Measurement,
    NightSize,
    machine,
    run_step,
    write_section,
)


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


STEPS.update({"generate": _step_generate, "load": _step_load, "validate": _step_validate})


DEFAULT_NIGHT = NightSize("default night (2,000 freelancers, 800 clients)", 2000, 800)
# The generator gives ~2.3 logins per account on a one-night run: 1.28M accounts ~ 3M logins.
BIG_NIGHT = NightSize("large night (1,280,000 accounts, ~3,000,000 logins)", 1_090_000, 190_000)


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


def run_ingest_benchmark(work: Path, doc: Path, *, big: bool, repeats: int) -> str:
    sizes = [DEFAULT_NIGHT] + ([BIG_NIGHT] if big else [])
    lines = [INGEST_HEADER]
    for size in sizes:
        lines += bench_ingest(work, size, repeats if size is not BIG_NIGHT else max(1, repeats))
    body = (f"## Generation and loading speed\n\nMachine: {machine()}. Median of {repeats} "
            f"run(s) each, measured {time.strftime('%Y-%m-%d')} with `python -m benchmarks "
            f"--sections ingest`. Each step runs in its own process; peak MB is its maximum "
            f"resident set size.\n\n" + "\n".join(lines))
    write_section(doc, "ingest", body)
    return body


