"""C-Eval likelihood throughput (questions/s) at batch size 1 vs ``auto``, on the demo model (or any model).

Each setting runs in its own process (an out-of-memory kill is reported, not fatal), alternating, on the same
questions; the script prints questions/s for each and the ratio. Run:
``.venv/bin/python bench/bench_ceval_throughput.py [--model DIR] [--tasks ceval-valid_law] [--limit 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = """
import json, sys, time
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml
model, task, limit, batch, max_batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
tm = TaskManager()
cfg = load_yaml(tm.task_index[task].yaml_path, resolve_func=True)
from transeval.tasks.ceval.utils import BundledCEval
cfg["class"] = BundledCEval
t = time.perf_counter()
out = simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=[cfg], num_fewshot=5,
                      limit=limit, batch_size=batch, max_batch_size=max_batch, device="cpu", task_manager=tm,
                      bootstrap_iters=0)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "n": out["n-samples"][task]["effective"], "acc": out["results"][task]["acc,none"],
                  "batch_sizes": out["config"].get("batch_sizes")}))
"""


def run(model: str, task: str, limit: int, batch: str, max_batch: int) -> dict | None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(WORKER)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, fh.name, model, task, str(limit), batch, str(max_batch)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"  batch {batch}: failed (exit {proc.returncode}; killed for memory?) {proc.stderr[-300:]}")
        return None
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["wall"] = wall
    return rec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(Path.home() / ".cache/transeval/gemma-3-270m"))
    parser.add_argument("--tasks", default="ceval-valid_law")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--max-batch-size", type=int, default=8,
                        help="cap for auto (a 262k-token vocabulary makes big batches exceed a small machine's RAM)")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"1": [], "auto": []}
    for _ in range(args.reps):
        for batch in ("1", "auto"):
            rec = run(args.model, args.tasks, args.limit, batch, args.max_batch_size)
            if rec:
                results[batch].append(rec["n"] / rec["seconds"])
                print(f"  batch {batch:>4}: {rec['n']} questions in {rec['seconds']:.1f} s "
                      f"({rec['n'] / rec['seconds']:.2f} q/s), acc {rec['acc']:.3f}, batch sizes {rec['batch_sizes']}")
    if results["1"] and results["auto"]:
        a, b = statistics.median(results["1"]), statistics.median(results["auto"])
        print(f"C-Eval {args.tasks} 5-shot, {args.limit} questions, model {Path(args.model).name}: "
              f"batch 1 {a:.2f} q/s, auto {b:.2f} q/s, ratio auto/1 = {b / a:.2f}")


if __name__ == "__main__":
    main()
