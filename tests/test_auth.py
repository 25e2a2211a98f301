"""Local users: the users file (itw_radar.users), the merge with ITW_RADAR_USERS, the cookie key,
session expiry, and the admin-only Users page, through streamlit.testing.v1.AppTest on the real
app. The cookie surviving a browser reload is tested in a real browser
(tests/test_dashboard_roles_browser.py)."""

from __future__ import annotations

import json
import multiprocessing
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from itw_radar import users as store
from itw_radar.paths import Home

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard_fixture import build_serving_db  # noqa: E402

from dashboard import auth  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
USERS_PAGE = "app_pages/users.py"
PW = "correct horse 1"
FAST = 1000  # PBKDF2 iterations for environment users made in tests


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    h = Home.resolve(tmp_path).ensure()
    monkeypatch.setenv("ITW_RADAR_HOME", str(h.root))
    for name in ("ITW_RADAR_DEMO", "ITW_RADAR_USERS", "ITW_RADAR_ROLES",
                 "ITW_RADAR_SESSION_HOURS", "ITW_RADAR_COOKIE_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield h


@pytest.fixture(scope="module")
def serving_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth-serving") / "radar.duckdb"
    build_serving_db(path, accounts=40, nights=2, seed=5)
    return path


@pytest.fixture
def served(home: Home, serving_db: Path) -> Home:
    home.serving.parent.mkdir(parents=True, exist_ok=True)
    home.serving.symlink_to(serving_db)
    return home


def login(user: str, password: str = PW) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:login-Log in").click().run()
    return at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def frame(at: AppTest, first_column: str):
    """The first table whose first column is `first_column` (AppTest shows no table keys)."""
    for d in at.dataframe:
        if list(d.value.columns[:1]) == [first_column]:
            return d.value
    raise AssertionError(f"no table starting with {first_column}")


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# --- the users file -----------------------------------------------------------------------------

def test_add_user_keeps_a_hash_only_and_logs_who_and_when(home: Home) -> None:
    store.add_user(home, "alice", PW, ["analyst"], by="root")
    path = store.users_file(home)
    text = path.read_text()
    assert PW not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    user = store.load(home)["alice"]
    assert user.roles == ("analyst",) and not user.disabled
    assert user.password_hash.startswith("pbkdf2_sha256$")
    assert store.verify_password(PW, user.password_hash)
    assert (user.created_by, user.updated_by) == ("root", "root")
    [event] = store.events(home)
    assert (event["by"], event["action"], event["user"]) == ("root", "added", "alice")
    assert event["at"].startswith(time.strftime("%Y-", time.gmtime()))
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".users.")] == []


@pytest.mark.parametrize("name, password, roles, message", [
    ("Alice", PW, [], "lower-case"),
    ("bad name", PW, [], "lower-case"),
    ("", PW, [], "lower-case"),
    ("bob", "short", [], "at least 10"),
    ("bob", PW, ["root"], "Unknown role root"),
])
def test_add_user_refuses_bad_input(home: Home, name: str, password: str, roles: list[str],
                                    message: str) -> None:
    with pytest.raises(store.UserError, match=message):
        store.add_user(home, name, password, roles, by="root")
    assert store.load(home) == {}


