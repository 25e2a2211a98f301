"""The account population: one numpy array per attribute, freelancers first, then clients.

Per-account state lives in arrays (never Python objects per account) so a million accounts fit in
a few hundred megabytes. Groups that share things (DPRK cells, offices, NATs, families, agency
payers) are small side tables indexed from the account arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from itw_radar.generator import network as net
from itw_radar.generator import reference as ref
from itw_radar.generator import scenarios as sc

DAY = 86400

# Global first/last name tables with per-group offsets.
_GROUPS = tuple(ref.NAME_GROUPS)
GROUP_INDEX = {g: i for i, g in enumerate(_GROUPS)}
FIRST_NAMES = pa.array([n for g in _GROUPS for n in ref.NAME_GROUPS[g][0]], pa.string())
LAST_NAMES = pa.array([n for g in _GROUPS for n in ref.NAME_GROUPS[g][1]], pa.string())
LAST_INITIALS = pa.array([n[0] + "." for g in _GROUPS for n in ref.NAME_GROUPS[g][1]], pa.string())
FIRST_OFF = np.cumsum([0] + [len(ref.NAME_GROUPS[g][0]) for g in _GROUPS])[:-1]
FIRST_CNT = np.array([len(ref.NAME_GROUPS[g][0]) for g in _GROUPS])
LAST_OFF = np.cumsum([0] + [len(ref.NAME_GROUPS[g][1]) for g in _GROUPS])[:-1]
LAST_CNT = np.array([len(ref.NAME_GROUPS[g][1]) for g in _GROUPS])
# Name group of each country in ALL_COUNTRIES (extras use the chinese group).
COUNTRY_NAME_GROUP = np.array(
    [GROUP_INDEX[c.names] for c in ref.COUNTRIES]
    + [GROUP_INDEX["chinese"]] * len(net.EXTRA_COUNTRIES),
    dtype=np.int16,
)
DOMAINS: tuple[str, ...] = tuple(
    sorted({d for c in ref.COUNTRIES for d in c.email_domains}
           | {"proton.me", "protonmail.com", "tutanota.com", "hotmail.com"})
)
DOMAIN_STR = pa.array(DOMAINS, pa.string())
DOMAIN_INDEX = {d: i for i, d in enumerate(DOMAINS)}
COUNTRY_DOMAINS = [np.array([DOMAIN_INDEX[d] for d in c.email_domains]) for c in ref.COUNTRIES]
COMPANY_STR = pa.array(ref.AGENCY_COMPANIES, pa.string())

PHONE_TYPES = ("mobile", "landline", "voip", "unknown")
PHONE_STR = pa.array(PHONE_TYPES, pa.string())
STATUS_STR = pa.array(("active", "suspended", "closed"), pa.string())
CATEGORY_STR = pa.array(ref.CATEGORIES, pa.string())


TEXT_OWN, TEXT_NONE, TEXT_SHORT, TEXT_SAMPLE, TEXT_PERSONA = range(5)


def _operations(cell: np.ndarray, op_group: np.ndarray, is_dprk: np.ndarray) -> np.ndarray:
    """Operation ids: a cell (with its client accounts) is one operation, so is each group of
    the issue-27 scenarios; any other DPRK account is an operation of its own."""
    op = np.where(cell >= 0, cell, -1).astype(np.int32)
    base = int(cell.max(initial=-1)) + 1
    grp = op_group >= 0
    op[grp] = base + op_group[grp]
    lone = np.flatnonzero(is_dprk & (op < 0))
    op[lone] = base + int(op_group.max(initial=-1)) + 1 + np.arange(len(lone))
    return op


def _referrals(rng: np.random.Generator, created: np.ndarray, is_client: np.ndarray
               ) -> np.ndarray:
    """A few accounts were referred by an older account (any, chosen at random)."""
    n = len(created)
    ref_by = np.full(n, -1, dtype=np.int64)
    order = np.argsort(created, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    pick = np.flatnonzero((rng.random(n) < np.where(is_client, 0.01, 0.03)) & (rank > 0))
    ref_by[pick] = order[(rng.random(len(pick)) * rank[pick]).astype(np.int64)]
    return ref_by


def _text_modes(rng: np.random.Generator, is_client: np.ndarray) -> np.ndarray:
    n = len(is_client)
    u = rng.random(n)
    mode = np.where(u < 0.05, TEXT_NONE, np.where(u < 0.07, TEXT_SHORT,
                                                  np.where(u < 0.08, TEXT_SAMPLE, TEXT_OWN)))
    mode = mode.astype(np.int8)
    fl = np.flatnonzero(~is_client)
    need = 15 - int((mode[fl] == TEXT_SAMPLE).sum())  # the sample is public: many use it
    if need > 0:
        own = fl[mode[fl] == TEXT_OWN]
        mode[rng.choice(own, size=min(need, len(own)), replace=False)] = TEXT_SAMPLE
    mode[is_client] = TEXT_NONE
    return mode


def pick_names(rng: np.random.Generator, country: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) global name indices for people of each country."""
    g = COUNTRY_NAME_GROUP[country]
    first = FIRST_OFF[g] + (rng.random(len(g)) * FIRST_CNT[g]).astype(np.int64)
    last = LAST_OFF[g] + (rng.random(len(g)) * LAST_CNT[g]).astype(np.int64)
    return first.astype(np.int32), last.astype(np.int32)


