"""End to end in a real browser: `streamlit run dashboard/app.py` driven by Playwright.

Uses Debian's chromium (`scripts/install_chromium.sh` installs it when missing; Playwright's own
browser downloads are never used). Screenshots of every page go to `test-output/screenshots/`
(or `$ITW_RADAR_TEST_OUTPUT/screenshots/`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from itw_radar import reviews
from itw_radar.paths import Home
from itw_radar.serve import streamlit_command

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_fixture import START, build_serving_db  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("ITW_RADAR_TEST_OUTPUT", REPO / "test-output")) / "screenshots"
NIGHTS = 5
TIMEOUT_MS = 60_000

sync_api = pytest.importorskip("playwright.sync_api")


def _ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    result = subprocess.run(["bash", str(REPO / "scripts" / "install_chromium.sh")],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not CHROMIUM.exists():
        pytest.skip("Debian chromium could not be installed with apt-get "
                    f"(scripts/install_chromium.sh: {result.stderr.strip() or result.returncode})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer on {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Home]]:
    _ensure_chromium()
    home = Home.resolve(tmp_path_factory.mktemp("browser-home")).ensure()
    build_serving_db(home.serving, accounts=300, nights=NIGHTS, seed=3)
    port = _free_port()
    cmd, env = streamlit_command(home, port, demo=True, address="127.0.0.1")
    env.pop("ITW_RADAR_USERS", None)
    log = home.logs / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url, home
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's chromium, headless, through Playwright (no browser download)."""
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Home]) -> Iterator[object]:
    with chromium() as b:
        yield b


