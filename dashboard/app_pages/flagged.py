"""Flagged accounts: the ranked list with filters, search, sorting, paging and CSV export."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import data, ui

snap = ui.page_header("Flagged accounts")
options = data.filter_options(snap)
nights = data.nights(snap)
live = data.live_reviews()

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    tiers = c1.multiselect("Tier", list(data.TIERS), default=list(data.FLAGGED_TIERS),
                           key="f_tiers")
    indicator_names = dict(zip(data.indicators(snap)["indicator_id"],
                               data.indicators(snap)["name"], strict=False))
    inds = c2.multiselect("Indicator fired", options["indicators"], key="f_indicators",
                          format_func=lambda i: indicator_names.get(i, i))
    countries = c3.multiselect("Country", options["countries"], key="f_countries")
    categories = c4.multiselect("Category", options["categories"], key="f_categories")
    c5, c6, c7 = st.columns([2, 2, 3])
    statuses = c5.multiselect("Review status", list(data.REVIEW_FILTER_VALUES),
                              key="f_reviews")
    hits_from = hits_to = None
    if nights:
        picked = c6.date_input("Indicator fired between", value=(nights[0], nights[-1]),
                               min_value=nights[0], max_value=nights[-1], key="f_dates")
        if isinstance(picked, tuple | list) and len(picked) == 2:
            hits_from, hits_to = picked
            if hits_from == nights[0] and hits_to == nights[-1] and not inds:
                hits_from = hits_to = None  # the whole history: no filter
    search = c7.text_input("Search account id or name", key="f_search",
                           placeholder="e.g. A0001 or Park", max_chars=200)

filters = data.FlagFilters(
    tiers=tuple(tiers), indicators=tuple(inds), countries=tuple(countries),
    categories=tuple(categories), hits_from=hits_from, hits_to=hits_to,
    review_statuses=tuple(statuses), search=search or "",
)

if st.session_state.get("_f_last") != filters:  # new filters: back to the first page
    st.session_state["_f_last"] = filters
    st.session_state["f_page"] = 1
    st.session_state.pop("export_csv", None)

s1, s2, s3, s4 = st.columns([2, 2, 1, 1])
sort = s1.selectbox("Sort by", list(data.SORTS), key="f_sort")
direction = s2.selectbox("Order", list(data.DIRECTIONS), key="f_dir")
page_size = s3.selectbox("Rows per page", [25, 50, 100, 200], index=1, key="f_page_size")
total = data.flagged_count(snap, filters, live)
pages = max(1, math.ceil(total / page_size))
if st.session_state.get("f_page", 1) > pages:
    st.session_state["f_page"] = 1
page = s4.number_input("Page", min_value=1, max_value=pages, step=1, key="f_page")

st.caption(f"**{total:,}** accounts match · page {page} of {pages:,}")
rows = data.flagged_page(snap, filters, live, sort=sort, direction=direction, page=int(page),
                         page_size=int(page_size))
if rows.empty:
    st.info("No account matches these filters.")
else:
    shown = ui.visible_frame(ui.masked_frame(
        rows.assign(name=rows["display_name"].map(ui.mask_name)).drop(columns=["display_name"])))
    event = st.dataframe(
        shown, hide_index=True, width="stretch", key="flagged_table",
        height=min(36 * (len(shown) + 1) + 3, 900),
        on_select="rerun", selection_mode="single-row",
        column_order=["account_id", "risk_score", "risk_tier", "reasons", "cluster_id",
                      "country", "account_age_days", "review_status", "indicators_fired",
                      "previous_tier", "categories", "name"],
        column_config={
            "account_id": st.column_config.TextColumn("account"),
            "risk_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100,
                                                          format="%.1f"),
            "risk_tier": st.column_config.TextColumn("tier"),
            "reasons": st.column_config.TextColumn("top reasons", width="large"),
            "cluster_id": st.column_config.TextColumn("cluster"),
            "account_age_days": st.column_config.NumberColumn("age (days)"),
            "review_status": st.column_config.TextColumn("review"),
            "indicators_fired": st.column_config.NumberColumn("indicators"),
            "name": st.column_config.TextColumn("name (masked)"),
        },
    )
    selected = event.selection.rows if event is not None else []
    if selected:
        ui.open_account(str(rows.iloc[selected[0]]["account_id"]))
    ui.account_picker("Open account", rows["account_id"].tolist(), key="flagged_open",
                      help="Or click a row in the table.")

with st.expander("Export the filtered list to CSV"):
    st.caption(f"Up to {data.EXPORT_MAX_ROWS:,} rows, in the order shown. Cells that start with "
               "= + - @ are prefixed with ' so spreadsheets do not run them as formulas. "
               "Names, addresses and devices are masked (personal data).")
    if st.button("Prepare CSV", key="export_prepare"):
        frame = data.flagged_export(snap, filters, live, sort=sort, direction=direction)
        frame = ui.masked_frame(frame.assign(display_name=frame["display_name"].map(ui.mask_name)))
        st.session_state["export_csv"] = ui.to_csv_bytes(frame)
        st.session_state["export_rows"] = len(frame)
    if "export_csv" in st.session_state:
        st.download_button(
            f"Download {st.session_state['export_rows']:,} rows",
            data=st.session_state["export_csv"], file_name=f"flagged-{data.as_of(snap)}.csv",
            mime="text/csv", key="export_download", on_click="ignore")
