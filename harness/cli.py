"""``transeval`` command line: judge saved answers later, open the leaderboard, locate the task folder.

Generation itself is plain ``lm_eval``: the start-up hook makes our tasks available to it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import JudgeConfigError, TransevalError, one_line


@dataclass(frozen=True)
class _Work:
    run: Any
    task: str
    convs: list[Any]


def _collect(root: Path, tasks: set[str] | None) -> list[_Work]:
    """Every judged task of every run under ``root``, with its answers read back (validated before judging)."""
    from transeval.harness.judging.pipeline import run_conversations
    from transeval.harness.judging.store import find_runs

    work = []
    for run in find_runs(root):
        for task in run.tasks:
            if tasks and task not in tasks:
                continue
            convs = run_conversations(run, task)
            if convs:
                work.append(_Work(run, task, convs))
    return work


#: Exit status of ``transeval judge --batch`` while a batch is still running (run the command again later).
BATCH_PENDING = 3


def fraction(text: str, field: str = "--max-unscored-fraction") -> float:
    """A share between 0 and 1 from the command line or the environment (``nan``, ``inf``, ``x`` refused).

    Raises:
        TransevalError: one line naming the option.
    """
    import math

    try:
        value = float(text)
    except (TypeError, ValueError):
        raise TransevalError(f"must be a number between 0 and 1, got '{text}'", field=field) from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise TransevalError(f"must be a number between 0 and 1, got '{text}'", field=field)
    return value


def budget_error(outcomes: list[Any], max_fraction: float) -> TransevalError | None:
    """The error when the judge gave no score for more than ``max_fraction`` of this round's judgments.

    Whatever the failure: the endpoint down or refusing the key (``transport``/``auth``), or refusing the
    requests themselves (HTTP 400, 404 of a model, 413, ...). A reply without a valid rating is the judge's own
    verdict on that turn (unscored with its reason), and a turn left unscored without a call (an empty answer)
    never needed the judge: neither counts.
    """
    failed = sum(o.failed for o in outcomes)
    unscored = sum(max(o.unscored, o.failed) for o in outcomes)
    total = sum(o.total for o in outcomes)
    if not total or unscored / total <= max_fraction:
        return None
    if unscored == failed:
        return JudgeConfigError(
            f"the judge could not be asked for {failed} of {total} judgments (more than "
            f"{max_fraction:.0%}: endpoint down or key rejected); earlier judgments are kept, rerun "
            "`transeval judge` when the endpoint works")
    from collections import Counter

    reasons = Counter(r for o in outcomes for r in o.unscored_reasons)
    why = " ".join(reasons.most_common(1)[0][0].split())[:160] if reasons else "no rating"
    return JudgeConfigError(
        f"the judge gave no score for {unscored} of {total} judgments (more than {max_fraction:.0%}; most often: "
        f"{why}); earlier judgments are kept, fix the cause and rerun `transeval judge`")


def judge_runs(root: Path, tasks: set[str] | None = None, judge_model: str | None = None,
               rubrics: tuple[str, ...] = (), max_failed_fraction: float = 0.05, batch: bool = False,
               wait: bool = True, poll_s: float = 30.0) -> int:
    """Judge every judged task of every run under ``root`` (answers saved with ``--predict_only`` or earlier).

    Everything is checked before the first judge call: the samples files (duplicate question ids included),
    every rubric (and that the task can fill its template), that each run folder can be written (its lock is
    taken: another process judging the same run is waited for), and the endpoint, when the cache cannot answer
    every request. Judgments already in the cache cost nothing, and a new judgment never replaces a better one,
    so this is also how to retry after a failure.

    Args:
        root: An lm-eval ``--output_path`` folder.
        tasks: Only these tasks.
        judge_model: Override the judge model.
        rubrics: Score with these rubrics only (each as its own metric); default: the tasks' own rubrics.
        max_failed_fraction: Fail (non-zero exit) when the judge gave no score for more than this share of the
            judgments: endpoint down, key rejected, or requests refused (HTTP 4xx).
        batch: Send what the cache cannot answer through the Batch API first (:mod:`transeval.judges.batch`),
            then judge from the cache only.
        wait: With ``batch``: poll until the batches end (else submit and return).
        poll_s: With ``batch``: seconds between polls.

    Returns:
        Number of (run, task) pairs judged, or ``-1`` when a batch is still running (nothing judged yet).

    Raises:
        TransevalError: one line, for bad input or when the error budget is exceeded.
    """
    from contextlib import ExitStack

    from transeval.harness.judging.store import RunLock
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import MetricJob, check_rubrics, jobs_for
    from transeval.judges.rubric import load_rubric

    work = _collect(root, tasks)
    if tasks:
        from transeval.harness.judging.store import find_runs

        have = sorted({t for run in find_runs(root) for t in run.tasks})
        for task in sorted(tasks - {w.task for w in work}):
            if task not in have:
                raise TransevalError(f"no task '{task}' under {root} (tasks there: {', '.join(have) or 'none'})",
                                     field="--task")
    plans = []
    for w in work:
        spec = w.convs[0].question.judge
        if rubrics:
            jobs = []
            for name in rubrics:
                r = load_rubric(name)
                jobs.append(MetricJob(r.metric, name, spec.baseline if r.kind == "pairwise" else None))
        else:
            jobs = jobs_for(spec)
        check_rubrics(w.convs, jobs)
        plans.append((w, jobs, resolve_settings(judge_model or spec.model)))
    locks = ExitStack()
    with locks:
        # One writer per run: taken before any call (a read-only folder fails here, before anything is paid).
        for folder, date_id in sorted({(w.run.folder, w.run.date_id) for w, _, _ in plans}):
            locks.enter_context(RunLock(folder, date_id))
        return _judge_locked(plans, max_failed_fraction, batch, wait, poll_s)


def _needs_calls(plans: list[Any]) -> set[Any]:
    """The settings (endpoints) that some request of ``plans`` needs: those the cache cannot answer."""
    from transeval.judges.cache import JudgeCache
    from transeval.judges.grade import planned_requests

    needed: set[Any] = set()
    for w, jobs, settings in plans:
        if settings in needed:
            continue
        keys = [r.key for r in planned_requests(w.convs, jobs, settings)]
        if not keys:
            continue
        if not settings.cache_path.exists():
            needed.add(settings)
            continue
        cache = JudgeCache(settings.cache_path)
        try:
            if any(cache.get(k) is None for k in keys):
                needed.add(settings)
        finally:
            cache.close()
    return needed


def _judge_locked(plans: list[Any], max_failed_fraction: float, batch: bool, wait: bool, poll_s: float) -> int:
    """The rest of :func:`judge_runs`, holding every run's lock."""
    from transeval.harness.judging.pipeline import judge_task
    from transeval.harness.judging.store import merge_into_results
    from transeval.judges.client import check_endpoint

    needed = _needs_calls(plans)  # an all-cached rerun needs no endpoint
    for base_url in sorted({s.base_url or "" for s in needed}):
        check_endpoint(next(s for s in needed if (s.base_url or "") == base_url))
    offline: dict[str, tuple[str, str]] | None = None
    if batch:
        from transeval.judges.batch import run_batch
        from transeval.judges.grade import planned_requests

        by_settings: dict[Any, list[Any]] = {}
        for w, jobs, settings in plans:
            by_settings.setdefault(settings, []).extend(planned_requests(w.convs, jobs, settings))
        offline = {}
        pending: list[str] = []
        for settings, requests in by_settings.items():
            outcome_b = run_batch(requests, settings, wait=wait, poll_s=poll_s,
                                  say=lambda line: print(line, file=sys.stderr))
            offline.update(outcome_b.failed)
            pending += outcome_b.pending
        if pending:
            print(f"transeval: batch {', '.join(pending)} still running; nothing judged yet: run the same "
                  "command again to collect the results (no batch is submitted twice)", file=sys.stderr)
            return -1
    outcomes = []
    for w, jobs, settings in plans:
        outcome = judge_task(w.convs, jobs, settings, w.run.folder, w.run.date_id, offline=offline)
        merge_into_results(w.run.results_path, w.task, outcome.scores)
        outcomes.append(outcome)
        for metric, s in outcome.scores.items():
            mean = "n/a" if s.overall.mean is None else f"{s.overall.mean:.3g}"
            mixed = f"; mixed judges: {', '.join(s.endpoints)}" if len(s.endpoints) > 1 else ""
            print(f"{w.run.folder.name}/{w.task}: {metric} {mean} ({s.n_scored}/{s.n_total} scored{mixed}) "
                  f"-> {w.run.judgments_path(w.task).name}")
    error = budget_error(outcomes, max_failed_fraction)
    if error is not None:
        raise error
    return len(plans)


