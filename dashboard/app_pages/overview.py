"""Overview: tiers tonight, change since yesterday, new high-risk accounts, payouts, trends."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import auth, charts, data, ui
from itw_radar import alerts, reviews

snap = ui.page_header("Overview")

counts = data.tier_counts(snap)
cols = st.columns(4)
for col, row in zip(cols, counts.itertuples(index=False), strict=False):
    delta = int(row.tonight) - int(row.before)
    label = "No risk" if row.risk_tier == "none" else f"{row.risk_tier.capitalize()} risk"
    col.metric(label, f"{int(row.tonight):,}",
               delta=f"{delta:+,} since the night before",
               delta_color="inverse" if row.risk_tier != "none" else "off")

payouts = data.high_risk_payouts(snap, days=30)
new_high = data.new_high(snap, limit=50)
runs = data.pipeline_runs(snap, limit=1)
c1, c2, c3 = st.columns(3)
c1.metric("New high-risk accounts tonight", f"{len(new_high):,}")
c2.metric("Paid out to high-risk accounts, last 30 nights",
          f"${float(payouts['payout_usd'].sum()) if len(payouts) else 0.0:,.2f}",
          help="Sum of payouts_daily over the last 30 nights to accounts that are high risk "
               "tonight.")
if len(runs):
    run = runs.iloc[0]
    c3.metric("Last pipeline run", str(run["export_date"])[:10],
              delta=str(run["status"]), delta_color="normal" if run["status"] == "success"
              else "inverse", delta_arrow="off")
    if run["status"] != "success" and isinstance(run["error"], str):
        st.error(f"Last run failed: {ui.md_escape(run['error'])}")
    else:
        st.caption(f"Last run finished {ui.fmt_date(run['finished_at'])}.")
else:
    c3.metric("Last pipeline run", "none")

st.subheader("New high-risk accounts")
if new_high.empty:
    st.info("No account became high risk tonight.")
else:
    shown = ui.visible_frame(ui.masked_frame(new_high))
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "risk_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100,
                                                      format="%.1f"),
        "reasons": st.column_config.TextColumn("top reasons", width="large"),
    })
    ui.account_picker("Open account", new_high["account_id"].tolist(), key="overview_open")

left, right = st.columns(2)
with left:
    st.subheader("Accounts per tier")
    trend = data.tier_trend(snap)
    if trend.empty:
        st.info("No tier history yet.")
    else:
        chart = alt.Chart(trend).mark_line(point=True).encode(
            x=alt.X("as_of_date:T", title="night"),
            y=alt.Y("accounts:Q", title="accounts"),
            color=alt.Color("risk_tier:N", title="tier",
                            scale=alt.Scale(domain=ui.TIER_ORDER[:3],
                                            range=[ui.TIER_COLORS[t] for t in ui.TIER_ORDER[:3]])),
            tooltip=["as_of_date:T", "risk_tier:N", "accounts:Q", "new_accounts:Q"],
        )
        st.altair_chart(chart, width="stretch")
with right:
    st.subheader("Daily hits per indicator")
    ind = data.indicator_trend(snap)
    if ind.empty:
        st.info("No indicator has fired yet.")
    else:
        st.altair_chart(charts.indicator_heatmap(ind), width="stretch")
    catalog = data.indicators(snap)
    no_data = catalog[catalog["data_status"] != "ok"]
    if len(no_data):
        st.warning("No data from this platform for " + "; ".join(
            f"{row.name} ({row.data_status.removeprefix('no data from this platform: ')})"
            for row in no_data.itertuples())
            + ": these indicators cannot fire, and their zero hits mean nothing.")

if len(payouts):
    st.subheader("Payouts to high-risk accounts per night")
    st.altair_chart(alt.Chart(payouts).mark_bar(color=ui.TIER_COLORS["high"]).encode(
        x=alt.X("yearmonthdate(as_of_date):O", title="night"), y=alt.Y("payout_usd:Q", title="USD"),
        tooltip=["as_of_date:T", alt.Tooltip("payout_usd:Q", format=",.2f"), "accounts:Q"],
    ), width="stretch")

with st.expander("Tonight's alert digest (what the risk team was sent)"):
    title, body = data.alert_digest(snap)
    st.markdown(f"**{ui.md_escape(title)}**")
    st.code(body, language=None)
    st.caption("Sent after each published night to the services set in ITW_RADAR_ALERT_URLS or "
               "the Airflow connection itw_radar_alerts; `itw-radar alert --send` sends it again.")
# admins can send it again from here, to try a new destination
if auth.can(auth.current_user(), "alerts.send") and st.button(
        "Send tonight's digest now", key="alert_send",
        help="The digest above, through the same Apprise set-up as the nightly alert task."):
    try:
        sent = alerts.send(title, body)
    except Exception as exc:  # a service that refuses: say which, keep the page
        st.error(f"Not sent: {exc}")
    else:
        if sent:
            st.success("Sent to the configured alert services.")
        else:
            st.warning("Alerts are not set up: set ITW_RADAR_ALERT_URLS or the Airflow "
                       "connection itw_radar_alerts (docs/dashboard.md, Alerts).")

st.subheader("Reviewer precision")
precision = reviews.reviewer_precision(data.home())
if precision.empty:
    st.info("No review decisions yet: decisions made on the Account or Reviews page count here.")
else:
    overall = precision[precision["author"] == "all"]
    if len(overall) and not pd.isna(overall["precision"].iloc[0]):
        st.metric("Confirmed / (confirmed + false positive)",
                  f"{float(overall['precision'].iloc[0]):.0%}")
    st.dataframe(precision, hide_index=True, width="stretch", column_config={
        "precision": st.column_config.NumberColumn(format="percent"),
    })
