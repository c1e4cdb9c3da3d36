"""Training stages on CPU with the tiny random Llama: masking, configs, loss goes down, checkpoints load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transeval.core.errors import TransevalError
from transeval.train.config import load_stage_config
from transeval.train.data import IGNORE_INDEX, messages_from_record, pack_blocks, tcot_target, tokenize_masked

EXAMPLES = Path(__file__).resolve().parent.parent / "train" / "examples"


def test_tcot_target_and_transllm_example():
    assert tcot_target(" Hi? ", "Hello.", "สวัสดี") == "<EN> Hi? <RESPONSE> Hello. <TH> สวัสดี"
    record = json.loads((EXAMPLES / "example_cot.json").read_text(encoding="utf-8"))[0]
    messages = messages_from_record(record, "example_cot.json[0]")
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"].startswith("<EN>") and "<TH>" in messages[1]["content"]


def test_prompt_tokens_are_masked(tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    messages = [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "four"},
                {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "six"}]
    ex = tokenize_masked(tok, messages, 512)
    assert len(ex.input_ids) == len(ex.labels)
    learned = [t for t in ex.labels if t != IGNORE_INDEX]
    assert tok.decode(learned) == "four<|eot_id|>six<|eot_id|>"
    masked = tok.decode([i for i, lab in zip(ex.input_ids, ex.labels, strict=True) if lab == IGNORE_INDEX])
    assert "What is 2+2?" in masked and "And 3+3?" in masked and "four" not in masked
    assert tok.decode(ex.input_ids) == tok.apply_chat_template(messages, tokenize=False)


def test_bad_records_and_blocks():
    with pytest.raises(TransevalError, match=r"f.json\[3\] field 'conversations\[0\]'"):
        messages_from_record({"conversations": [{"from": "robot", "value": "x"}]}, "f.json[3]")
    with pytest.raises(TransevalError, match="no assistant turn"):
        messages_from_record({"conversations": [{"from": "human", "value": "x"}]}, "f.json[0]")
    assert pack_blocks([[1, 2, 3], [4, 5]], 3, 0) == [[1, 2, 3], [0, 4, 5]]


def _stage(tmp_path: Path, model: Path, **over: object) -> Path:
    records = [{"conversations": [{"from": "human", "value": f"คำถาม {i}"},
                                  {"from": "gpt", "value": tcot_target(f"question {i}", f"answer {i}", f"ตอบ {i}")}]}
               for i in range(8)]
    (tmp_path / "tcot.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    cfg = {"stage": "sft", "model": str(model), "output_dir": str(tmp_path / "out"), "data_files": ["tcot.json"],
           "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"],
                    "modules_to_save": []},
           "learning_rate": 5e-3, "warmup_ratio": 0.0, "per_device_batch_size": 4, "gradient_accumulation_steps": 1,
           "max_seq_length": 256, "max_steps": 30, "logging_steps": 5, "save_steps": 15, "merge_lora": True, **over}
    path = tmp_path / "stage.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_bad_configs_fail_before_training(tiny_model, tmp_path):
    from transeval.train import sft

    with pytest.raises(TransevalError, match=r"stage.yaml field 'learning_rat'"):
        load_stage_config(_stage(tmp_path, tiny_model, learning_rat=1))
    path = _stage(tmp_path, tiny_model)
    (tmp_path / "tcot.json").unlink()
    with pytest.raises(TransevalError, match=r"field 'data_files'"):
        load_stage_config(path)
    bad = _stage(tmp_path, tiny_model, lora={"target_modules": ["c_attn"], "modules_to_save": []})
    with pytest.raises(TransevalError, match=r"field 'lora.target_modules'.*c_attn"):
        sft.main(str(bad))
    assert not (tmp_path / "out" / "checkpoint-15").exists()


@pytest.mark.slow
def test_sft_stage_learns_resumes_and_loads_in_harness(tiny_model, tmp_path):
    from transeval.train import sft

    summary = sft.main(str(_stage(tmp_path, tiny_model)))
    assert summary["steps"] == 30 and len(summary["losses"]) >= 4
    assert summary["losses"][-1] < summary["losses"][0] * 0.8, summary["losses"]
    assert summary["tokens_per_s"] > 0
    saved = json.loads((tmp_path / "out" / "transeval_stage.json").read_text())
    assert saved["learning_rate"] == 5e-3 and saved["lora"]["r"] == 8
    # A longer run of the same stage resumes from the last checkpoint instead of starting over.
    again = sft.main(str(_stage(tmp_path, tiny_model, max_steps=35)))
    assert again["resumed_from"] and again["resumed_from"].endswith("checkpoint-30")
    # The merged checkpoint is a plain HF model the harness evaluates.
    from lm_eval import simple_evaluate

    out = simple_evaluate(model="hf", model_args=f"pretrained={summary['merged']}", tasks=["perplexity_en"],
                          limit=1, device="cpu", bootstrap_iters=0)
    assert out["results"]["perplexity_en"]["word_perplexity,none"] > 0


@pytest.mark.slow
def test_cpt_stage_via_cli(tiny_model, tmp_path):
    import yaml
    from conftest import run_cli

    text = "\n\n".join(f"กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย {i}. The capital is Bangkok." for i in range(60))
    (tmp_path / "th.txt").write_text(text, encoding="utf-8")
    cfg = {"stage": "cpt", "model": str(tiny_model), "output_dir": "out", "data_files": ["th.txt"],
           "lora": {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"], "modules_to_save": []},
           "learning_rate": 5e-3, "warmup_ratio": 0.0, "per_device_batch_size": 4, "gradient_accumulation_steps": 1,
           "block_size": 64, "max_steps": 20, "logging_steps": 5, "save_steps": 20}
    (tmp_path / "cpt.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    res = run_cli(["transeval", "train", "cpt", str(tmp_path / "cpt.yaml")], {"HF_HUB_OFFLINE": "1",
                  "PATH": "/usr/bin:/bin"}, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "transeval_summary.json").read_text())
    assert summary["steps"] == 20 and summary["losses"][-1] < summary["losses"][0]
    bad = run_cli(["transeval", "train", "cpt", str(tmp_path / "missing.yaml")], {"PATH": "/usr/bin:/bin"}, tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("transeval: error:") and "missing.yaml" in bad.stderr


def test_vocabulary_extension_mean_initialises_new_rows(tiny_model, tmp_path):
    import torch
    import yaml
    from transeval.train import vocab
    from transformers import AutoModelForCausalLM, AutoTokenizer

    text = "\n".join(["ภาษาไทยเป็นภาษาที่สวยงาม มีตัวอักษรมากมาย"] * 30 + ["การประเมินผลแบบจำลองภาษา"] * 30)
    (tmp_path / "th.txt").write_text(text, encoding="utf-8")
    cfg = {"model": str(tiny_model), "output_dir": "ext", "text_files": ["th.txt"], "new_vocab_size": 300,
           "max_new_tokens": 50}
    (tmp_path / "vocab.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    summary = vocab.main(str(tmp_path / "vocab.yaml"))
    assert 0 < summary["added"] <= 50 and summary["tokens_after"] < summary["tokens_before"]

    old_tok = AutoTokenizer.from_pretrained(tiny_model)
    old_emb = AutoModelForCausalLM.from_pretrained(tiny_model).get_input_embeddings().weight
    new_tok = AutoTokenizer.from_pretrained(tmp_path / "ext")
    new_model = AutoModelForCausalLM.from_pretrained(tmp_path / "ext")
    assert len(new_tok) == len(old_tok) + summary["added"] == new_model.get_input_embeddings().weight.shape[0]
    piece = new_tok.convert_ids_to_tokens(len(old_tok))
    expected = old_emb[old_tok(piece, add_special_tokens=False)["input_ids"]].mean(dim=0)
    assert torch.allclose(new_model.get_input_embeddings().weight[len(old_tok)], expected)
    assert new_tok("ภาษาไทยเป็นภาษาที่สวยงาม", add_special_tokens=False)["input_ids"] != \
        old_tok("ภาษาไทยเป็นภาษาที่สวยงาม", add_special_tokens=False)["input_ids"]
    with pytest.raises(TransevalError, match=r"vocab.yaml field 'text_file'"):
        (tmp_path / "vocab.yaml").write_text(yaml.safe_dump({**cfg, "text_file": "x"}), encoding="utf-8")
        vocab.load_vocab_config(tmp_path / "vocab.yaml")


def test_distill_builds_tcot_set_with_provenance(tiny_model, server, judge_env, tmp_path, monkeypatch):
    import yaml
    from transeval.train import distill

    for k, v in judge_env.items():
        if k.startswith(("OPENAI_", "TRANSEVAL_")):
            monkeypatch.setenv(k, v)
    (tmp_path / "alpaca.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"id": "a1", "instruction": "Name a colour.", "input": ""},
        {"id": "a2", "instruction": "Translate to French:", "input": "cat"},
    ]) + "\n", encoding="utf-8")
    cfg = {"model": str(tiny_model), "instructions": "alpaca.jsonl", "output": "rkd.jsonl",
           "translator_model": "translate-scripted", "max_new_tokens": 8, "batch_size": 2, "backend": "hf"}
    (tmp_path / "distill.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    summary = distill.main(str(tmp_path / "distill.yaml"))
    assert summary["written"] == 2 and summary["backend"] == "hf" and not summary["skipped"]
    records = [json.loads(x) for x in (tmp_path / "rkd.jsonl").read_text(encoding="utf-8").splitlines()]
    tcot = [r for r in records if r["id"].endswith("-tcot")]
    assert len(tcot) == 2 and len(records) == 4
    human, gpt = tcot[0]["conversations"]
    assert human["value"] == "แปล(Name a colour.)"
    assert gpt["value"].startswith("<EN> Name a colour. <RESPONSE> ") and " <TH> แปล(" in gpt["value"]
    assert tcot[0]["provenance"]["translator"] == "translate-scripted"
    calls = sum(n for m, n in server.chat_calls.items() if m.startswith("translate"))
    assert calls == 4
    distill.main(str(tmp_path / "distill.yaml"))  # rerun: translations come from the cache
    assert sum(n for m, n in server.chat_calls.items() if m.startswith("translate")) == 4
    # The output trains directly (ShareGPT records).
    from transeval.train.data import messages_from_record

    assert messages_from_record(tcot[1], "rkd.jsonl:3")[1]["role"] == "assistant"


def test_bundled_recipes_validate():
    from transeval.train.recipe import load_recipe

    root = Path(__file__).resolve().parent.parent / "train" / "recipes"
    assert [s.kind for s in load_recipe(root / "transllm_th" / "recipe.yaml")] == ["vocab", "cpt", "cpt", "distill",
                                                                                   "sft"]
    assert [s.kind for s in load_recipe(root / "llama_zh" / "recipe.yaml")] == ["cpt", "sft"]


@pytest.mark.slow
def test_whole_recipe_then_eval_then_board(tiny_model, server, judge_env, tmp_path):
    """vocab -> Thai PT -> translation PT (continuing the adapter) -> recovery KD -> TCoT SFT -> harness -> board."""
    import yaml
    from conftest import run_cli

    (tmp_path / "th.txt").write_text("\n\n".join(["ภาษาไทยเป็นภาษาที่สวยงาม มีตัวอักษรมากมาย"] * 80), encoding="utf-8")
    (tmp_path / "par.jsonl").write_text("\n".join(json.dumps({"text": f"English: cat {i}\nThai: แมว {i}"},
                                                             ensure_ascii=False) for i in range(80)), encoding="utf-8")
    (tmp_path / "inst.jsonl").write_text("\n".join(json.dumps({"instruction": f"Say {w}."}) for w in ("hi", "yes")),
                                         encoding="utf-8")
    small = {"lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"], "modules_to_save": []},
             "learning_rate": 5e-3, "warmup_ratio": 0.0, "per_device_batch_size": 2, "gradient_accumulation_steps": 1,
             "max_steps": 16, "logging_steps": 4, "save_steps": 100, "block_size": 32}
    stages = {
        "vocab.yaml": {"model": str(tiny_model), "output_dir": "ext", "text_files": ["th.txt"],
                       "new_vocab_size": 200, "max_new_tokens": 20},
        "pt1.yaml": {"stage": "cpt", "model": "ext", "output_dir": "pt1", "data_files": ["th.txt"], **small},
        "pt2.yaml": {"stage": "cpt", "model": "ext", "resume_adapter": "pt1/final", "output_dir": "pt2",
                     "data_files": ["par.jsonl"], "merge_lora": True, **small},
        "kd.yaml": {"model": "pt2/merged", "instructions": "inst.jsonl", "output": "kd.jsonl",
                    "translator_model": "translate-scripted", "max_new_tokens": 6, "backend": "hf"},
        "sft.yaml": {"stage": "sft", "model": "pt2/merged", "output_dir": "sft", "data_files": ["kd.jsonl"],
                     "merge_lora": True, **small},
    }
    for name, cfg in stages.items():
        (tmp_path / name).write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump({"recipe": "t", "stages": [
        {"kind": "vocab", "config": "vocab.yaml"}, {"kind": "cpt", "config": "pt1.yaml"},
        {"kind": "cpt", "config": "pt2.yaml"}, {"kind": "distill", "config": "kd.yaml"},
        {"kind": "sft", "config": "sft.yaml"}]}), encoding="utf-8")
    res = run_cli(["transeval", "train", "run", str(tmp_path / "recipe.yaml")], judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    for stage in ("pt1", "pt2", "sft"):
        summary = json.loads((tmp_path / stage / "transeval_summary.json").read_text())
        assert summary["steps"] == 16 and summary["losses"][-1] < summary["losses"][0], (stage, summary["losses"])
    assert (tmp_path / "sft" / "merged" / "transeval_stage.json").exists()
    ev = run_cli(["transeval", "eval", str(tmp_path / "sft" / "merged"), "--suite", "perplexity_en", "--limit", "1",
                  "--output", str(tmp_path / "runs")], judge_env, tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    from transeval.dashboard import data

    board = data.leaderboard(tmp_path / "runs")
    assert list(board["task"]) == ["perplexity_en"] and board["score"].iloc[0] > 0


@pytest.mark.slow
def test_accelerate_single_process_smoke(tiny_model, tmp_path):
    import os

    from conftest import VENV_BIN

    path = _stage(tmp_path, tiny_model, max_steps=4, merge_lora=False)
    cfg = Path(__file__).resolve().parent.parent / "train" / "accelerate" / "single_process.yaml"
    import subprocess

    res = subprocess.run([str(VENV_BIN / "accelerate"), "launch", "--config_file", str(cfg), "-m",
                          "transeval.train.sft", str(path)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "transeval_summary.json").read_text())["steps"] == 4


def test_max_samples_budget(tiny_model, tmp_path):
    cfg = load_stage_config(_stage(tmp_path, tiny_model, max_samples=3))
    assert cfg.max_samples == 3
    with pytest.raises(TransevalError, match="max_samples"):
        load_stage_config(_stage(tmp_path, tiny_model, max_samples="many"))
