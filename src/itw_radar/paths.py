"""Where ITW Radar keeps its state under `<home>` (`--home`, `ITW_RADAR_HOME`, default `./var`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "ITW_RADAR_HOME"
DEFAULT_HOME = "./var"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Home:
        """The home from the argument, else `ITW_RADAR_HOME`, else `./var`; always absolute."""
        raw = home if home is not None else os.environ.get(HOME_ENV, DEFAULT_HOME)
        return cls(Path(raw).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "radar.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.root / "serving"

    @property
    def serving(self) -> Path:
        return self.serving_dir / "radar.duckdb"

    @property
    def reviews(self) -> Path:
        return self.root / "reviews" / "reviews.duckdb"

    @property
    def gx(self) -> Path:
        return self.root / "gx"

    @property
    def data_docs(self) -> Path:
        return self.gx / "data_docs"

    @property
    def airflow(self) -> Path:
        return self.root / "airflow"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> Home:
        """Create the folders, readable by their owner only (personal data lives here)."""
        for d in (self.root, self.warehouse.parent, self.serving_dir, self.reviews.parent,
                  self.gx, self.logs):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        return self
