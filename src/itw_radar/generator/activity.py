"""Contract 1.1 events: proposals (bids with cover letters) and profile changes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from itw_radar.generator import encode, prose
from itw_radar.generator import population as popm
from itw_radar.generator import reference as ref
from itw_radar.generator import scenarios as sc
from itw_radar.generator.entities import (
    PROFILE_FIELDS,
    Changes,
    World,
    account_ids,
    contract_ids,
)
from itw_radar.generator.events import (
    CHUNK,
    IdCounter,
    _after_creation,
    _daytime,
    _fold,
    _offsets,
    day_start,
)
from itw_radar.generator.population import DAY
from itw_radar.generator.writer import SCHEMAS, TS

N_CAT = len(ref.CATEGORIES)
_GENERIC_LETTER = pa.array([prose.GENERIC_LETTER], pa.string())


def _ts(v: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(v, dtype=np.int64)).cast(TS)


def second_category(p: popm.Population, a: np.ndarray) -> np.ndarray:
    """The one other category a freelancer also bids in (stable per account)."""
    step = 1 + (encode.hash64(600, a.astype(np.uint64)) % np.uint64(N_CAT - 1)).astype(np.int64)
    return (p.category[a].astype(np.int64) + step) % N_CAT


def proposal_rate(world: World, a: np.ndarray, weekend: bool) -> np.ndarray:
    """Expected proposals a day: job seekers bid more, busy freelancers a little."""
    p = world.pop
    rate = np.where(world.active_contract[a] >= 0, 0.12, 0.5)
    rate = rate * (0.45 if weekend else 1.0)
    own = p.extras["bid_rate"][a]
    spray = p.extras["bid_cats"][a] > 0  # sprayers bid on weekends too
    return np.where(own > 0, own * np.where(spray, 1.0, 0.45 if weekend else 1.0), rate)


def proposal_batches(world: World, day: int, ids: IdCounter, seed: int
                     ) -> Iterator[pa.RecordBatch]:
    p = world.pop
    t0 = (p.start_day + day) * DAY
    weekend = ((p.start_day + day + 3) % 7) >= 5
    _, op = _offsets(world, day)
    for ci, a0 in enumerate(range(0, p.n_freelancers, CHUNK)):
        rng = np.random.default_rng([seed, 30, day, ci])
        a = np.arange(a0, min(a0 + CHUNK, p.n_freelancers))
        alive = (p.status[a] == 0) & (p.created_day[a] <= day) & (p.extras["wake_day"][a] <= day)
        cnt = rng.poisson(proposal_rate(world, a, weekend)) * alive
        acc = np.repeat(a, cnt)
        k = len(acc)
        if not k:
            continue
        num = ids.raw("proposals", k)
        cat = np.where(rng.random(k) < 0.8, p.category[acc], second_category(p, acc))
        n_cats = p.extras["bid_cats"][acc].astype(np.int64)
        wide = n_cats > 0  # proposal spray: anything in several unrelated categories
        if wide.any():
            step = (rng.random(int(wide.sum())) * n_cats[wide]).astype(np.int64)
            cat[wide] = (p.category[acc[wide]].astype(np.int64) + step * 5) % N_CAT
        client = world._pick_clients(rng, k, t0)
        job = client.astype(np.int64) * 1000 + (day // 6) * 8 + rng.integers(0, 8, size=k)
        ts = _after_creation(rng, _fold(t0, _daytime(rng, k), op[acc]),
                             np.maximum(p.created[acc], p.created[client]), t0)
        hourly = rng.random(k) < 0.65
        rate = np.nan_to_num(p.rate[acc], nan=25.0)
        bid = np.where(hourly, np.round(rate * rng.uniform(0.8, 1.2, size=k), 0),
                       np.round(rng.lognormal(np.log(450), 0.9, size=k), -1))
        bid = np.maximum(bid, 5.0)
        letters = prose.cover_letters(acc, num, cat)
        mode = p.text_mode[acc]
        generic = (mode == popm.TEXT_SHORT) & (rng.random(k) < 0.6)
        if generic.any():
            letters = pc.replace_with_mask(
                letters, pa.array(generic), _GENERIC_LETTER.take(
                    pa.array(np.zeros(int(generic.sum()), np.int64))))
        persona = p.extras["persona_letter"][acc]
        if persona.any():
            letters = pc.replace_with_mask(
                letters, pa.array(persona), prose.persona_letters(p.op[acc[persona]],
                                                                  num[persona]))
        order = np.lexsort((ts, acc))
        yield pa.RecordBatch.from_arrays([
            encode.ids("prp_", num, 13), account_ids(acc), account_ids(client),
            encode.ids("job_", job, 12), encode.take_str(popm.CATEGORY_STR, cat),
            _ts(ts), pa.array(bid, mask=rng.random(k) < 0.04),
            encode.masked(letters, rng.random(k) < 0.03),
        ], schema=SCHEMAS["proposals"]).take(pa.array(order))


def profile_change_batches(world: World, day: int, ids: IdCounter, ch: Changes
                           ) -> Iterator[pa.RecordBatch]:
    p = world.pop
    t0 = (p.start_day + day) * DAY
    for acc, fld, old, new, ns in ch.profile:
        k = len(acc)
        if not k:
            continue
        when = np.clip(p.updated[acc], t0, t0 + DAY - 1)
        yield pa.RecordBatch.from_arrays([
            encode.ids("pch_", ids.raw("profile_changes", k), 13), account_ids(acc), _ts(when),
            encode.take_str(PROFILE_FIELDS, np.full(k, fld)),
            encode.masked(encode.sha_hex(ns, np.maximum(old, 0).astype(np.uint64)), old < 0),
            encode.masked(encode.sha_hex(ns, np.maximum(new, 0).astype(np.uint64)), new < 0),
        ], schema=SCHEMAS["profile_changes"])


__all__ = ["profile_change_batches", "proposal_batches"]


def multi_session_batches(world: World, day: int, ids: IdCounter, seed: int
                          ) -> Iterator[pa.RecordBatch]:
    """Work sessions of freelancers with several contracts at once: DPRK multi-job workers
    track overlapping time on different contracts, legit multi-client freelancers work them
    back to back (now and then a timer left running a few minutes)."""
    p = world.pop
    e = p.extras
    t0 = (p.start_day + day) * DAY
    weekend = ((p.start_day + day + 3) % 7) >= 5
    _, op = _offsets(world, day)
    rng = np.random.default_rng([seed, 31, day])
    acc = np.flatnonzero((e["multi"] > 0) & (p.status == 0) & (p.created_day <= day)
                         & (e["wake_day"] <= day))
    dprk = e["multi"][acc] == 1
    acc = acc[rng.random(len(acc)) < np.where(dprk, 0.8 if weekend else 0.97,
                                              0.2 if weekend else 0.92)]
    k = len(acc)
    if not k:
        return
    dprk = e["multi"][acc] == 1
    ctr = np.stack([world.active_contract[acc], world.extra_contracts[acc, 0],
                    world.extra_contracts[acc, 1]], axis=1)
    s0 = rng.normal(8.8, 1.0, size=k)
    dur = rng.uniform(1.5, 3.5, size=(k, 3))
    gap = rng.uniform(0.05, 0.5, size=(k, 3))
    forgot = rng.random((k, 3)) < 0.15  # a timer left running: under 15 minutes of overlap
    gap = np.where(forgot, -rng.uniform(2, 10, size=(k, 3)) / 60.0, gap)
    order = np.argsort(rng.random((k, 3)), axis=1)
    start = np.zeros((k, 3))
    t = s0.copy()
    rows = np.arange(k)
    for pos in range(3):
        j = order[:, pos]
        start[rows, j] = t
        t = t + np.where(ctr[rows, j] >= 0, dur[rows, j] + gap[rows, j], 0.0)
    # DPRK overlap days: the second (and sometimes third) contract runs inside the first.
    ov_day = dprk & (rng.random(k) < e["overlap_p"][acc])
    ov = e["overlap_h"][acc] * rng.uniform(0.95, 1.08, size=k)
    if ov_day.any():
        i = np.flatnonzero(ov_day)
        main = ov[i] + rng.uniform(1.5, 3.0, size=len(i))
        start[i, 0], dur[i, 0] = s0[i], main
        start[i, 1] = s0[i] + rng.uniform(0.2, 1.0, size=len(i)) * (main - ov[i])
        dur[i, 1] = ov[i]
        three = (e["overlap_h"][acc[i]] >= 3.0) & (rng.random(len(i)) < 0.4)
        start[i, 2] = np.where(three, start[i, 1] + rng.uniform(0, 0.3, len(i)),
                               s0[i] + main + rng.uniform(0.1, 0.6, len(i)))
        dur[i, 2] = np.where(three, ov[i] * 0.8, dur[i, 2])
    valid = ctr >= 0
    a = np.repeat(acc, 3).reshape(k, 3)[valid]
    c = ctr[valid]
    # One fold per account and day: the day's blocks stay in order even across midnight UTC.
    first = day_start(t0, s0, op[acc])
    base = np.repeat(first - np.round(s0 * 3600).astype(np.int64), 3).reshape(k, 3)[valid]
    started = base + np.round(start[valid] * 3600).astype(np.int64)
    ended = started + np.round(dur[valid] * 3600).astype(np.int64)
    keep = (started >= p.created[a]) & (started >= t0) & (started < t0 + DAY)
    a, c, started, ended = a[keep], c[keep], started[keep], ended[keep]
    m = len(a)
    if not m:
        return
    world.tracked += np.bincount(a, weights=(ended - started) / 3600.0, minlength=p.n)
    rd = rng.random(m) < np.where(p.has(sc.T_REMOTE_DESKTOP)[a], 0.65, 0.004)
    order2 = np.lexsort((started, a))
    yield pa.RecordBatch.from_arrays([
        ids.take("work_sessions", m), account_ids(a), contract_ids(c), _ts(started),
        _ts(ended), pa.array(rd, mask=rng.random(m) < 0.06),
    ], schema=SCHEMAS["work_sessions"]).take(pa.array(order2))
