"""Hand-made export nights for tests: valid rows per contract table, written with a manifest.

Tests start from `valid_rows()` and break one thing at a time (the corrupt-export corpus).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sys
from datetime import date
from pathlib import Path

from itw_radar.contract import TABLES

csv.field_size_limit(sys.maxsize)

H = "a" * 64


def h(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def valid_rows(day: date) -> dict[str, list[dict[str, str]]]:
    """A small, contract-valid night: 3 accounts, one of each event."""
    d = day.isoformat()
    ts = f"{d}T10:00:00Z"
    return {
        "accounts": [
            {"account_id": f"acc-{i}", "account_type": "freelancer" if i < 2 else "client",
             "created_at": "2025-01-01T00:00:00Z", "updated_at": ts,
             "display_name": f"Person {i}", "email_hash": h(i), "email_domain": "example.com",
             "phone_hash": h(100 + i), "phone_line_type": "mobile", "country": "US",
             "timezone": "America/Chicago", "hourly_rate_usd": "45.00",
             "lifetime_hours": "120.5", "status": "active"}
            for i in range(3)
        ],
        "identity_documents": [
            {"document_id": "doc-0", "account_id": "acc-0", "submitted_at": ts,
             "document_type": "passport", "issuing_country": "US",
             "document_number_hash": h(200), "holder_name": "Person 0",
             "date_of_birth": "1990-05-01", "image_phash": "0123456789abcdef",
             "face_phash": "fedcba9876543210", "verification_status": "approved",
             "verification_method": "automated"},
        ],
        "payment_methods": [
            {"payment_method_id": "pm-0", "account_id": "acc-0", "added_at": ts,
             "method_type": "bank_account", "fingerprint": h(300), "holder_name": "Person 0",
             "country": "US", "is_active": "true"},
        ],
        "contracts": [
            {"contract_id": "c-0", "client_account_id": "acc-2",
             "freelancer_account_id": "acc-0", "created_at": ts, "updated_at": ts,
             "category": "web", "contract_type": "hourly", "rate_usd": "40", "status": "active"},
        ],
        "logins": [
            {"login_id": f"l-{i}", "account_id": "acc-0", "ts": f"{d}T0{i}:00:00Z",
             "ip": "203.0.113.7" if i else "2001:db8::1", "ip_country": "US", "ip_asn": "64500",
             "ip_kind": "residential", "device_id": "dev-0", "user_agent": "Mozilla/5.0",
             "success": "true"}
            for i in range(3)
        ],
        "work_sessions": [
            {"session_id": "s-0", "account_id": "acc-0", "contract_id": "c-0",
             "started_at": f"{d}T09:00:00Z", "ended_at": f"{d}T12:00:00Z",
             "remote_desktop_detected": "false"},
        ],
        "interviews": [
            {"interview_id": "i-0", "client_account_id": "acc-2",
             "freelancer_account_id": "acc-0", "contract_id": "c-0", "scheduled_at": ts,
             "requested_mode": "video", "held_mode": "video", "camera_on": "true",
             "outcome": "hired"},
        ],
        "reviews": [
            {"review_id": "r-0", "contract_id": "c-0", "reviewer_account_id": "acc-2",
             "reviewee_account_id": "acc-0", "rating": "5.0", "created_at": ts},
        ],
        "transactions": [
            {"transaction_id": "t-0", "ts": ts, "account_id": "acc-0",
             "payment_method_id": "pm-0", "contract_id": "c-0", "kind": "freelancer_payout",
             "amount_usd": "400.00"},
        ],
        "messages": [
            {"message_id": "m-0", "thread_id": "th-0", "contract_id": "c-0",
             "sender_account_id": "acc-2", "recipient_account_id": "acc-0", "sent_at": ts,
             "body": "Hi, can you start on Monday?"},
        ],
    }


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None,
              gz: bool = False) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    data = _csv_text(rows, columns).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)


def _csv_text(rows: list[dict[str, str]], columns: list[str]) -> str:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in columns})
    return buf.getvalue()


def write_manifest(folder: Path, day: date, mode: str = "delta",
                   rows: dict[str, int] | None = None) -> dict:
    """Manifest for every file in the folder; `rows` overrides counts per file name."""
    files = {}
    for p in sorted(folder.iterdir()):
        if p.name == "manifest.json":
            continue
        if p.name in (rows or {}):
            n = (rows or {})[p.name]
        elif p.suffix == ".parquet":
            import pyarrow.parquet as pq

            n = pq.ParquetFile(p).metadata.num_rows
        else:
            opener = gzip.open if p.name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8-sig", newline="") as f:
                n = max(sum(1 for _ in csv.reader(f)) - 1, 0)
        table = p.name.split(".", 1)[0]
        files[p.name] = {"table": table, "rows": (rows or {}).get(p.name, n),
                         "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
    manifest = {"contract_version": "1.0", "platform": "test", "export_date": day.isoformat(),
                "mode": mode, "generated_at": f"{day.isoformat()}T23:59:00Z", "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def write_night(exports: Path, day: date, tables: dict[str, list[dict[str, str]]] | None = None,
                mode: str = "delta") -> Path:
    """A night of CSV files: each table's 1.0 columns, and the 1.1 ones its rows have."""
    folder = exports / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    tables = tables if tables is not None else valid_rows(day)
    for name, rows in tables.items():
        spec = TABLES[name]
        columns = [c for c in spec.column_names
                   if c in spec.required_column_names or any(c in r for r in rows)]
        write_csv(folder / f"{name}.csv", rows, columns)
    write_manifest(folder, day, mode)
    return folder
