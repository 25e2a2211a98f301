"""Data quality: nights processed, rows loaded and quarantined per table, GX results, Data Docs."""

from __future__ import annotations

import datetime as dt

import altair as alt
import streamlit as st

from dashboard import data, ui

snap = ui.page_header("Data quality")
runs = data.pipeline_runs(snap)

st.subheader("Nights processed")
if runs.empty:
    st.info("No pipeline run recorded.")
else:
    ok = int((runs["status"] == "success").sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("Nights processed", len(runs))
    c2.metric("Succeeded", ok)
    c3.metric("Failed", len(runs) - ok)
    st.dataframe(ui.runs_for_display(runs), hide_index=True, width="stretch", key="dq_runs")

nights = sorted({str(d)[:10] for d in runs["export_date"]}, reverse=True) if len(runs) else []
night = st.selectbox("Night", ["all nights", *nights], key="dq_night")
chosen = None if night == "all nights" else dt.date.fromisoformat(night)

st.subheader("Rows loaded and quarantined per table")
files = data.load_files(snap, chosen)
if files.empty:
    st.info("No file loaded for this selection.")
else:
    per_table = files.groupby("table_name", as_index=False)[
        ["rows_expected", "rows_loaded", "rows_quarantined"]].sum()
    st.dataframe(per_table, hide_index=True, width="stretch", key="dq_tables")
    totals = data.load_totals(snap)
    st.altair_chart(alt.Chart(totals).mark_bar().encode(
        x=alt.X("yearmonthdate(export_date):O", title="night"),
        y=alt.Y("rows_quarantined:Q", title="rows quarantined"),
        color=alt.Color("table_name:N", title="table"),
        tooltip=["export_date:T", "table_name:N", "rows_loaded:Q", "rows_quarantined:Q"],
    ), width="stretch")
    with st.expander("Per file"):
        st.dataframe(files, hide_index=True, width="stretch")

st.subheader("Quarantined rows by rule")
quarantine = data.quarantine_summary(snap, chosen)
if quarantine.empty:
    st.caption("No row quarantined.")
else:
    st.dataframe(quarantine, hide_index=True, width="stretch", key="dq_quarantine")

st.subheader("Great Expectations results")
failed_only = st.toggle("Failed expectations only", value=True, key="dq_failed")
gx = data.gx_results(snap, chosen, failed_only)
if gx.empty:
    st.success("Every expectation passed." if failed_only else "No GX result recorded.")
else:
    st.dataframe(gx, hide_index=True, width="stretch", key="dq_gx")

docs = data.home().data_docs / "index.html"
st.subheader("Data Docs")
if docs.exists():
    st.markdown(f"Great Expectations Data Docs: [open]({docs.as_uri()}) "
                f"(a local file; open it from a browser on this machine).")
    st.code(str(docs), language=None)
else:
    st.caption(f"No Data Docs yet at {ui.md_escape(docs)}: they are built by the nightly "
               "validation step.")
