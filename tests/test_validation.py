"""Great Expectations suites and validation of loaded nights (itw_radar.validation)."""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from itw_radar.contract import RAW_META_COLUMNS, TABLES
from itw_radar.gx_suites import (
    FORMAT_REGEX,
    SUITES_DIR,
    build_suite,
    iana_timezones,
    suite_json,
    suite_path,
)
from itw_radar.paths import Home
from itw_radar.validation import (
    ValidationError,
    ValidationReport,
    build_suites,
    validate_frame,
    validate_night,
    validate_nights,
)
from itw_radar.warehouse import connect, ensure_raw_schema

D = dt.date(2026, 11, 23)
UTC = dt.UTC


def at(hour: int, minute: int = 0, day: dt.date = D) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


H64 = "ab" * 32
H64B = "0123456789abcdef" * 4
P16 = "00ff00ff00ff00ff"


def clean_rows() -> dict[str, list[dict[str, Any]]]:
    """A few valid rows per contract table for night D (edge values included)."""
    return {
        "accounts": [
            dict(account_id="a1", account_type="freelancer", created_at=at(1), updated_at=at(2),
                 display_name="Kim Lee", email_hash=H64, email_domain="example.com",
                 phone_hash=H64B, phone_line_type="voip", country="US",
                 timezone="America/Chicago", hourly_rate_usd=0, lifetime_hours=0,
                 status="active"),
            # the same account changed again later that night: a legitimate second version
            dict(account_id="a1", account_type="freelancer", created_at=at(1), updated_at=at(9),
                 display_name="Kim Lee", email_hash=H64, email_domain="example.com",
                 phone_hash=H64B, phone_line_type="voip", country="US",
                 timezone="America/Chicago", hourly_rate_usd=35.5, lifetime_hours=1200.25,
                 status="suspended"),
            dict(account_id="a2", account_type="client", created_at=at(3), updated_at=at(3),
                 display_name="Acme", email_hash=H64B, email_domain=None, phone_hash=None,
                 phone_line_type=None, country="DE", timezone=None, hourly_rate_usd=None,
                 lifetime_hours=None, status="closed"),
        ],
        "identity_documents": [
            dict(document_id="d1", account_id="a1", submitted_at=at(4), document_type="passport",
                 issuing_country="US", document_number_hash=H64, holder_name="Kim Lee",
                 date_of_birth=dt.date(1990, 5, 1), image_phash=P16, face_phash="1234567890abcdef",
                 verification_status="approved", verification_method="video_call"),
            dict(document_id="d2", account_id="a2", submitted_at=at(5),
                 document_type="residence_permit", issuing_country="DE",
                 document_number_hash=H64B, holder_name="Ann Berg", date_of_birth=None,
                 image_phash="fedcba9876543210", face_phash=None, verification_status="pending",
                 verification_method="automated"),
        ],
        "payment_methods": [
            dict(payment_method_id="p1", account_id="a1", added_at=at(6), method_type="payoneer",
                 fingerprint="fp-1", holder_name="Kim Lee", country="US", is_active=True),
            dict(payment_method_id="p2", account_id="a2", added_at=at(7),
                 method_type="crypto_wallet", fingerprint="fp-2", holder_name=None, country=None,
                 is_active=False),
        ],
        "contracts": [
            dict(contract_id="c1", client_account_id="a2", freelancer_account_id="a1",
                 created_at=at(8), updated_at=at(8), category="blockchain",
                 contract_type="hourly", rate_usd=0.01, status="offered"),
            dict(contract_id="c2", client_account_id="a2", freelancer_account_id="a1",
                 created_at=at(8), updated_at=at(10), category="web", contract_type="fixed",
                 rate_usd=1500, status="completed"),
        ],
        "logins": [
            dict(login_id="l1", account_id="a1", ts=at(0), ip="203.0.113.7", ip_country="KR",
                 ip_asn=4766, ip_kind="vpn", device_id="dev1", user_agent="Mozilla/5.0",
                 success=True),
            dict(login_id="l2", account_id="a1", ts=at(13), ip="2001:db8::1", ip_country=None,
                 ip_asn=None, ip_kind=None, device_id=None, user_agent=None, success=False),
            # delivered near the end of the allowed window: D + 1, 23:59
            dict(login_id="l3", account_id="a2", ts=at(23, 59, D + dt.timedelta(days=1)),
                 ip="::ffff:198.51.100.4", ip_country="DE", ip_asn=0, ip_kind="residential",
                 device_id="dev2", user_agent="curl", success=True),
        ],
        "work_sessions": [
            dict(session_id="s1", account_id="a1", contract_id="c1", started_at=at(14),
                 ended_at=at(15), remote_desktop_detected=True),
            dict(session_id="s2", account_id="a1", contract_id=None, started_at=at(16),
                 ended_at=at(16), remote_desktop_detected=None),
        ],
        "interviews": [
            dict(interview_id="i1", client_account_id="a2", freelancer_account_id="a1",
                 contract_id="c1", scheduled_at=at(11), requested_mode="video", held_mode="text",
                 camera_on=False, outcome="hired"),
            dict(interview_id="i2", client_account_id="a2", freelancer_account_id="a1",
                 contract_id=None, scheduled_at=at(12), requested_mode="voice", held_mode="none",
                 camera_on=None, outcome="no_show"),
        ],
        "reviews": [
            dict(review_id="r1", contract_id="c1", reviewer_account_id="a2",
                 reviewee_account_id="a1", rating=5, created_at=at(17)),
            dict(review_id="r2", contract_id="c2", reviewer_account_id="a1",
                 reviewee_account_id="a2", rating=1.0, created_at=at(18)),
        ],
        "transactions": [
            dict(transaction_id="t1", ts=at(19), account_id="a2", payment_method_id="p2",
                 contract_id="c1", kind="client_charge", amount_usd=0.01),
            dict(transaction_id="t2", ts=at(20), account_id="a1", payment_method_id="p1",
                 contract_id=None, kind="freelancer_payout", amount_usd=1500),
        ],
        "messages": [
            dict(message_id="m1", thread_id="th1", contract_id="c1", sender_account_id="a2",
                 recipient_account_id="a1", sent_at=at(21), body="Can we talk on Telegram?"),
            dict(message_id="m2", thread_id="th1", contract_id=None, sender_account_id="a1",
                 recipient_account_id="a2", sent_at=at(22), body=""),
        ],
        # contract 1.1 (optional tables)
        "proposals": [
            dict(proposal_id="pr1", freelancer_account_id="a1", client_account_id="a2",
                 job_id="j1", job_category="web", submitted_at=at(9), bid_usd=0.01,
                 cover_letter="Hello"),
            dict(proposal_id="pr2", freelancer_account_id="a1", client_account_id="a2",
                 job_id="j2", job_category="data", submitted_at=at(10), bid_usd=None,
                 cover_letter=None),
        ],
        "profile_changes": [
            dict(change_id="pc1", account_id="a1", changed_at=at(3), field="email",
                 old_value_hash=H64, new_value_hash=H64B),
            dict(change_id="pc2", account_id="a1", changed_at=at(4), field="phone",
                 old_value_hash=None, new_value_hash=None),
        ],
    }


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict[str, Any]],
    export_date: dt.date = D,
    source_file: str | None = None,
) -> None:
    cols = TABLES[table].column_names
    meta = [name for name, _ in RAW_META_COLUMNS]
    names = ", ".join([f'"{c}"' for c in cols] + meta)
    marks = ", ".join("?" for _ in range(len(cols) + len(meta)))
    values = [
        [r.get(c) for c in cols]
        + [export_date, "test-load", source_file or f"{table}.csv", i + 1]
        for i, r in enumerate(rows)
    ]
    con.executemany(f"INSERT INTO raw.{table} ({names}) VALUES ({marks})", values)


def frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows typed by a real raw table and read back as the validator reads the warehouse."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ensure_raw_schema(con)
    insert_rows(con, table, rows)
    cols = ", ".join(f'"{c}"' for c in TABLES[table].column_names)
    df = con.execute(f"SELECT {cols} FROM raw.{table} ORDER BY _line").df()
    con.close()
    return df


def failed(report: ValidationReport) -> set[tuple[str | None, str]]:
    return {(r.column, r.rule) for _, r in report.failures()}


# --------------------------------------------------------------------------------------------
# suites


def test_committed_suite_files_equal_what_build_suites_builds() -> None:
    suites = build_suites()
    assert set(suites) == set(TABLES)
    assert {p.stem for p in SUITES_DIR.glob("*.json")} == set(TABLES), (
        "suite files differ from contract tables; run `python -m itw_radar.gx_suites`"
    )
    for table, suite in suites.items():
        committed = suite_path(table).read_text(encoding="utf-8")
        assert committed == suite_json(suite), (
            f"{suite_path(table)} is stale; run `python -m itw_radar.gx_suites` and commit it"
        )


@pytest.mark.parametrize("table", list(TABLES))
def test_suite_covers_every_contract_rule(table: str) -> None:
    spec = TABLES[table]
    got = {
        (e.configuration.kwargs.get("column"), e.configuration.meta["rule"])
        for e in build_suite(spec).expectations
    }
    for col in spec.columns:
        assert (col.name, "column_present") in got
        assert (col.name, f"type_{col.type}") in got
        assert ((col.name, "not_null") in got) == (not col.nullable)
        assert ((col.name, "enum") in got) == (col.type == "enum")
        if col.fmt:
            assert (col.name, f"format_{col.fmt}") in got
        if col.min_value is not None or col.max_value is not None:
            assert (col.name, "range") in got
        if col.type == "timestamp":
            assert (col.name, "time_not_after_next_day") in got
    rules = [e.configuration.meta["rule"] for e in build_suite(spec).expectations]
    assert rules.count("unique_key") == 1
    assert rules.count("time_order") == len(spec.order_pairs)


