"""Rendering helpers shared by the pages (the only dashboard module besides the pages that calls ``st.*``).

Safety rules every page follows: the runs folder comes from the command line (``--runs``) or
``TRANSEVAL_RUNS_DIR`` when the server starts, never from the page; model output, judge text and anything read
from a file is shown with ``st.text``, ``st.code`` or in a dataframe (plain text), and any such text in a
label that Streamlit renders as Markdown goes through :func:`safe`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
from transeval.dashboard.data import DEMO_JUDGE_NOTE, Board, demo_judged, load_board

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:\"'&=])")


def safe(text: object) -> str:
    """Text that Streamlit's Markdown shows literally (every Markdown/HTML special character escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def runs_root() -> Path:
    """The runs folder fixed at start: ``-- --runs DIR`` after the script, else ``$TRANSEVAL_RUNS_DIR``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--runs", default=os.environ.get("TRANSEVAL_RUNS_DIR", "runs"))
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.runs).resolve()


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a run is added or judged (cache key)."""
    out = []
    for pattern in ("results_*.json", "scores_*.json"):
        for p in root.rglob(pattern):
            try:
                st_ = p.stat()
            except OSError:
                continue
            out.append((str(p), st_.st_mtime_ns, st_.st_size))
    return tuple(sorted(out))


@st.cache_resource(max_entries=4, show_spinner="Reading runs…")
def _load(root: str, signature: tuple[tuple[str, int, int], ...]) -> Board:
    return load_board(Path(root))


def board() -> Board:
    """The board of the fixed runs folder (re-read when a results or scores file changes)."""
    root = runs_root()
    return _load(str(root), _signature(root) if root.is_dir() else ())


def problems(b: Board) -> None:
    """Say which numbers come from the demo judge, and which files could not be used (without hiding the rest)."""
    demo = demo_judged(b.rows)
    if demo:
        st.warning(f"{DEMO_JUDGE_NOTE}: {', '.join(safe(t) for t in demo)}")
    if b.problems:
        st.warning(f"{len(b.problems)} file(s) could not be used; every other run is shown.")
        st.dataframe(pd.DataFrame([{"file": p.file, "problem": p.message} for p in b.problems]), hide_index=True,
                     width="stretch")


def table(df: pd.DataFrame, name: str, key: str, height: int | None = None) -> None:
    """A plain-text table with its CSV download."""
    if height is None:
        st.dataframe(df, hide_index=True, width="stretch")
    else:
        st.dataframe(df, hide_index=True, width="stretch", height=height)
    st.download_button(f"Download {name} CSV", df.to_csv(index=False).encode("utf-8"), f"{name}.csv", "text/csv",
                       key=f"csv-{key}")


def chart_and_table(chart: alt.Chart | alt.LayerChart, df: pd.DataFrame, name: str, key: str) -> None:
    """A plot with the table behind it one click away (tabs)."""
    tab_chart, tab_table = st.tabs(["Chart", "Table"])
    with tab_chart:
        st.altair_chart(chart, width="stretch")
    with tab_table:
        table(df, name, key)


def model_picker(b: Board, label: str, key: str, default_all: bool = True) -> list[str]:
    """Multiselect of models shown by alias (the full name is in the tables); returns full names."""
    names = dict(zip(b.rows["model"], b.rows["alias"], strict=True))
    options = sorted(names, key=lambda m: names[m])
    chosen = st.multiselect(label, options, default=options if default_all else options[:2],
                            format_func=lambda m: names.get(m, m), key=key)
    return [str(m) for m in chosen]
