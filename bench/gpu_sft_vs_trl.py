"""TransLLM's LoRA SFT stage on a GPU: transeval's ``train/sft.py`` beside TRL's ``SFTTrainer``.

Same model (gemma-3-270m's architecture), same data (the bundled English-Thai pairs of
``train/examples/parallel_sample.jsonl`` as translation chats, repeated), same LoRA (r 64, alpha 128, the seven
projection modules), sequence length, batch, steps, learning rate and bf16; completion-only loss in both. Tokens/s is
the non-padding tokens of the batches trained on over the training time (model and data loading excluded) in both.
The two run in alternating order, ``--rounds`` times each, after a short warm-up of each (CUDA kernels, allocator).

Writes ``--out``/gpu.json: ``device`` (the GPU), ``train_vs_trl`` (median tokens/s ratio, goal >= 1.0), the raw
figures, versions and the command; and ``vllm_vs_llm_generate`` when ``--vllm-note`` says why it was not measured.

Usage, on the GPU machine (TRL from its own wheel, never copied into the project)::

    python bench/gpu_sft_vs_trl.py --model MODEL_DIR --random-init --steps 200 --batch 16 --seq 1024 --out OUT

``--random-init`` builds the model from ``MODEL_DIR``'s config and tokenizer with random weights (throughput does
not depend on the weights' values; the real weights are too large to carry to that machine). Try it first on a CPU
with ``--device cpu --steps 3 --warmup-steps 1 --batch 2 --seq 128 --rounds 1 --repeat 1``.

The GPU machine reaches no package registry: TRL (and, to match the versions tested here, transformers, peft,
accelerate, datasets and their small dependencies) travel as wheels downloaded here (``pip download --no-deps
--only-binary=:all: --python-version 3.12 ...``) into an ignored folder, installed there with ``pip install
--no-index --no-deps --target``; the tokenizer travels gzipped (33 MB raw). vLLM cannot travel that way: its wheel
alone is 239 MB (vLLM 0.34.0, which also pins torch 2.14.0) against 64 MiB per call.

Status: run on a CPU only (2 cores, the CPU-sized command above, random gemma-3-270m: transeval 110 tokens/s,
TRL 81, which says nothing about a GPU). The session that prepared it was lent an H200, but new loans were paused
before the run; ``bench/results/gpu.json`` does not exist yet.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "train" / "examples" / "parallel_sample.jsonl"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def sft_records(out: Path, repeat: int) -> Path:
    """Translation chats (English -> Thai) from the bundled parallel sample, as TransLLM's ShareGPT records."""
    rows = []
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        english, _, thai = text.partition("\nThai: ")
        rows.append({"conversations": [
            {"from": "human", "value": "Translate into Thai:\n" + english.removeprefix("English: ")},
            {"from": "gpt", "value": thai}]})
    path = out / "sft_pairs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows * repeat), encoding="utf-8")
    return path


def ours(model_dir: Path, data: Path, out: Path, args: argparse.Namespace, steps: int) -> dict[str, Any]:
    from transeval.train import sft

    cfg = {"stage": "sft", "model": str(model_dir), "data_files": [str(data)], "output_dir": str(out),
           "lora": {"r": 64, "alpha": 128, "dropout": 0.05, "modules_to_save": []}, "learning_rate": 1e-4,
           "warmup_ratio": 0.01, "per_device_batch_size": args.batch, "gradient_accumulation_steps": 1,
           "max_seq_length": args.seq, "max_steps": steps, "logging_steps": 10, "save_steps": 100_000,
           "bf16": args.device != "cpu"}
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    summary = sft.main(str(path))
    return {"tokens_per_s": summary["tokens_per_s"], "train_seconds": summary["train_seconds"],
            "steps": summary["steps"], "loss_first_last": [summary["losses"][0], summary["losses"][-1]]
            if summary["losses"] else []}


