"""One day's events, generated vectorised in chunks of accounts or contracts.

Times are drawn in the local day of whoever acts (the claimed zone, or UTC+8/+9 for DPRK
operators who keep their own hours) and folded into the UTC export day.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from itw_radar.generator import encode, text
from itw_radar.generator import network as net
from itw_radar.generator import reference as ref
from itw_radar.generator import scenarios as sc
from itw_radar.generator.entities import (
    ACTIVE,
    COMPLETED,
    CRYPTO,
    World,
    account_ids,
    contract_ids,
    pm_ids,
)
from itw_radar.generator.population import DAY
from itw_radar.generator.writer import SCHEMAS, TS

CHUNK = 50_000
UA_STR = pa.array(ref.USER_AGENTS, pa.string())
_MOBILE_UA = np.array([7, 8, 9, 10, 11])
_DESK_UA = np.array([0, 1, 2, 3, 4, 5, 6, 12, 13])
MODES = pa.array(("video", "voice", "text", "none"))
OUTCOMES = pa.array(("hired", "rejected", "no_show", "cancelled"))
KINDS_TX = pa.array(("client_charge", "freelancer_payout", "refund"))


class IdCounter:
    """Event ids unique across nights: `<prefix><epoch day><sequence>`."""

    PREFIX = {"logins": "lgn_", "work_sessions": "ses_", "interviews": "itv_",
              "reviews": "rev_", "transactions": "txn_", "messages": "msg_",
              "proposals": "prp_", "profile_changes": "pch_"}

    def __init__(self, epoch_day: int) -> None:
        self.base = epoch_day * 100_000_000
        self.next = dict.fromkeys(self.PREFIX, 0)

    def take(self, table: str, k: int) -> pa.Array:
        start = self.next[table]
        self.next[table] = start + k
        return encode.ids(self.PREFIX[table], self.base + np.arange(start, start + k), 13)

    def raw(self, table: str, k: int) -> np.ndarray:
        start = self.next[table]
        self.next[table] = start + k
        return self.base + np.arange(start, start + k)


def _ts(v: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(v, dtype=np.int64)).cast(TS)


def _fold(t0: int, local_hours: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Seconds: a local clock time folded into the UTC day starting at t0."""
    sec = np.round((local_hours - offset) * 3600.0).astype(np.int64)
    return t0 + np.mod(sec, DAY)


