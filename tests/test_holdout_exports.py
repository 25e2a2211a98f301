"""The independent holdout writer (tests/holdout) honours the export contract.

Its nights must load through the project's real loader with nothing quarantined, its labels must
cover every account the pipeline will see, and it must actually exercise the contract's corners
(formats, offsets, late and re-delivered events, entity rows that change), including what
contract 1.1 added (proposals, profile_changes, three columns, `operation_id` in the labels), and
write none of the 1.1 additions when asked for a 1.0 export.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from holdout.platform import CLASSIC_STYLES, TABLES, V11_COLUMNS, V11_TABLES, write_platform

from itw_radar.ingestion import load_night
from itw_radar.paths import Home

START = date(2026, 11, 20)
DAYS = 8


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Home, list]:
    tmp = tmp_path_factory.mktemp("holdout")
    out = tmp / "exports"
    labels = write_platform(out, START, DAYS, accounts=400, seed=12, fmt="mixed")
    assert labels == out / "_truth" / "labels.csv"
    home = Home.resolve(tmp / "home")
    results = [load_night(home, out, START + timedelta(days=k)) for k in range(DAYS)]
    return out, home, results


def _labels(out: Path) -> dict[str, tuple[str, str]]:
    with (out / "_truth" / "labels.csv").open(encoding="utf-8", newline="") as f:
        return {r["account_id"]: (r["is_dprk"], r["scenario"]) for r in csv.DictReader(f)}


def _header(path: Path) -> list[str]:
    if path.name.endswith(".parquet"):
        return list(pq.read_schema(path).names)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:  # type: ignore[operator]
        return next(csv.reader(f))


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
        assert m["contract_version"] == "1.1"
        assert m["export_date"] == d.isoformat()
        assert m["mode"] == ("full" if k == 0 else "delta")
        listed = set(m["files"])
        assert listed == {p.name for p in folder.iterdir()} - {"manifest.json"}
        for name, meta in m["files"].items():
            assert name.startswith(meta["table"] + ".")
            suffixes.add(name.split(".", 1)[1])
        absent += len(TABLES) - len(listed)
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


def test_contract_1_1_data_loads(loaded: tuple[Path, Home, list]) -> None:
    """The 1.1 tables and columns arrive, load, and are sometimes absent or left out."""
    out, home, _ = loaded
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        proposals, spread, letters = con.execute("""
            SELECT count(*), count(DISTINCT job_category), count(cover_letter)
            FROM raw.proposals""").fetchone()
        fields = {r[0] for r in con.execute("SELECT DISTINCT field FROM raw.profile_changes")
                  .fetchall()}
        texts, referred = con.execute("""SELECT count(DISTINCT profile_text),
            count(DISTINCT account_id) FILTER (WHERE referred_by_account_id IS NOT NULL)
            FROM raw.accounts""").fetchone()
        verified, early = con.execute("""SELECT count(verified_at),
            count(*) FILTER (WHERE verified_at < submitted_at) FROM raw.identity_documents"""
                                      ).fetchone()
        dangling = con.execute("""SELECT count(*) FROM raw.accounts
            WHERE referred_by_account_id IS NOT NULL AND referred_by_account_id NOT IN
                  (SELECT account_id FROM raw.accounts)""").fetchone()[0]
    finally:
        con.close()
    assert proposals > 500 and spread >= 6 and 0.85 * proposals < letters < proposals
    assert {"payout_holder_name", "profile_photo", "email"} <= fields and len(fields) >= 4
    assert texts > 150 and referred > 5 and verified > 100
    assert early == 0 and dangling == 0
    # 1.1 tables are sometimes absent, 1.1 columns sometimes missing from a header
    nights_with = {t: 0 for t in V11_TABLES}
    dropped = 0
    for k in range(DAYS):
        folder = out / (START + timedelta(days=k)).isoformat()
        for path in folder.iterdir():
            table = path.name.split(".", 1)[0]
            if table in nights_with:
                nights_with[table] += 1
            if table in V11_COLUMNS:
                dropped += not set(V11_COLUMNS[table]) <= set(_header(path))
    assert 0 < nights_with["proposals"] <= DAYS and nights_with["profile_changes"] > 0
    assert min(nights_with.values()) < DAYS or dropped > 0


def test_labels_name_operations(loaded: tuple[Path, Home, list]) -> None:
    out, _, _ = loaded
    with (out / "_truth" / "labels.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all("operation_id" in r for r in rows)
    ops: dict[str, set[str]] = {}
    for r in rows:
        assert (r["operation_id"] != "") == (r["is_dprk"] == "true"), r
        if r["operation_id"]:
            ops.setdefault(r["operation_id"], set()).add(r["scenario"])
    assert len(ops) >= 4
    # a fake client shares its operation with the freelancers it pays or praises
    assert any(len(s) > 1 and any(x.endswith("_client") for x in s) for s in ops.values())
    scenarios = {r["scenario"] for r in rows}
    assert {"legit_new_laptop", "legit_multi_client", "legit_prolific_bidder",
            "legit_boilerplate_text", "legit_expat", "legit_returning_user",
            "legit_referral_friends", "legit_night_owl"} <= scenarios


def test_planted_1_1_signs_show_in_the_raw_layer(loaded: tuple[Path, Home, list]) -> None:
    """Reused persona texts, referral rings and returning dormant accounts are really there."""
    out, home, _ = loaded
    labels = _labels(out)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        texts = con.execute("""SELECT DISTINCT ON (account_id) account_id, profile_text
            FROM raw.accounts WHERE profile_text IS NOT NULL ORDER BY account_id, _export_date
            DESC""").fetchall()
        refs = con.execute("""SELECT DISTINCT account_id, referred_by_account_id
            FROM raw.accounts WHERE referred_by_account_id IS NOT NULL""").fetchall()
        first_login = dict(con.execute("""SELECT account_id, min(CAST(ts AS DATE))
            FROM raw.logins GROUP BY 1""").fetchall())
    finally:
        con.close()

    def words(t: str) -> set[tuple[str, ...]]:
        w = t.lower().split()
        return {tuple(w[j:j + 4]) for j in range(len(w) - 3)}

    by_scen: dict[str, list[set]] = {}
    for acct, text in texts:
        by_scen.setdefault(labels[acct][1], []).append(words(text))
    dprk_texts = [sh for s, v in by_scen.items() if s.startswith("dprk_") for sh in v]
    best = max((len(a & b) / len(a | b) for j, a in enumerate(dprk_texts)
                for b in dprk_texts[j + 1:] if a | b), default=0.0)
    assert best > 0.5  # near-identical persona texts, not exact copies everywhere
    ring = [(a, r) for a, r in refs if labels[a][1].startswith("dprk_reference_ring")]
    assert ring and all(labels[r][0] == "true" for _, r in ring)
    assert any(labels[a][0] == "false" and labels[r][0] == "false" for a, r in refs)
    returning = [a for a, (_, s) in labels.items() if s in ("legit_returning_user",
                                                            "dprk_dormant_hijack")]
    assert returning and all(first_login.get(a, date.max) > START for a in returning)


def test_contract_1_0_mode_writes_none_of_1_1(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    write_platform(out, START, 2, accounts=120, seed=5, fmt="mixed", contract="1.0")
    added = {c for cols in V11_COLUMNS.values() for c in cols}
    for k in range(2):
        folder = out / (START + timedelta(days=k)).isoformat()
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert m["contract_version"] == "1.0"
        assert not {meta["table"] for meta in m["files"].values()} & set(V11_TABLES)
        for path in folder.iterdir():
            if path.name != "manifest.json":
                assert not added & set(_header(path)), path.name
    home = Home.resolve(tmp_path / "home")
    for k in range(2):
        r = load_night(home, out, START + timedelta(days=k))
        assert r.rows_quarantined == 0 and r.rows_loaded == r.rows_expected > 0
    with (out / "_truth" / "labels.csv").open(encoding="utf-8") as f:
        assert f.readline().strip() == "account_id,is_dprk,scenario,operation_id"
    with pytest.raises(ValueError, match="contract must be one of"):
        write_platform(tmp_path / "x", START, 1, contract="2.0")


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
    assert any(meta["table"] == "proposals" for night in digest(tmp_path / "a")
               for meta in night.values())


def test_styles_limit_what_is_planted(tmp_path: Path) -> None:
    write_platform(tmp_path / "c", START, 1, accounts=300, seed=2, fmt="csv",
                   styles=CLASSIC_STYLES)
    dprk = {s for flag, s in _labels(tmp_path / "c").values() if flag == "true"}
    assert dprk and dprk <= {f"dprk_{x}" for x in CLASSIC_STYLES} | {"dprk_self_rating_client"}
    with pytest.raises(ValueError, match="unknown or empty DPRK styles"):
        write_platform(tmp_path / "x", START, 1, styles=["laptop_farm", "nope"])


def test_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt must be one of"):
        write_platform(tmp_path, START, 1, fmt="xlsx")
