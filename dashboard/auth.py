"""Who may use the dashboard: Streamlit OIDC login, or local password users.

- OIDC: when `.streamlit/secrets.toml` has an `[auth]` section, the login page offers
  `st.login()` (needs the `Authlib` package) and the user is `st.user.email`.
- Local users: `ITW_RADAR_USERS="alice:<hash>,bob:<hash>"` where `<hash>` is
  `pbkdf2_sha256$<iterations>$<salt>$<hex>` (make one with `python dashboard/auth.py hash`),
  `sha256$<hex>` or a bare 64-character SHA-256 hex of the password.
- Demo mode only (`ITW_RADAR_DEMO=1`): the user `analyst` with password `radar-demo`. There is
  never a default user outside demo mode.

Roles: a local user's entry may end in `:<role>[+<role>...]` (`alice:<hash>:lead`), and
`ITW_RADAR_ROLES="bob@corp.example=admin,carol=lead+admin"` gives roles to any user (single
sign-on users too). PERMISSIONS says which roles may do what (`can(user, "watchlists.edit")`);
a user without a role is a viewer: masked data only, no decisions. The demo user is an analyst
and a lead unless ITW_RADAR_ROLES says otherwise.

Wrong passwords are refused; after MAX_FAILURES failures for a user name or a browser session,
further attempts are refused for a lockout that doubles with each failure (30 s up to 15 min).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import importlib.util
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import streamlit as st

USERS_ENV = "ITW_RADAR_USERS"
ROLES_ENV = "ITW_RADAR_ROLES"
ROLES = ("viewer", "analyst", "lead", "admin")
# permission -> roles that hold it; anything not listed is open to every logged-in user. A viewer
# (or a user without a role) reads masked data only; an analyst reveals personal data (logged)
# and records decisions; a lead is an analyst who also keeps the watchlists; an admin may do all.
PERMISSIONS: dict[str, frozenset[str]] = {
    "personal_data.reveal": frozenset({"analyst", "lead", "admin"}),
    "reviews.decide": frozenset({"analyst", "lead", "admin"}),
    "cases.edit": frozenset({"analyst", "lead", "admin"}),
    "watchlists.edit": frozenset({"lead", "admin"}),
    "rules.backtest": frozenset({"admin"}),
}
DEMO_ENV = "ITW_RADAR_DEMO"
DEMO_USER = "analyst"
DEMO_PASSWORD = "radar-demo"
PBKDF2_ITERATIONS = 240_000
MAX_FAILURES = 5
LOCKOUT_BASE_SECONDS = 30.0
LOCKOUT_MAX_SECONDS = 900.0
_USER_KEY = "_itw_user"
_SESSION_KEY = "_itw_session_id"


def hash_password(password: str, iterations: int = PBKDF2_ITERATIONS, salt: str | None = None
                  ) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hex>` for ITW_RADAR_USERS."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a stored hash in one of the supported formats."""
    stored = stored.strip()
    if stored.startswith("pbkdf2_sha256$"):
        try:
            _, iterations, salt, expected = stored.split("$", 3)
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(),
                                         int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(digest.hex(), expected.lower())
    expected = stored.removeprefix("sha256$").lower()
    if len(expected) != 64:
        return False
    return hmac.compare_digest(hashlib.sha256(password.encode()).hexdigest(), expected)


@cache
def _demo_hash() -> str:
    return hash_password(DEMO_PASSWORD, iterations=50_000, salt="itw-radar-demo")


