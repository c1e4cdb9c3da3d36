"""``transeval judge --batch``: the OpenAI Batch API against a local server with ``/files`` and ``/batches``.

One predict-only thai_mtbench run (3 questions x 2 turns = 6 judge requests) is judged through a batch: the
same judgments as live judging, 0 live calls, resumable by the ledger (never submitted twice), failed requests
unscored with the batch's reason and resubmitted alone by the next round.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SECRET, run_cli
from scripted_server import ScriptedOpenAI
from transeval.harness.cli import BATCH_PENDING, main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def predicted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A predict-only run of thai_mtbench (3 questions) made by lm_eval against the scripted server."""
    root = tmp_path_factory.mktemp("batch-run")
    srv = ScriptedOpenAI().start()
    model_args = f"model=candidate,base_url={srv.base_url}/chat/completions,num_concurrent=1,tokenized_requests=False"
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    res = run_cli(["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks",
                   "thai_mtbench", "--apply_chat_template", "--predict_only", "--output_path", str(root / "runs"),
                   "--limit", "3"], env, root)
    srv.stop()
    assert res.returncode == 0, res.stderr[-3000:]
    yield root / "runs"


@pytest.fixture
def runs(predicted: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(predicted, tmp_path / "runs"))


@pytest.fixture
def env(server: ScriptedOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The judge environment (in this process); returns the cache folder."""
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRANSEVAL_JUDGE_MODEL", "TRANSEVAL_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TRANSEVAL_JUDGE_MODEL", "judge-scripted")
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSEVAL_JUDGE_BACKOFF", "0.01")
    return tmp_path / "cache"


def judge(runs: Path, *extra: str) -> int:
    return main(["judge", str(runs), "--poll-interval", "0.01", *extra])


def judgments(runs: Path) -> dict[tuple[str, int], dict]:
    (path,) = runs.rglob("judgments_*.jsonl")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    return {(r["sample_id"], r["turn"]): r for r in rows if r["metric"] == "score"}


def test_batch_judges_like_live_with_no_live_call(server, env, runs, tmp_path, monkeypatch):
    assert judge(runs, "--batch") == 0
    assert server.judge_calls() == 0, "no live chat call"
    assert len(server.batches) == 1 and server.batch_lines == 6
    batched = judgments(runs)
    assert len(batched) == 6 and all(j["score"] is not None for j in batched.values())
    ledger = json.loads((env / "batches.json").read_text(encoding="utf-8"))
    assert [(e["id"], len(e["keys"]), e["collected"], e["status"]) for e in ledger] == [("batch_1", 6, True,
                                                                                          "completed")]
    uploaded = b"".join(server.files.values()).decode()
    assert SECRET not in uploaded and SECRET not in (env / "batches.json").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in server.files["file-1"].decode().splitlines()]
    assert len(lines) == 6 and all("response_format" not in x["body"] for x in lines), "free text: no schema"
    # the same answers judged live (fresh cache) get the same scores: same requests, same parser
    live_runs = Path(shutil.copytree(runs, tmp_path / "live"))
    for p in live_runs.rglob("judgments_*"):
        p.unlink()
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "live-cache"))
    assert judge(live_runs) == 0
    assert server.judge_calls() == 6
    assert {k: j["score"] for k, j in judgments(live_runs).items()} == {k: j["score"] for k, j in batched.items()}
    # a rerun with --batch finds everything in the cache: no batch, no call
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(env))
    assert judge(runs, "--batch") == 0
    assert len(server.batches) == 1 and server.judge_calls() == 6


def test_no_wait_resumes_the_same_batch_never_submits_twice(server, env, runs, capsys):
    server.batch_polls = 3
    assert judge(runs, "--batch", "--no-wait") == BATCH_PENDING
    assert "batch_1 still running" in capsys.readouterr().err
    assert not list(runs.rglob("judgments_*")), "nothing judged while the batch runs"
    assert judge(runs, "--batch", "--no-wait") == BATCH_PENDING
    assert len(server.batches) == 1, "the pending batch is polled, not submitted again"
    assert judge(runs, "--batch", "--no-wait") == 0
    assert len(server.batches) == 1 and server.judge_calls() == 0
    assert all(j["score"] is not None for j in judgments(runs).values())


def test_failed_batch_requests_are_unscored_then_resubmitted_alone(server, env, runs, capsys):
    first_key: list[str] = []

    def fail_first(content: bytes) -> None:
        first_key.append(json.loads(content.decode().splitlines()[0])["custom_id"])

    # the first request of the first batch fails (its key is the first line of the uploaded file)
    orig = server.create_batch

    def create(body: dict, **kw: bool) -> object:
        fail_first(server.files[body["input_file_id"]])
        server.batch_fail = {first_key[0]}
        return orig(body, **kw)

    server.create_batch = create  # type: ignore[method-assign]
    assert judge(runs, "--batch") == 2, "1 of 6 judgments could not be asked: over the 5% budget"
    err = capsys.readouterr().err
    assert "transeval: error: the judge could not be asked for 1 of 6 judgments" in err
    failed = [j for j in judgments(runs).values() if j["score"] is None]
    assert len(failed) == 1 and failed[0]["error_kind"] == "transport"
    assert failed[0]["reason"].startswith("batch request failed") and "scripted batch failure" in failed[0]["reason"]
    server.create_batch = orig  # type: ignore[method-assign]
    server.batch_fail = set()
    assert judge(runs, "--batch") == 0
    assert len(server.batches) == 2 and server.batches["batch_2"]["request_counts"]["total"] == 1
    assert all(j["score"] is not None for j in judgments(runs).values())
    assert server.judge_calls() == 0


def test_expired_batch_keeps_what_came_back(server, env, runs):
    server.batch_final = "expired"  # only the first half was answered before the 24 h window closed
    assert judge(runs, "--batch", "--max-unscored-fraction", "1") == 0
    scored = [j for j in judgments(runs).values() if j["score"] is not None]
    unscored = [j for j in judgments(runs).values() if j["score"] is None]
    assert len(scored) == 3 and len(unscored) == 3
    assert all("batch_expired" not in j["reason"] or "could not be executed" in j["reason"] for j in unscored)
    assert all(j["reason"].startswith("batch request failed") and j["error_kind"] == "transport" for j in unscored)


def test_a_deleted_batch_is_not_polled_forever(server, env, runs, capsys):
    server.batch_polls = 5
    assert judge(runs, "--batch", "--no-wait") == BATCH_PENDING
    server.batches.clear()  # deleted on the provider's side (or another project's key)
    assert judge(runs, "--batch", "--no-wait", "--max-unscored-fraction", "1") == 0
    ledger = json.loads((env / "batches.json").read_text(encoding="utf-8"))
    assert ledger[0]["collected"] is True and ledger[0]["status"] == "missing"
    assert all(j["score"] is None and "ended missing" in j["reason"] for j in judgments(runs).values())
    assert judge(runs, "--batch") == 0, "the next round submits a new batch"
    assert all(j["score"] is not None for j in judgments(runs).values())


def test_batch_through_azure_openai(server, env, runs, monkeypatch):
    """Azure OpenAI: files and batches under ``/openai/`` with ``api-key`` and ``api-version``, lines for
    ``/chat/completions`` with the deployment as model; the same judgments, no live call."""
    version = "2024-10-21"
    server.azure = (SECRET, version)
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.base_url.removesuffix("/v1"))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_API_VERSION", version)
    assert judge(runs, "--batch") == 0
    assert server.judge_calls() == 0 and len(server.batches) == 1 and server.batch_lines == 6
    assert all(j["score"] is not None for j in judgments(runs).values())
    lines = [json.loads(x) for x in server.files["file-1"].decode().splitlines()]
    assert {(x["url"], x["body"]["model"]) for x in lines} == {("/chat/completions", "judge-scripted")}
    paths = {t.split("?")[0] for _, t in server.azure_seen}
    assert {"/openai/files", "/openai/batches", "/openai/batches/batch_1"} <= paths
    assert all(t.endswith(f"?api-version={version}") for _, t in server.azure_seen)
    assert all(h.get("api-key") == SECRET and "authorization" not in h for h in server.headers_seen)
