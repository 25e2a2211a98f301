"""Who may use the dashboard: Streamlit OIDC login, or local password users.

- OIDC: when `.streamlit/secrets.toml` has an `[auth]` section, the login page offers
  `st.login()` (needs the `Authlib` package) and the user is `st.user.email`.
- Local users, from two places merged: `ITW_RADAR_USERS="alice:<hash>,bob:<hash>"` (read-only
  here; `<hash>` is `pbkdf2_sha256$<iterations>$<salt>$<hex>` from `python dashboard/auth.py
  hash`, a bcrypt `$2b$...` hash, `sha256$<hex>` or a bare SHA-256 hex), and the users file
  `<home>/auth/users.json` that admins keep on the *Users* page or with `itw-radar user`
  (`itw_radar.users`). A name in the environment wins over the same name in the file.
- Demo mode only (`ITW_RADAR_DEMO=1`): the user `analyst` with password `radar-demo`. There is
  never a default user outside demo mode.

A local login is kept in a signed cookie (streamlit-authenticator's cookie: a JWT signed with
HS256, read from the request with `st.context.cookies`, written and deleted by its cookie
component), so it survives a page reload, for ITW_RADAR_SESSION_HOURS (default 12) hours. The
signing key is ITW_RADAR_COOKIE_KEY (or `cookie_key` in `[itw_radar]` of secrets.toml), else
`<home>/auth/cookie_key` (made once, owner-only).
A disabled or removed user, and a login made before the user's password was reset, no longer
count, cookie or not. Log out deletes the cookie.

Roles: a local user's entry may end in `:<role>[+<role>...]` (`alice:<hash>:lead`), a file user
has the roles the admins gave, and `ITW_RADAR_ROLES="bob@corp.example=admin,carol=lead+admin"`
gives roles to any user (single sign-on users too) and wins over both. PERMISSIONS says which
roles may do what (`can(user, "watchlists.edit")`); a user without a role is a viewer: masked
data only, no decisions. The demo user is an analyst and a lead unless ITW_RADAR_ROLES says
otherwise.

Wrong passwords are refused; after MAX_FAILURES failures for a user name or a browser session,
further attempts are refused for a lockout that doubles with each failure (30 s up to 15 min).
"""

from __future__ import annotations

import getpass
import importlib.util
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import streamlit as st

from itw_radar import users as store
from itw_radar.paths import HOME_ENV, Home

log = logging.getLogger(__name__)

USERS_ENV = "ITW_RADAR_USERS"
ROLES_ENV = "ITW_RADAR_ROLES"
SESSION_HOURS_ENV = "ITW_RADAR_SESSION_HOURS"
COOKIE_KEY_ENV = store.COOKIE_KEY_ENV
COOKIE_NAME = "itw_radar_session"
DEFAULT_SESSION_HOURS = 12.0
ROLES = store.ROLES
# permission -> roles that hold it; anything not listed is open to every logged-in user. A viewer
# (or a user without a role) reads masked data only; an analyst reveals personal data (logged)
# and records decisions; a lead is an analyst who also keeps the watchlists; an admin may do all.
PERMISSIONS: dict[str, frozenset[str]] = {
    "personal_data.reveal": frozenset({"analyst", "lead", "admin"}),
    "reviews.decide": frozenset({"analyst", "lead", "admin"}),
    "cases.edit": frozenset({"analyst", "lead", "admin"}),
    "watchlists.edit": frozenset({"lead", "admin"}),
    "rules.backtest": frozenset({"admin"}),
    "rules.apply": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "alerts.send": frozenset({"admin"}),
}
DEMO_ENV = "ITW_RADAR_DEMO"
DEMO_USER = "analyst"
DEMO_PASSWORD = "radar-demo"
DEMO_ROLES = frozenset({"analyst", "lead"})
PBKDF2_ITERATIONS = store.PBKDF2_ITERATIONS
MAX_FAILURES = 5
LOCKOUT_BASE_SECONDS = 30.0
LOCKOUT_MAX_SECONDS = 900.0
_USER_KEY = "_itw_user"
_SINCE_KEY = "_itw_login_at"
_EXPIRES_KEY = "_itw_expires_at"
_COOKIE_ACTION_KEY = "_itw_cookie_action"
_COOKIE_RUNS = 20
_PROBLEM_KEY = "_itw_auth_problem"
_SSO_PROBLEM_KEY = "_itw_sso_problem"
_SESSION_KEY = "_itw_session_id"

hash_password = store.hash_password
verify_password = store.verify_password