def test_ip_regex_agrees_with_ipaddress() -> None:
    rx = re.compile(FORMAT_REGEX["ip"])
    rnd = random.Random(7)
    for _ in range(3000):
        v4 = ipaddress.IPv4Address(rnd.getrandbits(32))
        groups = [0 if rnd.random() < 0.5 else rnd.getrandbits(16) for _ in range(8)]
        v6 = ipaddress.IPv6Address(sum(g << (16 * (7 - k)) for k, g in enumerate(groups)))
        mixed = ":".join(f"{g:x}" for g in groups[:6]) + f":{v4}"
        for text in (str(v4), str(v6), v6.exploded, str(v6).upper(), f"::ffff:{v4}", mixed):
            assert rx.match(text), text
    for bad in ("999.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.0.0.0", "1.2.3.4\n",
                ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7", "g::1", "1:2:3:4:5:6:7:1.2.3.4",
                " 1.2.3.4", ""):
        assert not rx.match(bad), repr(bad)


def test_timezones_come_from_the_locked_tzdata_package() -> None:
    zones = iana_timezones()
    assert "America/Chicago" in zones and "Asia/Pyongyang" in zones and "UTC" in zones
    assert list(zones) == sorted(set(zones))


# --------------------------------------------------------------------------------------------
# validate_frame: clean rows pass, planted bad values are caught by their expectation


@pytest.mark.parametrize("table", list(TABLES))
def test_suite_passes_on_clean_rows(table: str) -> None:
    report = validate_frame(table, frame(table, clean_rows()[table]), D)
    assert report.success, failed(report)
    suite = report.suites[table]
    assert suite.rows == len(clean_rows()[table])
    assert len(suite.results) == len(build_suite(TABLES[table]).expectations)


@pytest.mark.parametrize("table", list(TABLES))
def test_nullable_columns_may_be_entirely_null(table: str) -> None:
    rows = clean_rows()[table]
    for row in rows:
        for col in TABLES[table].columns:
            if col.nullable:
                row[col.name] = None
    report = validate_frame(table, frame(table, rows), D)
    assert report.success, failed(report)


