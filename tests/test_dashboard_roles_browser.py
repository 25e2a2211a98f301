"""Logins and roles in a real browser: `streamlit run dashboard/app.py` driven by Playwright and
Debian's chromium (see tests/test_dashboard_browser.py, whose helpers this module uses).

- A local login survives a page reload (streamlit-authenticator's signed cookie), a forged or
  expired cookie is refused, logging out deletes the cookie, and a session ends after
  ITW_RADAR_SESSION_HOURS.
- Each role (viewer, analyst, lead, admin) on each page: what the role may not use is absent,
  what it may use works; the admin adds and disables a user on the Users page and that user's
  kept login ends.

One server for the module (users in the users file and in ITW_RADAR_USERS), plus a short-lived
one with 10-second sessions for the expiry test.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import jwt
import pytest

from itw_radar import cases, reviews, watchlists
from itw_radar import users as store
from itw_radar.paths import Home
from itw_radar.serve import streamlit_command

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from alert_receiver import Receiver  # noqa: E402
from dashboard_fixture import build_serving_db  # noqa: E402
from test_dashboard_browser import (  # noqa: E402
    REPO,
    TIMEOUT_MS,
    _choose,
    _ensure_chromium,
    _free_port,
    _heading,
    _no_exceptions,
    _open,
    _settled,
    _shot,
    _wait_healthy,
    chromium,
)

from dashboard import auth  # noqa: E402

PW = "role password 1"
# vera, anil, ada: the users file; lena: ITW_RADAR_USERS (both sources log in the same way)
ROLE_USERS = {"viewer": "vera", "analyst": "anil", "lead": "lena", "admin": "ada"}
PAGES = ["Overview", "Flagged accounts", "Account", "Networks", "Reviews", "Cases",
         "Watchlists", "Data quality"]
ADMIN_PAGES = ["Backtest", "Users"]  # in no one else's navigation
SHORT_SESSION_S = 10.0


def _start(home: Home, extra_env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    cmd, env = streamlit_command(home, port, demo=False, address="127.0.0.1")
    for name in (auth.USERS_ENV, auth.ROLES_ENV, auth.SESSION_HOURS_ENV, auth.COOKIE_KEY_ENV):
        env.pop(name, None)
    env.update(extra_env)
    log = home.logs / f"streamlit-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except BaseException:
        proc.kill()
        raise
    return url, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _make_home(root: Path) -> Home:
    home = Home.resolve(root).ensure()
    build_serving_db(home.serving, accounts=120, nights=3, seed=4)
    for role, name in ROLE_USERS.items():
        if role != "lead":
            store.add_user(home, name, PW, [role], by="setup")
    return home


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A real local HTTP endpoint the dashboard's alerts go to (Apprise json://)."""
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
           ) -> Iterator[tuple[str, Home]]:
    _ensure_chromium()
    home = _make_home(tmp_path_factory.mktemp("roles-home"))
    url, proc = _start(home, {auth.USERS_ENV: f"lena:{auth.hash_password(PW, 1000)}:lead",
                              "ITW_RADAR_ALERT_URLS": receiver.url})
    try:
        yield url, home
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser(server: tuple[str, Home]) -> Iterator[object]:
    with chromium() as b:
        yield b


def _new_page(browser: object) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _login_form(page: object) -> object:
    return page.get_by_role("button", name="Log in", exact=True)


def _login(page: object, url: str, user: str, password: str = PW) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    _login_form(page).click()
    _heading(page, "Overview")
    _settled(page)


