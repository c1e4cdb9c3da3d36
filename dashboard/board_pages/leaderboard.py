"""Leaderboard page: one row per model, one column group per task, suite averages, judges and flags."""

from __future__ import annotations

import streamlit as st
from transeval.dashboard import data, data_reported, view


def render() -> None:
    """Draw the page."""
    st.title("transeval leaderboard")
    b = view.board()
    st.caption(f"Runs folder: {view.safe(b.root)} (fixed when the board started)")
    view.problems(b)
    if b.rows.empty:
        st.info("No lm-eval runs to show yet. Run `transeval eval` or `lm_eval ... --output_path RUNS "
                "--log_samples`, then reload.")
        return
    group_by = st.radio("Group columns by", ["suite", "language"], horizontal=True)
    models = view.model_picker(b, "Models", "lb-models")
    shown = data.Board(b.root, b.runs, b.rows[b.rows["model"].isin(models)], b.problems, b.comparisons)
    board = data.wide(shown, group_by=str(group_by))
    mixed = data.mixed_judges(shown.rows)
    if mixed:
        st.warning("Mixed judges (numbers not comparable): " + "; ".join(
            f"{view.safe(t)}: {', '.join(view.safe(j) for j in js)}" for t, js in mixed.items()))
    if board["partial"].any() if "partial" in board else False:
        st.warning("Rows marked partial come from runs limited with --limit (not the whole benchmark).")
    metrics = data.column_metrics(shown, board)
    board = board.copy()
    config = {}
    for col, metric in metrics.items():  # one rounding rule: proportions in % (1 decimal), the rest 2 decimals
        if data.is_proportion(metric):
            board[col] = board[col] * 100
            config[col] = st.column_config.NumberColumn(col, format="%.1f%%")
        else:
            config[col] = st.column_config.NumberColumn(col, format="%.2f")
    st.subheader("Leaderboard")
    st.caption("score, 95% CI ([low, high]; Wilson for proportions, bootstrap for judge scores) and scored/total "
               "per task; a suite's avg is over its complete members on one scale (avg n). Click a header to sort.")
    st.dataframe(board, hide_index=True, width="stretch", column_config=config)
    st.download_button("Download leaderboard CSV", board.to_csv(index=False).encode("utf-8"), "leaderboard.csv",
                       "text/csv", key="csv-leaderboard")
    st.subheader("Every number, with its judge and rubric")
    view.table(data.details(shown), "details", "details")
    if not b.comparisons.empty:
        st.subheader("Pairwise comparisons between runs")
        view.table(b.comparisons.drop(columns=["folder"]), "pairwise", "pairwise")
    if st.checkbox("Show reported rows (papers) on the same columns", value=False):
        for t in data_reported.TABLES:
            if t.task is not None:
                st.text(f"{t.title} — {t.source}")
                view.table(data_reported.with_ours(t, b, models), t.key, f"lb-{t.key}")


render()
