"""The patches the start-up hook applies to lm-eval 0.4.13 modules as they are imported.

* ``TaskManager.__init__``: our ``tasks/`` folder goes first on the include path, so user paths still win.
* ``evaluator.evaluate``: for runs with our judged tasks, (1) check rubrics and the judge endpoint before any
  generation, (2) install the turn-by-turn runner on the LM object for the duration of the call, (3) keep the
  judged tasks' samples and mark the results as waiting for the judge.
* ``evaluator.simple_evaluate``: once lm-eval has the answers, save them to the run folder (samples and a
  provisional results file), then judge them (:mod:`transeval.harness.judging.pipeline`) and put the numbers into the
  results; a crash or judge outage while judging leaves a predict-only run that ``transeval judge`` completes.
* ``EvaluatorConfig.from_cli``: a run without ``--batch_size`` (CLI or YAML) passes ``batch_size=None``, as the
  Python API does, so that "not set" can be told from an explicit 1 (see :func:`turn_batch_size`).
* ``EvaluationTracker``: the final save keeps the provisional run's file names (one run, not two) and does not
  append the already-saved samples again.
* ``sys.excepthook``: our errors print as one line, without a traceback.

Each patch is idempotent and keeps the original callable reachable as ``__wrapped__``.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import logging
import os
import sys
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

log = logging.getLogger(__name__)

#: True inside a ``simple_evaluate`` call that was given no batch size (the multi-turn runner picks one).
_BATCH_UNSET: contextvars.ContextVar[bool] = contextvars.ContextVar("transeval_batch_unset", default=False)
#: Turn batch on CPU when no batch size was given: every conversation of a turn, up to this many at once
#: (bench/generation_defaults.py: batches beyond it were no faster for gemma-3-270m on 2 cores, only bigger).
CPU_TURN_BATCH = 32


def turn_batch_size(lm: Any, batch_unset: bool) -> int | str | None:
    """The batch for the multi-turn runner's turn generation when the user gave none, else None.

    lm-eval's default batch size is 1, which makes MT-bench about 3x slower than batching the conversations of a
    turn. Likelihood tasks keep lm-eval's default (on CPU, batching padded 5-shot contexts is slower than batch
    1); only the turn generation of the hf backend gets a bigger batch: on a GPU lm-eval's own ``auto`` probe
    (bounded by memory), on CPU up to :data:`CPU_TURN_BATCH` conversations. Other backends batch themselves
    (vLLM) or send concurrent requests (APIs).
    """
    if not batch_unset or getattr(lm, "batch_size_per_gpu", None) != 1:
        return None
    device = str(getattr(lm, "device", "cpu"))
    return "auto" if device.startswith("cuda") else CPU_TURN_BATCH


#: lm-eval's own names of benchmarks we bundle whose data lm-eval reads from the hub -> our offline name.
_HUB_NAMES = (("ceval-valid_", "ceval_"), ("agieval_", "agieval_v1_"))


def check_offline_task_names(tasks: Any) -> None:
    """Offline, lm-eval's own name of a bundled benchmark (``ceval-valid_law``) is one line naming ours.

    lm-eval's ``ceval-valid_<subject>`` and ``agieval_<subset>`` read their data from the Hugging Face hub, which
    fails offline with a traceback; transeval bundles them as ``ceval_<subject>`` and ``agieval_v1_<subset>``.

    Raises:
        TransevalError: naming the bundled task to use instead.
    """
    if not (os.environ.get("HF_DATASETS_OFFLINE") or os.environ.get("HF_HUB_OFFLINE")):
        return
    from transeval.core.errors import TransevalError
    from transeval.core.paths import tasks_dir

    names = [tasks] if isinstance(tasks, str) else tasks if isinstance(tasks, list | tuple) else []
    for name in (n for raw in names if isinstance(raw, str) for n in raw.split(",")):
        for theirs, ours in _HUB_NAMES:
            if name.startswith(theirs) and not name.startswith(ours):
                bundled = ours + name[len(theirs):]
                if any(tasks_dir().glob(f"*/{bundled}.yaml")):
                    raise TransevalError(f"'{name}' is lm-eval's hub-backed task and the hub is offline; the "
                                         f"bundled copy is '{bundled}' (same prompt and metrics)", field="--tasks")


def patch_evaluator_config(module: ModuleType) -> None:
    """``lm_eval`` without ``--batch_size`` (nor ``batch_size`` in ``--config``) passes ``batch_size=None``."""
    cls = module.EvaluatorConfig
    orig = cls.__dict__["from_cli"].__func__
    if getattr(orig, "__transeval__", False):
        return

    @functools.wraps(orig)
    def from_cli(klass: Any, namespace: Any) -> Any:
        instance = orig(klass, namespace)
        given = "batch_size" in vars(namespace)
        if not given and getattr(namespace, "config", None):
            given = "batch_size" in (klass.load_yaml_config(namespace.config) or {})
        if not given:
            instance.batch_size = None
        return instance

    from_cli.__transeval__ = True  # type: ignore[attr-defined]
    cls.from_cli = classmethod(from_cli)


def patch_task_manager(module: ModuleType) -> None:
    """Add our task folder to every TaskManager's include path."""
    cls = module.TaskManager
    orig = cls.__init__
    if getattr(orig, "__transeval__", False):
        return

    @functools.wraps(orig)
    def __init__(self: Any, *args: Any, include_path: Any = None, **kwargs: Any) -> None:
        if len(args) >= 2:  # (verbosity, include_path, ...) passed positionally
            include_path, args = args[1], (args[0], *args[2:])
        from transeval.core.paths import tasks_dir

        paths = [] if include_path is None else (
            list(include_path) if isinstance(include_path, list | tuple) else [include_path]
        )
        ours = str(tasks_dir())
        if ours not in {str(Path(p)) for p in paths}:
            paths.insert(0, ours)
        orig(self, *args, include_path=paths, **kwargs)

    __init__.__transeval__ = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def preflight(tasks: list[Any], judging: bool) -> None:
    """Before any generation: every rubric a judged task will use loads and can be filled; the judge answers.

    Raises:
        TransevalError: one line naming the rubric or task file and the field, or the endpoint.
    """
    from transeval.core.records import Conversation
    from transeval.harness.lmeval.judged import question_from_doc
    from transeval.judges.client import check_endpoint
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import check_rubrics, jobs_for

    max_unscored_fraction()  # a malformed budget fails before generation, not after
    checked: set[str | None] = set()
    for task in tasks:
        spec = task.judge_spec
        convs = [Conversation(question_from_doc(doc), ()) for doc in task.eval_docs]
        check_rubrics(convs, jobs_for(spec))
        if judging:
            settings = resolve_settings(spec.model)
            if settings.base_url not in checked:
                check_endpoint(settings)
                checked.add(settings.base_url)