def day_start(t0: int, local_hours: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Seconds: when a work day starting at a local clock time begins inside the UTC day t0.
    Not folded around midnight but held inside the day, so one day's work never lands after
    the next day's (a day that would start before midnight UTC starts at 00:00 instead)."""
    sec = np.round((local_hours - offset) * 3600.0).astype(np.int64)
    sec = np.where(sec >= DAY, sec - DAY, sec)  # a whole day ahead: that local day is today
    return t0 + np.clip(sec, 0, DAY - 3600)


def _offsets(world: World, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(claimed-zone offset, operating offset) in hours for every account on `day`."""
    p = world.pop
    claimed = net.tz_offsets_hours(p.start_day + day)[p.tz]
    op = np.where(np.isnan(p.op_offset), claimed, p.op_offset.astype(np.float64))
    e = p.extras
    shifted = switched(p, day) & ((e["after_mode"] & 4) > 0) & ~np.isnan(e["after_offset"])
    op = np.where(shifted, e["after_offset"], op)
    return claimed, op


def switched(p, day: int) -> np.ndarray:
    """Accounts whose switch (handover after verification, return from dormancy, new laptop)
    happened before this day began."""
    return p.extras["switch_ts"] <= (p.start_day + day) * DAY


def switched_at(p, acc: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per event: at or after its account's switch."""
    return ts >= p.extras["switch_ts"][acc]


def awake(p, day: int) -> np.ndarray:
    return p.extras["wake_day"] <= day


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For repeated rows: (group index of each row, position of each row inside its group)."""
    grp = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return grp, np.arange(int(counts.sum())) - starts[grp]


def _daytime(rng: np.random.Generator, k: int) -> np.ndarray:
    h = 7.0 + 15.5 * rng.beta(2.2, 2.0, size=k)
    owl = rng.random(k) < 0.04
    h[owl] = rng.uniform(0, 24, size=int(owl.sum()))
    return h


def _after_creation(rng: np.random.Generator, ts: np.ndarray, created: np.ndarray, t0: int
                    ) -> np.ndarray:
    late = ts < created
    if late.any():
        room = np.maximum(t0 + DAY - 1 - created[late], 1)
        ts = ts.copy()
        ts[late] = created[late] + (rng.random(int(late.sum())) * room).astype(np.int64)
    return np.minimum(ts, t0 + DAY - 1)


# ------------------------------------------------------------------------------- logins
def login_batches(world: World, day: int, ids: IdCounter, seed: int) -> Iterator[pa.RecordBatch]:
    p = world.pop
    t0 = (p.start_day + day) * DAY
    weekend = ((p.start_day + day + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    _, op = _offsets(world, day)
    shift = p.has(sc.T_SHIFT)
    for ci, a0 in enumerate(range(0, p.n, CHUNK)):
        rng = np.random.default_rng([seed, 10, day, ci])
        a = np.arange(a0, min(a0 + CHUNK, p.n))
        alive = (p.status[a] == 0) & (p.created_day[a] <= day) & awake(p, day)[a]
        client = p.is_client[a]
        p_act = np.where(client, 0.5 if weekend else 0.86, 0.75 if weekend else 0.95)
        p_act = np.where(p.is_dprk[a], 0.97, p_act)
        act = alive & (rng.random(len(a)) < p_act)
        cnt = np.where(client, 1 + rng.binomial(3, 0.6, size=len(a)),
                       1 + rng.binomial(5, 0.5, size=len(a)))
        cnt = cnt + np.where(shift[a] | p.scenario_is("legit_heavy_worker")[a], 2, 0)
        acc = np.repeat(a[act], cnt[act])
        k = len(acc)
        if not k:
            continue
        hours = _daytime(rng, k)
        sh = shift[acc]
        hours[sh] = rng.uniform(0, 24, size=int(sh.sum()))
        ts = _after_creation(rng, _fold(t0, hours, op[acc]), p.created[acc], t0)
        order = np.lexsort((ts, acc))
        acc, ts = acc[order], ts[order]

        src = _sources(world, rng, acc, day, ts)
        ranges, ips = _addresses(world, rng, acc, src, day)
        ip_str = encode.ipv4(ips)
        v6 = (src == 0) & p.v6[acc] & (rng.random(k) < 0.6)
        if v6.any():
            c6 = np.minimum(p.country[acc[v6]], len(ref.COUNTRIES) - 1)
            v6_str = encode.ipv6(encode.take_str(net.V6_PREFIX, c6),
                                 encode.hash64(41, acc[v6].astype(np.uint64) * 64 + day % 64))
            ip_str = pc.replace_with_mask(ip_str, pa.array(v6), v6_str)
        dev_key, mobile = _devices(world, rng, acc, src, ts)
        dev_hash = encode.hash64(5, dev_key)
        ua = np.where(mobile, _MOBILE_UA[dev_hash % np.uint64(5)],
                      _DESK_UA[dev_hash % np.uint64(len(_DESK_UA))])
        success = rng.random(k) > np.where(p.is_dprk[acc], 0.08, 0.03)
        kind = net.RANGE_KIND[ranges].astype(np.int64)
        kind_unknown = rng.random(k) < 0.01
        kind[kind_unknown] = net.KIDX["unknown"]
        yield pa.RecordBatch.from_arrays([
            ids.take("logins", k), account_ids(acc), _ts(ts), ip_str,
            encode.masked(encode.take_str(net.COUNTRY_STR, net.RANGE_COUNTRY[ranges]),
                          rng.random(k) < 0.005),
            pa.array(net.RANGE_ASN[ranges], mask=rng.random(k) < 0.007),
            encode.masked(encode.take_str(net.KIND_STR, kind), rng.random(k) < 0.01),
            encode.masked(pc.binary_join_element_wise("dv_", encode.hex64(dev_hash), ""),
                          rng.random(k) < 0.02),
            encode.masked(encode.take_str(UA_STR, ua), rng.random(k) < 0.02),
            pa.array(success),
        ], schema=SCHEMAS["logins"])


# Address sources.
HOME, MOBILE, OTHER, SITE, VPN, TOR, CELL, LEAK, TRAVEL, HOSTING, AFTER, GROUP = range(12)


def _sources(world: World, rng: np.random.Generator, acc: np.ndarray, day: int,
             ts: np.ndarray) -> np.ndarray:
    p = world.pop
    k = len(acc)
    u = rng.random(k)
    src = np.where(u < 0.66, HOME, np.where(u < 0.92, MOBILE, OTHER)).astype(np.int8)
    scen = p.scenario[acc]
    weekend = ((p.start_day + day + 3) % 7) >= 5
    v = rng.random(k)

    def set_(mask: np.ndarray, value: int) -> None:
        src[mask] = value

    set_((scen == sc.SCENARIO_INDEX["legit_agency_office"]) & (v < (0.2 if weekend else 0.85)),
         SITE)
    set_((scen == sc.SCENARIO_INDEX["legit_coworking_nat"]) & (v < 0.7), SITE)
    set_((scen == sc.SCENARIO_INDEX["legit_nomad"]) & (v < 0.92), TRAVEL)
    vpn_user = scen == sc.SCENARIO_INDEX["legit_vpn_privacy"]
    set_(vpn_user & (v < 0.8), VPN)
    set_(vpn_user & (v >= 0.8) & (v < 0.83), TOR)
    traits = p.traits[acc]
    dprk = p.is_dprk[acc]
    w = rng.random(k)
    shared = sc.has(traits, sc.T_SHARED_IP) | (p.scenario[acc]
                                               == sc.SCENARIO_INDEX["dprk_self_rating_client"])
    vpn = sc.has(traits, sc.T_VPN)
    set_(dprk & vpn & (w < 0.55), VPN)
    set_(dprk & vpn & (w >= 0.55) & (w < 0.7), HOSTING)
    set_(dprk & shared & (v < 0.7), CELL)
    set_(dprk & sc.has(traits, sc.T_IP_LEAK) & (rng.random(k) < 0.06), LEAK)
    e = p.extras
    set_((e["group_range"][acc] >= 0) & (rng.random(k) < e["group_p"][acc]), GROUP)
    after = switched_at(p, acc, ts) & ((e["after_mode"][acc] & 2) > 0)
    set_(after, AFTER)
    return src


def _addresses(world: World, rng: np.random.Generator, acc: np.ndarray, src: np.ndarray,
               day: int) -> tuple[np.ndarray, np.ndarray]:
    p = world.pop
    k = len(acc)
    ranges = p.home_range[acc].astype(np.int64)
    ips = p.home_ip[acc].copy()
    claim = np.minimum(p.extras["live_country"][acc], len(ref.COUNTRIES) - 1)

    def fill(mask: np.ndarray, r: np.ndarray, ip: np.ndarray | None = None) -> None:
        ranges[mask] = r
        ips[mask] = net.address_in(rng, r) if ip is None else ip

    m = src == MOBILE
    fill(m, net.country_range(rng, claim[m], mobile=True))
    m = src == OTHER
    fill(m, net.country_range(rng, claim[m], mobile=False))
    m = src == SITE
    s = p.site[acc[m]]
    fill(m, p.site_range[s], p.site_ip[s])
    m = src == VPN
    k_vpn = int(m.sum())
    # DPRK operators pick US servers; so do half the ordinary VPN customers.
    us = rng.random(k_vpn) < np.where(p.is_dprk[acc[m]], 0.8, 0.5)
    r_vpn = np.where(us, rng.choice(net.US_VPN_RANGES, size=k_vpn),
                     rng.choice(net.VPN_RANGES, size=k_vpn))
    ip_vpn = np.where(rng.random(k_vpn) < 0.4, net.popular_exit(rng, r_vpn),
                      net.address_in(rng, r_vpn))
    # A favourite server (quick-connect): the same exit day after day, 40 % of VPN logins.
    fav_r = p.extras["vpn_fav_range"][acc[m]]
    fav = (fav_r >= 0) & (rng.random(k_vpn) < 0.4)
    r_vpn = np.where(fav, fav_r, r_vpn)
    ip_vpn = np.where(fav, p.extras["vpn_fav_ip"][acc[m]], ip_vpn)
    fill(m, r_vpn, ip_vpn)
    m = src == HOSTING
    fill(m, rng.choice(net.HOSTING_RANGES, size=int(m.sum())))
    m = src == TOR
    fill(m, rng.choice(net.TOR_RANGES, size=int(m.sum())))
    m = src == LEAK
    fill(m, rng.choice(net.LEAK_RANGES, size=int(m.sum())))
    m = src == CELL
    if m.any():
        c = p.cell[acc[m]]
        j = rng.integers(0, 4, size=int(m.sum()))
        fill(m, p.cell_egress_range[c, j], p.cell_egress_ip[c, j])
    e = p.extras
    m = src == AFTER
    if m.any():
        own = rng.random(int(m.sum())) < 0.75
        r = e["after_range"][acc[m]]
        fill(m, r, np.where(own, e["after_ip"][acc[m]], net.address_in(rng, r)))
    m = src == GROUP
    if m.any():
        fill(m, e["group_range"][acc[m]], e["group_ip"][acc[m]])
    m = src == TRAVEL
    if m.any():
        a = acc[m]
        leg = (day // 4 + a) % 3
        where = p.nomad_countries[a, leg].astype(np.int64)
        fill(m, net.country_range(rng, where, mobile=bool(rng.random() < 0.3)))
    del k
    return ranges, ips


def _devices(world: World, rng: np.random.Generator, acc: np.ndarray, src: np.ndarray,
             ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = world.pop
    k = len(acc)
    j = (rng.random(k) * p.n_devices[acc]).astype(np.int64)
    j[src == MOBILE] = 0
    mobile = (j == 0) & (p.n_devices[acc] > 1)
    key = (np.uint64(1) << np.uint64(40)) + acc.astype(np.uint64) * np.uint64(4) + j.astype(
        np.uint64)
    fam = (p.scenario[acc] == sc.SCENARIO_INDEX["legit_family_shared"]) & ~mobile & (
        rng.random(k) < 0.6)
    key[fam] = (np.uint64(2) << np.uint64(40)) + p.site[acc[fam]].astype(np.uint64)
    pool = sc.has(p.traits[acc], sc.T_SHARED_DEVICE) & (rng.random(k) < 0.6)
    key[pool] = (np.uint64(3) << np.uint64(40)) + (p.cell[acc[pool]].astype(np.uint64)
                                                   * np.uint64(8)
                                                   + rng.integers(0, 4, size=int(pool.sum()))
                                                   .astype(np.uint64))
    mobile &= ~fam & ~pool
    # After the switch: new devices (a new laptop keeps the owner's phone).
    new = switched_at(p, acc, ts) & ((p.extras["after_mode"][acc] & 1) > 0)
    laptop = p.scenario[acc] == sc.SCENARIO_INDEX["legit_new_laptop"]
    new &= ~(laptop & mobile)
    key[new] = (np.uint64(5) << np.uint64(40)) + acc[new].astype(np.uint64) * np.uint64(4) + (
        j[new].astype(np.uint64))
    return key, mobile


# ------------------------------------------------------------------------------- sessions
def session_batches(world: World, day: int, ids: IdCounter, seed: int
                    ) -> Iterator[pa.RecordBatch]:
    p = world.pop
    t0 = (p.start_day + day) * DAY
    weekend = ((p.start_day + day + 3) % 7) >= 5
    _, op = _offsets(world, day)
    shift_all = p.has(sc.T_SHIFT)
    heavy_all = p.scenario_is("legit_heavy_worker")
    for ci, a0 in enumerate(range(0, p.n_freelancers, CHUNK)):
        rng = np.random.default_rng([seed, 11, day, ci])
        a = np.arange(a0, min(a0 + CHUNK, p.n_freelancers))
        alive = (p.status[a] == 0) & (p.created_day[a] <= day) & awake(p, day)[a]
        alive &= p.extras["multi"][a] == 0  # several contracts: multi_sessions
        has_work = (world.active_contract[a] >= 0) | p.is_dprk[a]
        shift, heavy = shift_all[a], heavy_all[a]
        p_work = np.where(heavy, 0.85 if weekend else 0.97, 0.25 if weekend else 0.7)
        p_work = np.where(p.is_dprk[a], 0.9, p_work)
        p_work = np.where(shift, 1.0, p_work)
        work = a[alive & has_work & (rng.random(len(a)) < p_work)]
        if not len(work):
            continue
        sh, hv = shift_all[work], heavy_all[work]
        n_s = np.where(sh, rng.integers(3, 5, size=len(work)),
                       np.where(hv, rng.integers(3, 5, size=len(work)),
                                1 + rng.binomial(2, 0.5, size=len(work))))
        s0 = np.where(sh, rng.uniform(0, 24, size=len(work)),
                      np.where(hv, rng.normal(7.5, 1.0, size=len(work)),
                               rng.normal(9.3, 1.4, size=len(work))))
        grp, _pos = _segments(n_s)
        acc = work[grp]
        m = len(acc)
        shift_total = rng.uniform(20.5, 23.2, size=len(work))  # hours a day, three operators
        dur = np.where(sh[grp], shift_total[grp] / n_s[grp],
                       np.where(hv[grp], rng.uniform(2.0, 3.2, size=m),
                                rng.uniform(0.6, 3.2, size=m)))
        gap = np.where(sh[grp], rng.uniform(0.02, 0.15, size=m),
                       np.where(hv[grp], rng.uniform(0.3, 1.1, size=m),
                                rng.uniform(0.3, 2.2, size=m)))
        step = dur + gap
        cum = np.cumsum(step) - step
        first = np.cumsum(n_s) - n_s
        # One fold per account and day: its sessions follow each other even across midnight
        # UTC (folding each one alone could wrap a late session onto the next day's work).
        offset = np.round((cum - cum[first][grp]) * 3600).astype(np.int64)
        started = day_start(t0, s0, op[work])[grp] + offset
        keep = (started >= p.created[acc]) & (started < t0 + DAY)
        acc, started, dur = acc[keep], started[keep], dur[keep]
        m = len(acc)
        ended = started + np.round(dur * 3600).astype(np.int64)
        world.tracked += np.bincount(acc, weights=dur, minlength=p.n)
        contract = world.active_contract[acc]
        rd_p = np.where(sc.has(p.traits[acc], sc.T_REMOTE_DESKTOP), 0.65,
                        np.where(p.scenario[acc] == sc.SCENARIO_INDEX["legit_agency_office"],
                                 0.03, 0.004))
        rd = rng.random(m) < rd_p
        yield pa.RecordBatch.from_arrays([
            ids.take("work_sessions", m), account_ids(acc),
            encode.masked(contract_ids(np.maximum(contract, 0)), contract < 0),
            _ts(started), _ts(ended),
            pa.array(rd, mask=rng.random(m) < 0.06),
        ], schema=SCHEMAS["work_sessions"])


# ----------------------------------------------------------------- contract-driven events
def _thread_ids(ns: int, a: np.ndarray, b: np.ndarray | None = None) -> pa.Array:
    key = a.astype(np.uint64) if b is None else a.astype(np.uint64) * np.uint64(
        2_000_003) + b.astype(np.uint64)
    return pc.binary_join_element_wise("th_", encode.hex64(encode.hash64(ns, key)), "")


class DayEvents:
    """Interviews, messages, transactions and reviews of one day (their volume follows
    contracts, so they are generated per slice of the contract store)."""

    def __init__(self, world: World, day: int, ids: IdCounter, seed: int, changes) -> None:
        self.w = world
        self.p = world.pop
        self.day = day
        self.ids = ids
        self.seed = seed
        self.ch = changes
        self.t0 = (self.p.start_day + day) * DAY
        self.claimed, self.op = _offsets(world, day)

    def _time(self, rng: np.random.Generator, acc: np.ndarray, lo: np.ndarray | None = None,
              use_claimed: bool = False) -> np.ndarray:
        off = self.claimed[acc] if use_claimed else self.op[acc]
        ts = _fold(self.t0, _daytime(rng, len(acc)), off)
        floor = self.p.created[acc] if lo is None else np.maximum(lo, self.p.created[acc])
        return _after_creation(rng, ts, floor, self.t0)

    # interviews -------------------------------------------------------------------------
    def interviews(self) -> tuple[list[pa.RecordBatch], list[pa.RecordBatch]]:
        """Interview rows, plus the messages that go with unusual interviews."""
        p, w = self.p, self.w
        rng = np.random.default_rng([self.seed, 12, self.day])
        c = w.contracts
        hired = self.ch.new_contracts[self.ch.hired_interview]
        fl_h, cl_h = c["fl"][hired], c["client"][hired]
        alive = ((p.status == 0) & (p.created_day <= self.day) & ~p.is_client
                 & awake(p, self.day))
        p_int = np.where(p.has(sc.T_TEXT_INTERVIEW), 0.08, np.where(p.is_dprk, 0.04, 0.01))
        # A planted habit shows as two interviews held without video, 3-12 days apart (one
        # camera-off call is something honest people have too; video_avoidance needs two).
        second = np.minimum(p.special_day + 3 + np.arange(p.n) % 10, p.days - 1)
        due = p.has(sc.T_TEXT_INTERVIEW) & ((p.special_day == self.day) | (second == self.day))
        extra = np.flatnonzero(alive & ((rng.random(p.n) < p_int) | due))
        audio = np.flatnonzero(alive & p.scenario_is("legit_audio_problem")
                               & (p.special_day == self.day))
        fl = np.concatenate([fl_h, extra, audio])
        cl = np.concatenate([cl_h, w._pick_clients(rng, len(extra) + len(audio), self.t0)])
        contract = np.concatenate([hired, np.full(len(extra) + len(audio), -1)])
        k = len(fl)
        if not k:
            return [], []
        req = rng.choice(3, size=k, p=[0.7, 0.15, 0.15])
        held = req.copy()
        down = rng.random(k) < 0.04
        held[down & (req == 0)] = 1
        camera = rng.random(k) < 0.97
        outcome = np.where(contract >= 0, 0, rng.choice([1, 2, 3], size=k, p=[0.6, 0.15, 0.25]))
        due_row = np.zeros(k, bool)
        due_row[len(fl_h): len(fl_h) + len(extra)] = due[extra]
        outcome[due_row] = 1  # the planted text-only interview takes place (and fails)
        held[outcome >= 2] = 3
        text_t = sc.has(p.traits[fl], sc.T_TEXT_INTERVIEW) & (outcome < 2)
        if text_t.any():
            i = np.flatnonzero(text_t)
            req[i] = np.where(rng.random(len(i)) < 0.85, 0, req[i])
            r = rng.random(len(i))
            held[i] = np.where(r < 0.4, 2, np.where(r < 0.7, 1, 0))
            req[i] = np.where(held[i] == 0, 0, req[i])  # a video call always was asked for
            camera[i] = np.where(held[i] == 0, False, camera[i])
        is_audio = np.zeros(k, bool)
        is_audio[k - len(audio):] = True
        if len(audio):
            req[is_audio] = 0
            held[is_audio] = 1
            outcome[is_audio] = np.where(rng.random(len(audio)) < 0.6, 0, 1)
        ts = self._time(rng, cl, lo=np.maximum(p.created[cl], p.created[fl]), use_claimed=True)
        if len(hired):
            ts[: len(hired)] = np.minimum(ts[: len(hired)], c["created"][hired] - 60)
            ts[: len(hired)] = np.maximum(ts[: len(hired)], self.t0)
        rows = [pa.RecordBatch.from_arrays([
            self.ids.take("interviews", k), account_ids(cl), account_ids(fl),
            encode.masked(contract_ids(np.maximum(contract, 0)), contract < 0), _ts(ts),
            encode.take_str(MODES, req), encode.take_str(MODES, held),
            pa.array(camera, mask=held != 0), encode.take_str(OUTCOMES, outcome),
        ], schema=SCHEMAS["interviews"])]
        # Excuses before DPRK text-only interviews; an apology after an honest mishap.
        msgs = []
        ex = np.flatnonzero(text_t & (held != req) & (rng.random(k) < 0.7))
        ap = np.flatnonzero(is_audio & (rng.random(k) < 0.8))
        for sel, bank in ((ex, text.EXCUSES), (ap, text.AUDIO_APOLOGY)):
            if not len(sel):
                continue
            sent = ts[sel] + np.where(bank is text.EXCUSES, -rng.integers(300, 3600, len(sel)),
                                      rng.integers(600, 7200, len(sel)))
            sent = np.clip(sent, np.maximum(self.t0, p.created[fl[sel]]), self.t0 + DAY - 1)
            msgs.append(self._messages(rng, fl[sel], cl[sel], contract[sel], sent,
                                       encode.take_str(bank, rng.integers(0, len(bank),
                                                                          len(sel)))))
        return rows, msgs

    def _messages(self, rng: np.random.Generator, sender: np.ndarray, recipient: np.ndarray,
                  contract: np.ndarray, sent: np.ndarray, body: pa.Array) -> pa.RecordBatch:
        fl = np.where(self.p.is_client[sender], recipient, sender)
        cl = np.where(self.p.is_client[sender], sender, recipient)
        thread = pc.if_else(pa.array(contract >= 0), _thread_ids(51, np.maximum(contract, 0)),
                            _thread_ids(52, fl, cl))
        k = len(sender)
        return pa.RecordBatch.from_arrays([
            self.ids.take("messages", k), thread,
            encode.masked(contract_ids(np.maximum(contract, 0)), contract < 0),
            account_ids(sender), account_ids(recipient), _ts(sent), body,
        ], schema=SCHEMAS["messages"])

    # messages ----------------------------------------------------------------------------
    def contract_messages(self) -> Iterator[pa.RecordBatch]:
        p, c = self.p, self.w.contracts
        live = np.flatnonzero((c["status"] == ACTIVE) | (c["changed"] == self.day))
        for ci, i0 in enumerate(range(0, len(live), 4 * CHUNK)):
            rng = np.random.default_rng([self.seed, 13, self.day, ci])
            ctr = live[i0 : i0 + 4 * CHUNK]
            bot_dev = p.scenario[c["fl"][ctr]] == sc.SCENARIO_INDEX["legit_telegram_bot_dev"]
            ctr = ctr[rng.random(len(ctr)) < np.where(bot_dev, 0.5, 0.22)]  # bot devs: chatty
            fl, cl = c["fl"][ctr], c["client"][ctr]
            ok = (p.status[fl] == 0) & (p.status[cl] == 0)
            ctr, fl, cl = ctr[ok], fl[ok], cl[ok]
            n = 1 + rng.binomial(3, 0.4, size=len(ctr))
            grp, pos = _segments(n)
            k = len(grp)
            if not k:
                continue
            from_fl = (pos + (rng.random(len(ctr)) < 0.5)[grp]) % 2 == 0
            sender = np.where(from_fl, fl[grp], cl[grp])
            recipient = np.where(from_fl, cl[grp], fl[grp])
            base = self._time(rng, fl, lo=c["created"][ctr])
            sent = np.minimum(base[grp] + pos * rng.integers(60, 3000, size=k), self.t0 + DAY - 1)
            body = encode.take_str(text.LEGIT, rng.integers(0, len(text.LEGIT), size=k))
            tg = (p.scenario[fl[grp]] == sc.SCENARIO_INDEX["legit_telegram_bot_dev"]) & from_fl
            tg &= rng.random(k) < 0.75
            if tg.any():
                body = pc.replace_with_mask(body, pa.array(tg), encode.take_str(
                    text.TG_DEV, rng.integers(0, len(text.TG_DEV), size=int(tg.sum()))))
            yield self._messages(rng, sender, recipient, ctr[grp], sent, body)

    def off_platform(self) -> list[pa.RecordBatch]:
        p, w = self.p, self.w
        rng = np.random.default_rng([self.seed, 14, self.day])
        alive = ((p.status == 0) & (p.created_day <= self.day) & ~p.is_client
                 & awake(p, self.day))
        due = (rng.random(p.n) < 0.3) | (p.special_day == self.day)
        fl = np.flatnonzero(alive & p.has(sc.T_OFF_PLATFORM) & due)
        if not len(fl):
            return []
        contract = w.active_contract[fl]
        contract = np.where(rng.random(len(fl)) < 0.5, contract, -1)
        cl = np.where(contract >= 0, w.contracts["client"][np.maximum(contract, 0)],
                      w._pick_clients(rng, len(fl), self.t0))
        sent = self._time(rng, fl, lo=p.created[cl])
        body = encode.take_str(text.OFF_PLATFORM, rng.integers(0, len(text.OFF_PLATFORM),
                                                                size=len(fl)))
        return [self._messages(rng, fl, cl, contract, sent, body)]

    # reviews -----------------------------------------------------------------------------
    def reviews(self) -> list[pa.RecordBatch]:
        p, c = self.p, self.w.contracts
        rng = np.random.default_rng([self.seed, 15, self.day])
        done = self.ch.completed
        if not len(done):
            return []
        fl, cl = c["fl"][done], c["client"][done]
        self_rate = p.linked[cl] >= 0
        by_client = (rng.random(len(done)) < 0.75) | self_rate
        by_fl = (rng.random(len(done)) < 0.45) & ~self_rate
        ctr = np.concatenate([done[by_client], done[by_fl]])
        reviewer = np.concatenate([cl[by_client], fl[by_fl]])
        reviewee = np.concatenate([fl[by_client], cl[by_fl]])
        k = len(ctr)
        rating = rng.choice([5.0, 4.5, 4.0, 3.0, 2.0, 1.0], size=k,
                            p=[0.6, 0.08, 0.2, 0.07, 0.03, 0.02])
        rating[: int(by_client.sum())][self_rate[by_client]] = 5.0
        ts = np.minimum(c["updated"][ctr] + rng.integers(60, 4 * 3600, size=k), self.t0 + DAY - 1)
        ts = np.maximum(ts, c["updated"][ctr])
        return [pa.RecordBatch.from_arrays([
            self.ids.take("reviews", k), contract_ids(ctr), account_ids(reviewer),
            account_ids(reviewee), pa.array(rating), _ts(ts),
        ], schema=SCHEMAS["reviews"])]

    # transactions ------------------------------------------------------------------------
    def transactions(self) -> list[pa.RecordBatch]:
        p, w, c = self.p, self.w, self.w.contracts
        rng = np.random.default_rng([self.seed, 16, self.day])
        weekday = (p.start_day + self.day + 3) % 7
        st, ctype = c["status"], c["ctype"]
        idx = np.arange(c.n)
        weekly = idx[(st == ACTIVE) & (ctype == 0) & (idx % 7 == weekday)]
        escrow = self.ch.new_contracts[(ctype[self.ch.new_contracts] == 1)
                                       & (st[self.ch.new_contracts] == ACTIVE)]
        charged = np.concatenate([weekly, escrow])
        charged = charged[p.status[c["client"][charged]] == 0]
        hours = rng.uniform(3, 40, size=len(charged))
        amount = np.where(ctype[charged] == 0, c["rate"][charged] * hours, c["rate"][charged])
        cl = c["client"][charged]
        ts_c = self._time(rng, cl, lo=np.maximum(c["created"][charged], p.created[cl]),
                          use_claimed=True)
        # Payouts: weekly for freelancers with active work, and on fixed-price completion.
        fl_all = np.flatnonzero((w.active_contract >= 0) & (p.status == 0)
                                & (np.arange(p.n) % 7 == weekday))
        fixed_done = self.ch.completed[ctype[self.ch.completed] == 1]
        fl = np.concatenate([fl_all, c["fl"][fixed_done]])
        pay_ctr = np.concatenate([np.where(rng.random(len(fl_all)) < 0.4,
                                           w.active_contract[fl_all], -1), fixed_done])
        pay_amt = np.concatenate([
            0.9 * np.nan_to_num(p.rate[fl_all], nan=20.0) * rng.uniform(5, 35, len(fl_all)),
            0.9 * c["rate"][fixed_done]])
        pay_pm = w.pay_pm[fl]
        ok = pay_pm >= 0
        fl, pay_ctr, pay_amt, pay_pm = fl[ok], pay_ctr[ok], pay_amt[ok], pay_pm[ok]
        ts_p = self._time(rng, fl, lo=np.maximum(w.pms["added"][pay_pm], self.t0))
        refund = rng.random(len(charged)) < 0.005
        acc = np.concatenate([cl, fl, cl[refund]])
        pm = np.concatenate([w.pay_pm[cl], pay_pm, w.pay_pm[cl[refund]]])
        ctr = np.concatenate([charged, pay_ctr, charged[refund]])
        kind = np.concatenate([np.zeros(len(cl), np.int64), np.ones(len(fl), np.int64),
                               np.full(int(refund.sum()), 2)])
        amt = np.concatenate([amount, pay_amt, amount[refund] * rng.uniform(0.1, 1.0,
                                                                            int(refund.sum()))])
        ts = np.concatenate([ts_c, ts_p, np.minimum(ts_c[refund] + 3600, self.t0 + DAY - 1)])
        ts = np.minimum(np.maximum(ts, w.pms["added"][pm]), self.t0 + DAY - 1)
        ok = pm >= 0
        acc, pm, ctr, kind, amt, ts = acc[ok], pm[ok], ctr[ok], kind[ok], amt[ok], ts[ok]
        amt = np.maximum(np.round(amt, 2), 1.0)
        k = len(acc)
        if not k:
            return []
        crypto = w.pms["mtype"][pm] == CRYPTO
        del crypto
        return [pa.RecordBatch.from_arrays([
            self.ids.take("transactions", k), _ts(ts), account_ids(acc), pm_ids(pm),
            encode.masked(contract_ids(np.maximum(ctr, 0)), ctr < 0),
            encode.take_str(KINDS_TX, kind), pa.array(amt),
        ], schema=SCHEMAS["transactions"])]


__all__ = ["COMPLETED", "DayEvents", "IdCounter", "login_batches", "session_batches"]
