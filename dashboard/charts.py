"""Altair chart specs for the Plots page (pure: no ``st.*``; the page renders them).

Bars are never stacked (``stack=None``: the plot tables hold one row per bar), colours never repeat within a
chart (:func:`transeval.dashboard.data_plots.palette`), and legends list every entry without cutting labels
(``symbolLimit`` above the number of entries (Vega drops entries past 30 by default), ``labelLimit=0``,
more legend columns for many models).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from transeval.dashboard import data_plots


def colour(field: str, names: list[str]) -> alt.Color:
    """A colour encoding with one distinct colour per name and a legend that lists them all."""
    names = sorted({str(n) for n in names})
    cols = 1 if len(names) <= 12 else (2 if len(names) <= 30 else 3)
    return alt.Color(f"{field}:N", scale=alt.Scale(domain=names, range=data_plots.palette(len(names))),
                     legend=alt.Legend(symbolLimit=len(names) + 1, labelLimit=0, columns=cols, orient="right"))


def bars(df: pd.DataFrame, x: str, y: str, color: str, domain: list[float] | None = None
         ) -> alt.Chart | alt.LayerChart:
    """Grouped bars (one per ``color`` within each ``x``) with their 95% CI rules; never stacked."""
    n = max(1, df[color].nunique())
    width = max(400, min(2400, 18 * n * max(1, df[x].nunique()) + 40 * df[x].nunique()))
    yscale = alt.Scale(domain=domain) if domain else alt.Scale(zero=True)
    axis = alt.Axis(labelLimit=0, labelAngle=-40, labelOverlap=False)  # every group named, none dropped
    enc: dict[str, Any] = {"x": alt.X(f"{x}:N", title=None, axis=axis),
                           "y": alt.Y(f"{y}:Q", stack=None, scale=yscale, title=y),
                           "color": colour(color, list(df[color])), "xOffset": alt.XOffset(f"{color}:N"),
                           "tooltip": list(df.columns)}
    marks = alt.Chart(df).mark_bar().encode(**enc)
    errs = alt.Chart(df).mark_rule(color="black").encode(x=alt.X(f"{x}:N", axis=axis),
                                                         xOffset=alt.XOffset(f"{color}:N"),
                                                         y=alt.Y("ci_low:Q", title=y), y2="ci_high:Q")
    return (marks + errs).properties(width=width, height=320)
