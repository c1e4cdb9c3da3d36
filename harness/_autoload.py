"""Interpreter start-up hook that plugs transeval into lm-eval 0.4.13 (loaded by ``transeval_lm_eval.pth``).

lm-eval 0.4.13 has no task or model plugins, so bare ``lm_eval --tasks thai_mtbench`` can only find our
tasks if something adds our task folder to lm-eval's include path. This module does the least possible
at start-up: it puts a finder on ``sys.meta_path`` that notices when lm-eval's own modules are imported
and then applies the patches in :mod:`transeval.harness.lmeval.patches`. Programs that never import
lm-eval pay only for this file (stdlib only).

Set ``TRANSEVAL_NO_LM_EVAL_HOOK=1`` to turn the hook off.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would cost ~5 ms at every start-up
if TYPE_CHECKING:  # keep start-up cheap: no typing machinery at run time
    from types import ModuleType
    from typing import Any

#: lm-eval module -> name of the patch function in transeval.harness.lmeval.patches.
WATCHED = {
    "lm_eval.tasks.manager": "patch_task_manager",
    "lm_eval.evaluator": "patch_evaluator",
    "lm_eval.loggers.evaluation_tracker": "patch_evaluation_tracker",
    "lm_eval.config.evaluate_config": "patch_evaluator_config",
    "lm_eval._cli.run": "patch_cli_run",
}
OPT_OUT_ENV = "TRANSEVAL_NO_LM_EVAL_HOOK"


class _PatchingLoader:
    """Delegates to the real loader, then patches the freshly executed module."""

    def __init__(self, inner: Any, patch_name: str) -> None:
        self._inner = inner
        self._patch_name = patch_name

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        from transeval.harness.lmeval import patches as lm_eval_patches

        getattr(lm_eval_patches, self._patch_name)(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class LmEvalFinder:
    """A meta-path finder that only reacts to the few lm-eval modules we patch."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        patch_name = WATCHED.get(fullname)
        if patch_name is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, patch_name)  # type: ignore[assignment]
                return spec
        return None


def install() -> None:
    """Install the finder once (idempotent); a no-op when the opt-out variable is set."""
    if os.environ.get(OPT_OUT_ENV, "").strip() not in ("", "0"):
        return
    if any(isinstance(f, LmEvalFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, LmEvalFinder())


install()
