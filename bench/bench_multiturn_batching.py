"""Multi-turn generation: turn t of all conversations as one batch vs one conversation at a time.

Uses the tiny random Llama of the test suite through lm-eval's own ``hf`` backend (the same code path
as ``lm_eval --model hf``), on the first N Thai MT-bench questions. Both modes alternate, and the
script prints medians and the speed-up ratio. Run:
``.venv/bin/python bench/bench_multiturn_batching.py [--conversations 16] [--max-gen-toks 32]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from tiny_model import build_tiny_llama
    from transeval.harness.lmeval.multiturn import ConversationSpec, generate_conversations

    model_dir = build_tiny_llama(Path(tempfile.mkdtemp()) / "tiny")
    lm = HFLM(pretrained=str(model_dir), batch_size=args.conversations, device="cpu")
    rows = [json.loads(x) for x in (ROOT / "tasks/thai_mtbench/data/question_th.jsonl").read_text().splitlines()]
    gen_kwargs = {"until": [], "max_gen_toks": args.max_gen_toks, "do_sample": False}
    requests = [
        Instance("generate_until", {}, (ConversationSpec(tuple(r["turns"]), None, True).encode(), gen_kwargs), 0,
                 ("bench", i, 1))
        for i, r in enumerate(rows[: args.conversations])
    ]

    def generate(batch: list) -> list[str]:
        return lm.generate_until(batch, disable_tqdm=True)

    def batched() -> float:
        t = time.perf_counter()
        generate_conversations(lm, requests, generate)
        return time.perf_counter() - t

    def one_at_a_time() -> float:
        t = time.perf_counter()
        for r in requests:
            generate_conversations(lm, [r], generate)
        return time.perf_counter() - t

    batched()  # warm-up
    b_times, s_times = [], []
    for _ in range(args.reps):
        b_times.append(batched())
        s_times.append(one_at_a_time())
    b, s = statistics.median(b_times), statistics.median(s_times)
    n = args.conversations
    print(f"{n} two-turn conversations, max_gen_toks={args.max_gen_toks}, tiny Llama on CPU, "
          f"median of {args.reps} alternating runs")
    print(f"  batched per turn (2 calls of {n})   : {b:7.2f} s")
    print(f"  one conversation at a time ({2 * n} calls): {s:7.2f} s")
    print(f"  speed-up ratio (one-at-a-time / batched): {s / b:5.2f}x")


if __name__ == "__main__":
    main()