def _shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.wait_for_timeout(800)  # let charts finish drawing; not an assertion
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def _login(page: object, url: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User name").fill("analyst")
    page.get_by_role("textbox", name="Password").fill("radar-demo")
    page.get_by_role("button", name="Log in").click()
    _heading(page, "Overview")


def _open(page: object, title: str) -> None:
    """Go to a page from the sidebar. A click that lands while a rerun the app started itself
    is replacing the page (the session restored from the login cookie) can be dropped by
    Streamlit, so the click is given again (opening a page twice is the same page)."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    for attempt in range(3):
        link.click()
        try:
            _heading(page, title, timeout_ms=TIMEOUT_MS // 3)
            break
        except AssertionError:
            if attempt == 2:
                raise
    _settled(page)


def _heading(page: object, title: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait for the page heading `title`, once a rerun has dropped the previous run's copy
    (Streamlit keeps stale elements on screen for a moment, so strict `wait_for` can see two)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(1, timeout=timeout_ms)


def _settled(page: object) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=TIMEOUT_MS)


def _no_exceptions(page: object) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0


def _night_shown(page: object) -> str:
    """The page's "Night shown" caption, once a rerun has dropped its stale copy.

    Streamlit keeps the previous run's elements on screen until the new run replaces them, so
    right after a login rerun the caption can be there twice for a moment.
    """
    from playwright.sync_api import expect

    caption = page.get_by_test_id("stMain").get_by_text(re.compile("Night shown"))
    expect(caption).to_have_count(1, timeout=TIMEOUT_MS)
    return caption.inner_text()


def _choose(page: object, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=re.compile(label))
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def _find_node(page: object) -> tuple[float, float, str]:
    """Hover the network graph's points until the hover label names an account (a node, not
    the middle of a link)."""
    chart = page.locator(".js-plotly-plot").first
    points = chart.locator("g.trace.scatter path.point")
    tip = chart.locator(".hoverlayer .hovertext")
    for i in range(points.count()):
        box = points.nth(i).bounding_box()
        if not box or box["width"] == 0:
            continue
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.wait_for_timeout(40)
        if tip.count():
            text = tip.first.text_content() or ""
            match = re.search(r"(A\d{6})score", text)
            if match:
                return x, y, match.group(1)
    raise AssertionError("no account node found in the network graph")


def _graph_renders(page: object) -> None:
    """The Plotly graph drew one node per member of the cluster and its labels do not overlap."""
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=TIMEOUT_MS)
    accounts = int(page.get_by_test_id("stMetric").filter(has_text="Accounts")
                   .get_by_test_id("stMetricValue").inner_text())
    # traces: one line trace per link type, the links' hover points, the accounts, the labels
    counts = chart.evaluate("""el => Array.from(el.querySelectorAll('g.trace.scatter'))
        .map(t => t.querySelectorAll('path.point').length)""")
    assert accounts in counts, (accounts, counts)
    boxes = chart.evaluate("""el => Array.from(el.querySelectorAll('g.textpoint text'))
        .map(t => { const r = t.getBoundingClientRect();
                    return [r.left, r.top, r.right, r.bottom]; })""")
    assert boxes, "no account label drawn"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_browse_review_and_publish(server: tuple[str, Home], browser: object) -> None:
    url, home = server
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    night = START + dt.timedelta(days=NIGHTS - 1)

    # anonymous: only the login form
    page.goto(url)
    page.get_by_role("button", name="Log in").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    _shot(page, "00-login")

    _login(page, url)
    _settled(page)
    _no_exceptions(page)
    assert f"Night shown: {night}" in _night_shown(page)
    _shot(page, "01-overview")

    _open(page, "Flagged accounts")
    _no_exceptions(page)
    page.get_by_text(re.compile(r"accounts match")).wait_for(timeout=TIMEOUT_MS)
    _shot(page, "02-flagged")

    _choose(page, "Open account", "A000001")
    _heading(page, "Account")
    _settled(page)
    assert page.get_by_role("textbox", name="Account id").input_value() == "A000001"
    assert "account_id=A000001" in page.url
    _no_exceptions(page)
    _shot(page, "03-account")

    # hostile message bodies are shown as text, with the match in bold
    page.get_by_role("tab", name="Matched messages").click()
    body = page.get_by_test_id("stMarkdownContainer").filter(has_text="alert(1)").first
    body.wait_for(timeout=TIMEOUT_MS)
    text = body.inner_text().replace("\u2060", "")
    assert "<script>alert(1)</script>" in text and "'; DROP TABLE accounts; --" in text
    assert body.locator("script").count() == 0 and body.locator("strong").count() == 1
    _shot(page, "04-account-messages")

    # save a review
    page.get_by_text("escalated", exact=True).click()
    page.get_by_role("textbox", name="Note").fill("checked in the browser test")
    page.get_by_role("button", name="Save decision").click()
    page.get_by_text("Saved: escalated.").wait_for(timeout=TIMEOUT_MS)
    _settled(page)
    saved = reviews.history(home, "A000001")
    assert saved["status"].tolist()[0] == "escalated"
    assert saved["note"].tolist()[0] == "checked in the browser test"
    _shot(page, "05-account-reviewed")

    _open(page, "Networks")
    _no_exceptions(page)
    _graph_renders(page)
    _shot(page, "06-networks")
    # clicking an account in the graph opens its page
    x, y, account = _find_node(page)
    page.mouse.click(x, y)
    _heading(page, "Account")
    _settled(page)
    assert page.get_by_role("textbox", name="Account id").input_value() == account

    for title, name in (("Reviews", "07-reviews"), ("Data quality", "08-data-quality")):
        _open(page, title)
        _no_exceptions(page)
        _shot(page, name)

    # publish the next night while this session is open
    staging = home.serving_dir / "radar.publishing.duckdb"
    build_serving_db(staging, accounts=300, nights=NIGHTS + 1, seed=3)
    os.replace(staging, home.serving)
    new_night = night + dt.timedelta(days=1)

    _open(page, "Flagged accounts")  # the session keeps working
    _no_exceptions(page)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Refresh data").click()
    _settled(page)
    page.get_by_text(f"Published night: {new_night}").wait_for(timeout=TIMEOUT_MS)
    _open(page, "Overview")
    _no_exceptions(page)
    assert f"Night shown: {new_night}" in _night_shown(page)
    _shot(page, "09-overview-after-publish")

    # a browser reload starts a new session; the signed login cookie logs it in again
    page.reload()
    _heading(page, "Overview")
    _settled(page)
    assert f"Night shown: {new_night}" in _night_shown(page)
    assert dialogs == []  # no script from the data ever ran
    page.close()
