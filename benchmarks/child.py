"""A child process of the harness: runs one step by name and prints what it measured.

`harness.run_step` starts it; by hand: `.venv/bin/python -m benchmarks.child NAME 'JSON-ARGS'`.
"""

from __future__ import annotations

import sys

import benchmarks.sections  # noqa: F401 - imports every section module: their steps register
from benchmarks.harness import _child_main


def main(argv: list[str]) -> None:
    _child_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
