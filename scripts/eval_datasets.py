"""Detection figures of docs/detection.md: generate a dataset, load every night with the real
loader, build every model with dbt (--full-refresh on the last night, which replays the nights
one by one and equals the incremental path: tests/test_dbt_project.py), and print
`itw-radar eval`'s report.

    .venv/bin/python scripts/eval_datasets.py generator --seed 42 --work /tmp/eval
    .venv/bin/python scripts/eval_datasets.py generator --seed 7 --work /tmp/eval
    .venv/bin/python scripts/eval_datasets.py holdout --seed 7 --work /tmp/eval

Defaults: the generator's default run (2,000 freelancers, 800 clients, 30 nights from
2026-11-01) and the holdout's (1,500 accounts, 20 nights from 2026-11-02). `--reuse` keeps an
existing warehouse and only rebuilds with dbt (after a scoring change).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the holdout platform lives beside the tests


def main(argv: list[str] | None = None) -> int:
    from itw_radar.dbt_runner import run_dbt
    from itw_radar.evaluation import evaluate, format_report
    from itw_radar.ingestion import load_night
    from itw_radar.paths import Home

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", choices=["generator", "holdout"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--nights", type=int)
    ap.add_argument("--work", type=Path, default=Path("/tmp/itw-eval"))
    ap.add_argument("--reuse", action="store_true", help="keep the loaded warehouse; rebuild only")
    ap.add_argument("--contract-version", default=None, help="generator only: 1.0 or 1.1")
    args = ap.parse_args(argv)

    root = args.work / f"{args.dataset}-{args.seed}"
    exports, home = root / "exports", Home.resolve(root / "home")
    if args.dataset == "generator":
        start, nights = date(2026, 11, 1), args.nights or 30
    else:
        start, nights = date(2026, 11, 2), args.nights or 20
    labels = exports / "_truth" / "labels.csv"
    t0 = time.monotonic()
    if not (args.reuse and home.warehouse.is_file()):
        shutil.rmtree(root, ignore_errors=True)
        if args.dataset == "generator":
            from itw_radar.generator import generate
            kw = {"contract_version": args.contract_version} if args.contract_version else {}
            generate(exports, start, nights, seed=args.seed, **kw)
        else:
            from holdout.platform import write_platform
            write_platform(exports, start, nights, seed=args.seed, fmt="mixed")
        for i in range(nights):
            load_night(home, exports, start + timedelta(days=i))
    run_dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            warehouse=home.warehouse, as_of=start + timedelta(days=nights - 1),
            full_refresh=True, target_path=root / "target", log_path=root / "logs")
    report = evaluate(labels, home.warehouse)
    print(f"{args.dataset} seed {args.seed}, {nights} nights from {start} "
          f"({time.monotonic() - t0:.0f} s)\n")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
