"""Masking personal data and neutralising spreadsheet formulas, for every place that shows or
exports account data (the dashboard, case evidence bundles)."""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def mask_name(value: object) -> str:
    """`Jin Park` -> `J** P***`; commas between names are kept."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    parts = []
    for name in str(value).split(","):
        words = [w[:1] + "*" * max(len(w) - 1, 2) for w in name.split()]
        parts.append(" ".join(words))
    return ", ".join(p for p in parts if p)


def csv_safe(value: object) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or tab/CR) gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
