"""Shared machinery of the benchmark harness: child steps, doc sections, saved results, stats.

Each measured step runs in its own child process (`run_step`, which runs `benchmarks.child`) so
that its wall time and peak resident memory (ru_maxrss of the child and its children) are its
own. Figures are medians of `repeats` runs; ratios are computed from runs of the same harness
call.
"""

from __future__ import annotations

import json
import math
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
ROOT = Path(__file__).resolve().parents[1]  # the repository: benchmarks/ and dashboard/ are in it


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


# Every child step by name (`run_step` runs one). Each section module adds its own steps with
# `STEPS.update(...)` when it is imported; `benchmarks.child` imports them all.
STEPS: dict[str, Callable[[dict], dict]] = {}
# The child's command: the repository on its own import path only (a PYTHONPATH would reach the
# dbt and Airflow processes it starts), whatever the working directory.
_CHILD = ("import sys; sys.path.insert(0, {root!r}); from benchmarks.child import main; "
          "main(sys.argv[1:])")


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
        [sys.executable, "-c", _CHILD.format(root=str(ROOT)), name, json.dumps(args)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    # (a DuckDB progress bar may end without a newline: the result can follow it on its line)
    for line in reversed(proc.stdout.splitlines()):
        if (at := line.find("BENCH-RESULT ")) >= 0:
            return json.loads(line[at + len("BENCH-RESULT "):])
    raise RuntimeError(f"benchmark step {name} failed (exit {proc.returncode}):\n"
                       f"{proc.stderr[-3000:]}")


@dataclass
class NightSize:
    label: str
    freelancers: int
    clients: int


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


def nights(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


DEFAULT_MEMORY_LIMIT = "4GB"


def Home_resolve(root: str) -> object:  # noqa: N802 - tiny local alias
    from itw_radar.paths import Home

    return Home.resolve(root)


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


def _preamble(repeats: int, command: str) -> str:
    project = os.environ.get("ITW_RADAR_DBT_PROJECT")
    note = (f" **dbt project: {project}** (ITW_RADAR_DBT_PROJECT), not dbt_project/."
            if project else "")
    return note + (f"Machine: {machine()}; load average (1/5/15 min) {_load_average()} when the "
            f"section was written (other work shared the 2 cores). Median of {repeats} run(s), "
            f"measured {time.strftime('%Y-%m-%d %H:%M')} UTC with `{command}`.")


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


