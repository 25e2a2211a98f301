"""Shared test set-up: the tests folder is importable (export_factory) and GX stays quiet."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
logging.getLogger("great_expectations").setLevel(logging.WARNING)
