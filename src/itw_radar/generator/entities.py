"""Entity state (identity documents, payment methods, contracts) and how it changes each day.

`World` holds the population plus the entity stores. `World.advance(day)` applies one day of
changes (sign-ups, rate and status changes, document approvals, new and retired payment
methods, contract life cycles) and remembers what changed so the night's delta can be written.
The `*_batches` functions turn rows into Arrow record batches in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from itw_radar.generator import encode, prose
from itw_radar.generator import network as net
from itw_radar.generator import population as popm
from itw_radar.generator import reference as ref
from itw_radar.generator import scenarios as sc
from itw_radar.generator.population import DAY, Population
from itw_radar.generator.store import Store
from itw_radar.generator.writer import SCHEMAS

CHUNK = 50_000
# Disjoint key spaces for payment fingerprints: equal keys mean the same real account, so a
# new account on one night must never reuse a key handed out for a change on another.
NEW_ACCOUNT_PM_KEYS = 10_000_000_000
CHANGED_PM_KEYS = 20_000_000_000
PM_KEYS_PER_DAY = 10_000_000
DOC_TYPES = pa.array(("passport", "national_id", "drivers_license", "residence_permit"))
DOC_STATUS = pa.array(("approved", "rejected", "pending"))
DOC_METHOD = pa.array(("automated", "manual_review", "video_call"))
PM_TYPES = pa.array(("bank_account", "card", "paypal", "payoneer", "wise", "crypto_wallet",
                     "other"))
CONTRACT_TYPES = pa.array(("hourly", "fixed"))
CONTRACT_STATUS = pa.array(("offered", "active", "completed", "cancelled"))
OFFERED, ACTIVE, COMPLETED, CANCELLED = 0, 1, 2, 3
BANK, CARD, PAYPAL, PAYONEER, WISE, CRYPTO = 0, 1, 2, 3, 4, 5


def _segments_pos(counts: np.ndarray) -> np.ndarray:
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def flip_bits(rng: np.random.Generator, values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Flip between lo and hi (inclusive) distinct random bits of each 64-bit value."""
    out = values.astype(np.uint64).copy()
    for i in range(len(out)):
        k = int(rng.integers(lo, hi + 1))
        for b in rng.choice(64, size=k, replace=False):
            out[i] ^= np.uint64(1) << np.uint64(int(b))
    return out


def _rand_u64(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(2) + (
        rng.integers(0, 2, size=n, dtype=np.int64).astype(np.uint64))


# profile_changes fields (index into PROFILE_FIELDS) and the hash namespace of their values.
PROFILE_FIELDS = pa.array(("display_name", "email", "phone", "country", "timezone",
                           "profile_photo", "payout_holder_name"))
(F_DISPLAY_NAME, F_EMAIL, F_PHONE, F_COUNTRY, F_TIMEZONE, F_PHOTO,
 F_PAYOUT_HOLDER) = range(7)
NS_NAME, NS_EMAIL, NS_PHONE, NS_PHOTO, NS_HOLDER, NS_PLACE = 15, 11, 12, 16, 17, 18
EMAIL_VER = 1 << 40  # the e-mail key of an account after a change


def email_key(p: Population, a: np.ndarray) -> np.ndarray:
    """Key of the account's current e-mail (accounts.email_hash = sha_hex(NS_EMAIL, key))."""
    return a.astype(np.int64) + p.email_ver[a].astype(np.int64) * EMAIL_VER


def verify_time(rng: np.random.Generator, submitted: np.ndarray, method: np.ndarray,
                latest: int | np.ndarray) -> np.ndarray:
    """When a decided document was decided: minutes after submission when automated, hours to
    days after manual review or a video call; never after `latest`, never before submission."""
    k = len(submitted)
    minutes = np.where(method == 0, rng.lognormal(np.log(4), 1.0, size=k),
                       rng.lognormal(np.log(14 * 60), 1.1, size=k))
    t = submitted + np.maximum(np.round(minutes * 60), 30).astype(np.int64)
    return np.maximum(np.minimum(t, latest), submitted)


@dataclass
class Changes:
    """Indices of rows created or changed during one day."""

    accounts: list[np.ndarray] = field(default_factory=list)
    docs: list[np.ndarray] = field(default_factory=list)
    pms: list[np.ndarray] = field(default_factory=list)
    contracts: list[np.ndarray] = field(default_factory=list)
    new_contracts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hired_interview: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    completed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # contract 1.1 profile_changes: (accounts, field index, old value key, new value key,
    # hash namespace); a key < 0 is a null hash
    profile: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, int]] = field(
        default_factory=list)

    @staticmethod
    def unique(parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(parts).astype(np.int64))