#: Environment variable: the share of judgments the judge may leave unscored before ``lm_eval`` exits non-zero.
BUDGET_ENV = "TRANSEVAL_MAX_UNSCORED_FRACTION"
#: One-line errors of this process's judging (over the budget): ``lm_eval`` exits 1 after saving everything.
_FAILURES: list[str] = []


def max_unscored_fraction() -> float:
    """``$TRANSEVAL_MAX_UNSCORED_FRACTION`` (default 0.05), as ``transeval judge --max-unscored-fraction``.

    Raises:
        TransevalError: for a value that is not a number between 0 and 1.
    """
    from transeval.harness.cli import fraction

    raw = os.environ.get(BUDGET_ENV, "").strip()
    return fraction(raw, f"${BUDGET_ENV}") if raw else 0.05


def patch_cli_run(module: ModuleType) -> None:
    """``lm_eval run`` exits 1 when judging went over the error budget (after lm-eval saved and printed all)."""
    cls = module.Run
    orig = cls.__dict__["_execute"].__func__
    if getattr(orig, "__transeval__", False):
        return

    @functools.wraps(orig)
    def _execute(args: Any) -> None:
        _FAILURES.clear()
        orig(args)
        if _FAILURES:
            for line in _FAILURES:
                print(line, file=sys.stderr)
            raise SystemExit(1)

    _execute.__transeval__ = True  # type: ignore[attr-defined]
    cls._execute = staticmethod(_execute)


def _judged_tasks(task_dict: Any) -> list[Any]:
    from transeval.harness.lmeval.judged_task import JudgedTask

    tasks = task_dict.get("tasks", {}) if isinstance(task_dict, dict) else {}
    return [t for t in tasks.values() if isinstance(t, JudgedTask)]


