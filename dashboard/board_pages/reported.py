"""Numbers reported in papers, with chosen models of ours on the same columns (rows marked "ours")."""

from __future__ import annotations

import streamlit as st
from transeval.dashboard import data_reported, view


def render() -> None:
    """Draw the page."""
    st.title("Reported in papers")
    st.caption("Rows marked reported are copied from the papers (dashboard/reported/SOURCE.md); they never enter "
               "an average.")
    b = view.board()
    tables = {t.key: t for t in data_reported.TABLES}
    key = str(view.url_selectbox("Table", list(tables), "table", format_func=lambda k: tables[k].title))
    t = tables[key]
    st.text(f"Source: {t.source}")
    models = view.model_picker(b, "Our models beside them", "rep-models") if t.task and not b.rows.empty else []
    df = data_reported.with_ours(t, b, models)
    flagged = int((df["check"].fillna("") != "").sum()) if "check" in df else 0
    if flagged:
        st.warning(f"{flagged} reported row(s) print an average that is not the mean of their aspects (column "
                   "check); the numbers are shown as printed.")
    view.table(df, t.key, f"rep-{t.key}")


render()
