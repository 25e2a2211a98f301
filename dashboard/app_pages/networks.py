"""Networks: a cluster's accounts and the identifiers that link them, drawn as a graph."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, network_graph, ui
from itw_radar import cases

snap = ui.page_header("Networks")
clusters = data.clusters(snap)
if clusters.empty:
    st.info("No linked-account cluster in the night shown.")
    st.stop()

st.dataframe(clusters, hide_index=True, width="stretch", height=220, key="clusters_table",
             column_config={
                 "combined_score": st.column_config.ProgressColumn(
                     "combined score", min_value=0, max_value=100, format="%.1f"),
                 "max_score": st.column_config.NumberColumn("max score", format="%.1f"),
                 "link_types": st.column_config.TextColumn("linked by"),
             })
ids = clusters["cluster_id"].tolist()
wanted = st.query_params.get("cluster_id")
cluster_id = st.selectbox("Cluster", ids, index=ids.index(wanted) if wanted in ids else 0,
                          key="cluster_pick")
if st.query_params.get("cluster_id") != cluster_id:
    st.query_params["cluster_id"] = cluster_id

info = clusters[clusters["cluster_id"] == cluster_id].iloc[0]
c1, c2, c3 = st.columns(3)
c1.metric("Combined score", f"{float(info['combined_score']):.1f}")
c2.metric("Accounts", int(info["accounts"]))
c3.metric("Highest account score", f"{float(info['max_score']):.1f}")

members = data.cluster_members(snap, cluster_id)
# shared identifiers (addresses, devices, fingerprints) masked: the Account page reveals them
links = ui.masked_frame(data.cluster_links(snap, cluster_id))
fig, labels = network_graph.figure(members, links)
st.caption("Drag to pan, scroll or draw a box to zoom (double-click resets), hover an account "
           "or the middle of a link for details, click an account to open its page. Line "
           "colour: the strongest identifier the two accounts share. "
           f"{len(labels)} of {len(members)} accounts labelled; the others show their id on "
           "hover.")
event = st.plotly_chart(fig, width="content", config=network_graph.PLOTLY_CONFIG,
                        on_select="rerun", selection_mode=("points",),
                        key=f"graph_{cluster_id}")
chosen: list[str] = []
try:
    points = event.selection.points if event is not None else []
    chosen = [str(p["customdata"][1]) for p in points
              if isinstance(p, dict) and isinstance(p.get("customdata"), list)
              and len(p["customdata"]) == 2 and p["customdata"][0] == "account"]
except (AttributeError, KeyError, TypeError):
    chosen = []
if chosen:
    ui.open_account(chosen[0])

left, right = st.columns(2)
with left:
    st.caption("Accounts")
    st.dataframe(members, hide_index=True, width="stretch", key="members_table")
with right:
    st.caption("Links")
    st.dataframe(links, hide_index=True, width="stretch", key="links_table")
ui.account_picker("Open account", members["account_id"].tolist(), key="network_open")

user = auth.current_user() or ""
if auth.can(user, "cases.edit") and st.button(
        f"Open a case on this cluster ({len(members)} accounts)", key="cluster_case",
        help="One case holding every account of the cluster, assigned to you; it opens on "
             "Cases."):
    try:
        cid = cases.create_case(data.home(), f"Cluster {cluster_id}",
                                members["account_id"].tolist(), user, assignee=user)
    except cases.CaseError as exc:
        st.error(str(exc))
    else:
        st.session_state["case_pick"] = cid
        st.switch_page(ui.CASES_PAGE)

if len(links):
    per_type = links.groupby("link_type").size().reset_index(name="links")
    st.caption("Links per identifier: " + ", ".join(
        f"{ui.md_escape(r.link_type)} {r.links}" for r in per_type.itertuples(index=False)))