def patch_evaluator(module: ModuleType) -> None:
    """Wrap ``evaluate`` (turn-by-turn generation, checks first) and ``simple_evaluate`` (judge after saving)."""
    orig = module.evaluate
    if getattr(orig, "__transeval__", False):
        return
    install_excepthook()

    @functools.wraps(orig)
    def evaluate(*args: Any, **kwargs: Any) -> Any:
        from transeval.harness.lmeval.multiturn import dispatching_generate_until

        lm = kwargs["lm"] if "lm" in kwargs else args[0]
        task_dict = kwargs["task_dict"] if "task_dict" in kwargs else args[1]
        ours = _judged_tasks(task_dict)
        if not ours:
            return orig(*args, **kwargs)
        judged = [t for t in ours if "bypass" not in getattr(t, "_metric_fn_list", {})]
        preflight(ours, judging=bool(judged))
        user_log_samples = bool(kwargs.get("log_samples", True))
        if judged:
            kwargs["log_samples"] = True  # the judge reads the answers from the samples
        original = lm.generate_until
        lm.generate_until = dispatching_generate_until(lm, original, turn_batch_size(lm, _BATCH_UNSET.get()))
        try:
            results = orig(*args, **kwargs)
        finally:
            try:
                del lm.generate_until
            except AttributeError:
                lm.generate_until = original
        if isinstance(results, dict):
            results["transeval"] = {"judged": [t.config.task for t in judged], "log_samples": user_log_samples,
                                    "predicted": [t.config.task for t in ours if t not in judged]}
        return results

    evaluate.__transeval__ = True  # type: ignore[attr-defined]
    setattr(module, "evaluate", evaluate)  # noqa: B010

    orig_simple = module.simple_evaluate

    @functools.wraps(orig_simple)
    def simple_evaluate(*args: Any, **kwargs: Any) -> Any:
        from transeval.harness.lmeval.judged import check_user_metadata

        check_user_metadata(kwargs.get("metadata"))
        check_offline_task_names(kwargs.get("tasks", args[2] if len(args) > 2 else None))
        unset = kwargs.get("batch_size") is None and len(args) < 5  # simple_evaluate's 5th parameter
        token = _BATCH_UNSET.set(unset)
        try:
            results = orig_simple(*args, **kwargs)
        finally:
            _BATCH_UNSET.reset(token)
        if not isinstance(results, dict) or "transeval" not in results:
            return results
        info = results.pop("transeval")
        tracker = kwargs.get("evaluation_tracker")
        if info["judged"]:
            judge_results(results, info["judged"], tracker)
            if not info["log_samples"]:
                results.pop("samples", None)
        if info["predicted"]:
            for task in info["predicted"]:  # lm-eval's placeholder `bypass 999` reads like a score: drop it
                entry = results.get("results", {}).get(task, {})
                for key in [k for k in entry if k.startswith("bypass")]:
                    del entry[key]
            output = getattr(tracker, "output_path", None) if tracker is not None else None
            where = _run_folder(tracker) if output else None
            say_last(f"transeval: predict-only: answers of {', '.join(info['predicted'])} are saved"
                     f"{f' in {where}' if where else ''}, not judged; judge them with "
                     f"`transeval judge {output or '<output_path>'}`")
        return results

    simple_evaluate.__transeval__ = True  # type: ignore[attr-defined]
    setattr(module, "simple_evaluate", simple_evaluate)  # noqa: B010


def _lm_eval_cli() -> bool:
    """Whether this process is lm-eval's command line (``lm_eval ...`` or ``python -m lm_eval ...``)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return Path(sys.argv[0] if sys.argv else "").name == "lm_eval" or getattr(spec, "name", "") in (
        "lm_eval", "lm_eval.__main__")


def say_last(line: str) -> None:
    """Print ``line`` to stderr as the last thing the ``lm_eval`` command prints (right away from Python code).

    lm-eval's command line prints its results table after ``simple_evaluate`` returns; a line printed here would
    scroll above it. So under the command line the line is printed at exit, after stdout is flushed.
    """
    def say() -> None:
        sys.stdout.flush()
        print(line, file=sys.stderr, flush=True)

    if _lm_eval_cli():
        atexit.register(say)
    else:
        say()


def _run_folder(tracker: Any) -> Path | None:
    """The folder lm-eval's EvaluationTracker writes a run to (mirrors its own logic)."""
    if not tracker.output_path:
        return None
    path = Path(tracker.output_path)
    if path.suffix == ".json":
        return path.parent
    return path / str(tracker.general_config_tracker.model_name_sanitized)


def _results_file(tracker: Any, date_id: str) -> Path:
    path = Path(tracker.output_path)
    if path.suffix == ".json":
        return path.with_name(f"{path.stem}_{date_id}.json")
    return path / str(tracker.general_config_tracker.model_name_sanitized) / f"results_{date_id}.json"


