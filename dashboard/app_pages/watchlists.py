"""Watchlists: the analyst-managed lists, their audit log, and (role lead or admin) adding,
expiring and removing entries and re-scoring the published night with them."""

from __future__ import annotations

import subprocess
import sys

import streamlit as st

from dashboard import auth, data, ui
from itw_radar import watchlists

_REVEAL_KEY = "_itw_watchlists_revealed"

st.title("Watchlists")
try:  # the lists can be kept before any night is published
    st.caption(f"Night shown: **{data.as_of(data.current()) or 'unknown'}**")
except data.NoServingDatabase:
    st.caption("No night published yet: the entries count from the first night.")
user = auth.current_user() or ""
home = data.home()
editor = auth.can(user, "watchlists.edit")
roles = ", ".join(sorted(auth.user_roles(user))) or "none"
if editor:
    st.caption(f"Your roles: {ui.md_escape(roles)}. You may edit the lists; every change is "
               "logged with your name.")
else:
    st.info("Read-only: adding, expiring and removing entries needs the role lead or admin "
            f"(your roles: {roles}; set in {auth.USERS_ENV} or {auth.ROLES_ENV}).")

if flash := st.session_state.pop("wl_flash", None):
    st.success(flash)

st.subheader("Entries")
show_all = st.toggle("Show expired and removed entries", key="wl_all")
frame = watchlists.entries(home, include_inactive=show_all)
revealed = bool(st.session_state.get(_REVEAL_KEY))
if not frame.empty and not revealed:
    personal = frame["list_type"].isin(watchlists.PERSONAL_TYPES)
    frame.loc[personal, "value"] = frame.loc[personal, "value"].map(ui.mask_hash)
if frame.empty:
    st.info("No watchlist entries.")
else:
    counts = frame.groupby("list_type").size()
    st.caption(" · ".join(f"{ui.md_escape(t)}: {n}" for t, n in counts.items()))
    cols = ["entry_id", "list_type", "value", "source", "reason", "added_by", "added_at",
            "expires_at"] + (["removed_at", "removed_by"] if show_all else [])
    st.dataframe(frame[cols], hide_index=True, width="stretch", key="wl_entries")
if editor and not revealed:
    if st.button("Reveal personal values", key="wl_reveal",
                 help="Hashes, fingerprints, wallets and devices; the reveal is logged."):
        watchlists.log_reveal(home, user)
        st.session_state[_REVEAL_KEY] = True
        st.rerun()
elif revealed:
    st.caption("Personal values revealed; the reveal was logged with your name and the time.")

if editor:
    st.subheader("Add an entry")
    with st.form("wl_add_form", clear_on_submit=False):
        c1, c2 = st.columns([1, 2])
        list_type = c1.selectbox("List", list(watchlists.LIST_TYPES), key="wl_type")
        value = c2.text_input("Value", key="wl_value", max_chars=watchlists.MAX_VALUE)
        st.caption(ui.md_escape(watchlists.LIST_TYPES.get(str(list_type), "")))
        source = st.text_input("Source", key="wl_source", max_chars=watchlists.MAX_SOURCE,
                               help="Where the value comes from: an advisory, a registry, a case.")
        reason = st.text_area("Reason", key="wl_reason", max_chars=watchlists.MAX_REASON)
        expires = st.text_input("Expires (YYYY-MM-DD, empty: never)", key="wl_expires",
                                max_chars=25)
        add = st.form_submit_button("Add entry", type="primary")
    if add:
        try:
            entry_id = watchlists.add_entry(home, str(list_type), value, source, reason, user,
                                            expires or None)
        except watchlists.WatchlistError as exc:
            st.error(str(exc))
        else:
            st.session_state["wl_pending"] = True
            st.session_state["wl_flash"] = (f"Saved entry {ui.md_escape(entry_id)}. It counts "
                                            "from the next night, or now after Re-score.")
            st.rerun()

    active = watchlists.entries(home)
    if not active.empty:
        st.subheader("Expire or remove an entry")
        with st.form("wl_end_form"):
            ids = active["entry_id"].tolist()
            labels = dict(zip(ids, active["list_type"], strict=True))
            entry = st.selectbox("Entry", ids, key="wl_end_id",
                                 format_func=lambda i: f"{i} ({labels.get(i, '')})")
            action = st.radio("Action", ["expire", "remove"], horizontal=True, key="wl_action",
                              help="expire: it was right and no longer is; remove: it was "
                              "wrong (it stops counting for every night computed again).")
            note = st.text_input("Note", key="wl_note", max_chars=watchlists.MAX_REASON)
            end = st.form_submit_button("Apply")
        if end and entry:
            try:
                fn = watchlists.expire_entry if action == "expire" else watchlists.remove_entry
                fn(home, str(entry), user, note)
            except watchlists.WatchlistError as exc:
                st.error(str(exc))
            else:
                st.session_state["wl_pending"] = True
                st.session_state["wl_flash"] = (f"{'Expired' if action == 'expire' else 'Removed'}"
                                                f" {ui.md_escape(entry)}.")
                st.rerun()

    st.subheader("Re-score the published night")
    if st.session_state.get("wl_pending"):
        st.caption("The lists changed since the night shown was scored.")
    if st.button("Re-score now", key="wl_rescore",
                 help="Runs `itw-radar watchlist rescore`: an incremental dbt build of the "
                      "published night and an atomic re-publish (not while the nightly DAG "
                      "runs)."):
        with st.spinner("Re-scoring the published night…"):
            done = subprocess.run(
                [sys.executable, "-m", "itw_radar.cli", "watchlist", "rescore", "--home",
                 str(home.root)], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            st.session_state["wl_pending"] = False
            said = " ".join(done.stdout.split())  # the console wraps long lines
            st.success(said[said.rfind("night "):] if "night " in said else "Re-scored.")
        else:
            st.error((done.stderr or done.stdout).strip()[-1500:] or "Re-score failed.")

st.subheader("Audit log")
log = watchlists.audit_log(home, 500)
if not log.empty and not revealed:
    personal = log["list_type"].isin(watchlists.PERSONAL_TYPES)
    log.loc[personal, "value"] = log.loc[personal, "value"].map(ui.mask_hash)
st.dataframe(log, hide_index=True, width="stretch", key="wl_audit")
