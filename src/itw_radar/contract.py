"""The platform export contract, version 1.1, as data.

`docs/contract/EXPORT_CONTRACT.md` is the source of truth; this module encodes it once so that
the generator, the loader, the Great Expectations suites and the tests all read the same
definition. Nothing here may rename or re-type a contract column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

# What the generator writes. The loader accepts every supported version: a 1.0 export is a valid
# 1.1 export (the 1.1 additions are optional: `Table.optional`, `Column.optional`).
CONTRACT_VERSION = "1.0"
SUPPORTED_CONTRACT_VERSIONS = frozenset({"1.0", "1.1"})
MANIFEST_NAME = "manifest.json"
_NIGHT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # a night's folder: its export date
FILE_FORMATS = (".parquet", ".csv.gz", ".csv")  # longest suffix first when matching

ColumnType = Literal["string", "enum", "timestamp", "date", "decimal", "integer", "boolean"]
ColumnFormat = Literal["ip", "sha256", "phash", "country", "timezone"]
TableKind = Literal["entity", "event"]

# DuckDB type used for each contract type in the raw layer.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "enum": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "decimal": "DECIMAL(18,4)",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enum
    fmt: ColumnFormat | None = None  # textual format every non-null value must have
    min_value: float | None = None
    max_value: float | None = None
    min_exclusive: bool = False  # `> min_value` instead of `>= min_value`
    optional: bool = False  # (1.1 addition) may be missing from a file's header: then all null

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    kind: TableKind
    key: str
    columns: tuple[Column, ...]
    event_time: str | None = None  # events: the column that says when it happened
    order_pairs: tuple[tuple[str, str], ...] = field(default=())  # (earlier, later) columns
    optional: bool = False  # (1.1 addition) never required in a night (the file may be absent)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_column_names(self) -> tuple[str, ...]:
        """Columns every file of the table must have in its header (1.0's columns)."""
        return tuple(c.name for c in self.columns if not c.optional)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name}")

    @property
    def version_column(self) -> str | None:
        """Entity tables: the column that orders versions of one key (None: export date only)."""
        if self.kind == "entity" and "updated_at" in self.column_names:
            return "updated_at"
        return None


