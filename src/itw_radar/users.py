"""Local dashboard users kept in `<home>/auth/users.json`, and the dashboard's cookie key.

The file holds hashed passwords only (PBKDF2-SHA256), each user's roles, whether the user is
disabled, and an append-only list of every change (who, when, what; never a password or a
hash). It is rewritten whole under a lock (`users.json.lock`) through a temporary file and
`os.replace`, so a reader never sees half a file and two admins never lose each other's change.
Users configured in the environment (ITW_RADAR_USERS) are not in this file and are not changed
by it; `dashboard/auth.py` merges both.

Used by the dashboard's *Users* page and by `itw-radar user add|list|disable|enable|passwd|roles`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itw_radar.paths import Home

ROLES = ("viewer", "analyst", "lead", "admin")
PBKDF2_ITERATIONS = 240_000
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
COOKIE_KEY_ENV = "ITW_RADAR_COOKIE_KEY"
MIN_COOKIE_KEY = 32


class UserError(ValueError):
    """A change that cannot be made; the message says why."""


# --- password hashes ----------------------------------------------------------------------------

def hash_password(password: str, iterations: int = PBKDF2_ITERATIONS, salt: str | None = None
                  ) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hex>`."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a stored hash: `pbkdf2_sha256$...`, a bcrypt hash
    (`$2b$...`, as streamlit-authenticator's Hasher makes), `sha256$<hex>` or a bare SHA-256 hex."""
    stored = stored.strip()
    if stored.startswith("pbkdf2_sha256$"):
        try:
            _, iterations, salt, expected = stored.split("$", 3)
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(),
                                         int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(digest.hex(), expected.lower())
    if re.fullmatch(r"\$2[aby]\$\d+\$.{53}", stored):
        import bcrypt

        try:
            return bool(bcrypt.checkpw(password.encode(), stored.encode()))
        except ValueError:  # bcrypt 5 refuses passwords over 72 bytes
            return False
    expected = stored.removeprefix("sha256$").lower()
    if len(expected) != 64:
        return False
    return hmac.compare_digest(hashlib.sha256(password.encode()).hexdigest(), expected)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"A password has at most {MAX_PASSWORD} characters.")


# --- the store ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalUser:
    name: str
    password_hash: str
    roles: tuple[str, ...]
    disabled: bool
    # logins made before this time (epoch seconds) no longer count: set by a password reset
    # and by disabling, so that a kept login cookie stops working too
    sessions_after: float
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    sso: bool = False  # a single sign-on user kept for roles only: no password, no local login


def users_file(home: Home) -> Path:
    return home.root / "auth" / "users.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {"version": 1, "users": {}, "events": []}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} cannot be read ({exc}); restore it from a backup.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("users"), dict):
        raise UserError(f"{path} is not a users file (no 'users' object).")
    raw.setdefault("events", [])
    return raw


def _user(name: str, entry: dict[str, Any]) -> LocalUser:
    return LocalUser(
        name=name, password_hash=str(entry.get("password_hash", "")),
        roles=tuple(r for r in entry.get("roles", []) if r in ROLES),
        disabled=bool(entry.get("disabled", False)),
        sessions_after=float(entry.get("sessions_after", 0.0)),
        created_at=str(entry.get("created_at", "")), created_by=str(entry.get("created_by", "")),
        updated_at=str(entry.get("updated_at", "")), updated_by=str(entry.get("updated_by", "")),
        sso=bool(entry.get("sso", False)))


_CACHE: dict[Path, tuple[tuple[int, int, int], dict[str, LocalUser]]] = {}


def load(home: Home) -> dict[str, LocalUser]:
    """name -> user, from the file (empty when there is none). Cached on the file's identity."""
    path = users_file(home)
    try:
        st_ = path.stat()
    except FileNotFoundError:
        return {}
    key = (st_.st_ino, st_.st_mtime_ns, st_.st_size)
    cached = _CACHE.get(path)
    if cached and cached[0] == key:
        return cached[1]
    users = {name: _user(name, entry) for name, entry in _read(path)["users"].items()}
    _CACHE[path] = (key, users)
    return users


def events(home: Home) -> list[dict[str, str]]:
    """Every change, oldest first: at, by, action, user, detail."""
    return list(_read(users_file(home))["events"])


