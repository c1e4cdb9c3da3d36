"""Samples page: every answer with its question, judgments, reference and detected language; filters."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from transeval.core.errors import TransevalError
from transeval.dashboard import data, data_samples, view

PAGE_SIZE = 20
LANGUAGE_METRICS = ("wrong_language_rate", "switching_rate")


@st.cache_data(max_entries=16, show_spinner="Reading samples…")
def _samples(results_path: str, task: str, signature: int) -> list[data_samples.SampleView]:
    run = next(r for r in view.board().runs if str(r.results_path) == results_path)
    return data_samples.samples(run, task)


def render_sample(s: data_samples.SampleView) -> None:
    """One sample, all text as plain text."""
    st.text(f"language: {s.language}   detected: {s.detected or '?'}   wrong language: {s.wrong_language}")
    if s.unscored:
        st.text(f"unscored: {s.unscored}")
    for t, turn in enumerate(s.turns, 1):
        st.text(f"Turn {t} — question:\n{turn.question}" if s.kind == "judged" else f"Question:\n{turn.question}")
        if turn.question_en and turn.question_en != turn.question:
            st.text(f"(English) {turn.question_en}")
        st.text(f"Answer:\n{turn.answer if turn.answer is not None else '(none)'}")
        if turn.note:
            st.text(f"Note: {turn.note}")
        if turn.raw and turn.raw != (turn.answer or ""):
            with st.popover("Raw output (TCoT)"):
                st.text(turn.raw)
        if turn.reference:
            st.text(f"Reference:\n{turn.reference}")
        if turn.language_note:
            st.text(f"Language: {turn.language_note}")
        for j in turn.judgments:
            if j.metric in LANGUAGE_METRICS and j.score is not None:
                # the check's stored text names py3langid's whole-text guess, not what it decided on
                st.text(f"[{j.metric}{' ↓' if data.lower_is_better(j.metric) else ''}] "
                        f"{'yes' if j.score >= 0.5 else 'no'} — {j.judge} (see Language above)")
                continue
            score = data.fmt(j.score, j.metric) if j.score is not None else f"unscored ({j.reason})"
            mark = " ↓" if data.lower_is_better(j.metric) else ""
            st.text(f"[{j.metric}{mark}] {score} — judge {j.judge}, rubric {j.rubric}")
            if j.aspects:
                st.text("   " + ", ".join(f"{k}={data.fmt(v)}" for k, v in j.aspects))
            if j.explanation:
                st.text(j.explanation)
    for name, value in s.extra:
        st.text(f"{name}: {value}")


def render() -> None:
    """Draw the page."""
    st.title("Samples")
    b = view.board()
    view.problems(b)
    if b.rows.empty:
        st.info("No runs yet.")
        return
    names = dict(zip(b.rows["model"], b.rows["alias"], strict=True))
    model = view.url_selectbox("Model", sorted(names, key=lambda m: names[m]), "model",
                               format_func=lambda m: names.get(m, m))
    rows = b.rows[(b.rows["model"] == model)].drop_duplicates(["task", "run"])
    tasks = sorted(set(rows["task"]))
    task = str(view.url_selectbox("Task", tasks, "task"))
    row = rows[rows["task"] == task].iloc[0]
    if row["status"] != "ok":
        st.info(f"{view.safe(task)}: {data.NOT_JUDGED}")
    run = next(r for r in b.runs if str(r.results_path) == row["run"])
    leaves = [x for x in data.leaf_tasks(run, task) if run.samples_path(x).exists()]
    if not leaves:
        st.info("No per-sample log for this run (run lm_eval with --log_samples).")
        return
    if len(data.leaf_tasks(run, task)) > 1:
        st.subheader("Breakdown")
        view.table(data.breakdown(run, task), "breakdown", "breakdown", height=240)
    leaf = str(view.url_selectbox("Subtask", leaves, "subtask")) if len(leaves) > 1 else leaves[0]
    try:
        path = run.samples_path(leaf)
        items = _samples(str(run.results_path), leaf, path.stat().st_mtime_ns)
    except TransevalError as exc:
        st.error("Could not read the samples:")
        st.text(str(exc))
        return
    cats = sorted({s.category for s in items})
    c1, c2, c3 = st.columns(3)
    category = view.url_selectbox("Category", ["(all)", *cats], "category", container=c1)
    scores = [s.score for s in items if s.score is not None]
    low, high = (min(scores), max(scores)) if scores else (0.0, 1.0)
    rng = c2.slider("Score range", float(low), float(max(high, low + 1e-9)), (float(low), float(high)))
    search = c3.text_input("Search text", value=str(st.query_params.get("q", "")), key="q")
    view.set_url("q", search or None)
    unscored = c1.checkbox("Unscored only")
    wrong = c2.checkbox("Wrong language only")
    shown = data_samples.filter_samples(items, None if category == "(all)" else str(category), rng[0], rng[1],
                                        unscored, wrong, search)
    ids = [s.sample_id for s in shown]
    linked = st.query_params.get("sample")
    if linked in ids:  # a linked sample (?sample=ID): shown first and open
        shown = [shown[ids.index(linked)]] + [s for s in shown if s.sample_id != linked]
    st.text(f"{len(shown)} of {len(items)} samples")
    view.table(data_samples.samples_table(shown), "samples", "samples", height=240)
    pages = max(1, (len(shown) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = int(st.number_input("Page", 1, pages, 1)) if pages > 1 else 1
    for s in shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]:
        label = f"{s.sample_id} · {s.category} · " + (data.fmt(s.score) if s.score is not None else "unscored")
        with st.expander(view.safe(label), expanded=s.sample_id == linked):
            query = {"model": model, "task": task, **({"subtask": leaf} if leaf != task else {}), "sample": s.sample_id}
            st.text(f"Link to this sample: samples?{urlencode(query)}")
            render_sample(s)


render()
