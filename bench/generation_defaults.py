"""Generation speed by default: ``lm_eval --model hf`` on two-turn MT-bench beside plain transformers, one run.

Side by side on the same model (the demo's gemma-3-270m, float32, CPU), questions and token budget:

* ``plain generate``: transformers' batched ``generate`` of the same chat prompts (left padding, greedy), turn 1
  for all conversations, then turn 2 on each conversation's own turn-1 answer; batches of ``--plain-batch``;
* ``one at a time``: the same, one conversation after the other (how FastChat's ``gen_model_answer`` runs);
* ``lm_eval``: the whole command (start-up, task loading, saving) with no ``--batch_size`` (transeval's
  default: every conversation of a turn in one batch, up to 32), and with ``--batch_size 1`` (lm-eval's
  default before) and the explicit sizes in ``--batches``.

It prints seconds, questions per second, the ratio to plain generate and how many answers are byte-identical
to plain generate's. Goal (issue 13): no ``--batch_size`` >= 0.9x the best batch, and >= 0.9x plain generate.

Usage::

    .venv/bin/python bench/generation_defaults.py [--questions 80] [--max-gen-toks 48] [--batches 1 8 16 32]

Measured here (2 cores, 2026-11-23; max 48 new tokens)::

    80 questions x 2 turns (--batches --skip-one-at-a-time)
    | plain generate (batch 32)                    | 247.1 s | 0.32 q/s | 1.00x | 160/160 identical |
    | lm_eval, no --batch_size (transeval default) | 229.8 s | 0.35 q/s | 1.08x | 160/160 identical |

    16 questions x 2 turns (--questions 16 --batches 1 8 16 --plain-batch 16)
    | plain generate (batch 16)                    |  35.4 s | 0.45 q/s | 1.00x | 32/32 |
    | one conversation at a time (FastChat-style)  | 159.5 s | 0.10 q/s | 0.22x | 32/32 |
    | lm_eval, no --batch_size (transeval default) |  50.2 s | 0.32 q/s | 0.70x | 32/32 |
    | lm_eval --batch_size 1                       | 180.9 s | 0.09 q/s | 0.20x | 32/32 |
    | lm_eval --batch_size 8                       |  74.2 s | 0.22 q/s | 0.48x | 32/32 |
    | lm_eval --batch_size 16                      |  62.7 s | 0.26 q/s | 0.56x | 32/32 |

No ``--batch_size`` is the fastest lm_eval row (``16`` runs the same batches: the gap is run-to-run noise); on
16 questions lm-eval's start-up (about 12 s) is a large share, on 80 it is not and the whole command beats plain
generate (lm-eval sorts prompts by length, so its batches pad less).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def questions(n: int) -> list[list[str]]:
    rows = [json.loads(line) for line in
            (ROOT / "tasks/thai_mtbench/data/question_th.jsonl").read_text(encoding="utf-8").splitlines()]
    return [list(r["turns"]) if isinstance(r["turns"], list) else json.loads(r["turns"]) for r in rows[:n]]


def plain_generate(model_dir: Path, convs: list[list[str]], max_new: int, batch: int) -> tuple[float, list[list[str]]]:
    """Two turns with transformers' batched generate; (seconds, answers per conversation)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    histories: list[list[dict[str, str]]] = [[] for _ in convs]
    answers: list[list[str]] = [[] for _ in convs]
    start = time.perf_counter()
    for t in range(2):
        prompts = [tok.apply_chat_template([*histories[i], {"role": "user", "content": c[t]}], tokenize=False,
                                           add_generation_prompt=True) for i, c in enumerate(convs)]
        for lo in range(0, len(prompts), batch):
            enc = tok(prompts[lo:lo + batch], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(**enc, max_new_tokens=max_new, do_sample=False)
            for k, row in enumerate(out[:, enc["input_ids"].shape[1]:]):
                i = lo + k
                text = tok.decode(row, skip_special_tokens=True)
                answers[i].append(text)
                histories[i] += [{"role": "user", "content": convs[i][t]}, {"role": "assistant", "content": text}]
    return time.perf_counter() - start, answers


def lm_eval_run(model_dir: Path, n: int, max_new: int, batch: int | None, out: Path) -> tuple[float, list[list[str]]]:
    """The whole ``lm_eval`` command; (seconds, answers per conversation in question order)."""
    cmd = [str(BIN / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32",
           "--tasks", "thai_mtbench", "--device", "cpu", "--limit", str(n), "--apply_chat_template",
           "--gen_kwargs", f"max_gen_toks={max_new}", "--predict_only", "--output_path", str(out)]
    if batch is not None:
        cmd += ["--batch_size", str(batch)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if res.returncode:
        raise SystemExit(f"lm_eval failed:\n{res.stderr[-3000:]}")
    from transeval.harness.judging.pipeline import run_conversations
    from transeval.harness.judging.store import find_runs

    (run,) = find_runs(out)
    convs = sorted(run_conversations(run, "thai_mtbench") or [], key=lambda c: int(c.question.question_id))
    return elapsed, [[t.raw for t in c.turns] for c in convs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--max-gen-toks", type=int, default=48)
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 8, 16, 32])
    parser.add_argument("--plain-batch", type=int, default=32)
    parser.add_argument("--skip-one-at-a-time", action="store_true")
    args = parser.parse_args()

    from transeval.harness.demo.model import prepare_gemma

    model_dir = prepare_gemma()
    convs = questions(args.questions)
    work = Path(tempfile.mkdtemp(prefix="gen_bench_"))
    rows: list[tuple[str, float, list[list[str]]]] = []
    secs, plain = plain_generate(model_dir, convs, args.max_gen_toks, args.plain_batch)
    rows.append((f"plain generate (batch {args.plain_batch})", secs, plain))
    print(f"plain: {secs:.1f} s", file=sys.stderr)
    if not args.skip_one_at_a_time:
        secs, one = plain_generate(model_dir, convs, args.max_gen_toks, 1)
        rows.append(("one conversation at a time (FastChat-style)", secs, one))
        print(f"one at a time: {secs:.1f} s", file=sys.stderr)
    for batch in [None, *args.batches]:
        secs, answers = lm_eval_run(model_dir, args.questions, args.max_gen_toks, batch, work / f"b{batch}")
        label = "lm_eval, no --batch_size (transeval default)" if batch is None else f"lm_eval --batch_size {batch}"
        rows.append((label, secs, answers))
        print(f"{label}: {secs:.1f} s", file=sys.stderr)

    base = rows[0][1]
    print(f"\nthai_mtbench, {args.questions} questions x 2 turns, max {args.max_gen_toks} new tokens, gemma-3-270m "
          "float32 on CPU; lm_eval rows are whole commands (start-up included)\n")
    print("| run | seconds | questions/s | vs plain generate | answers identical to plain |")
    print("|-----|---------|-------------|-------------------|----------------------------|")
    for label, secs, answers in rows:
        same = sum(a == p for conv_a, conv_p in zip(answers, plain, strict=False)
                   for a, p in zip(conv_a, conv_p, strict=False))
        print(f"| {label} | {secs:.1f} | {args.questions / secs:.2f} | {base / secs:.2f}x | "
              f"{same}/{2 * len(convs)} |")


if __name__ == "__main__":
    main()
