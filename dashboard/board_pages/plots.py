"""Plots (Altair: it ships with Streamlit, so no extra dependency, and renders offline from a Vega-Lite spec).

Each plot has its table one click away (the Table tab). Bars are never stacked (``stack=None``: the tables hold
one row per bar), a chart holds one task unless its values share a scale, colours never repeat within a chart
(:func:`transeval.dashboard.data_plots.palette`) and legends list every model.
"""

from __future__ import annotations

import altair as alt
import streamlit as st
from transeval.dashboard import charts, data_plots, view


def render() -> None:
    """Draw the page."""
    st.title("Plots")
    b = view.board()
    view.problems(b)
    if b.rows.empty:
        st.info("No runs yet.")
        return
    models = view.model_picker(b, "Models", "models")
    judged = sorted(set(b.rows[(b.rows["metric"] == "score") & (b.rows["role"] == "headline")]["task"]))
    st.subheader("Per-category judge score")
    if judged:
        task = str(view.url_selectbox("Judged task", judged, "cat_task",
                                      judged.index("thai_mtbench") if "thai_mtbench" in judged else 0))
        cats = data_plots.categories(b, task, models)
        if data_plots.has_numbers(cats, "score") and data_plots.use_radar(cats):
            st.caption("Radar: one polar chart per model (a wedge per category, radius = score).")
            radar = alt.Chart(cats).mark_arc(stroke="white").encode(
                theta=alt.Theta("category:N"), radius=alt.Radius("score:Q", scale=alt.Scale(type="sqrt", zero=True)),
                color=charts.colour("category", list(cats["category"])),
                tooltip=["model", "category", "score", "n"]).properties(width=220, height=220)
            view.chart_and_table(radar.facet(facet="model:N", columns=4), cats, "categories", "p-cat")
        elif data_plots.has_numbers(cats, "score"):
            st.caption(f"Fewer than {data_plots.RADAR_MIN} categories: bars instead of a radar.")
            view.chart_and_table(charts.bars(cats, "category", "score", "model"), cats, "categories", "p-cat")
        else:
            st.info("No judged scores per category yet.")
    for title, prefix, key in (("Turn 1 vs turn 2", "turn", "p-turn"), ("Per aspect (LLM-Eval)", "aspect", "p-asp")):
        st.subheader(title)
        tasks = data_plots.sub_metric_tasks(b, prefix, models)
        if not tasks:
            st.info("Nothing to plot yet.")
            continue
        task = str(view.url_selectbox(f"Task ({title.lower()})", tasks, f"{prefix}_task"))
        df = data_plots.sub_metrics(b, prefix, models, task)
        if data_plots.has_numbers(df, "score"):
            st.caption(f"{task}: mean judge score per {prefix} with its 95% CI (n in the table = items the "
                       "interval is over). One task per chart.")
            view.chart_and_table(charts.bars(df, "part", "score", "model"), df, key, key)
        else:
            st.info("Nothing to plot yet.")
    st.subheader("Knowledge accuracy per subject (black tick: chance)")
    know = data_plots.knowledge(b, models)
    if data_plots.has_numbers(know, "score"):
        chance = alt.Chart().mark_tick(color="black", thickness=2, strokeDash=[4, 2]).encode(y="chance:Q")
        chart = charts.bars(know, "subject", "score", "model", [0, 1], extra=[chance])
        view.chart_and_table(chart, know, "knowledge", "p-know")
    else:
        st.info("No multiple-choice results yet.")
    st.subheader("Safety, refusal and wrong-language rates (↓ lower is better)")
    saf = data_plots.safety(b, models)
    if data_plots.has_numbers(saf, "rate"):
        st.caption("Each bar is one task's rate (task · metric); rates share the 0–1 scale and are never summed.")
        view.chart_and_table(charts.bars(saf, "label", "rate", "model", [0, 1]), saf, "safety", "p-safe")
    else:
        st.info("No safety or language-check results yet.")
    st.subheader("Pairwise win rates (ties count half; 95% Wilson CI)")
    wr = data_plots.win_rates(b)
    if data_plots.has_numbers(wr, "win_rate"):
        chart = alt.Chart(wr).mark_point(filled=True, size=80).encode(
            y=alt.Y("pair:N", axis=alt.Axis(labelLimit=0)), x=alt.X("win_rate:Q", scale=alt.Scale(domain=[0, 1])),
            color=charts.colour("task", list(wr["task"])), tooltip=list(wr.columns))
        rule = alt.Chart(wr).mark_rule().encode(y="pair:N", x="ci_low:Q", x2="ci_high:Q", color="task:N")
        view.chart_and_table(chart + rule, wr, "win_rates", "p-wr")
    else:
        st.info("No pairwise comparisons yet (comparisons/A__vs__B).")


render()