def evaluate_checkpoint(checkpoint: Path, suite: str, output: Path, limit: int | None, device: str,
                        batch_size: str | None = None) -> int:
    """Run plain ``lm_eval`` on a trained checkpoint (``final/`` adapters need the base model: use ``merged/``)."""
    if not (checkpoint / "config.json").is_file():
        raise TransevalError("not a model folder (no config.json); pass the stage's merged/ folder", file=checkpoint)
    exe = Path(sys.executable).with_name("lm_eval")
    cmd = [str(exe), "--model", "hf", "--model_args", f"pretrained={checkpoint}", "--tasks", suite,
           "--device", device, "--output_path", str(output), "--log_samples"]
    if batch_size:  # else lm-eval's default, with transeval's turn batching for multi-turn tasks
        cmd += ["--batch_size", batch_size]
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


def _check_json_target(path: Path | None) -> None:
    """``--json`` must go into an existing folder: checked before any judge call is paid."""
    if path is None:
        return
    if path.is_dir():
        raise TransevalError("is a folder; give a file name such as report.json", file=path, field="--json")
    if not path.parent.is_dir():
        raise TransevalError("folder does not exist; create it first", file=path.parent, field="--json")
    if not os.access(path.parent, os.W_OK):
        raise TransevalError("folder is not writable", file=path.parent, field="--json")


