"""Section 5's analyst stores: a home of its own for the dashboard benchmark, whose serving file
is the large night's (a hard link) and whose cases, reviews and watchlists stores are filled at
the scale of a 1,000,000-account platform before the pages are timed.

The stores are written only through the project's public functions (`itw_radar.cases`,
`itw_radar.reviews`, `itw_radar.watchlists`), one call per change as the dashboard makes them,
so they hold what those functions write (ids, audit rows, decisions recorded by closing a case).
The large night's own home is never written: a seeded decision or watchlist entry there would
change the scores of any later night run on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import ensure_free_disk

ANALYSTS = tuple(f"analyst{i:02d}" for i in range(1, 26))
LEADS = ("lead01", "lead02", "lead03")
ME = ANALYSTS[0]  # the user whose queue "mine" is timed
MARKER = "seeded.json"


@dataclass(frozen=True)
class Seed:
    """How much analyst state to write: cases, review decisions (those recorded by closing
    cases included), reveal-log rows, watchlist entries (besides the shipped lists)."""

    cases: int
    decisions: int
    reveals: int
    watchlist: int
    rule_changes: int = 40


# a 1,000,000-account platform after a year or so of a team of ~25 analysts
FULL_SEED = Seed(cases=5_000, decisions=20_000, reveals=1_000, watchlist=300)
# the quick sizes: a tenth of the cases and decisions (seeding the full stores takes ~15 min)
QUICK_SEED = Seed(cases=500, decisions=2_000, reveals=100, watchlist=300)


def prepare_home(work: Path, large_home: str, seed: Seed) -> tuple[Path, bool]:
    """`<work>/dashboard-home` with the large night's serving file linked in; whether its stores
    still need seeding (they are kept between runs for the same source and seed)."""
    from itw_radar.paths import Home

    source = Home.resolve(large_home).serving
    root = work / "dashboard-home"
    want = {"source": str(source), **asdict(seed)}
    marker = root / MARKER
    kept = marker.is_file() and json.loads(marker.read_text()).get("want") == want
    if not kept:
        shutil.rmtree(root, ignore_errors=True)
    dest = Home.resolve(root).serving
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or os.stat(dest).st_ino != os.stat(source).st_ino:
        dest.unlink(missing_ok=True)
        try:
            os.link(source, dest)  # the same file: no copy of a multi-GB database
        except OSError:
            ensure_free_disk(dest.parent, source.stat().st_size, "the serving file's copy")
            shutil.copy2(source, dest)
    return root, not kept


def write_marker(root: Path, large_home: str, seed: Seed, summary: dict[str, Any]) -> None:
    from itw_radar.paths import Home

    want = {"source": str(Home.resolve(large_home).serving), **asdict(seed)}
    (root / MARKER).write_text(json.dumps({"want": want, "summary": summary}, indent=1))


def saved_summary(root: Path) -> dict[str, Any]:
    return json.loads((root / MARKER).read_text())["summary"]


def _hex(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def _watch_value(list_type: str, i: int, rng: random.Random) -> str:
    return {
        "ip_cidr": f"10.{i // 250 % 250}.{i % 250}.0/24",
        "asn": str(64_512 + i),
        "email_domain": f"bench-{i}.example",
        "email_hash": _hex(rng),
        "phone_hash": _hex(rng),
        "payment_fingerprint": f"pm_fp_{_hex(rng)[:24]}",
        "wallet_address": f"0x{_hex(rng)[:40]}",
        "device_id": f"dev-{_hex(rng)[:20]}",
    }[list_type]


def seed_stores(root: Path, seed: Seed, data: Any) -> dict[str, Any]:
    """Fill the home's cases, reviews and watchlists stores (`data`: dashboard.data with its
    cache bypassed); what was written, and how long it took."""
    from itw_radar import cases, reviews, watchlists
    from itw_radar.paths import Home

    home = Home.resolve(root)
    snap = data.snapshot(home)
    rng = random.Random(28)
    today = dt.date.today()
    t0 = time.perf_counter()

    # the accounts analysts work: the highest scores first (the flagged list's order)
    pool_size = max(100, int(seed.decisions * 0.6))
    pool = data._fetch(snap, """SELECT account_id FROM account_risk
        ORDER BY risk_score DESC, account_id LIMIT ?""", (pool_size,))["account_id"].tolist()
    if not pool:
        raise RuntimeError(f"no scored account in {home.serving}")

    # one case of a whole cluster, opened as the Cases page does (its cluster's members)
    biggest = data._fetch(snap, "SELECT cluster_id, accounts FROM clusters "
                          "ORDER BY accounts DESC, cluster_id LIMIT 1", ())
    made = {"cases": 0, "notes": 0, "updates": 0, "closed": 0, "case_decisions": 0}
    summary: dict[str, Any] = {}
    if len(biggest):
        cluster_id = str(biggest["cluster_id"].iloc[0])
        members = data.cluster_members(snap, cluster_id)["account_id"].tolist()
        cid = cases.create_case(home, f"cluster {cluster_id}", members, LEADS[0], ME,
                                today + dt.timedelta(days=7))
        for k in range(5):
            cases.add_note(home, cid, rng.choice(ANALYSTS), f"checked logins and payouts, {k}")
        cases.update_case(home, cid, ME, status="investigating")
        made["cases"] += 1
        made["notes"] += 5
        made["updates"] += 1
        summary.update(cluster_case=cid, cluster_id=cluster_id, cluster_accounts=len(members),
                       cluster_size=int(biggest["accounts"].iloc[0]))

    sizes, weights = (1, 2, 3, 4, 6), (50, 25, 12, 8, 5)
    while made["cases"] < seed.cases:
        accounts = rng.sample(pool, min(len(pool), rng.choices(sizes, weights)[0]))
        assignee = None if rng.random() < 0.25 else rng.choice(ANALYSTS)
        due = None if rng.random() < 0.3 else today + dt.timedelta(days=rng.randint(-45, 30))
        cid = cases.create_case(home, f"review of {accounts[0]}", accounts,
                                rng.choice(ANALYSTS), assignee, due)
        made["cases"] += 1
        for k in range(rng.choice((0, 1, 1, 2, 3))):
            cases.add_note(home, cid, assignee or rng.choice(ANALYSTS),
                           f"note {k}: compared the documents and the login countries")
            made["notes"] += 1
        r = rng.random()
        if r < 0.55:
            decision = rng.choices(cases.DECISIONS, (30, 50, 20))[0]
            cases.update_case(home, cid, assignee or rng.choice(ANALYSTS), status="closed",
                              decision=decision)
            made["closed"] += 1
            if decision in ("confirmed", "false_positive"):
                made["case_decisions"] += len(accounts)
        elif r < 0.80:
            cases.update_case(home, cid, assignee or rng.choice(ANALYSTS),
                              status="investigating" if r < 0.70 else "waiting")
        else:
            continue
        made["updates"] += 1

    statuses, status_weights = reviews.STATUSES, (25, 35, 15, 25)
    direct = max(0, seed.decisions - made["case_decisions"])
    for _ in range(direct):
        reviews.record_decision(home, rng.choice(pool), rng.choices(statuses, status_weights)[0],
                                "checked the evidence rows", rng.choice(ANALYSTS))
    for _ in range(seed.reveals):
        reviews.log_reveal(home, rng.choice(pool), "profile", rng.choice(ANALYSTS))

    types = list(watchlists.LIST_TYPES)
    ids = []
    for i in range(seed.watchlist):
        list_type = types[i % len(types)]
        expires = None if rng.random() < 0.8 else today + dt.timedelta(days=rng.randint(30, 365))
        ids.append(watchlists.add_entry(home, list_type, _watch_value(list_type, i, rng),
                                        f"advisory {i // 20}", "named by a partner's report",
                                        rng.choice(LEADS), expires))
    ended = rng.sample(ids, len(ids) // 10)
    for k, entry_id in enumerate(ended):
        (watchlists.expire_entry if k % 2 else watchlists.remove_entry)(
            home, entry_id, rng.choice(LEADS), "no longer seen")
    for _ in range(5):
        watchlists.log_reveal(home, rng.choice(LEADS))

    rules_made = _seed_rules(home, seed.rule_changes, rng)

    latest = reviews.latest_decisions(home)
    # one audit row per case opened, note and status change (update_case logs each change)
    events = made["cases"] + made["notes"] + made["updates"]
    summary.update(
        cases=made["cases"], closed=made["closed"], notes=made["notes"], audit_events=events,
        decisions=made["case_decisions"] + direct, decided_accounts=len(latest),
        reveals=seed.reveals, watchlist_added=seed.watchlist, watchlist_ended=len(ended),
        watchlist_active=len(watchlists.entries(home)),
        watchlist_all=len(watchlists.entries(home, include_inactive=True)), **rules_made,
        seconds=round(time.perf_counter() - t0, 1))
    return summary


def _seed_rules(home: Any, n: int, rng: random.Random) -> dict[str, Any]:
    """`n` proposed weight changes (itw_radar.rules.propose), each decided by a second lead at
    once (approved or rejected) but the last few, left pending: the Backtest page's history."""
    from itw_radar import rules

    weights = rules.defaults()["weights"]
    ids = sorted(weights)
    made = {"rule_proposals": 0, "rule_approved": 0, "rule_pending": 0}
    for i in range(n):
        key = rng.choice(ids)
        value = round(float(weights[key] or 1) * rng.uniform(0.6, 1.4), 2)
        who = rng.sample(LEADS, 2)
        try:
            pid = rules.propose(home, f"weights:\n  {key}: {value}\n",
                                f"tuning {key} after review {i}", who[0])
        except rules.RulesError:
            continue  # the value is active already
        made["rule_proposals"] += 1
        if i >= n - 3:
            made["rule_pending"] += 1
            continue
        approve = rng.random() < 0.6
        rules.decide(home, pid, "approved" if approve else "rejected", "checked the backtest",
                     who[1])
        made["rule_approved"] += approve
    return made