def save_answers(results: dict[str, Any], tasks: list[str], tracker: Any) -> tuple[Path, str] | None:
    """Write the judged tasks' samples and a provisional results file, before any judge call.

    Returns:
        (run folder, date id) of the saved run, or None when the run has no output path.
    """
    if tracker is None or not getattr(tracker, "output_path", None):
        return None
    save = type(tracker).save_results_aggregated
    save = getattr(save, "__wrapped__", save)
    provisional = {k: v for k, v in results.items() if k != "samples"}
    samples = results.get("samples") or {}
    save(tracker, results=provisional, samples={t: samples[t] for t in tasks if t in samples})
    tracker._transeval_date_id = tracker.date_id
    tracker._transeval_saved = set()
    for t in tasks:
        if t in samples:
            tracker.save_results_samples(task_name=t, samples=samples[t])
            tracker._transeval_saved.add(t)
    folder = _run_folder(tracker)
    if folder is not None:
        _check_saved(folder, tracker.date_id, {t: len(samples[t]) for t in tasks if t in samples},
                     _results_file(tracker, tracker.date_id))
    print(f"transeval: answers saved to {folder} before judging", file=sys.stderr)
    return (folder, tracker.date_id) if folder is not None else None


def _whole_jsonl(path: Path, expected: int) -> bool:
    """Whether ``path`` holds exactly ``expected`` whole JSON lines (lm-eval hides its write errors)."""
    import json

    try:
        with path.open("rb") as fh:
            lines = [line for line in fh if line.strip()]
        return len(lines) == expected and all(line.endswith(b"\n") and json.loads(line) for line in lines)
    except (OSError, ValueError):
        return False


def _check_saved(folder: Path, date_id: str, counts: dict[str, int], results_file: Path) -> None:
    """The answers lm-eval was asked to save are on disk, whole and synced; else one line and nothing half-written.

    lm-eval catches its own write errors ("Could not save sample results") and goes on; a run whose answers are
    not on disk must not be judged (the numbers could never be traced back) nor announced as saved.

    Raises:
        TransevalError: naming the first file that is missing or cut short, and why (full disk, read-only, ...).
    """
    import json

    from transeval.core.errors import TransevalError, io_error

    bad: Path | None = None
    try:
        json.loads(results_file.read_bytes())
    except (OSError, ValueError):
        bad = results_file
    samples_files = [folder / f"samples_{task}_{date_id}.jsonl" for task in counts]
    for path, n in zip(samples_files, counts.values(), strict=True):
        if bad is None and not _whole_jsonl(path, n):
            bad = path
    if bad is None:
        for path in (*samples_files, results_file):
            try:
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())  # on disk before they are announced as saved
            except OSError as exc:
                raise io_error(exc, path, "cannot save the answers") from None
        return
    cause: OSError | None = None
    probe = folder / f".transeval-probe-{os.getpid()}"
    try:  # why lm-eval could not write (it logs only "Could not save ...")
        with probe.open("wb") as fh:
            fh.write(b"\0" * (1 << 16))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        cause = exc
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    for path in (*samples_files, results_file):  # nothing half-written stays behind
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
    if cause is not None:
        raise TransevalError(f"lm-eval could not save the answers ({cause.strerror or cause}); nothing was judged and "
                             "the cut file was removed: free some space (or make the folder writable) and rerun "
                             "lm_eval", file=bad)
    raise TransevalError("lm-eval could not save the answers (it logged \"Could not save sample results\"); nothing "
                         "was judged and the cut file was removed: check free space and permissions, then rerun "
                         "lm_eval", file=bad)


def judge_results(results: dict[str, Any], tasks: list[str], tracker: Any) -> None:
    """Save the answers, judge every judged task, and put each task's numbers into ``results``."""
    from transeval.core.errors import one_line
    from transeval.core.records import lower_is_better
    from transeval.harness.cli import budget_error
    from transeval.harness.judging.pipeline import conversations_from_samples, judge_task
    from transeval.harness.judging.store import headline_entry, mark_mixed_judges
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import jobs_for

    budget = max_unscored_fraction()
    saved = save_answers(results, tasks, tracker)
    folder, date_id = saved if saved else (None, None)
    outcomes = []
    for task in tasks:
        samples = (results.get("samples") or {}).get(task) or []
        if not samples:
            continue
        convs = conversations_from_samples(samples)
        spec = convs[0].question.judge
        # judge_task holds the run's lock while it writes (a `transeval judge` of the same run waits)
        outcome = judge_task(convs, jobs_for(spec), resolve_settings(spec.model), folder, date_id)
        outcomes.append(outcome)
        entry = results.setdefault("results", {}).setdefault(task, {"alias": task})
        filled = headline_entry(outcome.scores)
        if "score,none" not in filled:  # the template's placeholder, for tasks whose own metric has another name
            entry.pop("score,none", None)
        entry.update(filled)
        mark_mixed_judges(entry, outcome.scores)
        entry.pop("score_stderr,none", None)
        entry["language"] = convs[0].question.language
        hib = results.setdefault("higher_is_better", {}).setdefault(task, {})
        for name in headline_entry(outcome.scores):
            hib.setdefault(name.split(",")[0], not lower_is_better(name.split(",")[0]))
    error = budget_error(outcomes, budget)
    if error is not None:  # `lm_eval` says it and exits 1 once lm-eval has saved and printed the results
        _FAILURES.append(one_line(error))


