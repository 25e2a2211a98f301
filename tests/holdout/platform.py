"""An independent export writer for "Kestrel Gigs", a made-up freelance platform.

Written from `EXPORT_CONTRACT.md` and the public advisories only (not from the project's own
generator or dbt models), so that detection can be judged on data it was not tuned on. See
`README.md` beside this file for what is planted and why.

    write_platform(out, start, days, accounts=1500, seed=7, fmt="parquet") -> out/_truth/labels.csv
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import ipaddress
import json
import random
import shutil
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from holdout.texts import (
    CATW,
    CITY,
    CLIENT_BLURBS,
    CLIENT_KINDS,
    COVER_BODY,
    COVER_CLOSE,
    COVER_GREET,
    DPRK_COVER,
    DPRK_PROFILE,
    EMPLOYERS,
    GENERIC_COVER,
    LIKES,
    PROFILE_CLOSE,
    PROFILE_MID,
    PROFILE_OPEN,
    QUESTIONS,
    RECENT,
    ROLES,
    STARTER,
    STEPS,
    STUDY,
    TOOLS,
    edit_text,
)

PLATFORM = "kestrel-gigs"
CONTRACT_VERSIONS = ("1.1", "1.0")
FORMATS = ("parquet", "csv.gz", "csv")

# ------------------------------------------------------------------------------------------------
# the contract's tables (column, kind): s string, ts timestamp, d date, dec decimal, i int, b bool

_T = tuple[tuple[str, str], ...]
TABLES: dict[str, tuple[str, str, _T]] = {
    "accounts": ("entity", "account_id", (
        ("account_id", "s"), ("account_type", "s"), ("created_at", "ts"), ("updated_at", "ts"),
        ("display_name", "s"), ("email_hash", "s"), ("email_domain", "s"), ("phone_hash", "s"),
        ("phone_line_type", "s"), ("country", "s"), ("timezone", "s"),
        ("hourly_rate_usd", "dec"), ("lifetime_hours", "dec"), ("status", "s"),
        ("profile_text", "s"), ("referred_by_account_id", "s"))),
    "identity_documents": ("entity", "document_id", (
        ("document_id", "s"), ("account_id", "s"), ("submitted_at", "ts"),
        ("document_type", "s"), ("issuing_country", "s"), ("document_number_hash", "s"),
        ("holder_name", "s"), ("date_of_birth", "d"), ("image_phash", "s"), ("face_phash", "s"),
        ("verification_status", "s"), ("verification_method", "s"), ("verified_at", "ts"))),
    "payment_methods": ("entity", "payment_method_id", (
        ("payment_method_id", "s"), ("account_id", "s"), ("added_at", "ts"),
        ("method_type", "s"), ("fingerprint", "s"), ("holder_name", "s"), ("country", "s"),
        ("is_active", "b"))),
    "contracts": ("entity", "contract_id", (
        ("contract_id", "s"), ("client_account_id", "s"), ("freelancer_account_id", "s"),
        ("created_at", "ts"), ("updated_at", "ts"), ("category", "s"), ("contract_type", "s"),
        ("rate_usd", "dec"), ("status", "s"))),
    "logins": ("event", "ts", (
        ("login_id", "s"), ("account_id", "s"), ("ts", "ts"), ("ip", "s"), ("ip_country", "s"),
        ("ip_asn", "i"), ("ip_kind", "s"), ("device_id", "s"), ("user_agent", "s"),
        ("success", "b"))),
    "work_sessions": ("event", "started_at", (
        ("session_id", "s"), ("account_id", "s"), ("contract_id", "s"), ("started_at", "ts"),
        ("ended_at", "ts"), ("remote_desktop_detected", "b"))),
    "interviews": ("event", "scheduled_at", (
        ("interview_id", "s"), ("client_account_id", "s"), ("freelancer_account_id", "s"),
        ("contract_id", "s"), ("scheduled_at", "ts"), ("requested_mode", "s"),
        ("held_mode", "s"), ("camera_on", "b"), ("outcome", "s"))),
    "reviews": ("event", "created_at", (
        ("review_id", "s"), ("contract_id", "s"), ("reviewer_account_id", "s"),
        ("reviewee_account_id", "s"), ("rating", "dec"), ("created_at", "ts"))),
    "transactions": ("event", "ts", (
        ("transaction_id", "s"), ("ts", "ts"), ("account_id", "s"), ("payment_method_id", "s"),
        ("contract_id", "s"), ("kind", "s"), ("amount_usd", "dec"))),
    "messages": ("event", "sent_at", (
        ("message_id", "s"), ("thread_id", "s"), ("contract_id", "s"),
        ("sender_account_id", "s"), ("recipient_account_id", "s"), ("sent_at", "ts"),
        ("body", "s"))),
    "proposals": ("event", "submitted_at", (
        ("proposal_id", "s"), ("freelancer_account_id", "s"), ("client_account_id", "s"),
        ("job_id", "s"), ("job_category", "s"), ("submitted_at", "ts"), ("bid_usd", "dec"),
        ("cover_letter", "s"))),
    "profile_changes": ("event", "changed_at", (
        ("change_id", "s"), ("account_id", "s"), ("changed_at", "ts"), ("field", "s"),
        ("old_value_hash", "s"), ("new_value_hash", "s"))),
}
# what contract 1.1 added: optional tables, and nullable columns that may be missing from a header
V11_TABLES = ("proposals", "profile_changes")
V11_COLUMNS = {"accounts": ("profile_text", "referred_by_account_id"),
               "identity_documents": ("verified_at",)}
ENTITY_KEYS = {t: spec[1] for t, spec in TABLES.items() if spec[0] == "entity"}
EVENT_TIME = {t: spec[1] for t, spec in TABLES.items() if spec[0] == "event"}

# ------------------------------------------------------------------------------------------------
# world reference data

# code: (zones, name pool, cost factor, mail domains, message language)
COUNTRIES: dict[str, tuple[tuple[str, ...], str, float, tuple[str, ...], str]] = {
    "US": (("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
           "en", 1.5, ("gmail.com", "outlook.com", "yahoo.com", "icloud.com"), "en"),
    "CA": (("America/Toronto", "America/Vancouver"), "en", 1.35, ("gmail.com", "outlook.com"),
           "en"),
    "GB": (("Europe/London",), "en", 1.4, ("gmail.com", "outlook.com", "btinternet.com"), "en"),
    "IE": (("Europe/Dublin",), "en", 1.3, ("gmail.com", "eircom.net"), "en"),
    "AU": (("Australia/Sydney",), "en", 1.4, ("gmail.com", "bigpond.com"), "en"),
    "DE": (("Europe/Berlin",), "de", 1.3, ("gmx.de", "web.de", "gmail.com", "t-online.de"), "en"),
    "NL": (("Europe/Amsterdam",), "nl", 1.3, ("gmail.com", "ziggo.nl", "kpnmail.nl"), "en"),
    "FR": (("Europe/Paris",), "fr", 1.2, ("orange.fr", "free.fr", "gmail.com"), "en"),
    "ES": (("Europe/Madrid",), "es", 1.0, ("gmail.com", "hotmail.es", "telefonica.net"), "es"),
    "IT": (("Europe/Rome",), "it", 1.0, ("libero.it", "gmail.com"), "en"),
    "PT": (("Europe/Lisbon",), "pt", 0.9, ("sapo.pt", "gmail.com"), "pt"),
    "PL": (("Europe/Warsaw",), "pl", 0.85, ("wp.pl", "o2.pl", "gmail.com"), "en"),
    "RO": (("Europe/Bucharest",), "ro", 0.75, ("yahoo.com", "gmail.com"), "en"),
    "UA": (("Europe/Kyiv",), "ru", 0.7, ("ukr.net", "gmail.com", "i.ua"), "ru"),
    "SE": (("Europe/Stockholm",), "sv", 1.3, ("gmail.com", "telia.com"), "en"),
    "CH": (("Europe/Zurich",), "de", 1.7, ("bluewin.ch", "gmail.com"), "en"),
    "BR": (("America/Sao_Paulo",), "pt", 0.7, ("gmail.com", "uol.com.br", "bol.com.br"), "pt"),
    "MX": (("America/Mexico_City",), "es", 0.7, ("gmail.com", "hotmail.com"), "es"),
    "AR": (("America/Argentina/Buenos_Aires",), "es", 0.65, ("gmail.com", "fibertel.com.ar"),
           "es"),
    "CO": (("America/Bogota",), "es", 0.6, ("gmail.com", "hotmail.com"), "es"),
    "CL": (("America/Santiago",), "es", 0.7, ("gmail.com", "vtr.net"), "es"),
    "PE": (("America/Lima",), "es", 0.55, ("gmail.com", "hotmail.com"), "es"),
    "PH": (("Asia/Manila",), "ph", 0.5, ("gmail.com", "yahoo.com"), "en"),
    "VN": (("Asia/Ho_Chi_Minh",), "vi", 0.5, ("gmail.com",), "en"),
    "ID": (("Asia/Jakarta",), "id", 0.5, ("gmail.com", "yahoo.co.id"), "en"),
    "MY": (("Asia/Kuala_Lumpur",), "id", 0.6, ("gmail.com",), "en"),
    "TH": (("Asia/Bangkok",), "th", 0.55, ("gmail.com", "hotmail.com"), "en"),
    "SG": (("Asia/Singapore",), "zh", 1.3, ("gmail.com", "singnet.com.sg"), "en"),
    "JP": (("Asia/Tokyo",), "ja", 1.2, ("gmail.com", "docomo.ne.jp", "yahoo.co.jp"), "en"),
    "KR": (("Asia/Seoul",), "ko", 1.1, ("naver.com", "gmail.com", "daum.net"), "en"),
    "TW": (("Asia/Taipei",), "zh", 0.9, ("gmail.com", "yahoo.com.tw"), "en"),
    "IN": (("Asia/Kolkata",), "hi", 0.45, ("gmail.com", "rediffmail.com"), "en"),
    "PK": (("Asia/Karachi",), "ur", 0.4, ("gmail.com", "yahoo.com"), "en"),
    "BD": (("Asia/Dhaka",), "ur", 0.38, ("gmail.com",), "en"),
    "NG": (("Africa/Lagos",), "ng", 0.45, ("gmail.com", "yahoo.com"), "en"),
    "EG": (("Africa/Cairo",), "ar", 0.45, ("gmail.com", "hotmail.com"), "en"),
    "KE": (("Africa/Nairobi",), "sw", 0.5, ("gmail.com",), "en"),
    "AE": (("Asia/Dubai",), "ar", 1.2, ("gmail.com", "eim.ae"), "en"),
    "IL": (("Asia/Jerusalem",), "en", 1.3, ("gmail.com",), "en"),
}
ASIAN_HONEST = ("PH", "VN", "ID", "MY", "TH", "SG", "JP", "KR", "TW")
LOW_COST = ("PK", "BD", "NG", "EG", "IN", "PH", "VN", "KE")

FREELANCER_MIX = {
    "DE": 4, "FR": 3, "ES": 5, "IT": 3, "PL": 5, "NL": 2, "PT": 3, "RO": 4, "UA": 5, "GB": 3,
    "SE": 1, "IE": 1, "BR": 7, "MX": 5, "AR": 5, "CO": 4, "CL": 2, "PE": 2, "PH": 6, "VN": 4,
    "ID": 3, "MY": 1, "TH": 1, "IN": 6, "PK": 4, "BD": 2, "NG": 3, "EG": 2, "KE": 2, "US": 6,
    "CA": 2,
}
CLIENT_MIX = {
    "US": 30, "GB": 8, "DE": 9, "NL": 5, "FR": 4, "CA": 6, "AU": 5, "ES": 4, "BR": 3, "MX": 3,
    "SG": 3, "AE": 2, "CH": 3, "SE": 3, "IL": 2, "JP": 2, "IE": 2,
}

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("James", "Emily", "Michael", "Sarah", "David", "Jessica", "Daniel", "Ashley",
            "Ryan", "Megan", "Kevin", "Laura", "Brian", "Rachel", "Jason", "Olivia", "Ethan",
            "Chloe", "Noah", "Grace", "Tyler", "Hannah"),
           ("Smith", "Johnson", "Miller", "Brown", "Davis", "Wilson", "Anderson", "Taylor",
            "Moore", "Clark", "Walker", "Young", "Hall", "Allen", "Wright", "Scott", "Baker",
            "Turner", "Collins", "Murphy", "Reed", "Cooper")),
    "es": (("María", "José", "Lucía", "Carlos", "Sofía", "Javier", "Valentina", "Andrés",
            "Camila", "Diego", "Martina", "Alejandro", "Daniela", "Mateo", "Paula", "Sebastián"),
           ("García", "Rodríguez", "Martínez", "López", "González", "Hernández", "Pérez",
            "Sánchez", "Ramírez", "Torres", "Flores", "Gómez", "Díaz", "Vargas", "Castro",
            "Muñoz")),
    "pt": (("João", "Ana", "Pedro", "Beatriz", "Lucas", "Mariana", "Gabriel", "Larissa",
            "Rafael", "Juliana", "Thiago", "Fernanda"),
           ("Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira",
            "Ribeiro", "Carvalho", "Gomes", "Araújo")),
    "de": (("Lukas", "Anna", "Felix", "Lea", "Jonas", "Marie", "Leon", "Sophie", "Paul",
            "Hannah", "Jan", "Lena"),
           ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Hoffmann", "Schulz", "Koch", "Richter")),
    "nl": (("Daan", "Sanne", "Bram", "Lotte", "Sem", "Fleur"),
           ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "de Jong")),
    "sv": (("Erik", "Elin", "Oskar", "Maja", "Lars", "Ebba"),
           ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson")),
    "fr": (("Lucas", "Camille", "Hugo", "Manon", "Louis", "Chloé", "Théo", "Inès", "Nathan",
            "Léa"),
           ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau")),
    "it": (("Marco", "Giulia", "Luca", "Chiara", "Matteo", "Francesca", "Alessandro", "Sara"),
           ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci")),
    "pl": (("Piotr", "Anna", "Krzysztof", "Katarzyna", "Tomasz", "Magdalena", "Paweł",
            "Agnieszka"),
           ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
            "Lewandowski", "Zieliński")),
    "ru": (("Oleksandr", "Olena", "Dmytro", "Iryna", "Andrii", "Nataliia", "Serhii", "Kateryna",
            "Maksym", "Yuliia"),
           ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Ivanenko",
            "Petrenko", "Savchenko", "Melnyk", "Boyko")),
    "ro": (("Andrei", "Ioana", "Mihai", "Elena", "Alexandru", "Maria", "Ștefan", "Ana"),
           ("Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Gheorghe", "Matei", "Ciobanu")),
    "ph": (("Mark", "Kristine", "John Paul", "Mary Grace", "Jerome", "Angelica", "Carlo",
            "Jasmine", "Rhea", "Joshua"),
           ("Reyes", "Santos", "Cruz", "Bautista", "Garcia", "Mendoza", "Dela Cruz",
            "Villanueva", "Ramos", "Aquino")),
    "vi": (("Văn An", "Thị Hoa", "Minh Tuấn", "Đức Anh", "Thu Trang", "Quốc Bảo", "Ngọc Lan"),
           ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng")),
    "id": (("Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Ayu", "Farid", "Nurul"),
           ("Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Kurniawan", "Lestari",
            "Rahman", "Ismail", "Nugroho")),
    "th": (("Somchai", "Napat", "Kittipong", "Siriporn", "Chanya", "Thanakorn"),
           ("Srisuk", "Wongsawat", "Chaiyaporn", "Boonmee", "Kaewkla", "Rattanakorn")),
    "ja": (("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Kenji", "Yuki"),
           ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura")),
    "ko": (("Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yun", "Ji-woo", "Hyun-woo", "Su-bin"),
           ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Yoon", "Han")),
    "zh": (("Wei", "Jing", "Hao", "Li Na", "Jun", "Mei", "Jie", "Xin"),
           ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Lin")),
    "hi": (("Rahul", "Priya", "Amit", "Sneha", "Vikram", "Ananya", "Arjun", "Pooja"),
           ("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Nair", "Iyer")),
    "ur": (("Ahmed", "Fatima", "Usman", "Ayesha", "Bilal", "Hina", "Hamza", "Sana", "Rafiq"),
           ("Khan", "Ahmed", "Malik", "Hussain", "Qureshi", "Butt", "Raza", "Sheikh", "Islam")),
    "ng": (("Chinedu", "Aisha", "Emeka", "Ngozi", "Tunde", "Funmilayo", "Ibrahim", "Blessing"),
           ("Okafor", "Adeyemi", "Okeke", "Bello", "Eze", "Balogun", "Nwosu", "Abubakar")),
    "ar": (("Mohamed", "Nour", "Omar", "Mariam", "Youssef", "Salma", "Karim"),
           ("Hassan", "Ali", "Ibrahim", "Mahmoud", "Mostafa", "Saleh", "Farouk")),
    "sw": (("Brian", "Wanjiru", "Kevin", "Akinyi", "Dennis", "Njeri"),
           ("Otieno", "Kamau", "Mwangi", "Odhiambo", "Wanjiku", "Kiprop")),
}
FAMILY_NAME_FIRST = {"vi", "ko", "zh", "ja"}

CATEGORIES = {  # category: (median hourly rate in a 1.0 cost country, share of jobs)
    "web": (38.0, 30), "mobile": (45.0, 15), "blockchain": (65.0, 8), "data": (48.0, 12),
    "design": (32.0, 12), "devops": (55.0, 8), "qa": (26.0, 7), "automation": (40.0, 8),
    "cad": (35.0, 3), "accounting": (30.0, 3), "writing": (24.0, 4),
}
DPRK_CATEGORIES = ("web", "mobile", "blockchain", "blockchain", "web", "automation", "devops")

# (asn, kind, country, ipv6?) per country: residential first, mobile second
ISPS: dict[str, tuple[tuple[int, int], tuple[int, bool]]] = {
    "US": ((7922, 7018), (21928, True)), "CA": ((812, 577), (22652, False)),
    "GB": ((2856, 5089), (25135, False)), "IE": ((5466, 6830), (15502, False)),
    "AU": ((1221, 4739), (4804, True)), "DE": ((3320, 3209), (6805, False)),
    "NL": ((1136, 33915), (31615, False)), "FR": ((3215, 12322), (51207, True)),
    "ES": ((3352, 12479), (12430, False)), "IT": ((3269, 1267), (30722, False)),
    "PT": ((3243, 2860), (12353, False)), "PL": ((5617, 6830), (12912, False)),
    "RO": ((8708, 9050), (12302, False)), "UA": ((6849, 13188), (15895, False)),
    "SE": ((3301, 2119), (1257, False)), "CH": ((3303, 6730), (3303, False)),
    "BR": ((28573, 18881), (26599, True)), "MX": ((8151, 13999), (28509, False)),
    "AR": ((10318, 7303), (22927, False)), "CO": ((10620, 3816), (27831, False)),
    "CL": ((7418, 22047), (27651, False)), "PE": ((6147, 12252), (12252, False)),
    "PH": ((9299, 6648), (132199, True)), "VN": ((45899, 18403), (7552, True)),
    "ID": ((7713, 17451), (23693, True)), "MY": ((4788, 9534), (4818, False)),
    "TH": ((17552, 45758), (131445, True)), "SG": ((9506, 4657), (55430, False)),
    "JP": ((2516, 4713), (9605, True)), "KR": ((4766, 3786), (9644, True)),
    "TW": ((3462, 9924), (24158, False)), "IN": ((24560, 17488), (55836, True)),
    "PK": ((17557, 38193), (24499, False)), "BD": ((24389, 17494), (24432, False)),
    "NG": ((37282, 36873), (29465, False)), "EG": ((8452, 24863), (24835, False)),
    "KE": ((33771, 36866), (33771, False)), "AE": ((5384, 15802), (5384, False)),
    "IL": ((1680, 8551), (12400, False)), "CN": ((4837, 4134), (9808, False)),
    "RU": ((12389, 8359), (8359, False)), "HK": ((4760, 9269), (9304, False)),
}
HOSTING = ((14061, "US"), (16509, "US"), (20473, "US"), (24940, "DE"), (16276, "FR"),
           (60781, "NL"), (14061, "SG"), (63949, "US"))
VPNS = ((9009, "US"), (9009, "GB"), (9009, "NL"), (212238, "DE"), (212238, "CH"),
        (60068, "SE"), (60068, "US"), (9009, "CA"), (212238, "JP"), (60068, "SG"))
TOR_ASNS = (60729, 53667, 208323, 200052)

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "KestrelDesktop/4.12.1 (Windows 11; x64) Electron/32.2.5",
    "KestrelDesktop/4.12.1 (macOS 15.1; arm64) Electron/32.2.5",
    "KestrelDesktop/4.11.0 (Ubuntu 24.04; x64) Electron/31.7.1",
)
MOBILE_AGENTS = (
    "KestrelApp/7.3.0 (Android 14; SM-A546B)",
    "KestrelApp/7.3.0 (iOS 18.1; iPhone15,3)",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
)

# ------------------------------------------------------------------------------------------------
# message wording

CHAT = {
    "en": (
        "hi, i pushed the fix to the branch, pls check", "Thanks! Will review tomorow",
        "Can you give me an ETA for the checkout page?", "Sure, I'll have it done by friday",
        "Logged 6h today, mostly on the API refactor", "the staging server is down again?",
        "Great work on the dashboard 👍", "I had a question about the rate limits on your side",
        "let me know if you need acces to the repo", "Merged. Next up: password reset flow.",
        "Quick question - should the export be CSV or Excel?",
        "Deployed to staging, smoke tests passed", "sorry for the delay, was sick yesterday",
        "Could you record a short loom of the bug?", "Perfect, thats exactly what we needed",
        "I think the issue is in the webhook retry logic, looking into it",
        "Here is the updated estimate: 14-18 hours", "ok noted, will adjust the colours",
        'Update:\n- fixed the "remember me" bug\n- added tests, coverage 81%\nnext: i18n',
        "Two questions:\n1) staging or prod db?\n2) can I use \"pnpm\" instead of npm?",
    ),
    "es": (
        "Hola, ya subí los cambios a la rama develop",
        "¿Podés revisar el PR cuando tengas un rato?",
        "Perfecto, mañana lo reviso", "Te paso el presupuesto actualizado, son 20 horas más",
        "Listo, el deploy está hecho 🚀", "Disculpa la demora, tuve problemas con la luz",
        "¿El endpoint de pagos ya está en producción?", "Gracias, quedó muy bien",
    ),
    "pt": (
        "Oi, subi a correção, pode conferir?", "Beleza, amanhã eu olho",
        "O layout ficou ótimo!", "Vou precisar de mais 2 dias pra terminar a integração",
        "Fiz o deploy em homologação", "Valeu! Tudo certo por aqui",
    ),
    "ru": (
        "Привет, залил фикс в ветку, проверь пожалуйста", "Сделаю к пятнице",
        "Можешь дать доступ к репозиторию?", "Спасибо, всё работает",
        "Hi, sorry for my english — the migration is done, please check", "Оценка: 12 часов",
    ),
}
# DPRK-run accounts pushing talks off the platform (advisories: Telegram, WhatsApp, Skype,
# Discord, Signal, personal e-mail).
OFF_PLATFORM = (
    "ping me on tg @{h}, its faster",
    "my whatsapp is +1 {p}, text me there pls",
    "can we move to skype, the app here is laggy. live:.cid.{x}",
    "add me: discord {h}#{n}",
    "Let's continue on Telegram, I reply much quicker there: t.me/{h}",
    "pls send the details to my personal email {h}@gmail.com, the chat here is buggy for me",
    "Signal me at +44 {p} so we can talk directly",
    "We could save the platform fee if we settle outside, contact me on telegram {h}",
    "wats app me +1 {p} anytime",
    "Can u add me on skype? id: {h}.dev",
    "For faster comunication: Discord -> {h}#{n}",
    "¿Podemos hablar por WhatsApp? Mi número es +52 {p}",
    "Напиши мне в телеге @{h}, тут неудобно",
    "my tele is @{h} — I'm online there 24/7",
    "better we use email: {h}.work@proton.me",
)
# Mentions of those technologies that are not a request to leave the platform.
TECH_MENTIONS = (
    "I integrated the Telegram Bot API for the order notifications",
    "WhatsApp Business webhook is receiving events now, verified the signature",
    "Discord.js bot is deployed, slash commands are registered",
    "The Slack and Telegram notifiers share one queue now",
    "Fixed the Skype for Business connector bug (token refresh)",
    "the Twilio WhatsApp sandbox number is +1 415 523 8886, use it for testing",
    "El bot de Telegram ya responde a /start y /help",
    "Бот в телеграме теперь отправляет уведомления о заказах",
    "Added a Signal-style double ratchet to the chat module, see PR #41",
    "discord webhook url goes in the .env, not in the repo",
)
CLIENT_OFF_PLATFORM = (
    "Could you join our Slack workspace? I'll send the invite to the address on your profile",
    "let's hop on a zoom call tomorrow 10am my time",
    "Please share your email so I can add you to the Google Drive folder",
    "We use Jira and Teams internally, I'll get you a guest account",
)
# Video avoidance excuses (advisories: refuse video, "audio problems", broken camera).
EXCUSES = (
    "sorry my camera is broken, can we do voice?",
    "mic not working rn, can we just chat by text?",
    "I'm having audio problems today, let's do text",
    "my laptop webcam died last week, ordering new one. voice ok?",
    "internet here is too slow for video, voice only pls",
    "I'm at a coworking, can't turn on camera sorry",
    "Prefiero hacerlo por chat, mi cámara no funciona",
    "Камера сломалась, давайте голосом",
    "can we skip the video? I can answer faster in text",
    "There was an audio problem on my side, sorry! Can we continue in chat",
    "camera driver issue after windows update, will fix soon",
)
HONEST_MISHAP = (
    "so sorry, my headset died mid-call — can we do video again tomorrow?",
    "apologies, power cut here, audio dropped. happy to redo on camera",
)
SELF_RATING_CHAT = (
    "Task done as discussed, please confirm", "Confirmed, releasing payment",
    "thanks, great job as always", "next milestone tomorrow",
)

# ------------------------------------------------------------------------------------------------
# helpers


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flip(h: int, bits: int, rng: random.Random) -> int:
    for b in rng.sample(range(64), bits):
        h ^= 1 << b
    return h


def _ph(h: int) -> str:
    return f"{h:016x}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _weighted(rng: random.Random, mix: dict[str, int]) -> str:
    keys = list(mix)
    return rng.choices(keys, weights=[mix[k] for k in keys])[0]


@dataclass
class Net:
    asn: int
    kind: str
    country: str
    base: int  # IPv4 /16
    v6: int | None = None  # IPv6 /32 prefix as an int (mobile carriers that run IPv6)
    pool: list[str] = field(default_factory=list)  # CGNAT or VPN exit addresses

    def addr(self, rng: random.Random) -> str:
        n = self.base + rng.randrange(1, 65534)
        return ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0))

    def v6_addr(self, prefix64: int, rng: random.Random) -> str:
        return str(ipaddress.IPv6Address((prefix64 << 64) | rng.getrandbits(64)))


@dataclass
class Acct:
    id: str
    kind: str
    scenario: str
    is_dprk: bool
    country: str
    tz: str | None  # claimed zone (nullable in the export)
    act_tz: str  # zone the person really lives by
    name: str  # display name
    legal: str  # name on the identity document
    lang: str
    created: datetime
    email: str
    phone: str | None
    phone_type: str | None
    rate: float | None = None
    category: str = "web"
    lifetime: float = 0.0
    status: str = "active"
    cell: int | None = None
    traits: set[str] = field(default_factory=set)
    res_net: Net | None = None
    mob_net: Net | None = None
    home_ip: str = ""
    v6_prefix: int | None = None
    devices: list[str] = field(default_factory=list)
    fixed_ips: list[tuple[str, Net, str]] = field(default_factory=list)  # office/campus/farm
    fixed_share: float = 0.0
    payout: list[str] = field(default_factory=list)  # payment method ids, last active
    cards: list[str] = field(default_factory=list)
    start_h: float = 9.0
    work_len: float = 6.0
    diligence: float = 0.7
    refresh: int = 0
    week_hours: float = 0.0
    interviews: int = 0
    route: list[str] = field(default_factory=list)  # digital nomads: countries, a week each
    vpn: Net | None = None  # privacy VPN users: their provider
    company: tuple[str, str] | None = None  # agency: (company name, payout fingerprint)
    shared: dict = field(default_factory=dict)  # DPRK cell resources
    profile_text: str | None = None
    referred_by: str | None = None
    op: str | None = None  # operation id (ground truth): a DPRK cell and its fake clients
    last_seen: datetime | None = None  # dormant accounts: last profile change before the window
    switch: str = ""  # handover | hijack | return | new_laptop: what changes on switch_day
    switch_day: int = -1
    bid_p: float = 0.1  # chance of sending proposals on a day
    bid_n: tuple[int, int] = (1, 3)
    bid_cats: tuple[str, ...] = ()
    cover: str | None = None  # a text this person (or operation) reuses in cover letters
    applied: set[str] = field(default_factory=set)
    text_done: bool = False

    @property
    def loud(self) -> bool:
        """DPRK-run and behaving like it (the two-weak-signs accounts behave like anyone)."""
        return self.is_dprk and "two_weak" not in self.scenario


@dataclass
class Contract:
    id: str
    client: str
    freelancer: str
    created: datetime
    category: str
    ctype: str
    rate: float
    status: str
    end_day: int  # day index when it completes (may be past the window)
    self_rating: bool = False
    hours: float = 0.0
    friendly: bool = False  # between friends: five stars both ways


# ------------------------------------------------------------------------------------------------
# the simulated platform


class _Platform:
    def __init__(self, start: date, days: int, accounts: int, seed: int,
                 styles: frozenset[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.styles = styles
        self.start = start
        self.days = days
        self.n = accounts
        self.accts: dict[str, Acct] = {}
        self.contracts: dict[str, Contract] = {}
        self.ent: dict[str, dict[str, list[tuple[int, dict]]]] = {
            t: defaultdict(list) for t in ENTITY_KEYS}
        self.ev: dict[str, list[tuple[dict, list[int]]]] = {t: [] for t in EVENT_TIME}
        self.used_ids: set[str] = set()
        self.pm_rows: dict[str, dict] = {}
        self.by_fl: dict[str, list[Contract]] = defaultdict(list)
        self.pending_docs: list[dict] = []
        self._nets()

    # ---------------------------------------------------------------- ids and time

    def uid(self, created: datetime) -> str:
        while True:
            if created.year < 2024 and self.rng.random() < 0.8:
                v = f"u_{self.rng.randrange(10000, 999999)}"
            else:
                v = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def xid(self, prefix: str, n: int = 12) -> str:
        while True:
            v = prefix + "".join(self.rng.choices("0123456789abcdefghijkmnpqrstuvwxyz", k=n))
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def day(self, i: int) -> date:
        return self.start + timedelta(days=i)

    def local(self, i: int, hour: float, tz: str) -> datetime:
        """The UTC instant `hour` hours after local midnight of day `i` in zone `tz`."""
        d = self.day(i)
        base = datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))
        return (base + timedelta(hours=hour, seconds=self.rng.randrange(60))).astimezone(UTC)

    def day_index(self, ts: datetime) -> int:
        return (ts.astimezone(UTC).date() - self.start).days

    # ---------------------------------------------------------------- networks

    def _nets(self) -> None:
        rng = self.rng
        used: set[int] = set()

        def block() -> int:
            while True:
                a = rng.choice([x for x in range(2, 223) if x not in (10, 100, 127, 169, 172,
                                                                     192, 198, 203)])
                b = rng.randrange(256)
                if (a, b) not in used:
                    used.add((a, b))  # type: ignore[arg-type]
                    return (a << 24) | (b << 16)

        self.res: dict[str, list[Net]] = {}
        self.mob: dict[str, Net] = {}
        for cc, ((r1, r2), (m, v6)) in ISPS.items():
            self.res[cc] = [Net(r1, "residential", cc, block()), Net(r2, "residential", cc,
                                                                    block())]
            net = Net(m, "mobile", cc, block(),
                      v6=(0x2400 + rng.randrange(0x500)) << 16 | rng.randrange(1 << 16)
                      if v6 else None)
            net.pool = [net.addr(rng) for _ in range(14)]  # carrier-grade NAT
            self.mob[cc] = net
        self.hosting = [Net(a, "hosting", c, block()) for a, c in HOSTING]
        self.vpn = []
        for a, c in VPNS:
            net = Net(a, "vpn", c, block())
            net.pool = [net.addr(rng) for _ in range(25)]
            self.vpn.append(net)
        tor = Net(TOR_ASNS[0], "tor", "DE", block())
        tor.pool = [tor.addr(rng) for _ in range(30)]
        self.tor = tor

    def login(self, a: Acct, ts: datetime, via: str = "home", *, net: Net | None = None,
              ip: str | None = None, device: str | None = None, success: bool = True) -> None:
        rng = self.rng
        mobile = False
        if ip is None:
            if via == "fixed" and a.fixed_ips:
                ip, net, _ = rng.choice(a.fixed_ips)
            elif via == "mobile" and a.mob_net is not None:
                net = a.mob_net
                mobile = True
                if net.v6 is not None and a.v6_prefix is not None and rng.random() < 0.7:
                    ip = net.v6_addr(a.v6_prefix, rng)
                    if rng.random() < 0.05:
                        ip = ipaddress.IPv6Address(ip).exploded
                else:
                    ip = rng.choice(net.pool)
            elif via == "vpn":
                net = net or rng.choice(self.vpn)
                # a provider's busiest exits carry many unrelated customers the same day
                ip = rng.choice(net.pool[:3] if rng.random() < 0.4 else net.pool)
            elif via == "tor":
                net = self.tor
                ip = rng.choice(net.pool)
            elif via == "hosting":
                net = net or rng.choice(self.hosting)
                ip = net.addr(rng)
            else:
                net = a.res_net
                if rng.random() < 0.04:  # the ISP hands out a new address now and then
                    a.home_ip = net.addr(rng)  # type: ignore[union-attr]
                ip = a.home_ip
        assert net is not None
        kind: str | None = net.kind
        r = rng.random()
        if r < 0.03:
            kind = None
        elif r < 0.06:
            kind = "unknown"
        if device is None:
            device = rng.choice(a.devices) if not mobile else a.devices[-1]
        ua = rng.choice(MOBILE_AGENTS if mobile else USER_AGENTS)
        self.event("logins", {
            "login_id": self.xid("lg_", 16), "account_id": a.id, "ts": ts, "ip": ip,
            "ip_country": net.country if rng.random() > 0.02 else None,
            "ip_asn": net.asn if rng.random() > 0.02 else None, "ip_kind": kind,
            "device_id": device if rng.random() > 0.04 else None,
            "user_agent": ua if rng.random() > 0.03 else None, "success": success})

    # ---------------------------------------------------------------- stores

    def event(self, table: str, row: dict) -> None:
        i = self.day_index(row[EVENT_TIME[table]])
        if i < 0 or i >= self.days:
            return
        rng = self.rng
        late = 0 if rng.random() < 0.93 else rng.randint(1, 3)
        if i + late >= self.days:
            late = 0
        nights = [i + late]
        if rng.random() < 0.012 and late < 3 and i + late + 1 < self.days:
            nights.append(rng.randint(i + late + 1, min(i + 3, self.days - 1)))  # re-delivered
        self.ev[table].append((row, nights))

    def entity(self, table: str, i: int, row: dict) -> None:
        """Record a version of an entity row; it goes out on the night of its change."""
        stamp = next((row[c] for c in ("updated_at", "added_at", "submitted_at") if c in row),
                     None)
        if i >= 0 and stamp is not None:
            i = max(i, self.day_index(stamp))
        if i < self.days:
            self.ent[table][row[ENTITY_KEYS[table]]].append((max(i, 0), dict(row)))

    def account_row(self, a: Acct, updated: datetime) -> dict:
        return {
            "account_id": a.id, "account_type": a.kind, "created_at": a.created,
            "updated_at": max(updated, a.created), "display_name": a.name,
            "email_hash": _sha(a.email.lower()), "email_domain": a.email.split("@")[1],
            "phone_hash": _sha(a.phone) if a.phone else None, "phone_line_type": a.phone_type,
            "country": a.country, "timezone": a.tz,
            "hourly_rate_usd": None if a.rate is None else round(a.rate, 2),
            "lifetime_hours": None if a.kind == "client" else round(a.lifetime, 1),
            "status": a.status, "profile_text": a.profile_text,
            "referred_by_account_id": a.referred_by,
        }

    def emit_account(self, a: Acct, i: int, ts: datetime | None = None) -> None:
        if ts is None:
            ts = self.local(i, self.rng.uniform(0, 23.9), "UTC") if i >= 0 else a.created
        self.entity("accounts", i, self.account_row(a, ts))

    def emit_contract(self, c: Contract, i: int, ts: datetime) -> None:
        self.entity("contracts", i, {
            "contract_id": c.id, "client_account_id": c.client,
            "freelancer_account_id": c.freelancer, "created_at": c.created,
            "updated_at": max(ts, c.created), "category": c.category, "contract_type": c.ctype,
            "rate_usd": round(c.rate, 2), "status": c.status})

    def add_payment(self, a: Acct, i: int, ts: datetime, method: str, fingerprint: str,
                    holder: str | None, country: str | None, *, payout: bool) -> str:
        pid = self.xid("pm_", 14)
        row = {"payment_method_id": pid, "account_id": a.id, "added_at": ts,
               "method_type": method, "fingerprint": fingerprint, "holder_name": holder,
               "country": country, "is_active": True}
        lst = a.payout if payout else a.cards
        if payout and lst:  # a new payout method replaces the current one
            if self.pm_rows[lst[-1]]["holder_name"] != holder:
                self.change(a, ts, "payout_holder_name", self.pm_rows[lst[-1]]["holder_name"],
                            holder)
            old = dict(self.pm_rows[lst[-1]])
            old["is_active"] = False
            self.pm_rows[old["payment_method_id"]] = old
            self.entity("payment_methods", i, old)
        lst.append(pid)
        self.pm_rows[pid] = row
        self.entity("payment_methods", i, row)
        return pid

    # ---------------------------------------------------------------- people

    def person_name(self, lang: str) -> tuple[str, str]:
        first, last = NAMES[lang]
        f, f2, s = self.rng.choice(first), self.rng.choice(first), self.rng.choice(last)
        if lang in ("es",) and self.rng.random() < 0.5:
            s = f"{s} {self.rng.choice(last)}"
        legal = f"{s} {f}" if lang in FAMILY_NAME_FIRST else f"{f} {s}"
        if lang in ("en", "pt") and self.rng.random() < 0.3:
            legal = f"{f} {f2} {s}" if f2 != f else legal
        display = legal
        r = self.rng.random()
        if r < 0.25:
            display = f"{f} {s[0]}."
        elif r < 0.32:
            display = f"{f} | {self.rng.choice(['Full-stack dev', 'UX/UI', 'Data', 'DevOps'])}"
        return display, legal

    def provider_name(self, legal: str) -> str:
        """How a payment provider spells the same person's name."""
        r = self.rng.random()
        parts = legal.split()
        if r < 0.35:
            return legal
        if r < 0.6:
            return _ascii(legal).upper()
        if r < 0.75 and len(parts) >= 2:
            return f"{parts[-1].upper()}, {' '.join(parts[:-1])}"
        if r < 0.9 and len(parts) >= 3:
            return f"{parts[0]} {parts[1][0]}. {parts[-1]}"
        return _ascii(legal)

    def new_account(self, kind: str, scenario: str, country: str, *, created: datetime,
                    dprk: bool = False, tz: str | None | bool = True, lang: str | None = None,
                    act_tz: str | None = None) -> Acct:
        rng = self.rng
        zones, pool, cost, domains, mlang = COUNTRIES[country]
        zone = rng.choice(zones)
        claimed = zone if tz is True else (None if tz is False or tz is None else tz)
        if tz is True and rng.random() < 0.08:
            claimed = None  # timezone is optional on the profile
        display, legal = self.person_name(lang or pool)
        handle = _ascii(legal).lower().replace(" ", rng.choice([".", "", "_"]))
        email = f"{handle}{rng.randrange(1, 999) if rng.random() < 0.6 else ''}@" \
                f"{rng.choice(domains)}"
        r = rng.random()
        phone: str | None = f"+{rng.randrange(10**9, 10**12)}"
        ptype: str | None = "mobile"
        if r < 0.06:
            phone, ptype = None, None
        elif r < 0.10:
            ptype = "landline"
        elif r < 0.13:
            ptype = "unknown"
        elif r < 0.16 and country in ("US", "CA", "GB"):
            ptype = "voip"  # Google Voice and the like are common and legitimate
        a = Acct(self.uid(created), kind, scenario, dprk, country, claimed, act_tz or zone,
                 display, legal, mlang, created, email, phone, ptype)
        a.res_net = rng.choice(self.res[country])
        a.mob_net = self.mob[country]
        a.home_ip = a.res_net.addr(rng)
        a.v6_prefix = ((a.mob_net.v6 << 32) | rng.getrandbits(32)) if a.mob_net.v6 else None
        a.devices = [self.xid("dv", 20) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        a.start_h = rng.gauss(9.0, 1.2)
        a.refresh = rng.randrange(7)
        if kind == "freelancer":
            a.category = rng.choices(list(CATEGORIES), [v[1] for v in CATEGORIES.values()])[0]
            a.rate = max(5.0, CATEGORIES[a.category][0] * cost * rng.lognormvariate(0, 0.25))
            years = max((self.day(0) - created.date()).days / 365.0, 0.0)
            a.work_len = rng.uniform(3, 8)
            a.diligence = rng.uniform(0.45, 0.9)
            a.lifetime = years * a.work_len * 4.5 * 48 * rng.uniform(0.05, 0.5)
        self.accts[a.id] = a
        return a

    # ---------------------------------------------------------------- free text (1.1)

    def fill(self, a: Acct, text: str, **kw: object) -> str:
        rng = self.rng
        years = max(1, (self.day(0) - a.created.date()).days // 365 + rng.randint(0, 6))
        first = a.name.split()[0] if a.lang not in FAMILY_NAME_FIRST else a.name.split()[-1]
        role = rng.choice(ROLES[a.category])
        vals = {"role": role, "role_l": role[0].lower() + role[1:], "years": years,
                "y2": rng.randint(2, 9), "place": CITY.get(a.country, a.country),
                "first": first, "since": rng.randint(2012, 2023),
                "recent": rng.choice(RECENT), "employer": rng.choice(EMPLOYERS),
                "likes": rng.choice(LIKES), "study": rng.choice(STUDY),
                "tools": rng.choice(TOOLS), "hrs": rng.choice((10, 20, 25, 30, 40)),
                "catw": CATW[a.category], "n": rng.randint(2, 30),
                "when": rng.choice(("tomorrow", "on Monday", "this week", "right away")),
                "step": rng.choice(STEPS), "step2": rng.choice(STEPS),
                "question": rng.choice(QUESTIONS), "est": rng.randint(6, 80),
                "part": rng.choice(("mornings", "afternoons", "evenings")), "client": "there"}
        vals.update(kw)
        return text.format_map(vals)

    def make_profile(self, a: Acct) -> str | None:
        """The summary an ordinary person writes (or a client's company blurb)."""
        rng = self.rng
        if a.kind == "client":
            if rng.random() > 0.25:
                return None
            return rng.choice(CLIENT_BLURBS).format(
                kind=rng.choice(CLIENT_KINDS), place=CITY.get(a.country, a.country),
                catw=CATW[rng.choice(list(CATW))])
        r = rng.random()
        if r < 0.1:
            return None
        if r < 0.14:  # kept the platform's starter text
            return self.fill(a, edit_text(rng.choice(STARTER), rng, rng.randint(0, 1)))
        parts = [rng.choice(PROFILE_OPEN), *rng.sample(PROFILE_MID, rng.randint(1, 3)),
                 rng.choice(PROFILE_CLOSE)]
        return self.fill(a, " ".join(x for x in parts if x))

    def cover_letter(self, a: Acct, client: Acct, cat: str) -> str | None:
        rng = self.rng
        if rng.random() < 0.05:
            return None  # "quick apply" sends no letter
        cname = client.name.split()[0]
        if a.cover is not None:  # a reused text: the operation's template or one's own
            return self.fill(a, a.cover, client=cname, catw=CATW[cat])
        parts = [rng.choice(COVER_GREET), *rng.sample(COVER_BODY, rng.randint(1, 3)),
                 rng.choice(COVER_CLOSE)]
        return self.fill(a, "\n".join(x for x in parts if x) if rng.random() < 0.3 else
                         " ".join(x for x in parts if x), client=cname, catw=CATW[cat])

    def document(self, a: Acct, i: int, ts: datetime, *, holder: str | None = None,
                 number: str | None = None, face: int | None = None, image: int | None = None,
                 issuing: str | None = None, status: str | None = None,
                 dtype: str | None = None, method: str | None = None) -> dict:
        rng = self.rng
        dob = date(rng.randrange(1968, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
        dtype = dtype or rng.choices(
            ("passport", "national_id", "drivers_license", "residence_permit"), (5, 3, 2, 0.4))[0]
        status = status or rng.choices(("approved", "pending", "rejected"), (90, 6, 4))[0]
        row = {
            "document_id": self.xid("doc-", 10), "account_id": a.id, "submitted_at": ts,
            "document_type": dtype, "issuing_country": issuing or a.country,
            "document_number_hash": _sha((number or f"{rng.getrandbits(40):X}").upper()),
            "holder_name": holder or a.legal,
            "date_of_birth": dob if rng.random() > 0.05 else None,
            "image_phash": _ph(image if image is not None else rng.getrandbits(64)),
            "face_phash": _ph(face if face is not None else rng.getrandbits(64))
            if rng.random() > 0.03 or face is not None else None,
            "verification_status": status,
            "verification_method": method or rng.choices(
                ("automated", "manual_review", "video_call"), (70, 25, 5))[0],
            "verified_at": None,
        }
        if status != "pending":
            m = row["verification_method"]
            delay = rng.uniform(0.01, 0.3) if m == "automated" else rng.uniform(1, 40)
            verified = ts + timedelta(hours=delay)
            row["verified_at"] = verified
            if ts.year < 2023 and rng.random() < 0.4:
                row["verified_at"] = None  # decided before the platform recorded when
            elif self.day_index(verified) > max(i, self.day_index(ts)) and \
                    self.day_index(verified) >= 0:
                self.entity("identity_documents", i, dict(row, verification_status="pending",
                                                          verified_at=None))
                i = self.day_index(verified)
        self.entity("identity_documents", i, row)
        if status == "pending":
            self.pending_docs.append(row)
        return row

    def onboard(self, a: Acct, i: int, **doc: object) -> None:
        """Account, identity document and payment method as of sign-up (or the full export)."""
        rng = self.rng
        signed = a.created
        day_i = max(i, 0)
        if a.kind == "freelancer":
            self.document(a, day_i, signed + timedelta(minutes=rng.randrange(5, 600)),
                          **doc)  # type: ignore[arg-type]
            method = rng.choices(("bank_account", "paypal", "payoneer", "wise", "crypto_wallet"),
                                 (30, 25, 25, 18, 2))[0]
            self.add_payment(a, day_i, signed + timedelta(hours=rng.uniform(1, 400)), method,
                             _sha(self.xid("ext", 10))[:40], self.provider_name(a.legal),
                             a.country, payout=True)
        else:
            if rng.random() < 0.15:
                self.document(a, day_i, signed + timedelta(minutes=rng.randrange(5, 600)))
            self.add_payment(a, day_i, signed + timedelta(hours=rng.uniform(0.1, 48)),
                             rng.choice(("card", "card", "paypal", "bank_account")),
                             _sha(self.xid("ext", 10))[:40], self.provider_name(a.legal),
                             a.country, payout=False)
        if not a.text_done:
            a.profile_text, a.text_done = self.make_profile(a), True
        if i < 0:  # last profile change some time before the first export
            first = datetime.combine(self.day(0), datetime.min.time(), UTC)
            self.emit_account(a, day_i, a.last_seen or max(a.created, first - timedelta(
                days=rng.uniform(0.1, 40))))
        else:
            self.emit_account(a, day_i, a.created + timedelta(minutes=rng.uniform(1, 90)))

    # ---------------------------------------------------------------- contracts

    def new_contract(self, client: Acct, fl: Acct, i: int, ts: datetime, *,
                     self_rating: bool = False, status: str = "offered") -> Contract:
        rng = self.rng
        ctype = "fixed" if self_rating or rng.random() < 0.3 else "hourly"
        if ctype == "hourly":
            rate = (fl.rate or 20.0) * rng.uniform(0.9, 1.1)
            dur = rng.randint(8, 70)
        else:
            rate = rng.choice((150, 300, 450, 800, 1200, 2500)) * rng.uniform(0.8, 1.2)
            dur = rng.randint(2, 20) if not self_rating else rng.randint(1, 4)
        c = Contract(f"K-{ts.year}-{rng.randrange(10**6):06d}{rng.choice('ABCDEFGH')}",
                     client.id, fl.id, ts, fl.category, ctype, rate, status, i + dur,
                     self_rating)
        while c.id in self.contracts:
            c.id += rng.choice("XYZ")
        self.contracts[c.id] = c
        self.by_fl[fl.id].append(c)
        self.emit_contract(c, i, ts)
        if ctype == "fixed" and i >= 0:  # escrow funded up front
            self.charge(client, c, ts + timedelta(minutes=rng.randrange(5, 300)), c.rate)
        return c

    def charge(self, client: Acct, c: Contract, ts: datetime, amount: float) -> None:
        if not client.cards:
            return
        self.event("transactions", {
            "transaction_id": self.xid("txn_", 14), "ts": ts, "account_id": client.id,
            "payment_method_id": client.cards[-1], "contract_id": c.id, "kind": "client_charge",
            "amount_usd": round(amount, 2)})

    def payout(self, fl: Acct, c: Contract | None, ts: datetime, amount: float) -> None:
        if not fl.payout or amount <= 0.5:
            return
        self.event("transactions", {
            "transaction_id": self.xid("txn_", 14), "ts": ts, "account_id": fl.id,
            "payment_method_id": fl.payout[-1], "contract_id": c.id if c else None,
            "kind": "freelancer_payout", "amount_usd": round(amount * 0.9, 2)})

    def change(self, a: Acct, ts: datetime, fld: str, old: str | None,
               new: str | None) -> None:
        """A profile_changes event (contract 1.1): old and new values hashed, null when empty."""
        def h(v: str | None) -> str | None:
            return None if v is None else _sha(" ".join(v.split()).lower())
        self.event("profile_changes", {
            "change_id": self.xid("pc_", 14), "account_id": a.id, "changed_at": ts,
            "field": fld, "old_value_hash": h(old), "new_value_hash": h(new)})

    def say(self, sender: Acct, to: Acct, ts: datetime, body: str, c: Contract | None) -> None:
        pair = sorted((sender.id, to.id))
        self.event("messages", {
            "message_id": self.xid("m_", 18), "thread_id": "th_" + _sha("|".join(pair))[:20],
            "contract_id": c.id if c else None, "sender_account_id": sender.id,
            "recipient_account_id": to.id, "sent_at": ts, "body": body})

    def chat(self, a: Acct) -> str:
        lang = a.lang if self.rng.random() < 0.7 else "en"
        return self.rng.choice(CHAT[lang])


# ------------------------------------------------------------------------------------------------
# building the population


DPRK_STYLES: dict[str, dict[str, float]] = {  # trait weights per cell style
    "laptop_farm": {"shared_ip": 5, "remote_desktop": 6, "foreign_hours": 4, "proxy_account": 4,
                    "continuous_presence": 2, "extreme_hours": 2, "video_avoidance": 2},
    "vpn_ring": {"anonymised_ip": 6, "ip_burst": 5, "shared_ip": 3, "shared_device": 4,
                 "foreign_hours": 3, "off_platform": 3, "payout_churn": 3, "low_rate": 2},
    "identity_mill": {"document_reuse": 7, "proxy_phone": 5, "video_avoidance": 4,
                      "low_rate": 3, "off_platform": 3, "shared_device": 2},
    "rented_account": {"proxy_account": 6, "foreign_hours": 4, "video_avoidance": 3,
                       "remote_desktop": 3, "self_rating": 4, "extreme_hours": 3,
                       "continuous_presence": 2},
    # tactics reported 2024-2026 (research notes), each style always holds its own trait
    "handover": {"foreign_hours": 6, "remote_desktop": 4, "proxy_account": 4,
                 "anonymised_ip": 2, "shared_device": 3},
    "contract_stacker": {"shared_ip": 4, "remote_desktop": 5, "foreign_hours": 4,
                         "extreme_hours": 2, "proxy_account": 3, "shared_device": 2},
    "proposal_spray": {"template_text": 6, "anonymised_ip": 4, "low_rate": 3,
                       "off_platform": 3, "video_avoidance": 3, "shared_device": 2},
    "reference_ring": {"shared_ip": 6, "shared_device": 4, "template_text": 5,
                       "foreign_hours": 3},
    "mismatched_identity": {"anonymised_ip": 5, "video_avoidance": 3, "template_text": 2,
                            "proxy_phone": 2, "proxy_account": 1},
    "dormant_hijack": {"anonymised_ip": 4, "shared_device": 4, "foreign_hours": 5,
                       "payout_churn": 3, "shared_ip": 3},
}
CLASSIC_STYLES = ("laptop_farm", "vpn_ring", "identity_mill", "rented_account")  # before 1.1
STYLE_TRAIT = {"handover": "handover", "contract_stacker": "concurrent_contracts",
               "proposal_spray": "proposal_spray", "reference_ring": "reference_ring",
               "mismatched_identity": "identity_mismatch",
               "dormant_hijack": "dormant_reactivation"}
ALL_TRAITS = ("ip_burst", "continuous_presence", "shared_ip", "extreme_hours", "self_rating",
              "document_reuse", "low_rate", "video_avoidance", "off_platform", "proxy_account",
              "proxy_phone", "foreign_hours", "remote_desktop", "anonymised_ip",
              "shared_device", "payout_churn", "template_text", "proposal_spray",
              "concurrent_contracts", "identity_mismatch", "reference_ring")
# weight of the newer traits in a style that does not name them (0: only in their own style)
NEW_TRAIT_DEFAULT = {"template_text": 0.4, "proposal_spray": 0.25,
                     "concurrent_contracts": 0.25, "identity_mismatch": 0.2,
                     "reference_ring": 0.0}
LINK_TRAITS = ("shared_ip", "shared_device", "document_reuse", "template_text",
               "reference_ring")
# dprk_two_weak_signs: exactly two of these, each common among honest freelancers
WEAK_PAIRS = ((("foreign_hours", "voip_phone"), 5), (("foreign_hours", "vpn_user"), 2),
              (("foreign_hours", "crypto_payout"), 2), (("low_rate", "foreign_hours"), 2),
              (("voip_phone", "low_rate"), 1), (("vpn_user", "crypto_payout"), 1))
PERSONA_DRIFT = {"JP": 3, "IT": 2, "MY": 2, "UA": 2, "VN": 2, "SG": 2, "PL": 1}
THIRD_COUNTRY_DOCS = ("SK", "RS", "HU", "CZ", "BG", "LT", "MN", "LA")


def weights_for(style: str) -> dict[str, float]:
    own = STYLE_TRAIT.get(style)
    return {t: 0.0 if t == own else DPRK_STYLES[style].get(t, NEW_TRAIT_DEFAULT.get(t, 0.6))
            for t in ALL_TRAITS}


WESTERN_CLAIMS = {"US": 10, "CA": 3, "GB": 2, "PL": 2, "UA": 2, "DE": 1, "NL": 1, "AU": 1,
                  "MX": 1}
ASIAN_CLAIMS = {"JP": 3, "KR": 2, "SG": 2, "MY": 1, "VN": 1}
FACILITATOR_NAMES = ("Brenda Lee Harmon", "JOHN D WALSH", "Taras Yurchenko",  # invented
                     "ZHANG XIAO MING", "LIN HUI TRADING LTD", "Gregory Okonjo",
                     "DALE P WHITCOMB", "Sunrise Digital Services FZE", "WANG JUN")


class _Builder:
    def __init__(self, p: _Platform) -> None:
        self.p = p
        self.rng = p.rng
        self.friend_deals: list[tuple[Acct, Acct]] = []

    def created_at(self, old: bool = True) -> datetime:
        rng = self.rng
        back = rng.choice((rng.uniform(30, 400), rng.uniform(200, 2500), rng.uniform(400, 3600)))
        if not old:
            back = rng.uniform(20, 420)
        t = datetime.combine(self.p.day(0), datetime.min.time(), UTC) - timedelta(days=back)
        return t.replace(hour=rng.randrange(24), minute=rng.randrange(60),
                         second=rng.randrange(60))

    def ordinary(self, kind: str, scenario: str, country: str | None = None,
                 **kw: object) -> Acct:
        mix = CLIENT_MIX if kind == "client" else FREELANCER_MIX
        cc = country or _weighted(self.rng, mix)
        a = self.p.new_account(kind, scenario, cc, created=self.created_at(), **kw)  # type: ignore[arg-type]
        return a

    def build(self) -> None:
        p, rng = self.p, self.rng
        n = p.n
        n_clients = int(n * 0.36)
        n_dprk_target = max(4, round(n * rng.uniform(0.04, 0.05)))
        look = {
            "legit_agency_office": 0.018, "legit_agency_company_payout": 0.012,
            "legit_campus_nat": 0.02, "legit_digital_nomad": 0.012, "legit_privacy_vpn": 0.02,
            "legit_heavy_worker": 0.018, "legit_low_rate": 0.04, "legit_family_shared": 0.01,
            "legit_honest_audio": 0.014, "legit_bot_developer": 0.014,
            "legit_asia_declared": 0.07, "legit_remote_admin": 0.008, "legit_crypto_payout": 0.008,
            "legit_new_laptop": 0.01, "legit_multi_client": 0.014,
            "legit_prolific_bidder": 0.012, "legit_boilerplate_text": 0.016,
            "legit_expat": 0.014, "legit_returning_user": 0.012,
            "legit_referral_friends": 0.014, "legit_night_owl": 0.012,
        }
        clients = [self.ordinary("client", "legit_client") for _ in range(n_clients)]
        for c in clients:
            c.rate = None
            c.start_h = rng.gauss(10, 1.5)
        self.clients = clients
        used = n_clients
        dprk = self.dprk_cells(n_dprk_target)
        used += len(dprk)
        for scen, share in look.items():
            k = max(2, round(n * share))
            made = getattr(self, scen)(k)
            used += len(made)
        while used < n:
            self.ordinary("freelancer", "legit_freelancer")
            used += 1
        # ordinary invitations: someone who joined earlier, never a DPRK persona
        honest = sorted((a for a in p.accts.values() if not a.is_dprk), key=lambda a: a.created)
        for j, a in enumerate(honest):
            if j > 10 and a.referred_by is None and rng.random() < (
                    0.05 if a.kind == "freelancer" else 0.02):
                a.referred_by = honest[rng.randrange(j)].id
        # everyone known at the first night is in the full export
        for a in list(p.accts.values()):
            if a.created < datetime.combine(p.day(1), datetime.min.time(), UTC) and \
                    a.id not in self.deferred:
                p.onboard(a, -1 if a.created.date() < p.day(0) else 0, **self.docs.get(a.id, {}))
        self.seed_contracts()

    # ---------------------------------------------------------------- DPRK cells

    def dprk_cells(self, target: int) -> list[Acct]:
        p, rng = self.p, self.rng
        out: list[Acct] = []
        self.docs: dict[str, dict] = {}
        self.deferred: set[str] = set()
        self.signups: list[tuple[Acct, int]] = []
        self.sr_clients: list[tuple[Acct, Acct]] = []  # (client, freelancer)
        cell = 0
        styles = [*DPRK_STYLES, "two_weak_signs"]
        rng.shuffle(styles)
        if self.p.styles is not None:  # keep the draws (same world), plant only these styles
            styles = [x for x in styles if x in self.p.styles]
        day0 = datetime.combine(p.day(0), datetime.min.time(), UTC)
        while len(out) < target:
            style = styles[cell % len(styles)]  # every style once before any repeats
            cell += 1
            op = p.xid("op-", 10)
            if style == "two_weak_signs":
                out.extend(self.two_weak(cell, op, rng.choice((2, 3, 3, 4))))
                continue
            sizes = (2, 3, 3, 4, 4, 5, 6) if p.n >= 1000 else (2, 2, 3, 3, 4)  # small runs:
            size = min(rng.choice(sizes), max(2, target - len(out)))  # more styles, fewer each
            forced = STYLE_TRAIT.get(style)
            w = weights_for(style)
            plan: list[set[str]] = []
            for _ in range(size):
                k = rng.choices((2, 3, 4, 5, 6), (35, 33, 18, 9, 5))[0]
                traits: set[str] = {forced} if forced else set()
                while len(traits) < k:
                    traits.add(rng.choices(list(w), list(w.values()))[0])
                plan.append(traits)
            for link in LINK_TRAITS:  # a link needs two ends: never leave one member alone
                holders = [t for t in plan if link in t]
                if len(holders) == 1:
                    rng.choice([t for t in plan if link not in t]).add(link)
            real_tz = rng.choice(("Asia/Shanghai", "Asia/Pyongyang", "Asia/Shanghai",
                                  "Asia/Vladivostok"))
            face = rng.getrandbits(64)
            template = rng.getrandbits(64)
            doc_number = f"{rng.getrandbits(40):X}"
            phone = f"+1{rng.randrange(2000000000, 9999999999)}"
            farm = rng.choice(("US", "US", "US", "CA", "GB"))
            farm_net = rng.choice(p.res[farm])
            farm_ip = farm_net.addr(rng)
            vps = rng.choice(p.hosting)
            vps_ip = vps.addr(rng)
            devices = [p.xid("dv", 20) for _ in range(2)]
            fac_name = rng.choice(FACILITATOR_NAMES)
            fac_country = rng.choice(("US", "CN", "HK", "AE", "US"))
            fac_fp = _sha(p.xid("ext", 10))[:40]
            # the operation's own profile text and cover letter, reused with small edits
            picked = sorted(rng.sample(range(1, len(DPRK_PROFILE)), rng.randint(3, 5)))
            prof_tpl = edit_text(" ".join([DPRK_PROFILE[0]] + [DPRK_PROFILE[j] for j in picked]),
                                 rng, 2)
            cover_tpl = " ".join(DPRK_COVER[j] for j in sorted(
                rng.sample(range(len(DPRK_COVER)), rng.randint(4, 6))))
            members: list[Acct] = []
            for m, traits in enumerate(plan):
                if style == "mismatched_identity":
                    cc = _weighted(rng, PERSONA_DRIFT)
                elif "foreign_hours" in traits or rng.random() < 0.5:
                    cc = _weighted(rng, WESTERN_CLAIMS)
                else:
                    cc = _weighted(rng, ASIAN_CLAIMS)
                new_signup = "document_reuse" in traits and m > 0 and rng.random() < 0.6
                created = self.created_at(old=style == "rented_account")
                if style == "handover":  # signed up and verified by a real person in the window
                    new_signup = True
                    when = rng.randrange(0, max(1, int(p.days * 0.4)))
                    created = p.local(when, rng.uniform(13, 22), "UTC")
                elif new_signup:
                    when = rng.randrange(1, max(2, p.days - 2))
                    created = p.local(when, rng.uniform(0, 23), "UTC")
                if style == "rented_account":  # an older, real-looking account, now rented
                    created -= timedelta(days=rng.uniform(300, 1500))
                if style == "dormant_hijack":  # a real person's account, untouched for months
                    created = day0 - timedelta(days=rng.uniform(900, 3000))
                switching = style in ("handover", "dormant_hijack")
                a = p.new_account("freelancer", f"dprk_{style}", cc, created=created, dprk=True,
                                  act_tz=real_tz if "foreign_hours" in traits and not switching
                                  else None)
                a.cell, a.traits, a.op = cell, traits, op
                owner_category, owner_rate = a.category, a.rate
                a.category = rng.choice(DPRK_CATEGORIES)
                a.rate = CATEGORIES[a.category][0] * rng.uniform(0.9, 1.4)
                a.diligence = rng.uniform(0.8, 0.98)
                a.work_len = rng.uniform(7, 11)
                a.lifetime = rng.uniform(300, 1800)
                owner_email = a.email
                a.email = a.email.split("@")[0] + "@" + rng.choice(
                    ("gmail.com", "outlook.com", "proton.me", "gmail.com", "mail.com"))
                a.bid_p, a.bid_n, a.bid_cats = 0.35, (1, 4), (a.category,)
                if "foreign_hours" in traits:
                    a.start_h = rng.uniform(8.5, 10)  # in the real (Asian) zone
                if "low_rate" in traits:
                    a.rate = CATEGORIES[a.category][0] * rng.uniform(0.22, 0.42)
                if "extreme_hours" in traits:
                    a.lifetime = rng.uniform(2600, 9000)
                    a.work_len = rng.uniform(12, 15)
                    a.diligence = 0.97
                owner_phone = (a.phone, a.phone_type)
                if "proxy_phone" in traits:
                    if rng.random() < 0.6:
                        a.phone, a.phone_type = phone, rng.choice(("voip", "voip", "unknown"))
                    else:
                        a.phone = f"+1{rng.randrange(2000000000, 9999999999)}"
                        a.phone_type = "voip"
                if "shared_device" in traits:
                    a.devices = [rng.choice(devices)] + a.devices[:1]
                if "shared_ip" in traits or style == "handover":
                    if style in ("laptop_farm", "handover") or (
                            style != "vpn_ring" and rng.random() < 0.5):
                        a.fixed_ips = [(farm_ip, farm_net, "farm")]
                    else:
                        a.fixed_ips = [(vps_ip, vps, "vps")]
                    a.fixed_share = rng.uniform(0.6, 0.95)
                if "proposal_spray" in traits:  # Okta 2025: thousands of applications
                    a.bid_p, a.bid_n = 0.92, (15, 45)
                    a.bid_cats = tuple(rng.sample(list(CATEGORIES), rng.randint(5, 8)))
                if "template_text" in traits:
                    a.profile_text = edit_text(prof_tpl.format(years=rng.randint(6, 11)), rng,
                                               rng.randint(1, 3))
                    a.cover = edit_text(cover_tpl, rng, rng.randint(0, 2))
                else:
                    a.profile_text = p.make_profile(a)
                a.text_done = True
                if "reference_ring" in traits and members:
                    a.referred_by = rng.choice(members).id
                doc: dict = {}
                if "document_reuse" in traits:
                    v = rng.random()
                    if v < 0.5:  # photo swap: the operator's face on another's document
                        doc = {"face": _flip(face, rng.randint(0, 4), rng)}
                    elif v < 0.8:  # the same forged template, new name and number
                        doc = {"image": _flip(template, rng.randint(1, 5), rng)}
                    else:  # the same document number under another name
                        doc = {"number": doc_number, "face": _flip(face, rng.randint(0, 6), rng)}
                if "identity_mismatch" in traits:  # GTIG 2025: documents from a third country
                    doc["issuing"] = rng.choice(THIRD_COUNTRY_DOCS)
                    doc["dtype"] = rng.choice(("residence_permit", "residence_permit",
                                               "passport"))
                    a.shared["payout_cc"] = rng.choice([c for c in ("HK", "CN", "AE", "SG", "US",
                                                                    "TR") if c != cc])
                    if "anonymised_ip" not in traits:  # lives where the documents do not say
                        live = rng.choice(("CN", "RU", "HK", "CN"))
                        a.res_net = rng.choice(p.res[live])
                        a.home_ip, a.mob_net, a.v6_prefix = a.res_net.addr(rng), p.mob[live], None
                self.docs[a.id] = doc
                a.shared = {**a.shared,
                            "fac_name": fac_name, "fac_country": fac_country, "fac_fp": fac_fp,
                            "farm_ip": farm_ip, "farm_net": farm_net}
                if switching:
                    # what the operators bring, kept aside until the switch day
                    a.shared["after"] = {
                        "devices": a.devices if "shared_device" in traits else
                        [rng.choice(devices), p.xid("dv", 20)],
                        "fixed_ips": a.fixed_ips, "fixed_share": a.fixed_share,
                        "act_tz": real_tz if "foreign_hours" in traits or rng.random() < 0.6
                        else a.act_tz,
                        "start_h": rng.uniform(8.5, 10), "email": a.email,
                        "phone": (a.phone, a.phone_type), "category": a.category,
                        "rate": a.rate, "profile_text": a.profile_text,
                        "live": rng.choice([c for c in ("CN", "RU", "HK", "US", "GB")
                                            if c != cc])}
                    a.devices = [p.xid("dv", 20) for _ in range(rng.choice((1, 2)))]
                    a.fixed_ips, a.fixed_share = [], 0.0
                    a.email, (a.phone, a.phone_type) = owner_email, owner_phone
                    a.switch = "handover" if style == "handover" else "hijack"
                if style == "handover":
                    a.category, a.rate = owner_category, owner_rate
                    a.profile_text = p.make_profile(a)
                    a.start_h = rng.gauss(9.5, 1)
                    doc.update(method=rng.choice(("video_call", "video_call", "automated")),
                               status="approved", dtype=rng.choice(("passport",
                                                                    "drivers_license")))
                    a.switch_day = p.day_index(created) + rng.randint(2, 4)
                if style == "dormant_hijack":
                    a.category, a.rate = owner_category, owner_rate
                    a.profile_text = p.make_profile(a)
                    a.last_seen = day0 - timedelta(days=rng.uniform(150, 800))
                    a.lifetime = rng.uniform(200, 2500)
                    a.switch_day = rng.randint(2, max(2, p.days // 2))
                if new_signup:
                    self.deferred.add(a.id)
                    self.signups.append((a, p.day_index(created)))
                members.append(a)
                out.append(a)
            # fake clients that pay cell members with the members' own payment accounts
            for a in [x for x in members if "self_rating" in x.traits]:
                for _ in range(rng.choice((1, 1, 2))):
                    c = p.new_account("client", "dprk_self_rating_client",
                                      rng.choice(("US", "US", "GB", "CA", "AU")),
                                      created=self.created_at(old=False), dprk=True)
                    c.cell, c.traits, c.rate, c.op = cell, {"self_rating"}, None, op
                    c.devices = a.devices[:1] + c.devices if rng.random() < 0.4 else c.devices
                    self.sr_clients.append((c, a))
                    out.append(c)
            # persona-run clients that refer members and give them five stars from the cell's
            # own machines and addresses (GTIG 2025: references from personas one operator runs)
            ring = [x for x in members if "reference_ring" in x.traits]
            if len(ring) >= 2:
                for _ in range(rng.choice((1, 1, 2))):
                    c = p.new_account("client", "dprk_reference_ring_client",
                                      rng.choice(("US", "US", "GB", "CA", "DE", "NL")),
                                      created=self.created_at(old=False), dprk=True)
                    c.cell, c.traits, c.rate, c.op = cell, {"reference_ring"}, None, op
                    c.referred_by = rng.choice(ring).id
                    src = rng.choice(ring)
                    c.fixed_ips = src.fixed_ips or [(farm_ip, farm_net, "farm")]
                    c.fixed_share = 0.9
                    c.devices = [rng.choice(src.devices)] + c.devices[:1]
                    c.shared = {"ring": True}
                    for fl in ring:
                        self.sr_clients.append((c, fl))
                    out.append(c)
        return out

    def two_weak(self, cell: int, op: str, size: int) -> list[Acct]:
        """DPRK workers showing exactly two signs, each of which ordinary people show too."""
        p, rng = self.p, self.rng
        out = []
        real_tz = rng.choice(("Asia/Shanghai", "Asia/Shanghai", "Asia/Vladivostok"))
        for _ in range(size):
            pair = rng.choices([x for x, _ in WEAK_PAIRS], [wt for _, wt in WEAK_PAIRS])[0]
            traits = set(pair)
            cc = _weighted(rng, WESTERN_CLAIMS) if "foreign_hours" in traits else \
                _weighted(rng, FREELANCER_MIX)
            a = self.ordinary("freelancer", "dprk_two_weak_signs", cc, dprk=True,
                              act_tz=real_tz if "foreign_hours" in traits else None)
            a.cell, a.traits, a.op = cell, traits, op
            a.phone_type = "mobile" if a.phone_type == "voip" else a.phone_type
            if "foreign_hours" in traits:
                a.start_h = rng.uniform(8.5, 10)
            if "voip_phone" in traits:
                a.phone, a.phone_type = f"+1{rng.randrange(2000000000, 9999999999)}", "voip"
            if "low_rate" in traits:
                a.rate = CATEGORIES[a.category][0] * rng.uniform(0.25, 0.42)
            if "vpn_user" in traits:
                a.vpn = rng.choice(p.vpn)
            out.append(a)
        return out

    # ---------------------------------------------------------------- look-alikes

    def _group_ip(self, cc: str, kind: str = "residential") -> tuple[str, Net, str]:
        net = self.rng.choice(self.p.res[cc])
        if kind != "residential":
            net = Net(net.asn, kind, cc, net.base)
        return net.addr(self.rng), net, "office"

    def legit_agency_office(self, k: int) -> list[Acct]:
        out: list[Acct] = []
        while len(out) < k:
            cc = self.rng.choice(("UA", "PL", "AR", "IN", "PH", "RO", "BR"))
            office = self._group_ip(cc, self.rng.choice(("residential", "unknown")))
            cat = self.rng.choice(("web", "mobile", "qa"))
            for _ in range(min(k - len(out), self.rng.randint(5, 9))):
                a = self.ordinary("freelancer", "legit_agency_office", cc)
                a.fixed_ips, a.fixed_share, a.category = [office], 0.8, cat
                if out and out[-1].fixed_ips == [office] and self.rng.random() < 0.5 and \
                        out[-1].created < a.created:
                    a.referred_by = out[-1].id  # staff invite each other
                a.work_len, a.diligence = self.rng.uniform(7, 8.5), 0.85
                out.append(a)
        return out

    def legit_agency_company_payout(self, k: int) -> list[Acct]:
        out: list[Acct] = []
        companies = ("Vértice Software S.L.", "Nordlicht Digital GmbH", "PixelForge Sp. z o.o.",
                     "Código Sur SAS", "Bayanihan Dev Studio Inc.")
        while len(out) < k:
            cc = self.rng.choice(("ES", "DE", "PL", "CO", "PH"))
            company = companies[("ES", "DE", "PL", "CO", "PH").index(cc)]
            fp = _sha(self.p.xid("ext", 10))[:40]
            office = self._group_ip(cc)
            for _ in range(min(k - len(out), self.rng.randint(3, 6))):
                a = self.ordinary("freelancer", "legit_agency_company_payout", cc)
                a.company = (company, fp)
                if self.rng.random() < 0.6:
                    a.fixed_ips, a.fixed_share = [office], 0.6
                out.append(a)
        return out

    def legit_campus_nat(self, k: int) -> list[Acct]:
        out: list[Acct] = []
        while len(out) < k:
            cc = self.rng.choice(("DE", "BR", "MX", "PL", "PT", "ES", "IN", "NG"))
            nat = [self._group_ip(cc, "unknown") for _ in range(2)]
            for _ in range(min(k - len(out), self.rng.randint(8, 16))):
                a = self.ordinary("freelancer", "legit_campus_nat", cc)
                a.fixed_ips, a.fixed_share = nat, self.rng.uniform(0.4, 0.8)
                a.rate = (a.rate or 20) * 0.7
                out.append(a)
        return out

    def legit_digital_nomad(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_digital_nomad",
                              self.rng.choice(("US", "GB", "DE", "NL", "CA", "FR", "AU")))
            a.route = self.rng.sample(["PT", "ES", "MX", "CO", "TH", "ID", "VN", "AR"], 3)
            out.append(a)
        return out

    def legit_privacy_vpn(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_privacy_vpn")
            a.vpn = self.rng.choice(self.p.vpn)
            out.append(a)
        return out

    def legit_heavy_worker(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_heavy_worker")
            a.created = min(a.created, datetime.combine(self.p.day(0), datetime.min.time(), UTC)
                            - timedelta(days=self.rng.uniform(1800, 3600)))
            a.work_len, a.diligence = self.rng.uniform(10, 12.5), 0.92
            a.lifetime = self.rng.uniform(6000, 14000)
            out.append(a)
        return out

    def legit_low_rate(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_low_rate", self.rng.choice(LOW_COST))
            a.rate = CATEGORIES[a.category][0] * self.rng.uniform(0.18, 0.4)
            out.append(a)
        return out

    def legit_family_shared(self, k: int) -> list[Acct]:
        out: list[Acct] = []
        while len(out) < k:
            cc = _weighted(self.rng, FREELANCER_MIX)
            first = self.ordinary("freelancer", "legit_family_shared", cc)
            laptop = first.devices[0]
            surname = first.legal.split()[-1]
            out.append(first)
            for _ in range(min(k - len(out), self.rng.randint(1, 2))):
                a = self.ordinary("freelancer", "legit_family_shared", cc)
                a.res_net, a.home_ip = first.res_net, first.home_ip
                a.devices = [laptop] + a.devices[:1]
                a.legal = " ".join(a.legal.split()[:-1] + [surname])
                a.name = a.legal if self.rng.random() < 0.7 else a.name
                if self.rng.random() < 0.4 and first.phone:
                    a.phone, a.phone_type = first.phone, first.phone_type  # the family phone
                out.append(a)
        return out

    def legit_honest_audio(self, k: int) -> list[Acct]:
        return [self.ordinary("freelancer", "legit_honest_audio") for _ in range(k)]

    def legit_bot_developer(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_bot_developer")
            a.category = "automation"
            out.append(a)
        return out

    def legit_asia_declared(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            cc = self.rng.choice(ASIAN_HONEST)
            a = self.ordinary("freelancer", "legit_asia_declared", cc,
                              tz=self.rng.random() > 0.2)
            out.append(a)
        return out

    def legit_remote_admin(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_remote_admin")
            a.category = "devops"
            out.append(a)
        return out

    def legit_crypto_payout(self, k: int) -> list[Acct]:
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_crypto_payout")
            a.category = "blockchain"
            a.rate = CATEGORIES["blockchain"][0] * COUNTRIES[a.country][2] * self.rng.uniform(
                0.9, 1.3)
            out.append(a)
        return out

    # ---------------------------------------------------------------- look-alikes (1.1 era)

    def signup_in_window(self, cc: str, scenario: str) -> tuple[Acct, int]:
        p, rng = self.p, self.rng
        when = rng.randrange(0, max(1, int(p.days * 0.4)))
        created = p.local(when, rng.uniform(8, 20), COUNTRIES[cc][0][0])
        if p.day_index(created) != when:
            created = p.local(when, rng.uniform(1, 22), "UTC")
        a = p.new_account("freelancer", scenario, cc, created=created)
        self.deferred.add(a.id)
        self.signups.append((a, when))
        return a, when

    def legit_new_laptop(self, k: int) -> list[Acct]:
        """Verified on one machine, then works from a new laptop: same home, hours and payout."""
        out = []
        for _ in range(k):
            a, when = self.signup_in_window(_weighted(self.rng, FREELANCER_MIX),
                                            "legit_new_laptop")
            self.docs[a.id] = {"method": self.rng.choice(("video_call", "automated")),
                               "status": "approved"}
            a.switch, a.switch_day = "new_laptop", when + self.rng.randint(2, 5)
            a.bid_p = 0.3
            out.append(a)
        return out

    def legit_multi_client(self, k: int) -> list[Acct]:
        """Three to five hourly clients at once, switching between them through the day."""
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_multi_client")
            a.work_len, a.diligence = self.rng.uniform(6.5, 9.5), 0.88
            a.shared = {"multi": True}
            out.append(a)
        return out

    def legit_prolific_bidder(self, k: int) -> list[Acct]:
        """Bids on many jobs a day, all in one niche, with a letter of their own they reuse."""
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_prolific_bidder")
            a.category = self.rng.choice(("web", "design", "writing", "data", "mobile", "qa"))
            a.bid_p, a.bid_n, a.bid_cats = 0.85, (8, 22), (a.category,)
            body = " ".join(self.rng.sample(COVER_BODY, 3)) + " " + self.rng.choice(COVER_CLOSE)
            a.cover = self.p.fill(a, "Hi {client}, " + body, client="{client}", catw="{catw}")
            out.append(a)
        return out

    def legit_boilerplate_text(self, k: int) -> list[Acct]:
        """Unrelated people who kept the platform's starter summary and a blog sample letter."""
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_boilerplate_text")
            a.profile_text = self.p.fill(a, edit_text(self.rng.choice(STARTER), self.rng,
                                                      self.rng.randint(0, 2)))
            a.text_done = True
            if self.rng.random() < 0.7:
                a.cover = self.rng.choice(GENERIC_COVER)
            out.append(a)
        return out

    def legit_expat(self, k: int) -> list[Acct]:
        """Documents of the home country, life (and logins) in another; payouts in either."""
        out = []
        rng = self.rng
        for _ in range(k):
            home = rng.choice(("IN", "BR", "UA", "PH", "NG", "MX", "VN", "EG", "CO", "PK"))
            res = rng.choice(("DE", "NL", "PT", "ES", "GB", "AE", "CA", "US", "SG", "JP", "IE",
                              "SE"))
            a = self.p.new_account("freelancer", "legit_expat", res, created=self.created_at(),
                                   lang=COUNTRIES[home][1])
            self.docs[a.id] = {"issuing": home, "dtype": "passport"} if rng.random() < 0.6 \
                else {"issuing": res, "dtype": "residence_permit"}
            a.shared = {"payout_cc": home if rng.random() < 0.3 else res}
            out.append(a)
        return out

    def legit_returning_user(self, k: int) -> list[Acct]:
        """Back after months away: maybe a new laptop or a fresh summary, otherwise the same."""
        out = []
        day0 = datetime.combine(self.p.day(0), datetime.min.time(), UTC)
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_returning_user")
            a.created = min(a.created, day0 - timedelta(days=self.rng.uniform(900, 3000)))
            a.last_seen = day0 - timedelta(days=self.rng.uniform(150, 800))
            a.switch, a.switch_day = "return", self.rng.randint(2, max(2, self.p.days // 2))
            out.append(a)
        return out

    def legit_referral_friends(self, k: int) -> list[Acct]:
        """Friends who invited each other; each on their own networks, devices and payouts."""
        out: list[Acct] = []
        rng = self.rng
        self.friend_deals: list[tuple[Acct, Acct]] = []
        while len(out) < k:
            cc = _weighted(rng, FREELANCER_MIX)
            group: list[Acct] = []
            for _ in range(min(k - len(out), rng.randint(2, 4))):
                a = self.ordinary("freelancer", "legit_referral_friends",
                                  cc if rng.random() < 0.6 else None)
                if group:
                    a.referred_by = rng.choice(group).id
                group.append(a)
                out.append(a)
            if len(group) >= 2 and rng.random() < 0.35 and len(out) < k:
                c = self.ordinary("client", "legit_referral_friends")
                c.rate, c.referred_by = None, rng.choice(group).id
                self.friend_deals.append((c, rng.choice(group)))
                out.append(c)
        return out

    def legit_night_owl(self, k: int) -> list[Acct]:
        """US/EU profiles that work through their own night (some on a Google Voice number)."""
        out = []
        for _ in range(k):
            a = self.ordinary("freelancer", "legit_night_owl", self.rng.choice(
                ("US", "US", "CA", "GB", "DE", "NL", "FR", "ES", "PL", "AU")))
            a.start_h = self.rng.uniform(21, 24.5)
            if a.country in ("US", "CA", "GB") and self.rng.random() < 0.3:
                a.phone_type = "voip"
            out.append(a)
        return out

    # ---------------------------------------------------------------- finishing touches

    def seed_contracts(self) -> None:
        """Work already under way when the platform's first export is taken."""
        p, rng = self.p, self.rng
        by_cat: dict[str, list[Acct]] = defaultdict(list)
        for a in p.accts.values():
            if a.kind == "freelancer":
                by_cat[a.category].append(a)
        for a in p.accts.values():
            if a.kind != "freelancer" or a.id in self.deferred:
                continue
            # payouts as the scenario dictates
            self.payout_setup(a)
            n = rng.choices((0, 1, 2, 3), (25, 45, 22, 8))[0]
            if a.loud or a.scenario in ("legit_heavy_worker", "legit_agency_office",
                                        "legit_agency_company_payout", "legit_remote_admin"):
                n = max(n, rng.randint(1, 3))
            stacked = "concurrent_contracts" in a.traits or "multi" in a.shared
            if stacked:
                n = rng.randint(3, 6) if a.is_dprk else rng.randint(3, 5)
            if a.switch in ("hijack", "return"):
                n = 0  # dormant: nothing under way
            for _ in range(n):
                client = rng.choice(self.clients)
                back = rng.randint(1, 60)
                ts = datetime.combine(p.day(0), datetime.min.time(), UTC) - timedelta(
                    days=back, hours=rng.uniform(0, 23))
                c = p.new_contract(client, a, -back, max(ts, a.created + timedelta(days=1)),
                                   status="active")
                c.end_day = rng.randint(1, 80)
                if stacked:
                    c.ctype, c.end_day = "fixed", rng.randint(p.days // 2, 90)
                if c.ctype == "fixed" and (stacked or rng.random() < 0.3):
                    c.ctype = "hourly"
                    c.rate = (a.rate or 20) * rng.uniform(0.95, 1.05)
                p.emit_contract(c, 0, c.created + timedelta(hours=rng.uniform(1, 40)))
        for client, fl in self.friend_deals:  # a friend's small business hires a friend
            ts = datetime.combine(p.day(0), datetime.min.time(), UTC) - timedelta(
                days=rng.uniform(2, 30))
            c = p.new_contract(client, fl, -1, max(ts, fl.created + timedelta(days=1),
                                                    client.created + timedelta(days=1)),
                               status="active")
            c.friendly, c.end_day = True, rng.randint(1, max(1, p.days - 1))

    def payout_setup(self, a: Acct) -> None:
        p, rng = self.p, self.rng
        if not a.payout:
            return
        when = max(a.created + timedelta(days=2), datetime.combine(
            p.day(0), datetime.min.time(), UTC) - timedelta(days=rng.uniform(3, 200)))
        if a.last_seen is not None:
            when = min(when, a.last_seen - timedelta(days=rng.uniform(1, 300)))
        i = -1 if when.date() < p.day(0) else p.day_index(when)
        if a.id in self.deferred:
            i = p.day_index(a.created)
            when = a.created + timedelta(hours=rng.uniform(1, 10))
        if a.company is not None:
            name, fp = a.company
            p.add_payment(a, i, when, "bank_account", fp, name.upper() if rng.random() < 0.5
                          else name, a.country, payout=True)
        elif a.scenario == "legit_crypto_payout":
            p.add_payment(a, i, when, "crypto_wallet", _sha(p.xid("ext", 10))[:40], None, None,
                          payout=True)
        elif a.switch == "handover" or "payout_cc" in a.shared:  # own name (for now)
            p.add_payment(a, i, when, rng.choice(("bank_account", "payoneer", "wise", "paypal")),
                          _sha(p.xid("ext", 10))[:40], p.provider_name(a.legal),
                          a.shared.get("payout_cc", a.country), payout=True)
        elif "proxy_account" in a.traits:
            s = a.shared
            shared = rng.random() < 0.7
            p.add_payment(a, i, when, rng.choice(("bank_account", "payoneer", "wise")),
                          s["fac_fp"] if shared else _sha(p.xid("ext", 10))[:40],
                          s["fac_name"] if shared else p.person_name("en")[1],
                          s["fac_country"] if rng.random() < 0.7 else a.country, payout=True)
        elif "payout_churn" in a.traits or "crypto_payout" in a.traits or (
                "foreign_hours" in a.traits and a.loud and rng.random() < 0.3):
            p.add_payment(a, i, when, "crypto_wallet", _sha(p.xid("ext", 10))[:40], None, None,
                          payout=True)


# ------------------------------------------------------------------------------------------------
# daily behaviour


class _Days:
    def __init__(self, p: _Platform, b: _Builder) -> None:
        self.p, self.b, self.rng = p, b, p.rng
        self.by_cat: dict[str, list[Acct]] = defaultdict(list)
        for a in p.accts.values():
            if a.kind == "freelancer":
                self.by_cat[a.category].append(a)
        self.active_from = {a.id: (p.day_index(a.created) if a.id in b.deferred else -1)
                            for a in p.accts.values()}
        for a in p.accts.values():
            if a.switch in ("hijack", "return"):  # dormant until they come back
                self.active_from[a.id] = a.switch_day
        self.sr = b.sr_clients
        self.honest_done: set[str] = set()
        self.open: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
        for i in range(-6, 0):  # job posts already open when the first export is taken
            for c in b.clients:
                if self.rng.random() < 0.08:
                    self.post_job(c, i)

    # ---------------------------------------------------------------- job posts and proposals

    def post_job(self, c: Acct, i: int, cat: str | None = None) -> tuple[str, str, str, int]:
        cat = cat or self.rng.choices(list(CATEGORIES), [v[1] for v in CATEGORIES.values()])[0]
        job = (self.p.xid("job-", 9), c.id, cat, i)
        self.open[cat].append(job)
        return job

    def propose(self, a: Acct, i: int, n: int) -> None:
        p, rng = self.p, self.rng
        pool = [j for cat in (a.bid_cats or (a.category,)) for j in self.open[cat]
                if j[0] not in a.applied]
        for job in rng.sample(pool, min(n, len(pool))):
            self.submit(a, job, p.local(i, a.start_h + rng.uniform(-0.5, a.work_len),
                                        a.act_tz))

    def submit(self, a: Acct, job: tuple[str, str, str, int], ts: datetime) -> None:
        p, rng = self.p, self.rng
        a.applied.add(job[0])
        client = p.accts[job[1]]
        base = CATEGORIES[job[2]][0] if job[2] != a.category else (a.rate or 20.0)
        bid = base * rng.uniform(0.85, 1.1) if rng.random() < 0.7 else \
            rng.choice((150, 300, 500, 900, 1500)) * rng.uniform(0.8, 1.2)
        if "low_rate" in a.traits:
            bid *= 0.4
        p.event("proposals", {
            "proposal_id": p.xid("pr_", 14), "freelancer_account_id": a.id,
            "client_account_id": client.id, "job_id": job[0], "job_category": job[2],
            "submitted_at": ts, "bid_usd": round(max(bid, 3.0), 2) if rng.random() > 0.04
            else None, "cover_letter": p.cover_letter(a, client, job[2])})

    # ---------------------------------------------------------------- switches

    def apply_switch(self, a: Acct, i: int) -> None:
        """The day a verified or dormant account changes hands (or its owner just returns)."""
        p, rng = self.p, self.rng
        ts = p.local(i, rng.uniform(0.2, 3), "UTC")
        changes: list[tuple[str, str | None, str | None]] = []

        def photo() -> None:
            changes.append(("profile_photo", p.xid("img", 8) if rng.random() < 0.9 else None,
                            p.xid("img", 8)))

        if a.switch in ("handover", "hijack"):
            after = a.shared["after"]
            a.devices, a.fixed_ips = after["devices"], after["fixed_ips"]
            if "anonymised_ip" not in a.traits:  # whatever is not the farm: a new home too
                a.res_net = rng.choice(p.res[after["live"]])
                a.home_ip, a.mob_net, a.v6_prefix = a.res_net.addr(rng), p.mob[after["live"]], None
            a.fixed_share, a.act_tz, a.start_h = after["fixed_share"], after["act_tz"], \
                after["start_h"]
            if a.switch == "hijack" or rng.random() < 0.5:
                if after["email"] == a.email:
                    after["email"] = f"{p.xid('', 6)}{after['email']}"
                changes.append(("email", a.email, after["email"]))
                a.email = after["email"]
            if rng.random() < (0.6 if a.switch == "hijack" else 0.3):
                phone, ptype = after["phone"]
                if phone == a.phone or phone is None:
                    phone, ptype = f"+1{rng.randrange(2000000000, 9999999999)}", "voip"
                changes.append(("phone", a.phone, phone))
                a.phone, a.phone_type = phone, ptype
            if a.switch == "hijack":
                if rng.random() < 0.5:
                    photo()
                if rng.random() < 0.3:
                    name = p.person_name("en")[0]
                    changes.append(("display_name", a.name, name))
                    a.name = name
                if rng.random() < 0.35:
                    tz = rng.choice(("Asia/Tokyo", "Asia/Singapore", "Europe/Warsaw",
                                     "America/New_York"))
                    changes.append(("timezone", a.tz, tz))
                    a.tz = tz
                a.category, a.rate = after["category"], after["rate"]
                a.profile_text = after["profile_text"]
                self.by_cat[a.category].append(a)
            s = a.shared
            pt = ts + timedelta(minutes=rng.uniform(5, 240))
            if "proxy_account" in a.traits:
                p.add_payment(a, i, pt, rng.choice(("bank_account", "payoneer", "wise")),
                              s["fac_fp"], s["fac_name"], s["fac_country"], payout=True)
            elif rng.random() < 0.5:
                p.add_payment(a, i, pt, "crypto_wallet", _sha(p.xid("ext", 10))[:40], None,
                              None, payout=True)
            else:
                p.add_payment(a, i, pt, rng.choice(("payoneer", "wise")),
                              _sha(p.xid("ext", 10))[:40], p.person_name("en")[1],
                              rng.choice(("US", "HK", "CN", "AE")), payout=True)
        elif a.switch == "new_laptop":
            a.devices = [p.xid("dv", 20)] + a.devices[1:]
            if rng.random() < 0.3:
                photo()
        elif a.switch == "return":
            if rng.random() < 0.5:
                a.devices = [p.xid("dv", 20)] + a.devices
            assert a.res_net is not None
            a.home_ip = a.res_net.addr(rng)
            if rng.random() < 0.35:
                photo()
            if rng.random() < 0.4:
                a.profile_text = p.make_profile(a) or a.profile_text
            if rng.random() < 0.5 and a.rate:
                a.rate *= rng.uniform(1.0, 1.3)
            if rng.random() < 0.1:
                email = f"{p.xid('', 4)}.{a.email}"
                changes.append(("email", a.email, email))
                a.email = email
            if rng.random() < 0.15 and a.payout:
                p.add_payment(a, i, ts + timedelta(hours=rng.uniform(1, 20)),
                              rng.choice(("wise", "payoneer", "paypal")),
                              _sha(p.xid("ext", 10))[:40], p.provider_name(a.legal), a.country,
                              payout=True)
        for fld, old, new in changes:
            p.change(a, ts + timedelta(seconds=rng.randrange(5, 900)), fld, old, new)
        if changes or a.switch in ("handover", "hijack", "return"):
            p.emit_account(a, i, ts + timedelta(minutes=20))

    def live(self, a: Acct, i: int) -> bool:
        return self.active_from[a.id] <= i and a.status == "active"

    def run(self) -> None:
        p = self.p
        for i in range(p.days):
            for cat, jobs in self.open.items():  # a job post takes proposals for a week
                self.open[cat] = [j for j in jobs if j[3] > i - 7]
            for a, when in self.b.signups:
                if when == i:
                    p.onboard(a, i, **self.b.docs.get(a.id, {}))
                    self.b.payout_setup(a)
            for a in list(p.accts.values()):
                if not self.live(a, i):
                    continue
                if a.kind == "freelancer":
                    self.freelancer_day(a, i)
                elif not a.is_dprk:
                    self.client_day(a, i)
            for c, fl in self.sr:
                self.self_rating_day(c, fl, i)
            self.contracts_day(i)
            self.profile_changes(i)

    # ---------------------------------------------------------------- freelancers

    def where(self, a: Acct, i: int) -> tuple[str, dict]:
        """How this account reaches the platform on this login."""
        rng = self.rng
        if a.fixed_ips and rng.random() < a.fixed_share:
            return "fixed", {}
        if (a.scenario == "legit_privacy_vpn" or "vpn_user" in a.traits) and \
                rng.random() < 0.85:
            return "vpn", {"net": a.vpn}
        if "anonymised_ip" in a.traits:
            r = rng.random()
            if r < 0.55:
                return "vpn", {}
            if r < 0.8:
                return "hosting", {}
            if r < 0.86:
                return "tor", {}
            if r < 0.92:  # the VPN drops and the real location shows
                cc = rng.choice(("CN", "CN", "RU"))
                net = rng.choice(self.p.res[cc])
                return "leak", {"net": net, "ip": net.addr(rng)}
        if a.scenario == "legit_digital_nomad":
            stop = a.route[min(i // 7, 2)]
            if rng.random() < 0.85:
                net = self.p.mob[stop] if rng.random() < 0.4 else rng.choice(self.p.res[stop])
                ip = rng.choice(net.pool) if net.pool else net.addr(rng)
                return "travel", {"net": net, "ip": ip}
        if a.scenario == "legit_remote_admin" and rng.random() < 0.1:
            return "hosting", {}
        if rng.random() < 0.25:
            return "mobile", {}
        return "home", {}

    def do_login(self, a: Acct, ts: datetime, **extra: object) -> None:
        via, kw = self.where(a, self.p.day_index(ts))
        kw.update(extra)
        self.p.login(a, ts, via, success=self.rng.random() > 0.03, **kw)  # type: ignore[arg-type]

    def active_contracts(self, a: Acct) -> list[Contract]:
        return [c for c in self.p.by_fl[a.id] if c.status == "active" and c.ctype == "hourly"]

    def freelancer_day(self, a: Acct, i: int) -> None:
        p, rng = self.p, self.rng
        if a.switch and i == a.switch_day:
            self.apply_switch(a, i)
        if a.switch == "handover" and i < a.switch_day:
            # the real person: finishes the profile and the verification; no work yet
            if rng.random() < 0.8:
                self.do_login(a, p.local(i, a.start_h + rng.uniform(0, 9), a.act_tz))
            if rng.random() < 0.3:
                self.propose(a, i, rng.randint(1, 2))
            return
        if rng.random() < a.bid_p:
            self.propose(a, i, rng.randint(*a.bid_n))
        d = p.day(i)
        weekend = d.weekday() >= 5
        works = rng.random() < (a.diligence * (0.35 if weekend and not a.loud else 1.0))
        if "extreme_hours" in a.traits or a.scenario == "legit_heavy_worker":
            works = rng.random() < (0.96 if not weekend else 0.8)
        contracts = self.active_contracts(a)
        seek = 0.01
        if a.loud:
            seek = 0.25 if "video_avoidance" in a.traits else 0.1
        elif a.scenario == "legit_honest_audio":
            seek = 0.2
        if rng.random() < seek:  # applies for a job and gets interviewed
            clients = [c for c in self.b.clients if self.live(c, i)]
            self.hire(rng.choice(clients), i, fl_pick=[a])
        if not works:
            if rng.random() < 0.3:
                self.do_login(a, p.local(i, rng.uniform(8, 22), a.act_tz))
            return
        if "concurrent_contracts" in a.traits and len(contracts) >= 2:
            self.stacked_day(a, i, contracts)
            return
        continuous = "continuous_presence" in a.traits and rng.random() < 0.45
        start = a.start_h + rng.gauss(0, 0.7)
        length = a.work_len * rng.uniform(0.8, 1.15)
        if continuous:
            start, length = rng.uniform(-1, 1), rng.uniform(21.5, 23.9)
        t0 = p.local(i, start, a.act_tz)
        # logins: at the start, and again after breaks
        self.do_login(a, t0 - timedelta(minutes=rng.uniform(1, 15)))
        # sessions: the day split by breaks (none in a relay of operators)
        t, end = t0, t0 + timedelta(hours=length)
        rd_rate = self.rd_rate(a)
        hours = 0.0
        while t < end:
            dur = min(timedelta(hours=rng.uniform(1.0, 3.5) if not continuous else
                                rng.uniform(5, 9)), end - t)
            c = rng.choice(contracts) if contracts else None
            if c is not None or rng.random() < 0.1:
                rd: bool | None = rng.random() < rd_rate
                if rng.random() < 0.06:
                    rd = None  # older tracker versions do not report it
                p.event("work_sessions", {
                    "session_id": p.xid("ws_", 16), "account_id": a.id,
                    "contract_id": c.id if c else None, "started_at": t, "ended_at": t + dur,
                    "remote_desktop_detected": rd})
                h = dur.total_seconds() / 3600
                hours += h
                if c is not None:
                    c.hours += h
            gap = timedelta(minutes=rng.uniform(1, 4) if continuous else rng.uniform(10, 75))
            if "multi" in a.shared and len(contracts) > 1 and rng.random() < 0.1:
                gap = -timedelta(minutes=rng.uniform(1, 6))  # the timer left running at a switch
            t = t + dur + gap
            if rng.random() < (0.5 if continuous else 0.3):  # back after the break
                self.do_login(a, t - gap / 2)
        a.lifetime += hours
        a.week_hours += hours
        if "ip_burst" in a.traits and rng.random() < 0.18:
            self.ip_burst(a, t0 + timedelta(hours=rng.uniform(0, 6)))
        if contracts and rng.random() < 0.35:
            c = rng.choice(contracts)
            client = p.accts[c.client]
            ts = t0 + timedelta(hours=rng.uniform(0, length))
            p.say(a, client, ts, self.freelancer_line(a), c)
            if rng.random() < 0.6:
                p.say(client, a, ts + timedelta(minutes=rng.uniform(3, 300)), p.chat(client), c)

    def rd_rate(self, a: Acct) -> float:
        if "remote_desktop" in a.traits:
            return self.rng.uniform(0.5, 0.95)
        if a.scenario == "legit_remote_admin":
            return 0.15
        if a.scenario == "legit_agency_office":
            return 0.02
        return 0.0

    def stacked_day(self, a: Acct, i: int, contracts: list[Contract]) -> None:
        """Several contracts tracked at the same time (Mandiant 2024: many jobs, one identity)."""
        p, rng = self.p, self.rng
        rd_rate = self.rd_rate(a)
        for c in rng.sample(contracts, min(len(contracts), rng.randint(2, 4))):
            t = p.local(i, a.start_h + rng.uniform(-1.5, 3), a.act_tz)
            device = rng.choice(a.devices)  # each seat of the operation on its own machine
            self.do_login(a, t - timedelta(minutes=rng.uniform(1, 10)), device=device)
            end = t + timedelta(hours=rng.uniform(4, 9))
            while t < end:
                dur = min(timedelta(hours=rng.uniform(1, 3)), end - t)
                p.event("work_sessions", {
                    "session_id": p.xid("ws_", 16), "account_id": a.id, "contract_id": c.id,
                    "started_at": t, "ended_at": t + dur,
                    "remote_desktop_detected": rng.random() < rd_rate})
                h = dur.total_seconds() / 3600
                c.hours += h
                a.lifetime += h
                a.week_hours += h
                t += dur + timedelta(minutes=rng.uniform(3, 25))
        if rng.random() < 0.4:
            c = rng.choice(contracts)
            p.say(a, p.accts[c.client], p.local(i, a.start_h + rng.uniform(0, 8), a.act_tz),
                  p.chat(a), c)

    def freelancer_line(self, a: Acct) -> str:
        rng = self.rng
        if "off_platform" in a.traits and rng.random() < 0.45:
            return self.off_platform_text(a)
        if a.scenario == "legit_bot_developer" and rng.random() < 0.5:
            return rng.choice(TECH_MENTIONS)
        if rng.random() < 0.01:
            return rng.choice(TECH_MENTIONS)
        if not a.loud and rng.random() < 0.004:  # an ordinary person sharing a contact once
            return rng.choice(OFF_PLATFORM[:3]).format(h=a.email.split("@")[0][:10],
                                                     p=rng.randrange(10**9, 10**10), x="7a1b",
                                                     n=1234)
        return self.p.chat(a)

    def off_platform_text(self, a: Acct) -> str:
        rng = self.rng
        h = rng.choice(("dev", "code", "pro", "tech", "alex", "kevin", "smart")) + \
            rng.choice(("_", ".", "")) + str(rng.randrange(10, 999))
        return rng.choice(OFF_PLATFORM).format(
            h=h, p=f"{rng.randrange(200, 999)} {rng.randrange(100, 999)} "
                    f"{rng.randrange(1000, 9999)}",
            x=f"{rng.getrandbits(48):012x}", n=rng.randrange(1000, 9999))

    def ip_burst(self, a: Acct, t: datetime) -> None:
        """Many logins to one account from various addresses within the hour."""
        p, rng = self.p, self.rng
        for _ in range(rng.randint(6, 14)):
            t += timedelta(minutes=rng.uniform(0.5, 6))
            r = rng.random()
            if r < 0.45:
                p.login(a, t, "vpn", success=rng.random() > 0.25)
            elif r < 0.7:
                p.login(a, t, "hosting", success=rng.random() > 0.25)
            else:  # residential proxies in several countries
                net = rng.choice(p.res[rng.choice(list(p.res))])
                p.login(a, t, "proxy", net=net, ip=net.addr(rng), success=rng.random() > 0.3)

    # ---------------------------------------------------------------- clients and hiring

    def client_day(self, c: Acct, i: int) -> None:
        p, rng = self.p, self.rng
        if rng.random() < 0.06:
            self.post_job(c, i)
        if rng.random() < 0.35:
            self.do_login(c, p.local(i, c.start_h + rng.uniform(0, 7), c.act_tz))
        if rng.random() < 0.05:
            self.hire(c, i)

    def interview_mode(self, fl: Acct, requested: str) -> tuple[str, bool | None, str | None]:
        """(held_mode, camera_on, excuse) for one interview."""
        rng = self.rng
        if "video_avoidance" in fl.traits and requested == "video" and rng.random() < 0.85:
            r = rng.random()
            if r < 0.35:
                return "voice", None, rng.choice(EXCUSES)
            if r < 0.6:
                return "text", None, rng.choice(EXCUSES)
            if r < 0.85:
                return "video", False, rng.choice(EXCUSES) if rng.random() < 0.5 else None
            return "none", None, None
        if fl.scenario == "legit_honest_audio" and requested == "video" and \
                fl.id not in self.honest_done and fl.interviews >= 1:
            self.honest_done.add(fl.id)
            return "voice", None, rng.choice(HONEST_MISHAP)
        if requested == "video":
            r = rng.random()
            if r < 0.03:
                return "video", False, None  # camera off once, no excuse
            if r < 0.06:
                return "none", None, None
            return "video", True, None
        return (requested if rng.random() > 0.04 else "none"), None, None

    def hire(self, c: Acct, i: int, fl_pick: list[Acct] | None = None) -> None:
        p, rng = self.p, self.rng
        cat = rng.choices(list(CATEGORIES), [v[1] for v in CATEGORIES.values()])[0]
        if fl_pick:
            cat = fl_pick[0].category
        pool = [f for f in self.by_cat[cat] if self.live(f, i)]
        if not pool:
            return
        weights = [3.0 if f.loud else (1.5 if (f.rate or 30) < CATEGORIES[cat][0] * 0.6
                                          else 1.0) for f in pool]
        picks = fl_pick or list({f.id: f for f in rng.choices(pool, weights,
                                                                k=rng.randint(1, 3))}.values())
        t = p.local(i, c.start_h + rng.uniform(0, 6), c.act_tz)
        if p.day_index(t) != i:
            t = p.local(i, rng.uniform(9, 20), "UTC")
        job = self.post_job(c, i - 1, cat)
        for fl in picks:  # they applied to the job post first
            self.submit(fl, job, t - timedelta(hours=rng.uniform(3, 30)))
        hired_done = False
        for fl in picks:
            requested = rng.choices(("video", "voice", "text"), (65, 20, 15))[0]
            held, cam, excuse = self.interview_mode(fl, requested)
            fl.interviews += 1
            contract = None
            if held == "none":
                outcome = rng.choice(("no_show", "cancelled"))
            elif not hired_done and rng.random() < (0.6 if held == requested else 0.35):
                outcome, hired_done = "hired", True
            else:
                outcome = "rejected"
            p.say(c, fl, t - timedelta(hours=rng.uniform(1, 20)),
                  rng.choice(("Hi! Are you available for a quick call about the project?",
                              "Hola, ¿tenés disponibilidad para una entrevista?",
                              "Hello, I'd like to interview you for this job",
                              "hey, saw your profile - can we talk today?")), None)
            if excuse:
                p.say(fl, c, t - timedelta(minutes=rng.uniform(2, 50)), excuse, None)
            if "off_platform" in fl.traits and rng.random() < 0.6:
                p.say(fl, c, t + timedelta(minutes=rng.uniform(20, 200)),
                      self.off_platform_text(fl), None)
            if rng.random() < 0.04:
                p.say(c, fl, t + timedelta(minutes=rng.uniform(5, 120)),
                      rng.choice(CLIENT_OFF_PLATFORM), None)
            if outcome == "hired":
                contract = p.new_contract(c, fl, i, t + timedelta(hours=rng.uniform(0.5, 6)))
            p.event("interviews", {
                "interview_id": p.xid("iv-", 12), "client_account_id": c.id,
                "freelancer_account_id": fl.id, "contract_id": contract.id if contract else None,
                "scheduled_at": t, "requested_mode": requested, "held_mode": held,
                "camera_on": cam, "outcome": outcome})
            t += timedelta(minutes=rng.choice((30, 45, 60, 90)))

    def self_rating_day(self, c: Acct, fl: Acct, i: int) -> None:
        """A DPRK-run client hires its own freelancer and pays with the freelancer's account."""
        p, rng = self.p, self.rng
        if self.active_from[fl.id] > i or self.active_from[c.id] > i:
            return
        if c.shared.get("ring"):  # pays with its own card, from the cell's machines
            if rng.random() < 0.15:
                ip, net, _ = c.fixed_ips[0]
                p.login(c, p.local(i, rng.uniform(0, 12), "UTC"), "fixed", net=net, ip=ip,
                        device=rng.choice(c.devices))
            if rng.random() < 0.07:
                ts = p.local(i, rng.uniform(0, 10), "UTC")
                con = p.new_contract(c, fl, i, ts, self_rating=True)
                p.say(c, fl, ts + timedelta(minutes=rng.uniform(3, 60)),
                      rng.choice(SELF_RATING_CHAT), con)
            return
        if not c.shared and fl.payout:  # pays with the freelancer's own payout account
            own = p.pm_rows[fl.payout[-1]]
            c.shared = {"card_of": fl.id}
            when = c.created + timedelta(hours=rng.uniform(1, 30)) if i == 0 else \
                p.local(i, rng.uniform(0, 2), "UTC")
            p.add_payment(c, i, when, rng.choice(("card", "paypal", "bank_account")),
                          own["fingerprint"], own["holder_name"], own["country"], payout=False)
        if rng.random() < 0.3:
            ts = p.local(i, rng.uniform(0, 12), "UTC")
            if fl.fixed_ips:
                ip, net, _ = fl.fixed_ips[0]
                p.login(c, ts, "fixed", net=net, ip=ip, device=c.devices[0])
            else:
                p.login(c, ts, rng.choice(("vpn", "home")), device=c.devices[0])
        if rng.random() < 0.12:
            ts = p.local(i, rng.uniform(0, 10), "UTC")
            if rng.random() < 0.3:
                p.event("interviews", {
                    "interview_id": p.xid("iv-", 12), "client_account_id": c.id,
                    "freelancer_account_id": fl.id, "contract_id": None, "scheduled_at": ts,
                    "requested_mode": "text", "held_mode": "text", "camera_on": None,
                    "outcome": "hired"})
            con = p.new_contract(c, fl, i, ts + timedelta(minutes=10), self_rating=True)
            p.say(c, fl, ts + timedelta(minutes=12), rng.choice(SELF_RATING_CHAT), con)

    def contracts_day(self, i: int) -> None:
        p, rng = self.p, self.rng
        d = p.day(i)
        for c in list(p.contracts.values()):
            client, fl = p.accts[c.client], p.accts[c.freelancer]
            if c.status == "offered" and p.day_index(c.created) < i:
                c.status = "active" if rng.random() < 0.93 else "cancelled"
                p.emit_contract(c, i, p.local(i, rng.uniform(0, 20), "UTC"))
            elif c.status == "active" and c.end_day <= i:
                c.status = "completed"
                ts = p.local(i, rng.uniform(1, 22), "UTC")
                p.emit_contract(c, i, ts)
                if c.ctype == "fixed":
                    p.payout(fl, c, ts + timedelta(hours=rng.uniform(1, 20)), c.rate)
                else:
                    self.bill(c, ts)
                rating = 5.0 if c.self_rating or c.friendly else rng.choices(
                    (5.0, 4.9, 4.8, 4.5, 4.0, 3.5, 3.0, 2.0, 1.0),
                    (40, 8, 8, 15, 12, 6, 5, 3, 3))[0]
                if not c.self_rating and fl.loud and rng.random() < 0.3:
                    rating = rng.choice((2.0, 3.0, 3.5))  # clients who noticed something off
                p.event("reviews", {
                    "review_id": p.xid("rv_", 12), "contract_id": c.id,
                    "reviewer_account_id": c.client, "reviewee_account_id": c.freelancer,
                    "rating": rating, "created_at": ts + timedelta(hours=rng.uniform(0.2, 30))})
                if rng.random() < (0.9 if c.self_rating or c.friendly else 0.6):
                    p.event("reviews", {
                        "review_id": p.xid("rv_", 12), "contract_id": c.id,
                        "reviewer_account_id": c.freelancer, "reviewee_account_id": c.client,
                        "rating": 5.0 if c.self_rating or c.friendly else
                        rng.choice((5.0, 5.0, 4.5, 4.0)),
                        "created_at": ts + timedelta(hours=rng.uniform(0.5, 40))})
            elif c.status == "active" and c.ctype == "hourly" and d.weekday() == 0 \
                    and c.hours > 0.1:
                self.bill(c, p.local(i, rng.uniform(2, 8), "UTC"))
            if client.status != "active" and c.status in ("active", "offered") and \
                    rng.random() < 0.5:
                c.status = "cancelled"
                p.emit_contract(c, i, p.local(i, 23.5, "UTC"))

    def bill(self, c: Contract, ts: datetime) -> None:
        p, rng = self.p, self.rng
        amount = c.hours * c.rate
        c.hours = 0.0
        if amount < 1:
            return
        p.charge(p.accts[c.client], c, ts, amount)
        p.payout(p.accts[c.freelancer], c, ts + timedelta(hours=rng.uniform(20, 50)), amount)
        if rng.random() < 0.01:
            p.event("transactions", {
                "transaction_id": p.xid("txn_", 14), "ts": ts + timedelta(hours=30),
                "account_id": c.client, "payment_method_id": p.accts[c.client].cards[-1],
                "contract_id": c.id, "kind": "refund",
                "amount_usd": round(amount * rng.uniform(0.1, 0.5), 2)})

    def profile_changes(self, i: int) -> None:
        """Entity rows that change over time: profiles, payout methods, statuses."""
        p, rng = self.p, self.rng
        for a in p.accts.values():
            if not self.live(a, i) or self.active_from[a.id] == i:
                continue
            changed = False
            ts = p.local(i, rng.uniform(0, 23.5), "UTC")
            if a.kind == "freelancer" and i % 7 == a.refresh and i > 0:
                changed = True  # the profile's hours counter is refreshed weekly
                a.week_hours = 0.0
            if rng.random() < 0.004 and a.rate:
                a.rate = round(a.rate * rng.uniform(0.85, 1.2), 2)
                changed = True
            if rng.random() < 0.0015:
                a.status = rng.choice(("suspended", "closed"))
                changed = True
            elif a.loud and a.kind == "freelancer" and rng.random() < 0.004:
                a.status = "suspended"  # the platform's own trust team caught one
                changed = True
            r = rng.random()  # ordinary edits of identity-bearing fields (contract 1.1)
            if r < 0.0025:
                p.change(a, ts, "profile_photo", p.xid("img", 8) if rng.random() < 0.8 else None,
                         p.xid("img", 8))
                changed = True
            elif r < 0.0032:
                name = a.legal if a.name != a.legal else p.person_name(a.lang if a.lang in NAMES
                                                                       else "en")[0]
                p.change(a, ts, "display_name", a.name, name)
                a.name, changed = name, True
            elif r < 0.0036:
                zones = COUNTRIES[a.country][0]
                tz = rng.choice(zones) if a.tz is None or len(zones) == 1 else \
                    rng.choice([z for z in zones if z != a.tz])
                if tz != a.tz:
                    p.change(a, ts, "timezone", a.tz, tz)
                    a.tz, changed = tz, True
            elif r < 0.004:
                phone = f"+{rng.randrange(10**9, 10**12)}"
                p.change(a, ts, "phone", a.phone, phone)
                a.phone, a.phone_type, changed = phone, "mobile", True
            elif r < 0.0043:
                email = a.email.split("@")[0] + "@" + rng.choice(COUNTRIES[a.country][3])
                if email != a.email:
                    p.change(a, ts, "email", a.email, email)
                    a.email, changed = email, True
            if a.kind == "freelancer" and a.profile_text and rng.random() < 0.003:
                a.profile_text = p.make_profile(a) or a.profile_text  # rewrote the summary
                changed = True
            if changed:
                p.emit_account(a, i, ts + timedelta(seconds=rng.randrange(1, 600)))
            if a.kind == "freelancer" and a.payout and (
                    ("payout_churn" in a.traits and rng.random() < 0.2)
                    or rng.random() < 0.002):
                crypto = "payout_churn" in a.traits and rng.random() < 0.7
                p.add_payment(
                    a, i, p.local(i, rng.uniform(0, 23.5), "UTC"),
                    "crypto_wallet" if crypto else rng.choice(("payoneer", "wise", "paypal")),
                    _sha(p.xid("ext", 10))[:40], None if crypto else p.provider_name(a.legal),
                    None if crypto else a.shared.get("payout_cc", a.country), payout=True)
        for doc in list(p.pending_docs):  # manual review resolves pending documents
            if rng.random() < 0.3 and p.day_index(doc["submitted_at"]) < i:
                p.pending_docs.remove(doc)
                doc = dict(doc, verification_status=rng.choice(("approved", "approved",
                                                                 "rejected")),
                           verification_method="manual_review",
                           verified_at=p.local(i, rng.uniform(0, 23), "UTC"))
                p.entity("identity_documents", i, doc)


# ------------------------------------------------------------------------------------------------
# writing the nights


class _Writer:
    def __init__(self, p: _Platform, out: Path, fmt: str, contract: str) -> None:
        self.p, self.out, self.fmt, self.contract = p, out, fmt, contract
        self.rng = random.Random(p.rng.random())

    def pick_format(self, i: int) -> str:
        if self.fmt == "mixed":
            return self.rng.choice(FORMATS)
        if i == 0 or self.rng.random() < 0.65:
            return self.fmt
        return self.rng.choice([f for f in FORMATS if f != self.fmt])

    def rows_for(self, table: str, i: int) -> list[dict]:
        if table in ENTITY_KEYS:
            out = []
            for versions in self.p.ent[table].values():
                chosen = [r for d, r in versions if (d <= 0 if i == 0 else d == i)]
                if chosen:
                    out.append(chosen[-1])
            self.rng.shuffle(out)
            return out
        rows = [r for r, nights in self.p.ev[table] if i in nights]
        rows.sort(key=lambda r: (r[EVENT_TIME[table]], self.rng.random()))
        return rows

    def write(self) -> set[str]:
        """Write every night; return the ids of the accounts that were exported."""
        self.exported: set[str] = set()
        for i in range(self.p.days):
            self.night(i)
        return self.exported

    def night(self, i: int) -> None:
        d = self.p.day(i)
        folder = self.out / d.isoformat()
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        files: dict[str, dict] = {}
        for table in TABLES:
            if self.contract == "1.0" and table in V11_TABLES:
                continue
            rows = self.rows_for(table, i)
            if table == "accounts":
                self.exported.update(r["account_id"] for r in rows)
            if not rows and self.rng.random() < 0.75:
                continue  # a table with no rows that night may be absent
            if table in V11_TABLES and self.rng.random() < 0.1:
                continue  # the newer feeds miss a night now and then (1.1: they may be absent)
            cols = TABLES[table][2]
            added = V11_COLUMNS.get(table, ())
            if self.contract == "1.0":
                cols = tuple(c for c in cols if c[0] not in added)
            else:  # an older export job leaves a 1.1 column out of the header now and then
                drop = {c for c in added if self.rng.random() < 0.07}
                cols = tuple(c for c in cols if c[0] not in drop)
            fmt = self.pick_format(i)
            name = f"{table}.{fmt}"
            path = folder / name
            if fmt == "parquet":
                self.parquet(path, cols, rows)
            else:
                self.csv(path, cols, rows, gz=fmt == "csv.gz")
            files[name] = {"table": table, "rows": len(rows),
                           "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        gen = datetime.combine(d + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
            minutes=self.rng.randrange(40, 200))
        manifest = {
            "contract_version": self.contract, "platform": PLATFORM,
            "export_date": d.isoformat(), "mode": "full" if i == 0 else "delta",
            "generated_at": gen.strftime("%Y-%m-%dT%H:%M:%SZ"), "files": files}
        tmp = folder / ".manifest.json.part"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        tmp.rename(folder / "manifest.json")  # last: its presence means the night is complete

    # ---------------------------------------------------------------- CSV

    def csv(self, path: Path, cols: _T, rows: list[dict], gz: bool) -> None:
        rng = self.rng
        offset = rng.choice(("Z", "Z", "+00:00", "+09:00", "+01:00", "-05:00", "+05:30",
                             "-03:00"))
        frac = rng.random() < 0.3
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=rng.choice(("\r\n", "\n")))
        w.writerow([c for c, _ in cols])
        for r in rows:
            w.writerow([self.text(r[c], k, offset, frac) for c, k in cols])
        data = buf.getvalue().encode("utf-8")
        if gz:
            data = gzip.compress(data, mtime=0)
        path.write_bytes(data)

    @staticmethod
    def text(v: object, kind: str, offset: str, frac: bool) -> str:
        if v is None:
            return ""
        if kind == "ts":
            assert isinstance(v, datetime)
            if offset == "Z":
                t = v.astimezone(UTC)
                s = t.strftime("%Y-%m-%dT%H:%M:%S")
                return s + (f".{t.microsecond // 1000:03d}" if frac else "") + "Z"
            sign = 1 if offset[0] == "+" else -1
            hh, mm = int(offset[1:3]), int(offset[4:6])
            from datetime import timezone

            t = v.astimezone(timezone(sign * timedelta(hours=hh, minutes=mm)))
            s = t.strftime("%Y-%m-%dT%H:%M:%S")
            return s + (f".{t.microsecond:06d}" if frac else "") + offset
        if kind == "b":
            return "true" if v else "false"
        if kind == "d":
            return v.isoformat()  # type: ignore[attr-defined]
        if kind == "dec":
            return f"{v:.2f}" if isinstance(v, float) and v != int(v) else f"{v:g}"
        return str(v)

    # ---------------------------------------------------------------- Parquet

    def parquet(self, path: Path, cols: _T, rows: list[dict]) -> None:
        rng = self.rng
        unit = rng.choice(("us", "ms"))
        tz = rng.choice(("UTC", "UTC", "Asia/Seoul", "+00:00"))
        dec = rng.choice(("double", "decimal"))
        all_text = not rows and rng.random() < 0.5  # many tools type an empty table as strings
        arrays, fields = [], []
        for c, k in cols:
            vals = [r[c] for r in rows]
            if k == "ts" and unit == "ms":
                vals = [v.replace(microsecond=v.microsecond // 1000 * 1000) if v is not None
                        else v for v in vals]
            if k != "s" and (all_text or rng.random() < 0.04):  # 1.1: a column as CSV text
                typ: pa.DataType = pa.string()
                vals = [self.text(v, k, "+00:00", True) if v is not None else None
                        for v in vals]
            elif k == "s":
                typ = pa.string()
            elif k == "ts":
                typ = pa.timestamp(unit, tz=tz)
            elif k == "d":
                typ = pa.date32()
            elif k == "i":
                typ = pa.int64() if rng.random() < 0.7 else pa.int32()
            elif k == "b":
                typ = pa.bool_()
            elif dec == "decimal":
                typ = pa.decimal128(14, 2)
                vals = [None if v is None else Decimal(f"{v:.2f}") for v in vals]
            else:
                typ = pa.float64()
            fields.append(pa.field(c, typ))
            arrays.append(pa.array(vals, type=typ))
        pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path,
                       compression=rng.choice(("snappy", "zstd", "gzip")))


# ------------------------------------------------------------------------------------------------
# public API


def write_platform(out: Path, start: date, days: int, accounts: int = 1500, seed: int = 7,
                   fmt: str = "parquet", contract: str = "1.1",
                   styles: Iterable[str] | None = None) -> Path:
    """Write `days` nightly export folders from `start` under `out`; return the labels path.

    `fmt` is the platform's usual file format ("parquet", "csv" or "csv.gz"): the first (full)
    night uses it for every file, later nights for about two files in three (the rest in the
    other formats). "mixed" picks a format per file at random.

    `contract` "1.1" (default) writes proposals, profile_changes and the three added columns;
    "1.0" writes the same world without any of them (manifests say "1.0").

    `styles` limits the DPRK cell styles planted (names without `dprk_`, from DPRK_STYLES or
    "two_weak_signs"); None plants all of them.
    """
    chosen = None if styles is None else frozenset(styles)
    if chosen is not None and (not chosen or chosen - {*DPRK_STYLES, "two_weak_signs"}):
        raise ValueError(f"unknown or empty DPRK styles: {sorted(chosen)}")
    if contract not in CONTRACT_VERSIONS:
        raise ValueError(f"contract must be one of {', '.join(CONTRACT_VERSIONS)}, "
                         f"not {contract!r}")
    if fmt not in (*FORMATS, "mixed"):
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)} or mixed, not {fmt!r}")
    if days < 1 or accounts < 100:
        raise ValueError("write_platform needs days >= 1 and accounts >= 100")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = _Platform(start, days, accounts, seed, chosen)
    b = _Builder(p)
    b.build()
    _Days(p, b).run()
    exported = _Writer(p, out, fmt, contract).write()
    return _write_truth(p, out, exported)


def _write_truth(p: _Platform, out: Path, exported: set[str]) -> Path:
    truth = out / "_truth"
    truth.mkdir(exist_ok=True)
    labels = truth / "labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "is_dprk", "scenario", "operation_id"])
        for a in sorted(p.accts.values(), key=lambda x: x.id):
            if a.id in exported:
                w.writerow([a.id, "true" if a.is_dprk else "false", a.scenario, a.op or ""])
    with (truth / "traits.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "cell", "operation_id", "traits"])
        for a in sorted(p.accts.values(), key=lambda x: x.id):
            if a.is_dprk and a.id in exported:
                w.writerow([a.id, a.cell, a.op, " ".join(sorted(a.traits))])
    return labels
