"""The benchmark harness: speed and memory of the pipeline, written into docs/benchmarks.md.

Not part of the installed package (`itw_radar`); run it from the repository's root:
`.venv/bin/python -m benchmarks --sections ...` (`--help` for the options).

Modules:
  __main__    the command: runs the sections named by --sections
  sections    the registry of sections by name (a new section is added there)
  harness     shared machinery: child steps (`run_step`), doc sections, saved results, stats
  child       the child process that runs one step
  dag_night   one night through the real DAG, timed, and its tables (sections 1, 1c, 3, 4)
  ingest      generation, load and validation speed
  large       1:  the large platform through the DAG (a regular night, the first export)
  steady      1c: the large platform's night at steady state, its window floor
  floor       2:  DuckDB alone on the same nights, the stack floor, the ratios
  history     3:  nightly cost as history grows, and a full refresh
  tiny        4:  fixed overhead of a 100-account night
  dashboard   5:  the dashboard's queries on the large night's serving database
  dashboard_seed  5: its own home, the analyst stores (cases, reviews, watchlists) seeded
  plot        docs/benchmarks.png from the saved results

How the figures were reached (and earlier runs): docs/benchmark-findings.md.
"""
