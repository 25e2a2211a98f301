"""ITW Radar dashboard entry point: login gate, then st.navigation over dashboard/app_pages/.

Run with `itw-radar serve` (or `streamlit run dashboard/app.py` with ITW_RADAR_HOME set).
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import streamlit as st  # noqa: E402

from dashboard import auth, data  # noqa: E402

_RETRIES_KEY = "_itw_replaced_retries"
# url_path -> the permission a user needs to see the page in the navigation at all
PAGE_PERMISSIONS = {"users": "users.manage", "backtest": "rules.backtest"}

st.set_page_config(page_title="ITW Radar", page_icon=":material/radar:", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:",
            url_path="overview", default=True),
    st.Page("app_pages/flagged.py", title="Flagged accounts", icon=":material/flag:",
            url_path="flagged"),
    st.Page("app_pages/account.py", title="Account", icon=":material/person_search:",
            url_path="account"),
    st.Page("app_pages/networks.py", title="Networks", icon=":material/hub:",
            url_path="networks"),
    st.Page("app_pages/reviews.py", title="Reviews", icon=":material/rate_review:",
            url_path="reviews"),
    st.Page("app_pages/cases.py", title="Cases", icon=":material/work:",
            url_path="cases"),
    st.Page("app_pages/watchlists.py", title="Watchlists", icon=":material/playlist_add_check:",
            url_path="watchlists"),
    st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:",
            url_path="data-quality"),
    st.Page("app_pages/backtest.py", title="Backtest", icon=":material/science:",
            url_path="backtest"),
    st.Page("app_pages/users.py", title="Users", icon=":material/manage_accounts:",
            url_path="users"),
]


def main() -> None:
    user = auth.gate()
    if not user:
        st.navigation([st.Page(auth.login_page, title="Log in", icon=":material/login:",
                               url_path="login")], position="hidden").run()
        return
    # a page behind a permission is not even registered for a user without it
    page = st.navigation([p for p in PAGES
                          if auth.can(user, PAGE_PERMISSIONS.get(p.url_path, "page.open"))])
    auth.logout_button()
    snap = data.begin_run()
    if st.sidebar.button("Refresh data", key="refresh", help="Show the latest published night"):
        st.rerun()
    try:
        if snap is not None:
            st.sidebar.caption(f"Published night: {data.as_of(snap) or '—'}")
        page.run()
        st.session_state[_RETRIES_KEY] = 0
    except data.ServingReplaced:
        # a new night was published while this page was being drawn: draw it again on the new one
        retries = int(st.session_state.get(_RETRIES_KEY, 0)) + 1
        st.session_state[_RETRIES_KEY] = retries
        if retries <= 3:
            st.rerun()
        st.warning("The serving database is being replaced; press Refresh data in a moment.")


main()
