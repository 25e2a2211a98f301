"""The Networks page's graph (dashboard/network_graph.py) on a 100-account cluster: every
account drawn inside the canvas, labels that overlap no other label and no node, the riskiest
accounts labelled first, hover text escaped, and the same picture on every run."""

from __future__ import annotations

import random
import sys
from itertools import combinations
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard import network_graph as ng  # noqa: E402


def _cluster(n: int = 100, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    ids = [f"acc_{i:08d}" for i in range(n - 1)] + ["<b>x</b>&<script>"]
    members = pd.DataFrame({
        "account_id": ids,
        "risk_score": [rng.random() * 100 for _ in ids],
        "risk_tier": [rng.choice(["high", "medium", "low", "none", None]) for _ in ids],
        "country": [rng.choice(["US", "DE", None]) for _ in ids],
        "account_type": "freelancer",
    })
    links = []
    for i in range(1, n):  # a tree, so the cluster is connected ...
        j = rng.randrange(0, i)
        links.append((ids[j], ids[i], "ip_day", f"10.0.0.{i}"))
    for _ in range(60):  # ... plus chords of other kinds, some pairs sharing two identifiers
        a, b = sorted(rng.sample(ids, 2))
        links.append((a, b, rng.choice(["device", "phone", "payout_fingerprint"]), "v"))
    frame = pd.DataFrame(links, columns=["source", "target", "link_type", "link_value"])
    frame[["source", "target"]] = [sorted(p) for p in zip(frame["source"], frame["target"],
                                                           strict=True)]
    return members, frame


def _trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


def test_a_100_account_cluster_is_drawn_with_labels_that_do_not_overlap() -> None:
    members, links = _cluster()
    fig, labels = ng.figure(members, links)
    nodes = _trace(fig, "accounts")
    assert sorted(c[1] for c in nodes.customdata) == sorted(members["account_id"])
    assert all(0 <= x <= ng.WIDTH for x in nodes.x) and all(0 <= y <= ng.height_for(100)
                                                            for y in nodes.y)
    # readable: most accounts labelled, none overlapping another label or any node
    assert len(labels) >= 40, len(labels)
    for a, b in combinations(labels, 2):
        assert not ng._overlaps(a.box, b.box), (a, b)
    sizes = dict(zip((c[1] for c in nodes.customdata), nodes.marker.size, strict=True))
    pos = dict(zip((c[1] for c in nodes.customdata), zip(nodes.x, nodes.y, strict=True),
                   strict=True))
    for lab in labels:
        for account, (x, y) in pos.items():
            r = sizes[account] / 2
            assert not ng._overlaps(lab.box, (x - r, y - r, x + r, y + r)), (lab, account)
        assert lab.box[0] >= 0 and lab.box[2] <= ng.WIDTH
    top = members.sort_values("risk_score", ascending=False)["account_id"].iloc[0]
    assert top in {lab.account_id for lab in labels}
    # the label trace carries exactly the placed labels
    trace = _trace(fig, "labels")
    assert list(zip(trace.x, trace.y, strict=True)) == [lab.center for lab in labels]


def test_hover_text_is_escaped_and_links_name_every_shared_identifier() -> None:
    members, links = _cluster()
    fig, _ = ng.figure(members, links)
    texts = list(_trace(fig, "accounts").text)
    assert any("&lt;b&gt;x&lt;/b&gt;&amp;&lt;script&gt;" in t for t in texts)
    assert not any("<script>" in t for t in texts)
    mids = _trace(fig, "links")
    pairs = {(s, t) for s, t in zip(links["source"], links["target"], strict=True)}
    assert len(mids.x) == len(pairs)
    # a pair sharing two identifiers shows both on hover, and is drawn in the stronger's colour
    both = links.groupby(["source", "target"]).filter(lambda g: g["link_type"].nunique() > 1)
    if len(both):
        a, b = both.iloc[0]["source"], both.iloc[0]["target"]
        i = next(k for k, c in enumerate(mids.customdata) if c[1:] == [a, b])
        for t in both[(both["source"] == a) & (both["target"] == b)]["link_type"]:
            assert t in mids.text[i]
    assert [t.name for t in fig.data if t.mode == "lines"] == sorted(
        {t.name for t in fig.data if t.mode == "lines"}, key=ng.LINK_ORDER.index)
    assert fig.layout.dragmode == "pan" and ng.PLOTLY_CONFIG["scrollZoom"] is True


def test_the_same_cluster_is_drawn_the_same_way() -> None:
    members, links = _cluster()
    one, labels_one = ng.figure(members, links)
    ng._layout.cache_clear()
    two, labels_two = ng.figure(members.sample(frac=1, random_state=1), links)
    pos_one = dict(zip((c[1] for c in _trace(one, "accounts").customdata),
                       zip(_trace(one, "accounts").x, _trace(one, "accounts").y, strict=True),
                       strict=True))
    pos_two = dict(zip((c[1] for c in _trace(two, "accounts").customdata),
                       zip(_trace(two, "accounts").x, _trace(two, "accounts").y, strict=True),
                       strict=True))
    assert pos_one == pos_two
    assert labels_one == labels_two


def test_a_small_cluster_gets_a_lower_canvas_with_every_account_labelled() -> None:
    members, links = _cluster(6)
    fig, labels = ng.figure(members, links)
    assert fig.layout.height == ng.height_for(6) + ng.LEGEND_PX < ng.HEIGHT
    assert list(fig.layout.yaxis.range) == [0, ng.height_for(6)]
    assert all(0 <= y <= ng.height_for(6) for y in _trace(fig, "accounts").y)
    assert len(labels) == 6


def test_short_labels_keep_both_ends() -> None:
    assert ng.short_label("acc_00000001") == "acc_00000001"
    uuid = "5f0c2d7e-1b7a-4c55-9d8e-0f6a1c2b3d4e"
    label = ng.short_label(uuid)
    assert len(label) == ng.LABEL_CHARS and label.startswith("5f0c2d") and label.endswith("3d4e")
