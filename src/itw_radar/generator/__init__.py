"""Synthetic nightly platform exports with planted DPRK IT-worker operations.

See docs/generator.md. Public API: `generate()` and `GenerateSummary`.
"""

from itw_radar.generator.engine import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