def _keep_final_results(tracker: Any, new: Path, first: str) -> None:
    """lm-eval's final results become the run's results file, with every judged metric of the run in it.

    Under the run's lock: a ``transeval judge`` of the same run that finished meanwhile (another rubric) put its
    numbers into the provisional file, and lm-eval's in-memory results do not have them: the scores files,
    which every judging writes under the lock, are merged back in.

    Raises:
        OSError, ValueError: lm-eval's file is missing or cut (it hides its own write errors).
    """
    import json

    from transeval.harness.judging.store import RunLock, merge_into_results, read_scores, scores_path

    json.loads(new.read_bytes())
    folder = new.parent
    kept = _results_file(tracker, first)
    with RunLock(folder, first):
        os.replace(new, kept)
        for task in sorted(getattr(tracker, "_transeval_saved", set())):
            path = scores_path(folder, task, first)
            if path.exists():
                merge_into_results(kept, task, read_scores(path))


def _final_save_failed(new: Path, kept: Path, exc: Exception) -> str:
    """The one line for lm-eval's final results save that did not reach the disk (its cut file removed)."""
    from transeval.core.errors import TransevalError, io_error, one_line

    try:
        new.unlink(missing_ok=True)
    except OSError:
        pass
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        return one_line(io_error(exc, kept, "could not save the final results"))
    return one_line(TransevalError("lm-eval could not save the final results (\"Could not save results "
                                   "aggregated\"); the judged numbers are in the scores_*.json beside this file: "
                                   "rerun `transeval judge` on the folder to put them in", file=kept))


def patch_evaluation_tracker(module: ModuleType) -> None:
    """Keep one run when answers were saved before judging (same date id; samples not appended twice)."""
    cls = module.EvaluationTracker
    orig = cls.save_results_aggregated
    if getattr(orig, "__transeval__", False):
        return

    @functools.wraps(orig)
    def save_results_aggregated(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = orig(self, *args, **kwargs)
        first = getattr(self, "_transeval_date_id", None)
        if first and self.output_path and self.date_id != first:
            new = _results_file(self, self.date_id)
            try:
                _keep_final_results(self, new, first)
            except (OSError, ValueError) as exc:  # lm-eval hid its write error ("Could not save results ...")
                _FAILURES.append(_final_save_failed(new, _results_file(self, first), exc))
            except Exception as exc:  # noqa: BLE001 - a TransevalError (full disk while merging): one line
                from transeval.core.errors import TransevalError, one_line

                if not isinstance(exc, TransevalError):
                    raise
                _FAILURES.append(one_line(exc))
            self.date_id = first
        return out

    orig_samples = cls.save_results_samples

    @functools.wraps(orig_samples)
    def save_results_samples(self: Any, task_name: str, samples: Any) -> Any:
        if task_name in getattr(self, "_transeval_saved", set()):
            return None  # written before judging
        return orig_samples(self, task_name=task_name, samples=samples)

    save_results_aggregated.__transeval__ = True  # type: ignore[attr-defined]
    cls.save_results_aggregated = save_results_aggregated
    cls.save_results_samples = save_results_samples


def install_excepthook() -> None:
    """Print :class:`TransevalError` as one line instead of a traceback."""
    from transeval.core.errors import TransevalError, one_line

    previous = sys.excepthook
    if getattr(previous, "__transeval__", False):
        return

    def hook(tp: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        err: BaseException | None = value
        while err is not None and not isinstance(err, TransevalError):
            err = err.__cause__ or err.__context__
        if isinstance(err, TransevalError):
            print(one_line(err), file=sys.stderr)
        else:
            previous(tp, value, tb)

    hook.__transeval__ = True  # type: ignore[attr-defined]
    sys.excepthook = hook