def _logged_in_as(page: object, user: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(re.compile(f"Logged in as {user}")).wait_for()


def _session_cookie(page: object) -> dict | None:
    found = [c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME]
    return found[0] if found else None


def _wait_cookie(page: object, present: bool) -> dict | None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        cookie = _session_cookie(page)
        if (cookie is not None) is present:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError(f"the login cookie is {'missing' if present else 'still there'}")


def _reload_shows_login(page: object) -> None:
    page.reload()
    _login_form(page).wait_for()
    assert page.get_by_test_id("stSidebarNav").count() == 0


# --- (a) the login cookie ------------------------------------------------------------------------

def test_login_survives_a_reload_and_log_out_deletes_the_cookie(
        server: tuple[str, Home], browser: object) -> None:
    url, home = server
    page = _new_page(browser)
    page.goto(url)
    _login_form(page).wait_for()
    assert _session_cookie(page) is None
    _login(page, url, "anil")
    cookie = _wait_cookie(page, present=True)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    # the cookie is the library's HS256 JWT signed with the generated, kept key
    key = (home.root / "auth" / "cookie_key").read_text().strip()
    claims = jwt.decode(cookie["value"], key, algorithms=["HS256"])
    assert claims["username"] == "anil"
    assert claims["exp_date"] == pytest.approx(time.time() + 12 * 3600, abs=120)
    assert cookie["expires"] == pytest.approx(claims["exp_date"], abs=120)

    page.reload()  # a new Streamlit session: logged in again from the cookie, no form
    _heading(page, "Overview")
    _logged_in_as(page, "anil")
    assert _login_form(page).count() == 0
    _settled(page)  # the cookie's own rerun finished before the sidebar is clicked
    _open(page, "Flagged accounts")
    _no_exceptions(page)

    other = page.context.new_page()  # a second tab of the same browser
    other.goto(url + "/reviews")
    _heading(other, "Reviews")
    other.close()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    _login_form(page).wait_for()
    _wait_cookie(page, present=False)
    _reload_shows_login(page)
    page.context.close()


def test_forged_and_expired_cookies_are_refused(server: tuple[str, Home],
                                                browser: object) -> None:
    url, home = server
    key = (home.root / "auth" / "cookie_key").read_text().strip()
    now = time.time()
    tokens = {
        "expired": jwt.encode({"username": "ada", "exp_date": now - 5}, key, algorithm="HS256"),
        "forged": jwt.encode({"username": "ada", "exp_date": now + 3600}, "x" * 64,
                             algorithm="HS256"),
        "unknown user": jwt.encode({"username": "mallory", "exp_date": now + 3600}, key,
                                   algorithm="HS256"),
        "valid": jwt.encode({"username": "ada", "exp_date": now + 3600}, key,
                            algorithm="HS256"),
    }
    for what, token in tokens.items():
        page = _new_page(browser)
        page.context.add_cookies([{"name": auth.COOKIE_NAME, "value": token, "url": url}])
        page.goto(url)
        if what == "valid":  # the same cookie, rightly signed and in time, logs in
            _heading(page, "Overview")
            _logged_in_as(page, "ada")
        else:
            _login_form(page).wait_for()
            assert page.get_by_test_id("stSidebarNav").count() == 0, what
        page.context.close()


def test_a_session_expires(tmp_path: Path, browser: object) -> None:
    home = _make_home(tmp_path)
    url, proc = _start(home, {auth.SESSION_HOURS_ENV: str(SHORT_SESSION_S / 3600),
                              auth.COOKIE_KEY_ENV: "k" * 48})
    try:
        page = _new_page(browser)
        _login(page, url, "vera")
        started = time.monotonic()
        _wait_cookie(page, present=True)
        page.reload()
        _heading(page, "Overview")
        _logged_in_as(page, "vera")
        assert time.monotonic() - started < SHORT_SESSION_S, "too slow to test the expiry"
        page.wait_for_timeout((SHORT_SESSION_S - (time.monotonic() - started) + 1) * 1000)
        # the open session ends at its next run, and a reload finds no valid cookie
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Reviews").click()
        _login_form(page).wait_for()
        _reload_shows_login(page)
        page.context.close()
    finally:
        _stop(proc)


# --- (b) each role on each page ------------------------------------------------------------------

def _has_button(page: object, name: str, expected: bool) -> bool:
    """Whether the page shows the button; waits for it when it is `expected`, so a page still
    drawing does not pass for a refusal (the refusals are waited for by their text)."""
    button = page.get_by_role("button", name=name, exact=True)
    if expected:
        button.first.wait_for()
    return button.count() > 0


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_on_each_page(server: tuple[str, Home], browser: object, role: str) -> None:
    url, home = server
    user = ROLE_USERS[role]
    page = _new_page(browser)
    _login(page, url, user)
    _logged_in_as(page, user)

    # the navigation: Backtest and Users for admins only; every listed page opens without an
    # error, and each page's actions are there exactly for the roles that may use them
    nav = page.get_by_test_id("stSidebarNav")
    expected = PAGES + (ADMIN_PAGES if role == "admin" else [])
    links = [t.split("\n")[-1] for t in nav.get_by_role("link").all_inner_texts()]
    assert links == expected, role  # (each link's text starts with its icon's name)
    checks = {"Account": _account, "Reviews": _reviews, "Cases": _cases,
              "Watchlists": _watchlists, "Backtest": _backtest, "Users": _users}
    for title in expected:
        _open(page, title)
        _no_exceptions(page)
        if title in checks:
            checks[title](page, role, user, home)
            _no_exceptions(page)

    if role != "admin":
        # typing an admin page's address does not open it (and the cookie logs in again)
        for title, path in (("Users", "/users"), ("Backtest", "/backtest")):
            page.goto(url + path)
            _heading(page, "Overview")
            _settled(page)
            assert page.get_by_role("heading", name=title, exact=True).count() == 0
            assert nav.get_by_role("link", name=title).count() == 0
    else:
        _users_kept_login_ends(page, browser, url, home)
    page.context.close()


def _analyst(role: str) -> bool:
    return role in ("analyst", "lead", "admin")


def _account(page: object, role: str, user: str, home: Home) -> None:
    """Reveal and decide for analysts, leads and admins; viewers see masked data."""
    analyst = _analyst(role)
    page.get_by_role("textbox", name="Account id").fill("A000002")
    page.get_by_role("textbox", name="Account id").press("Enter")
    _heading(page, "Review")
    _settled(page)
    if not analyst:
        page.get_by_text("masked for your role").wait_for()
        page.get_by_text("Your role (viewer) reads decisions").wait_for()
    assert _has_button(page, "Reveal personal data", analyst) is analyst, role
    assert _has_button(page, "Save decision", analyst) is analyst, role
    if analyst:
        page.get_by_role("button", name="Reveal personal data").click()
        page.get_by_text("Personal data revealed").wait_for()
        _settled(page)
        assert reviews.reveals(home, "A000002")["author"].tolist()[0] == user
        page.get_by_test_id("stRadio").get_by_text("watch", exact=True).click()
        page.get_by_role("textbox", name="Note").fill(f"{role} in the roles test")
        page.get_by_role("button", name="Save decision").click()
        page.get_by_text("Saved: watch.").wait_for()
        _settled(page)
        assert reviews.history(home, "A000002")["author"].tolist()[0] == user
    if role in ("viewer", "analyst"):
        _shot(page, f"roles-{role}-account")


def _reviews(page: object, role: str, user: str, home: Home) -> None:
    analyst = _analyst(role)
    if not analyst:
        page.get_by_text("Your role (viewer) reads decisions").wait_for()
    assert _has_button(page, "Save decision", analyst) is analyst, role


def _cases(page: object, role: str, user: str, home: Home) -> None:
    """Analysts, leads and admins open cases (the analyst opens one); viewers read them."""
    analyst = _analyst(role)
    opener = page.get_by_test_id("stExpander").filter(has_text="Open a case")
    if analyst:
        opener.first.wait_for()
    else:
        page.get_by_text("Your role (viewer) reads cases").wait_for()
    assert (opener.count() > 0) is analyst, role
    if role == "analyst":
        opener.first.get_by_text("Open a case").click()
        page.get_by_role("textbox", name="Title").fill("roles test case")
        page.get_by_role("textbox", name="Account ids (commas or one per line)").fill(
            "A000002, A000003")
        page.get_by_role("button", name="Open case").click()
        page.get_by_text(re.compile(r"Opened CASE-\d+ with 2 account")).wait_for()
        _settled(page)
        opened = cases.queue(home, "all").query("title == 'roles test case'")
        assert opened[["accounts", "created_by"]].values.tolist() == [[2, user]], opened


def _watchlists(page: object, role: str, user: str, home: Home) -> None:
    """Leads and admins edit; the lead adds an entry."""
    editor = role in ("lead", "admin")
    if not editor:
        page.get_by_text("Read-only").wait_for()
    assert _has_button(page, "Add entry", editor) is editor, role
    assert _has_button(page, "Reveal personal values", editor) is editor, role
    if role == "lead":
        page.get_by_role("textbox", name="Value").fill("203.0.113.0/24")
        page.get_by_role("textbox", name="Source").fill("roles test")
        page.get_by_role("textbox", name="Reason").fill("added by the lead in the roles test")
        page.get_by_role("button", name="Add entry").click()
        page.get_by_text(re.compile("Saved entry")).wait_for()
        _settled(page)
        added = watchlists.entries(home).set_index("value")
        assert added.loc["203.0.113.0/24", "added_by"] == user


def _backtest(page: object, role: str, user: str, home: Home) -> None:
    """Only admins reach the page (the navigation leaves it out for other roles)."""
    assert role == "admin"
    assert _has_button(page, "Run backtest", True)


def _users(page: object, role: str, user: str, home: Home) -> None:
    """The admin adds a user (a viewer)."""
    form = page.get_by_test_id("stForm").filter(has_text="Add user")
    form.get_by_role("textbox", name="User name").fill("newbie")
    form.get_by_role("textbox", name="Password", exact=True).fill("newbie password 1")
    form.get_by_role("textbox", name="Repeat the password").fill("newbie password 1")
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("Added newbie.").wait_for()
    _settled(page)
    newbie = store.load(home)["newbie"]
    assert newbie.roles == () and newbie.created_by == "ada"
    _shot(page, "roles-admin-users")


def _users_kept_login_ends(page: object, browser: object, url: str, home: Home) -> None:
    """The user the admin added logs in and keeps the login over a reload until the admin
    disables them (the admin's page is on Users)."""
    other = _new_page(browser)
    _login(other, url, "newbie", "newbie password 1")
    _wait_cookie(other, present=True)
    other.reload()
    _logged_in_as(other, "newbie")
    assert other.get_by_test_id("stSidebarNav").get_by_role("link", name="Users").count() == 0

    _choose(page, "^User$", "newbie")
    _settled(page)
    page.get_by_role("button", name="Disable user").click()
    page.get_by_text("Disabled newbie.").wait_for()
    _settled(page)
    assert store.load(home)["newbie"].disabled
    _reload_shows_login(other)
    other.context.close()
    actions = [(e["by"], e["action"], e["user"]) for e in store.events(home)][-2:]
    assert actions == [("ada", "added", "newbie"), ("ada", "disabled", "newbie")]


FULL_IPV4 = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]|/\d)")


