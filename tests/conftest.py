"""Shared test set-up: the tests folder is importable (export_factory) and GX stays quiet."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
logging.getLogger("great_expectations").setLevel(logging.WARNING)

# Hypothesis (tests/test_properties.py): a fixed example budget per test and a derandomized run,
# so CI is reproducible and bounded; nothing is written into the repository (database=None).
# `HYPOTHESIS_PROFILE=long` runs ten times the examples with fresh random seeds.
import os  # noqa: E402

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

# Hypothesis' own files (failure patches, ...) go to /tmp, never into the repository.
set_hypothesis_home_dir(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY",
                                       "/tmp/itw-radar-hypothesis"))

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.large_base_example]
# No shrinking in CI: one example of these tests costs seconds, shrinking a failure minutes;
# the failing night is printed (note()) and `long` shrinks.
settings.register_profile("ci", deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SLOW_OK, print_blob=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.register_profile("long", deadline=None, derandomize=False, database=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
