"""Users (admins): add local users, disable and enable them, reset passwords, set roles.

The users live in `<home>/auth/users.json` (itw_radar.users: hashed passwords only, written
atomically, every change logged with who and when). Users from the environment (ITW_RADAR_USERS,
the demo user) and roles from ITW_RADAR_ROLES are shown but cannot be changed here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, data, ui
from itw_radar import users as store

_FLASH = "us_flash"

st.title("Users")
user = auth.require("users.manage", "Managing users")

home = data.home()
if problem := auth.users_file_problem():
    st.error(f"The users file cannot be used: {problem}")
    st.stop()
st.caption(f"Local users are kept in `{ui.md_escape(store.users_file(home))}`; every change is "
           "logged with your name. Users from the environment are read-only here.")
if flash := st.session_state.pop(_FLASH, None):
    st.success(flash)


def _roles_text(roles: frozenset[str] | tuple[str, ...]) -> str:
    return "+".join(r for r in auth.ROLES if r in roles) or "viewer"


accounts = auth.local_accounts()
overrides = auth.role_overrides()
kept = store.load(home)
rows = []
for name, acc in sorted(accounts.items()):
    source = {"environment": auth.USERS_ENV, "demo": "demo mode"}.get(acc.source, acc.source)
    file_user = kept.get(name) if acc.source in ("users file", "single sign-on") else None
    rows.append({
        "user": name, "source": source,
        "roles": _roles_text(overrides.get(name, acc.roles)),
        "roles from": auth.ROLES_ENV if name in overrides else source,
        "status": "disabled" if acc.disabled else "active",
        "changed": file_user.updated_at if file_user else "",
        "changed by": file_user.updated_by if file_user else "",
    })
for name, roles in sorted(overrides.items()):
    if name not in accounts:  # single sign-on users given roles in the environment
        rows.append({"user": name, "source": "single sign-on", "roles": _roles_text(roles),
                     "roles from": auth.ROLES_ENV, "status": "", "changed": "",
                     "changed by": ""})
st.subheader("All users")
if rows:
    st.dataframe(ui.visible_frame(pd.DataFrame(rows)), hide_index=True, width="stretch",
                 key="us_table")
else:
    st.info("No local users yet.")


def _done(message: str) -> None:
    st.session_state[_FLASH] = message
    st.rerun()


st.subheader("Add a local user")
with st.form("us_add", clear_on_submit=True):
    new_name = st.text_input("User name", key="us_name", max_chars=64,
                             help="Lower-case letters, digits and . _ @ + -")
    new_password = st.text_input("Password", type="password", key="us_password",
                                 autocomplete="new-password",
                                 help=f"At least {store.MIN_PASSWORD} characters.")
    new_repeat = st.text_input("Repeat the password", type="password", key="us_repeat",
                               autocomplete="new-password")
    new_roles = st.multiselect("Roles", list(auth.ROLES), default=["viewer"], key="us_roles")
    add = st.form_submit_button("Add user", type="primary")
if add:
    reserved = [n for n, a in accounts.items() if a.source not in ("users file", "single sign-on")]
    try:
        if new_password != new_repeat:
            raise store.UserError("The two passwords differ.")
        store.add_user(home, new_name, new_password, new_roles, user, reserved=reserved)
    except store.UserError as exc:
        st.error(str(exc))
    else:
        _done(f"Added {ui.md_escape(new_name.strip())}.")

st.subheader("Give a single sign-on user roles")
st.caption("Users who log in with single sign-on are viewers until given roles here (or in "
           f"{auth.ROLES_ENV}); they have no password on this dashboard.")
with st.form("us_sso", clear_on_submit=True):
    sso_email = st.text_input("E-mail (as the identity provider reports it)", key="us_sso_email",
                              max_chars=64)
    sso_roles = st.multiselect("Roles", list(auth.ROLES), default=["viewer"], key="us_sso_roles")
    add_sso = st.form_submit_button("Add single sign-on user")
if add_sso:
    reserved = [n for n, a in accounts.items() if a.source not in ("users file", "single sign-on")]
    try:
        store.add_sso_user(home, sso_email, sso_roles, user, reserved=reserved)
    except store.UserError as exc:
        st.error(str(exc))
    else:
        _done(f"Added {ui.md_escape(sso_email.strip().lower())} (single sign-on).")

file_users = sorted(n for n, a in accounts.items() if a.source in ("users file", "single sign-on"))
if file_users:
    st.subheader("Change a user")
    target = st.selectbox("User", file_users, key="us_pick")
    acc = accounts[str(target)]
    current = sorted(acc.roles)
    is_me = target == user

    roles_col, status_col = st.columns(2)
    with roles_col, st.form("us_roles_form"):
        if target in overrides:
            st.caption(f"{auth.ROLES_ENV} sets this user's roles "
                       f"({ui.md_escape(_roles_text(overrides[target]))}); the roles below "
                       "count only once it no longer names the user.")
        roles = st.multiselect("Roles", list(auth.ROLES), default=current or ["viewer"],
                               key=f"us_roles_{target}")
        save_roles = st.form_submit_button("Save roles")
    if save_roles:
        try:
            if is_me and "admin" in current and "admin" not in roles:
                raise store.UserError("You cannot take the admin role from yourself: ask "
                                      "another admin.")
            store.set_roles(home, str(target), roles, user)
        except store.UserError as exc:
            st.error(str(exc))
        else:
            _done(f"Saved the roles of {ui.md_escape(target)}.")

    with status_col:
        st.caption(f"Status: **{'disabled' if acc.disabled else 'active'}**")
        if acc.disabled:
            toggle = st.button("Enable user", key="us_enable")
        else:
            toggle = st.button("Disable user", key="us_disable", disabled=is_me,
                               help="Disabling ends the user's logins at once."
                               + (" You cannot disable yourself." if is_me else ""))
        if toggle:
            try:
                store.set_disabled(home, str(target), not acc.disabled, user)
            except store.UserError as exc:
                st.error(str(exc))
            else:
                _done(f"{'Enabled' if acc.disabled else 'Disabled'} {ui.md_escape(target)}.")

    if acc.source != "single sign-on":  # else no password here: the identity provider's
        with st.form("us_reset", clear_on_submit=True):
            st.caption("Reset the password: the user's current logins end.")
            reset_password = st.text_input("New password", type="password", key="us_new_password",
                                           autocomplete="new-password")
            reset_repeat = st.text_input("Repeat the new password", type="password",
                                         key="us_new_repeat", autocomplete="new-password")
            reset = st.form_submit_button("Reset password")
        if reset:
            try:
                if reset_password != reset_repeat:
                    raise store.UserError("The two passwords differ.")
                store.reset_password(home, str(target), reset_password, user)
            except store.UserError as exc:
                st.error(str(exc))
            else:
                _done(f"Reset the password of {ui.md_escape(target)}.")

st.subheader("Changes")
trail = store.events(home)
if trail:
    st.dataframe(ui.visible_frame(pd.DataFrame(trail[::-1])[["at", "by", "action", "user",
                                                              "detail"]]),
                 hide_index=True, width="stretch", key="us_trail")
else:
    st.caption("No change yet.")