def test_changes_are_logged_and_refused_when_pointless(home: Home) -> None:
    store.add_user(home, "bob", PW, ["viewer"], by="root")
    with pytest.raises(store.UserError, match="exists already"):
        store.add_user(home, "bob", PW, [], by="root")
    with pytest.raises(store.UserError, match="configured in the environment"):
        store.add_user(home, "eve", PW, [], by="root", reserved=["eve"])
    with pytest.raises(store.UserError, match="who makes the change"):
        store.set_roles(home, "bob", ["lead"], by=" ")
    store.set_roles(home, "bob", ["lead", "viewer"], by="ada")
    assert store.load(home)["bob"].roles == ("lead",)  # viewer is the absence of a role
    store.set_disabled(home, "bob", True, by="ada")
    with pytest.raises(store.UserError, match="disabled already"):
        store.set_disabled(home, "bob", True, by="ada")
    before = time.time()
    store.reset_password(home, "bob", "another horse 2", by="ada")
    bob = store.load(home)["bob"]
    assert bob.disabled and bob.sessions_after >= before
    assert store.verify_password("another horse 2", bob.password_hash)
    assert not store.verify_password(PW, bob.password_hash)
    with pytest.raises(store.UserError, match="no local user"):
        store.set_disabled(home, "nobody", True, by="ada")
    trail = [(e["by"], e["action"], e["user"], e["detail"]) for e in store.events(home)]
    assert trail == [("root", "added", "bob", "roles: viewer"),
                     ("ada", "roles", "bob", "viewer -> lead"),
                     ("ada", "disabled", "bob", ""),
                     ("ada", "password reset", "bob", "")]
    assert "another horse" not in store.users_file(home).read_text()


def _add_many(root: str, prefix: str) -> None:
    h = Home.resolve(root)
    for i in range(8):
        store.add_user(h, f"{prefix}{i}", PW, [], by=prefix)


def test_concurrent_writers_lose_no_change(home: Home) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(home.root), p)) for p in ("a", "b", "c")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert len(store.load(home)) == 24
    assert len(store.events(home)) == 24


def test_a_corrupt_users_file_is_named_not_ignored(home: Home) -> None:
    path = store.users_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(store.UserError, match="cannot be read"):
        store.load(home)
    assert "cannot be read" in (auth.users_file_problem() or "")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("users file cannot be used" in e.value for e in at.error)


def test_password_formats_include_bcrypt() -> None:
    import bcrypt

    hashed = bcrypt.hashpw(b"s3cret pass", bcrypt.gensalt(rounds=4)).decode()
    assert store.verify_password("s3cret pass", hashed)
    assert not store.verify_password("wrong", hashed)
    assert not store.verify_password("x" * 100, hashed)  # over bcrypt's 72 bytes: no crash


# --- the cookie key and the session length ------------------------------------------------------

def test_cookie_key_is_generated_once_and_kept(home: Home) -> None:
    key = store.cookie_key(home, env={})
    path = home.root / "auth" / "cookie_key"
    assert len(key) == 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.cookie_key(home, env={}) == key
    given = "k" * 40
    assert store.cookie_key(home, env={"ITW_RADAR_COOKIE_KEY": given}) == given
    with pytest.raises(store.UserError, match="shorter than 32"):
        store.cookie_key(home, env={"ITW_RADAR_COOKIE_KEY": "short"})


def test_session_hours() -> None:
    assert auth.session_hours({}) == auth.DEFAULT_SESSION_HOURS == 12.0
    assert auth.session_hours({"ITW_RADAR_SESSION_HOURS": "0.5"}) == 0.5
    for bad in ("0", "-1", "soon", "100000"):
        with pytest.raises(store.UserError, match="ITW_RADAR_SESSION_HOURS"):
            auth.session_hours({"ITW_RADAR_SESSION_HOURS": bad})


