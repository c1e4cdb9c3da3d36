"""``transeval demo`` without a model: the MT-bench run is staged, judged by the demo judge alone, then moved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from transeval.core.errors import TransevalError
from transeval.harness.demo import judge as demo_judge
from transeval.harness.demo import run as demo

DATE = "2026-01-01T00-00-00.000001"


def fake_lm_eval(calls: list[list[str]]) -> Callable[..., int]:
    """A stand-in for ``lm_eval`` that writes a results file and a samples file where it is told to."""

    def call(cmd: list[str], env: dict[str, str] | None = None) -> int:
        calls.append(cmd)
        task = cmd[cmd.index("--tasks") + 1]
        folder = Path(cmd[cmd.index("--output_path") + 1]) / "gemma"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = f"{DATE[:-1]}{len(calls)}"
        (folder / f"results_{stamp}.json").write_text(json.dumps({"results": {task: {}}}), encoding="utf-8")
        (folder / f"samples_{task}_{stamp}.jsonl").write_text('{"doc_id": 0}\n', encoding="utf-8")
        return 0

    return call


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(demo, "prepare_gemma", lambda cache: tmp_path / "model")
    monkeypatch.setattr(demo.subprocess, "call", fake_lm_eval(calls))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return calls


def test_without_key_the_demo_judge_sees_only_the_new_mtbench_run(
        demo_env: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    old = out / "gemma" / "results_2025-01-01T00-00-00.json"  # an earlier run, judged by a real judge
    old.parent.mkdir(parents=True)
    old.write_text("{}", encoding="utf-8")
    judged: list[list[str]] = []

    def fake_judge(root: Path, gguf: Path, log_path: Path | None = None) -> int:
        judged.append(sorted(p.name for p in root.rglob("*") if p.is_file()))
        next(root.rglob("results_*.json")).with_name(f"judgments_thai_mtbench_{DATE[:-1]}1.jsonl").write_text(
            "{}\n", encoding="utf-8")
        return 0

    monkeypatch.setattr(demo_judge, "has_server", lambda: True)
    monkeypatch.setattr(demo_judge, "demo_gguf", lambda cache: tmp_path / "m.gguf")
    monkeypatch.setattr(demo_judge, "judge_with_demo_judge", fake_judge)
    assert demo.main(["--out", str(out), "--limit", "2"]) == 0

    mtbench, knowledge = demo_env
    assert "--predict_only" in mtbench and "--predict_only" not in knowledge
    staging = Path(mtbench[mtbench.index("--output_path") + 1])
    assert staging.parent == out and staging.name.startswith(".demo-staging-") and not staging.exists()
    assert judged == [[f"results_{DATE[:-1]}1.json", f"samples_thai_mtbench_{DATE[:-1]}1.jsonl"]]
    assert sorted(p.name for p in (out / "gemma").iterdir()) == sorted([
        old.name, f"judgments_thai_mtbench_{DATE[:-1]}1.jsonl", f"results_{DATE[:-1]}1.json",
        f"results_{DATE[:-1]}2.json", f"samples_demo_knowledge_{DATE[:-1]}2.jsonl",
        f"samples_thai_mtbench_{DATE[:-1]}1.jsonl"])
    printed = capsys.readouterr().out
    assert f"board {out}" in printed and "to judge the answers" not in printed
    shown = next(line for line in printed.splitlines() if "thai_mtbench" in line and "--predict_only" in line)
    assert f"--output_path {out} " in shown and ".demo-staging-" not in shown  # the command a user can rerun


def test_without_key_or_server_the_answers_stay_unjudged(
        demo_env: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(demo_judge, "has_server", lambda: False)
    out = tmp_path / "runs"
    assert demo.main(["--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "gemma").iterdir())[2] == f"samples_demo_knowledge_{DATE[:-1]}2.jsonl"
    assert not list(out.glob(".demo-staging-*"))
    printed = capsys.readouterr().out
    assert "pip install xllamacpp" in printed and f"judge {out}" in printed


def test_a_failing_demo_judge_fails_the_demo_but_keeps_the_answers(
        demo_env: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(root: Path, gguf: Path, log_path: Path | None = None) -> int:
        raise TransevalError("the demo judge server exited with status 1: boom")

    monkeypatch.setattr(demo_judge, "has_server", lambda: True)
    monkeypatch.setattr(demo_judge, "demo_gguf", lambda cache: tmp_path / "m.gguf")
    monkeypatch.setattr(demo_judge, "judge_with_demo_judge", broken)
    out = tmp_path / "runs"
    assert demo.main(["--out", str(out)]) == 1
    assert (out / "gemma" / f"samples_thai_mtbench_{DATE[:-1]}1.jsonl").exists()
    captured = capsys.readouterr()
    assert "boom" in captured.err and f"judge {out}" in captured.out


def test_with_a_key_the_real_judge_runs_inside_lm_eval(
        demo_env: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    monkeypatch.setattr(demo_judge, "judge_with_demo_judge", lambda *a, **k: pytest.fail("demo judge used"))
    out = tmp_path / "runs"
    assert demo.main(["--out", str(out)]) == 0
    mtbench = demo_env[0]
    assert mtbench[mtbench.index("--output_path") + 1] == str(out) and "--predict_only" not in mtbench
    assert not list(out.glob(".demo-staging-*"))


def test_move_runs_never_overwrites(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "m").mkdir(parents=True)
    (src / "m" / "a.json").write_text("new", encoding="utf-8")
    (dst / "m").mkdir(parents=True)
    (dst / "m" / "a.json").write_text("old", encoding="utf-8")
    with pytest.raises(TransevalError, match="already exists"):
        demo.move_runs(src, dst)
    assert (dst / "m" / "a.json").read_text(encoding="utf-8") == "old"
    assert (src / "m" / "a.json").read_text(encoding="utf-8") == "new"
    (dst / "m" / "a.json").unlink()
    assert demo.move_runs(src, dst) == [dst / "m" / "a.json"]
    assert (dst / "m" / "a.json").read_text(encoding="utf-8") == "new" and not src.exists()
