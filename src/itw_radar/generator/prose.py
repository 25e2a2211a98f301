"""Profile texts and proposal cover letters (contract 1.1), assembled vectorised from banks.

Every text is a sequence of sentences; each sentence comes from a bank of pre-rendered variants
(templates x fillers), picked by a hash of the writer (and, for letters, of the proposal), so two
unrelated people rarely share more than a sentence or two: their word 3-shingles overlap little.
DPRK template personas instead share one long text inside their operation, with small edits.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from itw_radar.generator import encode
from itw_radar.generator import reference as ref

_SKILLS: dict[str, tuple[str, ...]] = {
    "web": ("React", "Vue", "Next.js", "Django", "Laravel", "Node.js", "TypeScript", "Tailwind",
            "GraphQL", "PostgreSQL", "WordPress", "Shopify"),
    "mobile": ("Flutter", "React Native", "Swift", "Kotlin", "Firebase", "SwiftUI", "Jetpack",
               "in-app purchases", "push notifications", "App Store releases"),
    "blockchain": ("Solidity", "Hardhat", "Foundry", "ethers.js", "Rust", "Anchor", "DeFi",
                   "NFT marketplaces", "smart contract audits", "web3.js", "The Graph"),
    "data": ("Python", "pandas", "SQL", "dbt", "Airflow", "Spark", "Power BI", "Tableau",
             "BigQuery", "Snowflake", "web scraping"),
    "design": ("Figma", "Illustrator", "Photoshop", "brand identity", "UI kits", "logo design",
               "wireframes", "packaging", "Webflow", "design systems"),
    "writing": ("SEO articles", "copywriting", "technical writing", "ghostwriting", "newsletters",
                "product descriptions", "case studies", "editing", "white papers"),
    "devops": ("AWS", "Terraform", "Kubernetes", "Docker", "CI/CD", "GitHub Actions", "Ansible",
               "Linux", "monitoring", "GCP", "Azure"),
    "ai_ml": ("PyTorch", "LLM apps", "LangChain", "computer vision", "NLP", "RAG pipelines",
              "scikit-learn", "fine-tuning", "MLOps", "OpenAI API"),
    "qa": ("Selenium", "Cypress", "Playwright", "manual testing", "test plans", "Appium",
           "API testing", "Postman", "load testing"),
    "marketing": ("Google Ads", "Meta Ads", "SEO", "email campaigns", "HubSpot", "analytics",
                  "content strategy", "social media", "landing page CRO"),
    "video": ("Premiere Pro", "After Effects", "DaVinci Resolve", "motion graphics",
              "YouTube edits", "color grading", "subtitles", "short-form reels"),
    "translation": ("Spanish", "German", "French", "Portuguese", "Polish", "Ukrainian",
                    "legal translation", "localization", "proofreading", "subtitling"),
}
_ROLES: dict[str, tuple[str, ...]] = {
    "web": ("web developer", "full-stack developer", "frontend engineer", "backend developer"),
    "mobile": ("mobile developer", "iOS and Android developer", "app developer"),
    "blockchain": ("blockchain developer", "smart contract engineer", "web3 developer"),
    "data": ("data analyst", "data engineer", "BI developer"),
    "design": ("graphic designer", "UI/UX designer", "brand designer"),
    "writing": ("content writer", "copywriter", "technical writer"),
    "devops": ("DevOps engineer", "cloud engineer", "site reliability engineer"),
    "ai_ml": ("machine learning engineer", "AI developer", "data scientist"),
    "qa": ("QA engineer", "test automation engineer", "software tester"),
    "marketing": ("digital marketer", "growth marketer", "PPC specialist"),
    "video": ("video editor", "motion designer", "video producer"),
    "translation": ("translator", "localization specialist", "bilingual editor"),
}

_P_OPEN = (
    "I am a {role} with {n} years of hands-on experience.",
    "{Role} here, working with clients remotely for about {n} years.",
    "Hello! I'm a {role} and I have shipped {m} projects so far.",
    "Experienced {role} ({n}+ years) who cares about clean, maintainable work.",
    "My name says little, my portfolio says more: {m} finished projects as a {role}.",
    "I have worked as a {role} since {y}, first in an agency and now freelance.",
    "Detail-oriented {role} focused on {s1} and {s2}.",
    "Freelance {role} based in a small team of one, available for long-term work.",
)
_P_SKILL = (
    "My main tools are {s1}, {s2} and {s3}.",
    "Most of my recent work used {s1} together with {s2}.",
    "I am strongest in {s1}; I also know {s2} and {s3} well.",
    "Recent stack: {s1}, {s2}, {s3}.",
    "Clients usually hire me for {s1} work, sometimes for {s2}.",
    "I learned {s1} on the job and later picked up {s2}.",
)
_P_STORY = (
    "Last year I helped a {client} cut their {metric} by {pct} percent.",
    "One of my favourite projects was a {thing} for a {client}.",
    "I recently finished a {thing} that now serves thousands of users.",
    "Before freelancing I spent {n} years at a {client}.",
    "I have a long-running retainer with a {client} and can share references.",
    "My last {m} clients all left detailed feedback you can read below.",
    "I mentor juniors on weekends and write about {s1} on my blog.",
)
_P_WORK = (
    "I reply within a few hours on weekdays and send short progress notes.",
    "I prefer clear milestones and a quick call at the start of each one.",
    "I overlap with {zone} business hours and am happy to join your standups.",
    "I document everything so your team can take over at any time.",
    "Fixed price or hourly both work for me, whatever suits the project.",
    "I test my own work before handing it over and fix bugs for free for {n} weeks.",
    "I like small, frequent deliveries over big surprises at the end.",
)
_P_CLOSE = (
    "Send me a message and tell me about your project.",
    "Let's talk about what you are building.",
    "Looking forward to working with you.",
    "Feel free to invite me to an interview.",
    "Thanks for reading my profile.",
    "",
)
_L_OPEN = (
    "Hi, I read your post about the {thing} and it fits my experience well.",
    "Hello, I would like to help with your {thing}.",
    "Hi there, your {thing} project caught my eye.",
    "Good day, I can start on the {thing} this week.",
    "Hello, I have built a very similar {thing} before.",
    "Hi! I'm interested in the {thing} job.",
    "Dear hiring manager, I'd be glad to take on your {thing}.",
)
_L_PLAN = (
    "I would start by reviewing what you have and then deliver the first part in {d} days.",
    "My plan: a short kick-off call, a first draft in {d} days, then iterations.",
    "For this scope I estimate about {h} hours of work.",
    "I can start on {day} and have a first version within {d} days.",
)
_L_EXPERIENCE = (
    "I have used {s1} and {s2} on {m} similar jobs.",
    "The tricky part is usually {s1}; I have solved that several times.",
    "My last {s1} client on a job like this left a five star review.",
    "I can share two examples of comparable {s1} work in the chat.",
)
_L_PROCESS = (
    "I would keep you updated every {d2} days and keep the {s2} part well documented.",
    "You get a short progress note every {d2} days and access to everything I build.",
    "I test the {s2} side myself before each delivery.",
    "Questions from your side get an answer within {h2} hours on weekdays.",
)
_L_CLOSE = (
    "Best regards.", "Thanks, looking forward to hearing from you.", "Happy to answer questions.",
    "Kind regards.", "Cheers.", "Let me know if you'd like to chat.", "",
)
_CLIENTS = ("fintech startup", "logistics company", "local bakery", "SaaS company",
            "nonprofit", "university lab", "e-commerce brand", "marketing agency", "clinic",
            "real-estate firm", "game studio", "travel agency")
_METRICS = ("page load time", "cloud bill", "support tickets", "churn", "build time",
            "bounce rate")
_THINGS = ("landing page", "dashboard", "API", "mobile app", "data pipeline", "smart contract",
           "brand kit", "blog series", "test suite", "ad campaign", "promo video", "migration",
           "checkout flow", "admin panel", "chatbot", "website redesign")
_ZONES = ("US", "EU", "UK", "East Coast", "Central European", "Pacific", "Australian")

GENERIC_SHORT = (
    "Hardworking and reliable. Available now.",
    "Quality work, on time, every time.",
    "Professional freelancer. Fast delivery. 100% satisfaction.",
    "I will do my best for your project.",
    "Expert developer. Contact me.",
    "Honest, responsive, detail oriented.",
)
# The platform's sample profile (its onboarding suggests it): many unrelated accounts keep it.
PLATFORM_SAMPLE = (
    "I am a dedicated professional who delivers high quality work on time and within budget. "
    "I communicate clearly, respond quickly, and always make sure my clients are satisfied with "
    "the final result. I am available for both short and long term projects and I look forward "
    "to working with you on your next project."
)
# A short stock letter (under 25 words) that many bidders paste.
GENERIC_LETTER = (
    "Hello, I read your job description and can complete this task with high quality. Please "
    "check my profile. Thank you."
)

def _render(templates: tuple[str, ...], per: int, rnd: random.Random, cat: str | None
            ) -> list[str]:
    out: list[str] = []
    cats = [cat] if cat else list(_SKILLS)
    for t, _ in itertools.product(templates, range(per)):
        c = rnd.choice(cats)
        sk = rnd.sample(_SKILLS[c], 3)
        role = rnd.choice(_ROLES[c])
        out.append(t.format(role=role, Role=role[0].upper() + role[1:], n=rnd.randint(2, 14),
                            m=rnd.randint(8, 140), y=rnd.randint(2008, 2022), s1=sk[0],
                            s2=sk[1], s3=sk[2], client=rnd.choice(_CLIENTS),
                            metric=rnd.choice(_METRICS), pct=rnd.randint(12, 70),
                            thing=rnd.choice(_THINGS), zone=rnd.choice(_ZONES),
                            d=rnd.randint(2, 10), h=rnd.randint(6, 120),
                            d2=rnd.randint(1, 4), h2=rnd.randint(2, 12),
                            day=rnd.choice(("Monday", "Tuesday", "Wednesday", "Thursday",
                                            "Friday", "tomorrow"))))
    return list(dict.fromkeys(out))  # distinct variants only


def _banks(templates: tuple[str, ...], per: int, seed: int) -> list[pa.Array]:
    """One bank per category, index = category (same order as ref.CATEGORIES)."""
    rnd = random.Random(seed)
    return [pa.array(_render(templates, per, rnd, c), pa.string()) for c in ref.CATEGORIES]


def _flat(banks: list[pa.Array]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    sizes = np.array([len(b) for b in banks], dtype=np.int64)
    offs = np.cumsum(sizes) - sizes
    return pa.concat_arrays(banks), offs, sizes


_PROFILE_SLOTS = [_flat(_banks(t, per, 100 + i)) for i, (t, per) in enumerate(
    ((_P_OPEN, 30), (_P_SKILL, 40), (_P_STORY, 40), (_P_WORK, 30), (_P_CLOSE, 1)))]
_LETTER_SLOTS = [_flat(_banks(t, per, 200 + i)) for i, (t, per) in enumerate(
    ((_L_OPEN, 60), (_L_PLAN, 60), (_L_EXPERIENCE, 60), (_L_PROCESS, 60), (_L_CLOSE, 1)))]
GENERIC_SHORT_STR = pa.array(GENERIC_SHORT, pa.string())


def _assemble(slots: list[tuple[pa.Array, np.ndarray, np.ndarray]], category: np.ndarray,
              keys: list[np.ndarray]) -> pa.Array:
    parts = []
    cat = np.asarray(category, dtype=np.int64)
    for (flat, offs, sizes), key in zip(slots, keys, strict=True):
        idx = offs[cat] + (key % sizes[cat].astype(np.uint64)).astype(np.int64)
        parts.append(encode.take_str(flat, idx))
    joined = pc.binary_join_element_wise(*parts, " ")
    return pc.utf8_trim_whitespace(joined)


def profile_texts(account: np.ndarray, category: np.ndarray) -> pa.Array:
    """A personal profile text for each account (stable: a function of the account)."""
    a = np.asarray(account, dtype=np.uint64)
    keys = [encode.hash64(300 + j, a) for j in range(len(_PROFILE_SLOTS))]
    return _assemble(_PROFILE_SLOTS, category, keys)


def cover_letters(account: np.ndarray, proposal: np.ndarray, category: np.ndarray) -> pa.Array:
    """Letters in the writer's own voice: the opener and closer are the writer's habit, the
    middle varies with the job."""
    a = np.asarray(account, dtype=np.uint64)
    p = np.asarray(proposal, dtype=np.uint64)
    habit = encode.hash64(400, a)
    keys = [encode.hash64(401, a * np.uint64(4) + (encode.hash64(402, p) % np.uint64(3))),
            encode.hash64(403, p), encode.hash64(404, p), encode.hash64(405, p), habit]
    return _assemble(_LETTER_SLOTS, category, keys)


# DPRK persona texts: long and specific, one per operation (sentences picked by the operation),
# reused by its accounts with small edits. Different operations get different sentences.
_PERSONA_SLOTS = (
    ("Senior {role} with {n}+ years of experience building scalable products for startups and "
     "enterprise clients across the US and Europe.",
     "Top rated {role} with {n} years of professional experience and {m}+ delivered projects.",
     "Hi, I am a passionate {role} and team player with {n} years in {s1} and {s2}.",
     "Results-driven {role} who has led teams of {d} engineers for {n} years."),
    ("I specialise in {s1}, {s2} and {s3}, from architecture to deployment.",
     "My core stack is {s1}, {s2}, {s3} and cloud infrastructure on AWS.",
     "I have deep expertise in {s1} and {s2}, and solid knowledge of {s3}.",
     "Main skills: {s1}, {s2}, {s3}, REST and GraphQL APIs, CI/CD."),
    ("I have built trading platforms, NFT marketplaces and admin dashboards for clients in the "
     "United States, Canada and Japan.",
     "I worked with companies in fintech, e-commerce and crypto, shipping production systems "
     "used by thousands of users every day.",
     "My recent work includes a {thing} for a {client} and a {thing2} for a {client2}.",
     "I delivered more than {m} projects end to end for clients on three continents."),
    ("I am a strong communicator, fluent in English, and available to work full time in your "
     "time zone.",
     "I can join your daily meetings, work in your time zone and start immediately.",
     "I am available {h}+ hours per week and ready to start right now.",
     "I am detail-oriented, self-motivated and I always meet deadlines."),
    ("My goal is long-term cooperation: I treat every project as my own business.",
     "I value honesty, fast communication and high quality above everything.",
     "I always deliver clean, well-tested code on schedule.",
     "I am looking for a long-term full-time position with a reliable client."),
    ("Let's discuss how I can help your business grow.",
     "Please contact me and let's build something great together.",
     "I look forward to hearing about your project and your team.",
     "Thank you for visiting my profile, I am waiting for your message."),
)
_PERSONA_LETTER_SLOTS = (
    ("Dear client, I am very interested in your {thing} project.",
     "Hello, I carefully read your job post about the {thing} and I am the right person for it.",
     "Hi, I am excited to apply for your {thing} job.",
     "Greetings, your {thing} project matches my experience perfectly."),
    ("I have {n} years of experience in {s1} and {s2}, and I built many similar projects for "
     "clients in the US and Europe.",
     "As a senior developer with strong {s1} and {s2} skills I have completed more than {m} "
     "projects successfully.",
     "I have worked on {m} projects with {s1}, {s2} and {s3} over the last {n} years."),
    ("I can start immediately, work full time in your time zone and deliver high quality "
     "results on schedule.",
     "I am available {h}+ hours per week, I communicate fast and I always deliver clean code.",
     "I can work in your time zone, join your meetings and provide daily reports."),
    ("I am looking for long-term cooperation.", "I would love to be part of your team for a "
     "long time.", "Long-term work is my priority."),
    ("Please message me so we can discuss the details. Thank you for your time.",
     "I would be happy to discuss the details with you. Best regards.",
     "Let's have a chat about the next steps. Thank you."),
)
_PERSONA_CATS = ("web", "blockchain", "mobile", "devops", "ai_ml", "data")


def _persona_banks(slots: tuple[tuple[str, ...], ...], seed: int, per: int) -> list[pa.Array]:
    rnd = random.Random(seed)
    banks = []
    for templates in slots:
        out = []
        for t, _ in itertools.product(templates, range(per)):
            c = rnd.choice(_PERSONA_CATS)
            sk = rnd.sample(_SKILLS[c], 3)
            out.append(t.format(role=rnd.choice(_ROLES[c]), n=rnd.randint(5, 12),
                                m=rnd.randint(30, 120), s1=sk[0], s2=sk[1], s3=sk[2],
                                d=rnd.randint(3, 12), h=rnd.choice((35, 40, 45, 50, 60)),
                                thing=rnd.choice(_THINGS), thing2=rnd.choice(_THINGS),
                                client=rnd.choice(_CLIENTS), client2=rnd.choice(_CLIENTS)))
        banks.append(pa.array(out, pa.string()))
    return banks


_PERSONA_BANKS = _persona_banks(_PERSONA_SLOTS, 501, 60)
_PERSONA_LETTER_BANKS = _persona_banks(_PERSONA_LETTER_SLOTS, 502, 60)


def _pick(bank: pa.Array, key: np.ndarray) -> pa.Array:
    return encode.take_str(bank, (key % np.uint64(len(bank))).astype(np.int64))


def persona_texts(op: np.ndarray, account: np.ndarray, edit: np.ndarray) -> pa.Array:
    """The operation's persona profile text on each of its accounts. `edit` 0: the persona as
    is; 1: an own sentence in front; 2: one sentence swapped for the account's own."""
    o = np.asarray(op, dtype=np.uint64)
    a = np.asarray(account, dtype=np.uint64)
    swap = (encode.hash64(513, a) % np.uint64(len(_PERSONA_BANKS))).astype(np.int64)
    edit = np.asarray(edit)
    parts = []
    for j, bank in enumerate(_PERSONA_BANKS):
        k = np.where((edit == 2) & (swap == j), encode.hash64(520 + j, a + np.uint64(1 << 40)),
                     encode.hash64(520 + j, o))
        parts.append(_pick(bank, k))
    own = _pick(_PROFILE_SLOTS[2][0], encode.hash64(530, a))
    empty = pa.array([""] * len(a), pa.string())
    parts.insert(0, pc.if_else(pa.array(edit == 1), own, empty))
    return pc.utf8_trim_whitespace(pc.binary_join_element_wise(*parts, " "))


def persona_letters(op: np.ndarray, proposal: np.ndarray) -> pa.Array:
    """The operation's letter: the same sentences, one of them varying with the job."""
    o = np.asarray(op, dtype=np.uint64)
    q = np.asarray(proposal, dtype=np.uint64)
    vary = (encode.hash64(540, q) % np.uint64(len(_PERSONA_LETTER_BANKS))).astype(np.int64)
    parts = []
    for j, bank in enumerate(_PERSONA_LETTER_BANKS):
        k = np.where(vary == j, encode.hash64(550 + j, q), encode.hash64(550 + j, o))
        parts.append(_pick(bank, k))
    return pc.utf8_trim_whitespace(pc.binary_join_element_wise(*parts, " "))
