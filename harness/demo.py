"""``transeval demo``: evaluate the bundled gemma-3-270m on Thai MT-bench and a knowledge sample, offline, on a CPU.

Judges the answers when a judge endpoint is configured (``OPENAI_API_KEY``, optionally
``OPENAI_BASE_URL``); otherwise saves them with ``--predict_only`` and says how to judge later.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from transeval.harness.demo_model import DEFAULT_CACHE, prepare_gemma


def lm_eval_command(model_dir: Path, out: Path, tasks: str, limit: int, max_gen_toks: int, batch_size: int,
                    *extra: str) -> list[str]:
    """A plain ``lm_eval`` command line the demo runs (printed, so users can adapt it)."""
    exe = shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or "lm_eval"
    return [
        exe, "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--tasks", tasks,
        "--device", "cpu", "--batch_size", str(batch_size), "--limit", str(limit),
        "--gen_kwargs", f"max_gen_toks={max_gen_toks}", "--output_path", str(out), "--log_samples", *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="transeval demo", description=__doc__)
    parser.add_argument("--limit", type=int, default=int(os.environ.get("DEMO_LIMIT", 10)),
                        help="questions to run (default 10; 80 is the full benchmark)")
    parser.add_argument("--max-gen-toks", type=int, default=int(os.environ.get("DEMO_MAX_GEN_TOKS", 128)))
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--knowledge-limit", type=int, default=int(os.environ.get("DEMO_KNOWLEDGE_LIMIT", 5)),
                        help="questions per task of the knowledge job (default 5)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("DEMO_OUT", "runs")))
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)

    model_dir = prepare_gemma(args.model_cache)
    judged = bool(os.environ.get("OPENAI_API_KEY", "").strip())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    jobs = [
        # Thai MT-bench: both turns through the model's chat template, judged if a judge is configured.
        lm_eval_command(model_dir, args.out, "thai_mtbench", args.limit, args.max_gen_toks, args.batch_size,
                        "--apply_chat_template", *([] if judged else ["--predict_only"])),
        # Knowledge (Paper B): C-Eval humanities 5-shot, Chinese AGI-Eval and a GAOKAO-Bench file zero-shot.
        # Batch size 1: log-likelihoods need logits over Gemma's 262k-token vocabulary for every position of
        # long 5-shot prompts, and larger batches exceed the memory of a small machine.
        lm_eval_command(model_dir, args.out, "demo_knowledge", args.knowledge_limit, 64, 1),
    ]
    for cmd in jobs:
        print("transeval demo: " + " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, env=env)
        if rc != 0:
            return rc
    bin_dir = Path(sys.executable).parent
    if not judged:
        print(f"\ntranseval demo: answers saved without a judge (no OPENAI_API_KEY). To judge them, set "
              f"OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server), then run:\n"
              f"  {bin_dir / 'transeval'} judge {args.out}")
    print(f"\ntranseval demo: open the leaderboard with:\n  {bin_dir / 'transeval'} board {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
