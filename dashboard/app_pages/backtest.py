"""Backtest (admins): try a weight, threshold or tier change on past nights in a scratch copy
before it ships (itw_radar.backtest; the same as `itw-radar backtest`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, data, ui
from itw_radar import backtest
from itw_radar.dbt_runner import DbtError

snap = ui.page_header("Backtest")
user = auth.current_user() or ""
if not auth.can(user, "rules.backtest"):
    st.info("Backtesting a rule change is for admins (your roles: "
            f"{', '.join(sorted(auth.user_roles(user))) or 'none'}).")
    st.stop()

st.caption("Every loaded night is rebuilt with the change in a scratch copy under "
           "`<home>/backtest/`; the warehouse and the published results are only read. This "
           "takes as long as `itw-radar rebuild`: minutes on a small platform.")
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
                result = backtest.run_backtest(data.home(), change, int(nights))
        except (backtest.BacktestError, DbtError) as exc:
            st.error(str(exc).replace(str(path), "the change"))
            st.stop()
    st.session_state["bt_result"] = result

result = st.session_state.get("bt_result")
if result is not None:
    st.subheader(f"{len(result.nights)} nights, {result.nights[0]} to {result.nights[-1]}")
    moves = pd.DataFrame([{"night": m.night, "tier": m.tier, "enter": len(m.entered),
                           "leave": len(m.left)} for m in result.movements])
    st.dataframe(moves, hide_index=True, width="stretch", key="bt_moves")
    last = [m for m in result.movements if m.night == result.nights[-1]]
    listed = pd.DataFrame(
        [{"tier": m.tier, "move": "enter", "account_id": a,
          "reasons": result.reasons_after.get(a, "")} for m in last for a in m.entered]
        + [{"tier": m.tier, "move": "leave", "account_id": a,
            "reasons": result.reasons_before.get(a, "")} for m in last for a in m.left])
    st.caption(f"Accounts that would move on {result.nights[-1]}")
    if listed.empty:
        st.info("No account would change tier on the last night.")
    else:
        st.dataframe(ui.visible_frame(listed), hide_index=True, width="stretch",
                     key="bt_listed")
    quality = pd.DataFrame([
        {"": side, "precision": q.precision, "recall": q.recall,
         "confirmed flagged": f"{q.flagged_confirmed} of {q.confirmed}",
         "false positives flagged": f"{q.flagged_false_positive} of {q.false_positive}"}
        for side, q in (("before", result.before), ("after", result.after))])
    st.caption("Against the analysts' decisions on the last night (flagged = high or medium)")
    st.dataframe(quality, hide_index=True, width="stretch", key="bt_quality")
    st.caption(f"Scratch copy: {ui.md_escape(result.scratch)}")