@contextlib.contextmanager
def _locked(home: Home) -> Iterator[None]:
    path = users_file(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, content: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(content, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _change(home: Home, by: str, action: str, name: str, detail: str,
            apply: Callable[[dict[str, Any], str], str | None]) -> None:
    """Apply one change under the lock and log it; `apply` may return the logged detail."""
    by = (by or "").strip()
    if not by:
        raise UserError("Say who makes the change (it is logged).")
    path = users_file(home)
    with _locked(home):
        content = _read(path)
        now = _now()
        detail = apply(content["users"], now) or detail
        entry = content["users"].get(name)
        if entry is not None:
            entry["updated_at"], entry["updated_by"] = now, by
        content["events"].append({"at": now, "by": by, "action": action, "user": name,
                                  "detail": detail})
        _write(path, content)


def clean_roles(roles: Iterable[str]) -> list[str]:
    given = [str(r).strip().lower() for r in roles if str(r).strip()]
    unknown = sorted(set(given) - set(ROLES))
    if unknown:
        raise UserError(f"Unknown role {', '.join(unknown)}: choose from {', '.join(ROLES)}.")
    # "viewer" is the absence of every other role
    return [r for r in ROLES if r in given and r != "viewer"]


def _existing(users: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in users:
        raise UserError(f"There is no local user {name!r} in the users file.")
    return users[name]


def add_user(home: Home, name: str, password: str, roles: Iterable[str], by: str,
             reserved: Iterable[str] = ()) -> None:
    """A new local user. `reserved`: names taken elsewhere (environment users)."""
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise UserError("A user name is 1-64 characters: lower-case letters, digits and . _ @ + -"
                        ", starting with a letter or digit.")
    if name in set(reserved):
        raise UserError(f"{name!r} is configured in the environment; it cannot be added here.")
    check_password_rules(password)
    role_list = clean_roles(roles)
    hashed = hash_password(password)

    def apply(users: dict[str, Any], now: str) -> None:
        if name in users:
            raise UserError(f"The user {name!r} exists already.")
        users[name] = {"password_hash": hashed, "roles": role_list, "disabled": False,
                       "sessions_after": 0.0, "created_at": now, "created_by": by.strip()}

    _change(home, by, "added", name, f"roles: {'+'.join(role_list) or 'viewer'}", apply)


def add_sso_user(home: Home, email: str, roles: Iterable[str], by: str,
                 reserved: Iterable[str] = ()) -> None:
    """Roles for a single sign-on user (the e-mail `st.login` reports): kept beside the local
    users, disabled and re-enabled like them, with no password (no local login)."""
    email = email.strip().lower()
    if not NAME_RE.fullmatch(email) or "@" not in email:
        raise UserError("A single sign-on user is the e-mail the identity provider reports "
                        "(lower-case, e.g. ana@example.org).")
    if email in set(reserved):
        raise UserError(f"{email!r} is configured in the environment; it cannot be added here.")
    role_list = clean_roles(roles)

    def apply(users: dict[str, Any], now: str) -> None:
        if email in users:
            raise UserError(f"The user {email!r} exists already: change its roles instead.")
        users[email] = {"sso": True, "password_hash": "", "roles": role_list,
                        "disabled": False, "sessions_after": 0.0, "created_at": now,
                        "created_by": by.strip()}

    _change(home, by, "added (single sign-on)", email,
            f"roles: {'+'.join(role_list) or 'viewer'}", apply)


def set_disabled(home: Home, name: str, disabled: bool, by: str) -> None:
    """Disable (every login of the user ends) or enable a local user."""
    def apply(users: dict[str, Any], now: str) -> None:
        entry = _existing(users, name)
        if bool(entry.get("disabled")) == disabled:
            raise UserError(f"{name!r} is {'disabled' if disabled else 'enabled'} already.")
        entry["disabled"] = disabled
        if disabled:
            entry["sessions_after"] = time.time()

    _change(home, by, "disabled" if disabled else "enabled", name, "", apply)


def reset_password(home: Home, name: str, password: str, by: str) -> None:
    """A new password; logins made with the old one end."""
    check_password_rules(password)
    hashed = hash_password(password)

    def apply(users: dict[str, Any], now: str) -> None:
        entry = _existing(users, name)
        if entry.get("sso"):
            raise UserError(f"{name!r} logs in through single sign-on: its password is the "
                            "identity provider's.")
        entry["password_hash"] = hashed
        entry["sessions_after"] = time.time()

    _change(home, by, "password reset", name, "", apply)


def set_roles(home: Home, name: str, roles: Iterable[str], by: str) -> None:
    role_list = clean_roles(roles)

    def apply(users: dict[str, Any], now: str) -> str:
        entry = _existing(users, name)
        before = "+".join(entry.get("roles", [])) or "viewer"
        entry["roles"] = role_list
        return f"{before} -> {'+'.join(role_list) or 'viewer'}"

    _change(home, by, "roles", name, "", apply)


# --- the dashboard's cookie key -------------------------------------------------------------------

def cookie_key(home: Home, env: dict[str, str] | None = None) -> str:
    """The key that signs the dashboard's login cookie: ITW_RADAR_COOKIE_KEY when set (at least
    32 characters), else `<home>/auth/cookie_key`, made once with 64 random hex digits and kept
    (owner-only) so that logins survive a restart. Raises UserError when neither can be had."""
    env = env if env is not None else dict(os.environ)
    given = env.get(COOKIE_KEY_ENV, "").strip()
    if given:
        if len(given) < MIN_COOKIE_KEY:
            raise UserError(f"{COOKIE_KEY_ENV} is shorter than {MIN_COOKIE_KEY} characters: "
                            "use a long random value (`python -c 'import secrets; "
                            "print(secrets.token_hex(32))'`).")
        return given
    path = home.root / "auth" / "cookie_key"
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _read_key(path)
    except OSError as exc:
        raise UserError(f"No {COOKIE_KEY_ENV} and {path} cannot be created ({exc}): set "
                        f"{COOKIE_KEY_ENV} or make {path.parent} writable.") from exc
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return _read_key(path)


def _read_key(path: Path) -> str:
    for _ in range(50):  # a process that just made the file may still be writing it
        key = path.read_text().strip()
        if len(key) >= MIN_COOKIE_KEY:
            return key
        time.sleep(0.02)
    raise UserError(f"{path} holds no usable key: delete it and it is made anew.")
