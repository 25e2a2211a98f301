"""The independent holdout writer (tests/holdout) honours the export contract.

Its nights must load through the project's real loader with nothing quarantined, its labels must
cover every account the pipeline will see, and it must actually exercise the contract's corners
(formats, offsets, late and re-delivered events, entity rows that change).
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from holdout.platform import write_platform

from itw_radar.ingestion import load_night
from itw_radar.paths import Home

START = date(2026, 11, 20)
DAYS = 8


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Home, list]:
    tmp = tmp_path_factory.mktemp("holdout")
    out = tmp / "exports"
    labels = write_platform(out, START, DAYS, accounts=400, seed=11, fmt="mixed")
    assert labels == out / "_truth" / "labels.csv"
    home = Home.resolve(tmp / "home")
    results = [load_night(home, out, START + timedelta(days=k)) for k in range(DAYS)]
    return out, home, results


def _labels(out: Path) -> dict[str, tuple[str, str]]:
    with (out / "_truth" / "labels.csv").open(encoding="utf-8", newline="") as f:
        return {r["account_id"]: (r["is_dprk"], r["scenario"]) for r in csv.DictReader(f)}


def test_every_night_loads_without_quarantine(loaded: tuple[Path, Home, list]) -> None:
    _, _, results = loaded
    assert len(results) == DAYS
    for r in results:
        assert r.rows_quarantined == 0, (r.export_date, [(f.file_name, f.rows_quarantined)
                                                         for f in r.files])
        assert r.rows_loaded == r.rows_expected > 0


def test_manifests_follow_the_contract(loaded: tuple[Path, Home, list]) -> None:
    out, _, _ = loaded
    suffixes: set[str] = set()
    absent = 0
    for k in range(DAYS):
        d = START + timedelta(days=k)
        folder = out / d.isoformat()
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert m["contract_version"] == "1.0"
        assert m["export_date"] == d.isoformat()
        assert m["mode"] == ("full" if k == 0 else "delta")
        listed = set(m["files"])
        assert listed == {p.name for p in folder.iterdir()} - {"manifest.json"}
        for name, meta in m["files"].items():
            assert name.startswith(meta["table"] + ".")
            suffixes.add(name.split(".", 1)[1])
        absent += 10 - len(listed)
    assert suffixes == {"parquet", "csv", "csv.gz"}
    assert not (out / "_truth" / "manifest.json").exists()
    assert absent > 0  # a table with no rows that night may be absent


def test_labels_cover_every_account_seen(loaded: tuple[Path, Home, list]) -> None:
    out, home, _ = loaded
    labels = _labels(out)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        seen = {r[0] for r in con.execute("""
            SELECT account_id FROM raw.accounts
            UNION SELECT account_id FROM raw.logins
            UNION SELECT client_account_id FROM raw.contracts
            UNION SELECT freelancer_account_id FROM raw.contracts
            UNION SELECT sender_account_id FROM raw.messages
            UNION SELECT reviewer_account_id FROM raw.reviews
            UNION SELECT account_id FROM raw.transactions""").fetchall()}
        in_accounts = {r[0] for r in con.execute(
            "SELECT DISTINCT account_id FROM raw.accounts").fetchall()}
    finally:
        con.close()
    assert seen <= set(labels), sorted(seen - set(labels))[:5]
    assert set(labels) == in_accounts
    scenarios = {s for _, s in labels.values()}
    assert all(s.startswith(("dprk_", "legit_")) for s in scenarios)
    assert {"legit_freelancer", "legit_client", "dprk_self_rating_client",
            "legit_asia_declared", "legit_agency_office"} <= scenarios
    dprk = [a for a, (flag, s) in labels.items() if flag == "true"]
    assert all(labels[a][1].startswith("dprk_") for a in dprk)
    assert 0.015 <= len(dprk) / len(labels) <= 0.06


def test_delivery_exercises_the_contract(loaded: tuple[Path, Home, list]) -> None:
    out, home, _ = loaded
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        late, redelivered = con.execute("""
            SELECT count(*) FILTER (WHERE CAST(ts AS DATE) < _export_date),
                   (SELECT count(*) FROM (SELECT login_id FROM raw.logins GROUP BY 1
                                          HAVING count(DISTINCT _export_date) > 1))
            FROM raw.logins""").fetchone()
        changed = con.execute("""SELECT count(*) FROM (SELECT account_id FROM raw.accounts
                                 GROUP BY 1 HAVING count(*) > 1)""").fetchone()[0]
        ipv6 = con.execute("SELECT count(*) FROM raw.logins WHERE ip LIKE '%:%'").fetchone()[0]
        # an event is stamped in its UTC day (or delivered up to 3 days later), never earlier
        bad = con.execute("""SELECT count(*) FROM raw.logins
                             WHERE _export_date < CAST(ts AS DATE)
                                OR _export_date > CAST(ts AS DATE) + 3""").fetchone()[0]
    finally:
        con.close()
    assert late > 0 and redelivered > 0 and changed > 0 and ipv6 > 0
    assert bad == 0
    offsets = set()
    for path in out.glob("*/*.csv*"):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
            head = f.read(4000)
        offsets.update(o for o in ("+09:00", "-05:00", "+05:30", "Z,") if o in head)
    assert len(offsets) >= 2


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digest(root: Path) -> list[str]:
        return [json.loads((root / f"{(START + timedelta(days=k)).isoformat()}/manifest.json")
                           .read_text())["files"] for k in range(2)]

    write_platform(tmp_path / "a", START, 2, accounts=150, seed=3, fmt="csv")
    write_platform(tmp_path / "b", START, 2, accounts=150, seed=3, fmt="csv")
    write_platform(tmp_path / "c", START, 2, accounts=150, seed=4, fmt="csv")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")
    assert (tmp_path / "a/_truth/labels.csv").read_bytes() == \
        (tmp_path / "b/_truth/labels.csv").read_bytes()


def test_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt must be one of"):
        write_platform(tmp_path, START, 1, fmt="xlsx")