def test_addresses_in_evidence_stay_masked_for_a_viewer(server: tuple[str, Home],
                                                        browser: object) -> None:
    """Evidence quotes the addresses an indicator read: a viewer sees their first half only,
    an analyst sees them whole after the (logged) reveal."""
    url, home = server
    con = duckdb.connect(str(home.serving), read_only=True)
    account = con.execute(r"""SELECT account_id FROM account_indicator_hits
        WHERE regexp_matches(evidence, '\d+\.\d+\.\d+\.\d+') ORDER BY 1 LIMIT 1""").fetchone()[0]
    con.close()
    for role in ("viewer", "analyst"):
        page = _new_page(browser)
        _login(page, url, ROLE_USERS[role])
        _open(page, "Account")
        page.get_by_role("textbox", name="Account id").fill(account)
        page.get_by_role("textbox", name="Account id").press("Enter")
        _heading(page, "Review")
        _settled(page)
        text = page.inner_text("body")
        assert "Evidence:" in text and ".*.*" in text, role
        assert not FULL_IPV4.search(text), (role, FULL_IPV4.search(text))
        if role == "analyst":
            page.get_by_role("button", name="Reveal personal data").click()
            page.get_by_text("Personal data revealed").wait_for()
            _settled(page)
            assert FULL_IPV4.search(page.inner_text("body"))
        page.context.close()