class World:
    def __init__(self, pop: Population, seed: int) -> None:
        self.pop = pop
        self.seed = seed
        self.start_sec = pop.start_day * DAY
        rng = np.random.default_rng([seed, 2])
        self.tracked = np.zeros(pop.n, dtype=np.float64)  # hours tracked in the window
        self.pay_pm = np.full(pop.n, -1, dtype=np.int64)  # active payout / paying method
        self.active_contract = np.full(pop.n, -1, dtype=np.int64)
        # Dormant accounts: nothing of theirs is newer than this (else: the window start).
        self._last_active = np.asarray(pop.extras.get(
            "last_active", np.full(pop.n, -1, dtype=np.int64))).copy()
        self._last_active[self._last_active < 0] = self.start_sec
        self.extra_contracts = np.full((pop.n, 2), -1, dtype=np.int64)
        self.docs = self._initial_docs(rng)
        self.pms = self._initial_pms(rng)
        self.contracts = self._initial_contracts(rng)

    # ------------------------------------------------------------------ documents
    def _doc_rows(self, rng: np.random.Generator, acc: np.ndarray, submitted: np.ndarray,
                  status: np.ndarray) -> dict[str, np.ndarray]:
        p = self.pop
        k = len(acc)
        face = encode.hash64(31, acc.astype(np.uint64))
        swap = p.has(sc.T_PHOTO_SWAP)[acc]
        if swap.any():
            # The same portrait re-scanned on each forged document: a few bits from the cell's
            # original, so any two forgeries of one cell are near-identical (<= 6 bits).
            face[swap] = flip_bits(rng, p.cell_face[p.cell[acc[swap]]], 0, 3)
        dtype = rng.choice(4, size=k, p=[0.45, 0.3, 0.2, 0.05]).astype(np.int8)
        method = rng.choice(3, size=k, p=[0.7, 0.25, 0.05]).astype(np.int8)
        method[swap] = rng.choice(2, size=int(swap.sum()))
        dob = rng.integers(-1800, 12400, size=k).astype(np.int32)  # 1965 .. 2003
        return dict(
            acc=acc.astype(np.int64), submitted=submitted.astype(np.int64), dtype=dtype,
            country=p.extras["doc_country"][acc].astype(np.int16),
            numkey=acc.astype(np.int64) * 4 + rng.integers(0, 4, size=k),
            first=p.first[acc].astype(np.int32), last=p.last[acc].astype(np.int32),
            dob=dob, dob_null=rng.random(k) < 0.05, image=_rand_u64(rng, k), face=face,
            face_null=(rng.random(k) < 0.03) & ~swap, status=status.astype(np.int8),
            method=method, changed=np.full(k, -1, dtype=np.int32),
            verified=np.full(k, -1, dtype=np.int64),
        )

    def _initial_docs(self, rng: np.random.Generator) -> Store:
        p = self.pop
        p_doc = np.where(p.is_client, 0.25, 0.93)
        p_doc[p.is_dprk | (p.company >= 0) | (p.site >= 0)] = 1.0
        acc = np.flatnonzero(rng.random(p.n) < p_doc)
        sub = p.created[acc] + rng.integers(600, 20 * DAY, size=len(acc))
        new = p.created[acc] >= self.start_sec
        sub[new] = p.created[acc[new]] + rng.integers(300, 4 * 3600, size=int(new.sum()))
        sub = np.where(new, sub, np.minimum(sub, self.start_sec - 3600))
        sub = np.minimum(sub, np.maximum(self._last_active[acc], p.created[acc] + 600))
        status = np.where(new, 2, np.where(rng.random(len(acc)) < 0.97, 0, 1))
        rows = self._doc_rows(rng, acc, sub, status)
        # An earlier rejected scan of the same document (same face, same number) for some.
        again = np.flatnonzero((rng.random(len(acc)) < 0.08) & ~new)
        if len(again):
            prev = {k: v[again].copy() for k, v in rows.items()}
            prev["submitted"] = np.maximum(p.created[acc[again]],
                                           prev["submitted"] - rng.integers(3600, 9 * DAY,
                                                                            size=len(again)))
            prev["status"][:] = 1
            prev["image"] = _rand_u64(rng, len(again))
            prev["face"] = flip_bits(rng, prev["face"], 0, 2)
            rows = {k: np.concatenate([prev[k], v]) for k, v in rows.items()}
        decided = rows["status"] != 2
        rows["verified"] = np.where(
            decided, verify_time(rng, rows["submitted"], rows["method"], self.start_sec - 60), -1)
        return Store(**rows)

    # ------------------------------------------------------------------ payment methods
    def _pm_rows(self, rng: np.random.Generator, acc: np.ndarray, added: np.ndarray,
                 base_key: int) -> dict[str, np.ndarray]:
        p = self.pop
        k = len(acc)
        client = p.is_client[acc]
        mtype = np.where(client, rng.choice([CARD, BANK, PAYPAL], size=k, p=[0.7, 0.2, 0.1]),
                         rng.choice([BANK, PAYPAL, PAYONEER, WISE], size=k,
                                    p=[0.35, 0.25, 0.25, 0.15])).astype(np.int8)
        key = np.arange(base_key, base_key + k, dtype=np.int64)
        first = p.first[acc].astype(np.int32)
        last = p.last[acc].astype(np.int32)
        company = np.full(k, -1, dtype=np.int32)
        country = p.extras["pay_country"][acc].astype(np.int16)
        holder_null = rng.random(k) < 0.03
        ring = p.extras["pay_key"][acc] >= 0
        if ring.any():  # a reference ring's one payout account, in its first member's name
            owner = p.extras["pay_key"][acc[ring]] - 9_000_000_000
            key[ring] = p.extras["pay_key"][acc[ring]]
            first[ring] = p.first[owner]
            last[ring] = p.last[owner]
        fl_dprk = p.is_dprk[acc] & ~client
        proxy = p.has(sc.T_PROXY)[acc]
        if proxy.any():
            i = np.flatnonzero(proxy)
            mode = rng.integers(0, 3, size=len(i))  # 0 other name, 1 other country, 2 both
            cc = p.cell_holder_country[p.cell[acc[i]]]
            other = popm.pick_names(rng, np.where(mode == 0, country[i], cc))
            first[i] = np.where(mode != 1, other[0], first[i])
            last[i] = np.where(mode != 1, other[1], last[i])
            country[i] = np.where(mode != 0, cc, country[i])
            holder_null[i] = False
        shared = p.has(sc.T_SHARED_PAYOUT)[acc] & fl_dprk
        if shared.any():
            i = np.flatnonzero(shared)
            c = p.cell[acc[i]]
            key[i] = p.cell_payout_key[c]
            first[i] = p.cell_holder_first[c]
            last[i] = p.cell_holder_last[c]
            country[i] = p.cell_holder_country[c]
            mtype[i] = rng.choice([BANK, PAYONEER, WISE], size=len(i))
            holder_null[i] = False
        crypto = p.has(sc.T_CRYPTO)[acc] & fl_dprk & ~shared
        mtype[crypto] = CRYPTO
        holder_null[crypto] = True
        co = (p.company[acc] >= 0) & ~client
        if co.any():
            i = np.flatnonzero(co)
            key[i] = 6_000_000_000 + p.company[acc[i]].astype(np.int64)
            company[i] = p.company_name[acc[i]]
            country[i] = p.company_country[acc[i]]
            mtype[i] = BANK
            holder_null[i] = False
        country_null = mtype == CRYPTO
        return dict(acc=acc.astype(np.int64), added=added.astype(np.int64), mtype=mtype,
                    key=key, first=first, last=last, company=company, holder_null=holder_null,
                    country=country, country_null=country_null, active=np.ones(k, bool),
                    changed=np.full(k, -1, dtype=np.int32))

    def _initial_pms(self, rng: np.random.Generator) -> Store:
        p = self.pop
        acc = np.arange(p.n)
        new = p.created >= self.start_sec
        added = p.created + rng.integers(3600, 30 * DAY, size=p.n)
        added = np.where(new, p.created + rng.integers(600, 3 * 3600, size=p.n),
                         np.minimum(added, self.start_sec - 7200))
        added = np.minimum(added, np.maximum(self._last_active, p.created + 600))
        rows = self._pm_rows(rng, acc, added, 1_000_000)
        store = Store(**rows)
        self.pay_pm[:] = np.arange(p.n)
        # Self-rating clients pay with the linked freelancer's own payout account.
        sr = np.flatnonzero(p.linked >= 0)
        if len(sr):
            f = p.linked[sr]
            for col in ("mtype", "key", "first", "last", "company", "holder_null", "country",
                        "country_null"):
                store._cols[col][sr] = store[col][f]
            store._cols["mtype"][sr] = np.where(store["mtype"][sr] == CRYPTO, CARD,
                                                store["mtype"][sr])
            store._cols["country_null"][sr] = False
            store._cols["country"][sr] = np.where(store["country_null"][f], p.country[sr],
                                                  store["country"][sr])
        # An older, retired payout method for some freelancers.
        old = np.flatnonzero(~p.is_client & ~new & (rng.random(p.n) < 0.15))
        if len(old):
            rows = self._pm_rows(rng, old, np.maximum(p.created[old], added[old] - 200 * DAY),
                                 3_000_000_000)
            rows["added"] = np.minimum(np.maximum(rows["added"], p.created[old]), added[old])
            rows["active"][:] = False
            store.append(**rows)
        return store

    # ------------------------------------------------------------------ contracts
    def _contract_rows(self, rng: np.random.Generator, client: np.ndarray, fl: np.ndarray,
                       created: np.ndarray, status: np.ndarray, updated: np.ndarray
                       ) -> dict[str, np.ndarray]:
        p = self.pop
        k = len(fl)
        own = rng.random(k) < 0.8
        cat = np.where(own, p.category[fl], rng.choice(len(ref.CATEGORIES), size=k,
                                                         p=np.array(ref.CATEGORY_WEIGHTS)
                                                         / sum(ref.CATEGORY_WEIGHTS)))
        hourly = rng.random(k) < 0.65
        rate = np.where(hourly, np.round(p.rate[fl] * rng.uniform(0.85, 1.1, size=k), 0),
                        np.round(rng.lognormal(np.log(450), 0.9, size=k), -1))
        rate = np.maximum(rate, 5.0)
        return dict(client=client.astype(np.int64), fl=fl.astype(np.int64),
                    created=created.astype(np.int64), updated=updated.astype(np.int64),
                    category=cat.astype(np.int8), ctype=(~hourly).astype(np.int8), rate=rate,
                    status=status.astype(np.int8), changed=np.full(k, -1, dtype=np.int32),
                    pinned=np.zeros(k, dtype=bool))

    def _pick_clients(self, rng: np.random.Generator, k: int, before: int | None = None
                      ) -> np.ndarray:
        """k legitimate clients (signed up before `before`, active), popular ones more often."""
        p = self.pop
        if not hasattr(self, "_cw"):  # a few clients hire a lot (Pareto-like popularity)
            self._cw = rng.pareto(1.2, size=p.n) + 0.2
        ok = p.is_client & (p.linked < 0)
        if before is not None:
            ok &= (p.created < before) & (p.status == 0)
        legit = np.flatnonzero(ok)
        if not len(legit):
            legit = np.flatnonzero(p.is_client)
        w = self._cw[legit]
        cdf = np.cumsum(w) / w.sum()
        return legit[np.minimum(np.searchsorted(cdf, rng.random(k)), len(legit) - 1)]

    def _initial_contracts(self, rng: np.random.Generator) -> Store:
        p = self.pop
        fl = np.flatnonzero(~p.is_client & (p.created < self.start_sec) & (p.status != 2))
        years = (self.start_sec - p.created[fl]) / (365 * DAY)
        n_hist = rng.poisson(np.minimum(years, 3.0) * 0.8)
        # a dormant account's history shows (its contracts date from before it went quiet)
        n_hist = np.where(self._last_active[fl] < self.start_sec, np.maximum(n_hist, 1), n_hist)
        h_fl = np.repeat(fl, n_hist)
        span = self.start_sec - p.created[h_fl]
        created = p.created[h_fl] + (rng.random(len(h_fl)) * span * 0.9).astype(np.int64)
        updated = np.minimum(created + rng.integers(DAY, 90 * DAY, size=len(h_fl)),
                             self.start_sec - 3600)
        dormant = self._last_active[h_fl] < self.start_sec
        if dormant.any():  # the history of a dormant account ends when it went quiet
            la = self._last_active[h_fl[dormant]]
            lo = p.created[h_fl[dormant]]
            created[dormant] = lo + (rng.random(int(dormant.sum())) * np.maximum(la - lo - 20 * DAY,
                                                                                 DAY)).astype(
                np.int64)
            updated[dormant] = np.minimum(created[dormant] + rng.integers(
                DAY, 20 * DAY, size=int(dormant.sum())), la)
        status = np.where(rng.random(len(h_fl)) < 0.85, COMPLETED, CANCELLED)
        clients = self._pick_clients(rng, len(h_fl), self.start_sec)
        created = np.minimum(np.maximum(created, p.created[clients] + 3600), self.start_sec - 7200)
        created = np.minimum(created, np.maximum(self._last_active[h_fl] - DAY, p.created[h_fl]))
        updated = np.minimum(np.maximum(updated, created), np.maximum(self._last_active[h_fl],
                                                                        created))
        rows = self._contract_rows(rng, clients, h_fl, created, status, updated)
        store = Store(**rows)
        heavy = p.scenario_is("legit_heavy_worker")
        p_act = np.where(p.is_dprk | heavy | p.scenario_is("legit_telegram_bot_dev"), 0.9, 0.62)
        p_act[self._last_active < self.start_sec] = 0.0  # dormant: nothing active
        p_act[p.extras["multi"] > 0] = 1.0
        a_fl = fl[rng.random(len(fl)) < p_act[fl]]
        span = np.minimum(self.start_sec - p.created[a_fl], 150 * DAY)
        created = self.start_sec - 3600 - (rng.random(len(a_fl)) * span).astype(np.int64)
        created = np.maximum(created, p.created[a_fl])
        updated = created + (rng.random(len(a_fl)) * (self.start_sec - 3600 - created)).astype(
            np.int64)
        clients = self._pick_clients(rng, len(a_fl), self.start_sec)
        created = np.minimum(np.maximum(created, p.created[clients] + 3600), self.start_sec - 600)
        updated = np.maximum(updated, created)
        idx = store.append(**self._contract_rows(rng, clients, a_fl, created,
                                                 np.full(len(a_fl), ACTIVE), updated))
        self.active_contract[a_fl] = idx
        # Several clients at once: one or two more active contracts, kept for the window.
        multi = fl[p.extras["multi"][fl] > 0]
        if len(multi):
            k_extra = np.where(rng.random(len(multi)) < 0.5, 2, 1)
            m_fl = np.repeat(multi, k_extra)
            slot = _segments_pos(k_extra)
            created = self.start_sec - rng.integers(3 * DAY, 120 * DAY, size=len(m_fl))
            created = np.maximum(created, p.created[m_fl] + 3600)
            clients = self._pick_clients(rng, len(m_fl), self.start_sec)
            created = np.minimum(np.maximum(created, p.created[clients] + 3600),
                                 self.start_sec - 600)
            rows = self._contract_rows(rng, clients, m_fl, created, np.full(len(m_fl), ACTIVE),
                                       created)
            rows["ctype"][:] = 0
            rows["pinned"][:] = True
            ex = store.append(**rows)
            self.extra_contracts[m_fl, slot] = ex
            store._cols["pinned"][self.active_contract[multi]] = True
        # Self-rating history: the cell's client accounts hired "their" freelancer before.
        sr = np.flatnonzero((p.linked >= 0) & (p.created < self.start_sec))
        sr = sr[p.created[p.linked[sr]] < self.start_sec]
        if len(sr):
            reps = rng.integers(1, 4, size=len(sr))
            cl = np.repeat(sr, reps)
            f = p.linked[cl]
            lo = np.maximum(p.created[cl], p.created[f])
            created = lo + (rng.random(len(cl)) * (self.start_sec - lo) * 0.9).astype(np.int64)
            updated = np.minimum(created + rng.integers(DAY, 6 * DAY, size=len(cl)),
                                 self.start_sec - 3600)
            store.append(**self._contract_rows(rng, cl, f, created,
                                               np.full(len(cl), COMPLETED), updated))
        return store

    # ------------------------------------------------------------------ one day
    def advance(self, day: int) -> Changes:
        """Apply day `day` (0 = first night) and return what changed."""
        p = self.pop
        rng = np.random.default_rng([self.seed, 3, day])
        t0 = self.start_sec + day * DAY
        ch = Changes()

        def when(k: int, lo: np.ndarray | int = 0) -> np.ndarray:
            t = t0 + rng.integers(7 * 3600, 23 * 3600, size=k)
            return np.maximum(t, np.asarray(lo) + 60).clip(max=t0 + DAY - 1)

        e = p.extras
        alive = (p.status == 0) & (p.created_day <= day) & (e["wake_day"] <= day)
        fl_alive = alive & ~p.is_client

        # Accounts: sign-ups, rate and profile changes, suspensions and closures.
        new_acc = np.flatnonzero(p.created_day == day)
        p.updated[new_acc] = p.created[new_acc] + rng.integers(60, 1800, size=len(new_acc))
        p.updated[new_acc] = np.minimum(p.updated[new_acc], t0 + DAY - 1)
        ch.accounts.append(new_acc)
        old = alive & (p.created_day < day)
        rate_ch = np.flatnonzero(old & ~p.is_client & (rng.random(p.n) < 0.004))
        p.rate[rate_ch] = np.maximum(np.round(p.rate[rate_ch] * rng.uniform(0.9, 1.25,
                                                                             len(rate_ch))), 3)
        # (returning users come back with the same identity: no edits for them)
        edit = np.flatnonzero(old & (rng.random(p.n) < 0.002) & (e["wake_day"] == 0))
        p.name_style[edit] ^= 1
        a64 = edit.astype(np.int64)
        ch.profile.append((edit, F_DISPLAY_NAME, a64 * 2 + (p.name_style[edit] ^ 1),
                           a64 * 2 + p.name_style[edit], NS_NAME))
        mail = np.flatnonzero(old & (rng.random(p.n) < 0.0004) & (e["wake_day"] == 0))
        ch.profile.append((mail, F_EMAIL, email_key(p, mail), email_key(p, mail) + EMAIL_VER,
                           NS_EMAIL))
        p.email_ver[mail] += 1
        ident = np.flatnonzero((e["wake_day"] > 0) & (day == e["wake_day"] + 1)
                               & ((e["return_bits"] & 4) > 0) & (p.status == 0))
        if len(ident):
            i64 = ident.astype(np.int64)
            ch.profile.append((ident, F_EMAIL, email_key(p, ident),
                               email_key(p, ident) + EMAIL_VER, NS_EMAIL))
            p.email_ver[ident] += 1
            named = ident[rng.random(len(ident)) < 0.6]
            nk = named.astype(np.int64) * 2 + p.name_style[named]
            ch.profile.append((named, F_DISPLAY_NAME, nk, nk + 10**12, NS_NAME))
            p.first[named], p.last[named] = popm.pick_names(rng, p.country[named])
            ph = ident[rng.random(len(ident)) < 0.5]
            new_phone = ph.astype(np.int64) + 5_000_000_000 + day
            ch.profile.append((ph, F_PHONE, np.where(p.phone_key[ph] >= 0, p.phone_key[ph], -1),
                               new_phone, NS_PHONE))
            p.phone_key[ph] = new_phone
            p.phone_type[ph] = 2
            del i64
        else:
            ident = np.zeros(0, dtype=np.int64)
        photo = np.flatnonzero(old & ~p.is_client & (rng.random(p.n) < 0.001))
        pk = photo.astype(np.int64) * 4096 + day
        ch.profile.append((photo, F_PHOTO, np.where(rng.random(len(photo)) < 0.3, -1, pk - 1),
                           pk, NS_PHOTO))
        # The platform suspends a DPRK account now and then, on its loud signs: an account
        # planted with weak signs only is the kind that goes unnoticed (and a suspension before
        # its signs showed would label data that holds none of them).
        quiet = p.scenario_is("dprk_two_weak_signs") | p.scenario_is("dprk_low_signal")
        p_susp = np.where(p.is_dprk & ~quiet, 0.006, 0.0001)
        susp = np.flatnonzero(old & (rng.random(p.n) < p_susp))
        close = np.flatnonzero(old & ~p.is_dprk & (rng.random(p.n) < 0.0002))
        p.status[susp] = 1
        p.status[close] = 2
        touched = np.concatenate([rate_ch, edit, mail, photo, ident, susp, close])
        p.updated[touched] = when(len(touched), p.created[touched])
        ch.accounts.append(touched)
        # Tracked hours reach the profile whenever the row is written again.
        p.lifetime[touched] = np.round(p.lifetime[touched] + self.tracked[touched], 1)
        self.tracked[touched] = 0.0

        # Documents of new accounts; pending documents get decided.
        d = self.docs
        pend = np.flatnonzero((d["status"] == 2) & (d["submitted"] < t0))
        doc_day = e["doc_day"][d["acc"][pend]]
        decide = pend[np.where(doc_day >= 0, doc_day == day, rng.random(len(pend)) < 0.6)]
        d._cols["status"][decide] = np.where(
            (rng.random(len(decide)) < 0.94) | (e["doc_day"][d["acc"][decide]] >= 0), 0, 1)
        d._cols["verified"][decide] = np.maximum(
            verify_time(rng, d["submitted"][decide], d["method"][decide], t0 + DAY - 1),
            np.minimum(t0 + rng.integers(0, 12 * 3600, size=len(decide)), t0 + DAY - 1))
        # Handover / new laptop: the switch happens right after the approval.
        forced = decide[e["doc_day"][d["acc"][decide]] == day]
        if len(forced):
            fa = d["acc"][forced]
            np.minimum.at(e["switch_ts"], fa, d["verified"][forced])  # (first approval)
        new_docs = new_acc[rng.random(len(new_acc)) < np.where(p.is_client[new_acc], 0.25, 0.95)]
        new_docs = np.union1d(new_docs, new_acc[p.is_dprk[new_acc]])
        idx = d.append(**self._doc_rows(rng, new_docs, p.created[new_docs]
                                        + rng.integers(300, 3 * 3600, size=len(new_docs)),
                                        np.full(len(new_docs), 2)))
        d._cols["submitted"][idx] = np.minimum(d["submitted"][idx], t0 + DAY - 1)
        ch.docs += [decide, idx]

        # Payment methods: new accounts, payout changes (frequent for crypto-paid DPRK).
        m = self.pms
        idx = m.append(**self._pm_rows(rng, new_acc, np.minimum(
            p.created[new_acc] + rng.integers(600, 3 * 3600, size=len(new_acc)), t0 + DAY - 1),
            NEW_ACCOUNT_PM_KEYS + day * PM_KEYS_PER_DAY))
        self.pay_pm[new_acc] = idx
        ch.pms.append(idx)
        p_change = np.where(p.has(sc.T_CRYPTO) & ~p.is_client, 0.35, 0.003)
        # A dormant DPRK account that comes back with a new payout method.
        back = (e["wake_day"] > 0) & (day == e["wake_day"] + (p.n_devices % 3))
        p_change = np.where(back & ((e["return_bits"] & 2) > 0), 1.0, p_change)
        p_change = np.where((e["wake_day"] > 0) & (day < e["wake_day"]), 0.0, p_change)
        chg = np.flatnonzero(fl_alive & (p.created_day < day) & (rng.random(p.n) < p_change))
        chg = chg[p.company[chg] < 0]
        if len(chg):
            rows = self._pm_rows(rng, chg, when(len(chg)),
                                 CHANGED_PM_KEYS + day * PM_KEYS_PER_DAY)
            cr = p.has(sc.T_CRYPTO)[chg]
            rows["mtype"][cr] = rng.choice([CRYPTO, CRYPTO, PAYONEER, WISE], size=int(cr.sum()))
            rows["holder_null"][cr] = rows["mtype"][cr] == CRYPTO
            rows["country_null"][cr] = rows["mtype"][cr] == CRYPTO
            retired = self.pay_pm[chg]
            m._cols["active"][retired] = False
            idx = m.append(**rows)
            self.pay_pm[chg] = idx
            ch.pms += [retired, idx]

        # Contracts: life cycle of existing ones, then new hires.
        c = self.contracts
        st = c["status"]
        offered = np.flatnonzero(st == OFFERED)
        go = offered[rng.random(len(offered)) < 0.7]
        drop = np.setdiff1d(offered[rng.random(len(offered)) < 0.05], go)
        active = np.flatnonzero(st == ACTIVE)
        sr_c = p.linked[c["client"][active]] >= 0
        p_done = np.where(sr_c, 0.5, np.where(c["ctype"][active] == 1, 1 / 25, 1 / 60))
        p_done = np.where(c["pinned"][active], 0.0, p_done)
        done = active[rng.random(len(active)) < p_done]
        cancel = np.setdiff1d(active[(rng.random(len(active)) < 0.002)
                                     & ~c["pinned"][active]], done)
        c._cols["status"][go] = ACTIVE
        c._cols["status"][drop] = CANCELLED
        c._cols["status"][done] = COMPLETED
        c._cols["status"][cancel] = CANCELLED
        moved = np.concatenate([go, drop, done, cancel])
        c._cols["updated"][moved] = when(len(moved), c["updated"][moved])
        self.active_contract[c["fl"][go]] = go
        ended = np.concatenate([done, cancel])
        still = self.active_contract[c["fl"][ended]] == ended
        self.active_contract[c["fl"][ended][still]] = -1
        ch.contracts.append(moved)
        ch.completed = done

        p_hire = np.where(p.is_dprk, 0.02, np.where(self.active_contract < 0, 0.015, 0.006))
        # Coming back: a new contract soon after the return (DPRK: in a category never worked).
        woke = (e["wake_day"] > 0) & (day >= e["wake_day"]) & (day <= e["wake_day"] + 4)
        p_hire = np.where(woke, 0.3, p_hire)
        p_hire = np.where((e["wake_day"] > 0) & (day == e["wake_day"] + 1)
                          & ((e["return_bits"] & 8) > 0), 1.0, p_hire)
        hire_fl = np.flatnonzero(fl_alive & (rng.random(p.n) < p_hire))
        clients = self._pick_clients(rng, len(hire_fl), before=t0)
        # Self-rating: the cell's client account hires its freelancer again.
        sr_cl = np.flatnonzero(alive & (p.linked >= 0) & (rng.random(p.n) < 0.12))
        sr_cl = sr_cl[alive[p.linked[sr_cl]]]
        hire_fl = np.concatenate([hire_fl, p.linked[sr_cl]])
        clients = np.concatenate([clients, sr_cl])
        k = len(hire_fl)
        created = when(k, np.maximum(p.created[hire_fl], p.created[clients]))
        status = np.where((rng.random(k) < 0.5) | (p.linked[clients] >= 0), ACTIVE, OFFERED)
        rows = self._contract_rows(rng, clients, hire_fl, created, status, created)
        newcat = e["new_category"][hire_fl]
        take = (newcat >= 0) & ((e["return_bits"][hire_fl] & 8) > 0) & (
            day >= e["wake_day"][hire_fl])
        rows["category"][take] = newcat[take]
        fixed_sr = p.linked[clients] >= 0
        rows["ctype"][fixed_sr] = 1
        idx = c.append(**rows)
        now_active = idx[status == ACTIVE]
        self.active_contract[c["fl"][now_active]] = now_active
        ch.contracts.append(idx)
        ch.new_contracts = idx
        ch.hired_interview = (rng.random(k) < 0.55) & ~fixed_sr
        return ch

    def mark(self, ch: Changes, day: int) -> None:
        for store, parts in ((self.docs, ch.docs), (self.pms, ch.pms),
                             (self.contracts, ch.contracts)):
            u = Changes.unique(parts)
            store._cols["changed"][u] = day
        u = Changes.unique(ch.accounts)
        self.pop.changed_day[u] = day


