"""Demo judge: llama.cpp's server (xllamacpp) vs ``transformers serve`` on the same demo answers, side by side.

Both serve the bundled gemma-3-270m on 127.0.0.1 and judge the same Thai MT-bench answers through the real
``transeval judge`` (same rubrics, prompts, parser and settings as ``make demo``). Reported per server: start-up
(launch until the model answers), seconds per judgment, and parse rate (judgments with a score / all).
The demo judge runs the Q4_K_M GGUF in llama.cpp's server (prebuilt ``xllamacpp`` wheel) with
:mod:`transeval.harness.demo.judge`'s rating grammar; ``transformers serve`` runs the converted float32 folder and
has no constrained output.

Usage (after ``make demo``, which leaves an MT-bench run under runs/)::

    .venv/bin/python bench/bench_demo_judge.py --runs runs --questions 5

Measured (2 CPU cores shared with other work, load about 2; 3 questions = 6 judgments; s/judgment is
``transeval judge``'s wall time over the judgments, its start-up included), 2026-12-04::

    | llama.cpp server via xllamacpp (GGUF Q4_K_M, grammar) | 1.5 | 6 | 2.8 | 6/6 (100%) |

``transformers serve`` did not start in that venv (exit 1: the ``transformers[serving]`` extras are not part of
``make install``); its row below is from the earlier run. Measured before with llama-cpp-python's server in place of
xllamacpp (same settings)::

    | server                                         | start-up s | s/judgment | parse rate   |
    | llama-cpp-python server (GGUF Q4_K_M, grammar) |        1.6 |        5.4 | 6/6 (100%)   |
    | transformers serve (float32, unconstrained)    |       11.6 |       25.2 | 0/6 (0%)     |

Installing: transformers serve needs only ``transformers[serving]`` (fastapi, wheels); llama-cpp-python has no
wheel on PyPI, and compiling it took 14.5 CPU-minutes here, once; xllamacpp installs from its prebuilt wheel in
seconds (3 s in a fresh ``make demo``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from transeval.core.jsonl import read_jsonl
from transeval.harness.demo.judge import (
    DEMO_JUDGE_MODEL,
    JudgeEndpoint,
    demo_gguf,
    free_port,
    has_server,
    judge_command,
    judge_env,
    running_judge,
)
from transeval.harness.demo.model import DEFAULT_CACHE, prepare_gemma
from transeval.harness.judging.store import find_runs

TASK = "thai_mtbench"


@dataclass(frozen=True)
class Row:
    server: str
    startup_s: float | None
    judgments: int
    scored: int
    judge_s: float | None
    note: str

    @property
    def s_per_judgment(self) -> float | None:
        return self.judge_s / self.judgments if self.judge_s is not None and self.judgments else None


def stage_run(runs: Path, questions: int, dest: Path) -> Path:
    """Copy the newest MT-bench run's results and first ``questions`` samples (no judgments) under ``dest``."""
    run = next((r for r in find_runs(runs) if TASK in r.tasks and r.samples_path(TASK).exists()), None)
    if run is None:
        raise SystemExit(f"no {TASK} run with samples under {runs}: run `make demo` first")
    folder = dest / run.folder.name
    folder.mkdir(parents=True)
    shutil.copy(run.results_path, folder / run.results_path.name)
    lines = [json.dumps(rec, ensure_ascii=False) for _, rec in read_jsonl(run.samples_path(TASK))][:questions]
    (folder / run.samples_path(TASK).name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def count_judgments(root: Path) -> tuple[int, int]:
    """(judge judgments, those with a score) under ``root``: the LLM's ``score`` metric, latest per sample and turn.

    The language-ID metrics stored beside them (no LLM involved, always scored) are left out.
    """
    latest: dict[tuple[str, str], bool] = {}
    for path in root.rglob(f"judgments_{TASK}_*.jsonl"):
        for _, rec in read_jsonl(path):
            if rec.get("metric", "score") != "score":
                continue
            latest[(str(rec.get("sample_id")), str(rec.get("turn")))] = rec.get("score") is not None
    return len(latest), sum(latest.values())


def judge(root: Path, endpoint: JudgeEndpoint, cache_dir: Path) -> float:
    """Run ``transeval judge`` against ``endpoint``; returns its wall time."""
    env = judge_env(endpoint)
    env["TRANSEVAL_CACHE_DIR"] = str(cache_dir)  # a fresh cache: every judgment is a real call
    start = time.perf_counter()
    subprocess.run(judge_command(root, endpoint.model), env=env, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


@contextlib.contextmanager
def transformers_serve(model_dir: Path, timeout_s: float = 600.0) -> Iterator[JudgeEndpoint]:
    """``transformers serve`` pinned to the converted model, requested under :data:`DEMO_JUDGE_MODEL`."""
    exe = Path(sys.executable).with_name("transformers")
    port = free_port()
    with tempfile.TemporaryDirectory() as cwd:
        (Path(cwd) / DEMO_JUDGE_MODEL).symlink_to(model_dir.resolve())  # the pinned name is a local path
        cmd = [str(exe), "serve", DEMO_JUDGE_MODEL, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
               "--dtype", "float32"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if proc.poll() is not None or time.perf_counter() - start > timeout_s:
                    raise RuntimeError(f"transformers serve did not start (status {proc.poll()})")
                time.sleep(0.25)
            yield JudgeEndpoint(f"http://127.0.0.1:{port}/v1", DEMO_JUDGE_MODEL, proc.pid,
                                time.perf_counter() - start)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def measure(name: str, server: contextlib.AbstractContextManager[JudgeEndpoint], runs: Path, questions: int,
            note: str) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        root = stage_run(runs, questions, Path(tmp) / "runs")
        try:
            with server as endpoint:
                judge_s = judge(root, endpoint, Path(tmp) / "cache")
                startup = endpoint.startup_s
        except (RuntimeError, OSError) as exc:
            return Row(name, None, 0, 0, None, f"failed: {exc}")
        n, scored = count_judgments(root)
        return Row(name, startup, n, scored, judge_s, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--questions", type=int, default=5, help="MT-bench questions (two judgments each)")
    parser.add_argument("--only", choices=("llama-cpp", "transformers"), help="llama-cpp: the demo judge")
    args = parser.parse_args()

    model_dir = prepare_gemma(DEFAULT_CACHE)
    rows = []
    if args.only in (None, "llama-cpp"):
        if has_server():
            rows.append(measure("llama.cpp server via xllamacpp (GGUF Q4_K_M, grammar)", running_judge(demo_gguf()),
                                args.runs, args.questions, "constrained: Rating: [[n]] grammar"))
        else:
            rows.append(Row("llama.cpp server via xllamacpp", None, 0, 0, None, "not installed: pip install xllamacpp"))
    if args.only in (None, "transformers"):
        rows.append(measure("transformers serve (float32)", transformers_serve(model_dir), args.runs,
                            args.questions, "unconstrained (response_format unsupported)"))

    def fmt(x: float | None, spec: str) -> str:
        return "n/a" if x is None else format(x, spec)

    print(f"\n{os.cpu_count()} CPU cores; {args.questions} questions, transeval judge end to end\n")
    print("| server | start-up s | judgments | s/judgment | parse rate | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        rate = f"{r.scored}/{r.judgments} ({r.scored / r.judgments:.0%})" if r.judgments else "n/a"
        print(f"| {r.server} | {fmt(r.startup_s, '.1f')} | {r.judgments} | {fmt(r.s_per_judgment, '.1f')} "
              f"| {rate} | {r.note} |")


if __name__ == "__main__":
    main()