def _enum(name: str, *values: str, nullable: bool = False) -> Column:
    return Column(name, "enum", nullable=nullable, values=values)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            "entity",
            "account_id",
            (
                Column("account_id", "string"),
                _enum("account_type", "freelancer", "client"),
                Column("created_at", "timestamp"),
                Column("updated_at", "timestamp"),
                Column("display_name", "string"),
                Column("email_hash", "string", fmt="sha256"),
                Column("email_domain", "string", nullable=True),
                Column("phone_hash", "string", nullable=True, fmt="sha256"),
                _enum("phone_line_type", "mobile", "landline", "voip", "unknown", nullable=True),
                Column("country", "string", fmt="country"),
                Column("timezone", "string", nullable=True, fmt="timezone"),
                Column("hourly_rate_usd", "decimal", nullable=True, min_value=0),
                Column("lifetime_hours", "decimal", nullable=True, min_value=0),
                _enum("status", "active", "suspended", "closed"),
                Column("profile_text", "string", nullable=True, optional=True),
                Column("referred_by_account_id", "string", nullable=True, optional=True),
            ),
            order_pairs=(("created_at", "updated_at"),),
        ),
        Table(
            "identity_documents",
            "entity",
            "document_id",
            (
                Column("document_id", "string"),
                Column("account_id", "string"),
                Column("submitted_at", "timestamp"),
                _enum(
                    "document_type",
                    "passport",
                    "national_id",
                    "drivers_license",
                    "residence_permit",
                ),
                Column("issuing_country", "string", fmt="country"),
                Column("document_number_hash", "string", fmt="sha256"),
                Column("holder_name", "string"),
                Column("date_of_birth", "date", nullable=True),
                Column("image_phash", "string", fmt="phash"),
                Column("face_phash", "string", nullable=True, fmt="phash"),
                _enum("verification_status", "approved", "rejected", "pending"),
                _enum("verification_method", "automated", "manual_review", "video_call"),
                Column("verified_at", "timestamp", nullable=True, optional=True),
            ),
            order_pairs=(("submitted_at", "verified_at"),),
        ),
        Table(
            "payment_methods",
            "entity",
            "payment_method_id",
            (
                Column("payment_method_id", "string"),
                Column("account_id", "string"),
                Column("added_at", "timestamp"),
                _enum(
                    "method_type",
                    "bank_account",
                    "card",
                    "paypal",
                    "payoneer",
                    "wise",
                    "crypto_wallet",
                    "other",
                ),
                Column("fingerprint", "string"),
                Column("holder_name", "string", nullable=True),
                Column("country", "string", nullable=True, fmt="country"),
                Column("is_active", "boolean"),
            ),
        ),
        Table(
            "contracts",
            "entity",
            "contract_id",
            (
                Column("contract_id", "string"),
                Column("client_account_id", "string"),
                Column("freelancer_account_id", "string"),
                Column("created_at", "timestamp"),
                Column("updated_at", "timestamp"),
                Column("category", "string"),
                _enum("contract_type", "hourly", "fixed"),
                Column("rate_usd", "decimal", min_value=0, min_exclusive=True),
                _enum("status", "offered", "active", "completed", "cancelled"),
            ),
            order_pairs=(("created_at", "updated_at"),),
        ),
        Table(
            "logins",
            "event",
            "login_id",
            (
                Column("login_id", "string"),
                Column("account_id", "string"),
                Column("ts", "timestamp"),
                Column("ip", "string", fmt="ip"),
                Column("ip_country", "string", nullable=True, fmt="country"),
                Column("ip_asn", "integer", nullable=True, min_value=0),
                _enum(
                    "ip_kind", "residential", "mobile", "hosting", "vpn", "tor", "unknown",
                    nullable=True,
                ),
                Column("device_id", "string", nullable=True),
                Column("user_agent", "string", nullable=True),
                Column("success", "boolean"),
            ),
            event_time="ts",
        ),
        Table(
            "work_sessions",
            "event",
            "session_id",
            (
                Column("session_id", "string"),
                Column("account_id", "string"),
                Column("contract_id", "string", nullable=True),
                Column("started_at", "timestamp"),
                Column("ended_at", "timestamp"),
                Column("remote_desktop_detected", "boolean", nullable=True),
            ),
            event_time="started_at",
            order_pairs=(("started_at", "ended_at"),),
        ),
        Table(
            "interviews",
            "event",
            "interview_id",
            (
                Column("interview_id", "string"),
                Column("client_account_id", "string"),
                Column("freelancer_account_id", "string"),
                Column("contract_id", "string", nullable=True),
                Column("scheduled_at", "timestamp"),
                _enum("requested_mode", "video", "voice", "text"),
                _enum("held_mode", "video", "voice", "text", "none"),
                Column("camera_on", "boolean", nullable=True),
                _enum("outcome", "hired", "rejected", "no_show", "cancelled"),
            ),
            event_time="scheduled_at",
        ),
        Table(
            "reviews",
            "event",
            "review_id",
            (
                Column("review_id", "string"),
                Column("contract_id", "string"),
                Column("reviewer_account_id", "string"),
                Column("reviewee_account_id", "string"),
                Column("rating", "decimal", min_value=1, max_value=5),
                Column("created_at", "timestamp"),
            ),
            event_time="created_at",
        ),
        Table(
            "transactions",
            "event",
            "transaction_id",
            (
                Column("transaction_id", "string"),
                Column("ts", "timestamp"),
                Column("account_id", "string"),
                Column("payment_method_id", "string"),
                Column("contract_id", "string", nullable=True),
                _enum("kind", "client_charge", "freelancer_payout", "refund"),
                Column("amount_usd", "decimal", min_value=0, min_exclusive=True),
            ),
            event_time="ts",
        ),
        Table(
            "messages",
            "event",
            "message_id",
            (
                Column("message_id", "string"),
                Column("thread_id", "string"),
                Column("contract_id", "string", nullable=True),
                Column("sender_account_id", "string"),
                Column("recipient_account_id", "string"),
                Column("sent_at", "timestamp"),
                Column("body", "string"),
            ),
            event_time="sent_at",
        ),
        Table(
            "proposals",
            "event",
            "proposal_id",
            (
                Column("proposal_id", "string"),
                Column("freelancer_account_id", "string"),
                Column("client_account_id", "string"),
                Column("job_id", "string"),
                Column("job_category", "string"),
                Column("submitted_at", "timestamp"),
                Column("bid_usd", "decimal", nullable=True, min_value=0, min_exclusive=True),
                Column("cover_letter", "string", nullable=True),
            ),
            event_time="submitted_at",
            optional=True,
        ),
        Table(
            "profile_changes",
            "event",
            "change_id",
            (
                Column("change_id", "string"),
                Column("account_id", "string"),
                Column("changed_at", "timestamp"),
                _enum("field", "display_name", "email", "phone", "country", "timezone",
                      "profile_photo", "payout_holder_name"),
                Column("old_value_hash", "string", nullable=True, fmt="sha256"),
                Column("new_value_hash", "string", nullable=True, fmt="sha256"),
            ),
            event_time="changed_at",
            optional=True,
        ),
    )
}
# The tables of contract 1.0 (what the generator writes); 1.1 adds optional ones.
CORE_TABLES = tuple(t for t, d in TABLES.items() if not d.optional)