# ---------------------------------------------------------------------- row batches
def _ts(v: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(v, dtype=np.int64), pa.int64()).cast(encode_ts())


def encode_ts() -> pa.DataType:
    return pa.timestamp("s", tz="UTC")


def _f64(v: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(v, dtype=np.float64), mask=null)


def _chunks(idx: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, len(idx), CHUNK):
        yield idx[i : i + CHUNK]


def account_ids(idx: np.ndarray) -> pa.Array:
    return encode.ids("acc_", np.asarray(idx, dtype=np.int64) + 1, 8)


def contract_ids(idx: np.ndarray) -> pa.Array:
    return encode.ids("ctr_", np.asarray(idx, dtype=np.int64) + 1, 9)


def pm_ids(idx: np.ndarray) -> pa.Array:
    return encode.ids("pm_", np.asarray(idx, dtype=np.int64) + 1, 9)


def person_names(first: np.ndarray, last: np.ndarray, short: np.ndarray | None = None) -> pa.Array:
    f = encode.take_str(popm.FIRST_NAMES, first)
    if short is None:
        return pc.binary_join_element_wise(f, encode.take_str(popm.LAST_NAMES, last), " ")
    lastcol = pc.if_else(pa.array(short.astype(bool)),
                                 encode.take_str(popm.LAST_INITIALS, last),
                                 encode.take_str(popm.LAST_NAMES, last))
    return pc.binary_join_element_wise(f, lastcol, " ")


