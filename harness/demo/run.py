"""``transeval demo``: evaluate the bundled gemma-3-270m on Thai MT-bench and a knowledge sample, offline, on a CPU.

Judges the MT-bench answers with the configured judge when ``OPENAI_API_KEY`` is set (optionally
``OPENAI_BASE_URL``), as any ``lm_eval`` run does. Without a key it saves them with ``--predict_only`` into a
staging folder, judges that folder with the demo judge (gemma-3-270m behind a local server, see
:mod:`transeval.harness.demo.judge`; judge model ``demo-judge-gemma-3-270m``), and moves the run into the output
folder, so earlier runs there are never re-judged by the demo judge.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from transeval.core.errors import TransevalError, one_line
from transeval.harness.demo.model import DEFAULT_CACHE, prepare_gemma


def lm_eval_command(model_dir: Path, out: Path, tasks: str, limit: int, max_gen_toks: int, batch_size: int,
                    *extra: str) -> list[str]:
    """A plain ``lm_eval`` command line the demo runs (printed, so users can adapt it)."""
    exe = shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or "lm_eval"
    return [
        exe, "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--tasks", tasks,
        "--device", "cpu", "--batch_size", str(batch_size), "--limit", str(limit),
        "--gen_kwargs", f"max_gen_toks={max_gen_toks}", "--output_path", str(out), "--log_samples", *extra,
    ]


def move_runs(src: Path, dst: Path) -> list[Path]:
    """Move every file under ``src`` to the same relative place under ``dst``, then remove ``src``.

    Returns:
        The moved files at their new places.

    Raises:
        TransevalError: if a file of the same name already exists at the destination (nothing is overwritten).
    """
    files = sorted(p for p in src.rglob("*") if p.is_file())
    for path in files:
        target = dst / path.relative_to(src)
        if target.exists():
            raise TransevalError("already exists; the demo's run is left in " + str(src), file=target)
    moved = []
    for path in files:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        moved.append(target)
    shutil.rmtree(src)
    return moved


def _demo_judge(staging: Path, model_cache: Path) -> int | None:
    """Judge the staged MT-bench run with the demo judge: ``transeval judge``'s exit code, or None (no server)."""
    from transeval.harness.demo import judge as demo_judge

    if not demo_judge.has_server():
        print("\ntranseval demo: no OPENAI_API_KEY, and the demo judge's server is not installed "
              f"(pip install {demo_judge.SERVER_REQUIREMENT}): answers saved unjudged.", flush=True)
        return None
    try:
        return demo_judge.judge_with_demo_judge(staging, demo_judge.demo_gguf(model_cache))
    except TransevalError as exc:
        print(one_line(exc), file=sys.stderr, flush=True)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="transeval demo", description=__doc__)
    parser.add_argument("--limit", type=int, default=int(os.environ.get("DEMO_LIMIT", 10)),
                        help="questions to run (default 10; 80 is the full benchmark)")
    parser.add_argument("--max-gen-toks", type=int, default=int(os.environ.get("DEMO_MAX_GEN_TOKS", 128)))
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--knowledge-limit", type=int, default=int(os.environ.get("DEMO_KNOWLEDGE_LIMIT", 3)),
                        help="questions per task of the knowledge job (default 3)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("DEMO_OUT", "runs")))
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--no-demo-judge", action="store_true",
                        help="without OPENAI_API_KEY, leave the answers unjudged instead of starting the demo judge")
    args = parser.parse_args(argv)

    model_dir = prepare_gemma(args.model_cache)
    judged = bool(os.environ.get("OPENAI_API_KEY", "").strip())
    args.out.mkdir(parents=True, exist_ok=True)
    # Without a key, MT-bench answers go to a staging folder first, so the demo judge sees only this run.
    staging = None if judged else Path(tempfile.mkdtemp(prefix=".demo-staging-", dir=args.out))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    jobs = [
        # Thai MT-bench: both turns through the model's chat template, judged if a judge is configured.
        lm_eval_command(model_dir, staging or args.out, "thai_mtbench", args.limit, args.max_gen_toks,
                        args.batch_size,
                        "--apply_chat_template", *([] if judged else ["--predict_only"])),
        # Knowledge (Paper B): C-Eval humanities 5-shot, Chinese AGI-Eval and a GAOKAO-Bench file zero-shot.
        # Batch size 1: log-likelihoods need logits over Gemma's 262k-token vocabulary for every position of
        # long 5-shot prompts, and larger batches exceed the memory of a small machine.
        lm_eval_command(model_dir, args.out, "demo_knowledge", args.knowledge_limit, 64, 1),
    ]
    rc, unjudged = 0, staging is not None
    try:
        for cmd in jobs:
            shown = " ".join(str(args.out) if staging is not None and part == str(staging) else part for part in cmd)
            note = (f"\n  (written to a staging folder inside {args.out} first, so that the demo judge sees only "
                    "these answers; it is moved into the output folder at the end)"
                    if staging is not None and str(staging) in cmd else "")
            print("transeval demo: " + shown + note, flush=True)  # the command as a user would run it
            rc = subprocess.call(cmd, env=env)
            if rc != 0:
                return rc
        if staging is not None and not args.no_demo_judge:
            judge_rc = _demo_judge(staging, args.model_cache)
            rc, unjudged = judge_rc or 0, judge_rc != 0
    finally:
        if staging is not None:
            try:
                move_runs(staging, args.out)
            except TransevalError as exc:
                print(one_line(exc), file=sys.stderr, flush=True)
                rc = rc or 1
    bin_dir = Path(sys.executable).parent
    if unjudged:
        print(f"\ntranseval demo: to judge the answers, set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI "
              f"server), then run:\n  {bin_dir / 'transeval'} judge {args.out}")
    print(f"\ntranseval demo: open the leaderboard with:\n  {bin_dir / 'transeval'} board {args.out}\n"
          "  (or `make board`)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
