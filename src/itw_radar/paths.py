"""Where ITW Radar keeps its state under `<home>` (`--home`, `ITW_RADAR_HOME`, default `./var`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "ITW_RADAR_HOME"
DEFAULT_HOME = "./var"
# Files created by a process that uses a home are readable by their owner only.
PRIVATE_UMASK = 0o077
# Crash-test hook (tests/test_reliability.py): see pause_point().
PAUSE_ENV = "ITW_RADAR_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "ITW_RADAR_TEST_PAUSE_FILE"


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

    @property
    def lake(self) -> Path:
        """The raw layer as Hive-partitioned Parquet, which Spark reads (itw_radar.lake)."""
        return self.root / "lake"

    @property
    def spark(self) -> Path:
        """Spark's local metastore and table folders (`dbt --target spark`)."""
        return self.root / "spark"

    def spark_env(self) -> dict[str, str]:
        """The environment the dbt profile's `spark` target reads (dbt_project/profiles.yml)."""
        return {"ITW_RADAR_LAKE": str(self.lake), "ITW_RADAR_SPARK_HOME": str(self.spark)}

    def ensure(self) -> Home:
        """Create the folders, readable by their owner only (personal data lives here).

        Also sets the process umask to 0o077, so every file this process and its children
        (Airflow, dbt) create afterwards is owner-only too.
        """
        os.umask(PRIVATE_UMASK)
        for d in (self.root, self.warehouse.parent, self.serving_dir, self.reviews.parent,
                  self.gx, self.logs, self.airflow):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        return self


def pause_point(stage: str) -> None:
    """Test hook for the crash tests: stop here so the test can SIGKILL the night mid-step.

    Does nothing unless the environment variable ITW_RADAR_TEST_PAUSE_AT equals `stage`
    (`load`: inside the load transaction, after the first file's rows are written; `publish`:
    the new serving file is complete, just before os.replace). Then it writes its pid into
    the file named by ITW_RADAR_TEST_PAUSE_FILE and sleeps for up to 10 minutes.
    """
    if os.environ.get(PAUSE_ENV) != stage:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(f"{os.getpid()} {stage}\n")
    time.sleep(600)
