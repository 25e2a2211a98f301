"""Issue-27 scenarios and their look-alikes: per-account settings the event code reads.

`plant()` runs at the end of `build_population` with its own random stream. It fills
`Population.extras` (see `defaults`) and adjusts sign-up times, countries and home networks of
the accounts concerned. Signatures follow the public reports behind each indicator
(docs/generator.md), with varied strength: some DPRK accounts show every part of a signature,
some only the minimum.
"""

from __future__ import annotations

import numpy as np

from itw_radar.generator import network as net
from itw_radar.generator import population as popm
from itw_radar.generator import reference as ref
from itw_radar.generator import scenarios as sc

DAY = popm.DAY
# after_mode bits (what changes at the switch)
NEW_DEVICES, NEW_NETWORKS, NEW_HOURS = 1, 2, 4
# return_bits of a dormant DPRK account (what comes back changed besides devices/networks)
RET_PAYOUT, RET_IDENTITY, RET_CATEGORY = 2, 4, 8
MULTI_DPRK, MULTI_LEGIT = 1, 2


def defaults(p: popm.Population) -> None:
    n = p.n
    e = p.extras
    e["bid_rate"] = np.zeros(n)  # proposals a day (0: the ordinary rate)
    e["bid_cats"] = np.zeros(n, dtype=np.int8)  # categories a sprayer bids in (0: own two)
    e["persona_letter"] = np.zeros(n, dtype=bool)  # cover letters from the operation template
    # devices/networks (from this second) and hours (from the next day) change; set when the
    # document is approved (handover, new laptop) or to the night of return (dormant)
    e["switch_ts"] = np.full(n, 2**62, dtype=np.int64)
    e["after_mode"] = np.zeros(n, dtype=np.int8)
    e["after_range"] = np.zeros(n, dtype=np.int64)
    e["after_ip"] = np.zeros(n, dtype=np.uint32)
    e["after_offset"] = np.full(n, np.nan)
    e["wake_day"] = np.zeros(n, dtype=np.int32)  # dormant until this night
    e["doc_day"] = np.full(n, -1, dtype=np.int32)  # identity document decided that night
    e["multi"] = np.zeros(n, dtype=np.int8)
    e["overlap_h"] = np.zeros(n)  # DPRK multi-job: hours two contracts overlap on a day
    e["overlap_p"] = np.zeros(n)  # share of days with overlapping work
    e["group_range"] = np.full(n, -1, dtype=np.int64)  # an address shared with the group
    e["group_ip"] = np.zeros(n, dtype=np.uint32)
    e["group_p"] = np.zeros(n)
    e["pay_key"] = np.full(n, -1, dtype=np.int64)  # payout fingerprint shared with the group
    e["live_country"] = p.country.astype(np.int16).copy()  # where logins come from
    e["doc_country"] = p.country.astype(np.int16).copy()  # identity document issuer
    e["pay_country"] = p.country.astype(np.int16).copy()  # payout method country
    e["return_bits"] = np.zeros(n, dtype=np.int8)
    e["new_category"] = np.full(n, -1, dtype=np.int16)  # category taken up on return
    e["vpn_fav_range"] = np.full(n, -1, dtype=np.int64)  # favourite VPN exit (quick-connect)
    e["vpn_fav_ip"] = np.zeros(n, dtype=np.uint32)


def _members(p: popm.Population, name: str) -> np.ndarray:
    return np.flatnonzero(p.scenario == sc.SCENARIO_INDEX[name])


def _groups(p: popm.Population, members: np.ndarray, key: np.ndarray) -> list[np.ndarray]:
    """Split members into their groups (equal key)."""
    if not len(members):
        return []
    order = members[np.argsort(key[members], kind="stable")]
    k = key[order]
    cuts = np.flatnonzero(np.diff(k)) + 1
    return np.split(order, cuts)


def _cidx(codes: tuple[str, ...]) -> np.ndarray:
    return np.array([net.CIDX[c] for c in codes], dtype=np.int16)


