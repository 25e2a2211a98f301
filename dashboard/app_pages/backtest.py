"""Backtest (admins): the active rules configuration and its history; try a weight, threshold
or tier change on past nights in a scratch copy before it ships (itw_radar.backtest; the same as
`itw-radar backtest`), propose it with a reason, and review another admin's proposals
(itw_radar.rules; the same as `itw-radar rules`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, data, ui
from itw_radar import backtest, rules
from itw_radar.dbt_runner import DbtError

snap = ui.page_header("Backtest")
user = auth.require("rules.backtest", "Backtesting a rule change")

home = data.home()
may_apply = auth.can(user, "rules.apply")


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


active = rules.active(home)
proposals = rules.history(home)
pending = [p for p in proposals if p.status == "pending"]
st.subheader("Active configuration")
st.caption(f"Rules version {active.version}: the project's defaults overlaid by "
           f"{active.version} approved change(s), in the order of approval; "
           f"{len(pending)} proposal(s) pending. A change scores the nights processed after its "
           "approval; `itw-radar rebuild` re-scores the history with it.")
table = pd.DataFrame(rules.settings(home))
changed = table[table["changed"] | table["source"].str.startswith("#")]
if changed.empty:
    st.info("Every weight, threshold and tier is the project's default.")
else:
    st.dataframe(changed.drop(columns="changed"), hide_index=True, width="stretch",
                 key="rules_active")
with st.expander("Every weight, threshold and tier"):
    st.dataframe(table.drop(columns="changed"), hide_index=True, width="stretch",
                 key="rules_all")
for key in active.ignored:
    st.warning(f"Ignored: {key}: the project no longer has this setting.")

st.subheader("Backtest a change")
st.caption("Every loaded night is rebuilt with the change laid over the active "
           "configuration in a scratch copy under `<home>/backtest/`, and compared with the "
           "warehouse as it was built; the warehouse and the published results are only read. "
           "This takes as long as `itw-radar rebuild`: minutes on a small platform.")
with st.form("backtest_form"):
    change_text = st.text_area(
        "Change (YAML: weights:, thresholds:, tiers:)", key="bt_change", height=180,
        placeholder="weights:\n  foreign_hours: 0.5\nthresholds:\n  low_rate: {max_ratio: 0.5}"
                    "\ntiers:\n  medium: 30")
    nights = st.number_input("Compare the last N nights", min_value=1, max_value=365, value=7,
                             key="bt_nights")
    run = st.form_submit_button("Run backtest", type="primary")

if run:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "change.yml"
        path.write_text(change_text or "")
        try:
            change = backtest.load_change(path)
            with st.spinner("Rebuilding the nights in a scratch copy ..."):
                result = backtest.run_backtest(home, change, int(nights))
        except (backtest.BacktestError, DbtError) as exc:
            st.error(str(exc).replace(str(path), "the change"))
            st.stop()
    st.session_state["bt_result"] = result
    st.session_state["bt_result_change"] = change_text or ""

result = st.session_state.get("bt_result")
if result is not None:
    st.subheader(f"{len(result.nights)} nights, {result.nights[0]} to {result.nights[-1]}")
    moves = pd.DataFrame([{"night": m.night, "tier": m.tier, "enter": len(m.entered),
                           "leave": len(m.left)} for m in result.movements])
    st.dataframe(moves, hide_index=True, width="stretch", key="bt_moves")
    listed = pd.DataFrame(result.mover_rows(),
                          columns=["night", "tier", "move", "account_id", "reasons"])
    st.caption("Accounts that would enter or leave a tier, night by night, with their reasons "
               "(entering: after the change; leaving: before it; addresses and devices masked)")
    if listed.empty:
        st.info("No account would change tier on any night of the window.")
    else:
        st.dataframe(ui.visible_frame(ui.masked_frame(listed)), hide_index=True,
                     width="stretch", key="bt_listed")
    quality = pd.DataFrame([
        {"": side, "precision": q.precision, "recall": q.recall,
         "confirmed flagged": f"{q.flagged_confirmed} of {q.confirmed}",
         "false positives flagged": f"{q.flagged_false_positive} of {q.false_positive}"}
        for side, q in (("before", result.before), ("after", result.after))])
    st.caption("Against the analysts' decisions on the last night (flagged = high or medium)")
    st.dataframe(quality, hide_index=True, width="stretch", key="bt_quality")
    with st.expander("The backtest as text (for a ticket or the proposal's review)"):
        st.code(backtest.format_result(result), language="markdown")
    st.caption(f"Laid over rules version {result.base_version}; scratch copy: "
               f"{ui.md_escape(result.scratch)}")
    if may_apply:
        with st.form("rules_propose_form"):
            st.markdown("**Propose this change**: it applies once another admin approves it.")
            st.code(st.session_state.get("bt_result_change", ""), language="yaml")
            why = st.text_area("Why (recorded with the proposal)", key="rules_propose_reason")
            propose = st.form_submit_button("Propose", type="primary")
        if propose:
            try:
                pid = rules.propose(home, st.session_state.get("bt_result_change", ""), why,
                                    user, result.scratch)
            except (rules.RulesError, backtest.BacktestError) as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("bt_result", None)
                st.session_state["rules_flash"] = f"Proposed #{pid}: another admin reviews it."
                st.rerun()

if flash := st.session_state.pop("rules_flash", None):
    st.success(flash)

st.subheader("Pending proposals")
if not pending:
    st.info("No proposal waits for a review.")
for p in pending:
    with st.form(f"rules_decide_{p.proposal_id}"):
        st.markdown(f"**#{p.proposal_id}** by {ui.md_escape(p.proposed_by)}, "
                    f"{_when(p.proposed_at)}, on rules version {p.based_on_version}: "
                    f"{ui.md_escape(p.reason)}")
        st.code(p.change_yaml, language="yaml")
        if p.backtest_summary:
            with st.expander("The backtest it was checked with"):
                st.text(p.backtest_summary)
        else:
            st.warning("Proposed without a backtest.")
        stale = p.based_on_version != active.version
        if stale:
            st.warning(f"Proposed on rules version {p.based_on_version}; version "
                       f"{active.version} is active now, so its backtest no longer shows what "
                       "it does.")
        own = p.proposed_by == user
        if own:
            st.caption("You proposed it: another admin approves it; you can withdraw it.")
        why = st.text_input("Why (recorded with the decision)",
                            key=f"rules_decide_reason_{p.proposal_id}")
        stale_ok = (st.checkbox("Approve although the configuration changed since",
                                key=f"rules_stale_ok_{p.proposal_id}") if stale else False)
        approve = st.form_submit_button("Approve", type="primary",
                                        disabled=own or not may_apply)
        reject = st.form_submit_button("Withdraw" if own else "Reject",
                                       disabled=not may_apply)
    if approve or reject:
        try:
            done = rules.decide(home, p.proposal_id, "approved" if approve else "rejected",
                                why, user, allow_stale=stale_ok)
        except rules.RulesError as exc:
            st.error(str(exc))
        else:
            st.session_state["rules_flash"] = (
                f"#{done.proposal_id} {done.decision}" + (
                    ": it scores from the next night." if approve else "."))
            st.rerun()

st.subheader("History")
if not proposals:
    st.info("No rule change proposed yet.")
else:
    st.dataframe(pd.DataFrame([{
        "id": p.proposal_id, "status": p.status, "change": rules.describe(p.change),
        "proposed by": p.proposed_by, "proposed at": _when(p.proposed_at),
        "reason": p.reason, "on version": p.based_on_version,
        "backtest": p.backtest_dir or "", "decided by": p.decided_by or "",
        "decided at": _when(p.decided_at), "decision reason": p.decision_reason or ""}
        for p in reversed(proposals)]), hide_index=True, width="stretch", key="rules_history")
