"""Altair chart specs for the Plots page (pure: no ``st.*``; the page renders them).

Bars are never stacked (``stack=None``: the plot tables hold one row per bar), colours never repeat within a
chart (:func:`transeval.dashboard.data_plots.palette`), and legends list every entry without cutting labels
(``symbolLimit`` above the number of entries (Vega drops entries past 30 by default), ``labelLimit=0``,
more legend columns for many models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def bars(df: pd.DataFrame, x: str, y: str, color: str, domain: list[float] | None = None,
         extra: Sequence[alt.Chart] = ()) -> alt.FacetChart:
    """Bars of ``y`` per ``color`` (models, named under each bar) in one panel per ``x``, with 95% CI rules.

    One panel per ``x`` value (turn, subject, task · metric) instead of offset groups: bars and their intervals
    share one band scale, and 50 models stay legible (each bar is labelled, colours do not repeat).
    ``extra`` layers (a chance tick) are drawn in every panel; nothing is ever stacked.
    """
    names = sorted({str(n) for n in df[color]})
    longest = max((len(part) for v in df[x] for part in str(v).split(" · ")), default=0)
    # wide enough for its header (one line per " · " part, about 6.5 px a character): headers never overlap
    step = max(22 if len(names) <= 10 else 14, math.ceil(longest * 6.5 / max(1, len(names))))
    yscale = alt.Scale(domain=domain) if domain else alt.Scale(zero=True)
    axis = alt.Axis(labelLimit=0, labelAngle=-60, labelOverlap=False)  # every bar named, none dropped
    base = alt.Chart().encode(x=alt.X(f"{color}:N", sort=names, title=None, axis=axis))
    enc: dict[str, Any] = {"y": alt.Y(f"{y}:Q", stack=None, scale=yscale, title=y),
                           "color": colour(color, names), "tooltip": list(df.columns)}
    marks = base.mark_bar().encode(**enc)
    errs = base.mark_rule(color="black").encode(y=alt.Y("ci_low:Q", title=y), y2="ci_high:Q")
    layers = [marks, errs, *[e.encode(x=alt.X(f"{color}:N", sort=names, title=None, axis=axis)) for e in extra]]
    return alt.layer(*layers, data=df).properties(width=alt.Step(step), height=300).facet(
        column=alt.Column(f"{x}:N", title=None, header=alt.Header(
            labelLimit=0, labelAngle=0, labelExpr="split(datum.label, ' · ')")))
