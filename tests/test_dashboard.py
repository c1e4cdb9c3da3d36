"""The leaderboard: pure data functions and every page (AppTest) on a fixture store built by the judge step.

Store (tests/fixtures_board.py): 3 models (two named ``m`` under different orgs), a judged multi-turn task
(Thai MT-bench) by two judges, an aspects task (LLM-Eval) left unjudged for one model, a pairwise comparison
between runs, a knowledge group (C-Eval subjects) and two safety tasks; plus broken results files. The "full"
store adds a run judged only with a user rubric (conciseness, 0-4), a demo-judged run, a judged safety run with
the whole safety family, Thai AlpacaEval (win rate, LC) and make demo's demo_knowledge group (issue 22).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fixtures_board import (
    INJECTION,
    LINK_CATEGORY,
    MODEL_A,
    MODEL_B,
    MODEL_C,
    MODEL_D,
    MODEL_E,
    MODEL_F,
    add_alpaca_run,
    add_broken_runs,
    add_demo_judged_run,
    add_demo_knowledge_run,
    add_rubric_only_run,
    add_safety_judged_run,
    build_store,
    write_conciseness,
)
from scripted_server import ScriptedOpenAI
from transeval.core.errors import TransevalError
from transeval.core.records import LOWER_IS_BETTER, SAFETY_METRICS
from transeval.dashboard import data, data_export, data_plots, data_reported, data_samples, data_table
from transeval.dashboard.serve import board_command

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
    assert data_table.leader_table(empty).values.empty  # no crash on an empty board
    with pytest.raises(TransevalError, match="no runs with numbers to export"):
        data_export.write_export(tmp_path, tmp_path / "out" / "lb.md")


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


@pytest.mark.parametrize("suffix", [".md", ".html", ".tex", ".csv"])
def test_export(store, tmp_path, suffix):
    out = data_export.write_export(store, tmp_path / f"leaderboard{suffix}")
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
        data_export.write_export(board.root, tmp_path / "x.pdf")


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
    assert set(wide["full name"]) == {MODEL_A, MODEL_B, MODEL_C}
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


# --- First screen, labels, caveats, safe exports, plots (issue 22) -----------------------------------------------

EXPORTS = (".md", ".html", ".tex", ".csv")


@pytest.fixture(scope="module")
def full_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture store plus a conciseness-only run, a demo-judged run and a judged safety run."""
    tmp = tmp_path_factory.mktemp("board_full")
    rubrics = write_conciseness(tmp / "rubrics")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANSEVAL_RUBRICS_DIR", str(rubrics))
    server = ScriptedOpenAI().start()
    try:
        build_store(tmp / "runs", server.base_url, tmp / "cache")
        add_rubric_only_run(tmp / "runs", server, tmp / "cache", rubrics)
        add_demo_judged_run(tmp / "runs", server, tmp / "cache")
        add_alpaca_run(tmp / "runs", server, tmp / "cache")
        add_demo_knowledge_run(tmp / "runs")
    finally:
        server.stop()
        mp.undo()
    add_safety_judged_run(tmp / "runs")
    yield tmp / "runs"


@pytest.fixture(scope="module")
def full_board(full_store: Path) -> data.Board:
    return data.load_board(full_store)


def _export(board: data.Board, suffix: str, metrics: list[str] | None = None) -> str:
    return data_export.render(board, suffix, metrics)