def _rehome(p: popm.Population, rng: np.random.Generator, acc: np.ndarray,
            live: np.ndarray) -> None:
    p.extras["live_country"][acc] = live
    p.home_range[acc] = net.country_range(rng, live.astype(np.int64), mobile=False)
    p.home_ip[acc] = net.address_in(rng, p.home_range[acc])
    p.v6[acc] = False


def _rate_mult(country: np.ndarray) -> np.ndarray:
    mult = np.array([c.rate_mult for c in ref.COUNTRIES] + [0.8] * len(net.EXTRA_COUNTRIES))
    return mult[country.astype(np.int64)]


def _move_claim(p: popm.Population, acc: np.ndarray, country: np.ndarray) -> None:
    """Claim `country` for `acc`, the rate following its market (a low rate stays as far under
    the new market as it was under the old one)."""
    p.rate[acc] = np.round(p.rate[acc] * _rate_mult(country) / _rate_mult(p.country[acc]), 0)
    p.country[acc] = country


def _reclaim(p: popm.Population, rng: np.random.Generator, acc: np.ndarray,
             choices: np.ndarray) -> None:
    """A new claimed country (zone, names, home network, document and payout follow)."""
    c = choices[rng.integers(0, len(choices), size=len(acc))]
    _move_claim(p, acc, c)
    c64 = c.astype(np.int64)
    p.tz[acc] = (net.COUNTRY_TZ_FIRST[c64] + (rng.random(len(acc)) * net.COUNTRY_TZ_COUNT[c64])
                 .astype(np.int16))
    p.first[acc], p.last[acc] = popm.pick_names(rng, c)
    p.extras["doc_country"][acc] = c
    p.extras["pay_country"][acc] = c
    _rehome(p, rng, acc, c)


def _sign_up_in_window(p: popm.Population, rng: np.random.Generator, acc: np.ndarray,
                       day: np.ndarray) -> None:
    start = p.start_day * DAY
    p.created[acc] = start + day.astype(np.int64) * DAY + rng.integers(7 * 3600, 20 * 3600,
                                                                       size=len(acc))
    p.created_day[acc] = day
    p.updated[acc] = p.created[acc]
    p.lifetime[acc] = 0.0


