"""Benchmark harness: `itw-radar bench` measures and writes `docs/benchmarks.md`.

Each measured step runs in its own child process (`python -m itw_radar.bench step ...`) so that
its wall time and peak resident memory (ru_maxrss of the child and its children) are its own.
Figures are medians of `repeats` runs; ratios are computed from runs of the same harness call.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
BIG_NIGHT = NightSize("large night (1,000,000 accounts, ~3,000,000 logins)", 700_000, 300_000)
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


if __name__ == "__main__":
    _child_main(sys.argv[1:])