def test_a_short_cookie_key_turns_local_logins_off(home: Home,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITW_RADAR_DEMO", "1")
    monkeypatch.setenv("ITW_RADAR_COOKIE_KEY", "too-short")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("Local logins are off" in e.value and "ITW_RADAR_COOKIE_KEY" in e.value
               for e in at.error)
    assert not at.text_input


def test_cookie_key_from_secrets(served: Home) -> None:
    store.add_user(served, "fay", PW, [], by="root")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["itw_radar"] = {"cookie_key": "s" * 40}
    at.run()
    at.text_input(key="login_user").input("fay")
    at.text_input(key="login_password").input(PW)
    at.button(key="FormSubmitter:login-Log in").click().run()
    no_errors(at)
    assert titles(at) == ["Overview"]
    assert not (served.root / "auth" / "cookie_key").exists()  # no key was generated


# --- environment and file users together --------------------------------------------------------

def test_environment_and_file_users_merge(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_user(home, "fay", PW, ["lead"], by="root")
    store.add_user(home, "eve", PW, ["admin"], by="root")  # shadowed by the environment's eve
    store.add_user(home, "gus", PW, ["analyst"], by="root")
    store.set_disabled(home, "gus", True, by="root")
    env = {"ITW_RADAR_HOME": str(home.root),
           "ITW_RADAR_USERS": f"eve:{auth.hash_password('eve password 1', FAST)}",
           "ITW_RADAR_ROLES": "fay=admin,sso@corp.example=analyst"}
    accounts = auth.local_accounts(env)
    assert {n: a.source for n, a in accounts.items()} == {
        "eve": "environment", "fay": "users file", "gus": "users file"}
    assert set(auth.load_users(env)) == {"eve", "fay"}  # gus is disabled
    assert auth.user_roles("eve", env) == frozenset()
    assert auth.user_roles("fay", env) == {"admin"}  # ITW_RADAR_ROLES wins
    assert auth.can("fay", "users.manage", env)
    assert not auth.can("eve", "users.manage", env)
    assert auth.user_roles("sso@corp.example", env) == {"analyst"}
    # an explicit env without a home reads no users file
    assert set(auth.local_accounts({"ITW_RADAR_USERS": env["ITW_RADAR_USERS"]})) == {"eve"}


def test_file_user_logs_in_and_disabling_ends_the_login(served: Home) -> None:
    store.add_user(served, "fay", PW, ["analyst"], by="root")
    store.add_user(served, "gil", PW, [], by="root")  # keeps the login form there
    at = login("fay")
    no_errors(at)
    assert titles(at) == ["Overview"]
    assert at.session_state["_itw_user"] == "fay"
    store.set_disabled(served, "fay", True, by="root")
    at.run()
    assert titles(at) == ["ITW Radar"]  # the login form again
    at = login("fay")
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    store.set_disabled(served, "fay", False, by="root")
    assert titles(login("fay")) == ["Overview"]


def test_a_password_reset_ends_logins_made_before(served: Home) -> None:
    store.add_user(served, "fay", PW, [], by="root")
    at = login("fay")
    assert titles(at) == ["Overview"]
    store.reset_password(served, "fay", "new password 22", by="root")
    at.run()
    assert titles(at) == ["ITW Radar"]
    assert titles(login("fay", "new password 22")) == ["Overview"]


def test_a_session_expires(served: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITW_RADAR_SESSION_HOURS", str(1.5 / 3600))  # 1.5 s
    store.add_user(served, "fay", PW, [], by="root")
    at = login("fay")
    assert titles(at) == ["Overview"]
    assert at.session_state["_itw_expires_at"] - at.session_state["_itw_login_at"] == \
        pytest.approx(1.5)
    time.sleep(1.6)
    at.run()
    assert titles(at) == ["ITW Radar"]


def test_log_out_returns_to_the_login(served: Home) -> None:
    store.add_user(served, "fay", PW, [], by="root")
    at = login("fay")
    at.sidebar.button(key="log_out").click().run()
    assert titles(at) == ["ITW Radar"]
    assert "_itw_user" not in at.session_state
    at.run()  # the run that deletes the cookie stays on the login page
    assert titles(at) == ["ITW Radar"]


# --- the Users page -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "analyst", "lead"])
def test_users_page_is_not_there_for_non_admins(served: Home, role: str) -> None:
    store.add_user(served, "nina", PW, [role], by="root")
    at = login("nina")
    no_errors(at)
    with pytest.raises(ValueError):  # not registered with st.navigation for this user
        at.switch_page(USERS_PAGE)


def test_users_page_refuses_a_non_admin_even_when_run_directly(
        served: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_user(served, "nina", PW, ["lead"], by="root")
    page = str(Path(APP).parent / USERS_PAGE)
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state["_itw_user"] = "nina"
    at.session_state["_itw_expires_at"] = time.time() + 60
    at.run()
    assert not at.exception
    assert any("for admins" in i.value for i in at.info)
    assert not at.text_input and not at.button


def test_admin_manages_users_on_the_page(served: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITW_RADAR_USERS", f"envy:{auth.hash_password('env password 1', FAST)}")
    store.add_user(served, "ada", PW, ["admin"], by="setup")
    at = login("ada")
    no_errors(at)
    at.switch_page(USERS_PAGE).run()
    no_errors(at)
    assert titles(at) == ["Users"]
    table = frame(at, "user").set_index("user")
    assert table.loc["envy", "source"] == "ITW_RADAR_USERS"
    assert table.loc["ada", "roles"] == "admin"

    # add a user: hashed, logged with the admin's name
    at.text_input(key="us_name").input("newbie")
    at.text_input(key="us_password").input("newbie password")
    at.text_input(key="us_repeat").input("newbie password")
    at.multiselect(key="us_roles").set_value(["analyst"])
    at.button(key="FormSubmitter:us_add-Add user").click().run()
    no_errors(at)
    assert "Added newbie" in at.success[0].value
    newbie = store.load(served)["newbie"]
    assert newbie.roles == ("analyst",) and newbie.created_by == "ada"
    assert "newbie password" not in store.users_file(served).read_text()

    # the environment's user cannot be added or picked
    at.text_input(key="us_name").input("envy")
    at.text_input(key="us_password").input("whatever pass")
    at.text_input(key="us_repeat").input("whatever pass")
    at.button(key="FormSubmitter:us_add-Add user").click().run()
    assert any("configured in the environment" in e.value for e in at.error)
    assert "envy" not in at.selectbox(key="us_pick").options

    # set roles, disable, enable, reset the password of newbie
    at.selectbox(key="us_pick").set_value("newbie").run()
    at.multiselect(key="us_roles_newbie").set_value(["lead", "admin"])
    at.button(key="FormSubmitter:us_roles_form-Save roles").click().run()
    no_errors(at)
    assert store.load(served)["newbie"].roles == ("lead", "admin")
    at.button(key="us_disable").click().run()
    no_errors(at)
    assert store.load(served)["newbie"].disabled
    at.button(key="us_enable").click().run()
    assert not store.load(served)["newbie"].disabled
    at.text_input(key="us_new_password").input("fresh password 3")
    at.text_input(key="us_new_repeat").input("fresh password 3")
    at.button(key="FormSubmitter:us_reset-Reset password").click().run()
    no_errors(at)
    assert store.verify_password("fresh password 3", store.load(served)["newbie"].password_hash)

    # an admin cannot lock themself out
    at.selectbox(key="us_pick").set_value("ada").run()
    assert at.button(key="us_disable").disabled
    at.multiselect(key="us_roles_ada").set_value(["analyst"])
    at.button(key="FormSubmitter:us_roles_form-Save roles").click().run()
    assert any("admin role from yourself" in e.value for e in at.error)
    assert store.load(served)["ada"].roles == ("admin",)

    trail = frame(at, "at")
    assert trail["action"].tolist() == ["password reset", "enabled", "disabled", "roles",
                                        "added", "added"]
    assert set(trail["by"]) == {"ada", "setup"}
    content = json.loads(store.users_file(served).read_text())
    logged = json.dumps(content["events"])
    assert "pbkdf2" not in logged and "fresh password" not in logged
    # the new user logs in with the reset password, with the roles given
    at2 = login("newbie", "fresh password 3")
    no_errors(at2)
    assert titles(at2) == ["Overview"]
    assert auth.user_roles("newbie") == {"lead", "admin"}


# --- the command line ---------------------------------------------------------------------------

def test_user_command_line(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from itw_radar.cli import app

    monkeypatch.setenv("ITW_RADAR_USERS", f"envy:{auth.hash_password('x' * 12, FAST)}")
    run = CliRunner().invoke
    where = ["--home", str(home.root), "--by", "root"]
    res = run(app, ["user", "add", "carl", "--role", "analyst", "--role", "lead", *where],
              input=f"{PW}\n{PW}\n")
    assert res.exit_code == 0, res.output
    assert store.load(home)["carl"].roles == ("analyst", "lead")
    res = run(app, ["user", "add", "envy", *where], input=f"{PW}\n{PW}\n")
    assert res.exit_code != 0 and "configured in the environment" in res.output
    assert run(app, ["user", "disable", "carl", *where]).exit_code == 0
    assert store.load(home)["carl"].disabled
    assert run(app, ["user", "enable", "carl", *where]).exit_code == 0
    res = run(app, ["user", "passwd", "carl", *where], input="new password 99\nnew password 99\n")
    assert res.exit_code == 0, res.output
    assert store.verify_password("new password 99", store.load(home)["carl"].password_hash)
    assert run(app, ["user", "roles", "carl", *where]).exit_code == 0
    assert store.load(home)["carl"].roles == ()
    listing = run(app, ["user", "list", "--home", str(home.root)]).output
    assert listing.split()[:3] == ["carl", "viewer", "active"] and "pbkdf2" not in listing
    assert {e["by"] for e in store.events(home)} == {"root"}


def test_single_sign_on_users_get_roles_but_no_local_login(home: Home) -> None:
    """An admin gives a single sign-on e-mail roles: they count for that e-mail (any case the
    identity provider reports), there is no password to log in with locally (not even the demo
    one), no password to reset, and disabling drops the user."""
    store.add_sso_user(home, "Ana@Example.org", ["analyst"], by="ada")
    ana = store.load(home)["ana@example.org"]
    assert ana.sso and ana.password_hash == "" and ana.roles == ("analyst",)
    assert auth.user_roles("ana@example.org") == {"analyst"}
    assert auth.user_roles("Ana@Example.org") == {"analyst"}
    assert auth.can("Ana@Example.org", "reviews.decide")
    assert "ana@example.org" not in auth.load_users()
    for password in ("", auth.DEMO_PASSWORD, PW):
        assert not auth.check_login("ana@example.org", password, users={
            "ana@example.org": ""}).ok
    with pytest.raises(store.UserError, match="single sign-on"):
        store.reset_password(home, "ana@example.org", "new password 1", by="ada")
    with pytest.raises(store.UserError, match="e-mail"):
        store.add_sso_user(home, "not-an-email", [], by="ada")
    with pytest.raises(store.UserError, match="exists already"):
        store.add_sso_user(home, "ana@example.org", [], by="ada")
    store.set_roles(home, "ana@example.org", ["lead"], by="ada")
    store.set_disabled(home, "ana@example.org", True, by="ada")
    assert auth.local_accounts()["ana@example.org"].disabled
    actions = [(e["action"], e["user"]) for e in store.events(home)]
    assert actions == [("added (single sign-on)", "ana@example.org"),
                       ("roles", "ana@example.org"), ("disabled", "ana@example.org")]


def test_admin_gives_a_single_sign_on_user_roles_on_the_page(served: Home) -> None:
    store.add_user(served, "ada", PW, ["admin"], by="setup")
    at = login("ada")
    at.switch_page(USERS_PAGE).run()
    no_errors(at)
    at.text_input(key="us_sso_email").input("bo@example.org")
    at.multiselect(key="us_sso_roles").set_value(["analyst", "lead"])
    at.button(key="FormSubmitter:us_sso-Add single sign-on user").click().run()
    no_errors(at)
    assert "Added bo@example\\.org (single sign-on)" in at.success[0].value  # markdown-escaped
    bo = store.load(served)["bo@example.org"]
    assert bo.sso and bo.roles == ("analyst", "lead") and bo.created_by == "ada"
    table = frame(at, "user").set_index("user")
    assert table.loc["bo@example.org", "source"] == "single sign-on"
    at.selectbox(key="us_pick").set_value("bo@example.org").run()
    no_errors(at)
    assert "FormSubmitter:us_reset-Reset password" not in {b.key for b in at.button}
    assert any(s.value == "Changes" for s in at.subheader)  # the rest of the page is drawn