def _write_json(path: Path, data: Any) -> None:
    """Write a report, as one line naming the file when the disk does not take it."""
    from transeval.core.errors import io_error

    try:
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        raise io_error(exc, path) from None


def check_rubric_files(names: list[str]) -> int:
    """``transeval rubric check``: validate each rubric and parse its examples; one line per failure.

    Returns:
        0 when every rubric is valid and every example parses as declared, else 1.
    """
    from transeval.judges.rubric import check_examples, load_rubric, load_rubric_file

    bad = 0
    for name in names:
        try:
            rubric = load_rubric_file(Path(name)) if Path(name).is_file() else load_rubric(name)
        except TransevalError as exc:
            print(one_line(exc), file=sys.stderr)
            bad += 1
            continue
        failures = check_examples(rubric)
        for failure in failures:
            print(one_line(failure), file=sys.stderr)
        if failures:
            bad += 1
        else:
            print(f"{rubric.path}: ok ({rubric.kind} rubric '{rubric.name}', metric '{rubric.metric}', "
                  f"{len(rubric.examples)} examples parse as declared)")
    return 1 if bad else 0


#: Commands whose work may call the judge endpoint (and so import the ``openai`` SDK).
_SDK_COMMANDS = frozenset({"judge", "compare", "translate", "demo", "eval"})


