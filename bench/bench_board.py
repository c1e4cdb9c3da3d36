"""Leaderboard render time on a large store: 50 runs x 10 tasks x 1,000 samples (issue 12: < 2 s after warm-up).

Each run has 5 judged tasks (samples, judgments written by the store's JudgmentLog, scores aggregated by
harness.stats.summarize) and 5 lm-eval multiple-choice tasks (results + samples). The leaderboard page is
rendered with Streamlit's AppTest: once to warm the cache, then ``--repeat`` times; the median is reported.

    .venv/bin/python bench/bench_board.py [--runs 50] [--tasks 10] [--samples 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from transeval.core.records import Judgment, TurnOutput
from transeval.harness.judging.store import JudgmentLog, write_scores
from transeval.harness.lmeval.multiturn import encode_outputs
from transeval.harness.stats.estimates import summarize

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
SPEC = json.dumps({"rubric": "mtbench-single-v1", "mode": "single"})


def build(root: Path, n_runs: int, n_tasks: int, n_samples: int) -> None:
    """Write the synthetic store."""
    for r in range(n_runs):
        model, date = f"org{r % 7}/model-{r}", f"2026-01-{1 + r % 28:02d}T{r % 24:02d}-00-00"
        folder = root / f"org{r % 7}__model-{r}"
        folder.mkdir(parents=True)
        results, configs, n = {}, {}, {}
        for t in range(n_tasks):
            task = f"judged_{t}" if t < n_tasks // 2 else f"mc_{t}"
            n[task] = {"original": n_samples, "effective": n_samples}
            lines = []
            if task.startswith("judged"):
                configs[task] = {"task": task, "output_type": "generate_until"}
                judgments, cats = [], {}
                for i in range(n_samples):
                    qid = str(i)
                    cats[qid] = f"cat{i % 8}"
                    doc = {"task": task, "question_id": qid, "category": cats[qid], "turns": [f"q{i}"],
                           "turns_en": [f"q{i}"], "reference": None, "language": "Thai", "output_format": "plain",
                           "target_tag": "<TH>", "judge": SPEC, "extra": "", "baselines": ""}
                    reply = encode_outputs([TurnOutput("p", f"answer {i}", f"answer {i}")])
                    lines.append(json.dumps({"doc_id": i, "doc": doc, "filtered_resps": [reply]}))
                    judgments.append(Judgment(task, qid, 0, float((i * 7 + r) % 10 + 1), None, "judge-x",
                                              "mtbench-single-v1", "1", "ok", None))
                with JudgmentLog(folder / f"judgments_{task}_{date}.jsonl") as log:
                    for j in judgments:
                        log.append(j)
                s = summarize(task, "judge-x", judgments, cats)
                write_scores(folder, task, date, {"score": s})
                results[task] = {"alias": task, "score,none": s.overall.mean}
            else:
                configs[task] = {"task": task, "output_type": "multiple_choice", "doc_to_choice": list("ABCD")}
                correct = 0
                for i in range(n_samples):
                    ok = (i + r) % 3 != 0
                    correct += ok
                    lines.append(json.dumps({"doc_id": i, "doc": {"question": f"q{i}"}, "target": 0,
                                             "filtered_resps": [["-1", "False"]] * 4, "acc": float(ok)}))
                results[task] = {"alias": task, "acc,none": correct / n_samples, "acc_stderr,none": 0.01}
            (folder / f"samples_{task}_{date}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        payload = {"results": results, "configs": configs, "n-samples": n, "group_subtasks": {},
                   "config": {"model_args": f"pretrained={model}", "limit": None}, "model_name": model}
        (folder / f"results_{date}.json").write_text(json.dumps(payload), encoding="utf-8")


def main() -> int:
    """Build the store, render the leaderboard page, print the timings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="build the store here and keep it")
    args = ap.parse_args()
    tmp = None if args.keep else tempfile.TemporaryDirectory()
    root = args.keep or Path(tmp.name) / "runs"  # type: ignore[union-attr]
    t0 = time.perf_counter()
    if not (root / ".built").exists():
        build(root, args.runs, args.tasks, args.samples)
        (root / ".built").touch()
    print(f"store: {args.runs} runs x {args.tasks} tasks x {args.samples} samples, built in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    from streamlit.testing.v1 import AppTest

    os.environ["TRANSEVAL_RUNS_DIR"] = str(root)
    at = AppTest.from_file(str(APP), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    assert not at.exception, at.exception
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    assert not at.exception, at.exception
    rows = next((len(d.value) for d in at.dataframe if "alias" in d.value.columns and "model" in d.value.columns), 0)
    print(json.dumps({"runs": args.runs, "tasks": args.tasks, "samples": args.samples, "rows": rows,
                      "first_render_s": round(cold, 2), "warm_render_median_s": round(statistics.median(warm), 3),
                      "warm_render_max_s": round(max(warm), 3)}))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
