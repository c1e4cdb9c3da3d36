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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from transeval.dashboard.data import DEMO_JUDGE_NOTE, Board, demo_judged, load_board
from transeval.dashboard.data_export import csv_bytes

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
        with st.expander("Files that could not be used"):
            st.dataframe(pd.DataFrame([{"file": p.file, "problem": p.message} for p in b.problems]),
                         hide_index=True, width="stretch")


def table(df: pd.DataFrame, name: str, key: str, height: int | None = None) -> None:
    """A plain-text table with its CSV download."""
    if height is None:
        st.dataframe(df, hide_index=True, width="stretch")
    else:
        st.dataframe(df, hide_index=True, width="stretch", height=height)
    st.download_button(f"Download {name} CSV", csv_bytes(df), f"{name}.csv", "text/csv", key=f"csv-{key}")


def chart_and_table(chart: alt.Chart | alt.LayerChart | alt.FacetChart, df: pd.DataFrame, name: str, key: str) -> None:
    """A plot with the table behind it one click away (tabs)."""
    tab_chart, tab_table = st.tabs(["Chart", "Table"])
    with tab_chart:
        st.altair_chart(chart, width="content")  # the chart's own width: 50 models' bars are not squeezed
    with tab_table:
        table(df, name, key)


def model_picker(b: Board, label: str, key: str, default_all: bool = True) -> list[str]:
    """Multiselect of models shown by alias (the full name is in the tables); returns full names.

    The choice lives in the URL (``?<key>=a,b``) when it is not the default, so a view can be linked.
    """
    names = dict(zip(b.rows["model"], b.rows["alias"], strict=True))
    options = sorted(names, key=lambda m: names[m])
    default = options if default_all else options[:2]
    chosen = url_multiselect(label, options, default, key, format_func=lambda m: names.get(m, m))
    return [str(m) for m in chosen]


def url_values(key: str) -> list[str] | None:
    """The comma-separated values of ``?key=`` in the URL, or None when absent."""
    raw = st.query_params.get(key)
    return None if raw is None else [x for x in str(raw).split(",") if x]


def set_url(key: str, value: str | None) -> None:
    """Keep ``value`` in the URL as ``?key=value`` (removed when empty)."""
    if value is None or value == "":
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def url_multiselect(label: str, options: Sequence[Any], default: Sequence[Any], key: str,
                    format_func: Callable[[Any], str] = str, **kwargs: Any) -> list[Any]:
    """A multiselect whose choice is kept in the URL (``?key=a,b``; options by their ``str``), default elsewhere."""
    by_text = {str(o): o for o in options}
    wanted = url_values(key)
    start = [by_text[x] for x in wanted if x in by_text] if wanted is not None else list(default)
    chosen = st.multiselect(label, list(options), default=start, format_func=format_func, key=key, **kwargs)
    set_url(key, None if [str(c) for c in chosen] == [str(d) for d in default] else ",".join(map(str, chosen)))
    return list(chosen)


def url_selectbox(label: str, options: Sequence[Any], key: str, default: int = 0,
                  format_func: Callable[[Any], str] = str, container: Any = None) -> Any:
    """A selectbox whose choice is kept in the URL (``?key=value``)."""
    options = list(options)
    wanted = st.query_params.get(key)
    texts = [str(o) for o in options]
    index = texts.index(wanted) if wanted in texts else (default if options else 0)
    box = (container or st).selectbox(label, options, index=index, format_func=format_func, key=key)
    set_url(key, str(box) if box is not None else None)
    return box