def plant(p: popm.Population, seed: int, op_group: np.ndarray) -> None:
    rng = np.random.default_rng([seed, 27])
    defaults(p)
    e = p.extras
    days = p.days
    start = p.start_day * DAY
    n_claim = len(ref.COUNTRIES)

    # Weak extras: about a third of the new DPRK accounts also show one unrelated weak sign.
    new_dprk = np.flatnonzero(op_group >= 0)
    two = p.scenario_is("dprk_two_weak_signs")
    extra = new_dprk[(rng.random(len(new_dprk)) < 0.35) & ~two[new_dprk]]
    weak = np.array([sc.T_VOIP, sc.T_TEXT_INTERVIEW, sc.T_LOW_RATE, sc.T_OFF_PLATFORM])
    p.traits[extra] |= (np.uint32(1) << weak[rng.integers(0, len(weak), size=len(extra))]
                        .astype(np.uint32))
    voip = p.has(sc.T_VOIP)
    p.phone_type[voip] = 2
    p.phone_key[voip & (p.phone_key < 0)] = np.flatnonzero(voip & (p.phone_key < 0)) + 10**9

    # Accounts of these scenarios have a history (contracts, payouts) unless they sign up below.
    involved = np.flatnonzero((op_group >= 0) | np.isin(p.scenario, [
        sc.SCENARIO_INDEX[la.name] for la in sc.LOOK_ALIKES_27]))
    fresh = involved[p.created[involved] >= start]
    tenure = rng.uniform(30, 500, size=len(fresh))
    p.created[fresh] = start - (tenure * DAY).astype(np.int64)
    p.created_day[fresh] = np.floor_divide(p.created[fresh] - start, DAY).astype(np.int32)
    p.updated[fresh] = p.created[fresh] + (rng.random(len(fresh)) * (start - p.created[fresh])
                                           * 0.9).astype(np.int64)
    p.lifetime[fresh] = np.round(tenure / 365 * rng.lognormal(np.log(420), 0.5, len(fresh)), 1)

    # --- commercial VPN exits shared across operations and with ordinary customers ----------
    # Half the privacy-minded VPN customers' quick-connect lands on the exit a DPRK cell also
    # uses (its main US VPN egress): unrelated accounts on one address, the same days.
    n_cells = int(p.cell.max(initial=-1)) + 1
    vpn_users = _members(p, "legit_vpn_privacy")
    if n_cells and len(vpn_users):
        fans = vpn_users[rng.random(len(vpn_users)) < 0.5]
        c = rng.integers(0, n_cells, size=len(fans))
        c[: min(2, len(c))] = 0  # (cell 0 shares its exit with cell 1: three parties there)
        e["vpn_fav_range"][fans] = p.cell_egress_range[c, 0]
        e["vpn_fav_ip"][fans] = p.cell_egress_ip[c, 0]

    # --- handover after verification / new laptop ------------------------------------------
    for name in ("dprk_handover", "legit_new_laptop"):
        acc = _members(p, name)
        k = len(acc)
        if not k:
            continue
        cd = rng.integers(0, max(1, min(9, days - 3)), size=k)
        doc = np.minimum(cd + rng.integers(2, 6, size=k), max(days - 2, 1))
        _sign_up_in_window(p, rng, acc, cd.astype(np.int32))
        if name == "dprk_handover":  # a Western claim, so the operators' hours stand out
            _reclaim(p, rng, acc, _cidx(("US", "US", "US", "CA", "GB", "DE", "PL")))
        e["doc_day"][acc] = doc
        if name == "legit_new_laptop":
            e["after_mode"][acc] = NEW_DEVICES
            continue
        r = rng.random(k)  # strength: all three changes, or two of them
        e["after_mode"][acc] = np.where(r < 0.55, 7, np.where(r < 0.8, 3, 5))
        vpn = rng.random(k) < 0.6
        e["after_range"][acc] = np.where(vpn, rng.choice(net.US_VPN_RANGES, size=k),
                                         rng.choice(net.HOSTING_RANGES, size=k))
        e["after_ip"][acc] = np.where(vpn, net.popular_exit(rng, e["after_range"][acc]),
                                      net.address_in(rng, e["after_range"][acc]))
        e["after_offset"][acc] = rng.choice(ref.DPRK_OPERATOR_OFFSETS, size=k)

    # --- concurrent contracts / several clients back to back --------------------------------
    acc = _members(p, "dprk_multi_job")
    e["multi"][acc] = MULTI_DPRK
    strong = rng.random(len(acc)) < 0.6
    e["overlap_h"][acc] = np.where(strong, rng.uniform(3.0, 6.0, len(acc)),
                                   rng.uniform(2.2, 3.0, len(acc)))
    e["overlap_p"][acc] = np.where(strong, rng.uniform(0.6, 0.9, len(acc)),
                                   rng.uniform(0.4, 0.6, len(acc)))
    e["multi"][_members(p, "legit_multi_client")] = MULTI_LEGIT

    # --- proposal spray / prolific bidder ----------------------------------------------------
    acc = _members(p, "dprk_proposal_spray")
    strong = rng.random(len(acc)) < 0.6
    e["bid_rate"][acc] = np.where(strong, rng.uniform(11, 20, len(acc)),
                                  rng.uniform(7.0, 9.5, len(acc)))
    e["bid_cats"][acc] = np.where(strong, rng.integers(6, 9, len(acc)),
                                  rng.integers(4, 6, len(acc)))
    acc = _members(p, "legit_prolific_bidder")
    e["bid_rate"][acc] = rng.uniform(5.2, 9.5, len(acc))  # 30-60 a week with quiet weekends

    # --- template persona / generic text -----------------------------------------------------
    for grp in _groups(p, _members(p, "dprk_template_persona"), op_group):
        r = rng.random()
        both, profile_only = r < 0.6, 0.6 <= r < 0.85
        if both or profile_only:
            p.text_mode[grp] = popm.TEXT_PERSONA
            p.text_edit[grp] = rng.choice(3, size=len(grp), p=[0.35, 0.45, 0.2])
        e["persona_letter"][grp] = not profile_only
        e["bid_rate"][grp] = rng.uniform(1.5, 3.5)
    acc = _members(p, "legit_generic_text")
    p.text_mode[acc] = np.where(rng.random(len(acc)) < 0.5, popm.TEXT_SHORT, popm.TEXT_SAMPLE)

    # --- reference ring / referral friends ---------------------------------------------------
    for name in ("dprk_reference_ring", "legit_referral_friends"):
        members = _members(p, name)
        key = op_group if name.startswith("dprk") else _friend_groups(rng, members, p.n)
        for grp in _groups(p, members, key):
            grp = grp[np.argsort(p.created[grp], kind="stable")]
            p.referrer[grp[0]] = -1
            if len(grp) < 2:
                continue
            # a referral chain (older members referred the newer ones)
            p.referrer[grp[1:]] = grp[:-1]
            if rng.random() < 0.3 and len(grp) > 2:
                p.referrer[grp[2]] = grp[0]
            if name == "legit_referral_friends":
                continue
            ties = rng.random()
            r = int(net.country_range(rng, np.array([min(int(p.country[grp[0]]), n_claim - 1)]),
                                      mobile=False)[0])
            if ties < 0.8:  # one address the ring logs in from, day after day
                e["group_range"][grp] = r
                e["group_ip"][grp] = net.address_in(rng, np.array([r]))[0]
                e["group_p"][grp] = rng.uniform(0.35, 0.6)
            if ties > 0.5:  # one payout account
                e["pay_key"][grp] = 9_000_000_000 + int(grp[0])

    # --- identity mismatch / expat -----------------------------------------------------------
    acc = _members(p, "dprk_identity_mismatch")
    k = len(acc)
    if k:
        docs = _cidx(("UA", "PL", "RO", "PH", "VN", "IN", "BR", "MX", "NG", "PK"))
        pays = _cidx(ref.DPRK_PAYOUT_COUNTRIES)
        a_doc = docs[rng.integers(0, len(docs), size=k)]
        same = a_doc == p.country[acc]  # the document is never from the claimed country
        a_doc[same] = docs[(np.searchsorted(docs, a_doc[same]) + 3) % len(docs)]
        a_doc[a_doc == p.country[acc]] = net.CIDX["VN"]
        pattern = rng.random(k)
        e["doc_country"][acc] = a_doc
        # A: document, claim, payout and logins from three or four countries.
        # B: document and logins agree, claim and payout another country.
        a = pattern < 0.6
        e["pay_country"][acc] = np.where(a, pays[rng.integers(0, len(pays), size=k)],
                                         p.country[acc])
        live = np.where(a & (rng.random(k) < 0.5), docs[rng.integers(0, len(docs), size=k)],
                        a_doc)
        live = np.where(live == p.country[acc], a_doc, live)
        _rehome(p, rng, acc, live)
    acc = _members(p, "legit_expat")
    k = len(acc)
    if k:
        homes = _cidx(("DE", "PT", "ES", "NL", "GB", "US", "CA", "PL", "AU"))
        origin = _cidx(("IN", "UA", "BR", "PL", "PH", "MX", "NG", "EG", "ES", "US"))
        b = homes[rng.integers(0, len(homes), size=k)]
        a = origin[rng.integers(0, len(origin), size=k)]
        a = np.where(a == b, origin[(np.searchsorted(origin, a) + 1) % len(origin)], a)
        _move_claim(p, acc, b)
        e["pay_country"][acc] = b
        e["doc_country"][acc] = a
        _rehome(p, rng, acc, b)

    # --- dormant reactivation / returning user ----------------------------------------------
    for name in ("dprk_dormant_reactivation", "legit_returning_user"):
        acc = _members(p, name)
        k = len(acc)
        if not k:
            continue
        years = rng.uniform(1.0, 3.0, size=k)
        p.created[acc] = start - (years * 365 * DAY).astype(np.int64)
        p.created_day[acc] = -1 - (years * 365).astype(np.int32)
        quiet = rng.uniform(200, 600, size=k)  # days since the last known activity
        quiet = np.minimum(quiet, years * 365 - 60)
        p.extras.setdefault("last_active", np.full(p.n, -1, dtype=np.int64))
        p.extras["last_active"][acc] = start - (quiet * DAY).astype(np.int64)
        p.updated[acc] = np.minimum(p.updated[acc], p.extras["last_active"][acc])
        p.updated[acc] = np.maximum(p.updated[acc], p.created[acc])
        p.status[acc] = 0
        wake = np.clip(rng.integers(max(1, days // 4), max(2, days // 2 + 1), size=k),
                       1, max(days - 1, 1))
        e["wake_day"][acc] = wake
        e["switch_ts"][acc] = start + wake.astype(np.int64) * DAY
        if name == "legit_returning_user":
            e["after_mode"][acc] = NEW_DEVICES
            continue
        # at least two of: new networks, payout change, identity changes, new category
        for a_ in acc:  # 0: new networks, 1: payout, 2: identity fields, 3: new category
            chosen = set(rng.choice(4, size=int(rng.integers(2, 5)), replace=False).tolist())
            e["after_mode"][a_] = NEW_DEVICES | (NEW_NETWORKS if 0 in chosen else 0)
            e["return_bits"][a_] = sum(b for i, b in ((1, RET_PAYOUT), (2, RET_IDENTITY),
                                                       (3, RET_CATEGORY)) if i in chosen)
        vpn = rng.random(k) < 0.7
        e["after_range"][acc] = np.where(vpn, rng.choice(net.US_VPN_RANGES, size=k),
                                         rng.choice(net.HOSTING_RANGES, size=k))
        e["after_ip"][acc] = np.where(vpn, net.popular_exit(rng, e["after_range"][acc]),
                                      net.address_in(rng, e["after_range"][acc]))
        dprk_cat = np.array([ref.CATEGORIES.index(c) for c in ("blockchain", "web", "mobile",
                                                               "ai_ml")])
        # Before going quiet the account did other work (design, writing, marketing, ...).
        old_cat = np.array([ref.CATEGORIES.index(c) for c in ("design", "writing", "marketing",
                                                              "translation", "video")])
        p.category[acc] = old_cat[rng.integers(0, len(old_cat), size=k)]
        e["new_category"][acc] = dprk_cat[rng.integers(0, len(dprk_cat), size=k)]
    _low_rates_show(p, seed)
    _referrals_in_order(p)


def _low_rates_show(p: popm.Population, seed: int) -> None:
    """A low-rate trait given above (weak extras), or carried into a new claimed country or
    line of work, is a rate far under the market the account works in (a quarter to 45%), not
    the ordinary rate it was drawn with. Its own random stream: the draws above stay as they
    were."""
    rng = np.random.default_rng([seed, 27, 1])
    work = np.where(p.extras["new_category"] >= 0, p.extras["new_category"], p.category)
    market = np.array(ref.CATEGORY_BASE_RATE)[work] * _rate_mult(p.country)
    low = np.flatnonzero(p.has(sc.T_LOW_RATE))
    shown = low[p.rate[low] > 0.42 * market[low]]
    p.rate[shown] = np.maximum(np.round(market[shown] * rng.uniform(0.25, 0.42, len(shown)), 0),
                               3.0)


def _referrals_in_order(p: popm.Population) -> None:
    """Sign-up times moved above: a referrer is always older than the account it referred."""
    has = np.flatnonzero(p.referrer >= 0)
    late = has[p.created[p.referrer[has]] >= p.created[has]]
    p.referrer[late] = -1


def _friend_groups(rng: np.random.Generator, members: np.ndarray, n: int) -> np.ndarray:
    key = np.full(n, -1, dtype=np.int64)
    i = 0
    g = 0
    while i < len(members):
        size = int(rng.integers(2, 5))
        key[members[i : i + size]] = g
        g += 1
        i += size
    return key
