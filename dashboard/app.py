"""Streamlit leaderboard: ``transeval board RUNS`` (or ``streamlit run dashboard/app.py -- --runs RUNS``).

A thin view: every number comes from :mod:`transeval.dashboard.data`. Model output and judge text are
shown with ``st.text`` (never as Markdown or HTML).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import streamlit as st
from transeval.dashboard import data
from transeval.harness.errors import TransevalError


def _runs_dir() -> Path:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--runs", default=os.environ.get("TRANSEVAL_RUNS_DIR", "runs"))
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.runs)


@st.cache_data(ttl=30)
def _leaderboard(root: str) -> data.pd.DataFrame:
    return data.leaderboard(Path(root))


def _fmt(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.2f}"  # x != x: NaN from pandas


def render_leaderboard(root: Path) -> data.pd.DataFrame:
    """The table of all runs, filterable by task and model."""
    board = _leaderboard(str(root))
    if board.empty:
        st.info(f"No lm-eval runs under {root}. Run `lm_eval ... --output_path {root} --log_samples` first.")
        st.stop()
    tasks = sorted(board["task"].unique())
    chosen = st.sidebar.multiselect("Tasks", tasks, default=tasks)
    models = sorted(board["model"].unique())
    chosen_models = st.sidebar.multiselect("Models", models, default=models)
    view = board[board["task"].isin(chosen) & board["model"].isin(chosen_models)].copy()
    view["95% CI"] = [f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in zip(view["ci_low"], view["ci_high"], strict=True)]
    view["scored"] = [f"{s:.0f}/{t:.0f}" if s == s and s is not None else "–" for s, t in
                      zip(view["n_scored"], view["n_total"], strict=True)]
    view = view.astype({c: object for c in ("turn1", "turn2", "judge", "chance")})
    view[["turn1", "turn2", "judge", "chance"]] = view[["turn1", "turn2", "judge", "chance"]].where(
        view[["turn1", "turn2", "judge", "chance"]].notna(), "")
    st.subheader("Leaderboard")
    st.dataframe(
        view[["model", "task", "metric", "score", "95% CI", "chance", "scored", "turn1", "turn2", "judge", "date"]],
        hide_index=True, width="stretch",
    )
    st.download_button("Download CSV", view.to_csv(index=False), "leaderboard.csv", "text/csv")
    return view


def render_run(root: Path, view: data.pd.DataFrame) -> None:
    """Per-category table and per-sample drill-down of one run and task."""
    if view.empty:
        return
    labels = [f"{m} · {t} · {d}" for m, t, d in zip(view["model"], view["task"], view["date"], strict=True)]
    pick = st.selectbox("Run", range(len(labels)), format_func=labels.__getitem__)
    row = view.iloc[int(pick or 0)]
    run = data.run_by_results_path(root, row["run"])
    task = str(row["task"])
    if not run.scores_path(task).exists():
        render_lm_eval_task(run, task)
        return
    st.subheader("Per category")
    st.dataframe(data.category_table(run, task), hide_index=True, width="stretch")
    st.subheader("Samples")
    items = data.samples(run, task)
    if not items:
        st.info("No per-sample log for this run (run lm_eval with --log_samples).")
        return
    categories = sorted({s.category for s in items})
    cat = st.selectbox("Category", ["(all)", *categories])
    for s in items:
        if cat != "(all)" and s.category != cat:
            continue
        with st.expander(f"{s.question_id} · {s.category} · mean {_fmt(s.mean_score)}"):
            for t, turn in enumerate(s.turns, 1):
                st.caption(f"Turn {t}: score {_fmt(turn.score)}" + (f" ({turn.reason})" if turn.reason else ""))
                st.text("Question:\n" + turn.question)
                st.text("Answer:\n" + (turn.answer if turn.answer is not None else "(none)"))
                if turn.raw != (turn.answer or ""):
                    st.text("Raw output:\n" + turn.raw)
                if turn.note:
                    st.text("Note: " + turn.note)
                if turn.explanation:
                    st.text("Judge:\n" + turn.explanation)


def render_lm_eval_task(run: data.Run, task: str) -> None:
    """Breakdown (e.g. C-Eval's categories and subjects) and per-question drill-down of an lm-eval-scored task."""
    st.subheader("Breakdown")
    st.dataframe(data.breakdown(run, task), hide_index=True, width="stretch")
    leaves = [leaf for leaf in data.leaf_tasks(run, task) if run.samples_path(leaf).exists()]
    if not leaves:
        st.info("No per-sample log for this run (run lm_eval with --log_samples).")
        return
    leaf = str(st.selectbox("Questions of", leaves))
    if data.is_generation_task(run, leaf):
        for g in data.generation_samples(run, leaf):
            verdict = g.details.get("reason") or (f"{g.details['points']:g}/{g.details['max_points']:g} points"
                                                  if "points" in g.details else "")
            with st.expander(f"{g.doc_id} · {verdict}"):
                st.text("Prompt:\n" + g.prompt)
                st.text("Output:\n" + g.output)
                st.text(f"Gold: {g.target}   Extracted: {g.details.get('extracted', '?')}")
        return
    for q in data.choice_samples(run, leaf):
        mark = {True: "correct", False: "wrong", None: "?"}[q.correct]
        with st.expander(f"{q.doc_id} · {mark}"):
            st.text("Question:\n" + q.question)
            for i, option in enumerate(q.options):
                tags = [t for t, hit in (("model", i == q.picked), ("gold", i in q.gold)) if hit]
                st.text(f"{i}. {option}" + (f"   <- {', '.join(tags)}" if tags else ""))


def main() -> None:
    """Render the page."""
    st.set_page_config(page_title="transeval leaderboard", layout="wide")
    st.title("transeval leaderboard")
    root = Path(st.sidebar.text_input("Runs folder", str(_runs_dir())))
    try:
        view = render_leaderboard(root)
        render_run(root, view)
    except TransevalError as exc:
        st.error(str(exc))


main()