@dataclass
class Population:
    n_freelancers: int
    n_clients: int
    start_day: int  # epoch day of the first export night
    days: int
    is_client: np.ndarray
    scenario: np.ndarray
    traits: np.ndarray
    country: np.ndarray
    tz: np.ndarray
    tz_shown: np.ndarray
    first: np.ndarray
    last: np.ndarray
    name_style: np.ndarray
    email_domain: np.ndarray
    phone_key: np.ndarray
    phone_type: np.ndarray
    created: np.ndarray
    created_day: np.ndarray
    updated: np.ndarray
    status: np.ndarray
    category: np.ndarray
    rate: np.ndarray
    lifetime: np.ndarray
    home_range: np.ndarray
    home_ip: np.ndarray
    v6: np.ndarray
    n_devices: np.ndarray
    site: np.ndarray
    cell: np.ndarray
    company: np.ndarray
    op_offset: np.ndarray
    special_day: np.ndarray
    linked: np.ndarray
    changed_day: np.ndarray
    # side tables
    site_range: np.ndarray
    site_ip: np.ndarray
    cell_egress_range: np.ndarray  # (cells, 4)
    cell_egress_ip: np.ndarray
    cell_face: np.ndarray
    cell_payout_key: np.ndarray
    cell_phone_key: np.ndarray
    cell_holder_first: np.ndarray
    cell_holder_last: np.ndarray
    cell_holder_country: np.ndarray
    company_name: np.ndarray
    company_country: np.ndarray
    nomad_countries: np.ndarray  # (accounts, 3) travel countries, -1 for non-nomads
    # contract 1.1
    op: np.ndarray  # operation of a DPRK account (cells and their clients share one), else -1
    referrer: np.ndarray  # account that referred this one, else -1
    text_mode: np.ndarray  # profile text: TEXT_OWN, TEXT_NONE, TEXT_SHORT, TEXT_SAMPLE, ...
    text_edit: np.ndarray  # persona texts: how many own sentences are mixed in (0..2)
    email_ver: np.ndarray  # how often the e-mail address changed
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.n_freelancers + self.n_clients

    def scenario_is(self, name: str) -> np.ndarray:
        return self.scenario == sc.SCENARIO_INDEX[name]

    @property
    def is_dprk(self) -> np.ndarray:
        return self.scenario >= sc.SCENARIO_INDEX[sc.DPRK_SCENARIOS[0]]

    def has(self, bit: int) -> np.ndarray:
        return sc.has(self.traits, bit)