@cache
def _demo_hash() -> str:
    return hash_password(DEMO_PASSWORD, iterations=50_000, salt="itw-radar-demo")


def demo_mode(env: Mapping[str, str] | None = None) -> bool:
    value = (env if env is not None else os.environ).get(DEMO_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Account:
    """A local user: from the environment, the users file or the demo."""

    name: str
    password_hash: str
    roles: frozenset[str]
    source: str  # "environment", "users file" or "demo"
    disabled: bool = False
    sessions_after: float = 0.0

    @property
    def may_log_in_here(self) -> bool:
        """A password login: not a single sign-on user kept for roles (no hash), not disabled."""
        return bool(self.password_hash) and not self.disabled


def _home(env: Mapping[str, str] | None) -> Home | None:
    """The home whose users file counts: ITW_RADAR_HOME (or ./var) for the process
    environment; for an explicit `env`, only its own ITW_RADAR_HOME."""
    if env is None:
        return Home.resolve()
    raw = env.get(HOME_ENV)
    return Home.resolve(raw) if raw else None


def users_file_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why the users file cannot be read, or None."""
    home = _home(env)
    if home is None:
        return None
    try:
        store.load(home)
    except store.UserError as exc:
        return str(exc)
    return None


def local_accounts(env: Mapping[str, str] | None = None) -> dict[str, Account]:
    """Every local user: ITW_RADAR_USERS, then the users file (names not in the environment),
    then the demo user in demo mode. Disabled file users are included, marked."""
    environ = env if env is not None else os.environ
    accounts: dict[str, Account] = {}
    for entry in _entries(environ.get(USERS_ENV, "")):
        parts = entry.split(":")
        name, stored = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
        if name and stored:
            roles = _role_set(parts[2]) if len(parts) >= 3 else frozenset()
            accounts[name] = Account(name, stored, roles, "environment")
    home = _home(env)
    if home is not None:
        try:
            kept = store.load(home)
        except store.UserError as exc:  # shown on the login and Users pages
            log.error("%s", exc)
            kept = {}
        for name, user in kept.items():
            if name not in accounts:
                accounts[name] = Account(name, user.password_hash, frozenset(user.roles),
                                         "single sign-on" if user.sso else "users file",
                                         user.disabled, user.sessions_after)
    if demo_mode(environ) and DEMO_USER not in accounts:
        accounts[DEMO_USER] = Account(DEMO_USER, _demo_hash(), DEMO_ROLES, "demo")
    return accounts


def load_users(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """user name -> stored hash of every local user who may log in (not disabled)."""
    return {a.name: a.password_hash for a in local_accounts(env).values() if a.may_log_in_here}


def _entries(text: str) -> list[str]:
    return [e.strip() for e in text.replace(";", ",").replace("\n", ",").split(",") if e.strip()]


def _role_set(text: str) -> frozenset[str]:
    return frozenset(r.strip().lower() for r in text.split("+") if r.strip())


def role_overrides(env: Mapping[str, str] | None = None) -> dict[str, frozenset[str]]:
    """user name -> roles from ITW_RADAR_ROLES (`name=role+role`)."""
    env = env if env is not None else os.environ
    roles: dict[str, frozenset[str]] = {}
    for entry in _entries(env.get(ROLES_ENV, "")):
        name, sep, given = entry.partition("=")
        if sep and name.strip():
            roles[name.strip()] = _role_set(given)
    return roles


def load_roles(env: Mapping[str, str] | None = None) -> dict[str, frozenset[str]]:
    """user name -> roles: the local user's own (`name:hash:role+role` entries of
    ITW_RADAR_USERS, the users file, the demo user's analyst and lead), then ITW_RADAR_ROLES,
    which wins."""
    roles = {name: acc.roles for name, acc in local_accounts(env).items()}
    roles.update(role_overrides(env))
    return roles


def user_roles(user: str | None, env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The roles of `user` (empty: reads only)."""
    if not user:
        return frozenset()
    roles = load_roles(env)
    # a single sign-on e-mail is kept in lower case; the identity provider may report capitals
    return roles.get(user, roles.get(user.lower(), frozenset()))


def can(user: str | None, permission: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether `user` holds a role PERMISSIONS lists for `permission` (unlisted: any user)."""
    if not user:
        return False
    needed = PERMISSIONS.get(permission)
    return needed is None or bool(needed & user_roles(user, env))


def require(permission: str, what: str) -> str:
    """The logged-in user, or stop the page with why (for a page behind one permission, which
    the navigation also leaves out; someone may still open it by its address)."""
    user = current_user() or ""
    if not can(user, permission):
        st.info(f"{what} is for admins (your roles: "
                f"{', '.join(sorted(user_roles(user))) or 'none'}).")
        st.stop()
    return user


def session_hours(env: Mapping[str, str] | None = None) -> float:
    """How long a local login lasts: ITW_RADAR_SESSION_HOURS (a positive number of hours, at
    most a year; fractions allowed), default 12."""
    raw = (env if env is not None else os.environ).get(SESSION_HOURS_ENV, "").strip()
    if not raw:
        return DEFAULT_SESSION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24 * 366:
        raise store.UserError(f"{SESSION_HOURS_ENV}={raw!r} is not a number of hours between 0 "
                              "and 8784 (a year): fix it and restart the dashboard.")
    return hours


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
    ok = verify_password(password, stored if stored else _demo_hash()) and bool(stored)
    if ok:
        LIMITER.succeeded(*keys)
        return LoginResult(True, "")
    LIMITER.failed(*keys)
    return LoginResult(False, "Wrong user name or password.")


# --- Streamlit glue -------------------------------------------------------------------------

def _oidc_user() -> str | None:
    if oidc_configured():
        try:
            if st.user.is_logged_in:
                return str(st.user.get("email") or st.user.get("name") or st.user.get("sub"))
        except Exception:
            pass
    return None


def current_user() -> str | None:
    """The logged-in user's name (OIDC e-mail or local user name), or None. `gate()` has checked
    the local user at the start of this script run."""
    user = _oidc_user()
    if user:
        return user
    name = st.session_state.get(_USER_KEY)
    if name and time.time() < float(st.session_state.get(_EXPIRES_KEY, 0.0)):
        return str(name)
    return None


def _authenticator(accounts: Mapping[str, Account], hours: float, key: str) -> object:
    """streamlit-authenticator's Authenticate over the local users (the bridge: its credentials
    hold our users, keyed by lower-case name as it wants, with their hashes; our login form
    checks the password, the library keeps the signed cookie). Renders its cookie component, so
    it is made at most once per script run."""
    from streamlit_authenticator import Authenticate

    lower: dict[str, list[Account]] = {}
    for acc in accounts.values():
        if acc.may_log_in_here:
            lower.setdefault(acc.name.lower(), []).append(acc)
    credentials = {"usernames": {
        low: {"name": accs[0].name, "password": accs[0].password_hash,
              "roles": sorted(accs[0].roles), "email": None}
        # two users whose names differ only in case keep no cookie: it could not tell them apart
        for low, accs in lower.items() if len(accs) == 1}}
    return Authenticate(credentials, cookie_name=COOKIE_NAME, cookie_key=key,
                        cookie_expiry_days=hours / 24, auto_hash=False)


def _session_valid(name: str, accounts: Mapping[str, Account]) -> bool:
    acc = accounts.get(name)
    return (acc is not None and acc.may_log_in_here
            and time.time() < float(st.session_state.get(_EXPIRES_KEY, 0.0))
            and float(st.session_state.get(_SINCE_KEY, 0.0)) >= acc.sessions_after)


def _start_session(acc: Account, hours: float, since: float, expires: float) -> None:
    st.session_state[_USER_KEY] = acc.name
    st.session_state[_SINCE_KEY] = since
    st.session_state[_EXPIRES_KEY] = expires
    # streamlit-authenticator's documented session keys: its cookie is made from `username`,
    # and `logout` stops it from reading the cookie again in this browser session
    st.session_state.update({"username": acc.name.lower(), "name": acc.name,
                             "authentication_status": True, "roles": sorted(acc.roles),
                             "logout": False})


def _end_session() -> None:
    for key in (_USER_KEY, _SINCE_KEY, _EXPIRES_KEY):
        st.session_state.pop(key, None)
    st.session_state.update({"username": None, "name": None, "authentication_status": None,
                             "roles": None, "logout": True})


def _cookie_key_env() -> dict[str, str]:
    """The environment, with `[itw_radar] cookie_key` of secrets.toml as ITW_RADAR_COOKIE_KEY
    when the environment has none."""
    env = dict(os.environ)
    if not env.get(COOKIE_KEY_ENV, "").strip():
        try:
            section = st.secrets.get("itw_radar")
            given = str(section.get("cookie_key", "")) if section else ""
        except Exception:  # no secrets file at all, or an unreadable one
            given = ""
        if given.strip():
            env[COOKIE_KEY_ENV] = given
    return env


def _cookie_pending(action: str, runs: int) -> None:
    """Draw the library's `set` or `delete` cookie component again on the next run until the
    browser has done it (the component's value, kept under its key, turns True): its other
    component (`init`) reruns the script when it loads, which could remove a component drawn
    once before its frame had loaded. At most _COOKIE_RUNS runs (no browser: AppTest)."""
    if st.session_state.get(action) is not True and runs < _COOKIE_RUNS:
        st.session_state[_COOKIE_ACTION_KEY] = (action, runs + 1)


def gate() -> str | None:
    """Who is logged in; call once per script run, before st.navigation (app.py).

    OIDC first; then this browser session's local login, checked on every run (expired,
    disabled, removed, or made before a password reset: it ends); then the signed cookie a
    reload brings. Writes the cookie on the runs after a password login and deletes it on the
    runs after a logout or an ended login, until the browser confirms (`_cookie_pending`)."""
    user = _oidc_user()
    st.session_state.pop(_SSO_PROBLEM_KEY, None)
    if user:
        kept = local_accounts()
        acc = kept.get(user) or kept.get(user.lower())
        if acc is None or not acc.disabled:
            return user
        # an admin disabled this single sign-on user: the login page says so
        st.session_state[_SSO_PROBLEM_KEY] = (f"{user} is disabled on this dashboard: ask an "
                                              "admin to enable it.")
    st.session_state.pop(_PROBLEM_KEY, None)
    try:
        hours = session_hours()
        key = store.cookie_key(Home.resolve(), _cookie_key_env())
    except store.UserError as exc:
        st.session_state[_PROBLEM_KEY] = str(exc)
        _end_session()
        return None
    accounts = local_accounts()
    pending = st.session_state.pop(_COOKIE_ACTION_KEY, None)
    action, runs = pending if isinstance(pending, tuple) else (pending, 0)
    name = st.session_state.get(_USER_KEY)
    if name:
        if _session_valid(str(name), accounts):
            if action == "set":
                _authenticator(accounts, hours, key).cookie_controller.set_cookie()
                _cookie_pending("set", runs)
            return str(name)
        _end_session()
        action, runs = "delete", 0
    authenticator = _authenticator(accounts, hours, key)
    if action == "delete":
        authenticator.cookie_controller.delete_cookie()
        _cookie_pending("delete", runs)
        return None
    token = authenticator.cookie_controller.get_cookie()  # verifies signature and expiry
    if not token:
        return None
    from streamlit_authenticator.utilities import LoginError

    try:
        authenticator.authentication_controller.login(token=token)
    except LoginError:  # the cookie names a user who is gone or disabled
        token = None
    acc = accounts.get(str(st.session_state.get("name") or "")) if token else None
    expires = float(token["exp_date"]) if token else 0.0
    since = expires - hours * 3600
    if acc is None or acc.disabled or since < acc.sessions_after:
        _end_session()
        authenticator.cookie_controller.delete_cookie()
        return None
    _start_session(acc, hours, since, expires)
    return acc.name


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
    if problem := st.session_state.get(_SSO_PROBLEM_KEY):
        st.error(problem)
    if problem := users_file_problem():
        st.error(f"The users file cannot be used: {problem}")
    if problem := st.session_state.get(_PROBLEM_KEY):
        st.error(f"Local logins are off: {problem}")
        return
    if not users:
        if not oidc:
            st.error(f"No users are configured: set {USERS_ENV}=name:hash (make a hash with "
                     "`python dashboard/auth.py hash`), add users with `itw-radar user add`, "
                     "configure [auth] in secrets.toml for single sign-on, or start the demo "
                     "with `itw-radar serve --demo`.")
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
            acc = local_accounts()[username.strip()]
            now = time.time()
            _start_session(acc, session_hours(), now, now + session_hours() * 3600)
            st.session_state[_COOKIE_ACTION_KEY] = ("set", 0)
            st.session_state.pop("login_password", None)
            st.rerun()
        else:
            st.error(result.message)


def logout_button() -> None:
    user = current_user()
    if not user:
        return
    until = ""
    if st.session_state.get(_USER_KEY) == user and _EXPIRES_KEY in st.session_state:
        until = time.strftime(" until %H:%M", time.localtime(st.session_state[_EXPIRES_KEY]))
    st.sidebar.caption(f"Logged in as **{_md_plain(user)}**{until}")
    if st.sidebar.button("Log out", key="log_out"):
        local = st.session_state.get(_USER_KEY) is not None
        _end_session()
        if local:
            st.session_state[_COOKIE_ACTION_KEY] = ("delete", 0)
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
