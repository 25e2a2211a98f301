"""Contract 1.1 events: proposals (bids with cover letters) and profile changes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from itw_radar.generator import encode, prose
from itw_radar.generator import population as popm
from itw_radar.generator import reference as ref
from itw_radar.generator.entities import PROFILE_FIELDS, Changes, World, account_ids
from itw_radar.generator.events import CHUNK, IdCounter, _after_creation, _daytime, _fold, _offsets
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
    return rate * np.asarray(p.extras.get("bid_mult", np.ones(p.n)))[a]


def proposal_batches(world: World, day: int, ids: IdCounter, seed: int
                     ) -> Iterator[pa.RecordBatch]:
    p = world.pop
    t0 = (p.start_day + day) * DAY
    weekend = ((p.start_day + day + 3) % 7) >= 5
    _, op = _offsets(world, day)
    for ci, a0 in enumerate(range(0, p.n_freelancers, CHUNK)):
        rng = np.random.default_rng([seed, 30, day, ci])
        a = np.arange(a0, min(a0 + CHUNK, p.n_freelancers))
        alive = (p.status[a] == 0) & (p.created_day[a] <= day)
        cnt = rng.poisson(proposal_rate(world, a, weekend)) * alive
        acc = np.repeat(a, cnt)
        k = len(acc)
        if not k:
            continue
        num = ids.raw("proposals", k)
        cat = np.where(rng.random(k) < 0.8, p.category[acc], second_category(p, acc))
        spread = p.extras.get("spread_cats")
        if spread is not None:  # proposal spray: any category at all
            wide = spread[acc] & (rng.random(k) < 0.7)
            cat = np.where(wide, rng.integers(0, N_CAT, size=k), cat)
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
        persona = mode == popm.TEXT_PERSONA
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