def account_batches(pop: Population, idx: np.ndarray) -> Iterator[pa.RecordBatch]:
    p = pop
    for a in _chunks(idx):
        cl = p.is_client[a]
        rate_null = cl | np.isnan(p.rate[a])
        yield pa.RecordBatch.from_arrays([
            account_ids(a),
            encode.take_str(pa.array(["freelancer", "client"]), cl.astype(np.int64)),
            _ts(p.created[a]), _ts(p.updated[a]),
            person_names(p.first[a], p.last[a], p.name_style[a]),
            encode.sha_hex(NS_EMAIL, email_key(p, a).astype(np.uint64)),
            encode.take_str(popm.DOMAIN_STR, p.email_domain[a]),
            encode.masked(encode.sha_hex(12, np.maximum(p.phone_key[a], 0)), p.phone_key[a] < 0),
            encode.masked(encode.take_str(popm.PHONE_STR, p.phone_type[a]), p.phone_key[a] < 0),
            encode.take_str(net.COUNTRY_STR, p.country[a]),
            encode.masked(encode.take_str(net.TZ_STR, p.tz[a]), ~p.tz_shown[a]),
            _f64(np.nan_to_num(p.rate[a]), rate_null),
            _f64(np.nan_to_num(p.lifetime[a]), cl),
            encode.take_str(popm.STATUS_STR, p.status[a]),
            account_texts(p, a),
            encode.masked(account_ids(np.maximum(p.referrer[a], 0)), p.referrer[a] < 0),
        ], schema=SCHEMAS["accounts"])


