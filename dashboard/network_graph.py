"""The Networks page's cluster graph: a networkx layout drawn with Plotly.

Plotly gives zoom (mouse wheel, box), pan (drag) and hover; Streamlit ships plotly.js in its own
frontend, so the graph needs no internet. networkx lays the cluster out (Kamada-Kawai, which
keeps linked accounts close and spreads the rest evenly; a spring layout past
KAMADA_KAWAI_MAX_NODES). Labels are placed so that none overlaps another label or a node:
accounts in order of risk get a label above, below, right or left of their node, whichever fits
first, drawn centred on the box that was checked (the plot area is exactly WIDTH x height pixels
for as many axis units); an account whose label fits nowhere at this size shows its id on
hover. Text from the data is HTML-escaped before Plotly sees it.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import pandas as pd
import plotly.graph_objects as go

from dashboard.ui import TIER_COLORS

# strongest first (the colour of a pair sharing several identifiers), as int_account_links
# weighs them
LINK_ORDER = ("document_number", "face_phash", "image_phash", "payout_fingerprint",
              "payment_fingerprint", "device", "phone", "ip_day")
LINK_COLORS = {
    "document_number": "#6a1b9a", "face_phash": "#8e24aa", "image_phash": "#ab47bc",
    "payout_fingerprint": "#1565c0", "payment_fingerprint": "#1e88e5", "device": "#00897b",
    "phone": "#6d4c41", "ip_day": "#78909c",
}
WIDTH = 900
HEIGHT = 640  # for a large cluster; small ones get a lower canvas (height_for)
PAD_X = 70  # room for labels at the sides
PAD_Y = 30
FONT_PX = 11
CHAR_PX = 7.0  # a generous average glyph width at FONT_PX
LINE_PX = 15
LABEL_CHARS = 14
LEGEND_PX = 40  # below the plot area
KAMADA_KAWAI_MAX_NODES = 200


def height_for(accounts: int) -> int:
    """Canvas height: a pair or a handful of accounts need less room than a hundred."""
    return 360 if accounts <= 8 else 480 if accounts <= 30 else HEIGHT


@dataclass(frozen=True)
class Label:
    account_id: str
    text: str
    side: str  # of the node: above, below, right, left
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels (y up)

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def short_label(account_id: str, limit: int = LABEL_CHARS) -> str:
    """The id itself, or its start and end around an ellipsis (hover shows it whole)."""
    if len(account_id) <= limit:
        return account_id
    head = (limit - 1) // 2
    return account_id[:head] + "…" + account_id[-(limit - 1 - head):]


def layout(nodes: Sequence[str],
           edges: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Pixel positions inside WIDTH x height_for(nodes) (minus padding), deterministic (cached:
    Kamada-Kawai takes about a second and a half for 100 accounts, and the page reruns on every
    click)."""
    return dict(_layout(tuple(sorted(set(nodes))), tuple(sorted(set(edges)))))


@functools.lru_cache(maxsize=64)
def _layout(nodes: tuple[str, ...],
            edges: tuple[tuple[str, str], ...]) -> tuple[tuple[str, tuple[float, float]], ...]:
    g = nx.Graph()
    g.add_nodes_from(sorted(nodes))
    g.add_edges_from((a, b) for a, b in edges if a in g and b in g and a != b)
    if len(g) == 0:
        return ()
    if len(g) == 1:
        raw = {next(iter(g)): (0.0, 0.0)}
    elif len(g) <= KAMADA_KAWAI_MAX_NODES and nx.is_connected(g):
        raw = nx.kamada_kawai_layout(g)
    else:
        raw = nx.spring_layout(g, seed=7, iterations=200)
    xs = [float(p[0]) for p in raw.values()]
    ys = [float(p[1]) for p in raw.values()]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0

    def scale(v: float, lo: float, span: float, size: int, pad: int) -> float:
        return pad + (v - lo) / span * (size - 2 * pad) if span else size / 2

    return tuple((n, (scale(float(p[0]), min(xs), span_x, WIDTH, PAD_X),
                      scale(float(p[1]), min(ys), span_y, height_for(len(g)), PAD_Y)))
                 for n, p in sorted(raw.items()))


def node_size(score: float) -> float:
    """Marker diameter in pixels, 10 to 24 with the risk score."""
    return 10.0 + 14.0 * max(0.0, min(100.0, score)) / 100.0


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(pos: dict[str, tuple[float, float]], sizes: dict[str, float],
                 order: Sequence[str]) -> list[Label]:
    """Labels for the accounts in `order` (most important first) that overlap no label and no
    node; each tries above, below, right and left of its node."""
    height = height_for(len(pos))
    nodes = {a: (x - sizes[a] / 2, y - sizes[a] / 2, x + sizes[a] / 2, y + sizes[a] / 2)
             for a, (x, y) in pos.items()}
    placed: list[Label] = []
    for account in order:
        x, y = pos[account]
        r = sizes[account] / 2
        text = short_label(account)
        w = len(text) * CHAR_PX
        h = LINE_PX
        candidates = [
            ("above", (x - w / 2, y + r + 1, x + w / 2, y + r + 1 + h)),
            ("below", (x - w / 2, y - r - 1 - h, x + w / 2, y - r - 1)),
            ("right", (x + r + 2, y - h / 2, x + r + 2 + w, y + h / 2)),
            ("left", (x - r - 2 - w, y - h / 2, x - r - 2, y + h / 2)),
        ]
        for side, box in candidates:
            if box[0] < 0 or box[2] > WIDTH or box[1] < 0 or box[3] > height:
                continue
            if any(_overlaps(box, other.box) for other in placed):
                continue
            if any(_overlaps(box, nb) for nb in nodes.values()):
                continue
            placed.append(Label(account, text, side, box))
            break
    return placed


