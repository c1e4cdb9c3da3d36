"""C-Eval on bundled data: loaders, bad input, and fidelity with lm-eval's built-in ceval-valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from transeval.core.errors import TransevalError
from transeval.core.paths import tasks_dir
from transeval.tasks.ceval.utils import read_ceval_csv

DATA = tasks_dir() / "ceval" / "data"


def test_bundled_ceval_counts():
    import json

    subjects = json.loads((DATA / "subject_mapping.json").read_text(encoding="utf-8"))
    assert len(subjects) == 52
    val = sum(len(read_ceval_csv(DATA / "val" / f"{s}_val.csv")) for s in subjects)
    dev = sum(len(read_ceval_csv(DATA / "dev" / f"{s}_dev.csv")) for s in subjects)
    assert (val, dev) == (1346, 260)


def test_bad_ceval_row_names_file_line_field(tmp_path: Path):
    bad = tmp_path / "law_val.csv"
    bad.write_text("id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,E\n", encoding="utf-8")
    with pytest.raises(TransevalError, match=r"law_val.csv:3 field 'answer'"):
        read_ceval_csv(bad)
    bad.write_text("id,question,A,B,C,answer\n", encoding="utf-8")
    with pytest.raises(TransevalError, match=r"law_val.csv:1 field 'D': missing column"):
        read_ceval_csv(bad)


@pytest.mark.slow
def test_ceval_equals_lm_eval_builtin_on_same_data(tiny_model):
    """Our C-Eval group and lm-eval's own ceval-valid tasks, fed the same files, give identical accuracy."""
    import datasets
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    subjects = ["law", "high_school_history", "art_studies"]  # all in ceval_humanities

    tm = TaskManager()

    def hub_free_builtin(subject: str) -> dict:
        # lm-eval's own YAML, with the hub dataset replaced by the HF csv loader over the same files.
        cfg = load_yaml(tm.task_index[f"ceval-valid_{subject}"].yaml_path, resolve_func=True)

        def load(**_: object) -> datasets.DatasetDict:
            return datasets.DatasetDict({
                split: datasets.load_dataset("csv", data_files=str(DATA / split / f"{subject}_{split}.csv"),
                                             split="train").remove_columns(
                    [c for c in ("explanation",) if split == "dev"])
                for split in ("val", "dev")
            })

        return {**cfg, "custom_dataset": load, "dataset_path": None, "task": f"ref_{subject}"}

    common = dict(model="hf", model_args=f"pretrained={tiny_model}", num_fewshot=5, limit=6, batch_size=1,
                  device="cpu", log_samples=True, bootstrap_iters=0, task_manager=tm)
    ours = simple_evaluate(tasks=["ceval_humanities"], **common)
    ref = simple_evaluate(tasks=[hub_free_builtin(s) for s in subjects], **common)
    for s in subjects:
        a = ours["results"][f"ceval-valid_{s}"]["acc,none"]
        b = ref["results"][f"ref_{s}"]["acc,none"]
        assert a == b, (s, a, b)
        ours_ll = [x["resps"] for x in ours["samples"][f"ceval-valid_{s}"]]
        ref_ll = [x["resps"] for x in ref["samples"][f"ref_{s}"]]
        assert ours_ll == ref_ll, s
        assert ours["samples"][f"ceval-valid_{s}"][0]["arguments"] == ref["samples"][f"ref_{s}"][0]["arguments"]
    assert "ceval_humanities" in ours["results"]


def test_count_words_counts_cjk_characters():
    from transeval.tasks.perplexity.utils import count_words

    assert count_words("the cat sat") == 3
    assert count_words("图书馆开门") == 5
    assert count_words("GPU 很快 fast") == 4