def _choice(rng: np.random.Generator, n: int, weights: list[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _dprk_primaries(rng: np.random.Generator, sizes: list[int]) -> list[list[str]]:
    """Primary DPRK scenario of every cell member: each scenario present, photo swaps in pairs
    inside one cell (the same face on several identities)."""
    n = sum(sizes)
    quota = {"dprk_proxy_account": max(1, round(0.2 * n)),
             "dprk_photo_swap": max(2, 2 * round(0.075 * n)),
             "dprk_shift_work": max(1, round(0.1 * n)),
             "dprk_low_signal": max(1, round(0.25 * n))}
    while sum(quota.values()) > n and quota["dprk_low_signal"] > 1:
        quota["dprk_low_signal"] -= 1
    cells: list[list[str | None]] = [[None] * k for k in sizes]
    swaps = quota.pop("dprk_photo_swap")
    for cell in cells:  # photo swaps: two or three per cell, cell after cell
        take = min(swaps, len(cell) - 1, 3 if swaps == 3 else 2)
        if take < 2 and swaps > 1:
            continue
        for j in range(take):
            cell[j] = "dprk_photo_swap"
        swaps -= take
        if swaps <= 0:
            break
    rest = [name for name, k in quota.items() for _ in range(k)]
    free = sum(c.count(None) for c in cells)
    rest = (rest + ["dprk_cell_member"] * free)[:free]
    rng.shuffle(rest)
    it = iter(rest)
    return [[x if x is not None else next(it) for x in cell] for cell in cells]


def _cover_traits(rng: np.random.Generator, scenario: np.ndarray, traits: np.ndarray) -> None:
    """Every optional trait shows up on at least one DPRK freelancer (small populations too)."""
    classic = [sc.SCENARIO_INDEX[s] for s in ("dprk_proxy_account", "dprk_photo_swap",
                                               "dprk_shift_work", "dprk_cell_member")]
    strong = np.flatnonzero(np.isin(scenario, classic))
    if not len(strong):
        return
    for bit in sc.OPTIONAL_TRAITS:
        if bit in (sc.T_PROXY, sc.T_SHIFT) or sc.has(traits[strong], bit).any():
            continue
        traits[int(rng.choice(strong))] |= np.uint32(1 << bit)


def build_population(
    seed: int, n_freelancers: int, n_clients: int, start_day: int, days: int
) -> Population:
    """Draw the whole population deterministically from `seed`."""
    rng = np.random.default_rng([seed, 1])
    nf, nc = n_freelancers, n_clients
    n = nf + nc
    is_client = np.zeros(n, dtype=bool)
    is_client[nf:] = True
    scenario = np.full(n, sc.SCENARIO_INDEX[sc.LEGIT_FREELANCER], dtype=np.int16)
    scenario[nf:] = sc.SCENARIO_INDEX[sc.LEGIT_CLIENT]
    traits = np.zeros(n, dtype=np.uint32)
    site = np.full(n, -1, dtype=np.int32)
    cell = np.full(n, -1, dtype=np.int32)
    company = np.full(n, -1, dtype=np.int32)
    linked = np.full(n, -1, dtype=np.int32)

    countries = ref.COUNTRIES
    n_claim = len(countries)
    country = np.empty(n, dtype=np.int16)
    country[:nf] = _choice(rng, nf, [c.w_freelancer for c in countries])
    country[nf:] = _choice(rng, nc, [c.w_client for c in countries])

    # --- assign scenarios on a random permutation of freelancers -------------------------
    order = rng.permutation(nf)
    pos = 0
    n_dprk = int(round(sc.DPRK_SHARE * nf)) if nf >= 60 else min(nf // 10, 3)
    cell_sizes: list[int] = []
    while sum(cell_sizes) < n_dprk:
        cell_sizes.append(int(rng.integers(sc.CELL_SIZE[0], sc.CELL_SIZE[1] + 1)))
    if cell_sizes:
        cell_sizes[-1] -= sum(cell_sizes) - n_dprk
        if cell_sizes[-1] < 2 and len(cell_sizes) > 1:
            last = cell_sizes.pop()  # a cell of one is no cell: it joins the one before
            cell_sizes[-1] += last
    dprk_members: list[np.ndarray] = []
    for cid, size in enumerate(cell_sizes):
        members = order[pos : pos + size]
        pos += size
        cell[members] = cid
        dprk_members.append(members)
    n_cells = len(cell_sizes)

    groups_site: list[tuple[np.ndarray, str]] = []  # (members, kind) sharing a site address
    for la in sc.LOOK_ALIKES:
        count = max(la.minimum, int(round(la.share * nf)))
        count = min(count, max(0, nf - pos - 1))
        members_all = order[pos : pos + count]
        pos += count
        scenario[members_all] = sc.SCENARIO_INDEX[la.name]
        if la.group == (1, 1):
            continue
        i = 0
        while i < len(members_all):
            size = int(rng.integers(la.group[0], la.group[1] + 1))
            grp = members_all[i : i + size]
            i += size
            if la.name == "legit_agency_company_payer":
                company[grp] = grp[0]
                country[grp] = country[grp[0]]
            else:
                groups_site.append((grp, la.name))

    # Issue-27 DPRK scenarios: operations of one to a few accounts outside the classic cells.
    op_group = np.full(n, -1, dtype=np.int32)
    n_groups = 0
    for la in sc.DPRK_27:
        count = max(la.minimum, int(round(la.share * nf)))
        count = min(count, max(0, nf - pos - 1))
        members_all = order[pos : pos + count]
        pos += count
        scenario[members_all] = sc.SCENARIO_INDEX[la.name]
        i = 0
        while i < len(members_all):
            size = int(rng.integers(la.group[0], la.group[1] + 1))
            if len(members_all) - (i + size) < la.group[0]:
                size = len(members_all) - i  # the remainder joins the last group
            op_group[members_all[i : i + size]] = n_groups
            n_groups += 1
            i += size

    # --- DPRK scenarios and traits ---------------------------------------------------------
    claimed = np.array([net.CIDX[c] for c in ref.DPRK_CLAIMED], dtype=np.int16)
    primaries = _dprk_primaries(rng, [len(m) for m in dprk_members])
    for members, names in zip(dprk_members, primaries, strict=True):
        for m, name in zip(members, names, strict=True):
            scenario[m] = sc.SCENARIO_INDEX[name]
            traits[m] = sc.dprk_traits(rng, name)
        country[members] = claimed[rng.integers(0, len(claimed), size=len(members))]
    _cover_traits(rng, scenario, traits)
    new27 = np.flatnonzero(op_group >= 0)
    country[new27] = claimed[rng.integers(0, len(claimed), size=len(new27))]
    for m in np.flatnonzero(scenario == sc.SCENARIO_INDEX["dprk_two_weak_signs"]):
        traits[m] = sc.two_weak_traits(rng)
    # Night owls: a Western profile (US or EU) whose owner works local nights.
    owl = np.flatnonzero(scenario == sc.SCENARIO_INDEX["legit_night_owl"])
    western = np.array([net.CIDX[c] for c in ("US", "US", "US", "GB", "DE", "FR", "PL", "ES",
                                             "NL", "IT", "CA")
                        if c in net.CIDX], dtype=np.int16)
    country[owl] = western[rng.integers(0, len(western), size=len(owl))]

    # Self-rating client accounts: client accounts run by the cell.
    self_rating = np.flatnonzero(sc.has(traits, sc.T_SELF_RATING))
    client_pool = rng.permutation(np.arange(nf, n))
    cpos = 0
    for f in self_rating:
        k = int(rng.integers(1, 3))
        if cpos + k > max(1, nc // 10):
            traits[f] &= ~np.uint32(1 << sc.T_SELF_RATING)
            continue
        cl = client_pool[cpos : cpos + k]
        cpos += k
        scenario[cl] = sc.SCENARIO_INDEX["dprk_self_rating_client"]
        linked[cl] = f
        cell[cl] = cell[f]
        country[cl] = country[f] if rng.random() < 0.5 else net.CIDX["US"]

    # --- shared sites (office / NAT / family home) -----------------------------------------
    site_range: list[int] = []
    site_ip: list[int] = []
    family_last: dict[int, int] = {}
    for grp, kind in groups_site:
        sid = len(site_range)
        site[grp] = sid
        if kind == "legit_coworking_nat":
            r = int(net.NAT_RANGES[rng.integers(0, len(net.NAT_RANGES))])
            country[grp] = net.RANGE_COUNTRY[r]
        else:
            cheap = [i for i, c in enumerate(countries) if c.cheap or c.code in ("UA", "PL")]
            home = int(rng.choice(cheap)) if kind == "legit_agency_office" else int(country[grp[0]])
            country[grp] = home
            r = int(net.country_range(rng, np.array([home]), mobile=False)[0])
            if kind == "legit_family_shared":
                family_last[sid] = -1
        site_range.append(r)
        site_ip.append(int(net.address_in(rng, np.array([r]))[0]))

    # Low-rate legit freelancers come from low-cost countries; nomads and VPN users anywhere.
    cheap_idx = np.array([i for i, c in enumerate(countries) if c.cheap])
    low = np.flatnonzero(scenario == sc.SCENARIO_INDEX["legit_low_rate"])
    country[low] = cheap_idx[rng.integers(0, len(cheap_idx), size=len(low))]

    # --- time zones ----------------------------------------------------------------------
    c_claim = np.minimum(country, n_claim - 1).astype(np.int64)
    tz = (net.COUNTRY_TZ_FIRST[c_claim]
          + (rng.random(n) * net.COUNTRY_TZ_COUNT[c_claim]).astype(np.int16)).astype(np.int16)
    for grp, _kind in groups_site:  # one office / home = one zone
        tz[grp] = tz[grp[0]]
    tz_shown = rng.random(n) > 0.04
    op_offset = np.full(n, np.nan, dtype=np.float32)
    asia = sc.has(traits, sc.T_ASIA_HOURS)
    op_offset[asia] = rng.choice(ref.DPRK_OPERATOR_OFFSETS, size=int(asia.sum()))
    # Night owls keep their own zone but live twelve hours (give or take) off the day.
    claimed_off = net.tz_offsets_hours(start_day)[tz[owl]]
    op_offset[owl] = claimed_off - 12.0 + rng.uniform(-1.5, 1.0, size=len(owl))

    # --- names -------------------------------------------------------------------------------
    first, last = pick_names(rng, country)
    for grp, kind in groups_site:
        if kind == "legit_family_shared":
            last[grp] = last[grp[0]]
    name_style = (rng.random(n) < 0.35).astype(np.uint8)  # 1 = "First L."

    # --- e-mail, phone -----------------------------------------------------------------------
    email_domain = np.empty(n, dtype=np.int16)
    for ci, doms in enumerate(COUNTRY_DOMAINS):
        m = c_claim == ci
        email_domain[m] = doms[rng.integers(0, len(doms), size=int(m.sum()))]
    privacy = (scenario == sc.SCENARIO_INDEX["legit_vpn_privacy"]) & (rng.random(n) < 0.6)
    email_domain[privacy] = DOMAIN_INDEX["proton.me"]
    dprk = scenario >= sc.SCENARIO_INDEX[sc.DPRK_SCENARIOS[0]]
    dprk_doms = np.array([DOMAIN_INDEX[d] for d in
                          ("gmail.com", "gmail.com", "outlook.com", "proton.me", "hotmail.com")])
    email_domain[dprk] = dprk_doms[rng.integers(0, len(dprk_doms), size=int(dprk.sum()))]

    phone_key = np.arange(n, dtype=np.int64) + 1_000_000_000
    phone_type = _choice(rng, n, [0.86, 0.04, 0.05, 0.05]).astype(np.int8)
    no_phone = rng.random(n) < np.where(is_client, 0.15, 0.03)
    phone_key[no_phone] = -1
    voip = sc.has(traits, sc.T_VOIP)
    phone_type[voip] = 2
    phone_key[voip] = np.where(phone_key[voip] < 0, np.flatnonzero(voip) + 1_000_000_000,
                               phone_key[voip])

    # --- cells -------------------------------------------------------------------------------
    cell_egress_range = np.zeros((max(n_cells, 1), 4), dtype=np.int32)
    cell_egress_ip = np.zeros((max(n_cells, 1), 4), dtype=np.uint32)
    for c in range(n_cells):
        rs = [
            int(rng.choice(net.US_VPN_RANGES)),
            int(rng.choice(net.HOSTING_RANGES)),
            int(rng.choice(net.VPN_RANGES)),
            int(net.country_range(rng, np.array([net.CIDX["US"]]), mobile=False)[0]),  # laptop farm
        ]
        cell_egress_range[c] = rs
        cell_egress_ip[c] = net.address_in(rng, np.array(rs))
        # The cell's VPN egresses are shared exits of commercial servers: other cells and
        # ordinary VPN customers come out of the same addresses.
        cell_egress_ip[c, [0, 2]] = net.popular_exit(rng, np.array([rs[0], rs[2]]), busiest=3)
        if c == 1 or (c % 2 == 1 and rng.random() < 0.6):  # two cells, one VPN server exit
            cell_egress_range[c, 0] = cell_egress_range[c - 1, 0]
            cell_egress_ip[c, 0] = cell_egress_ip[c - 1, 0]
    cell_face = rng.integers(0, 2**63, size=max(n_cells, 1), dtype=np.int64).astype(np.uint64)
    cell_payout_key = np.arange(max(n_cells, 1), dtype=np.int64) + 7_000_000_000
    cell_phone_key = np.arange(max(n_cells, 1), dtype=np.int64) + 8_000_000_000
    holder_country = np.array([net.CIDX[c] for c in ref.DPRK_PAYOUT_COUNTRIES])
    cell_holder_country = holder_country[rng.integers(0, len(holder_country),
                                                      size=max(n_cells, 1))].astype(np.int16)
    cell_holder_first, cell_holder_last = pick_names(rng, cell_holder_country)
    shared_phone = sc.has(traits, sc.T_SHARED_PHONE)
    phone_key[shared_phone] = cell_phone_key[cell[shared_phone]]
    phone_type[shared_phone] = np.where(rng.random(int(shared_phone.sum())) < 0.6, 2, 0)

    # --- companies (agency paid to one company account) ------------------------------------
    company_name = np.zeros(n, dtype=np.int32)
    has_co = company >= 0
    company_name[has_co] = company[has_co] % len(ref.AGENCY_COMPANIES)
    company_country = country.copy()

    # --- work profile ------------------------------------------------------------------------
    category = _choice(rng, n, ref.CATEGORY_WEIGHTS).astype(np.int8)
    dprk_cat = np.array([ref.CATEGORIES.index(c) for c in ref.DPRK_CATEGORIES], dtype=np.int8)
    category[dprk] = dprk_cat[rng.integers(0, len(dprk_cat), size=int(dprk.sum()))]
    low_cat = rng.random(len(low)) < 0.5
    category[low[low_cat]] = dprk_cat[rng.integers(0, len(dprk_cat), size=int(low_cat.sum()))]
    tg = scenario == sc.SCENARIO_INDEX["legit_telegram_bot_dev"]
    category[tg] = np.where(rng.random(int(tg.sum())) < 0.7, 0, 1)
    base = np.array(ref.CATEGORY_BASE_RATE)[category]
    mult = np.array([c.rate_mult for c in countries] + [0.8] * len(net.EXTRA_COUNTRIES))[country]
    rate = base * mult * rng.lognormal(0.0, 0.33, size=n)
    # A low rate is far under its market (a quarter to 45% of the category's rate where the
    # profile says it lives), not an ordinary rate that honest noise also reaches: with the
    # spread above on top, a third of the planted "low" rates were within the honest range.
    low_rate = sc.has(traits, sc.T_LOW_RATE)
    rate[low_rate] = base[low_rate] * mult[low_rate] * rng.uniform(0.25, 0.42, size=int(
        low_rate.sum()))
    rate[low] *= rng.uniform(0.45, 0.7, size=len(low))
    rate = np.maximum(np.round(rate, 0), 3.0)
    rate[is_client] = np.nan

    # --- tenure and lifetime hours -------------------------------------------------------------
    start_sec = start_day * DAY
    tenure_days = np.minimum(rng.exponential(900, size=n), 4200)
    proxy = sc.has(traits, sc.T_PROXY)
    tenure_days[dprk & ~proxy] = rng.exponential(260, size=int((dprk & ~proxy).sum()))
    tenure_days[proxy] = rng.uniform(500, 2600, size=int(proxy.sum()))  # the lender's account
    tenure_days = np.maximum(tenure_days, 2.0 + 3.0 * rng.random(n))
    # Thousands of cumulative hours are worked on an established account (its hours below are
    # those of at least 0.6 years), not on one that signed up last week.
    tenure_days[sc.has(traits, sc.T_HIGH_HOURS)] = np.maximum(
        tenure_days[sc.has(traits, sc.T_HIGH_HOURS)], 0.6 * 365)
    created = (start_sec - tenure_days * DAY).astype(np.int64)
    # Some accounts sign up during the generated window.
    p_new = min(0.15, 0.003 * days)
    new = (rng.random(n) < p_new) & ~has_co & (site < 0) & (linked < 0) & (scenario <= 1)
    new_dprk = dprk & ~proxy & (rng.random(n) < min(0.3, 0.01 * days)) & ~is_client
    new_dprk &= ~sc.has(traits, sc.T_PHOTO_SWAP)  # forged documents were on file already
    new_dprk &= ~sc.has(traits, sc.T_HIGH_HOURS)  # thousands of hours take an older account
    new |= new_dprk
    # An account planted with only weak signs (hours, VPN, an interview habit) needs about two
    # weeks of activity before any of them can show: those sign up at least 14 days before the
    # window ends (an account of one night is labelled with signs no data could hold).
    weak_only = np.isin(scenario, [sc.SCENARIO_INDEX["dprk_two_weak_signs"],
                                   sc.SCENARIO_INDEX["dprk_low_signal"]])
    sign_up_span = np.where(weak_only[new], max(days - 14, 1), max(days, 1))
    created[new] = start_sec + (rng.integers(0, sign_up_span) * DAY
                                + rng.integers(6 * 3600, 22 * 3600, size=int(new.sum())))
    created_day = np.floor_divide(created - start_sec, DAY).astype(np.int32)
    years = np.maximum(tenure_days, 1.0) / 365.0
    lifetime = years * rng.lognormal(np.log(420), 0.8, size=n)
    heavy = scenario == sc.SCENARIO_INDEX["legit_heavy_worker"]
    lifetime[heavy] = years[heavy] * rng.uniform(1900, 2600, size=int(heavy.sum()))
    hi = sc.has(traits, sc.T_HIGH_HOURS)
    lifetime[hi] = np.maximum(years[hi], 0.6) * rng.uniform(4200, 6500, size=int(hi.sum()))
    lifetime[new] = 0.0
    lifetime = np.round(lifetime, 1)
    lifetime[is_client] = np.nan

    status = np.zeros(n, dtype=np.int8)
    r = rng.random(n)
    status[(r < 0.01) & ~dprk] = 1
    status[(r > 0.985) & ~dprk & (site < 0) & ~has_co & (scenario <= 1)] = 2
    updated = created + (rng.random(n) * np.maximum(start_sec - created, 0) * 0.9).astype(np.int64)
    updated = np.maximum(updated, created)

    # --- network identity ------------------------------------------------------------------------
    home_range = net.country_range(rng, c_claim, mobile=False)
    home_ip = net.address_in(rng, home_range)
    in_site = site >= 0
    site_range_a = np.array(site_range, dtype=np.int32)
    site_ip_a = np.array(site_ip, dtype=np.uint32)
    fam = scenario == sc.SCENARIO_INDEX["legit_family_shared"]
    home_range[fam] = site_range_a[site[fam]]
    home_ip[fam] = site_ip_a[site[fam]]
    v6 = net.HAS_V6[c_claim] & (rng.random(n) < 0.25)
    n_devices = _choice(rng, n, [0.45, 0.4, 0.15]).astype(np.int8) + 1
    del in_site

    # Nomads: three travel countries for the window.
    nomad = scenario == sc.SCENARIO_INDEX["legit_nomad"]
    nomad_countries = np.full((n, 3), -1, dtype=np.int16)
    travel = np.array([net.CIDX[c] for c in ("PT", "ES", "TH", "ID", "MX", "CO", "GE", "TR",
                                             "VN", "AR", "BR", "RO")])
    nomad_countries[nomad] = travel[rng.integers(0, len(travel), size=(int(nomad.sum()), 3))]
    special_day = rng.integers(0, max(days, 1), size=n).astype(np.int16)
    # An audio mishap has to fall after sign-up.
    special_day = np.maximum(special_day, np.minimum(created_day, days - 1)).astype(np.int16)
    # A planted interview habit is two interviews (events.interviews: special_day and a few days
    # later): the first leaves room for the second inside the window.
    habit = sc.has(traits, sc.T_TEXT_INTERVIEW)
    special_day[habit] = np.maximum(np.minimum(special_day[habit], max(days - 4, 0)),
                                    np.clip(created_day[habit], 0, days - 1)).astype(np.int16)

    pop = Population(
        n_freelancers=nf, n_clients=nc, start_day=start_day, days=days,
        is_client=is_client, scenario=scenario, traits=traits, country=country, tz=tz,
        tz_shown=tz_shown, first=first, last=last, name_style=name_style,
        email_domain=email_domain, phone_key=phone_key, phone_type=phone_type, created=created,
        created_day=created_day, updated=updated, status=status, category=category, rate=rate,
        lifetime=lifetime, home_range=home_range, home_ip=home_ip, v6=v6, n_devices=n_devices,
        site=site, cell=cell, company=company, op_offset=op_offset, special_day=special_day,
        linked=linked, changed_day=np.full(n, -1, dtype=np.int32),
        site_range=site_range_a, site_ip=site_ip_a, cell_egress_range=cell_egress_range,
        cell_egress_ip=cell_egress_ip, cell_face=cell_face, cell_payout_key=cell_payout_key,
        cell_phone_key=cell_phone_key, cell_holder_first=cell_holder_first,
        cell_holder_last=cell_holder_last, cell_holder_country=cell_holder_country,
        company_name=company_name, company_country=company_country,
        nomad_countries=nomad_countries,
        op=_operations(cell, op_group, dprk), referrer=_referrals(rng, created, is_client),
        text_mode=_text_modes(rng, is_client), text_edit=np.zeros(n, dtype=np.int8),
        email_ver=np.zeros(n, dtype=np.int16),
    )
    from itw_radar.generator import plant27

    plant27.plant(pop, seed, op_group)
    return pop
