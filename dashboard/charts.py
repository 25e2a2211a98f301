"""Altair charts shared by the pages, built from plain data frames so tests can read their spec."""

from __future__ import annotations

import altair as alt
import pandas as pd

ROW_PX = 18  # height of one indicator's row in the heatmap


def indicator_heatmap(trend: pd.DataFrame) -> alt.Chart:
    """Accounts with a hit per indicator (rows) and night (columns), darker for more.

    A line per indicator drew 25 lines over one another with a legend as tall as the plot
    (a real 21-night export showed one flat line and no y axis); a heatmap gives every
    indicator its own labelled row whatever their number.
    """
    names = sorted(trend["name"].dropna().unique().tolist()) if len(trend) else []
    return alt.Chart(trend).mark_rect().encode(
        x=alt.X("yearmonthdate(as_of_date):O", title="night",
                axis=alt.Axis(labelAngle=-45, format="%m-%d")),
        y=alt.Y("name:N", title=None, sort=names, axis=alt.Axis(labelLimit=220)),
        color=alt.Color("accounts:Q", title="accounts with a hit",
                        scale=alt.Scale(scheme="oranges"), legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("as_of_date:T", title="night"), alt.Tooltip("name:N",
                 title="indicator"), alt.Tooltip("accounts:Q", title="accounts", format=",")],
    ).properties(height=max(120, ROW_PX * len(names)))
