"""Leaderboard page: models as rows, each benchmark family's headline first, any judged metric as a column.

Numbers come from :func:`transeval.dashboard.data_table.leader_table` (the same table ``transeval board RUN
--export FILE --metrics ...`` writes); each number has its 95% CI half-width, n and the judge's reliability in the
column beside it; the caveats above the table are the ones every export repeats.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from transeval.dashboard import data, data_export, data_reported, data_table, view

DETAIL = " ±, n"
WARN = ("MIXED JUDGES", "PARTIAL", "Mixed judges")


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
    names = dict(zip(b.rows["model"], b.rows["alias"], strict=True))
    everyone = sorted(names, key=lambda m: names[m])
    chosen_models = [m for m in (view.url_values("models") or everyone) if m in names] or everyone
    all_columns = data_table.available(b.rows[b.rows["model"].isin(chosen_models)])
    by_key = {c.key: c for c in all_columns}
    chosen_keys = view.url_values("metrics") or data_table.default_keys(all_columns)
    with st.expander(f"Models ({len(chosen_models)} of {len(everyone)}) and columns "
                     f"({len([k for k in chosen_keys if k in by_key])} of {len(all_columns)})"):
        models = view.model_picker(b, "Models", "models")
        picked = view.url_multiselect(
            "Columns: every headline first; add any judged metric (rubrics, aspects, turns, refusal, "
            "wrong-language)", list(by_key), data_table.default_keys(all_columns), "metrics",
            format_func=lambda k: by_key[k].label)
    shown_rows = b.rows[b.rows["model"].isin(models)]
    table = data_table.leader_table(b, [k for k in picked if k in by_key] or None, models)
    for note in table.caveats:
        if note.startswith(WARN):
            st.warning(view.safe(note))
    df = pd.DataFrame({"model": table.values["alias"]})
    config = {"model": st.column_config.TextColumn("model", help="alias; the full name is in the last column",
                                                   pinned=True)}
    for col in table.columns:
        values = table.values[col.label]
        proportion = data.is_proportion(col.metric)
        df[col.label] = values.astype(float) * (100 if proportion else 1)
        df[col.label + DETAIL] = table.details[col.label]
        hint = view.safe(("lower is better; " if col.lower_better else "") +
                         f"{col.family}: task {col.task}, metric {col.metric}")
        config[col.label] = st.column_config.NumberColumn(col.label, format="%.1f%%" if proportion else "%.2f",
                                                          help=hint, width="medium")
        config[col.label + DETAIL] = st.column_config.TextColumn(  # shown as "±, n" right of its number
            DETAIL.strip(), help=view.safe(f"{col.label}: ±half-width of the 95% CI, (n scored[/total]) and the "
                                           "judge's reliability"), width="small")
    df["full name"] = table.values["model"]
    st.dataframe(df, hide_index=True, width="stretch", column_config=config,
                 height=min(35 * (len(df) + 1) + 3, 743))  # up to 20 models without scrolling
    st.caption("Click a header to sort; ↓ marks lower-is-better metrics. Beside each number: ±half-width of its "
               "95% CI, (n it was computed on) and the judge's reliability (unscored share, swap inconsistency, "
               "empty answers, mixed judges).")
    for note in table.caveats:
        if not note.startswith(WARN):
            st.caption(view.safe(note))
    export = data_export.export_frame(table)
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Download leaderboard CSV", data_export.render_table(table, ".csv").encode("utf-8"),
                       "leaderboard.csv", "text/csv", key="csv-leaderboard")
    for box, suffix, mime in ((c2, ".md", "text/markdown"), (c3, ".html", "text/html"), (c4, ".tex", "text/x-tex")):
        box.download_button(f"Download leaderboard {suffix}", data_export.render_table(table, suffix).encode("utf-8"),
                            f"leaderboard{suffix}", mime, key=f"export-{suffix}")
    with st.expander("The same table as text (what the exports contain)"):
        st.dataframe(export, hide_index=True, width="stretch")
    with st.expander("By suite or language, with suite averages"):
        group_by = view.url_selectbox("Group columns by", ["suite", "language"], "group")
        shown = data.Board(b.root, b.runs, shown_rows, b.problems, b.comparisons)
        wide = data.wide(shown, group_by=str(group_by))
        metrics = data.column_metrics(shown, wide)
        wide = wide.copy()
        wconfig: dict[str, Any] = {}
        for name, metric in metrics.items():  # one rounding rule: proportions in % (1 decimal), the rest 2 decimals
            label = name + (data_table.LOWER_MARK if data.lower_is_better(metric) else "")
            if data.is_proportion(metric):
                wide[name] = wide[name] * 100
                wconfig[name] = st.column_config.NumberColumn(label, format="%.1f%%")
            else:
                wconfig[name] = st.column_config.NumberColumn(label, format="%.2f")
        st.caption("score, 95% CI and scored/total per task; a suite's avg is over its complete members on one "
                   "scale (avg n).")
        st.dataframe(wide, hide_index=True, width="stretch", column_config=wconfig)
        st.download_button("Download suite table CSV", data_export.csv_bytes(wide), "suites.csv", "text/csv",
                           key="csv-suites")
    st.subheader("Every number, with its judge and rubric")
    view.table(data.details(shown_rows_board(b, shown_rows)), "details", "details")
    comp = data.win_rate_rows(b.comparisons)
    if not comp.empty:
        st.subheader("Pairwise win rates between runs (ties count half)")
        view.table(comp.drop(columns=["folder"]), "pairwise", "pairwise")
    if st.checkbox("Show reported rows (papers) on the same columns", value=False):
        for t in data_reported.TABLES:
            if t.task is not None:
                st.text(f"{t.title} — {t.source}")
                view.table(data_reported.with_ours(t, b, models), t.key, f"lb-{t.key}")


def shown_rows_board(b: data.Board, rows: pd.DataFrame) -> data.Board:
    """``b`` restricted to the chosen models' rows."""
    return data.Board(b.root, b.runs, rows, b.problems, b.comparisons)


render()