def test_text_docs_formats_and_errors(tmp_path: Path):
    from transeval.tasks.perplexity.utils import read_text_docs

    (tmp_path / "a.txt").write_text("first doc\nstill first\n\nsecond doc\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "third"}\n\n{"text": "fourth"}\n', encoding="utf-8")
    assert read_text_docs(tmp_path / "a.txt") == ["first doc\nstill first", "second doc"]
    assert read_text_docs(tmp_path) == ["first doc\nstill first", "second doc", "third", "fourth"]
    (tmp_path / "b.jsonl").write_text('{"text": "ok"}\n{"txt": "bad"}\n', encoding="utf-8")
    with pytest.raises(TransevalError, match=r"b.jsonl:2 field 'text'"):
        read_text_docs(tmp_path / "b.jsonl")
    with pytest.raises(TransevalError, match="text file not found"):
        read_text_docs(tmp_path / "missing.txt")


def test_perplexity_aggregations():
    import math

    from transeval.tasks.perplexity import utils as k

    items = [(-10.0, 5), (-20.0, 5), (-6.0, 2)]
    assert k.aggregate_word_perplexity(items) == pytest.approx(math.exp(36 / 12))
    assert k.aggregate_bits_per_byte(items) == pytest.approx(36 / 12 / math.log(2))
    lo, hi = k.aggregate_word_perplexity_ci_low(items), k.aggregate_word_perplexity_ci_high(items)
    assert lo <= k.aggregate_word_perplexity(items) <= hi
    assert k.aggregate_word_perplexity_ci_low(items[:1]) is None


def test_suites_resolve():
    from lm_eval.tasks import TaskManager

    tm = TaskManager()
    names = set(tm.all_tasks)
    assert {"llama_beyond_english", "llama_beyond_english_offline", "transllm_th", "ceval", "mmlu",
            "perplexity_en", "perplexity_zh"} <= names
    import yaml

    suite = yaml.safe_load((tasks_dir() / "suites" / "llama_beyond_english.yaml").read_text())
    assert {"group": "mmlu", "num_fewshot": 5} in suite["task"]
    assert {"group": "ceval", "num_fewshot": 5} in suite["task"]


@pytest.mark.slow
def test_offline_paper_suite_end_to_end(tiny_model, server, judge_env, tmp_path):
    import json
    import os

    from conftest import run_cli

    env = judge_env  # GAOKAO-Bench's subjective questions are judged (scripted local judge)
    res = run_cli(["lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model}", "--tasks",
                   "llama_beyond_english_offline", "--limit", "2", "--device", "cpu", "--output_path",
                   str(tmp_path / "runs"), "--log_samples", "--gen_kwargs", "max_gen_toks=8"], env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads(next((tmp_path / "runs").rglob("results_*.json")).read_text())
    r = results["results"]
    assert 0.0 <= r["ceval"]["acc,none"] <= 1.0
    assert results["n-shot"]["ceval-valid_law"] == 5
    for lang in ("en", "zh"):
        ppl = r[f"perplexity_{lang}"]
        assert ppl["word_perplexity_ci_low,none"] <= ppl["word_perplexity,none"] <= ppl["word_perplexity_ci_high,none"]
        assert ppl["byte_perplexity,none"] > 1

    # The board shows the suite's members with their breakdown, chance level and questions.
    from transeval.dashboard import data

    board = data.leaderboard(tmp_path / "runs")
    rows = {r["task"]: r for _, r in board.iterrows()}
    assert set(rows) == {"ceval", "agieval_v1", "gaokao_bench_obj", "gaokao_bench_sub", "perplexity_en",
                         "perplexity_zh"}
    assert rows["gaokao_bench_sub"]["metric"] == "scoring rate (judge, points)"
    assert 0 <= rows["gaokao_bench_sub"]["score"] <= 1 and server.judge_calls() == 2
    assert rows["gaokao_bench_obj"]["metric"] == "score_rate (points)"
    assert 0 <= rows["gaokao_bench_obj"]["score"] <= 1
    assert rows["ceval"]["metric"] == "acc" and rows["ceval"]["chance"] == pytest.approx(0.25)
    assert rows["ceval"]["ci_low"] <= rows["ceval"]["score"] <= rows["ceval"]["ci_high"]
    assert rows["ceval"]["n_total"] == 104
    assert rows["perplexity_en"]["metric"] == "word_perplexity" and rows["perplexity_en"]["ci_low"] is not None
    run = data.find_runs(tmp_path / "runs")[0]
    table = data.breakdown(run, "ceval")
    assert len(table) == 1 + 4 + 52 and table["task"].str.contains("ceval_stem").any()
    questions = data.choice_samples(run, "ceval-valid_law")
    assert len(questions) == 2
    for q in questions:
        assert len(q.options) == 4 and q.picked in range(4) and len(q.gold) == 1 and q.gold[0] in range(4)
        assert q.correct == (q.picked in q.gold) and q.question
    gk = data.generation_samples(run, "gaokao_obj_math_i_mcqs")
    assert len(gk) == 2 and all("points" in g.details and g.prompt.startswith("请你做一道数学选择题") for g in gk)
    assert data.is_generation_task(run, "gaokao_obj_math_i_mcqs")
    agi = data.choice_samples(run, "agieval_gaokao_mathqa")
    assert agi and all(q.gold and q.correct is not None for q in agi)

    from streamlit.testing.v1 import AppTest

    os.environ["TRANSEVAL_RUNS_DIR"] = str(tmp_path / "runs")
    try:
        at = AppTest.from_file(str(Path(data.__file__).with_name("app.py")), default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        at.switch_page("board_pages/samples.py").run()
        assert not at.exception, at.exception
        at.selectbox[1].select("ceval").run()
        assert not at.exception, at.exception
        assert any("Breakdown" == h.value for h in at.subheader)
        texts = [t.value for t in at.text]
        assert any(t.startswith("Question:") for t in texts)
        assert any("<- " in t and "gold" in t for t in texts)
    finally:
        os.environ.pop("TRANSEVAL_RUNS_DIR", None)


def test_agieval_prompts_and_labels(tmp_path: Path):
    from transeval.tasks.agieval.utils import agieval_query, read_agieval

    row = {"passage": None, "question": "2+2?", "options": ["(A)3", "(B)4", "(C)5", "(D)6", "(E)7"], "label": "B"}
    expected = "Q: 2+2? Answer Choices: (A)3 (B)4 (C)5 (D)6 (E)7\nA: Among A through E, the answer is"
    assert agieval_query(row, "aqua-rat") == expected
    zh = {**row, "options": row["options"][:4]}
    assert agieval_query(zh, "logiqa-zh").endswith("选项：(A)3 (B)4 (C)5 (D)6\n答案：从A到D, 我们应选择")
    assert agieval_query({"passage": "P. ", "question": "x?"}, "math") == "P. Q: x?\nA: The answer is"
    path = tmp_path / "jec-qa-ca.jsonl"
    import json

    rows = [{**zh, "label": ["A", "C", "。"]}, {**zh, "label": "A B D"}, {**zh, "label": []}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    docs = read_agieval(path, "jec-qa-ca")
    assert [d["gold"] for d in docs] == [[0, 2], [0, 1, 3]]  # the empty label is skipped with a warning
    path.write_text(json.dumps({**zh, "label": "F"}) + "\n", encoding="utf-8")
    with pytest.raises(TransevalError, match=r"jec-qa-ca.jsonl:1 field 'label'"):
        read_agieval(path, "jec-qa-ca")


def test_bundled_agieval_rows():
    from transeval.tasks.agieval.utils import AGIEVAL_CLOZE, AGIEVAL_EN_MCQ, AGIEVAL_ZH_MCQ, read_agieval

    names = AGIEVAL_EN_MCQ + AGIEVAL_ZH_MCQ + tuple(AGIEVAL_CLOZE)
    assert len(names) == 21
    counts = {n: len(read_agieval(tasks_dir() / "agieval" / "data" / f"{n}.jsonl", n)) for n in names}
    assert sum(counts.values()) == 8269 - 1  # one upstream jec-qa-kd row has no label
    assert counts["math"] == 1000 and counts["gaokao-mathcloze"] == 118
