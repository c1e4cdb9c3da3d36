"""``transeval`` command line: judge saved answers later, open the leaderboard, locate the task folder.

Generation itself is plain ``lm_eval``: the start-up hook makes our tasks available to it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from transeval.harness.errors import JudgeConfigError, TransevalError, one_line


def _is_judged_doc(doc: dict) -> bool:
    return isinstance(doc, dict) and "judge" in doc and "turns" in doc and "question_id" in doc


def judge_runs(root: Path, tasks: set[str] | None = None, judge_model: str | None = None) -> int:
    """Judge every judged task of every run under ``root`` (answers saved with ``--predict_only`` or earlier).

    Judgments already in the cache cost nothing, so this is also how to re-judge after a failure.

    Returns:
        Number of (run, task) pairs judged.
    """
    from transeval.harness.mtbench import conversation_from_sample
    from transeval.harness.store import find_runs, merge_into_results, read_jsonl, write_task_outputs
    from transeval.judges.client import is_unreachable
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import judge_conversations

    done = 0
    unreachable: list[str] = []
    for run in find_runs(root):
        for task in run.tasks:
            if tasks and task not in tasks:
                continue
            samples = run.samples_path(task)
            if not samples.exists():
                continue
            convs = []
            for lineno, rec in read_jsonl(samples):
                doc = rec.get("doc")
                if not isinstance(doc, dict) or not _is_judged_doc(doc):
                    break
                resps = rec.get("filtered_resps") or []
                if not resps or not isinstance(resps[0], str):
                    raise TransevalError("no model response in sample", file=samples, line=lineno,
                                         field="filtered_resps")
                convs.append(conversation_from_sample(doc, resps[0]))
            if not convs:
                continue
            settings = resolve_settings(judge_model or convs[0].question.judge.model)
            judgments, scores = judge_conversations(convs, settings)
            write_task_outputs(run.folder, task, run.date_id, judgments, scores)
            merge_into_results(run.results_path, task, scores)
            done += 1
            mean = "n/a" if scores.overall.mean is None else f"{scores.overall.mean:.2f}"
            print(f"{run.folder.name}/{task}: score {mean} ({scores.n_scored}/{scores.n_total} scored) "
                  f"-> {run.judgments_path(task).name}")
            if any(is_unreachable(j.reason) for j in judgments):
                unreachable.append(f"{run.folder.name}/{task}")
    if unreachable:
        raise JudgeConfigError(
            f"judge endpoint unreachable for {', '.join(unreachable)}: judged turns are kept (cached); "
            "rerun `transeval judge` when it is back"
        )
    return done


def evaluate_checkpoint(checkpoint: Path, suite: str, output: Path, limit: int | None, device: str,
                        batch_size: str) -> int:
    """Run plain ``lm_eval`` on a trained checkpoint (``final/`` adapters need the base model: use ``merged/``)."""
    if not (checkpoint / "config.json").is_file():
        raise TransevalError("not a model folder (no config.json); pass the stage's merged/ folder", file=checkpoint)
    exe = Path(sys.executable).with_name("lm_eval")
    cmd = [str(exe), "--model", "hf", "--model_args", f"pretrained={checkpoint}", "--tasks", suite,
           "--device", device, "--batch_size", batch_size, "--output_path", str(output), "--log_samples"]
    tokenizer_config = checkpoint / "tokenizer_config.json"
    if (checkpoint / "chat_template.jinja").exists() or "chat_template" in (
            tokenizer_config.read_text(encoding="utf-8") if tokenizer_config.exists() else ""):
        cmd.append("--apply_chat_template")
    if limit:
        cmd += ["--limit", str(limit)]
    print("transeval: " + " ".join(cmd), file=sys.stderr, flush=True)
    rc = subprocess.call(cmd)
    if rc == 0:
        print(f"transeval: open the leaderboard with: transeval board {output}", file=sys.stderr)
    return rc


def board(root: Path, port: int | None, headless: bool) -> int:
    """Start the Streamlit leaderboard over ``root``."""
    if not root.exists():
        raise TransevalError("no such folder", file=root)
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--browser.gatherUsageStats", "false"]
    if port:
        cmd += ["--server.port", str(port)]
    if headless:
        cmd += ["--server.headless", "true"]
    cmd += ["--", "--runs", str(root.resolve())]
    return subprocess.call(cmd)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``transeval`` command."""
    parser = argparse.ArgumentParser(prog="transeval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_judge = sub.add_parser("judge", help="judge saved answers (e.g. from lm_eval --predict_only)")
    p_judge.add_argument("runs", type=Path, help="an lm_eval --output_path folder")
    p_judge.add_argument("--task", action="append", help="only this task (repeatable)")
    p_judge.add_argument("--judge-model", help="judge model (default: $TRANSEVAL_JUDGE_MODEL or gpt-4)")
    p_board = sub.add_parser("board", help="open the leaderboard in the browser")
    p_board.add_argument("runs", type=Path)
    p_board.add_argument("--port", type=int)
    p_board.add_argument("--headless", action="store_true", help="do not open a browser")
    sub.add_parser("tasks-dir", help="print the task folder (for lm_eval --include_path without the hook)")
    p_eval = sub.add_parser("eval", help="evaluate a checkpoint on a suite with lm_eval (then `transeval board`)")
    p_eval.add_argument("checkpoint", type=Path)
    p_eval.add_argument("--suite", default="transllm_th", help="task or suite name (default transllm_th)")
    p_eval.add_argument("--output", type=Path, default=Path("runs"))
    p_eval.add_argument("--limit", type=int)
    p_eval.add_argument("--device", default="cpu")
    p_eval.add_argument("--batch-size", default="1")
    p_train = sub.add_parser("train", help="run one training stage: transeval train vocab|cpt|sft STAGE.yaml")
    p_train.add_argument("stage", choices=["vocab", "cpt", "sft", "distill", "run"],
                         help="one stage, or `run` for a whole recipe (a YAML listing stages)")
    p_train.add_argument("config", type=Path)
    sub.add_parser("demo", help="evaluate the bundled gemma-3-270m on thai_mtbench (see `transeval demo -h`)",
                   add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        from transeval.harness.demo import main as demo_main

        return demo_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        if args.command == "judge":
            n = judge_runs(args.runs, set(args.task) if args.task else None, args.judge_model)
            if n == 0:
                print(f"transeval: nothing to judge under {args.runs} (no samples of judged tasks; "
                      "did the run use --log_samples or --predict_only?)", file=sys.stderr)
                return 1
            return 0
        if args.command == "board":
            return board(args.runs, args.port, args.headless)
        if args.command == "train":
            import json
            import logging

            logging.basicConfig(level=logging.INFO)
            if args.stage == "run":
                from transeval.train.recipe import run

                for summary in run(args.config):
                    print(json.dumps({k: v for k, v in summary.items() if k != "losses"}, indent=2))
                return 0
            if args.stage == "sft":
                from transeval.train.sft import main as stage_main
            elif args.stage == "cpt":
                from transeval.train.cpt import main as stage_main
            elif args.stage == "distill":
                from transeval.train.distill import main as stage_main
            else:
                from transeval.train.vocab import main as stage_main
            summary = stage_main(str(args.config))
            print(json.dumps({k: v for k, v in summary.items() if k != "losses"}, indent=2))
            return 0
        if args.command == "eval":
            return evaluate_checkpoint(args.checkpoint, args.suite, args.output, args.limit, args.device,
                                       args.batch_size)
        if args.command == "tasks-dir":
            from transeval.harness.mtbench import tasks_dir

            print(tasks_dir())
            return 0
    except TransevalError as exc:
        print(one_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
