"""`airflow standalone` (scheduler, DAG processor, API server) loads the nightly DAG, as a data
engineer starts it with `scripts/airflow_standalone.sh` after `./dev setup`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from itw_radar.orchestration import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="the script checks the UI with curl")
def test_airflow_standalone_loads_the_dag(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ITW_RADAR"))}
    env.update({"ITW_RADAR_HOME": str(tmp_path / "home"), "DEMO_DAYS": "1",
                "DEMO_START": "1999-12-31", "AIRFLOW_PORT": str(_free_port())})
    proc = subprocess.run(["bash", str(REPO / "scripts" / "airflow_standalone.sh"), "--check"],
                          env=env, capture_output=True, text=True, timeout=800, check=False)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "itw_radar_nightly is loaded" in proc.stdout
    assert "nights 1999-12-31 .. 1999-12-31" in proc.stdout
