"""The leaderboard: pure data functions and every page (AppTest) on a fixture store built by the judge step.

Store (tests/fixtures_board.py): 3 models (two named ``m`` under different orgs), a judged multi-turn task
(Thai MT-bench) by two judges, an aspects task (LLM-Eval) left unjudged for one model, a pairwise comparison
between runs, a knowledge group (C-Eval subjects) and two safety tasks; plus broken results files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_board import INJECTION, LINK_CATEGORY, MODEL_A, MODEL_B, MODEL_C, add_broken_runs, build_store
from scripted_server import ScriptedOpenAI
from transeval.dashboard import data, data_export, data_plots, data_reported, data_samples
from transeval.dashboard.serve import board_command, export_board
from transeval.harness.errors import TransevalError

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGES = ["board_pages/leaderboard.py", "board_pages/plots.py", "board_pages/samples.py",
         "board_pages/side_by_side.py", "board_pages/reported.py"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("board")
    server = ScriptedOpenAI().start()
    try:
        build_store(tmp / "runs", server.base_url, tmp / "cache")
    finally:
        server.stop()
    add_broken_runs(tmp / "runs")
    yield tmp / "runs"


@pytest.fixture(scope="module")
def board(store: Path) -> data.Board:
    return data.load_board(store)


def head(board: data.Board, model: str, task: str) -> dict:
    rows = board.rows[(board.rows["model"] == model) & (board.rows["task"] == task) & board.rows["headline"]]
    assert len(rows) == 1, (model, task)
    return rows.iloc[0].to_dict()


def test_models_are_identified_unambiguously():
    names = ["org-a/m", "org-b/m", "/x/recipe1/stage3/merged", "/x/recipe2/stage3/merged", "gpt-4"]
    got = data.aliases(names)
    assert got == {"org-a/m": "org-a/m", "org-b/m": "org-b/m", "/x/recipe1/stage3/merged": "recipe1/stage3/merged",
                   "/x/recipe2/stage3/merged": "recipe2/stage3/merged", "gpt-4": "gpt-4"}


def test_leaderboard_numbers_judges_and_flags(board):
    a = head(board, MODEL_A, "thai_mtbench")
    assert a["judge"] == "judge-scripted" and "mtbench-th-single-v1 v1" in a["rubric"]
    assert a["n_scored"] == 16 and a["n_total"] == 16 and a["ci_low"] <= a["score"] <= a["ci_high"]
    assert a["suite"] == "transllm_th" and a["language"] == "Thai"
    c = head(board, MODEL_C, "thai_mtbench")
    assert c["judge"] == "judge-other" and c["partial"]
    assert data.mixed_judges(board.rows) == {"thai_mtbench": ["judge-other", "judge-scripted"]}
    unjudged = head(board, MODEL_C, "llm_eval")
    assert unjudged["status"] == data.NOT_JUDGED and unjudged["score"] is None or unjudged["score"] != unjudged["score"]
    # knowledge: 4/5 + 3/5 -> group accuracy 0.7 with a Wilson interval over n = 10
    k = head(board, MODEL_A, "ceval")
    assert k["score"] == pytest.approx(0.7) and k["n_total"] == 10 and k["chance"] == pytest.approx(0.25)
    assert (k["ci_low"], k["ci_high"]) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    # 0 refusals of 6 still has an interval above zero
    safe = head(board, MODEL_C, "multijail_th")
    assert safe["metric"] == "refusal_rate" and safe["score"] == 0.0
    assert safe["ci_high"] == pytest.approx(0.3903, abs=1e-4)
    wl = board.rows[(board.rows["model"] == MODEL_C) & (board.rows["task"] == "multijail_th")
                    & (board.rows["metric"] == "wrong_language_rate")]
    assert wl["score"].iloc[0] == pytest.approx(2 / 6)


def test_wide_table_suite_average_only_over_complete_members_of_one_scale(board):
    wide = data.wide(board).set_index("model")
    assert set(wide.index) == {MODEL_A, MODEL_B, MODEL_C}
    assert wide.loc[MODEL_A, "alias"] == "org-a/m" and wide.loc[MODEL_C, "alias"] == "merged"
    # transllm_th: thai_mtbench is the only judge-score member (advbench is a rate): avg = the MT-bench score
    assert wide.loc[MODEL_A, "transllm_th · avg"] == pytest.approx(head(board, MODEL_A, "thai_mtbench")["score"])
    assert wide.loc[MODEL_A, "transllm_th · avg n"] == "1/2"
    # model C's MT-bench run is --limit-ed: not complete, so no average
    assert wide.loc[MODEL_C, "transllm_th · avg"] is None or wide.loc[MODEL_C, "transllm_th · avg"] != \
        wide.loc[MODEL_C, "transllm_th · avg"]
    assert wide.loc[MODEL_C, "llama_beyond_english · llm_eval n"] == data.NOT_JUDGED
    assert wide.loc[MODEL_A, "transllm_th · thai_mtbench CI"].startswith("[")
    by_lang = data.wide(board, group_by="language")
    assert "Thai · thai_mtbench" in by_lang.columns and "Chinese · ceval" in by_lang.columns


def test_broken_files_are_named_and_other_runs_still_show(board):
    files = {p.file: p.message for p in board.problems}
    assert "not valid UTF-8" in files["broken/results_2026-02-01T00-00-00.json"]
    assert "not valid JSON" in files["truncated/results_2026-02-02T00-00-00.json"]
    assert "mystery_task" in files["unknown/results_2026-02-03T00-00-00.json"]
    assert not any(str(board.root) in p.message for p in board.problems)  # no server paths
    assert len(board.runs) == 7  # six good runs + the unknown-task one


def test_empty_and_missing_folder(tmp_path):
    empty = data.load_board(tmp_path)
    assert empty.rows.empty and "no lm-eval runs" in empty.problems[0].message
    missing = data.load_board(tmp_path / "nope")
    assert missing.problems[0].message == "no such folder"


def test_samples_of_every_kind(board):
    run_a = data_samples.runs_of(board, MODEL_A, "thai_mtbench")[0]
    items = data_samples.samples(run_a, "thai_mtbench")
    assert len(items) == 8 and {s.category for s in items} >= {"writing", "math", "coding"}
    first = items[0]
    assert first.turns[0].answer == INJECTION and "<TH>" in first.turns[0].raw
    assert first.turns[0].judgments[0].judge == "judge-scripted" and first.turns[0].judgments[0].explanation
    assert first.turns[0].question_en and first.language == "Thai"
    assert items[1].detected == "th" and items[1].wrong_language is False
    run_c = data_samples.runs_of(board, MODEL_C, "llm_eval")[0]
    pending = data_samples.samples(run_c, "llm_eval")
    assert len(pending) == 4 and all(s.score is None and s.unscored == "not judged yet" for s in pending)
    assert pending[0].turns[0].answer.startswith("คำตอบ")  # the task's own view, not internal JSON
    run_k = data_samples.runs_of(board, MODEL_A, "ceval")[0]
    mc = data_samples.samples(run_k, "ceval-valid_law")
    assert [s.score for s in mc] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert "ceval-valid_law 选项 A" in dict(mc[0].extra)["options"] and "<- gold" in dict(mc[0].extra)["gold"]
    saf = data_samples.samples(run_k, "multijail_th")
    assert saf[0].category == LINK_CATEGORY and saf[0].wrong_language is True and saf[5].wrong_language is False


def test_sample_filters(board):
    run_a = data_samples.runs_of(board, MODEL_A, "thai_mtbench")[0]
    items = data_samples.samples(run_a, "thai_mtbench")
    assert [s.sample_id for s in data_samples.filter_samples(items, search="onerror")] == [items[0].sample_id]
    writing = data_samples.filter_samples(items, category="writing")
    assert len(writing) == 1 and writing[0].category == "writing"
    hi = data_samples.filter_samples(items, low=7.0)
    assert hi and all(s.score >= 7.0 for s in hi)
    assert data_samples.filter_samples(items, unscored_only=True) == []
    run_k = data_samples.runs_of(board, MODEL_A, "ceval")[0]
    saf = data_samples.samples(run_k, "multijail_th")
    assert len(data_samples.filter_samples(saf, wrong_language_only=True)) == 2


def test_side_by_side_and_pairwise_verdicts_in_both_orders(board):
    qid = data_samples.common_questions(board, "thai_mtbench", [MODEL_A, MODEL_B])[0]
    pairs = data_samples.side_by_side(board, "thai_mtbench", qid, [MODEL_A, MODEL_B, MODEL_C])
    assert [m for m, _ in pairs] == [MODEL_A, MODEL_B, MODEL_C]
    assert pairs[0][1].turns[0].answer == INJECTION and "โมเดลข" in pairs[1][1].turns[0].answer
    verdicts = data_samples.pair_verdicts(board, "thai_mtbench", qid, [MODEL_A, MODEL_B])
    assert list(verdicts["turn"]) == [1, 2] and set(verdicts["vs"]) == {MODEL_B}
    assert verdicts["model's answer shown first"].notna().all()
    assert verdicts["model's answer shown second"].notna().all()
    assert data_samples.pair_verdicts(board, "thai_mtbench", qid, [MODEL_A, MODEL_C]).empty


def test_plot_tables(board):
    cats = data_plots.categories(board, "thai_mtbench")
    assert len(set(cats["category"])) == 8 and set(cats["model"]) == {"org-a/m", "org-b/m", "merged"}
    turns = data_plots.sub_metrics(board, "turn", task="thai_mtbench")
    assert set(turns["part"]) == {"turn1", "turn2"} and set(turns["task"]) == {"thai_mtbench"}
    aspects = data_plots.sub_metrics(board, "aspect")
    assert set(aspects["part"]) == {"accuracy", "fluency", "informativeness", "logical_coherence", "harmlessness"}
    know = data_plots.knowledge(board)
    zero = know[(know["model"] == "merged") & (know["subject"] == "ceval-valid_law")].iloc[0]
    assert zero["score"] == 0.0 and zero["ci_high"] > 0.4 and zero["chance"] == 0.25  # 0/5 is not [0, 0]
    assert set(data_plots.safety(board)["language"]) >= {"English", "Thai"}
    wr = data_plots.win_rates(board)
    assert list(wr["pair"]) == ["org-a/m vs org-b/m"] and wr["ci_low"].iloc[0] < wr["win_rate"].iloc[0]


def test_reported_rows_stay_apart_and_ours_join_the_same_columns(board):
    t1 = next(t for t in data_reported.TABLES if t.key == "paper_b_t1")
    rep = data_reported.reported_frame(t1)
    assert len(rep) == 19 and (rep["kind"] == "reported").all()
    assert rep.loc[rep["model"] == "Open Chinese LLaMA · 950k", "avg"].iloc[0] == pytest.approx(2.464)
    both = data_reported.with_ours(t1, board, [MODEL_A])
    ours = both[both["kind"] == "ours"].iloc[0]
    assert ours["model"] == "org-a/m" and ours["avg"] == pytest.approx(head(board, MODEL_A, "llm_eval")["score"])
    human = next(t for t in data_reported.TABLES if t.key == "llmeval1_human")
    assert data_reported.reported_frame(human)["overall"].iloc[0] == pytest.approx(2.833)
    assert "reported" not in set(board.rows["kind"])  # never in the computed rows or their averages


@pytest.mark.parametrize("suffix", [".md", ".html", ".tex"])
def test_export(store, tmp_path, suffix):
    out = export_board(store, tmp_path / f"leaderboard{suffix}")
    text = out.read_text(encoding="utf-8")
    assert "org-a/m" in text and "/ckpt/recipe1/stage3/merged" in text
    assert ("thai_mtbench" in text) or ("thai\\_mtbench" in text)
    if suffix == ".html":
        assert "<table" in text and "<script" not in text


def test_export_escapes_and_rejects_unknown_format(board, tmp_path):
    rows = board.rows.copy()
    rows.loc[rows["model"] == MODEL_B, "alias"] = "<b>|x|</b>"
    evil = data.Board(board.root, board.runs, rows, (), board.comparisons)
    assert "&lt;b&gt;|x|&lt;/b&gt;" in data_export.render(evil, ".html")
    assert "&lt;b&gt;\\|x\\|&lt;/b&gt;" in data_export.render(evil, ".md")
    with pytest.raises(TransevalError, match="unknown export format"):
        export_board(board.root, tmp_path / "x.pdf")


def test_server_binds_localhost_and_fixes_the_folder(tmp_path):
    cmd = board_command(tmp_path, 8599)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[-2:] == ["--runs", str(tmp_path.resolve())] and cmd[cmd.index("--server.port") + 1] == "8599"
    other = board_command(tmp_path, None, host="0.0.0.0", headless=True)
    assert other[other.index("--server.address") + 1] == "0.0.0.0" and "--server.port" not in other


def _app(store: Path, monkeypatch: pytest.MonkeyPatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRANSEVAL_RUNS_DIR", str(store))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    return at


def test_every_page_renders_without_exceptions_and_shows_text_literally(store, monkeypatch):
    at = _app(store, monkeypatch)
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert not at.text_input or page == "board_pages/samples.py"  # no runs-folder input anywhere
        assert all(t.label != "Runs folder" for t in at.text_input)
        for md in [*at.markdown, *at.caption, *at.warning, *at.info]:
            assert "<script>" not in md.value and "](javascript:" not in md.value and "](https:" not in md.value


def test_leaderboard_page(store, monkeypatch):
    at = _app(store, monkeypatch)
    assert at.title[0].value == "transeval leaderboard"
    wide = at.dataframe[1].value  # [0] is the problems table
    assert set(wide["model"]) == {MODEL_A, MODEL_B, MODEL_C}
    problems = at.dataframe[0].value
    assert "broken/results_2026-02-01T00-00-00.json" in set(problems["file"])
    assert any("MIXED JUDGES" in w.value for w in at.warning)
    details = next(df.value for df in at.dataframe if "status" in df.value and "rubric" in df.value)
    assert data.NOT_JUDGED in set(details["status"])
    at.checkbox[0].check().run()
    assert any((df.value["kind"] == "reported").any() for df in at.dataframe if "kind" in df.value)


def test_samples_page_shows_the_injection_as_text(store, monkeypatch):
    at = _app(store, monkeypatch)
    at.switch_page("board_pages/samples.py").run()
    model_box = at.selectbox[0]
    model_box.select(MODEL_A).run()
    at.selectbox[1].select("thai_mtbench").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any(INJECTION in t for t in texts)
    at.text_input[0].input("onerror").run()
    assert any("1 of 8 samples" == t.value for t in at.text)


def test_samples_page_unjudged_hint(store, monkeypatch):
    at = _app(store, monkeypatch)
    at.switch_page("board_pages/samples.py").run()
    at.selectbox[0].select(MODEL_C).run()
    at.selectbox[1].select("llm_eval").run()
    assert any("transeval judge RUN" in i.value for i in at.info)
    assert any("unscored: not judged yet" == t.value for t in at.text)


def test_side_by_side_page(store, monkeypatch):
    at = _app(store, monkeypatch)
    at.switch_page("board_pages/side_by_side.py").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any(INJECTION in t for t in texts) and any("โมเดลข" in t for t in texts)
    verdicts = at.dataframe[-1].value
    assert list(verdicts["turn"]) == [1, 2]


def test_empty_folder_page(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch)
    assert not at.exception
    assert any("No lm-eval runs" in i.value for i in at.info)
    shutil.rmtree(tmp_path)


def test_long_table_for_other_tools(store):
    long = data.leaderboard(store)
    rows = {(r["model"], r["task"]): r for _, r in long.iterrows()}
    assert rows[(MODEL_A, "thai_mtbench")]["metric"] == "score"
    assert rows[(MODEL_A, "ceval")]["metric"] == "acc" and rows[(MODEL_A, "ceval")]["n_total"] == 10
    run = next(r for r in data.find_runs(store) if r.model == MODEL_A and "ceval-valid_law" in r.tasks)
    assert len(data.breakdown(run, "ceval")) == 3
    assert [q.correct for q in data.choice_samples(run, "ceval-valid_law")] == [True, True, True, True, False]


def test_demo_judge_numbers_are_labelled():
    import pandas as pd

    rows = pd.DataFrame({"task": ["thai_mtbench", "ceval"], "judge": ["demo-judge-gemma-3-270m", ""]})
    assert data.demo_judged(rows) == ["thai_mtbench"]
    assert data.DEMO_JUDGE_NOTE == "demo judge (gemma-3-270m): checks the pipeline, not quality"