def account_texts(p: Population, a: np.ndarray) -> pa.Array:
    """profile_text (contract 1.1) of each account, by its text mode."""
    mode = p.text_mode[a]
    out = prose.profile_texts(a, p.category[a])
    for m, fill in ((popm.TEXT_SHORT, lambda s: encode.take_str(
                        prose.GENERIC_SHORT_STR, encode.hash64(520, s.astype(np.uint64))
                        % np.uint64(len(prose.GENERIC_SHORT)))),
                    (popm.TEXT_SAMPLE, lambda s: pa.array([prose.PLATFORM_SAMPLE] * len(s),
                                                          pa.string())),
                    (popm.TEXT_PERSONA, lambda s: prose.persona_texts(
                        p.op[s], s, p.text_edit[s]))):
        sel = mode == m
        if sel.any():
            out = pc.replace_with_mask(out, pa.array(sel), fill(a[sel]))
    return encode.masked(out, mode == popm.TEXT_NONE)


def doc_batches(world: World, idx: np.ndarray) -> Iterator[pa.RecordBatch]:
    d = world.docs
    for i in _chunks(idx):
        yield pa.RecordBatch.from_arrays([
            encode.ids("doc_", i + 1, 9), account_ids(d["acc"][i]), _ts(d["submitted"][i]),
            encode.take_str(DOC_TYPES, d["dtype"][i]),
            encode.take_str(net.COUNTRY_STR, d["country"][i]),
            encode.sha_hex(13, d["numkey"][i].astype(np.uint64)),
            person_names(d["first"][i], d["last"][i]),
            pa.array(d["dob"][i], pa.int32(), mask=d["dob_null"][i]).cast(pa.date32()),
            encode.hex64(d["image"][i]),
            encode.masked(encode.hex64(d["face"][i]), d["face_null"][i]),
            encode.take_str(DOC_STATUS, d["status"][i]),
            encode.take_str(DOC_METHOD, d["method"][i]),
            encode.masked(_ts(np.maximum(d["verified"][i], 0)), d["verified"][i] < 0),
        ], schema=SCHEMAS["identity_documents"])