def test_an_admin_sends_the_alert_digest_to_a_real_receiver(
        server: tuple[str, Home], browser: object, receiver: Receiver) -> None:
    """The Overview's digest, sent again by an admin, reaches the configured service as shown:
    ids, scores and reasons, no name and no full address."""
    url, home = server
    page = _new_page(browser)
    _login(page, url, ROLE_USERS["admin"])
    page.get_by_text("Tonight's alert digest").click()
    title = page.get_by_test_id("stExpander").filter(
        has_text="Tonight's alert digest").locator("strong").first.inner_text()
    before = len(receiver.posts)
    page.get_by_role("button", name="Send tonight's digest now").click()
    page.get_by_text("Sent to the configured alert services.").wait_for()
    _settled(page)
    deadline = time.monotonic() + 30
    while len(receiver.posts) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    post = receiver.posts[-1]
    assert post["title"] == title and title.startswith("ITW Radar ")
    assert "/account?account_id=" in post["message"]
    con = duckdb.connect(str(home.serving), read_only=True)
    names = [n for (n,) in con.execute("SELECT display_name FROM account_profile "
                                       "WHERE display_name IS NOT NULL").fetchall()]
    con.close()
    assert not any(n in post["message"] for n in names if len(n) > 3)
    assert not FULL_IPV4.search(post["message"])
    page.context.close()
