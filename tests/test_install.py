"""The packaging path: both a built wheel and an editable install ship the lm-eval start-up hook."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_editable_install_has_hook():
    purelib = Path(sysconfig.get_paths()["purelib"])
    pth = purelib / "transeval_lm_eval.pth"
    assert pth.is_file(), "pip install -e . must install transeval_lm_eval.pth"
    assert pth.read_text().strip() == "import transeval.harness._autoload"


def test_wheel_installs_hook_and_tasks_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("transeval-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "transeval_lm_eval.pth" in names
    for expected in ["transeval/tasks/thai_mtbench/thai_mtbench.yaml", "transeval/tasks/_mtbench_template_yaml",
                     "transeval/tasks/thai_mtbench/data/question_th.jsonl",
                     "transeval/judges/rubrics/mtbench-th-single-v1.yaml",
                     "transeval/harness/_autoload.py", "transeval/dashboard/app.py"]:
        assert expected in names, expected

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    # Dependencies come from this test environment (appended after the fresh venv's own site-packages).
    purelib = "import sysconfig;print(sysconfig.get_paths()['purelib'])"
    fresh_site = Path(subprocess.check_output([str(py), "-c", purelib], text=True).strip())
    (fresh_site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import transeval.tasks, lm_eval.tasks as t; tm = t.TaskManager(); "
        "print(transeval.tasks.__file__); print('thai_mtbench' in tm.all_tasks, 'mtbench_en' in tm.all_tasks)"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    where, found = out.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(fresh_site)), "the wheel's copy must be used"
    assert found == "True True"