def pm_batches(world: World, idx: np.ndarray) -> Iterator[pa.RecordBatch]:
    m = world.pms
    for i in _chunks(idx):
        company = m["company"][i]
        names = person_names(m["first"][i], m["last"][i])
        if (company >= 0).any():
            names = pc.if_else(pa.array(company >= 0),
                                       encode.take_str(popm.COMPANY_STR, np.maximum(company, 0)),
                                       names)
        yield pa.RecordBatch.from_arrays([
            pm_ids(i), account_ids(m["acc"][i]), _ts(m["added"][i]),
            encode.take_str(PM_TYPES, m["mtype"][i]),
            encode.sha_hex(14, m["key"][i].astype(np.uint64)),
            encode.masked(names, m["holder_null"][i]),
            encode.masked(encode.take_str(net.COUNTRY_STR, m["country"][i]),
                          m["country_null"][i]),
            pa.array(m["active"][i]),
        ], schema=SCHEMAS["payment_methods"])


def contract_batches(world: World, idx: np.ndarray) -> Iterator[pa.RecordBatch]:
    c = world.contracts
    for i in _chunks(idx):
        yield pa.RecordBatch.from_arrays([
            contract_ids(i), account_ids(c["client"][i]), account_ids(c["fl"][i]),
            _ts(c["created"][i]), _ts(c["updated"][i]),
            encode.take_str(popm.CATEGORY_STR, c["category"][i]),
            encode.take_str(CONTRACT_TYPES, c["ctype"][i]), _f64(c["rate"][i]),
            encode.take_str(CONTRACT_STATUS, c["status"][i]),
        ], schema=SCHEMAS["contracts"])
