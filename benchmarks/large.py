"""Section 1 (large): the large platform through the real DAG, a regular night and its first
export."""

from __future__ import annotations

from pathlib import Path

from benchmarks.dag_night import (
    _dag_night,
    _large_block,
)
from benchmarks.harness import (
    NightSize,
    _preamble,
    _save,
    write_section,
)
from benchmarks.plot import write_plot

# 1,000,000 accounts: a regular (delta) night of this platform has ~3.1M logins; its first
# (full) export ~2.3M logins and every entity row.
LARGE_NIGHT = NightSize("1,000,000 accounts (850,000 freelancers, 150,000 clients)", 850_000,
                        150_000)
QUICK_NIGHT = NightSize("quick night (3,000 accounts)", 2_550, 450)


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
        _preamble(repeats, "python -m benchmarks --sections large"),
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