def demo_mode(env: Mapping[str, str] | None = None) -> bool:
    value = (env if env is not None else os.environ).get(DEMO_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_users(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """user name -> stored hash, from ITW_RADAR_USERS (plus the demo user in demo mode)."""
    env = env if env is not None else os.environ
    users: dict[str, str] = {}
    for entry in _entries(env.get(USERS_ENV, "")):
        name, sep, stored = entry.partition(":")
        stored = stored.split(":", 1)[0]  # `:roles` after the hash (load_roles)
        if sep and name.strip() and stored.strip():
            users[name.strip()] = stored.strip()
    if demo_mode(env):
        users.setdefault(DEMO_USER, _demo_hash())
    return users


def _entries(text: str) -> list[str]:
    return [e.strip() for e in text.replace(";", ",").replace("\n", ",").split(",") if e.strip()]


def _role_set(text: str) -> frozenset[str]:
    return frozenset(r.strip().lower() for r in text.split("+") if r.strip())


def load_roles(env: Mapping[str, str] | None = None) -> dict[str, frozenset[str]]:
    """user name -> roles: from `name:hash:role+role` entries of ITW_RADAR_USERS, then
    ITW_RADAR_ROLES (`name=role+role`, which wins); the demo user is an analyst and a lead
    by default."""
    env = env if env is not None else os.environ
    roles: dict[str, frozenset[str]] = {}
    if demo_mode(env):
        roles[DEMO_USER] = frozenset({"analyst", "lead"})
    for entry in _entries(env.get(USERS_ENV, "")):
        parts = entry.split(":")
        if len(parts) >= 3 and parts[0].strip():
            roles[parts[0].strip()] = _role_set(parts[2])
    for entry in _entries(env.get(ROLES_ENV, "")):
        name, sep, given = entry.partition("=")
        if sep and name.strip():
            roles[name.strip()] = _role_set(given)
    return roles


def user_roles(user: str | None, env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The roles of `user` (empty: reads only)."""
    return load_roles(env).get(user or "", frozenset()) if user else frozenset()


def can(user: str | None, permission: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether `user` holds a role PERMISSIONS lists for `permission` (unlisted: any user)."""
    if not user:
        return False
    needed = PERMISSIONS.get(permission)
    return needed is None or bool(needed & user_roles(user, env))


def oidc_configured() -> bool:
    """True when secrets.toml has an [auth] section (Streamlit's OIDC login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or an unreadable one
        return False


# --- rate limiting (process-wide: every session of this server shares it) -----------------

@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class RateLimiter:
    """Failed-login bookkeeping per key (user name, browser session)."""

    def __init__(self, max_failures: int = MAX_FAILURES) -> None:
        self.max_failures = max_failures
        self._lock = threading.Lock()
        self._state: dict[str, _Failures] = {}

    def wait_seconds(self, *keys: str) -> float:
        now = time.monotonic()
        with self._lock:
            return max([0.0] + [self._state[k].locked_until - now
                                 for k in keys if k in self._state])

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                state = self._state.setdefault(key, _Failures())
                state.count += 1
                if state.count >= self.max_failures:
                    extra = state.count - self.max_failures
                    delay = min(LOCKOUT_BASE_SECONDS * 2**extra, LOCKOUT_MAX_SECONDS)
                    state.locked_until = now + delay

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._state.pop(key, None)


LIMITER = RateLimiter()


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str


def check_login(username: str, password: str, session_key: str = "",
                users: Mapping[str, str] | None = None) -> LoginResult:
    """Check a user name and password against the configured users, with rate limiting."""
    username = username.strip()
    keys = [f"user:{username.lower()}"] + ([f"session:{session_key}"] if session_key else [])
    wait = LIMITER.wait_seconds(*keys)
    if wait > 0:
        return LoginResult(False, f"Too many failed attempts: try again in {int(wait) + 1} s.")
    users = load_users() if users is None else users
    stored = users.get(username)
    # hash something even for unknown users so that timing does not reveal who exists
    ok = verify_password(password, stored if stored else _demo_hash()) and stored is not None
    if ok:
        LIMITER.succeeded(*keys)
        return LoginResult(True, "")
    LIMITER.failed(*keys)
    return LoginResult(False, "Wrong user name or password.")


# --- Streamlit glue -------------------------------------------------------------------------

def current_user() -> str | None:
    """The logged-in user's name (OIDC e-mail or local user name), or None."""
    if oidc_configured():
        try:
            if st.user.is_logged_in:
                return str(st.user.get("email") or st.user.get("name") or st.user.get("sub"))
        except Exception:
            pass
    user = st.session_state.get(_USER_KEY)
    return str(user) if user else None


def _session_key() -> str:
    if _SESSION_KEY not in st.session_state:
        st.session_state[_SESSION_KEY] = secrets.token_hex(8)
    return str(st.session_state[_SESSION_KEY])


def login_page() -> None:
    """The only page an anonymous visitor sees."""
    st.title("ITW Radar")
    st.caption("Risk dashboard for accounts matching DPRK IT-worker indicators. "
               "Log in to continue.")
    oidc = oidc_configured()
    users = load_users()
    if oidc:
        if importlib.util.find_spec("authlib") is None:
            st.error("Single sign-on is configured in secrets.toml but the Authlib package is "
                     "missing: install `streamlit[auth]` (Authlib>=1.3.2) and restart.")
        elif st.button("Log in with single sign-on", type="primary"):
            st.login()
    if not users:
        if not oidc:
            st.error(f"No users are configured: set {USERS_ENV}=name:hash (make a hash with "
                     "`python dashboard/auth.py hash`), configure [auth] in secrets.toml for "
                     "single sign-on, or start the demo with `itw-radar serve --demo`.")
        return
    if demo_mode():
        st.info(f"Demo mode: log in as `{DEMO_USER}` with password `{DEMO_PASSWORD}`.")
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_user", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        result = check_login(username, password, _session_key(), users)
        if result.ok:
            st.session_state[_USER_KEY] = username.strip()
            st.rerun()
        else:
            st.error(result.message)


def logout_button() -> None:
    user = current_user()
    if not user:
        return
    st.sidebar.caption(f"Logged in as **{_md_plain(user)}**")
    if st.sidebar.button("Log out", key="logout"):
        st.session_state.pop(_USER_KEY, None)
        if oidc_configured():
            try:
                if st.user.is_logged_in:
                    st.logout()
            except Exception:
                pass
        st.rerun()


def _md_plain(text: str) -> str:
    return "".join("\\" + c if not c.isalnum() and c != " " else c for c in text)


def main(argv: list[str]) -> int:
    """`python dashboard/auth.py hash [USER]` prints an ITW_RADAR_USERS entry."""
    if len(argv) < 1 or argv[0] != "hash":
        print("usage: python dashboard/auth.py hash [USER]", file=sys.stderr)
        return 2
    password = getpass.getpass("Password: ")
    if len(password) < 10:
        print("Choose a password of at least 10 characters.", file=sys.stderr)
        return 1
    entry = hash_password(password)
    print(f"{argv[1]}:{entry}" if len(argv) > 1 else entry)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
