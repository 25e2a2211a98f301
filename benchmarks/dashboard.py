"""Section 5 (dashboard): each dashboard page's queries on the large night's serving database,
uncached."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import (
    ROOT,
    STEPS,
    Home_resolve,
    _med,
    _p95,
    _preamble,
    _save,
    _saved,
    run_step,
    write_section,
)
from benchmarks.large import run_large_benchmark
from benchmarks.plot import write_plot


def _step_dashboard(args: dict) -> dict:
    """Each dashboard page's queries, uncached, `repeats` times: seconds per query."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from dashboard import data

    # bypass st.cache_data: the module's functions call these two by name
    data.query = lambda snap, sql, params=(): data._fetch(snap, sql, params)
    data.query_with_reviews = (
        lambda snap, sql, params, live: data._fetch(snap, sql, params, (("live_reviews", live),)))
    snap = data.snapshot(Home_resolve(args["home"]))
    if snap is None:
        raise RuntimeError(f"no serving database under {args['home']}")
    live = pd.DataFrame({"account_id": pd.Series([], dtype="string"),
                         "status": pd.Series([], dtype="string"),
                         "author": pd.Series([], dtype="string")})
    top = data.flagged_page(snap, data.FlagFilters(), live, page_size=1)
    acct = str(top["account_id"].iloc[0]) if len(top) else "none"
    cl = data.clusters(snap, limit=1)
    cluster_id = str(cl["cluster_id"].iloc[0]) if len(cl) else "none"
    night = data.as_of(snap)
    some_ind = data.indicators(snap)
    ind = (str(some_ind.iloc[0, 0]),) if len(some_ind) else ()
    filt = data.FlagFilters(indicators=ind, search="a")
    pages: dict[str, dict[str, Callable[[], object]]] = {
        "overview": {
            "nights": lambda: data.nights(snap), "as_of": lambda: data.as_of(snap),
            "tier_counts": lambda: data.tier_counts(snap),
            "new_high": lambda: data.new_high(snap),
            "high_risk_payouts": lambda: data.high_risk_payouts(snap),
            "tier_trend": lambda: data.tier_trend(snap),
            "indicator_trend": lambda: data.indicator_trend(snap)},
        "flagged": {
            "filter_options": lambda: data.filter_options(snap),
            "flagged_count": lambda: data.flagged_count(snap, data.FlagFilters(), live),
            "flagged_page": lambda: data.flagged_page(snap, data.FlagFilters(), live),
            "flagged_count (indicator + search filter)":
                lambda: data.flagged_count(snap, filt, live),
            "flagged_page (indicator + search filter)":
                lambda: data.flagged_page(snap, filt, live)},
        "account": {
            "account": lambda: data.account(snap, acct),
            "profile": lambda: data.profile(snap, acct),
            "score_history": lambda: data.score_history(snap, acct),
            "hits": lambda: data.hits(snap, acct), "logins": lambda: data.logins(snap, acct),
            "links": lambda: data.links(snap, acct),
            "messages": lambda: data.messages(snap, acct)},
        "networks": {
            "clusters": lambda: data.clusters(snap),
            "cluster": lambda: data.cluster(snap, cluster_id),
            "cluster_members": lambda: data.cluster_members(snap, cluster_id),
            "cluster_links": lambda: data.cluster_links(snap, cluster_id)},
        "data quality": {
            "pipeline_runs": lambda: data.pipeline_runs(snap),
            "indicators": lambda: data.indicators(snap),
            "load_files": lambda: data.load_files(snap, night),
            "load_totals": lambda: data.load_totals(snap),
            "gx_results": lambda: data.gx_results(snap, night, False),
            "quarantine_summary": lambda: data.quarantine_summary(snap, night)},
    }
    times: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    for page, queries in pages.items():
        for name, fn in queries.items():
            key = f"{page}: {name}"
            for _ in range(args["repeats"]):
                t0 = time.perf_counter()
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - reported in the doc, not hidden
                    errors[key] = str(exc).splitlines()[0][:200]
                    break
                times.setdefault(key, []).append(time.perf_counter() - t0)
    return {"times": times, "errors": errors}


STEPS.update({"dashboard": _step_dashboard})


def run_dashboard_benchmark(work: Path, doc: Path, *, repeats: int, quick: bool = False) -> str:
    """Section 5: each dashboard page's queries on the large night's serving DB, uncached."""
    saved = _saved(work).get("large")
    if saved is None or not saved.get("home") or not Path(saved["home"]).is_dir():
        run_large_benchmark(work, doc, repeats=1, quick=quick)
        saved = _saved(work)["large"]
    n = max(5, repeats * (3 if quick else 10))
    r = run_step("dashboard", {"home": saved["home"], "repeats": n})
    _save(work, "dashboard", r)
    lines = ["| page: query | median s | p95 s |", "|---|---:|---:|"]
    worst = 0.0
    for key, vals in r["times"].items():
        worst = max(worst, _p95(vals))
        lines.append(f"| {key} | {_med(vals):.3f} | {_p95(vals):.3f} |")
    for key, err in r["errors"].items():
        lines.append(f"| {key} | error: {err} | |")
    body = "\n".join([
        f"## 5. Dashboard queries on the serving database of the {saved['label']}",
        "",
        _preamble(1, "python -m benchmarks --sections dashboard"),
        "",
        f"Each query function of `dashboard/data.py`, {n} times, with Streamlit's cache "
        "bypassed (each call opens a new connection and ATTACHes the serving file, as the "
        "dashboard does). An empty live-reviews frame.",
        "",
        f"**Worst p95 {worst:.3f} s** (target ≤ 1 s: {'met' if worst <= 1 else 'MISSED'}).",
        "",
        *lines,
    ])
    write_section(doc, "dashboard", body)
    write_plot(work, doc.with_suffix(".png"))
    return body


