"""int_account_activity_spells (dormant_reactivation's state): built night by night it holds
what one build over every night holds, and re-running a night changes nothing. The dbt unit
tests check single runs; this checks the sequence on real generated nights (late and
re-delivered rows, entity rows re-sent with their old dates), which they cannot.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from itw_radar.dbt_runner import run_dbt
from itw_radar.generator import generate
from itw_radar.ingestion import load_night
from itw_radar.paths import Home

START = date(2026, 1, 5)
NIGHTS = 6
LAST = START + timedelta(days=NIGHTS - 1)
SELECT = "+int_account_activity_spells"
# what a row says; updated_night and prev_* say which run wrote it
STATE = ("account_id, last_active_day, spell_start_day, dormant_before_day, "
         "networks_before_spell, known_networks, observed_from")


def _state(warehouse: Path) -> set[tuple[object, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"select {STATE} from intermediate.int_account_activity_spells").fetchall()
    finally:
        con.close()
    return {tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in rows}


def test_spells_night_by_night_equal_one_build_and_reruns_change_nothing(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    # this platform re-sends payment methods and accounts with their old dates after recent
    # activity: a return counted from those dates would differ between the two paths
    generate(exports, START, NIGHTS, freelancers=300, clients=150)
    inc = Home.resolve(tmp_path / "incremental")
    full = Home.resolve(tmp_path / "full")
    for i in range(NIGHTS):
        load_night(inc, exports, START + timedelta(days=i))
    full.ensure()
    shutil.copyfile(inc.warehouse, full.warehouse)
    kw = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs", "select": SELECT}

    for i in range(NIGHTS):
        run_dbt("run", warehouse=inc.warehouse, as_of=START + timedelta(days=i), **kw)
    night_by_night = _state(inc.warehouse)
    run_dbt("run", warehouse=inc.warehouse, as_of=LAST, **kw)
    rerun = _state(inc.warehouse)
    run_dbt("run", warehouse=full.warehouse, as_of=LAST, full_refresh=True, **kw)
    one_build = _state(full.warehouse)
    run_dbt("run", warehouse=full.warehouse, as_of=LAST, **kw)
    one_build_rerun = _state(full.warehouse)

    con = duckdb.connect(str(inc.warehouse), read_only=True)
    try:
        accounts = con.execute("select count(distinct account_id) from raw.accounts").fetchone()
    finally:
        con.close()
    assert accounts is not None and len(night_by_night) == accounts[0]  # every account has a row
    assert rerun == night_by_night
    assert one_build == night_by_night
    assert one_build_rerun == night_by_night
