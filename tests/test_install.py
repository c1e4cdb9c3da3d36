"""The packaging path: a built wheel and an editable install ship the lm-eval start-up hook and every data file,
and building or installing either prints no packaging warning."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# Folders installed as transeval.<name> whose non-code files are package data.
DATA_PACKAGES = ("tasks", "judges", "train")
WARNING_LINE = re.compile(r"warning|!!", re.IGNORECASE)


def _pip_env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE makes setuptools print "byte-compiling is disabled": a property of the shell
    # running the tests, not of our packaging.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _pip(python: Path | str, args: list[str], cwd: Path) -> str:
    """Run ``python -m pip -v ARGS``; return stdout and stderr together (pip shows build output only with -v)."""
    res = subprocess.run([str(python), "-m", "pip", "-v", *args], cwd=cwd, env=_pip_env(), capture_output=True,
                         text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    return out


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if WARNING_LINE.search(line)]


def _git_files(*folders: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *folders], cwd=ROOT, capture_output=True, check=True)
    # Files another engineer removed from the working tree but not yet from the index are not expected.
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


def _clean_copy(dest: Path) -> Path:
    """The checkout's files that git does not ignore, copied to DEST (no stale build/ folder to leak in)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True)
    for name in out.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel `pip wheel .` builds from a clean copy of this checkout, and pip's verbose output."""
    src = _clean_copy(tmp_path_factory.mktemp("src"))
    dist = tmp_path_factory.mktemp("dist")
    out = _pip(sys.executable, ["wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)], dist)
    return next(dist.glob("transeval-*.whl")), out


def test_editable_install_has_hook():
    purelib = Path(sysconfig.get_paths()["purelib"])
    pth = purelib / "transeval_lm_eval.pth"
    assert pth.is_file(), "pip install -e . must install transeval_lm_eval.pth"
    assert pth.read_text().strip() == "import transeval.harness._autoload"


def test_warning_pattern_catches_setuptools_warnings():
    sample = ("  _Warning: Package 'transeval.tasks.ceval' is absent from the `packages` configuration.\n  !!\n"
              "  SetuptoolsDeprecationWarning: `project.license` as a TOML table is deprecated\n"
              "  adding 'transeval/tasks/ceval/ceval.yaml'\n")
    assert len(_warnings(sample)) == 3


def test_wheel_build_is_quiet_and_ships_every_data_file(built_wheel: tuple[Path, str]):
    wheel, output = built_wheel
    assert "running build_py" in output, "pip -v must show the build backend's output"
    assert _warnings(output) == []
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "transeval_lm_eval.pth" in names
    tracked = _git_files(*DATA_PACKAGES)
    assert len(tracked) > 100
    missing = [f for f in tracked if f"transeval/{f}" not in names]
    assert missing == [], f"not in the wheel: {missing[:20]}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_editable_install_is_quiet_and_ships_hook(tmp_path: Path):
    # --prefix with --ignore-installed: installs beside, never over, this test environment's own install.
    prefix = tmp_path / "prefix"
    output = _pip(sys.executable, ["install", "--no-deps", "--no-build-isolation", "--ignore-installed",
                                   "--prefix", str(prefix), "-e", str(ROOT)], tmp_path)
    assert "running editable_wheel" in output
    assert _warnings(output) == []
    site = next(prefix.rglob("site-packages"))
    assert (site / "transeval_lm_eval.pth").read_text().strip() == "import transeval.harness._autoload"
    finder = next(site.glob("__editable__*finder.py")).read_text()
    assert repr(str(ROOT / "tasks")) in finder, "transeval.tasks must map to the checkout's tasks/ folder"


def test_wheel_installs_quietly_with_hook_and_tasks_in_fresh_venv(built_wheel: tuple[Path, str], tmp_path: Path):
    wheel, _ = built_wheel
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    output = _pip(py, ["install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    assert "Successfully installed transeval" in output
    assert _warnings(output) == []
    # Dependencies come from this test environment (appended after the fresh venv's own site-packages).
    purelib = "import sysconfig;print(sysconfig.get_paths()['purelib'])"
    fresh_site = Path(subprocess.check_output([str(py), "-c", purelib], text=True).strip())
    (fresh_site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import transeval.tasks, lm_eval.tasks as t; tm = t.TaskManager(); "
        "print(transeval.tasks.__file__); "
        "print(all(n in tm.all_tasks for n in ('thai_mtbench', 'mtbench_en', 'ceval_law', 'agieval_v1_math')))"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    where, found = out.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(fresh_site)), "the wheel's copy must be used"
    assert found == "True"