def console_main() -> int:
    """The ``transeval`` console script: :func:`main` in a short-lived process.

    The collector is kept off the SDK's thousands of long-lived objects: they are frozen once imported
    (:func:`~transeval.judges.client.freeze_after_sdk_import`), and everything is frozen before the exit, whose
    last collections would otherwise walk them all (about 0.15 s) to free memory the OS takes back anyway. Files
    are closed by then (judgments and scores are written and synced by their writers).
    """
    if sys.argv[1:2] and sys.argv[1] in _SDK_COMMANDS:  # only they load the client (70 ms): --help, board, ... do not
        from transeval.judges.client import freeze_after_sdk_import

        freeze_after_sdk_import()
    code = main()
    gc.freeze()
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``transeval`` command (in-process callers: tests, notebooks)."""
    parser = argparse.ArgumentParser(prog="transeval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_judge = sub.add_parser("judge", help="judge saved answers (e.g. from lm_eval --predict_only)")
    p_judge.add_argument("runs", type=Path, help="an lm_eval --output_path folder")
    p_judge.add_argument("--task", action="append", help="only this task (repeatable)")
    p_judge.add_argument("--judge-model", help="judge model (default: $TRANSEVAL_JUDGE_MODEL or gpt-4)")
    p_judge.add_argument("--rubric", action="append", default=[],
                         help="score the saved answers with this rubric, as its own metric (repeatable)")
    p_judge.add_argument("--rubrics-dir", type=Path, help="a folder of your own rubric YAMLs "
                         "(also $TRANSEVAL_RUBRICS_DIR)")
    p_judge.add_argument("--max-unscored-fraction", default="0.05",
                         help="exit non-zero when the endpoint did not answer more than this share of the "
                              "judgments (endpoint down, key rejected, requests refused with HTTP 4xx); "
                              "default 0.05")
    p_judge.add_argument("--batch", action="store_true",
                         help="send the judge requests through the OpenAI Batch API (half price, up to 24 h), "
                              "then judge from the cache; rerun the same command to resume a batch")
    p_judge.add_argument("--no-wait", action="store_true",
                         help=f"with --batch: submit (or check) and exit {BATCH_PENDING} while a batch runs")
    p_judge.add_argument("--poll-interval", type=float, default=30.0, help="with --batch: seconds between polls")
    p_cmp = sub.add_parser("compare", help="pairwise win rates of runs (both orders judged; Bradley-Terry for 3+)")
    p_cmp.add_argument("runs", type=Path)
    p_cmp.add_argument("--model", action="append", required=True, help="a model as the board names it (repeatable)")
    p_cmp.add_argument("--baseline", help="compare every --model with this one (else every pair of --model)")
    p_cmp.add_argument("--task", action="append", help="only this task (repeatable)")
    p_cmp.add_argument("--rubric", default="pair-v2", help="pairwise rubric (default pair-v2)")
    p_cmp.add_argument("--judge-model", help="judge model (default: $TRANSEVAL_JUDGE_MODEL or gpt-4)")
    p_cmp.add_argument("--json", type=Path, help="also write the report as JSON")
    p_agr = sub.add_parser("agreement", help="agreement of two judgments (or a judgment and human labels)")
    p_agr.add_argument("a", type=Path, help="judgments JSONL, a run folder, or a labels CSV/JSONL")
    p_agr.add_argument("b", type=Path)
    p_agr.add_argument("--metric", default="score", help="which judged metric (default score)")
    p_agr.add_argument("--leaderboard", action="store_true", help="a and b are leaderboard CSVs: rank correlation")
    p_agr.add_argument("--column", default="overall", help="leaderboard score column (default overall)")
    p_agr.add_argument("--json", type=Path, help="also write the report as JSON")
    sub.add_parser("translate", add_help=False,  # parsed by transeval.harness.language.translate (imported only then)
                   help="machine-translate fields of a JSONL/CSV data set through the endpoint, with provenance")
    p_board = sub.add_parser("board", help="open the leaderboard in the browser (or --export a static one)")
    p_board.add_argument("runs", type=Path)
    p_board.add_argument("--port", type=int)
    p_board.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p_board.add_argument("--headless", action="store_true", help="do not open a browser")
    p_board.add_argument("--export", type=Path, help="write a static leaderboard (.md, .html, .tex or .csv) and exit")
    p_board.add_argument("--metrics", help="with --export: columns, comma-separated: task:metric, a metric name "
                         "(every task that has it) or 'default' (the first screen); e.g. default,conciseness")
    p_rubric = sub.add_parser("rubric", help="check your own rubric files: `transeval rubric check FILE...`")
    p_rubric.add_argument("action", choices=["check"])
    p_rubric.add_argument("rubrics", nargs="+", help="rubric YAML files (or names of rubrics on the rubric path)")
    sub.add_parser("tasks-dir", help="print the task folder (for lm_eval --include_path without the hook)")
    p_eval = sub.add_parser("eval", help="evaluate a checkpoint on a suite with lm_eval (then `transeval board`)")
    p_eval.add_argument("checkpoint", type=Path)
    p_eval.add_argument("--suite", default="transllm_th", help="task or suite name (default transllm_th)")
    p_eval.add_argument("--output", type=Path, default=Path("runs"))
    p_eval.add_argument("--limit", type=int)
    p_eval.add_argument("--device", default="cpu")
    p_eval.add_argument("--batch-size", help="lm_eval --batch_size (default: none given, see README 'Speed')")
    p_train = sub.add_parser("train", help="run one training stage: transeval train vocab|cpt|sft STAGE.yaml")
    p_train.add_argument("stage", choices=["vocab", "cpt", "sft", "distill", "run"],
                         help="one stage, or `run` for a whole recipe (a YAML listing stages)")
    p_train.add_argument("config", type=Path)
    sub.add_parser("demo", help="evaluate the bundled gemma-3-270m on thai_mtbench (see `transeval demo -h`)",
                   add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["translate"]:
        from transeval.harness.language.translate import main as translate_main

        return translate_main(argv[1:])
    if argv[:1] == ["demo"]:
        from transeval.harness.demo.run import main as demo_main

        return demo_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        if args.command == "judge":
            if args.rubrics_dir:
                os.environ["TRANSEVAL_RUBRICS_DIR"] = os.pathsep.join(
                    filter(None, [str(args.rubrics_dir), os.environ.get("TRANSEVAL_RUBRICS_DIR")]))
            n = judge_runs(args.runs, set(args.task) if args.task else None, args.judge_model,
                           tuple(args.rubric), fraction(args.max_unscored_fraction), batch=args.batch,
                           wait=not args.no_wait, poll_s=args.poll_interval)
            if n < 0:
                return BATCH_PENDING
            if n == 0:
                print(f"transeval: nothing to judge under {args.runs} (no samples of judged tasks; "
                      "did the run use --log_samples or --predict_only?)", file=sys.stderr)
                return 1
            return 0
        if args.command == "compare":
            from transeval.harness.judging.compare import compare_runs

            _check_json_target(args.json)
            report = compare_runs(args.runs, args.model, args.baseline, set(args.task) if args.task else None,
                                  args.rubric, args.judge_model)
            if args.json:
                _write_json(args.json, report)
            return 0
        if args.command == "agreement":
            from transeval.harness.judging.compare import agreement, print_agreement

            _check_json_target(args.json)
            result = agreement(args.a, args.b, args.metric, args.leaderboard, args.column)
            print_agreement(result)
            if args.json:
                _write_json(args.json, result)
            return 0
        if args.command == "board":
            from transeval.dashboard.serve import run_board

            if args.export:
                from transeval.dashboard.data_export import write_export
                from transeval.harness.judging.store import check_exportable

                check_exportable(args.runs)
                metrics = args.metrics.split(",") if args.metrics else None
                print(f"transeval: wrote {write_export(args.runs, args.export, metrics)}", file=sys.stderr)
                return 0
            return run_board(args.runs, args.port, args.host, args.headless)
        if args.command == "rubric":
            return check_rubric_files(args.rubrics)
        if args.command == "train":
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
            from transeval.core.paths import tasks_dir

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
    sys.exit(console_main())
