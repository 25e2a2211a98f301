"""Networks: a cluster's accounts and the identifiers that link them, drawn as a graph."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import data, ui

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
links = data.cluster_links(snap, cluster_id)
layout = ui.graph_layout(members["account_id"].tolist(),
                         list(zip(links["source"], links["target"], strict=False)))
nodes = members.assign(x=members["account_id"].map(lambda a: layout[a][0]),
                       y=members["account_id"].map(lambda a: layout[a][1]),
                       risk_tier=members["risk_tier"].fillna("none"),
                       risk_score=members["risk_score"].fillna(0.0))
edges = links.assign(
    x=links["source"].map(lambda a: layout.get(a, (0, 0))[0]),
    y=links["source"].map(lambda a: layout.get(a, (0, 0))[1]),
    x2=links["target"].map(lambda a: layout.get(a, (0, 0))[0]),
    y2=links["target"].map(lambda a: layout.get(a, (0, 0))[1]),
)
edges = edges.assign(mx=(edges["x"] + edges["x2"]) / 2, my=(edges["y"] + edges["y2"]) / 2)

axis = alt.Axis(labels=False, ticks=False, grid=False, title=None, domain=False)
scale = alt.Scale(domain=[-1.25, 1.25])
pick = alt.selection_point(fields=["account_id"], name="pick", on="click")
edge_layer = alt.Chart(edges).mark_rule(strokeWidth=2.5, opacity=0.7).encode(
    x=alt.X("x:Q", axis=axis, scale=scale), y=alt.Y("y:Q", axis=axis, scale=scale),
    x2="x2:Q", y2="y2:Q",
    color=alt.Color("link_type:N", title="shared identifier"),
    tooltip=["link_type:N", "link_value:N", "source:N", "target:N"],
)
edge_labels = alt.Chart(edges).mark_text(fontSize=10, dy=-6, color="#555").encode(
    x=alt.X("mx:Q", axis=axis, scale=scale), y=alt.Y("my:Q", axis=axis, scale=scale),
    text="link_type:N",
)
node_layer = alt.Chart(nodes).mark_circle(stroke="black", strokeWidth=1, opacity=1).encode(
    x=alt.X("x:Q", axis=axis, scale=scale), y=alt.Y("y:Q", axis=axis, scale=scale),
    size=alt.Size("risk_score:Q", scale=alt.Scale(domain=[0, 100], range=[150, 900]),
                  legend=None),
    fill=alt.Fill("risk_tier:N", title="tier",
                  scale=alt.Scale(domain=ui.TIER_ORDER,
                                  range=[ui.TIER_COLORS[t] for t in ui.TIER_ORDER])),
    tooltip=["account_id:N", "risk_score:Q", "risk_tier:N", "country:N", "account_type:N"],
).add_params(pick)
node_labels = alt.Chart(nodes).mark_text(dy=-18, fontSize=11, fontWeight="bold").encode(
    x=alt.X("x:Q", axis=axis, scale=scale), y=alt.Y("y:Q", axis=axis, scale=scale),
    text="account_id:N",
)
chart = alt.layer(edge_layer, edge_labels, node_layer, node_labels).properties(
    height=480).resolve_scale(color="independent")
st.caption("Click an account to open its page. Edge colour and label: the identifier the two "
           "accounts share.")
event = st.altair_chart(chart, width="stretch", on_select="rerun", selection_mode=["pick"],
                        key=f"graph_{cluster_id}")
chosen = []
try:
    chosen = event.selection.get("pick", []) if event is not None else []
except AttributeError:
    chosen = []
if chosen and isinstance(chosen[0], dict) and chosen[0].get("account_id"):
    ui.open_account(str(chosen[0]["account_id"]))

left, right = st.columns(2)
with left:
    st.caption("Accounts")
    st.dataframe(members, hide_index=True, width="stretch", key="members_table")
with right:
    st.caption("Links")
    st.dataframe(links, hide_index=True, width="stretch", key="links_table")
ui.account_picker("Open account", members["account_id"].tolist(), key="network_open")

if len(links):
    per_type = links.groupby("link_type").size().reset_index(name="links")
    st.caption("Links per identifier: " + ", ".join(
        f"{ui.md_escape(r.link_type)} {r.links}" for r in per_type.itertuples(index=False)))
