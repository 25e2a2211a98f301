"""A growable set of equally long numpy columns (identity documents, payment methods, contracts)."""

from __future__ import annotations

import numpy as np


class Store:
    def __init__(self, **columns: np.ndarray) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        self.n = lengths.pop()
        self._cols = {k: np.asarray(v) for k, v in columns.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._cols[name][: self.n] = value

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Append rows; returns their indices."""
        k = len(next(iter(columns.values())))
        if set(columns) != set(self._cols):
            raise ValueError(f"append needs exactly {sorted(self._cols)}")
        need = self.n + k
        for name, arr in self._cols.items():
            if len(arr) < need:
                grown = np.empty(max(need, len(arr) * 3 // 2 + 16), dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self._cols[name] = arr = grown
            arr[self.n : need] = columns[name]
        idx = np.arange(self.n, need)
        self.n = need
        return idx