def trl(model_dir: Path, data: Path, out: Path, args: argparse.Namespace, steps: int) -> dict[str, Any]:
    import datasets
    import torch
    from peft import LoraConfig
    from transeval.train.common import read_records
    from transeval.train.data import messages_from_record
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = []
    for where, rec in read_records(str(data)):
        msgs = messages_from_record(rec, where)
        rows.append({"prompt": msgs[:-1], "completion": msgs[-1:]})
    tok = AutoTokenizer.from_pretrained(model_dir)
    dtype = torch.bfloat16 if args.device != "cpu" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    counted = {"tokens": 0}
    trainer = SFTTrainer(
        model=model, processing_class=tok, train_dataset=datasets.Dataset.from_list(rows),
        args=SFTConfig(output_dir=str(out), max_length=args.seq, per_device_train_batch_size=args.batch,
                       gradient_accumulation_steps=1, learning_rate=1e-4, warmup_steps=0.01, max_steps=steps,
                       logging_steps=10, save_strategy="no", bf16=args.device != "cpu", report_to=[],
                       lr_scheduler_type="cosine", seed=42, use_cpu=args.device == "cpu"),  # train/'s defaults
        peft_config=LoraConfig(r=64, lora_alpha=128, lora_dropout=0.05, task_type="CAUSAL_LM",
                               target_modules=TARGETS),
    )
    collate = trainer.data_collator

    def counting(features: list[dict[str, Any]]) -> Any:
        batch = collate(features)
        mask = batch.get("attention_mask")
        counted["tokens"] += int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())
        return batch

    trainer.data_collator = counting
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    return {"tokens_per_s": counted["tokens"] / seconds, "train_seconds": round(seconds, 2),
            "steps": result.global_step}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="model folder (with --random-init: config + tokenizer)")
    parser.add_argument("--random-init", action="store_true", help="random weights from the folder's config")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup-steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=40, help="times the 160 pairs are repeated")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--vllm-note", default="", help="why vLLM was not measured on this machine")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    model_dir = args.model.resolve()
    if args.random_init:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(0)
        dtype = torch.bfloat16 if args.device != "cpu" else torch.float32
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir), dtype=dtype)
        model_dir = (args.out / "base").resolve()
        model.save_pretrained(model_dir)
        AutoTokenizer.from_pretrained(args.model).save_pretrained(model_dir)
        del model
    data = sft_records(args.out, args.repeat)

    runners = {"transeval": ours, "trl": trl}
    for name, run in runners.items():  # warm-up: first CUDA kernels and allocator growth, not counted
        run(model_dir, data, (args.out / f"warm_{name}").resolve(), args, args.warmup_steps)
    figures: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    for i in range(args.rounds):
        order = list(runners) if i % 2 == 0 else list(reversed(runners))
        for name in order:
            if args.device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            fig = runners[name](model_dir, data, (args.out / f"{name}_{i}").resolve(), args, args.steps)
            if args.device == "cuda":
                fig["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            figures[name].append(fig)
            print(f"round {i} {name}: {fig['tokens_per_s']:.0f} tokens/s in {fig['train_seconds']} s", flush=True)

    median = {name: statistics.median(f["tokens_per_s"] for f in figs) for name, figs in figures.items()}
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or "cpu",
        "train_vs_trl": round(median["transeval"] / median["trl"], 3),
        "train": {"model": f"{args.model.name} architecture" + (", random weights" if args.random_init else ""),
                  "data": f"{PAIRS.relative_to(ROOT)} as English->Thai chats x{args.repeat}",
                  "lora": {"r": 64, "alpha": 128, "dropout": 0.05, "target_modules": TARGETS},
                  "steps": args.steps, "batch": args.batch, "max_seq_length": args.seq, "rounds": args.rounds,
                  "median_tokens_per_s": {k: round(v) for k, v in median.items()}, "runs": figures},
        "versions": {name: version(name) for name in ("torch", "transformers", "peft", "accelerate", "datasets",
                                                        "trl")} | {"python": platform.python_version(),
                                                                   "cuda": torch.version.cuda},
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
    }
    if args.vllm_note:
        report["vllm_vs_llm_generate"] = None
        report["vllm_not_measured"] = args.vllm_note
    (args.out / "gpu.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("device", "train_vs_trl")} | {"median": report["train"]
                                                                          ["median_tokens_per_s"]}, indent=2))


if __name__ == "__main__":
    main()
