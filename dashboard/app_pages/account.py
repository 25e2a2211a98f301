"""Account: masked profile with logged reveal, score history, every hit with its evidence rows,
linked accounts, matched messages with the match highlighted, and the review form."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import auth, data, ui
from itw_radar import reviews

snap = ui.page_header("Account")
user = auth.current_user() or ""

wanted = st.query_params.get("account_id") or st.session_state.get("account_id") or ""
typed = st.text_input("Account id", value=wanted, key=f"account_lookup_{wanted}",
                      max_chars=200).strip()
account_id = typed or wanted
if not account_id:
    st.info("Type an account id, or open one from Flagged accounts, Networks or Overview.")
    st.stop()
if st.query_params.get("account_id") != account_id:
    st.query_params["account_id"] = account_id
st.session_state["account_id"] = account_id

risk = data.account(snap, account_id)
if risk.empty:
    st.warning(f"No scored account with id {ui.md_escape(account_id)} in the night shown.")
    st.stop()
acct = risk.iloc[0]
live = reviews.latest_decisions(data.home(), [account_id])
status = live["status"].iloc[0] if len(live) else acct.get("review_status")

m1, m2, m3, m4, m5 = st.columns(5)
prev = acct.get("previous_score")
m1.metric("Risk score", f"{float(acct['risk_score']):.1f}",
          delta=None if prev is None or pd.isna(prev)
          else f"{float(acct['risk_score']) - float(prev):+.1f}", delta_color="inverse")
m2.metric("Tier", str(acct["risk_tier"]))
m3.metric("Indicators fired", int(acct["indicators_fired"]))
m4.metric("Cluster", str(acct["cluster_id"]) if isinstance(acct["cluster_id"], str) else "—")
m5.metric("Review status", str(status).replace("_", " ") if isinstance(status, str) else "none")
# Personal data (names, hashes, addresses, devices, contact details in reasons, evidence and
# messages) is masked until an analyst reveals this account (logged).
revealed: set[str] = st.session_state.setdefault("revealed_accounts", set())
is_revealed = account_id in revealed and auth.can(user, "personal_data.reveal")


def shown_text(value: object, *, quotes: bool = True) -> str:
    return ui.visible(value) if is_revealed else ui.mask_text(value, quotes=quotes)


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return ui.visible_frame(frame if is_revealed else ui.masked_frame(frame))


st.markdown("**Why:** " + ui.md_escape(shown_text(acct["reasons"])))

# --- profile -----------------------------------------------------------------------------
st.subheader("Profile")
prof = data.profile(snap, account_id)
base = prof.iloc[0].to_dict() if len(prof) else {}
for key in ("account_type", "country", "timezone", "created_at", "display_name"):
    base.setdefault(key, acct.get(key))
masked_fields = {"display_name": ui.mask_name, "document_holder_names": ui.mask_name,
                 "payout_holder_names": ui.mask_name, "email_hash": ui.mask_hash,
                 "phone_hash": ui.mask_hash}
rows = []
for key, value in base.items():
    if key == "account_id":
        continue
    shown = value if is_revealed or key not in masked_fields else masked_fields[key](value)
    rows.append({"field": key, "value": "" if shown is None or (not isinstance(shown, str)
                                                               and pd.isna(shown))
                 else ui.visible(shown)})
rows.append({"field": "account_age_days", "value": str(acct.get("account_age_days"))})
rows.append({"field": "categories", "value": str(acct.get("categories") or "")})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="profile_table",
             height=36 * (len(rows) + 1) + 3)
may_reveal = auth.can(user, "personal_data.reveal")
if is_revealed and may_reveal:
    st.caption("Personal data revealed; the reveal was logged with your name and the time.")
elif not may_reveal:
    st.caption("Personal data stays masked for your role (viewer); an analyst can reveal it.")
elif st.button("Reveal personal data", key="reveal",
               help="Shows names, e-mail/phone hashes, document fields, and the addresses, "
                     "devices and contact details in evidence and messages. Logged."):
    reviews.log_reveal(data.home(), account_id, "profile", user)
    revealed.add(account_id)
    st.rerun()

# --- score history -------------------------------------------------------------------------
st.subheader("Score history")
hist = data.score_history(snap, account_id)
if hist.empty:
    st.info("This account has never scored above zero.")
else:
    st.altair_chart(alt.Chart(hist).mark_line(point=True).encode(
        x=alt.X("as_of_date:T", title="night"),
        y=alt.Y("risk_score:Q", title="risk score", scale=alt.Scale(domain=[0, 100])),
        tooltip=["as_of_date:T", "risk_score:Q", "risk_tier:N"],
    ), width="stretch")

# --- indicator hits ------------------------------------------------------------------------
st.subheader("Indicators that fired")
hits = data.hits(snap, account_id)
if hits.empty:
    st.info("No indicator fired for this account.")
else:
    latest = hits.sort_values("as_of_date").groupby("indicator_id").tail(1)
    for row in latest.sort_values("points", ascending=False).itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"**{ui.md_escape(row.name)}** · {float(row.points):.1f} points · "
                        f"strength {float(row.strength):.2f} · last fired "
                        f"{pd.Timestamp(row.as_of_date):%Y-%m-%d}")
            st.text(f"Evidence: {shown_text(row.evidence)}")
            if isinstance(row.source, str):
                st.caption("Source: " + ui.md_escape(row.source))
    with st.expander(f"Every hit, night by night ({len(hits)})"):
        st.dataframe(shown_frame(hits), hide_index=True, width="stretch")

# --- evidence rows -------------------------------------------------------------------------
tab_logins, tab_links, tab_messages = st.tabs(["Logins and IPs", "Linked accounts",
                                               "Matched messages"])
with tab_logins:
    lg = data.logins(snap, account_id)
    if lg.empty:
        st.info("No logins kept as evidence for this account.")
    else:
        st.dataframe(shown_frame(lg), hide_index=True, width="stretch")
        kinds = lg.groupby(["ip_country", "ip_kind"], dropna=False).size().reset_index(
            name="logins")
        st.caption("Logins by IP country and kind")
        st.dataframe(kinds, hide_index=True)
with tab_links:
    lk = data.links(snap, account_id)
    if lk.empty:
        st.info("No account shares an identifier with this one.")
    else:
        st.dataframe(shown_frame(lk), hide_index=True, width="stretch", column_config={
            "linked_account_id": st.column_config.TextColumn("linked account"),
            "link_type": st.column_config.TextColumn("shared identifier"),
            "link_value": st.column_config.TextColumn("value"),
        })
        ui.account_picker("Open linked account", sorted(set(lk["linked_account_id"])),
                          key="open_linked")
with tab_messages:
    msgs = data.messages(snap, account_id)
    if msgs.empty:
        st.info("No message of this account matched a text indicator.")
    for row in msgs.itertuples(index=False):
        with st.container(border=True):
            direction = "sent to" if row.sender_account_id == account_id else "received from"
            other = (row.recipient_account_id if row.sender_account_id == account_id
                     else row.sender_account_id)
            st.caption(f"{ui.fmt_date(row.sent_at)} · {direction} {ui.md_escape(other)} · "
                       f"indicator {ui.md_escape(row.indicator_id)} · message "
                       f"{ui.md_escape(row.message_id)}")
            before, match, after = ui.split_match(row.body, row.match_start, row.match_end)
            if not is_revealed:  # contact details masked piece by piece, the match kept bold
                before, match, after = (ui.mask_text(t, quotes=False)
                                        for t in (before, match, after))
            st.markdown(ui.highlight_markdown(before + match + after, len(before),
                                              len(before) + len(match)))
            with st.expander("Exact text"):
                st.text(f"before: {ui.visible(before)}")
                st.text(f"match:  {ui.visible(match)}")
                st.text(f"after:  {ui.visible(after)}")

# --- review --------------------------------------------------------------------------------
st.subheader("Review")
if not auth.can(user, "reviews.decide"):
    st.caption("Your role (viewer) reads decisions; an analyst records them.")
else:
    with st.form("review_form", clear_on_submit=True):
        # no default: one click on Save must not record a decision nobody chose
        new_status = st.radio("Decision", list(reviews.STATUSES), horizontal=True, key="rv_status",
                              index=None, format_func=lambda s: s.replace("_", " "))
        note = st.text_area("Note", key="rv_note", max_chars=reviews.MAX_NOTE_CHARS,
                            placeholder="What you checked and why")
        if st.form_submit_button("Save decision", type="primary"):
            if new_status is None:
                st.error("Choose a decision first: nothing was saved.")
            else:
                try:
                    reviews.record_decision(data.home(), account_id, new_status, note, user)
                except reviews.ReviewError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["_account_flash"] = f"Saved: {new_status.replace('_', ' ')}."
                    st.rerun()
if flash := st.session_state.pop("_account_flash", None):
    st.success(flash)
past = reviews.history(data.home(), account_id)
if past.empty:
    st.caption("No decision on this account yet.")
else:
    st.dataframe(past[["decided_at", "status", "author", "note"]], hide_index=True,
                 width="stretch", key="review_history")
