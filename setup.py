"""Build hooks: ship the lm-eval start-up hook (a top-level .pth file) in wheels and editable installs.

Everything else about the package lives in pyproject.toml. setuptools has no declarative way to put a
file at the root of site-packages, so:
  * `BuildPy` writes the .pth into build_lib, which lands at the root of a built wheel;
  * `EditableWheel` adds the same file to the editable wheel that `pip install -e .` builds
    (editable installs skip build_lib), and keeps setuptools' generic notices about its default editable
    mechanism (a meta path finder) off the screen: they warn that `package-data` may have no effect (the finder
    maps whole folders, so every data file is visible) and about project-root folders named like the package
    (there is no `transeval/` folder). A strict editable install (`--config-settings editable_mode=strict`)
    keeps its notices.
"""

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel
from setuptools.warnings import InformationOnly

try:
    from setuptools.command.editable_wheel import _TopLevelFinder
except ImportError:  # another setuptools: its notices are shown as they are
    _TopLevelFinder = None

PTH_NAME = "transeval_lm_eval.pth"
PTH_TEXT = (Path(__file__).parent / PTH_NAME).read_text(encoding="utf-8")


class BuildPy(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib, PTH_NAME)
        target.write_text(PTH_TEXT, encoding="utf-8")

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib, PTH_NAME))]


class _DropRecords(logging.Filter):
    def filter(self, record):
        return False


@contextmanager
def _quiet(enabled):
    """Silence the editable-strategy notices (a log record and an InformationOnly warning) when enabled."""
    if not enabled:
        yield
        return
    logger = logging.getLogger(editable_wheel.__module__)
    drop = _DropRecords()
    logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InformationOnly)
            yield
    finally:
        logger.removeFilter(drop)


class _WithPth:
    """Wraps setuptools' editable strategy so the editable wheel also carries our .pth."""

    def __init__(self, inner):
        self.inner = inner
        self.quiet = _TopLevelFinder is not None and isinstance(inner, _TopLevelFinder)

    def __enter__(self):
        with _quiet(self.quiet):
            self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        with _quiet(self.quiet):
            return self.inner.__exit__(*exc)

    def __call__(self, wheel, files, mapping):
        result = self.inner(wheel, files, mapping)
        wheel.writestr(PTH_NAME, PTH_TEXT)
        return result


class EditableWheel(editable_wheel):
    def _select_strategy(self, name, tag, build_lib):
        return _WithPth(super()._select_strategy(name, tag, build_lib))


setup(cmdclass={"build_py": BuildPy, "editable_wheel": EditableWheel})
