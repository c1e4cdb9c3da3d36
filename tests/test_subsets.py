"""Every subset of every bundled knowledge benchmark has a name of ours that lm-eval resolves to the bundled data."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "tasks"
CEVAL_SUBJECTS = sorted(json.loads((TASKS / "ceval" / "data" / "subject_mapping.json").read_text(encoding="utf-8")))
AGIEVAL_SUBSETS = sorted(p.stem for p in (TASKS / "agieval" / "data").glob("*.jsonl"))


@pytest.fixture(scope="module")
def tm() -> Any:
    from lm_eval.tasks import TaskManager

    return TaskManager()


def _member_configs(tm: Any, name: str) -> dict[str, dict[str, Any]]:
    """Each task of NAME, built by lm-eval, as its config dict (the group-independent parts)."""
    built = tm.load([name])["tasks"]
    return {task: {k: v for k, v in obj.config.to_dict().items() if k != "metadata"} for task, obj in built.items()}


def test_counts():
    assert len(CEVAL_SUBJECTS) == 52
    assert len(AGIEVAL_SUBSETS) == 21


def test_every_ceval_subject_is_ours(tm: Any):
    from transeval.tasks.ceval.utils import BundledCEval

    for subject in CEVAL_SUBJECTS:
        entry = tm.task_index[f"ceval_{subject}"]
        assert Path(entry.yaml_path).resolve().is_relative_to(TASKS), subject
        assert entry.cfg["task"] == [{"task": f"ceval-valid_{subject}", "class": entry.cfg["task"][0]["class"]}]
        assert f"ceval_{subject}" in tm.all_groups
    built = tm.load(["ceval_law", "ceval_computer_network"])["tasks"]
    for subject in ("law", "computer_network"):
        task = built[f"ceval-valid_{subject}"]
        assert isinstance(task, BundledCEval)
        with (TASKS / "ceval" / "data" / "val" / f"{subject}_val.csv").open(encoding="utf-8", newline="") as fh:
            rows = len(list(csv.DictReader(fh)))
        assert len(task.dataset["val"]) == rows > 0
        assert len(task.dataset["dev"]) == 5


def test_every_agieval_subset_is_ours(tm: Any):
    for subset in AGIEVAL_SUBSETS:
        name = subset.replace("-", "_")
        entry = tm.task_index[f"agieval_v1_{name}"]
        assert Path(entry.yaml_path).resolve().is_relative_to(TASKS), subset
        assert [m["task"] for m in entry.cfg["task"]] == [f"agieval_{name}"]
    task = tm.load(["agieval_v1_logiqa_zh"])["tasks"]["agieval_logiqa_zh"]
    rows = sum(1 for line in (TASKS / "agieval" / "data" / "logiqa-zh.jsonl").open(encoding="utf-8") if line.strip())
    assert len(task.dataset["test"]) == rows > 0


def test_every_gaokao_objective_file_has_a_task(tm: Any):
    files = {p.stem for p in (TASKS / "gaokao_bench" / "data").glob("*.json") if p.stem != "Obj_Prompt"}
    named = {tm.task_index[n].cfg["metadata"]["keyword"]: n for n in tm.all_subtasks if n.startswith("gaokao_obj_")}
    assert set(named) == files, set(named) ^ files
    assert all(re.fullmatch(r"gaokao_obj_[a-z_]+", n) for n in named.values())


@pytest.mark.parametrize(("single", "group", "task"), [
    ("ceval_law", "ceval_humanities", "ceval-valid_law"),
    ("ceval_computer_network", "ceval_stem", "ceval-valid_computer_network"),
    ("agieval_v1_math", "agieval_v1_en", "agieval_math"),
    ("agieval_v1_logiqa_zh", "agieval_v1_zh", "agieval_logiqa_zh"),
])
def test_subset_name_runs_the_same_task_as_its_group(tm: Any, single: str, group: str, task: str):
    """Same config (prompt, splits, metrics, class) and same documents: results are identical by construction."""
    alone = tm.load([single])["tasks"][task]
    within = tm.load([group])["tasks"][task]
    assert type(alone) is type(within)
    assert _member_configs(tm, single)[task] == _member_configs(tm, group)[task]
    split = alone.config.test_split or alone.config.validation_split
    assert list(alone.dataset[split]) == list(within.dataset[split])


@pytest.mark.slow
def test_ceval_subject_runs_offline_from_the_cli(tiny_model: Path, tmp_path: Path):
    import os

    from conftest import run_cli

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRANSEVAL_"))}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TRANSEVAL_CACHE_DIR=str(tmp_path / "cache"))
    res = run_cli(["lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model}", "--tasks",
                   "ceval_computer_network,agieval_v1_logiqa_zh,gaokao_obj_biology_mcqs", "--limit", "2",
                   "--device", "cpu", "--gen_kwargs", "max_gen_toks=8", "--output_path", str(tmp_path / "runs")],
                  env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "OfflineModeIsEnabled" not in res.stderr
    results = json.loads(next((tmp_path / "runs").rglob("results_*.json")).read_text(encoding="utf-8"))
    r = results["results"]
    for name in ("ceval_computer_network", "ceval-valid_computer_network", "agieval_v1_logiqa_zh"):
        assert 0.0 <= r[name]["acc,none"] <= 1.0, name
    assert 0.0 <= r["gaokao_obj_biology_mcqs"]["score_rate,none"] <= 1.0
    assert results["n-samples"]["ceval-valid_computer_network"] == {"original": 19, "effective": 2}


@pytest.mark.slow
def test_lm_evals_hub_name_offline_is_one_line_naming_ours(tiny_model: Path, tmp_path: Path):
    """`--tasks ceval-valid_computer_network` (lm-eval's name, data from the hub) offline: one line, no traceback."""
    from conftest import run_cli

    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    res = run_cli(["lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model}", "--tasks",
                   "ceval-valid_computer_network", "--limit", "1", "--device", "cpu"], env, tmp_path)
    assert res.returncode != 0
    assert ("transeval: error: field '--tasks': 'ceval-valid_computer_network' is lm-eval's hub-backed task and "
            "the hub is offline; the bundled copy is 'ceval_computer_network'") in res.stderr
    assert "Traceback" not in res.stderr and "OfflineModeIsEnabled" not in res.stderr
