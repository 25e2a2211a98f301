"""Reviews: record a decision on any account, see current decisions, history and the reveal log."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, ui
from itw_radar import reviews

snap = ui.page_header("Reviews")
user = auth.current_user() or ""
home = data.home()

st.subheader("Record a decision")
if not auth.can(user, "reviews.decide"):
    st.caption("Your role (viewer) reads decisions; an analyst records them.")
else:
    with st.form("reviews_form", clear_on_submit=True):
        c1, c2 = st.columns([1, 2])
        account_id = c1.text_input("Account id", key="rp_account", max_chars=200)
        status = c2.radio("Decision", list(reviews.STATUSES), horizontal=True, key="rp_status",
                          index=None, format_func=lambda s: s.replace("_", " "))
        note = st.text_area("Note", key="rp_note", max_chars=reviews.MAX_NOTE_CHARS)
        submitted = st.form_submit_button("Save decision", type="primary")
    if submitted:
        account_id = (account_id or "").strip()
        if status is None:
            st.error("Choose a decision first: nothing was saved.")
        elif not data.account_exists(snap, account_id):
            st.error(f"No scored account with id {ui.md_escape(account_id)} in the night shown; "
                     "check the id on the Flagged accounts page.")
        else:
            try:
                reviews.record_decision(home, account_id, status, note, user)
            except reviews.ReviewError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved {status.replace('_', ' ')} for {ui.md_escape(account_id)}.")

st.subheader("Current decisions")
current = reviews.latest_decisions(home)
statuses = st.multiselect("Status", list(reviews.STATUSES), key="rp_filter")
if statuses:
    current = current[current["status"].isin(statuses)]
if current.empty:
    st.info("No decision recorded yet.")
else:
    scores = data.accounts_by_ids(snap, tuple(current["account_id"].head(5000)))
    shown = current.merge(scores, on="account_id", how="left")
    st.dataframe(shown[["account_id", "status", "author", "decided_at", "note", "risk_score",
                        "risk_tier", "cluster_id"]],
                 hide_index=True, width="stretch", key="rp_current")
    ui.account_picker("Open account", current["account_id"].tolist(), key="rp_open")

st.subheader("History of one account")
hist_id = st.text_input("Account id ", key="rp_hist", max_chars=200).strip()
if hist_id:
    past = reviews.history(home, hist_id)
    if past.empty:
        st.caption("No decision on this account yet.")
    else:
        st.dataframe(past, hide_index=True, width="stretch", key="rp_history")

with st.expander("Recent decisions (audit trail)"):
    st.dataframe(reviews.recent_decisions(home, 200), hide_index=True, width="stretch")
with st.expander("Reveal log: who saw personal data, when"):
    st.dataframe(reviews.reveals(home, limit=500), hide_index=True, width="stretch")

st.subheader("Reviewer precision")
st.dataframe(reviews.reviewer_precision(home), hide_index=True, width="stretch",
             column_config={"precision": st.column_config.NumberColumn(format="percent")})
