"""A contract 1.0 export and a contract 1.1 export both run end to end through the real DAG, and a
platform that moves from 1.0 to 1.1 mid-history keeps going.

On 1.0 nights the indicators that need 1.1 data say "no data from this platform" (in the
`indicators` mart, and `indicator_daily.accounts` is null, not 0); once 1.1 nights arrive the same
warehouse stages proposals, profile changes and the 1.1 columns and the statuses turn to ok.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from itw_radar.generator import generate
from itw_radar.orchestration import run_nights
from itw_radar.paths import Home
from itw_radar.publishing import check_serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

N1, N2, N3 = date(2031, 2, 27), date(2031, 2, 28), date(2031, 3, 1)
NEEDS_1_1 = {"proposal_spray": "proposals",
             "template_text": "accounts.profile_text or proposals"}


def _serving(home: Home, sql: str) -> list[tuple]:
    con = duckdb.connect(str(home.serving), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_1_0_platform_then_1_1_nights(tmp_path: Path) -> None:
    v10, v11 = tmp_path / "v10", tmp_path / "v11"
    generate(v10, N1, 3, freelancers=120, clients=50, seed=5, contract_version="1.0")
    generate(v11, N1, 3, freelancers=120, clients=50, seed=5, contract_version="1.1")
    assert not list(v10.glob("*/proposals.*")) and list(v11.glob("*/proposals.*"))
    # the platform upgrades its export on the third night
    exports = tmp_path / "exports"
    shutil.copytree(v10, exports)
    shutil.rmtree(exports / N3.isoformat())
    shutil.copytree(v11 / N3.isoformat(), exports / N3.isoformat())

    home = Home.resolve(tmp_path / "home")
    results = run_nights(home, exports, N1, N2, echo=lambda _line: None)
    assert [r.status for r in results] == ["success", "success"], [r.error for r in results]
    assert check_serving(home.serving) == []
    status = dict(_serving(home, "SELECT indicator_id, data_status FROM indicators"))
    for indicator, missing in NEEDS_1_1.items():
        assert status[indicator] == f"no data from this platform: {missing}"
    assert status["shared_ip"] == "ok"
    daily = dict(_serving(home, f"""SELECT indicator_id, accounts FROM indicator_daily
                                    WHERE as_of_date = DATE '{N2}'"""))
    assert daily["proposal_spray"] is None and daily["template_text"] is None
    assert daily["shared_ip"] is not None
    scored_before = _serving(home, "SELECT count(*) FROM account_risk")[0][0]
    assert scored_before > 0

    results = run_nights(home, exports, N3, N3, echo=lambda _line: None)
    assert [r.status for r in results] == ["success"], [r.error for r in results]
    status = dict(_serving(home, "SELECT indicator_id, data_status FROM indicators"))
    assert {status[i] for i in NEEDS_1_1} == {"ok"}
    daily = dict(_serving(home, f"""SELECT indicator_id, accounts FROM indicator_daily
                                    WHERE as_of_date = DATE '{N3}'"""))
    assert daily["proposal_spray"] is not None
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        proposals = con.execute("SELECT count(*) FROM staging.stg_proposals").fetchone()[0]
        before = con.execute("""SELECT count(*) FROM staging.stg_accounts
                                WHERE export_date < ? AND profile_text IS NOT NULL""",
                             [N3]).fetchone()[0]
        bids = con.execute("""SELECT count(*) FROM staging.stg_proposals
                              WHERE export_date = ? AND cover_letter IS NOT NULL""",
                           [N3]).fetchone()[0]
    finally:
        con.close()
    assert proposals > 0 and bids > 0 and before == 0