def _esc(value: object) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value))
                       else str(value))


def figure(members: pd.DataFrame, links: pd.DataFrame) -> tuple[go.Figure, list[Label]]:
    """The cluster graph: members (account_id, risk_score, risk_tier, country, account_type)
    and undirected links (source, target, link_type, link_value)."""
    ids = [str(a) for a in members["account_id"]]
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for row in links.itertuples(index=False):
        a, b = sorted((str(row.source), str(row.target)))
        pairs.setdefault((a, b), []).append((str(row.link_type), str(row.link_value)))
    pos = layout(ids, list(pairs))
    scores = {str(r.account_id): float(r.risk_score) if pd.notna(r.risk_score) else 0.0
              for r in members.itertuples(index=False)}
    sizes = {a: node_size(scores.get(a, 0.0)) for a in ids}
    degree = {a: 0 for a in ids}
    for a, b in pairs:
        if a in degree and b in degree:
            degree[a] += 1
            degree[b] += 1

    fig = go.Figure()
    rank = {t: i for i, t in enumerate(LINK_ORDER)}
    by_type: dict[str, list[tuple[str, str]]] = {}
    for pair, shared in pairs.items():
        if pair[0] in pos and pair[1] in pos:
            strongest = min((t for t, _ in shared), key=lambda t: (rank.get(t, 99), t))
            by_type.setdefault(strongest, []).append(pair)
    for link_type in sorted(by_type, key=lambda t: (rank.get(t, 99), t)):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for a, b in by_type[link_type]:
            xs += [pos[a][0], pos[b][0], None]
            ys += [pos[a][1], pos[b][1], None]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=link_type, hoverinfo="skip",
            line={"width": 2, "color": LINK_COLORS.get(link_type, "#90a4ae")}))
    # hover for the links: an invisible point in the middle of each
    mids = [(a, b) for a, b in pairs if a in pos and b in pos]
    fig.add_trace(go.Scatter(
        x=[(pos[a][0] + pos[b][0]) / 2 for a, b in mids],
        y=[(pos[a][1] + pos[b][1]) / 2 for a, b in mids],
        mode="markers", marker={"size": 9, "opacity": 0}, showlegend=False, name="links",
        customdata=[["link", a, b] for a, b in mids],
        hovertemplate="%{text}<extra></extra>",
        text=[f"{_esc(a)} – {_esc(b)}<br>" + "<br>".join(
            f"{_esc(t)}: {_esc(v)}" for t, v in sorted(pairs[(a, b)])) for a, b in mids]))
    info = {str(r.account_id): r for r in members.itertuples(index=False)}
    fig.add_trace(go.Scatter(
        x=[pos[a][0] for a in ids], y=[pos[a][1] for a in ids], mode="markers",
        name="accounts", showlegend=False,
        marker={"size": [sizes[a] for a in ids],
                "color": [TIER_COLORS.get(str(info[a].risk_tier or "none"), "#9e9e9e")
                          for a in ids],
                "line": {"width": 1, "color": "black"}},
        customdata=[["account", a] for a in ids],
        hovertemplate="%{text}<extra></extra>",
        text=[f"<b>{_esc(a)}</b><br>score {scores.get(a, 0.0):.1f} "
              f"({_esc(info[a].risk_tier or 'none')})<br>{_esc(info[a].account_type)}, "
              f"{_esc(info[a].country)}<br>{degree[a]} linked account(s)" for a in ids]))
    order = sorted(ids, key=lambda a: (-scores.get(a, 0.0), -degree[a], a))
    labels = place_labels(pos, sizes, order)
    if labels:
        fig.add_trace(go.Scatter(
            # centred on the box that was checked (Plotly's own text offsets are not exact)
            x=[lab.center[0] for lab in labels], y=[lab.center[1] for lab in labels],
            mode="text", text=[_esc(lab.text) for lab in labels],
            textposition="middle center",
            textfont={"size": FONT_PX}, hoverinfo="skip", showlegend=False, name="labels"))
    # the plot area is WIDTH x height pixels for as many units: labels are placed in pixels
    height = height_for(len(pos))
    axis = {"visible": False, "range": [0, WIDTH], "fixedrange": False}
    fig.update_layout(
        width=WIDTH, height=height + LEGEND_PX,
        margin={"l": 0, "r": 0, "t": 0, "b": LEGEND_PX, "autoexpand": False},
        xaxis=axis, yaxis={**axis, "range": [0, height], "scaleanchor": "x"},
        dragmode="pan", hovermode="closest", plot_bgcolor="white", paper_bgcolor="white",
        legend={"title": {"text": "shared identifier"}, "orientation": "h", "y": 0,
                "yanchor": "top"},
    )
    return fig, labels


PLOTLY_CONFIG = {"scrollZoom": True, "displaylogo": False,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
