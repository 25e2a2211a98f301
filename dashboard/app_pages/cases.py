"""Cases: queues (mine, unassigned, overdue, ...), a case's accounts, status, notes and audit
trail, and its evidence bundle. Analysts open and work cases; viewers read them."""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from dashboard import auth, data, ui
from itw_radar import cases, reviews

snap = ui.page_header("Cases")
user = auth.current_user() or ""
home = data.home()
editor = auth.can(user, "cases.edit")

if editor:
    with st.expander("Open a case", expanded=False):
        with st.form("case_new", clear_on_submit=True):
            title = st.text_input("Title", key="cn_title", max_chars=200)
            typed = st.text_area("Account ids (commas or one per line)", key="cn_accounts")
            cluster = st.text_input("... and/or a whole cluster (its id)", key="cn_cluster",
                                    max_chars=200)
            c1, c2 = st.columns(2)
            assignee = c1.text_input("Assignee", key="cn_assignee", max_chars=200)
            due = c2.date_input("Due", value=None, key="cn_due")
            opened = st.form_submit_button("Open case", type="primary")
        if opened:
            accounts = [a for a in re.split(r"[,\s]+", typed or "") if a]
            if (cluster or "").strip():
                accounts += data.cluster_members(snap, cluster.strip())["account_id"].tolist()
            try:
                cid = cases.create_case(home, title, accounts, user, assignee or None, due)
            except cases.CaseError as exc:
                st.error(str(exc))
            else:
                st.session_state["case_pick"] = cid
                st.success(f"Opened {cid} with {len(set(accounts))} account(s).")
else:
    st.caption("Your role (viewer) reads cases; an analyst opens and works them.")

queue = st.radio("Queue", list(cases.QUEUES), horizontal=True, key="case_queue",
                 format_func=lambda q: q.replace("_", " "))
rows = cases.queue(home, queue, user, dt.date.today())
if rows.empty:
    st.info("No case in this queue.")
else:
    st.dataframe(ui.visible_frame(rows), hide_index=True, width="stretch", key="case_table")

options = rows["case_id"].tolist()
if st.session_state.get("case_pick") not in options:
    st.session_state.pop("case_pick", None)
chosen = st.selectbox("Case", options, key="case_pick", index=None,
                      placeholder="Choose a case of the queue")
if chosen:
    case, accounts, trail = cases.detail(home, chosen)
    st.subheader(f"{chosen}: {ui.md_escape(case['title'])}")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Status", str(case["status"]))
    m2.metric("Decision", str(case["decision"] or "—"))
    m3.metric("Assignee", str(case["assignee"] or "—"))
    m4.metric("Due", ui.fmt_date(case["due_date"]) if case["due_date"] is not None else "—")
    members = data.accounts_by_ids(snap, tuple(accounts))
    st.dataframe(ui.visible_frame(members), hide_index=True, width="stretch",
                 key="case_accounts")
    ui.account_picker("Open account", accounts, key="case_open_account")

    if editor:
        with st.form("case_update", clear_on_submit=True):
            c1, c2, c3 = st.columns(3)
            status = c1.selectbox("Status", list(cases.STATUSES), index=None, key="cu_status")
            decision = c2.selectbox("Decision (closes the case)", list(cases.DECISIONS),
                                    index=None, key="cu_decision")
            new_assignee = c3.text_input("Assignee", key="cu_assignee", max_chars=200)
            d1, d2 = st.columns(2)
            new_due = d1.date_input("Due", value=None, key="cu_due")
            more = d2.text_input("Add accounts (ids, commas)", key="cu_add", max_chars=20_000)
            note = st.text_area("Note", key="cu_note", max_chars=cases.MAX_TEXT)
            saved = st.form_submit_button("Save", type="primary")
        if saved:
            try:
                added = [a for a in re.split(r"[,\s]+", more or "") if a]
                if added:
                    cases.add_accounts(home, chosen, added, user)
                if status or decision or new_assignee or new_due:
                    cases.update_case(home, chosen, user,
                                      status="closed" if decision else status,
                                      decision=decision, assignee=new_assignee or None,
                                      due=new_due)
                if (note or "").strip():
                    cases.add_note(home, chosen, user, note)
            except (cases.CaseError, reviews.ReviewError) as exc:
                st.error(str(exc))
            else:
                st.rerun()

    st.caption("Audit trail (append-only)")
    st.dataframe(ui.visible_frame(trail), hide_index=True, width="stretch", key="case_trail")

    reveal = auth.can(user, "personal_data.reveal")
    if st.button("Prepare evidence bundle", key="case_export",
                 help="Accounts, hits with evidence, links, logins, decisions and the trail, as "
                 "a zip of CSV files. " + ("Personal data in clear (logged)." if reveal else
                                          "Personal data masked (your role).")):
        if reveal:
            for account in accounts:
                reviews.log_reveal(home, account, "profile", user)
        st.session_state["case_bundle"] = (chosen, cases.export_bundle(home, chosen,
                                                                       home.serving, reveal))
    bundle = st.session_state.get("case_bundle")
    if bundle and bundle[0] == chosen:
        st.download_button("Download the bundle", data=bundle[1],
                           file_name=f"{chosen}-evidence.zip", mime="application/zip",
                           key="case_download", on_click="ignore")
