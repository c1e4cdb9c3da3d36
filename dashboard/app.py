"""Streamlit leaderboard: ``transeval board RUNS`` (or ``streamlit run dashboard/app.py -- --runs RUNS``).

A multipage app; the pages only render (numbers come from the pure ``data*`` modules). The runs folder is fixed
when the server starts (see :func:`transeval.dashboard.view.runs_root`); no page can change it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "board_pages"


def main() -> None:
    """Set up the page and run the chosen one."""
    st.set_page_config(page_title="transeval leaderboard", layout="wide")
    nav = st.navigation([
        st.Page(PAGES / "leaderboard.py", title="Leaderboard", default=True),
        st.Page(PAGES / "plots.py", title="Plots", url_path="plots"),
        st.Page(PAGES / "samples.py", title="Samples", url_path="samples"),
        st.Page(PAGES / "side_by_side.py", title="Side by side", url_path="side_by_side"),
        st.Page(PAGES / "reported.py", title="Reported in papers", url_path="reported"),
    ])
    nav.run()


main()
