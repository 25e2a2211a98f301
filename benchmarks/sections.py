"""The harness's sections by name: what `python -m benchmarks --sections` runs.

A section is a function `(work, doc, *, repeats, quick) -> str`: it measures (each step in a
child process, `harness.run_step`), saves its results under its key in
`<work>/bench-results.json`, writes its Markdown between `<!-- bench:NAME -->` markers in `doc`
(`harness.write_section`), redraws the plot when it has a panel there, and returns the Markdown.
To add one: a module of its own beside these (its steps added to `harness.STEPS`, its sizes at
its top), one line below, a marker pair in docs/benchmarks.md (the harness appends one if it is
missing) and a quick run in tests/test_bench.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.catchup import run_catchup_benchmark
from benchmarks.dashboard import run_dashboard_benchmark
from benchmarks.floor import run_floor_benchmark
from benchmarks.history import run_history_benchmark
from benchmarks.ingest import run_ingest_benchmark
from benchmarks.large import run_large_benchmark
from benchmarks.spark import run_spark_benchmark
from benchmarks.steady import run_steady_benchmark
from benchmarks.tiny import run_tiny_benchmark


def run_ingest_section(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """The ingest section as a section: the large night unless `quick`."""
    return run_ingest_benchmark(work, doc, big=not quick, repeats=repeats)


SECTIONS: dict[str, Callable[..., str]] = {
    "ingest": run_ingest_section,
    "large": run_large_benchmark, "floor": run_floor_benchmark,
    "history": run_history_benchmark, "steady": run_steady_benchmark,
    "tiny": run_tiny_benchmark,
    "dashboard": run_dashboard_benchmark,
    "catchup": run_catchup_benchmark,
    "spark": run_spark_benchmark,
}
