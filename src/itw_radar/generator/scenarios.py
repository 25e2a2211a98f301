"""Ground-truth scenarios and the DPRK tradecraft traits an account can carry.

Every account gets exactly one scenario (written to `_truth/labels.csv`). DPRK freelancers also
carry a random subset of traits (bit flags); the scenario names the trait that defines them, and
`dprk_low_signal` accounts carry only two or three weak ones. No account carries all traits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEGIT_FREELANCER = "legit_freelancer"
LEGIT_CLIENT = "legit_client"

DPRK_SCENARIOS: tuple[str, ...] = (
    "dprk_proxy_account",
    "dprk_photo_swap",
    "dprk_shift_work",
    "dprk_cell_member",
    "dprk_low_signal",
    "dprk_self_rating_client",
)


@dataclass(frozen=True)
class LookAlike:
    name: str
    share: float  # of freelancers
    minimum: int  # accounts even on small populations
    group: tuple[int, int]  # group size range (1, 1) = individuals


LOOK_ALIKES: tuple[LookAlike, ...] = (
    LookAlike("legit_agency_office", 0.010, 10, (10, 10)),
    LookAlike("legit_coworking_nat", 0.010, 12, (12, 30)),
    LookAlike("legit_nomad", 0.008, 8, (1, 1)),
    LookAlike("legit_vpn_privacy", 0.008, 8, (1, 1)),
    LookAlike("legit_heavy_worker", 0.008, 8, (1, 1)),
    LookAlike("legit_low_rate", 0.010, 8, (1, 1)),
    LookAlike("legit_family_shared", 0.008, 8, (2, 4)),
    LookAlike("legit_agency_company_payer", 0.008, 8, (4, 8)),
    LookAlike("legit_audio_problem", 0.008, 8, (1, 1)),
    LookAlike("legit_telegram_bot_dev", 0.008, 8, (1, 1)),
)

# Contract-1.1-era look-alikes (issue 27): each shows one weak sign, or a shape that an indicator
# must tell apart from the DPRK one it resembles.
LOOK_ALIKES_27: tuple[LookAlike, ...] = (
    LookAlike("legit_night_owl", 0.004, 8, (1, 1)),
    LookAlike("legit_new_laptop", 0.003, 8, (1, 1)),
    LookAlike("legit_multi_client", 0.003, 8, (1, 1)),
    LookAlike("legit_prolific_bidder", 0.003, 8, (1, 1)),
    LookAlike("legit_generic_text", 0.003, 8, (1, 1)),
    LookAlike("legit_referral_friends", 0.003, 8, (1, 1)),  # friend groups: plant27
    LookAlike("legit_expat", 0.003, 8, (1, 1)),
    LookAlike("legit_returning_user", 0.003, 8, (1, 1)),
)
LOOK_ALIKES = LOOK_ALIKES + LOOK_ALIKES_27
# DPRK accounts outside the classic cells; a group is one operation (its own operation_id).
DPRK_27: tuple[LookAlike, ...] = (
    LookAlike("dprk_two_weak_signs", 0.003, 8, (1, 1)),
    LookAlike("dprk_handover", 0.003, 8, (1, 1)),
    LookAlike("dprk_multi_job", 0.003, 8, (1, 1)),
    LookAlike("dprk_proposal_spray", 0.003, 8, (1, 2)),
    LookAlike("dprk_template_persona", 0.003, 8, (2, 5)),
    LookAlike("dprk_reference_ring", 0.003, 8, (3, 5)),
    LookAlike("dprk_identity_mismatch", 0.003, 8, (1, 1)),
    LookAlike("dprk_dormant_reactivation", 0.003, 8, (1, 1)),
)
DPRK_SCENARIOS = DPRK_SCENARIOS + tuple(s.name for s in DPRK_27)

SCENARIOS: tuple[str, ...] = (
    (LEGIT_FREELANCER, LEGIT_CLIENT) + tuple(s.name for s in LOOK_ALIKES) + DPRK_SCENARIOS
)
SCENARIO_INDEX: dict[str, int] = {s: i for i, s in enumerate(SCENARIOS)}
DPRK_SHARE = 0.035  # of freelancers
CELL_SIZE = (3, 8)

# DPRK traits (bit positions).
T_SHARED_IP = 0  # cell egress addresses (also the same day)
T_VPN = 1  # commercial VPN / hosting exits
T_SHARED_DEVICE = 2  # devices of the cell's laptop pool
T_PROXY = 3  # borrowed account: payout holder name or country differs from the identity
T_PHOTO_SWAP = 4  # identity document with the cell's face and another name
T_SHIFT = 5  # round-the-clock work on one account
T_SELF_RATING = 6  # client accounts of the cell pay with the freelancer's own fingerprint
T_SHARED_PAYOUT = 7  # payout fingerprint shared inside the cell
T_TEXT_INTERVIEW = 8  # video requested, text/voice held or camera off
T_OFF_PLATFORM = 9  # pushes clients to Telegram/WhatsApp/Skype/Discord/Signal
T_LOW_RATE = 10  # low rates in blockchain/web/mobile
T_VOIP = 11  # VoIP phone
T_SHARED_PHONE = 12  # one phone on several accounts
T_REMOTE_DESKTOP = 13  # remote-desktop tool seen by the tracker
T_CRYPTO = 14  # crypto payouts, frequent payout changes
T_ASIA_HOURS = 15  # works UTC+8/+9 hours behind a Western profile
T_HIGH_HOURS = 16  # implausibly large lifetime hours
T_IP_LEAK = 17  # now and then a login straight from a CN/RU residential line

TRAIT_NAMES: dict[int, str] = {
    T_SHARED_IP: "shared_ip", T_VPN: "vpn", T_SHARED_DEVICE: "shared_device",
    T_PROXY: "proxy", T_PHOTO_SWAP: "photo_swap", T_SHIFT: "shift_work",
    T_SELF_RATING: "self_rating", T_SHARED_PAYOUT: "shared_payout",
    T_TEXT_INTERVIEW: "text_interview", T_OFF_PLATFORM: "off_platform", T_LOW_RATE: "low_rate",
    T_VOIP: "voip", T_SHARED_PHONE: "shared_phone", T_REMOTE_DESKTOP: "remote_desktop",
    T_CRYPTO: "crypto_payout", T_ASIA_HOURS: "asia_hours", T_HIGH_HOURS: "high_hours",
    T_IP_LEAK: "ip_leak",
}

# Probability of each optional trait on a DPRK freelancer that is not `dprk_low_signal`.
OPTIONAL_TRAITS: dict[int, float] = {
    T_SHARED_IP: 0.55, T_VPN: 0.45, T_SHARED_DEVICE: 0.2, T_PROXY: 0.08, T_SHIFT: 0.06,
    T_SELF_RATING: 0.2, T_SHARED_PAYOUT: 0.25, T_TEXT_INTERVIEW: 0.35, T_OFF_PLATFORM: 0.3,
    T_LOW_RATE: 0.35, T_VOIP: 0.35, T_SHARED_PHONE: 0.15, T_REMOTE_DESKTOP: 0.25,
    T_CRYPTO: 0.25, T_ASIA_HOURS: 0.45, T_HIGH_HOURS: 0.2, T_IP_LEAK: 0.05,
}
# Weak signs a `dprk_low_signal` account shows two or three of.
WEAK_TRAITS: tuple[int, ...] = (
    T_VPN, T_LOW_RATE, T_VOIP, T_TEXT_INTERVIEW, T_ASIA_HOURS, T_HIGH_HOURS, T_CRYPTO,
    T_OFF_PLATFORM,
)
# Sign group (dbt seed indicator_catalog.sign_group) each weak trait shows up in: signs of one
# group come from one innocent habit, so "two weak signs" means two different groups.
WEAK_GROUP: dict[int, str] = {
    T_VPN: "network", T_LOW_RATE: "low_rate", T_VOIP: "phone", T_TEXT_INTERVIEW: "video",
    T_ASIA_HOURS: "hours", T_HIGH_HOURS: "workload", T_CRYPTO: "payout",
    T_OFF_PLATFORM: "off_platform", T_REMOTE_DESKTOP: "remote_desktop",
}
DEFINING_TRAIT: dict[str, int | None] = {
    "dprk_proxy_account": T_PROXY,
    "dprk_photo_swap": T_PHOTO_SWAP,
    "dprk_shift_work": T_SHIFT,
    "dprk_cell_member": T_SHARED_IP,
    "dprk_low_signal": None,
}
MAX_TRAITS = 6


def has(traits: np.ndarray, bit: int) -> np.ndarray:
    """Boolean mask of accounts carrying trait `bit`."""
    return (traits >> np.uint32(bit)) & np.uint32(1) == 1


def two_weak_traits(rng: np.random.Generator) -> int:
    """Exactly two weak traits of two different sign groups."""
    bits = list(WEAK_GROUP)
    while True:
        a, b = rng.choice(len(bits), size=2, replace=False)
        if WEAK_GROUP[bits[a]] != WEAK_GROUP[bits[b]]:
            return (1 << bits[a]) | (1 << bits[b])


def dprk_traits(rng: np.random.Generator, scenario: str) -> int:
    """A random trait set for one DPRK freelancer of `scenario`: never all, often few."""
    if scenario == "dprk_low_signal":
        k = int(rng.integers(2, 4))
        chosen = rng.choice(len(WEAK_TRAITS), size=k, replace=False)
        return sum(1 << WEAK_TRAITS[i] for i in chosen)
    defining = DEFINING_TRAIT[scenario]
    bits = [t for t, p in OPTIONAL_TRAITS.items() if t != defining and rng.random() < p]
    rng.shuffle(bits)
    limit = MAX_TRAITS - (1 if defining is not None else 0)
    bits = bits[: int(rng.integers(1, limit + 1))]
    if defining is not None:
        bits.append(defining)
    if len(bits) < 2:
        bits.append(int(rng.choice(WEAK_TRAITS)))
    return sum(1 << b for b in set(bits))
