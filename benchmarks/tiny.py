"""Section 4 (tiny): fixed overhead, the DAG on a 100-account night."""

from __future__ import annotations

from pathlib import Path

from benchmarks.dag_night import (
    _dag_night,
    _night_table,
    _peak_line,
)
from benchmarks.harness import (
    NightSize,
    _med,
    _preamble,
    _save,
    write_section,
)
from benchmarks.plot import write_plot

TINY_NIGHT = NightSize("tiny night (100 accounts)", 70, 30)


def run_tiny_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 4: fixed overhead, the DAG on a 100-account night."""
    res = _dag_night(work, "tiny", TINY_NIGHT, repeats)
    _save(work, "tiny", res)
    whole = _med([r["seconds"] for r in res["runs"]])
    body = "\n".join([
        f"## 4. Fixed overhead: {TINY_NIGHT.label} through the DAG",
        "",
        _preamble(repeats, "python -m benchmarks --sections tiny"),
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


