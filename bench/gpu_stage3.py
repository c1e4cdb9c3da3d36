"""TransLLM stage 3 on a GPU: recovery-KD data made by the model itself, TCoT SFT with transeval's stage script
and, on the same data and settings, a plain TRL ``SFTTrainer`` run; then the SFT checkpoint on thai_mtbench.

Prints (and writes to ``--out``/gpu_stage3.json) tokens/s, peak GPU memory and time of both trainers and their
ratio. The translator is whatever OpenAI-compatible endpoint ``OPENAI_BASE_URL`` names. Run on a GPU machine:
``python bench/gpu_stage3.py --model MODEL_DIR [--random-init] --out runs/gpu``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml


def stage_yaml(path: Path, **cfg: object) -> Path:
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="model folder (with --random-init: config + tokenizer only)")
    parser.add_argument("--random-init", action="store_true", help="build the model from its config, random weights")
    parser.add_argument("--instructions", default="train/examples/instructions_sample.jsonl")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu"))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--limit", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"gpu": torch.cuda.get_device_name(0)}

    model_dir = Path(args.model)
    if args.random_init:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir), dtype=torch.bfloat16)
        model_dir = args.out / "base"
        model.save_pretrained(model_dir)
        AutoTokenizer.from_pretrained(args.model).save_pretrained(model_dir)
        n_params = sum(p.numel() for p in model.parameters()) / 1e6
        report["model"] = f"{args.model} architecture, random weights ({n_params:.0f}M parameters)"
        del model

    # 1. Recovery-KD data: the model answers the instructions itself; the endpoint translates.
    from transeval.train import distill, sft

    t = time.perf_counter()
    kd = distill.main(str(stage_yaml(args.out / "distill.yaml", model=str(model_dir.resolve()),
                                     instructions=str(Path(args.instructions).resolve()),
                                     output=str((args.out / "rkd.jsonl").resolve()),
                                     translator_model="translate-endpoint", max_new_tokens=128, batch_size=32)))
    report["distill"] = {**kd, "seconds": round(time.perf_counter() - t, 1)}

    common = dict(model=str(model_dir.resolve()), data_files=[str((args.out / "rkd.jsonl").resolve())],
                  lora={"r": 64, "alpha": 128, "dropout": 0.05, "modules_to_save": []}, learning_rate=1e-4,
                  warmup_ratio=0.01, per_device_batch_size=args.batch, gradient_accumulation_steps=1,
                  max_seq_length=args.seq, max_steps=args.steps, logging_steps=10, save_steps=10_000, bf16=True)

    # 2. transeval's SFT stage.
    torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    ours = sft.main(str(stage_yaml(args.out / "sft.yaml", stage="sft", output_dir=str((args.out / "sft").resolve()),
                                   merge_lora=True, **common)))
    report["transeval_sft"] = {"tokens_per_s": round(ours["tokens_per_s"]), "train_seconds": ours["train_seconds"],
                               "seconds_with_loading_and_merge": round(time.perf_counter() - t, 1),
                               "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
                               "loss_first_last": [ours["losses"][0], ours["losses"][-1]]}

    # 3. Plain TRL SFTTrainer, same data (prompt/completion, completion-only loss), LoRA and schedule
    #    (bench/gpu_sft_vs_trl.py's runner, shared so that the two benches compare the same TRL setup).
    from gpu_sft_vs_trl import trl

    torch.cuda.reset_peak_memory_stats()
    trl_fig = trl(model_dir.resolve(), (args.out / "rkd.jsonl").resolve(), (args.out / "trl").resolve(),
                  argparse.Namespace(device="cuda", seq=args.seq, batch=args.batch), args.steps)
    report["trl_sft"] = {"tokens_per_s": round(trl_fig["tokens_per_s"]), "train_seconds": trl_fig["train_seconds"],
                         "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}
    report["ratio_transeval_over_trl"] = round(report["transeval_sft"]["tokens_per_s"] /  # type: ignore[index]
                                               report["trl_sft"]["tokens_per_s"], 2)  # type: ignore[index]
    torch.cuda.empty_cache()

    # 4. The SFT checkpoint on Thai MT-bench (answers only: no judge on this machine).
    t = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
                          f"pretrained={ours['merged']},dtype=bfloat16", "--tasks", "thai_mtbench", "--device", "cuda",
                          "--apply_chat_template", "--limit", str(args.limit), "--gen_kwargs", "max_gen_toks=256",
                          "--output_path", str(args.out / "runs"), "--predict_only", "--batch_size", "8"])
    report["thai_mtbench"] = {"exit": rc, "seconds": round(time.perf_counter() - t, 1), "limit": args.limit}
    (args.out / "gpu_stage3.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