def set_(column: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def plant(rows: list[dict[str, Any]]) -> None:
        rows[0][column] = value

    return plant


def duplicate(column: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    """Append a copy of the first row under the same key, differing in one column."""

    def plant(rows: list[dict[str, Any]]) -> None:
        twin = copy.deepcopy(rows[0])
        twin[column] = value
        rows.append(twin)

    return plant


FUTURE = dt.datetime(2031, 1, 1, tzinfo=UTC)
WINDOW_END = at(0, 0, D + dt.timedelta(days=2))  # first instant not allowed for night D

PLANTS: list[tuple[str, str, Callable[[list[dict[str, Any]]], None], str]] = [
    ("accounts", "account_id", set_("account_id", None), "not_null"),
    ("accounts", "account_type", set_("account_type", "robot"), "enum"),
    ("accounts", "phone_line_type", set_("phone_line_type", "satellite"), "enum"),
    ("accounts", "email_hash", set_("email_hash", "a" * 63), "format_sha256"),
    ("accounts", "email_hash", set_("email_hash", "A" * 64), "format_sha256"),
    ("accounts", "phone_hash", set_("phone_hash", "z" * 64), "format_sha256"),
    ("accounts", "country", set_("country", "USA"), "format_country"),
    ("accounts", "timezone", set_("timezone", "Mars/Olympus_Mons"), "format_timezone"),
    ("accounts", "hourly_rate_usd", set_("hourly_rate_usd", -5), "range"),
    ("accounts", "lifetime_hours", set_("lifetime_hours", -0.5), "range"),
    ("accounts", "updated_at", set_("updated_at", FUTURE), "time_not_after_next_day"),
    ("accounts", "updated_at, created_at", set_("updated_at", at(0)), "time_order"),
    ("accounts", "account_id, updated_at", duplicate("display_name", "Other"), "unique_key"),
    ("identity_documents", "document_id", set_("document_id", None), "not_null"),
    ("identity_documents", "document_type", set_("document_type", "library_card"), "enum"),
    ("identity_documents", "issuing_country", set_("issuing_country", "kr"), "format_country"),
    ("identity_documents", "document_number_hash", set_("document_number_hash", H64 + "a"),
     "format_sha256"),
    ("identity_documents", "image_phash", set_("image_phash", "00ff00ff00ff00f"),
     "format_phash"),
    ("identity_documents", "face_phash", set_("face_phash", "00ff00ff00ff00fg"), "format_phash"),
    ("identity_documents", "verification_method", set_("verification_method", "telepathy"),
     "enum"),
    ("identity_documents", "document_id", duplicate("holder_name", "Other"), "unique_key"),
    ("payment_methods", "account_id", set_("account_id", None), "not_null"),
    ("payment_methods", "method_type", set_("method_type", "gold"), "enum"),
    ("payment_methods", "country", set_("country", "u2"), "format_country"),
    ("payment_methods", "is_active", set_("is_active", None), "not_null"),
    ("payment_methods", "added_at", set_("added_at", FUTURE), "time_not_after_next_day"),
    ("payment_methods", "payment_method_id", duplicate("fingerprint", "fp-9"), "unique_key"),
    ("contracts", "contract_type", set_("contract_type", "barter"), "enum"),
    ("contracts", "rate_usd", set_("rate_usd", 0), "range"),
    ("contracts", "rate_usd", set_("rate_usd", -100), "range"),
    ("contracts", "updated_at, created_at", set_("created_at", at(9)), "time_order"),
    ("contracts", "contract_id, updated_at", duplicate("status", "active"), "unique_key"),
    ("logins", "login_id", set_("login_id", None), "not_null"),
    ("logins", "ip", set_("ip", "999.1.1.1"), "format_ip"),
    ("logins", "ip", set_("ip", "2001:db8::g"), "format_ip"),
    ("logins", "ip_country", set_("ip_country", "Korea"), "format_country"),
    ("logins", "ip_kind", set_("ip_kind", "satellite"), "enum"),
    ("logins", "ip_asn", set_("ip_asn", -1), "range"),
    ("logins", "success", set_("success", None), "not_null"),
    ("logins", "ts", set_("ts", FUTURE), "time_not_after_next_day"),
    ("logins", "ts", set_("ts", WINDOW_END), "time_not_after_next_day"),
    ("logins", "login_id", duplicate("ip", "198.51.100.9"), "unique_key"),
    ("work_sessions", "ended_at, started_at", set_("ended_at", at(13)), "time_order"),
    ("work_sessions", "started_at", set_("started_at", None), "not_null"),
    ("work_sessions", "ended_at", set_("ended_at", FUTURE), "time_not_after_next_day"),
    ("work_sessions", "session_id", duplicate("ended_at", at(17)), "unique_key"),
    ("interviews", "requested_mode", set_("requested_mode", "none"), "enum"),
    ("interviews", "held_mode", set_("held_mode", "hologram"), "enum"),
    ("interviews", "outcome", set_("outcome", "ghosted"), "enum"),
    ("interviews", "scheduled_at", set_("scheduled_at", FUTURE), "time_not_after_next_day"),
    ("interviews", "interview_id", duplicate("outcome", "rejected"), "unique_key"),
    ("reviews", "review_id", set_("review_id", None), "not_null"),
    ("reviews", "rating", set_("rating", 7), "range"),
    ("reviews", "rating", set_("rating", 0.5), "range"),
    ("reviews", "created_at", set_("created_at", FUTURE), "time_not_after_next_day"),
    ("reviews", "review_id", duplicate("rating", 3), "unique_key"),
    ("transactions", "amount_usd", set_("amount_usd", -10), "range"),
    ("transactions", "amount_usd", set_("amount_usd", 0), "range"),
    ("transactions", "kind", set_("kind", "gift"), "enum"),
    ("transactions", "payment_method_id", set_("payment_method_id", None), "not_null"),
    ("transactions", "ts", set_("ts", FUTURE), "time_not_after_next_day"),
    ("transactions", "transaction_id", duplicate("amount_usd", 99), "unique_key"),
    ("messages", "body", set_("body", None), "not_null"),
    ("messages", "sent_at", set_("sent_at", FUTURE), "time_not_after_next_day"),
    ("messages", "message_id", duplicate("body", "hi"), "unique_key"),
    ("identity_documents", "verified_at, submitted_at", set_("verified_at", at(0)),
     "time_order"),
    ("proposals", "bid_usd", set_("bid_usd", 0), "range"),
    ("proposals", "submitted_at", set_("submitted_at", None), "not_null"),
    ("proposals", "proposal_id", duplicate("bid_usd", 5), "unique_key"),
    ("profile_changes", "field", set_("field", "password"), "enum"),
    ("profile_changes", "new_value_hash", set_("new_value_hash", "B" * 64), "format_sha256"),
    ("profile_changes", "changed_at", set_("changed_at", FUTURE), "time_not_after_next_day"),
]


@pytest.mark.parametrize(
    ("table", "column", "plant", "rule"),
    PLANTS,
    ids=[f"{t}-{c}-{r}-{i}" for i, (t, c, _, r) in enumerate(PLANTS)],
)
def test_planted_bad_value_is_caught_by_its_expectation(
    table: str, column: str, plant: Callable[[list[dict[str, Any]]], None], rule: str
) -> None:
    rows = clean_rows()[table]
    plant(rows)
    report = validate_frame(table, frame(table, rows), D)
    assert not report.success
    assert failed(report) == {(column, rule)}
    ((_, result),) = report.failures()
    assert result.unexpected_count >= 1
    if rule == "unique_key":
        assert result.unexpected_count == 2  # both rows of the duplicated key


def test_every_table_has_planted_bad_values() -> None:
    assert {t for t, *_ in PLANTS} == set(TABLES)
    assert {r for *_, r in PLANTS} >= {
        "not_null", "enum", "format_ip", "format_sha256", "format_phash", "format_country",
        "format_timezone", "range", "time_not_after_next_day", "time_order", "unique_key",
    }


def test_sample_shows_the_bad_value() -> None:
    rows = clean_rows()["logins"]
    rows[1]["ip"] = "999.1.1.1"
    report = validate_frame("logins", frame("logins", rows), D)
    ((_, result),) = report.failures()
    assert result.sample == ("999.1.1.1",)
    assert result.element_count == 3


def test_missing_column_and_wrong_type_are_caught() -> None:
    df = frame("reviews", clean_rows()["reviews"]).drop(columns=["reviewee_account_id"])
    assert ("reviewee_account_id", "column_present") in failed(validate_frame("reviews", df, D))
    df = frame("reviews", clean_rows()["reviews"])
    df["rating"] = pd.Series(["five", "one"], dtype="str")
    assert ("rating", "type_decimal") in failed(validate_frame("reviews", df, D))
    df = frame("logins", clean_rows()["logins"])
    df["ts"] = df["ts"].dt.tz_localize(None)  # naive timestamps: not UTC instants
    assert ("ts", "type_timestamp") in failed(validate_frame("logins", df, D))


# --------------------------------------------------------------------------------------------
# validate_night: warehouse in, gx_results + Data Docs out


def load_night(home: Home, rows: dict[str, list[dict[str, Any]]], export_date: dt.date) -> None:
    con = connect(home.warehouse)
    ensure_raw_schema(con)
    for table, table_rows in rows.items():
        if table_rows:
            insert_rows(con, table, table_rows, export_date)
    con.close()


def gx_results(home: Home, export_date: dt.date) -> list[tuple[Any, ...]]:
    con = connect(home.warehouse, read_only=True)
    rows = con.execute(
        "SELECT suite, expectation, column_name, success, unexpected_count, details "
        "FROM raw.gx_results WHERE export_date = ? ORDER BY ALL",
        [export_date],
    ).fetchall()
    con.close()
    return rows


def test_validate_night_records_results_and_data_docs_idempotently(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    night = clean_rows()
    del night["messages"]  # a table with no rows that night is skipped
    load_night(home, night, D)
    earlier = clean_rows()
    earlier["logins"][0]["ip"] = "999.1.1.1"  # another night's bad row must not matter
    load_night(home, earlier, D - dt.timedelta(days=1))

    report = validate_night(home, D)
    assert report.success
    assert report.suites["messages"].skipped and report.suites["messages"].results == ()
    first = gx_results(home, D)
    expected = sum(len(build_suite(TABLES[t]).expectations) for t in night)
    assert len(first) == expected
    assert all(r[3] for r in first)
    assert {r[0] for r in first} == {f"raw.{t}" for t in night}
    details = json.loads(next(r[5] for r in first if r[0] == "raw.logins"))
    assert details["rows"] == 3 and details["source_files"] == ["logins.csv"]

    assert report.data_docs == home.data_docs / "index.html"
    assert report.data_docs.is_file()
    pages = sorted(p.relative_to(home.data_docs) for p in home.data_docs.rglob("*.html"))
    validation_pages = [p for p in pages if p.parts[0] == "validations"]
    assert len(validation_pages) == len(night)
    assert "night-2026-11-23" in str(validation_pages[0])

    again = validate_night(home, D, chunk_rows=1)  # again, and split into one-row chunks
    assert again.success
    assert again.suites["logins"].chunks > 1
    second = gx_results(home, D)
    strip = [r[:5] for r in first]
    assert [r[:5] for r in second] == strip
    assert sorted(p.relative_to(home.data_docs) for p in home.data_docs.rglob("*.html")) == pages


def test_validate_night_leaves_no_frames_behind(tmp_path: Path) -> None:
    """GX keeps its last context as the process's current project, and with it each table's
    last batch; validate_night lets go of it (under `dag.test()` the dbt build runs next)."""
    import gc

    import pyarrow as pa
    from great_expectations.data_context.data_context.context_factory import project_manager
    from great_expectations.exceptions import DataContextRequiredError

    home = Home(tmp_path / "home").ensure()
    load_night(home, clean_rows(), D)
    gc.collect()
    before = pa.total_allocated_bytes()
    assert validate_night(home, D).success
    with pytest.raises(DataContextRequiredError):
        project_manager.get_current_project()
    gc.collect()
    assert pa.total_allocated_bytes() <= before


def test_validate_night_failure_records_results_then_raises_one_clear_sentence(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path / "home").ensure()
    night = clean_rows()
    night["logins"][1]["ip"] = "999.1.1.1"
    load_night(home, night, D)

    with pytest.raises(ValidationError) as info:
        validate_night(home, D)
    message = str(info.value)
    for part in ("2026-11-23", "table logins", "logins.csv", "column ip", "format_ip",
                 "1 unexpected value", "999.1.1.1", "load and validate the night again"):
        assert part in message, (part, message)
    assert re.search(r"(?<!e\.g)\.\s", message) is None and message.endswith(".")  # one sentence
    assert not info.value.report.success

    rows = gx_results(home, D)
    bad = [r for r in rows if not r[3]]
    assert [(r[0], r[1], r[2], r[4]) for r in bad] == [
        ("raw.logins", "expect_column_values_to_match_regex", "ip", 1)
    ]
    assert json.loads(bad[0][5])["unexpected_sample"] == ["999.1.1.1"]
    assert (home.data_docs / "index.html").is_file()


def test_duplicate_keys_are_caught_across_chunks(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    logins = []
    for i in range(40):
        row = copy.deepcopy(clean_rows()["logins"][0])
        row["login_id"] = f"l{i}"
        logins.append(row)
    logins.append({**logins[3], "ip": "198.51.100.1"})  # same key, different content
    load_night(home, {"logins": logins}, D)

    with pytest.raises(ValidationError) as info:
        validate_night(home, D, chunk_rows=5)
    report = info.value.report
    assert report.suites["logins"].chunks >= 5
    assert failed(report) == {("login_id", "unique_key")}
    ((_, result),) = report.failures()
    assert result.unexpected_count == 2 and result.element_count == 41
    assert "column login_id" in str(info.value) and "unique_key" in str(info.value)


def test_validate_night_with_no_rows_records_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    report = validate_night(home, D)
    assert report.success
    assert all(s.skipped for s in report.suites.values())
    assert gx_results(home, D) == []


# --------------------------------------------------------------------------------------------
# speed-related behaviour (no timings: what is, and is not, redone from one night to the next)

SETUP_FILES = ("great_expectations.yml", "expectations", "validation_definitions", "checkpoints")


def stamps(root: Path, parts: tuple[str, ...]) -> dict[str, int]:
    """mtime_ns of every file under the given parts of `root` (files or folders)."""
    out: dict[str, int] = {}
    for part in parts:
        path = root / part
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for f in files:
            out[str(f.relative_to(root))] = f.stat().st_mtime_ns
    return out


def test_next_night_reuses_the_gx_context_and_renders_only_its_own_pages(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    later = D + dt.timedelta(days=1)
    load_night(home, clean_rows(), D)
    load_night(home, clean_rows(), later)
    validate_night(home, D)
    setup = stamps(home.gx, SETUP_FILES)
    assert any(k.startswith("expectations") for k in setup)
    assert any(k.startswith("checkpoints") for k in setup)
    suite_pages = stamps(home.data_docs, ("expectations",))
    first_pages = stamps(home.data_docs, ("validations",))
    assert len(suite_pages) == len(TABLES) and len(first_pages) == len(TABLES)

    report = validate_night(home, later)
    assert report.success
    # suites, validation definitions, checkpoints and the config were not written again
    assert stamps(home.gx, SETUP_FILES) == setup
    # nor the suite pages or the other night's pages: only this night's pages were rendered
    assert stamps(home.data_docs, ("expectations",)) == suite_pages
    pages = stamps(home.data_docs, ("validations",))
    assert {k: v for k, v in pages.items() if k in first_pages} == first_pages
    new_pages = [k for k in pages if k not in first_pages]
    assert len(new_pages) == len(TABLES) and all(later.isoformat() in k for k in new_pages)
    assert len(gx_results(home, later)) == len(gx_results(home, D))


def test_a_changed_stored_suite_is_replaced_by_the_committed_one(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    night = clean_rows()
    load_night(home, night, D)
    validate_night(home, D)
    stored = home.gx / "expectations" / "raw" / "logins.json"
    suite = json.loads(stored.read_text(encoding="utf-8"))
    kept = [e for e in suite["expectations"] if e["type"] != "expect_column_values_to_match_regex"]
    assert len(kept) < len(suite["expectations"])
    stored.write_text(json.dumps({**suite, "expectations": kept}), encoding="utf-8")

    bad = clean_rows()
    bad["logins"][0]["ip"] = "999.1.1.1"
    load_night(home, {"logins": bad["logins"]}, D + dt.timedelta(days=1))
    with pytest.raises(ValidationError) as info:
        validate_night(home, D + dt.timedelta(days=1))
    assert failed(info.value.report) == {("ip", "format_ip")}  # the committed suite ran
    restored = json.loads(stored.read_text(encoding="utf-8"))
    assert len(restored["expectations"]) == len(build_suite(TABLES["logins"]).expectations)


def test_chunked_and_whole_night_record_the_same_failures(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    night = clean_rows()
    logins = []
    for i in range(30):
        row = copy.deepcopy(night["logins"][i % 3])
        row["login_id"] = f"l{i}"
        logins.append(row)
    logins[4]["ip"] = "999.1.1.1"
    logins[17]["ip"] = "1.2.3"
    logins[9]["ip_kind"] = "satellite"
    logins[21]["ts"] = FUTURE
    logins.append({**logins[12], "ip": "198.51.100.1"})  # duplicate key
    night["logins"] = logins
    night["reviews"][1]["rating"] = 7
    load_night(home, night, D)

    def run(chunk_rows: int) -> tuple[list[tuple[Any, ...]], ValidationReport]:
        with pytest.raises(ValidationError) as info:
            validate_night(home, D, chunk_rows=chunk_rows)
        rows = []
        for r in gx_results(home, D):
            details = json.loads(r[5])
            chunks = details.pop("chunks")
            details["unexpected_sample"] = sorted(details["unexpected_sample"])
            rows.append((*r[:5], json.dumps(details, sort_keys=True), chunks))
        return rows, info.value.report

    whole, whole_report = run(500_000)
    split, split_report = run(4)
    assert split_report.suites["logins"].chunks >= 5
    assert [r[:6] for r in split] == [r[:6] for r in whole]
    assert failed(whole_report) == failed(split_report) == {
        ("ip", "format_ip"), ("ip_kind", "enum"), ("ts", "time_not_after_next_day"),
        ("login_id", "unique_key"), ("rating", "range"),
    }
    ip = next(r for _, r in split_report.failures() if r.rule == "format_ip")
    assert ip.unexpected_count == 2 and sorted(ip.sample) == ["1.2.3", "999.1.1.1"]


# --------------------------------------------------------------------------------------------
# a catch-up batch validated together


def _shift(rows: dict[str, list[dict[str, Any]]], days: int) -> dict[str, list[dict[str, Any]]]:
    """The clean night moved `days` later (every timestamp and date with it)."""
    out = copy.deepcopy(rows)
    for table_rows in out.values():
        for row in table_rows:
            for k, v in row.items():
                if isinstance(v, dt.datetime | dt.date):
                    row[k] = v + dt.timedelta(days=days)
    return out


BATCH = [D, D + dt.timedelta(days=1), D + dt.timedelta(days=2)]


def _batch_home(tmp_path: Path, name: str, nights: dict[dt.date, dict]) -> Home:
    home = Home(tmp_path / name).ensure()
    for night, rows in nights.items():
        load_night(home, rows, night)
    return home


def test_a_batch_validated_together_records_what_night_by_night_records(tmp_path: Path) -> None:
    # every night carries the same keys (entities changed again, events delivered again):
    # unique within each night, as the contract asks, not across the batch
    nights = {n: _shift(clean_rows(), i) for i, n in enumerate(BATCH)}
    together = _batch_home(tmp_path, "together", nights)
    alone = _batch_home(tmp_path, "alone", nights)
    reports = validate_nights(together, BATCH)
    assert [r.export_date for r in reports] == BATCH and all(r.success for r in reports)
    for night in BATCH:
        validate_night(alone, night)
        assert gx_results(together, night) == gx_results(alone, night), night
    assert reports[2].suites["logins"].rows == len(nights[BATCH[2]]["logins"])


@pytest.mark.parametrize("break_it, night, rule", [
    # a login of the middle night stamped on the last night's day: too late for its own night
    (lambda n: n[BATCH[1]]["logins"][0].update(ts=at(10, day=BATCH[1] + dt.timedelta(days=2))),
     BATCH[1], ("ts", "time_not_after_next_day")),
    # the same login twice within one night
    (lambda n: n[BATCH[1]]["logins"].append(copy.deepcopy(n[BATCH[1]]["logins"][0])),
     BATCH[1], ("login_id", "unique_key")),
    (lambda n: n[BATCH[2]]["accounts"][0].update(country="usa"),
     BATCH[2], ("country", "format_country")),
])
def test_a_batch_fails_at_the_night_that_breaks_a_rule(
        tmp_path: Path, break_it: Callable, night: dt.date, rule: tuple[str, str]) -> None:
    nights = {n: _shift(clean_rows(), i) for i, n in enumerate(BATCH)}
    break_it(nights)
    home = _batch_home(tmp_path, "home", nights)
    with pytest.raises(ValidationError) as info:
        validate_nights(home, BATCH)
    report = info.value.report
    assert report.export_date == night
    assert rule in failed(report)
    assert night.isoformat() in str(info.value)
    # the nights before it passed and are recorded as passing
    for earlier in BATCH[:BATCH.index(night)]:
        assert all(r[3] for r in gx_results(home, earlier))