def test_first_column_is_a_headline_benchmark_and_a_user_rubric_is_a_column(full_board, full_store, tmp_path):
    table = data_table.leader_table(full_board)
    first = table.columns[0]
    assert (first.task, first.metric, first.role) == ("thai_mtbench", "score", "headline")
    assert list(table.values.columns[:3]) == ["model", "alias", "MT-bench score · thai_mtbench"]
    families = [c.family for c in table.columns if c.role == "headline"]
    assert families == sorted(families, key=lambda f: [x[0] for x in data_table.FAMILIES].index(f))
    keys = [c.key for c in table.columns]
    assert "thai_mtbench:conciseness" in keys and "multijail_th:safe_rate" in keys and "ceval:acc" in keys
    # sorted by the first column, best first, models without it last
    scores = [v for v in table.values["MT-bench score · thai_mtbench"] if v == v and v is not None]
    assert scores == sorted(scores, reverse=True)
    for suffix in EXPORTS:
        text = _export(full_board, suffix)
        header = next(line for line in text.splitlines() if "model" in line)
        assert header.index("MT-bench score") < header.index("LLM-Eval AVG") < header.index("conciseness"), suffix
    # the metric picker's choice: --metrics on the command line
    from transeval.harness.cli import main

    out = tmp_path / "lb.md"
    assert main(["board", str(full_store), "--export", str(out), "--metrics",
                 "default,thai_mtbench:wrong_language_rate,score/turn1"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "wrong-language rate ↓ · thai\\_mtbench" in text and "score turn1 · thai\\_mtbench" in text
    assert main(["board", str(full_store), "--export", str(out), "--metrics", "nonsense"]) != 0


def test_rubric_only_run_shows_the_benchmark_as_not_judged_and_the_rubric_under_its_name(full_board):
    rows = full_board.rows[full_board.rows["model"] == MODEL_D]
    head = rows[rows["headline"]].iloc[0]
    assert head["metric"] == "score" and pd.isna(head["score"]) and "not judged" in head["status"]
    conc = rows[rows["metric"] == "conciseness"].iloc[0]
    assert 0 <= conc["score"] <= 4 and conc["role"] == "rubric"
    table = data_table.leader_table(full_board)
    row = table.cells[table.cells["model"] == MODEL_D].iloc[0]
    assert row["MT-bench score · thai_mtbench"].startswith("not judged")
    assert row["conciseness · thai_mtbench"].startswith(data.fmt(conc["score"]))
    assert table.values[table.values["model"] == MODEL_D]["MT-bench score · thai_mtbench"].isna().all()
    for suffix in EXPORTS:
        text = _export(full_board, suffix)
        line = next(x for x in text.splitlines() if "concise-only" in x and "org-d" in x)
        assert "not judged" in line, suffix
        assert data.fmt(conc["score"]) in line, suffix
        # the rubric's 0-4 mean is never in the MT-bench column: it follows the "not judged" cell
        assert line.index("not judged") < line.index(data.fmt(conc["score"])), suffix


def test_every_export_of_a_demo_judged_run_says_so(full_board):
    for suffix in EXPORTS:
        text = _export(full_board, suffix)
        assert "DEMO JUDGE" in text and "gemma-3-270m" in text and "not quality" in text, suffix
        line = next(x for x in text.splitlines() if "demo-judged" in x and "org-e" in x)
        assert "demo judge" in line, suffix  # on the row itself, not only in the notes
        assert "MIXED JUDGES" in text and "PARTIAL" in text, suffix
        assert "judge-other" in text and "judge-scripted" in text, suffix  # the judges' names


HOSTILE = ('=HYPERLINK("http://evil.example","x")', "[x] <b>&amp; |pipe| \\\\ #1 $ % ^ _ ~ {}",
           "+cmd|' /C calc'!A0", "@SUM(A1)", "\t-2+3", "<script>alert(1)</script>")


def _hostile_board(board: data.Board) -> data.Board:
    rows = board.rows.copy()
    models = sorted(set(rows["model"]))
    for model, evil in zip(models, HOSTILE, strict=False):
        rows.loc[rows["model"] == model, "alias"] = evil
        rows.loc[rows["model"] == model, "model"] = evil + " full"
    rows.loc[rows["judge"] == "judge-other", "judge"] = "\r-cmd()|<i>judge</i>"
    assert len(set(rows["alias"]) & set(HOSTILE)) == len(HOSTILE)
    return data.Board(board.root, board.runs, rows, (), board.comparisons)


def test_hostile_names_are_inert_in_every_format(full_board):
    import csv
    import io

    evil = _hostile_board(full_board)
    text = _export(evil, ".csv")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    for cell in cells:
        assert not cell.startswith(data_export.FORMULA_START), cell
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells and "'@SUM(A1)" in cells and "'\t-2+3" in cells
    for df in (data.details(evil), data_table.leader_table(evil).cells):
        back = list(csv.reader(io.StringIO(data_export.csv_bytes(df).decode("utf-8"))))
        assert all(not c.startswith(data_export.FORMULA_START) for row in back for c in row)
    back = [c for row in csv.reader(io.StringIO(data_export.csv_bytes(data.details(evil)).decode())) for c in row]
    assert any(c.startswith("'\r-cmd()") for c in back)  # a judge name in the details download
    tex = _export(evil, ".tex")
    body = [line for line in tex.splitlines() if line.endswith("\\\\")]
    assert all(not line.startswith("[") for line in body)  # after \\ a "[" would be read as a length
    assert "{[}x{]} \\textless{}b\\textgreater{}\\&amp; \\textbar{}pipe\\textbar{}" in tex
    assert "<" not in tex.replace("\\textless{}", "") and ">" not in tex.replace("\\textgreater{}", "")
    md = _export(evil, ".md")
    assert "\\[x\\] &lt;b&gt;&amp;amp; \\|pipe\\|" in md and "<script>" not in md and "<i>" not in md
    html_text = _export(evil, ".html")
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text and "<i>judge" not in html_text


def test_judge_reliability_beside_judged_numbers(full_board):
    table = data_table.leader_table(full_board)
    safety = table.details[table.details["model"] == MODEL_F].iloc[0]["safe rate · multijail_th"]
    assert "(7/8)" in safety and "12% unscored" in safety and "2 empty" in safety
    assert "matcher" in safety and "AdvBench rule" in safety and "agreement" in safety
    demo = table.details[table.details["model"] == MODEL_E].iloc[0]["MT-bench score · thai_mtbench"]
    assert "demo judge" in demo
    rows = full_board.rows
    row = rows[(rows["model"] == MODEL_F) & (rows["metric"] == "safe_rate")].iloc[0]
    assert row["unscored_share"] == pytest.approx(1 / 8) and row["n_empty"] == 2
    mixed = dict(row)
    mixed["mixed"], mixed["swap_inconsistency"] = True, 0.25
    notes = data_table.reliability(mixed)
    assert "swap 25%" in notes and "mixed judges" in notes and "2 empty" in notes
    assert set(SAFETY_METRICS) <= {m for m in rows[rows["model"] == MODEL_F]["metric"]}


def test_lower_is_better_is_one_list_and_marked(full_board):
    for metric in LOWER_IS_BETTER:
        assert data.lower_is_better(metric) and data.lower_is_better(f"{metric}/turn1")
    assert not data.lower_is_better("safe_rate") and not data.lower_is_better("score")
    cols = data_table.resolve(data_table.available(full_board.rows), ["wrong_language_rate"])
    assert cols and all(c.label.startswith("wrong-language rate ↓") for c in cols)
    text = _export(full_board, ".md", ["default", "wrong_language_rate"])
    assert "↓ lower is better" in text  # lm-eval's own table: tests/test_e2e_judged.py (higher_is_better)


def test_plots_never_sum_across_tasks_and_n_is_the_intervals(full_board):
    # model A has judged turns on two tasks (thai_mtbench and llm_eval): each chart table holds one task
    for task in data_plots.sub_metric_tasks(full_board, "turn"):
        df = data_plots.sub_metrics(full_board, "turn", task=task)
        assert set(df["task"]) == {task}
        assert not df.duplicated(["part", "model"]).any()
        assert df["score"].max() <= 10
    mt = data_plots.sub_metrics(full_board, "turn", task="thai_mtbench")
    a = mt[(mt["model"] == "org-a/m")]
    assert list(a["n"]) == [8, 8] and list(a["n_total"]) == [8, 8]  # 8 questions per turn, not the 16 turns
    details = data.details(full_board)
    turn = details[(details["alias"] == "org-a/m") & (details["metric"] == "score/turn1")
                   & (details["task"] == "thai_mtbench")].iloc[0]
    assert turn["n_total"] == 8
    saf = data_plots.safety(full_board)
    assert not saf.duplicated(["label", "model"]).any() and saf["rate"].max() <= 1.0
    assert {t for t in saf["task"]} >= {"multijail_th", "thai_mtbench"}


def test_win_rate_table_holds_win_rates_only(full_board, full_store):
    wr = data_plots.win_rates(full_board)
    assert set(wr["metric"]) == {"win_rate"}
    assert set(full_board.comparisons["metric"]) > {"win_rate"}  # the folder also holds the language checks
    comp = full_board.comparisons.copy()
    comp = pd.concat([comp, comp.iloc[:1].assign(task="advbench")], ignore_index=True)
    assert "advbench" not in set(data.win_rate_rows(comp)["task"])  # no helpfulness win rate on harmful prompts


def test_radar_only_with_three_categories_and_fifty_models_get_fifty_colours():
    one = pd.DataFrame({"category": ["writing", "writing"], "model": ["a", "b"]})
    three = pd.DataFrame({"category": ["writing", "math", "coding"], "model": ["a"] * 3})
    assert not data_plots.use_radar(one) and data_plots.use_radar(three)
    colours = data_plots.palette(50)
    assert len(colours) == 50 and len(set(colours)) == 50
    assert all(len(c) == 7 and c.startswith("#") for c in colours)


def test_reported_rows_whose_average_is_not_the_mean_of_their_aspects_are_flagged():
    t1 = next(t for t in data_reported.TABLES if t.key == "paper_b_t1")
    rep = data_reported.reported_frame(t1)
    flagged = rep[rep["check"] != ""]
    assert list(flagged["model"].str.split(" · ").str[1]) == ["5k"] * 6
    worst = flagged[flagged["model"] == "Open Chinese LLaMA · 5k"].iloc[0]
    assert worst["avg"] == pytest.approx(2.245)  # as printed
    assert "off by +0.186" in worst["check"]
    assert (rep[rep["check"] == ""]["model"].str.endswith(("1k", "950k"))).all()


def test_samples_language_line_agrees_with_the_wrong_language_verdict():
    answer = "คำตอบ This is mostly an English answer with some words here and there ภาษาไทยนิดหน่อย"
    main_language, wrong, note = data_samples.language_check(answer, "Thai")
    assert wrong is True and main_language == "en"  # py3langid's whole-text guess is "th"
    assert note.startswith("th is 25% of the answer's words (wrong language")


def test_leaderboard_page_first_screen_and_url_state(full_store, monkeypatch):
    at = _app(full_store, monkeypatch)
    assert not at.exception
    lb = next(df.value for df in at.dataframe if "full name" in df.value and "task" not in df.value)
    assert list(lb.columns[:3]) == ["model", "MT-bench score · thai_mtbench", "MT-bench score · thai_mtbench ±, n"]
    assert "conciseness · thai_mtbench" in lb.columns
    assert any("gemma" in w.value and "not quality" in w.value for w in at.warning)
    picker = next(m for m in at.multiselect if m.key == "metrics")
    picker.select("thai_mtbench:wrong_language_rate").run()
    assert "metrics" in at.query_params
    assert "wrong-language rate ↓ · thai_mtbench" in next(df.value for df in at.dataframe if "full name" in df.value
                                                           and "task" not in df.value)


def test_samples_page_opens_a_linked_sample(full_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRANSEVAL_RUNS_DIR", str(full_store))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page("board_pages/samples.py")
    run_a = data_samples.runs_of(data.load_board(full_store), MODEL_A, "thai_mtbench")[0]
    second = data_samples.samples(run_a, "thai_mtbench", detect=False)[1].sample_id
    at.query_params.update({"model": MODEL_A, "task": "thai_mtbench", "sample": second})
    at.run()
    assert not at.exception
    assert at.selectbox(key="model").value == MODEL_A and at.selectbox(key="task").value == "thai_mtbench"
    assert at.expander[0].label.startswith(second)
    assert any(t.value.startswith("Link to this sample: samples?model=") for t in at.text)
    checks = [t.value for t in at.text if t.value.startswith("[wrong_language_rate")]
    assert checks and all(" yes — " in x or " no — " in x for x in checks)  # no "detected th" beside 1.00
    assert any(t.value.startswith("Language: th is ") for t in at.text)


def test_charts_for_fifty_models_keep_colours_apart_and_legends_whole():
    from transeval.dashboard import charts

    names = [f"org-{i}/model-{i}-with-a-rather-long-checkpoint-name" for i in range(50)]
    df = pd.DataFrame({"model": names * 2, "part": ["turn1"] * 50 + ["turn2"] * 50, "score": 5.0,
                       "ci_low": 4.0, "ci_high": 6.0})
    spec = charts.bars(df, "part", "score", "model").to_dict()
    assert spec["facet"]["column"]["field"] == "part"  # one panel per turn: bars and intervals share a band
    layer = spec["spec"]["layer"][0]["encoding"]
    assert layer["y"]["stack"] is None  # never stacked
    assert layer["x"]["field"] == "model" and layer["x"]["axis"]["labelOverlap"] is False  # every bar named
    colour = layer["color"]
    assert len(colour["scale"]["range"]) == 50 and len(set(colour["scale"]["range"])) == 50
    assert colour["scale"]["domain"] == sorted(names)
    assert colour["legend"]["symbolLimit"] > 50 and colour["legend"]["labelLimit"] == 0  # Vega cuts at 30
    assert spec["spec"]["layer"][1]["encoding"]["x"]["field"] == "model"  # the CI rule on the same band


def test_alpaca_eval_headline_is_the_win_rate_with_lc_beside_it(full_board):
    table = data_table.leader_table(full_board)
    keys = [c.key for c in table.columns]
    assert keys.index("thai_mtbench:score") < keys.index("alpaca_eval_th:win_rate") < keys.index("llm_eval:score")
    win = next(c for c in table.columns if c.key == "alpaca_eval_th:win_rate")
    assert win.label == "AlpacaEval win rate · alpaca_eval_th" and win.role == "headline"
    assert "alpaca_eval_th:score" in keys  # its 1-10 single grading is a column under its own name
    rows = full_board.rows[(full_board.rows["model"] == MODEL_A) & (full_board.rows["task"] == "alpaca_eval_th")]
    assert set(rows[rows["headline"]]["metric"]) == {"win_rate"}
    if "alpaca_eval_th:win_rate/LC" in keys:
        assert keys.index("alpaca_eval_th:win_rate/LC") == keys.index("alpaca_eval_th:win_rate") + 1


def test_make_demos_knowledge_run_is_one_average_over_accuracy_and_gaokao_score_rate(tmp_path: Path) -> None:
    """As a real ``make demo`` writes it: two C-Eval subjects (acc), an AGI-Eval subset (acc) and a GAOKAO file
    (score_rate), each limited to 3 questions. One average column, marked partial like every limited cell."""
    from fixtures_board import write_run

    members = {"ceval-valid_law": 0.0, "ceval-valid_high_school_history": 1 / 3, "agieval_gaokao_mathqa": 2 / 3}
    results: dict[str, dict[str, object]] = {"demo_knowledge": {"alias": "demo_knowledge"}}
    for task, acc in members.items():
        results[task] = {"alias": task, "sample_len": 3, "acc,none": acc, "acc_stderr,none": 0.3}
    results["gaokao_obj_math_i_mcqs"] = {"alias": "gaokao_obj_math_i_mcqs", "sample_len": 3, "score_rate,none": 0.6,
                                         "points,none": 9.0, "max_points,none": 15.0, "acc,none": 2 / 3}
    tasks = [*members, "gaokao_obj_math_i_mcqs"]
    configs = {t: {"task": t, "output_type": "generate_until" if t.startswith("gaokao") else "multiple_choice"}
               for t in tasks}
    samples = {t: [{"doc_id": i} for i in range(3)] for t in tasks}
    write_run(tmp_path / "gemma", "gemma-3-270m", "2026-01-09T10-00-00", results, configs, samples,
              groups={"demo_knowledge": tasks}, limit=3)
    board = data.load_board(tmp_path)
    table = data_table.leader_table(board)
    (avg,) = [c for c in table.columns if c.role == "suite_avg"]
    assert avg.label == "accuracy / score_rate avg · demo_knowledge"
    assert not [c for c in table.columns if c.task in tasks]  # members are pickable, not default columns
    assert table.values.iloc[0][avg.label] == pytest.approx((0 + 1 / 3 + 2 / 3 + 0.6) / 4)
    assert table.cells.iloc[0][avg.label].endswith("mean of 4/4 tasks (12 questions) · partial")
    assert any(line.startswith("PARTIAL runs") and "gaokao_obj_math_i_mcqs" in line for line in table.caveats)


def test_a_knowledge_suite_run_as_one_group_is_one_average_column(full_board):
    # make demo's demo_knowledge: no number of its own; its members were the first columns before (issue 22)
    table = data_table.leader_table(full_board)
    keys = [c.key for c in table.columns]
    avg = next(c for c in table.columns if c.task == "demo_knowledge")
    assert avg.role == "suite_avg" and avg.label == "accuracy avg · demo_knowledge"
    assert keys.index("thai_mtbench:score") < keys.index(avg.key) < keys.index("thai_mtbench:conciseness")
    assert "ceval-valid_law:acc" not in keys and "agieval_gaokao_mathqa:acc" not in keys
    row = table.values[table.values["model"] == MODEL_E].iloc[0]
    assert row[avg.label] == pytest.approx((3 / 5 + 4 / 5 + 1 / 3) / 3)
    assert "mean of 3/3 tasks (13 questions)" in table.details[table.details["model"] == MODEL_E].iloc[0][avg.label]
    every = [c.key for c in data_table.available(full_board.rows)]
    assert "agieval_gaokao_mathqa:acc" in every  # still pickable
    picked = data_table.leader_table(full_board, ["default", "agieval_gaokao_mathqa:acc"])
    assert picked.columns[-1].key == "agieval_gaokao_mathqa:acc"


def test_a_number_merged_from_several_judges_or_endpoints_is_flagged(store, tmp_path):
    import json

    root = tmp_path / "runs"
    shutil.copytree(store / "org-b_m", root / "org-b_m")
    path = next((root / "org-b_m").glob("judgments_thai_mtbench_*.jsonl"))
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    scored = [r for r in lines if r["metric"] == "score"]
    for i, rec in enumerate(scored):  # a rerun with another endpoint filled half of the turns
        rec["endpoint"] = "http://127.0.0.1:1/v1" if i % 2 else "http://127.0.0.1:2/v1"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    b = data.load_board(root)
    row = b.rows[(b.rows["task"] == "thai_mtbench") & (b.rows["metric"] == "score")].iloc[0]
    assert bool(row["mixed"])
    table = data_table.leader_table(b)
    assert "mixed judges" in table.details.iloc[0]["MT-bench score · thai_mtbench"]
    assert any(c.startswith("Mixed judges within a number") for c in table.caveats)
    for rec in scored:
        rec.pop("endpoint")
        rec["judge_model"] = "judge-a" if int(rec["turn"]) else "judge-b"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    b = data.load_board(root)
    row = b.rows[(b.rows["task"] == "thai_mtbench") & (b.rows["metric"] == "score")].iloc[0]
    assert bool(row["mixed"]) and row["judge"] == "judge-b, judge-a"


def test_every_page_renders_the_full_store(full_store, monkeypatch):
    at = _app(full_store, monkeypatch)
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
    at.switch_page("board_pages/reported.py").run()
    assert any("not the mean of their aspects" in w.value for w in at.warning)


def test_no_helpfulness_win_rate_leads_on_a_harmful_prompt_set():
    cols = [data_table.Column("advbench", "win_rate", "win rate · advbench", "Safety", "rubric"),
            data_table.Column("advbench", "safe_rate", "safe rate · advbench", "Safety", "headline"),
            data_table.Column("alpaca_eval_th", "win_rate", "AlpacaEval win rate · alpaca_eval_th", "AlpacaEval",
                              "headline")]
    assert data_table.default_keys(cols) == ["advbench:safe_rate", "alpaca_eval_th:win_rate"]
