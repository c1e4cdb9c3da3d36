"""Judging speed: ``transeval judge`` vs FastChat 0.2.36 ``gen_judgment --parallel C``, side by side in one run.

Both judge the same 160 MT-bench turn-judgments (80 English questions x 2 turns, FastChat's own judge prompts,
GPT-4 reference answers for math/reasoning/coding) against one local OpenAI-compatible endpoint that answers
every judge request after ``L`` seconds (default 0.5). For each concurrency C the table shows the ideal
``N * L / C``, each tool's whole-command wall time (process start-up included) and, for transeval, a warm rerun
that makes 0 calls and must not import the ``openai`` SDK (checked with ``-X importtime`` in an extra, untimed
run). Goals (issue 19, transeval judging through the SDK): transeval <= 1.2 x ideal + 2 s at every C and <= 0.5 x
FastChat's time at C >= 16, warm rerun <= 1 s without the SDK. The load average is printed with each row. Every row
starts from an empty judge cache; the folder holds the unpacked language-ID model, as a user's does after the
first run (unpacking it once takes about 0.5 s more).

FastChat is installed by this script into its own venv (``bench/.venvs/fastchat``, from the package registry:
``fschat==0.2.36`` with ``openai<1`` and what its import needs); none of its code is copied here. The answers
are generated once through ``lm_eval --model local-chat-completions --predict_only`` (the endpoint answers
candidate requests at once) and written to FastChat's ``model_answer`` format from the same samples.

Usage::

    .venv/bin/python bench/judge_vs_fastchat.py [--latency 0.5] [--concurrency 1 4 16 64]

Measured here (2 cores, 2026-12-04, one run of this script, load average 0.1-0.3; transeval judging through openai
3.60 on its aiohttp transport, ``openai[aiohttp]``)::

    | C  | ideal N*L/C | goal 1.2*ideal+2 | transeval judge | FastChat gen_judgment | transeval / FastChat | warm   |
    | 1  |     80.00 s |          98.00 s |         88.16 s |               90.86 s |                0.97x | 0.55 s |
    | 4  |     20.00 s |          26.00 s |         22.69 s |               25.23 s |                0.90x | 0.54 s |
    | 16 |      5.00 s |           8.00 s |          6.27 s |                8.69 s |                0.72x | 0.54 s |
    | 64 |      1.25 s |           3.50 s |          2.47 s |                4.96 s |                0.50x | 0.51 s |

(160 calls each, both tools, every row; every warm rerun made 0 calls and imported no SDK. At C = 64, 160 calls
take at least ceil(160 / 64) x 0.5 = 1.5 s however they are scheduled. The 0.5 x FastChat goal at C = 16 cannot be
met by any client here: half of FastChat's 8.7 s is below the ideal 5 s. At C = 64 the command is the SDK's import
(about 0.40 s, with the collector paused, its objects then frozen), our own start-up and planning (0.13 s), the
endpoint check, about 1.75 s of requests (the SDK builds and reads each one: about 1.3 ms of CPU per request, paid
between the three waves) and 0.1 s of scoring and exit. The previous round (httpx transport, an fsync per cached
reply, language checks after the requests, collector walks over the SDK's objects) measured 3.06-3.57 s, 0.65-0.76x;
an earlier run of this round, before the freeze and the TLS-context skip for plain-http endpoints, 2.62 s (0.54x).
Two later runs of ``--concurrency 64 16`` on a busier machine (both tools slower): C = 64 0.39x and 0.45x, C = 16
0.67x twice.
The stdlib client the SDK replaced measured 2.32 s (issue 13).)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
FASTCHAT_VENV = ROOT / "bench" / ".venvs" / "fastchat"
FASTCHAT_SPEC = ["fschat==0.2.36", "openai<1", "torch==2.13.0", "transformers<4.50", "accelerate", "shortuuid",
                 "tiktoken", "anthropic<0.40"]
CANDIDATE = "bench-candidate"
JUDGE = "gpt-4"


class Endpoint:
    """An OpenAI-compatible endpoint on 127.0.0.1: judge replies after ``latency`` s, candidate replies at once.

    HTTP/1.1 keep-alive and a listen backlog of 1024, so a burst of C connections is accepted at once.
    """

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": JUDGE, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                model = str(body.get("model", ""))
                with owner._lock:
                    owner.calls[model] += 1
                text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
                if model == CANDIDATE:
                    content = f"An answer of {len(text)} characters: it discusses the question at some length."
                else:
                    time.sleep(owner.latency)
                    content = f"The answer is adequate. Rating: [[{len(text) % 10 + 1}]]"
                self._send({"id": "cmpl-bench", "object": "chat.completion", "created": int(time.time()),
                            "model": model, "choices": [{"index": 0, "finish_reason": "stop",
                                                         "message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})

            def _send(self, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def judge_calls(self) -> int:
        with self._lock:
            return sum(n for m, n in self.calls.items() if m != CANDIDATE)


def fastchat_python() -> Path:
    """FastChat's own venv (created on first use)."""
    python = FASTCHAT_VENV / "bin" / "python"
    if not (FASTCHAT_VENV / ".installed").exists():
        print(f"installing FastChat into {FASTCHAT_VENV} ({' '.join(FASTCHAT_SPEC)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(FASTCHAT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *FASTCHAT_SPEC], check=True)
        (FASTCHAT_VENV / ".installed").touch()
    return python


def make_answers(endpoint: Endpoint, work: Path, env: dict[str, str]) -> Path:
    """80 English MT-bench answers (2 turns) through lm-eval, saved unjudged; returns the runs folder."""
    runs = work / "runs"
    model_args = (f"model={CANDIDATE},base_url={endpoint.base_url}/chat/completions,num_concurrent=8,"
                  "tokenized_requests=False")
    subprocess.run([str(BIN / "lm_eval"), "--model", "local-chat-completions", "--model_args", model_args,
                    "--tasks", "mtbench_en", "--apply_chat_template", "--predict_only", "--output_path", str(runs)],
                   env=env, check=True, capture_output=True, text=True)
    return runs


def fastchat_data(runs: Path, work: Path) -> Path:
    """The same questions, references and answers in FastChat's ``data/<bench>/`` layout; returns its cwd."""
    from transeval.harness.judging.pipeline import run_conversations
    from transeval.harness.judging.store import find_runs

    (run,) = find_runs(runs)
    convs = run_conversations(run, "mtbench_en") or []
    bench = work / "fastchat" / "data" / "mtbench_bench"
    (bench / "model_answer").mkdir(parents=True)
    (bench / "reference_answer").mkdir()
    qs, refs, answers = [], [], []
    for conv in sorted(convs, key=lambda c: int(c.question.question_id)):
        q = conv.question
        qid = int(q.question_id)
        qs.append({"question_id": qid, "category": q.category, "turns": list(q.turns)})
        if q.reference:
            refs.append({"question_id": qid, "model_id": JUDGE, "choices": [{"index": 0, "turns": list(q.reference)}]})
        answers.append({"question_id": qid, "model_id": CANDIDATE,
                        "choices": [{"index": 0, "turns": [t.answer or "" for t in conv.turns]}]})
    if len(answers) != 80:
        raise SystemExit(f"expected 80 answered questions, got {len(answers)}")
    _write_jsonl(bench / "question.jsonl", qs)
    _write_jsonl(bench / "reference_answer" / f"{JUDGE}.jsonl", refs)
    _write_jsonl(bench / "model_answer" / f"{CANDIDATE}.jsonl", answers)
    return work / "fastchat"


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def run(cmd: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> tuple[float, str]:
    """Run a whole command; its wall time and stderr (exits on failure)."""
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if res.returncode:
        raise SystemExit(f"{cmd[0]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return elapsed, res.stderr


def timed(cmd: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> float:
    return run(cmd, env, cwd, stdin)[0]


def imports_sdk(cmd: list[str], env: dict[str, str], cwd: Path) -> bool:
    """Whether the command imports the ``openai`` SDK (``-X importtime``; an untimed extra run)."""
    _, err = run([str(BIN / "python"), "-X", "importtime", *cmd], env, cwd)
    return any(line.rsplit("|", 1)[-1].strip() == "openai" for line in err.splitlines()
               if line.startswith("import time:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--skip-fastchat", action="store_true", help="only transeval")
    args = parser.parse_args()

    fc_python = None if args.skip_fastchat else fastchat_python()
    endpoint = Endpoint(args.latency)
    work = Path(tempfile.mkdtemp(prefix="judge_bench_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRANSEVAL_"))}
    env.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=endpoint.base_url, OPENAI_API_BASE=endpoint.base_url,
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    try:
        runs = make_answers(endpoint, work, env)
        fc_cwd = fastchat_data(runs, work)
        rows = []
        seed = work / "seed"  # the unpacked language-ID model, as a user's cache folder holds it after one run
        subprocess.run([str(BIN / "python"), "-c",
                        "from transeval.harness.language.langid import _identifier; _identifier()"],
                       env={**env, "TRANSEVAL_CACHE_DIR": str(seed)}, check=True)
        for n, c in enumerate(args.concurrency):
            ideal = 160 * args.latency / c
            cache = work / f"cache{n}"  # a cold judge cache for every row
            shutil.copytree(seed, cache)
            ours_env = {**env, "TRANSEVAL_JUDGE_CONCURRENCY": str(c), "TRANSEVAL_CACHE_DIR": str(cache)}
            cmd = [str(BIN / "transeval"), "judge", str(runs), "--task", "mtbench_en", "--judge-model", JUDGE]
            before = endpoint.judge_calls()
            ours = timed(cmd, ours_env, work)
            ours_calls = endpoint.judge_calls() - before
            before = endpoint.judge_calls()
            warm = timed(cmd, ours_env, work)
            warm_calls = endpoint.judge_calls() - before
            warm_sdk = imports_sdk(cmd, ours_env, work)
            fc = fc_calls = None
            if fc_python is not None:
                shutil.rmtree(fc_cwd / "data" / "mtbench_bench" / "model_judgment", ignore_errors=True)
                script = "-m fastchat.llm_judge.gen_judgment".split()
                before = endpoint.judge_calls()
                fc = timed([str(fc_python), *script, "--bench-name", "mtbench_bench", "--judge-file",
                            str(fc_judge_prompts(work)), "--judge-model", JUDGE, "--model-list", CANDIDATE,
                            "--mode", "single", "--parallel", str(c)], env, fc_cwd, stdin="\n")
                fc_calls = endpoint.judge_calls() - before
            rows.append((c, ideal, ours, ours_calls, warm, warm_calls, warm_sdk, fc, fc_calls))
            print(f"C={c}: ideal {ideal:.2f} s, transeval {ours:.2f} s ({ours_calls} calls), warm {warm:.2f} s "
                  f"({warm_calls} calls, SDK imported: {warm_sdk}), FastChat "
                  f"{'-' if fc is None else f'{fc:.2f} s ({fc_calls} calls)'}; load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    finally:
        endpoint.server.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n160 MT-bench turn-judgments, endpoint latency L = {args.latency} s, whole commands (start-up included)\n")
    print("| C  | ideal N*L/C | goal 1.2*ideal+2 | transeval judge | calls | FastChat gen_judgment | calls "
          "| transeval / FastChat | warm rerun (calls) | SDK on rerun | goals met |")
    print("|----|-------------|------------------|-----------------|-------|-----------------------|-------"
          "|----------------------|--------------------|--------------|-----------|")
    for c, ideal, ours, n, warm, wn, sdk, fc, fn in rows:
        fc_s = "-" if fc is None else f"{fc:.2f} s"
        ratio = "-" if fc is None else f"{ours / fc:.2f}x"
        met = ours <= 1.2 * ideal + 2 and warm <= 1.0 and wn == 0 and not sdk
        if fc is not None and c >= 16:
            met = met and ours <= 0.5 * fc
        print(f"| {c:<2} | {ideal:>9.2f} s | {1.2 * ideal + 2:>14.2f} s | {ours:>13.2f} s | {n:>5} "
              f"| {fc_s:>21} | {fn if fn is not None else '-':>5} | {ratio:>20} | {warm:>9.2f} s ({wn}) "
              f"| {'yes' if sdk else 'no':>12} | {'yes' if met else 'NO':>9} |")


def fc_judge_prompts(work: Path) -> Path:
    """FastChat's ``judge_prompts.jsonl`` for single grading (its wheel ships no data folder), written from our
    rubric files, which carry FastChat's four MT-bench single-grading prompts verbatim (see their ``source``)."""
    from transeval.judges.rubric import load_rubric

    rows = []
    for fastchat_name in ("single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"):
        r = load_rubric(f"mtbench-{fastchat_name}")
        rows.append({"name": fastchat_name, "type": "single", "system_prompt": r.system,
                     "prompt_template": r.template, "description": r.description,
                     "category": "math" if "math" in fastchat_name else "general", "output_format": "[[rating]]"})
    path = work / "judge_prompts.jsonl"
    _write_jsonl(path, rows)
    return path


if __name__ == "__main__":
    main()
