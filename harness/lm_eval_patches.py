"""The patches the start-up hook applies to lm-eval 0.4.13 modules as they are imported.

* ``TaskManager.__init__``: our ``tasks/`` folder goes first on the include path, so user paths still win.
* ``evaluator.evaluate``: for runs with our multi-turn tasks, (1) check the judge configuration before any
  generation, (2) install the turn-by-turn runner on the LM object for the duration of the call.
* ``EvaluationTracker.save_results_aggregated``: write judgments and scores beside lm-eval's results.
* ``sys.excepthook``: our errors print as one line, without a traceback.

Each patch is idempotent and keeps the original callable reachable as ``__wrapped__``.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

log = logging.getLogger(__name__)


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
        from transeval.harness.mtbench import tasks_dir

        paths = [] if include_path is None else (
            list(include_path) if isinstance(include_path, list | tuple) else [include_path]
        )
        ours = str(tasks_dir())
        if ours not in {str(Path(p)) for p in paths}:
            paths.insert(0, ours)
        orig(self, *args, include_path=paths, **kwargs)

    __init__.__transeval__ = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def _preflight(tasks: list[Any]) -> None:
    """Fail before generation if a judged task has no usable judge."""
    from transeval.harness.mtbench import judge_spec_from_metadata
    from transeval.judges.client import check_endpoint
    from transeval.judges.config import resolve_settings

    checked: set[str | None] = set()
    for task in tasks:
        spec = judge_spec_from_metadata(task.config.task, task.config.metadata or {})
        settings = resolve_settings(spec.model)
        if settings.base_url not in checked:
            check_endpoint(settings)
            checked.add(settings.base_url)


def patch_evaluator(module: ModuleType) -> None:
    """Wrap ``evaluate`` to run conversation tasks turn by turn and check the judge first."""
    orig = module.evaluate
    if getattr(orig, "__transeval__", False):
        return
    install_excepthook()

    @functools.wraps(orig)
    def evaluate(*args: Any, **kwargs: Any) -> Any:
        from transeval.harness.mtbench import MultiTurnTask
        from transeval.harness.multiturn import dispatching_generate_until

        lm = kwargs["lm"] if "lm" in kwargs else args[0]
        task_dict = kwargs["task_dict"] if "task_dict" in kwargs else args[1]
        tasks = task_dict.get("tasks", {}) if isinstance(task_dict, dict) else {}
        ours = [t for t in tasks.values() if isinstance(t, MultiTurnTask)]
        if not ours:
            return orig(*args, **kwargs)
        judged = [t for t in ours if "bypass" not in getattr(t, "_metric_fn_list", {})]
        if judged:
            _preflight(judged)
        original = lm.generate_until
        lm.generate_until = dispatching_generate_until(lm, original)
        try:
            return orig(*args, **kwargs)
        finally:
            try:
                del lm.generate_until
            except AttributeError:
                lm.generate_until = original

    evaluate.__transeval__ = True  # type: ignore[attr-defined]
    setattr(module, "evaluate", evaluate)  # noqa: B010


def _run_folder(tracker: Any) -> Path | None:
    """The folder lm-eval's EvaluationTracker writes a run to (mirrors its own logic)."""
    if not tracker.output_path:
        return None
    path = Path(tracker.output_path)
    if path.suffix == ".json":
        return path.parent
    return path / str(tracker.general_config_tracker.model_name_sanitized)


def patch_evaluation_tracker(module: ModuleType) -> None:
    """Write judgments and scores next to lm-eval's results file."""
    cls = module.EvaluationTracker
    orig = cls.save_results_aggregated
    if getattr(orig, "__transeval__", False):
        return

    @functools.wraps(orig)
    def save_results_aggregated(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = orig(self, *args, **kwargs)
        from transeval.harness.mtbench import JUDGED
        from transeval.harness.store import write_task_outputs

        folder = _run_folder(self)
        date_id = getattr(self, "date_id", None)
        if folder is not None and date_id and JUDGED:
            for task, (_convs, judgments, scores) in list(JUDGED.items()):
                write_task_outputs(folder, task, date_id, judgments, scores)
                print(f"transeval: wrote judgments and scores of {task} to {folder}", file=sys.stderr)
                del JUDGED[task]
        return out

    save_results_aggregated.__transeval__ = True  # type: ignore[attr-defined]
    cls.save_results_aggregated = save_results_aggregated


def install_excepthook() -> None:
    """Print :class:`TransevalError` as one line instead of a traceback."""
    from transeval.harness.errors import TransevalError, one_line

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
