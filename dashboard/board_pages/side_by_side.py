"""Side by side: two or more models' answers to one question, their judgments and pairwise verdicts."""

from __future__ import annotations

import streamlit as st
from transeval.core.errors import TransevalError
from transeval.dashboard import data, data_samples, view


def render() -> None:
    """Draw the page."""
    st.title("Side by side")
    b = view.board()
    view.problems(b)
    if b.rows.empty:
        st.info("No runs yet.")
        return
    tasks = sorted(set(b.rows["task"]))
    default = tasks.index("thai_mtbench") if "thai_mtbench" in tasks else 0
    task = str(view.url_selectbox("Task", tasks, "task", default))
    have = b.rows[b.rows["task"] == task]
    names = dict(zip(have["model"], have["alias"], strict=True))
    options = sorted(names, key=lambda m: names[m])
    comp = b.comparisons[b.comparisons["task"] == task]
    default_models = ([m for m in options if m in set(comp["model_a"].iloc[:1]) | set(comp["model_b"].iloc[:1])]
                      if not comp.empty else []) or options[:2]
    models = [str(m) for m in view.url_multiselect("Models (two or more)", options, default_models, "models",
                                                   format_func=lambda m: names.get(m, m))]
    if len(models) < 2:
        st.info("Choose at least two models.")
        return
    try:
        ids = data_samples.common_questions(b, task, models)
    except TransevalError as exc:
        st.text(str(exc))
        return
    if not ids:
        st.info("These models have no question of this task in common (or no per-sample logs).")
        return
    qid = str(view.url_selectbox("Question", ids, "question"))
    pairs = data_samples.side_by_side(b, task, qid, models)
    first = next((s for _, s in pairs if s is not None), None)
    if first is not None:
        for t, turn in enumerate(first.turns, 1):
            st.text(f"Question, turn {t}:\n{turn.question}")
    for col, (model, s) in zip(st.columns(len(pairs)), pairs, strict=True):
        with col:
            st.text(names.get(model, model))
            if s is None:
                st.text("(no answer)")
                continue
            for t, turn in enumerate(s.turns, 1):
                st.text(f"Turn {t} answer:\n{turn.answer if turn.answer is not None else '(none)'}")
                for j in turn.judgments:
                    score = data.fmt(j.score, j.metric) if j.score is not None else f"unscored ({j.reason})"
                    st.text(f"[{j.metric}] {score} — {j.judge}\n{j.explanation}")
            if s.unscored:
                st.text(f"unscored: {s.unscored}")
    verdicts = data_samples.pair_verdicts(b, task, qid, models)
    st.subheader("Pairwise verdicts (both orders)")
    if verdicts.empty:
        st.info("No pairwise comparison between these models for this task (`comparisons/A__vs__B`).")
    else:
        view.table(verdicts, "pairwise_verdicts", "sbs-verdicts")


render()
