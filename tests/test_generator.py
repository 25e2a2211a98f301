"""The synthetic export generator: contract conformance, delivery rules, scenarios, formats."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import zoneinfo
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from itw_radar.contract import CORE_TABLES, MANIFEST_NAME, TABLES, table_for_file
from itw_radar.generator import GenerateSummary, generate
from itw_radar.generator.scenarios import DPRK_27, DPRK_SCENARIOS, LOOK_ALIKES, WEAK_GROUP

START = dt.date(2026, 11, 23)
DAYS = 4
SIZE = {"freelancers": 300, "clients": 100}
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMAT_RE = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "phash": re.compile(r"^[0-9a-f]{16}$"),
             "country": re.compile(r"^[A-Z]{2}$")}
ZONES = zoneinfo.available_timezones()


def _run(out: Path, seed: int = 42, fmt: str = "csv") -> GenerateSummary:
    return generate(out, START, DAYS, seed=seed, fmt=fmt, **SIZE)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("gen") / "exports"
    seen: list[tuple[str, int, int]] = []
    summary = generate(out, START, DAYS, seed=42, progress=lambda s, d, t: seen.append((s, d, t)),
                       **SIZE)
    assert ("nights", DAYS, DAYS) in seen
    return out, summary


def _read_strings(path: Path) -> pa.Table:
    """A CSV file with every column as text, empty fields as null (contract CSV rules)."""
    with path.open("rb") as fh:
        header = fh.readline().decode().strip().split(",")
    names = [h.strip('"') for h in header]
    opts = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                strings_can_be_null=True, quoted_strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=opts)


def _nights(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and DATE_RE.match(p.name))


def _all_rows(out: Path, table: str) -> list[tuple[str, dict[str, str | None]]]:
    rows = []
    for night in _nights(out):
        f = night / f"{table}.csv"
        if f.exists():
            rows += [(night.name, r) for r in _read_strings(f).to_pylist()]
    return rows


def _tree_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path,
                                                 csv_run: tuple[Path, GenerateSummary]) -> None:
    out, _ = csv_run
    again = tmp_path / "again"
    _run(again)
    assert _tree_bytes(again) == _tree_bytes(out)
    other = tmp_path / "other"
    _run(other, seed=7)
    a, b = _tree_bytes(out), _tree_bytes(other)
    assert a.keys() == b.keys()
    assert a["2026-11-23/logins.csv"] != b["2026-11-23/logins.csv"]
    assert a["_truth/labels.csv"] != b["_truth/labels.csv"]


def test_manifest_is_last_and_matches_files(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, summary = csv_run
    nights = _nights(out)
    assert [n.name for n in nights] == [(START + dt.timedelta(days=i)).isoformat()
                                        for i in range(DAYS)]
    for i, night in enumerate(nights):
        manifest = json.loads((night / MANIFEST_NAME).read_text())
        assert manifest["contract_version"] == "1.1"
        assert manifest["export_date"] == night.name
        assert manifest["mode"] == ("full" if i == 0 else "delta")
        assert TS_RE.match(manifest["generated_at"])
        assert manifest["generated_at"] > night.name  # after the day it covers
        present = {p.name for p in night.iterdir() if p.name != MANIFEST_NAME}
        assert present == set(manifest["files"])
        last_data = max(p.stat().st_mtime_ns for p in night.iterdir() if p.name != MANIFEST_NAME)
        assert (night / MANIFEST_NAME).stat().st_mtime_ns >= last_data
        for name, entry in manifest["files"].items():
            table, suffix = table_for_file(name) or ("?", "?")
            assert entry["table"] == table and table in TABLES and suffix == ".csv"
            path = night / name
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            sql = f"select count(*) from read_csv('{path}', all_varchar=true)"
            n = duckdb.sql(sql).fetchall()[0][0]
            assert entry["rows"] == n == _read_strings(path).num_rows
            assert summary.rows_per_night[night.name][table] == entry["rows"]
    assert summary.total_rows == sum(sum(v.values()) for v in summary.rows_per_night.values())
    assert summary.rows_per_second > 0


def _check_value(table: str, col, value: str) -> None:
    where = f"{table}.{col.name}={value!r}"
    if col.type == "timestamp":
        assert TS_RE.match(value), where
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif col.type == "date":
        assert DATE_RE.match(value), where
        dt.date.fromisoformat(value)
    elif col.type == "boolean":
        assert value in ("true", "false"), where
    elif col.type in ("decimal", "integer"):
        x = float(value) if col.type == "decimal" else int(value)
        if col.min_value is not None:
            assert x > col.min_value if col.min_exclusive else x >= col.min_value, where
        if col.max_value is not None:
            assert x <= col.max_value, where
    elif col.type == "enum":
        assert value in col.values, where
    if col.fmt == "ip":
        ipaddress.ip_address(value)
    elif col.fmt == "timezone":
        assert value in ZONES, where
    elif col.fmt is not None:
        assert FORMAT_RE[col.fmt].match(value), where


def test_every_column_valid(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, _ = csv_run
    for night in _nights(out):
        export_end = dt.datetime.combine(dt.date.fromisoformat(night.name) + dt.timedelta(days=1),
                                         dt.time(), tzinfo=dt.UTC)
        for name in TABLES:  # contract 1.1: every table and column
            spec = TABLES[name]
            data = _read_strings(night / f"{name}.csv")
            assert tuple(data.column_names) == spec.column_names
            for col in spec.columns:
                values = data.column(col.name).to_pylist()
                if not col.nullable:
                    assert None not in values, f"{night.name} {name}.{col.name} has nulls"
                for v in set(values) - {None}:
                    _check_value(name, col, v)
            rows = data.to_pylist()
            keys = [r[spec.key] for r in rows]
            assert len(keys) == len(set(keys)), f"{night.name} {name}: duplicate keys"
            for earlier, later in spec.order_pairs:
                if later in data.column_names:
                    assert all(r[earlier] <= r[later] for r in rows if r[later] is not None), (
                        f"{name}: {later} < {earlier}")
            if spec.event_time:
                latest = max((r[spec.event_time] for r in rows), default=None)
                if latest:
                    when = dt.datetime.fromisoformat(latest.replace("Z", "+00:00"))
                    assert when < export_end, f"{name} event after the export day"


def test_labels_cover_every_account(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, summary = csv_run
    labels = _read_strings(out / "_truth" / "labels.csv").to_pylist()
    assert len(labels) == summary.accounts == SIZE["freelancers"] + SIZE["clients"]
    exported = {r["account_id"] for _, r in _all_rows(out, "accounts")}
    assert exported == {r["account_id"] for r in labels}
    assert {r["is_dprk"] for r in labels} == {"0", "1"}
    for r in labels:
        assert (r["is_dprk"] == "1") == r["scenario"].startswith("dprk_")
    scenarios = {r["scenario"] for r in labels}
    for la in LOOK_ALIKES:
        assert la.name in scenarios
    assert {"legit_freelancer", "legit_client"} <= scenarios
    assert len(scenarios & set(DPRK_SCENARIOS)) >= 4
    # Operations: every DPRK account has one, legit accounts none; a cell's client accounts
    # share the operation of the freelancer they rate.
    assert list(labels[0]) == ["account_id", "is_dprk", "scenario", "operation_id"]
    for r in labels:
        assert (r["operation_id"] is not None) == (r["is_dprk"] == "1")
        assert r["operation_id"] is None or re.match(r"^op-\d{4}$", r["operation_id"])
    traits = _read_strings(out / "_truth" / "dprk_traits.csv").to_pylist()
    cell_ops: dict[str, set[str]] = {}
    by_id = {r["account_id"]: r for r in labels}
    for t in traits:
        cell_ops.setdefault(t["cell_id"], set()).add(by_id[t["account_id"]]["operation_id"])
    assert all(len(v) == 1 for k, v in cell_ops.items() if k != "-1")
    assert len({next(iter(v)) for k, v in cell_ops.items() if k != "-1"}) == len(
        [k for k in cell_ops if k != "-1"])
    assert any(r["scenario"] == "dprk_self_rating_client" for r in labels)
    classic = {"dprk_self_rating_client"} | {s.name for s in DPRK_27}
    dprk = [r for r in labels if r["is_dprk"] == "1" and r["scenario"] not in classic]
    assert 0.02 * SIZE["freelancers"] <= len(dprk) <= 0.06 * SIZE["freelancers"]


def test_issue_27_scenarios_are_planted(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, summary = csv_run
    labels = _read_strings(out / "_truth" / "labels.csv").to_pylist()
    for la in DPRK_27 + tuple(la for la in LOOK_ALIKES if la.minimum):
        n = summary.scenario_counts.get(la.name, 0)
        assert n >= min(la.minimum, 8), la.name
    ops: dict[str, set[str]] = {}
    for r in labels:
        if r["operation_id"]:
            ops.setdefault(r["operation_id"], set()).add(r["scenario"])
    # Lone accounts and small groups of the new scenarios are operations of their own.
    new = {s.name for s in DPRK_27}
    assert all(len(v) == 1 for v in ops.values() if v & new)
    # Two weak signs: exactly two DPRK traits, of two different sign groups.
    names = {v: k for k, v in __import__("itw_radar.generator.scenarios",
                                         fromlist=["TRAIT_NAMES"]).TRAIT_NAMES.items()}
    traits = _read_strings(out / "_truth" / "dprk_traits.csv").to_pylist()
    two = [t["traits"].split(";") for t in traits if t["scenario"] == "dprk_two_weak_signs"]
    assert len(two) >= 8
    for t in two:
        assert len(t) == 2 and all(names[x] in WEAK_GROUP for x in t)
        assert WEAK_GROUP[names[t[0]]] != WEAK_GROUP[names[t[1]]]
    # Night owls: Western profile, work sessions start in the local evening or night.
    con = duckdb.connect()
    rows = con.execute(
        f"select a.country, hour(timezone(a.timezone, s.started_at::timestamptz)) from "
        f"read_csv('{out}/*/work_sessions.csv') s join read_csv('{out}/{START}/accounts.csv') a "
        "using (account_id) join read_csv(?) l using (account_id) "
        "where l.scenario = 'legit_night_owl' and a.timezone is not null",
        [str(out / "_truth" / "labels.csv")]).fetchall()
    assert rows and {c for c, _ in rows} <= {"US", "GB", "DE", "FR", "PL", "ES", "NL", "IT", "CA"}
    night = [h for _, h in rows if h >= 18 or h < 6]
    assert len(night) >= 0.9 * len(rows)


def _views(out: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"create view {t} as select distinct * from read_csv('{out}/*/{t}.csv', "
                    "union_by_name=true)")
    con.execute(f"create view labels as select * from read_csv('{out}/_truth/labels.csv')")
    return con


def _shingles(text: str) -> set[tuple[str, ...]]:
    w = text.lower().split()
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def _of(con: duckdb.DuckDBPyConnection, scenario: str) -> list[str]:
    return [a for (a,) in con.execute("select account_id from labels where scenario = ?",
                                      [scenario]).fetchall()]


def test_proposal_spray_and_prolific_bidder(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    rows = con.execute(
        "select l.scenario, count(*) * 1.0 / count(distinct submitted_at::date) per_day, "
        "count(distinct job_category) cats, count(distinct client_account_id) clients "
        "from proposals p join labels l on l.account_id = p.freelancer_account_id "
        "where l.scenario in ('dprk_proposal_spray', 'legit_prolific_bidder') "
        "group by l.scenario, p.freelancer_account_id").fetchall()
    spray = [r for r in rows if r[0] == "dprk_proposal_spray"]
    bidders = [r for r in rows if r[0] == "legit_prolific_bidder"]
    assert len(spray) >= 6 and len(bidders) >= 6
    assert all(r[1] >= 3 and r[2] >= 4 for r in spray)  # ~40+ a week in 4+ categories
    assert sum(r[1] for r in spray) / len(spray) >= 7
    assert all(r[2] <= 2 for r in bidders) and max(r[1] for r in bidders) >= 4


def test_concurrent_contracts_and_multi_client(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    rows = con.execute(
        "select l.scenario, a.account_id, max(epoch(least(a.ended_at, b.ended_at) "
        "- greatest(a.started_at, b.started_at)) / 60) from work_sessions a "
        "join work_sessions b on a.account_id = b.account_id and a.contract_id < b.contract_id "
        "and a.started_at < b.ended_at and b.started_at < a.ended_at "
        "join labels l on l.account_id = a.account_id group by all").fetchall()
    dprk = {a: m for s, a, m in rows if s == "dprk_multi_job"}
    legit = {a: m for s, a, m in rows if s == "legit_multi_client"}
    # (overlap days are 40-90% of days: in a short run most, not all, show one)
    assert len(dprk) >= 6 and sum(m >= 120 for m in dprk.values()) >= len(dprk) // 2
    assert legit and all(m < 15 for m in legit.values())
    assert all(s in ("dprk_multi_job", "legit_multi_client") or m < 15 for s, _, m in rows)


def test_identity_mismatch_and_expat(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    rows = con.execute(
        "select l.scenario, a.country, list_distinct(list(d.issuing_country)), "
        "list_distinct(list(m.country) filter (m.is_active and m.country is not null)), "
        "(select mode(ip_country) from logins g where g.account_id = a.account_id "
        " and ip_kind in ('residential', 'mobile')) "
        "from accounts a join labels l using (account_id) "
        "join identity_documents d using (account_id) join payment_methods m using (account_id) "
        "where l.scenario in ('dprk_identity_mismatch', 'legit_expat') group by all").fetchall()
    assert {r[0] for r in rows} == {"dprk_identity_mismatch", "legit_expat"}
    for scenario, claimed, docs, pays, login in rows:
        doc, pay = docs[0], (pays or [claimed])[0]
        if scenario == "legit_expat":
            assert doc != claimed and pay == claimed and login in (claimed, None)
        else:
            assert len({doc, claimed, pay, login}) >= 3 or (
                doc == login and claimed == pay and doc != claimed)


def test_reference_ring_and_referral_friends(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    pairs = con.execute(
        "select distinct l.scenario, a.account_id, a.referred_by_account_id, "
        "(select count(distinct x.ts::date) from logins x join logins y on x.ip = y.ip "
        " and x.ts::date = y.ts::date where x.account_id = a.account_id "
        " and y.account_id = a.referred_by_account_id), "
        "(select count(*) from payment_methods x join payment_methods y using (fingerprint) "
        " where x.account_id = a.account_id and y.account_id = a.referred_by_account_id) "
        "from accounts a join labels l using (account_id) join labels r "
        "on r.account_id = a.referred_by_account_id and r.scenario = l.scenario "
        "where l.scenario in ('dprk_reference_ring', 'legit_referral_friends')").fetchall()
    ring = [p for p in pairs if p[0] == "dprk_reference_ring"]
    friends = [p for p in pairs if p[0] == "legit_referral_friends"]
    assert len(ring) >= 4 and len(friends) >= 3
    assert sum(1 for p in ring if p[3] >= 1 or p[4] > 0) >= len(ring) // 2
    assert all(p[3] == 0 and p[4] == 0 for p in friends)


def test_handover_and_new_laptop(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    rows = con.execute(
        "with v as (select account_id, min(verified_at) t from identity_documents "
        " where verification_status = 'approved' group by 1), "
        "g as (select g.*, g.ts >= v.t as after, l.scenario from logins g "
        " join v using (account_id) join labels l using (account_id) "
        " where l.scenario in ('dprk_handover', 'legit_new_laptop') and device_id is not null) "
        "select scenario, account_id, "
        "list_distinct(list(device_id) filter (not after)), "
        "list_distinct(list(device_id) filter (after)), "
        "list_distinct(list(ip_asn) filter (not after and ip_asn is not null)), "
        "list_distinct(list(ip_asn) filter (after and ip_asn is not null)) "
        "from g group by all").fetchall()
    seen = {"dprk_handover": 0, "legit_new_laptop": 0}
    laptops = 0
    for scenario, acc, dev0, dev1, asn0, asn1 in rows:
        if not dev0 or not dev1:
            continue
        seen[scenario] += 1
        if scenario == "dprk_handover":
            assert not set(dev0) & set(dev1), acc  # the verified person's devices are gone
        else:
            assert set(asn1) <= set(asn0) | {None} or len(set(asn1) - set(asn0)) <= 1
            laptops += bool(set(dev1) - set(dev0))  # a new laptop (the phone stays)
    assert seen["dprk_handover"] >= 4 and seen["legit_new_laptop"] >= 4 and laptops >= 2


def test_template_persona_and_generic_text(csv_run: tuple[Path, GenerateSummary]) -> None:
    con = _views(csv_run[0])
    texts = con.execute(
        "select l.operation_id, l.scenario, a.account_id, any_value(profile_text), "
        "(select list(cover_letter order by proposal_id)[1:4] from proposals p "
        " where p.freelancer_account_id = a.account_id and cover_letter is not null) "
        "from accounts a join labels l using (account_id) "
        "where l.scenario in ('dprk_template_persona', 'legit_generic_text') "
        "group by all").fetchall()
    persona = [t for t in texts if t[1] == "dprk_template_persona"]
    best: dict[str, float] = {}
    for i, a in enumerate(persona):
        for b in persona[i + 1:]:
            if a[0] == b[0]:
                letters = [_jaccard(x, y) for x in a[4] or [] for y in b[4] or []]
                sim = max([_jaccard(a[3] or "", b[3] or ""), *letters])
                best[a[0]] = max(best.get(a[0], 0.0), sim)
            else:  # operations do not share a template
                assert _jaccard(a[3] or "", b[3] or "") < 0.5
    assert best and all(v >= 0.6 for v in best.values())
    generic = [t for t in texts if t[1] == "legit_generic_text"]
    assert generic
    samples = con.execute("select count(distinct account_id) from accounts "
                          "where profile_text = ?", [generic[0][3]]).fetchall()[0][0]
    assert len((generic[0][3] or "").split()) < 25 or samples > 12


def test_dormant_reactivation_and_returning_user(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, _ = csv_run
    con = _views(out)
    first = START.isoformat()
    rows = con.execute(
        f"select l.scenario, l.account_id, "
        f"(select min(created_at) from read_csv('{out}/{first}/accounts.csv') x "
        " where x.account_id = l.account_id), "
        f"(select max(updated_at) from read_csv('{out}/{first}/contracts.csv') c "
        " where c.freelancer_account_id = l.account_id), "
        f"(select max(added_at) from read_csv('{out}/{first}/payment_methods.csv') m "
        " where m.account_id = l.account_id), "
        "(select min(ts) from logins g where g.account_id = l.account_id), "
        "(select count(*) from profile_changes c where c.account_id = l.account_id "
        " and field in ('display_name', 'email', 'phone', 'payout_holder_name')) "
        "from labels l where l.scenario in "
        "('dprk_dormant_reactivation', 'legit_returning_user')").fetchall()
    start = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC)
    assert {r[0] for r in rows} == {"dprk_dormant_reactivation", "legit_returning_user"}
    for scenario, acc, created, last_ctr, last_pm, first_login, ident in rows:
        assert created <= start - dt.timedelta(days=365), acc
        assert last_ctr is not None and last_ctr <= start - dt.timedelta(days=180), acc
        assert last_pm <= start - dt.timedelta(days=180), acc
        assert first_login is None or first_login >= start + dt.timedelta(days=1), acc
        if scenario == "legit_returning_user":
            assert ident == 0


def test_operations_share_commercial_vpn_exits(csv_run: tuple[Path, GenerateSummary]) -> None:
    """Different operations (and ordinary VPN customers) come out of the same VPN exit
    addresses on the same days: sharing such an address must not merge operations."""
    con = _views(csv_run[0])
    rows = con.execute(
        "select ip, ts::date, count(distinct l.operation_id), "
        "count(distinct account_id) filter (where l.operation_id is null) "
        "from logins join labels l using (account_id) where ip_kind = 'vpn' "
        "group by all having count(distinct l.operation_id) >= 2").fetchall()
    assert rows  # two operations, one exit, one day
    mixed = con.execute(
        "select ip, ts::date from logins join labels l using (account_id) where ip_kind = 'vpn' "
        "group by all having count(distinct l.operation_id) >= 1 "
        "and count(*) filter (where l.operation_id is null) >= 1").fetchall()
    assert mixed  # an operation and an ordinary VPN customer, one exit, one day


def test_late_redelivered_and_entity_updates(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, summary = csv_run
    assert summary.late_rows > 0 and summary.redelivered_rows > 0
    late = 0
    for table in ("logins", "work_sessions", "messages", "transactions"):
        spec = TABLES[table]
        seen: dict[str, tuple[str, dict]] = {}
        for night, row in _all_rows(out, table):
            day = row[spec.event_time][:10]
            assert day <= night
            assert (dt.date.fromisoformat(night) - dt.date.fromisoformat(day)).days <= 3
            late += day < night
            if row[spec.key] in seen:
                first_night, first_row = seen[row[spec.key]]
                assert first_night < night and first_row == row  # re-delivered identically
            seen[row[spec.key]] = (night, row)
    assert late > 0
    redelivered = sum(
        1 for t in ("logins", "work_sessions")
        for k, c in _count_keys(out, t).items() if c > 1
    )
    assert redelivered > 0
    for table in ("accounts", "contracts", "payment_methods"):
        versions = _count_keys(out, table)
        assert any(c > 1 for c in versions.values()), f"no {table} row changed over the window"
    contracts = _all_rows(out, "contracts")
    first = {r["contract_id"]: r for n, r in contracts if n == START.isoformat()}
    changed = [r for n, r in contracts if n > START.isoformat() and r["contract_id"] in first]
    assert changed and all(r["updated_at"] > first[r["contract_id"]]["updated_at"]
                           for r in changed)
    assert any(r["status"] != first[r["contract_id"]]["status"] for r in changed)


def _count_keys(out: Path, table: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, row in _all_rows(out, table):
        k = row[TABLES[table].key]
        counts[k] = counts.get(k, 0) + 1
    return counts


def test_planted_signals(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, _ = csv_run
    labels = {r["account_id"]: r for r in _read_strings(out / "_truth" / "labels.csv").to_pylist()}
    con = duckdb.connect()
    night = out / START.isoformat()
    for t in CORE_TABLES:
        con.execute(f"create view {t} as select * from read_csv('{out}/*/{t}.csv', "
                    "all_varchar=true, union_by_name=true)")
    # Photo swaps: different holders and numbers, near-identical faces (Hamming 1..6).
    docs = _read_strings(night / "identity_documents.csv").to_pylist()
    swap = [d for d in docs if labels[d["account_id"]]["scenario"] == "dprk_photo_swap"
            and d["face_phash"]]
    pairs = [(a, b) for i, a in enumerate(swap) for b in swap[i + 1:]
             if a["account_id"] != b["account_id"]
             and 1 <= bin(int(a["face_phash"], 16) ^ int(b["face_phash"], 16)).count("1") <= 12]
    assert pairs and all(a["holder_name"] != b["holder_name"]
                         or a["document_number_hash"] != b["document_number_hash"]
                         for a, b in pairs)
    # Self-rating clients pay with a DPRK freelancer's own payout fingerprint.
    pms = _read_strings(night / "payment_methods.csv").to_pylist()
    by_fp: dict[str, set[str]] = {}
    for m in pms:
        by_fp.setdefault(m["fingerprint"], set()).add(labels[m["account_id"]]["scenario"])
    assert any("dprk_self_rating_client" in s and len(s) > 1 for s in by_fp.values())
    # The agency office: ten staff behind one address.
    office = {a for a, r in labels.items() if r["scenario"] == "legit_agency_office"}
    top = con.execute("select ip, count(distinct account_id) n from logins group by ip "
                      "order by n desc limit 5").fetchall()
    assert top[0][1] >= 10
    office_ips = con.execute(
        "select count(distinct account_id) from logins where account_id in "
        f"({','.join(repr(a) for a in office)}) group by ip order by 1 desc limit 1").fetchall()[0]
    assert office_ips[0] >= 8
    # Off-platform pushes come from DPRK accounts in varied wording; the bot developers talk
    # about Telegram and Discord without asking anyone to move there.
    apps = r"(telegram|whatsapp|skype|discord|signal|\btg\b|\bwa\b)"
    push = r"\b(on|via|use|my|your) (telegram|whatsapp|skype|discord|signal|tg|wa)\b"
    pushes = con.execute(
        "select sender_account_id, body from messages where regexp_matches(lower(body), ?) "
        "and regexp_matches(lower(body), ?)", [apps, push]).fetchall()
    senders = {labels[s]["scenario"] for s, _ in pushes}
    assert any(s.startswith("dprk_") for s in senders)
    assert not any(s.startswith("legit_") for s in senders)
    assert len({b for _, b in pushes}) >= min(5, len(pushes))
    bot = con.execute("select sender_account_id from messages where regexp_matches(lower(body), ?)",
                      [apps]).fetchall()
    assert "legit_telegram_bot_dev" in {labels[a]["scenario"] for (a,) in bot}
    # Text-only / camera-off interviews where video was asked for.
    odd = con.execute("select freelancer_account_id from interviews where requested_mode='video' "
                      "and (held_mode in ('text','voice') or camera_on='false')").fetchall()
    assert any(labels[a]["scenario"].startswith("dprk_") for (a,) in odd)
    # Round-the-clock shift work: 20+ tracked hours on one account and day.
    shift = con.execute(
        "select account_id, sum(epoch(ended_at::timestamptz) - epoch(started_at::timestamptz))"
        "/3600 h from work_sessions group by account_id, started_at[:10] having h >= 20"
    ).fetchall()
    assert shift and all(labels[a]["is_dprk"] == "1" for a, _ in shift)
    # DPRK wider picture: VPN/hosting logins, VoIP phones, remote desktop.
    kinds = con.execute("select distinct account_id from logins where ip_kind in "
                        "('vpn','hosting')").fetchall()
    assert {labels[a]["scenario"] for (a,) in kinds} & {"legit_vpn_privacy"}
    assert any(labels[a]["is_dprk"] == "1" for (a,) in kinds)


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_other_formats_hold_the_same_rows(tmp_path: Path, fmt: str,
                                          csv_run: tuple[Path, GenerateSummary]) -> None:
    out, summary = csv_run
    other = tmp_path / fmt
    result = _run(other, fmt=fmt)
    assert result.rows_per_night == summary.rows_per_night
    night = other / START.isoformat()
    manifest = json.loads((night / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == {f"{t}.{fmt}" for t in TABLES}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((night / name).read_bytes()).hexdigest()
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    n = duckdb.sql(f"select count(*) from {reader}('{night}/logins.{fmt}')").fetchall()[0][0]
    assert n == manifest["files"][f"logins.{fmt}"]["rows"]
    if fmt == "parquet":
        schema = pq.read_schema(night / "logins.parquet")
        assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
        assert schema.field("success").type == pa.bool_()
        assert pq.read_schema(night / "accounts.parquet").field("hourly_rate_usd").type == (
            pa.float64())
        assert pq.read_schema(night / "identity_documents.parquet").field(
            "date_of_birth").type == pa.date32()
        csv_logins = duckdb.sql(
            f"select login_id, ts::timestamptz t, ip from read_csv('{out}/2026-11-23/logins.csv')"
            " order by login_id").fetchall()
        pq_logins = duckdb.sql(
            f"select login_id, ts t, ip from read_parquet('{night}/logins.parquet') "
            "order by login_id").fetchall()
        assert csv_logins == pq_logins


def test_contract_1_1_data_is_realistic(csv_run: tuple[Path, GenerateSummary]) -> None:
    out, _ = csv_run
    con = duckdb.connect()
    for t in ("accounts", "identity_documents", "proposals", "profile_changes"):
        con.execute(f"create view {t} as select * from read_csv('{out}/*/{t}.csv', "
                    "union_by_name=true)")
    # Freelancers bid a few times a week, mostly in their own one or two categories, and write
    # their own letters (no two freelancers send the same letter).
    labels = str(out / "_truth" / "labels.csv")
    per_week = con.execute(
        "select count(*) * 7.0 / ? / count(distinct freelancer_account_id) from proposals p "
        "join read_csv(?) l on l.account_id = p.freelancer_account_id "
        "where l.scenario = 'legit_freelancer'", [DAYS, labels]).fetchall()[0][0]
    assert 1 <= per_week <= 6
    cats = con.execute("select max(n) from (select freelancer_account_id, "
                       "count(distinct job_category) n from proposals p join read_csv(?) l "
                       "on l.account_id = p.freelancer_account_id "
                       "where l.scenario = 'legit_freelancer' group by 1)", [labels]).fetchall()
    assert cats[0][0] <= 3
    shared = con.execute(
        "select count(*) from (select cover_letter from proposals p join read_csv(?) l "
        "on l.account_id = p.freelancer_account_id where not l.scenario like 'dprk%' "
        "and len(string_split(cover_letter, ' ')) >= 25 group by 1 "
        "having count(distinct freelancer_account_id) > 1 "
        "and count(distinct freelancer_account_id) <= 12)", [labels]).fetchall()[0][0]
    assert shared == 0
    texts = con.execute("select count(distinct profile_text), count(profile_text), "
                        "count(referred_by_account_id) from accounts").fetchall()[0]
    assert texts[0] > 0.8 * texts[1] and texts[2] > 0
    refs = con.execute("select count(*) from accounts a join accounts r "
                       "on r.account_id = a.referred_by_account_id "
                       "where r.created_at > a.created_at").fetchall()[0][0]
    assert refs == 0  # referrers were there first
    docs = con.execute(
        "select verification_status, count(*), count(verified_at), "
        "min(epoch(verified_at - submitted_at)), max(epoch(verified_at - submitted_at)) "
        "from identity_documents group by 1 order by 1").fetchall()
    by = {r[0]: r for r in docs}
    assert by.get("pending", ("pending", 0, 0))[2] == 0  # (new sign-ups' documents)
    for status in ("approved", "rejected"):
        assert by[status][2] == by[status][1]
        assert by[status][3] >= 0 and by[status][4] >= 3600
    assert con.execute("select count(*) from profile_changes").fetchall()[0][0] > 0


def test_contract_1_0_writes_no_1_1_data(tmp_path: Path,
                                         csv_run: tuple[Path, GenerateSummary]) -> None:
    out = tmp_path / "v10"
    generate(out, START, DAYS, seed=42, contract_version="1.0", **SIZE)
    for night in _nights(out):
        # The same platform, only without the 1.1 additions: its events are byte-identical.
        for name in ("logins", "work_sessions", "transactions", "messages"):
            assert (night / f"{name}.csv").read_bytes() == (
                csv_run[0] / night.name / f"{name}.csv").read_bytes()
        manifest = json.loads((night / MANIFEST_NAME).read_text())
        assert manifest["contract_version"] == "1.0"
        assert set(manifest["files"]) == {f"{t}.csv" for t in CORE_TABLES}
        assert {p.name for p in night.iterdir()} == set(manifest["files"]) | {MANIFEST_NAME}
        for name in CORE_TABLES:
            header = (night / f"{name}.csv").open().readline().strip().replace('"', "")
            assert tuple(header.split(",")) == TABLES[name].required_column_names
    with pytest.raises(ValueError, match="contract version"):
        generate(tmp_path / "bad", START, 1, contract_version="2.0")


def test_generated_1_1_night_loads_and_validates(tmp_path: Path,
                                                 csv_run: tuple[Path, GenerateSummary]) -> None:
    from itw_radar.ingestion import load_night
    from itw_radar.paths import Home
    from itw_radar.validation import validate_night

    out, summary = csv_run
    home = Home.resolve(tmp_path / "home")
    # the night with the most profile changes (so every 1.1 table has rows to validate)
    busiest = max(summary.rows_per_night, key=lambda n: (
        summary.rows_per_night[n]["profile_changes"] > 0, n != START.isoformat()))
    night = dt.date.fromisoformat(busiest)
    assert summary.rows_per_night[busiest]["profile_changes"] > 0
    result = load_night(home, out, night)
    assert result.rows_quarantined == 0
    report = validate_night(home, night)
    assert report.success, report.failures()
    assert not report.suites["proposals"].skipped
    assert not report.suites["profile_changes"].skipped
    con = duckdb.connect(str(home.warehouse), read_only=True)
    n = con.execute("select count(*) from raw.proposals").fetchall()[0][0]
    filled = con.execute("select count(profile_text), count(referred_by_account_id) "
                         "from raw.accounts").fetchall()[0]
    con.close()
    assert n == summary.rows_per_night[night.isoformat()]["proposals"] > 0
    assert filled[0] > 0


def test_bad_arguments_explain_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate(tmp_path, START, 1, fmt="xlsx")
    with pytest.raises(ValueError, match="days"):
        generate(tmp_path, START, 0)


@pytest.mark.parametrize("seed", [42, 7])
def test_planted_weak_traits_show_in_the_data(seed: int) -> None:
    """A weak trait the labels claim is one the data shows, not one the honest spread hides:
    a low rate is far under its market (the category's rate scaled by the claimed country),
    and high hours are thousands of hours on an account old enough to have worked them."""
    import numpy as np

    from itw_radar.generator import network as net
    from itw_radar.generator import reference as ref
    from itw_radar.generator import scenarios as sc
    from itw_radar.generator.population import build_population

    start_day = (START - dt.date(1970, 1, 1)).days
    p = build_population(seed, 2000, 800, start_day, 30)
    mult = np.array([c.rate_mult for c in ref.COUNTRIES] + [0.8] * len(net.EXTRA_COUNTRIES))
    work = np.where(p.extras["new_category"] >= 0, p.extras["new_category"], p.category)
    market = np.array(ref.CATEGORY_BASE_RATE)[work] * mult[p.country]
    low = np.flatnonzero(p.has(sc.T_LOW_RATE))
    assert len(low) >= 5
    assert (p.rate[low] <= np.maximum(0.45 * market[low] + 0.5, 3.0)).all(), (
        p.rate[low] / market[low])
    hi = np.flatnonzero(p.has(sc.T_HIGH_HOURS)[: p.n_freelancers])
    assert len(hi) >= 3
    weeks = (start_day * 86400 - p.created[hi]) / (7 * 86400)
    assert (weeks >= 4).all(), weeks  # the lifetime rate is judged on accounts of 4 weeks+
    assert (p.lifetime[hi] / weeks >= 60).all(), p.lifetime[hi] / weeks


def test_weak_only_accounts_keep_their_signs_in_the_data(tmp_path: Path) -> None:
    """An account planted with only weak signs stays active (the platform's suspensions hit
    loud operations), and its interview habit is two interviews held without video: one
    camera-off call is what honest people have too, so a single one could not be detected."""
    out = tmp_path / "exports"
    generate(out, START, 14, seed=7, freelancers=2000, clients=800)
    con = _views(out)
    con.execute(f"create view traits as select * from read_csv('{out}/_truth/dprk_traits.csv')")
    quiet = "('dprk_two_weak_signs', 'dprk_low_signal')"
    suspended = con.execute(
        f"select account_id from accounts join labels using (account_id) "
        f"where scenario in {quiet} and status <> 'active'").fetchall()
    assert not suspended
    habits = con.execute(f"""
        select t.account_id, count(i.interview_id) filter (
            where i.requested_mode = 'video' and (i.held_mode <> 'video' or not i.camera_on))
        from traits t left join interviews i on i.freelancer_account_id = t.account_id
        where t.scenario in {quiet} and t.traits like '%text_interview%'
        group by 1""").fetchall()
    assert len(habits) >= 3
    assert all(n >= 2 for _, n in habits), habits
