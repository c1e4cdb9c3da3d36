"""Plots (Altair: it ships with Streamlit, so no extra dependency, and renders offline from a Vega-Lite spec).

Each plot has its table one click away (the Table tab).
"""

from __future__ import annotations

import altair as alt
import streamlit as st
from transeval.dashboard import data_plots, view


def _bars(df: alt.Data, x: str, y: str, color: str, column: str | None = None) -> alt.Chart | alt.LayerChart:
    enc = {"x": alt.X(f"{x}:N", title=None), "y": alt.Y(f"{y}:Q"), "color": alt.Color(f"{color}:N"),
           "xOffset": alt.XOffset(f"{color}:N"), "tooltip": list(df.columns) if hasattr(df, "columns") else []}
    bars = alt.Chart(df).mark_bar().encode(**enc)
    errs = alt.Chart(df).mark_rule().encode(x=alt.X(f"{x}:N"), xOffset=alt.XOffset(f"{color}:N"),
                                            y="ci_low:Q", y2="ci_high:Q")
    return bars + errs


def render() -> None:
    """Draw the page."""
    st.title("Plots")
    b = view.board()
    view.problems(b)
    if b.rows.empty:
        st.info("No runs yet.")
        return
    models = view.model_picker(b, "Models", "plot-models")
    judged = sorted(set(b.rows[b.rows["metric"] == "score"]["task"]))
    st.subheader("Per-category judge score (radar: one polar chart per model)")
    if judged:
        task = str(st.selectbox("Judged task", judged, index=judged.index("thai_mtbench")
                                if "thai_mtbench" in judged else 0))
        cats = data_plots.categories(b, task, models)
        if data_plots.has_numbers(cats, "score"):
            radar = alt.Chart(cats).mark_arc(stroke="white").encode(
                theta=alt.Theta("category:N"), radius=alt.Radius("score:Q", scale=alt.Scale(type="sqrt", zero=True)),
                color="category:N", tooltip=["model", "category", "score", "n"]).properties(width=220, height=220)
            view.chart_and_table(radar.facet(column="model:N"), cats, "categories", "p-cat")
        else:
            st.info("No judged scores per category yet.")
    plots = [
        ("Turn 1 vs turn 2", data_plots.sub_metrics(b, "turn", models), "part", "score", "model", "p-turn"),
        ("LLM-Eval per aspect", data_plots.sub_metrics(b, "aspect", models), "part", "score", "model", "p-asp"),
    ]
    for title, df, x, y, color, key in plots:
        st.subheader(title)
        if data_plots.has_numbers(df, y):
            view.chart_and_table(_bars(df, x, y, color), df, key, key)
        else:
            st.info("Nothing to plot yet.")
    st.subheader("Knowledge accuracy per subject (dashed: chance)")
    know = data_plots.knowledge(b, models)
    if data_plots.has_numbers(know, "score"):
        chance = alt.Chart(know).mark_tick(color="black", thickness=2, strokeDash=[4, 2]).encode(
            x=alt.X("subject:N"), y="chance:Q")
        view.chart_and_table(_bars(know, "subject", "score", "model") + chance, know, "knowledge", "p-know")
    else:
        st.info("No multiple-choice results yet.")
    st.subheader("Refusal and wrong-language rates by language")
    saf = data_plots.safety(b, models)
    if data_plots.has_numbers(saf, "rate"):
        saf = saf.assign(label=saf["language"] + " · " + saf["metric"])
        view.chart_and_table(_bars(saf, "label", "rate", "model"), saf, "safety", "p-safe")
    else:
        st.info("No safety or language-check results yet.")
    st.subheader("Pairwise win rates (ties count half; 95% Wilson CI)")
    wr = data_plots.win_rates(b)
    if data_plots.has_numbers(wr, "win_rate"):
        chart = alt.Chart(wr).mark_point(filled=True, size=80).encode(
            y=alt.Y("pair:N"), x=alt.X("win_rate:Q", scale=alt.Scale(domain=[0, 1])), color="task:N")
        rule = alt.Chart(wr).mark_rule().encode(y="pair:N", x="ci_low:Q", x2="ci_high:Q", color="task:N")
        view.chart_and_table(chart + rule, wr, "win_rates", "p-wr")
    else:
        st.info("No pairwise comparisons yet (comparisons/A__vs__B).")


render()