ENTITY_TABLES = tuple(t for t, d in TABLES.items() if d.kind == "entity")
EVENT_TABLES = tuple(t for t, d in TABLES.items() if d.kind == "event")

# Events may arrive up to this many days after they happened (contract: delivery semantics).
MAX_LATE_DAYS = 3

# Raw-layer bookkeeping columns added to every contract table by the loader.
RAW_META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_export_date", "DATE"),  # the night (folder) that delivered the row
    ("_load_id", "VARCHAR"),  # the load that wrote it
    ("_source_file", "VARCHAR"),  # file name inside the night folder
    ("_line", "BIGINT"),  # 1-based data-row number inside that file (header excluded)
)


def table_for_file(file_name: str) -> tuple[str, str] | None:
    """Return (table, format suffix) for a file name like `logins.csv.gz`, or None."""
    for suffix in FILE_FORMATS:
        if file_name.endswith(suffix):
            stem = file_name[: -len(suffix)]
            return stem, suffix
    return None


def iso_country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from the tz database's iso3166.tab), plus XK (Kosovo).

    XK is user-assigned, not ISO, but platforms and payment providers use it widely.
    """
    from importlib.resources import files

    text = files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text(encoding="utf-8")
    codes = {line.split("\t", 1)[0] for line in text.splitlines() if line and line[0] != "#"}
    return frozenset(codes | {"XK"})


def iana_timezones() -> tuple[str, ...]:
    """IANA zone names from the locked `tzdata` package (the same on every machine, unlike
    `zoneinfo.available_timezones()`, which also reads the machine's own zone files)."""
    from importlib.resources import files

    text = files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return tuple(sorted(line.strip() for line in text.splitlines() if line.strip()))


# Textual formats, unanchored, in the syntax shared by Python `re` and DuckDB's RE2.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"


def _ipv6_pattern() -> str:
    """IPv6 in every textual form (full, `::`-compressed, IPv4-embedded), without zone ids."""

    def groups(n: int) -> str:  # exactly n >= 1 hex groups joined by ':'
        return _H if n == 1 else rf"{_H}(?::{_H}){{{n - 1}}}"

    forms = [rf"(?:{_H}:){{7}}{_H}", rf"(?:{_H}:){{6}}{IPV4}"]
    for left in range(8):  # hex groups before `::` (it stands for at least one group)
        lhs = groups(left) if left else ""
        right = 7 - left  # at most this many hex groups after `::`
        if right == 0:
            rhs = ""
        elif right == 1:
            rhs = rf"(?:{_H})?"
        else:
            rhs = rf"(?:{_H}(?::{_H}){{0,{right - 1}}})?"
        forms.append(rf"{lhs}::{rhs}")
        if left <= 5:  # `::`, up to 5 - left hex groups, then an IPv4 tail (6 groups + IPv4)
            tail = IPV4 if left == 5 else rf"(?:{_H}:){{0,{5 - left}}}{IPV4}"
            forms.append(rf"{lhs}::{tail}")
    return "|".join(forms)


IPV6 = _ipv6_pattern()
IP = rf"(?:{IPV4}|{IPV6})"
SHA256 = r"[0-9a-f]{64}"
PHASH = r"[0-9a-f]{16}"
COUNTRY = r"[A-Z]{2}"


def nights_named(names: Iterable[str]) -> list[date]:
    """The nights among folder names (YYYY-MM-DD; 2026-02-30 and the like are not nights),
    oldest first."""
    nights = []
    for name in names:
        if _NIGHT_FOLDER.match(name):
            try:
                nights.append(date.fromisoformat(name))
            except ValueError:
                continue
    return sorted(nights)


def night_folders(exports: Path) -> list[date]:
    """The nights under an export root (folders named YYYY-MM-DD), oldest first.

    Reads only the root's listing. A root that does not exist has none.
    """
    try:
        return nights_named(e.name for e in os.scandir(exports) if e.is_dir())
    except OSError:
        return []
