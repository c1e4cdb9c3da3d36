"""Build hooks: ship the lm-eval start-up hook (a top-level .pth file) in wheels and editable installs.

Everything else about the package lives in pyproject.toml. setuptools has no declarative way to put a
file at the root of site-packages, so:
  * `BuildPy` writes the .pth into build_lib, which lands at the root of a built wheel;
  * `EditableWheel` adds the same file to the editable wheel that `pip install -e .` builds
    (editable installs skip build_lib).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "transeval_lm_eval.pth"
PTH_TEXT = (Path(__file__).parent / PTH_NAME).read_text(encoding="utf-8")


class BuildPy(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib, PTH_NAME)
        target.write_text(PTH_TEXT, encoding="utf-8")

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib, PTH_NAME))]


class _WithPth:
    """Wraps setuptools' editable strategy so the editable wheel also carries our .pth."""

    def __init__(self, inner):
        self.inner = inner

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)

    def __call__(self, wheel, files, mapping):
        result = self.inner(wheel, files, mapping)
        wheel.writestr(PTH_NAME, PTH_TEXT)
        return result


class EditableWheel(editable_wheel):
    def _select_strategy(self, name, tag, build_lib):
        return _WithPth(super()._select_strategy(name, tag, build_lib))


setup(cmdclass={"build_py": BuildPy, "editable_wheel": EditableWheel})
