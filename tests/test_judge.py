import sqlite3
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import SECRET
from scripted_server import ScriptedOpenAI
from transeval.core.errors import JudgeConfigError
from transeval.core.records import Conversation, JudgeSpec, Question, TurnOutput
from transeval.harness.judging.pipeline import score_metrics
from transeval.harness.judging.store import merge_judgments
from transeval.judges.client import check_endpoint
from transeval.judges.config import JudgeSettings, resolve_settings
from transeval.judges.grade import jobs_for, judge


def judge_conversations(convs, settings):
    out = judge(convs, jobs_for(convs[0].question.judge), settings)
    scores = score_metrics(convs[0].question.task, settings.model, merge_judgments(out.judgments), convs, out.calls)
    return out.judgments, scores["score"]

SPEC = JudgeSpec(
    rubric="mtbench-th-single-v1", rubric_reference="mtbench-th-single-math-v1",
    rubric_multi_turn="mtbench-th-single-v1-multi-turn",
    rubric_multi_turn_reference="mtbench-th-single-math-v1-multi-turn", reference_categories=("math",),
)


def conv(qid: str, answers: list[str | None], category: str = "writing", reference=None) -> Conversation:
    q = Question("thai_mtbench", qid, category, ("คำถามหนึ่ง " + qid, "คำถามสอง " + qid), ("q1", "q2"),
                 reference, "Thai", "plain", SPEC)
    return Conversation(q, tuple(TurnOutput("p", a or "", a) for a in answers))


@pytest.fixture
def settings(server: ScriptedOpenAI, tmp_path: Path) -> JudgeSettings:
    return JudgeSettings(model="judge-scripted", base_url=server.base_url, api_key=SECRET, max_retries=3,
                         timeout_s=0.5, backoff_s=0.01, concurrency=4, cache_path=tmp_path / "cache.sqlite")


def test_judges_every_turn_and_rerun_hits_cache(server, settings):
    convs = [conv(str(i), [f"ตอบ {i}", f"ตอบสอง {i}"]) for i in range(5)]
    judgments, scores = judge_conversations(convs, settings)
    assert server.judge_calls() == 10
    assert all(j.score is not None and 1 <= j.score <= 10 for j in judgments)
    assert scores.n_scored == 10 and scores.judge_calls == 10 and scores.prompt_tokens == 110
    again, scores2 = judge_conversations(convs, settings)
    assert server.judge_calls() == 10, "a rerun must make zero judge calls"
    assert [j.score for j in again] == [j.score for j in judgments]
    assert all(j.cached for j in again) and scores2.judge_calls == 0


def test_turn2_prompt_shows_whole_conversation_and_reference(server, settings):
    c = conv("101", ["คำตอบแรก", "คำตอบที่สอง"], category="math", reference=("REF-ONE", "REF-TWO"))
    judgments, _ = judge_conversations([c], settings)
    by_turn = {j.turn: j for j in judgments}
    assert by_turn[0].rubric == "mtbench-th-single-math-v1"
    assert by_turn[1].rubric == "mtbench-th-single-math-v1-multi-turn"
    prompts = ["\n".join(m["content"] for m in r["messages"]) for r in server.judge_requests()]
    turn2 = next(p for p in prompts if "คำตอบที่สอง" in p)
    assert "คำตอบแรก" in turn2 and "REF-ONE" in turn2 and "REF-TWO" in turn2
    assert all(r["temperature"] == 0 for r in server.judge_requests())


def test_failures_are_retried_and_garbage_is_unscored(server, settings):
    server.failures.extend(["429", "500", "timeout", "garbage"])
    convs = [conv(str(i), [f"ตอบ {i}", f"ตอบสอง {i}"]) for i in range(3)]
    judgments, scores = judge_conversations(convs, settings)
    unscored = [j for j in judgments if j.score is None]
    assert len(unscored) == 1, [j.reason for j in unscored]
    assert unscored[0].reason.startswith("malformed judge response")
    assert server.judge_calls() == 6 + 4 - 1  # 3 retried failures + 1 garbage reply (not retried)
    assert scores.n_scored == 5 and scores.unscored_reasons
    # The garbage reply was not cached: a rerun asks again for that turn only.
    judge_conversations(convs, settings)
    assert server.judge_calls() == 10


def test_empty_answers_are_judged_and_counted_missing_ones_unscored(server, settings):
    """An empty answer is the model's failure: the judge sees it and rates it (FastChat does the same), the mean
    counts it and ``n_empty`` says how many there were; a turn with no answer at all stays unscored."""
    c = conv("7", ["   ", None])
    c = Conversation(c.question, (c.turns[0], TurnOutput("p", "<EN> q", None, "tcot: missing <TH>")))
    from transeval.harness.lmeval.tcot import parse_tcot

    nothing_after_tag = parse_tcot("<EN> q <RESPONSE> an answer <TH>  ").answer
    assert nothing_after_tag == ""  # a TCoT output with nothing after <TH>: an empty answer, judged
    tcot_empty = conv("8", [nothing_after_tag, "ตอบ"])
    judgments, scores = judge_conversations([c, tcot_empty], settings)
    assert server.judge_calls() == 3
    sent = [p for r in server.judge_requests() for p in [r["messages"][-1]["content"]]]
    assert sum("[The Start of Assistant's Answer]\n   \n[The End of Assistant's Answer]" in p for p in sent) == 1
    by = {(j.sample_id, j.turn): j for j in judgments}
    assert by[("7", 0)].score is not None and by[("8", 0)].score is not None
    assert by[("7", 1)].score is None and by[("7", 1)].reason == "tcot: missing <TH>"
    assert scores.n_scored == 3 and scores.n_total == 4 and scores.n_empty == 2
    assert scores.overall.mean == (by[("7", 0)].score + by[("8", 0)].score + by[("8", 1)].score) / 3


def test_unparsable_rating_is_none_not_zero(server, settings):
    server.candidate_replies.clear()
    c = conv("8", ["ตอบ", "ตอบ"])
    # Judge model name not starting with "judge" gets the candidate script (no rating at all).
    judgments, scores = judge_conversations([c], replace(settings, model="other-model"))
    assert all(j.score is None and j.reason == "no rating in judge reply" for j in judgments)
    assert scores.overall.mean is None


def test_exhausted_retries_give_reason(server, settings):
    server.failures.extend(["500"] * 4)
    judgments, _ = judge_conversations([conv("9", ["ตอบ"])], replace(settings, max_retries=3))
    assert judgments[0].score is None and "judge failed after 4 attempts" in judgments[0].reason


def test_secret_never_stored(server, settings):
    judge_conversations([conv("1", ["ตอบ", "ตอบ"])], settings)
    raw = Path(settings.cache_path).read_bytes()
    assert SECRET.encode() not in raw
    assert "sk-" not in repr(settings)
    rows = sqlite3.connect(settings.cache_path).execute("SELECT count(*) FROM replies").fetchone()
    assert rows[0] == 2


def test_missing_key_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(JudgeConfigError, match="OPENAI_API_KEY.*--predict_only"):
        resolve_settings()


def test_unreachable_endpoint_fails_after_retries(settings):
    dead = replace(settings, base_url="http://127.0.0.1:9/v1", max_retries=1)
    with pytest.raises(JudgeConfigError, match=r"unreachable after 2 attempts"):
        check_endpoint(dead)


def test_reachable_endpoint_passes(settings):
    check_endpoint(settings)


class _Recorder(BaseHTTPRequestHandler):
    """Answers everything with ``status`` (a redirect to ``location`` for 3xx) and records the headers it got."""

    status = 302
    location = ""
    seen: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer


def _serve(handler: type) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_redirects_are_never_followed_and_the_key_never_travels(settings):
    """A redirecting endpoint (http -> elsewhere) is an error naming the target; the target never sees the key."""
    target = type("Target", (_Recorder,), {"status": 200, "seen": []})
    elsewhere = _serve(target)
    redirect = type("Redirect", (_Recorder,), {
        "location": f"http://127.0.0.1:{elsewhere.server_address[1]}/v1/models", "seen": []})
    moved = _serve(redirect)
    try:
        bad = replace(settings, base_url=f"http://127.0.0.1:{moved.server_address[1]}/v1", max_retries=0)
        with pytest.raises(JudgeConfigError, match=r"redirects \(HTTP 302\) to http://127\.0\.0\.1:\d+/v1/models; "
                                                   "set OPENAI_BASE_URL"):
            check_endpoint(bad)
        judgments, _ = judge_conversations([conv("1", ["คำตอบ", "คำตอบสอง"])], bad)
        assert all(j.score is None and "redirects to" in (j.reason or "") for j in judgments)
        assert redirect.seen and not target.seen, "the redirect's target was never contacted"
    finally:
        moved.shutdown()
        elsewhere.shutdown()


# --------------------------------------------------------------------------------------------------------------
# A judge is model + endpoint (issue 18, item 7).


def test_endpoint_is_normalised_and_never_holds_credentials():
    from transeval.judges.config import endpoint_of, normalize_base_url

    def ep(url: str) -> str:
        return endpoint_of(JudgeSettings(model="gpt-4", base_url=url, api_key=SECRET))

    assert ep("http://LocalHost:80/v1/") == ep("http://localhost/v1") == "http://localhost/v1"
    assert ep("https://api.example.com:443/v1//") == "https://api.example.com/v1"
    assert ep("http://localhost:8000/v1") == "http://localhost:8000/v1"
    assert ep("http://user:s3cret@host:8000/v1/") == "http://host:8000/v1"
    assert endpoint_of(JudgeSettings(model="gpt-4", base_url=None, api_key=SECRET)) == "https://api.openai.com/v1"
    assert normalize_base_url("http://user:s3cret@host:8000/v1/") == "http://user:s3cret@host:8000/v1"
    with pytest.raises(JudgeConfigError, match=r"field '\$OPENAI_BASE_URL': not an http\(s\) URL: 'not-a-url'"):
        normalize_base_url("not-a-url")


def test_every_judgment_records_its_endpoint_and_a_trailing_slash_is_not_a_new_judge(server, settings, tmp_path):
    from transeval.harness.judging.pipeline import judge_task
    from transeval.harness.judging.store import read_judgments

    convs = [conv(str(i), [f"ตอบ {i}", f"ตอบสอง {i}"]) for i in range(3)]
    first = judge_task(convs, jobs_for(SPEC), settings, tmp_path / "run", "d")
    judged = [j for j in read_judgments(tmp_path / "run" / "judgments_thai_mtbench_d.jsonl") if j.metric == "score"]
    assert len(judged) == 6 and {j.endpoint for j in judged} == {server.base_url}
    assert first.scores["score"].endpoints == (server.base_url,)
    slashed = replace(settings, base_url=server.base_url + "/")
    again = judge_task(convs, jobs_for(SPEC), slashed, tmp_path / "run", "d")
    assert server.judge_calls() == 6, "http://host/v1/ is http://host/v1: the cache answers, nothing is paid twice"
    assert again.calls == 0 and again.scores["score"].endpoints == (server.base_url,)


def test_two_endpoints_are_never_one_unlabelled_number(server, settings, tmp_path, capsys):
    """Judge a run against endpoint A, then against B under the same model name: the mix is named."""
    from transeval.harness.judging.pipeline import judge_task
    from transeval.harness.judging.store import read_judgments, read_scores

    other = ScriptedOpenAI().start()
    try:
        convs = [conv(str(i), [f"ตอบ {i}", f"ตอบสอง {i}"]) for i in range(3)]
        judge_task(convs, jobs_for(SPEC), settings, tmp_path / "run", "d")
        other.failures.extend(["400", "400"])  # B cannot rate two turns: those keep A's scores
        b = replace(settings, base_url=other.base_url, concurrency=1)
        capsys.readouterr()
        out = judge_task(convs, jobs_for(SPEC), b, tmp_path / "run", "d")
        err = capsys.readouterr().err
    finally:
        other.stop()
    score = out.scores["score"]
    assert score.n_scored == 6 and score.endpoints == tuple(sorted((server.base_url, other.base_url)))
    judged = [j for j in read_judgments(tmp_path / "run" / "judgments_thai_mtbench_d.jsonl") if j.metric == "score"]
    assert sorted(j.endpoint or "" for j in judged).count(server.base_url) == 2
    assert f"mixed judges: {', '.join(score.endpoints)}" in err
    saved = read_scores(tmp_path / "run" / "scores_thai_mtbench_d.json")["score"]
    assert saved.endpoints == score.endpoints
    from transeval.harness.judging.store import merge_into_results

    results = tmp_path / "run" / "results_d.json"
    results.write_text('{"results": {"thai_mtbench": {"alias": "thai_mtbench"}}}', encoding="utf-8")
    merge_into_results(results, "thai_mtbench", out.scores)
    entry = __import__("json").loads(results.read_text(encoding="utf-8"))["results"]["thai_mtbench"]
    assert entry["judges"] == f"mixed judges: {', '.join(score.endpoints)}"


# --------------------------------------------------------------------------------------------------------------
# The OpenAI SDK as the judge client (issue 19): Azure OpenAI, and no SDK import when nothing is to be asked.

AZURE_VERSION = "2024-10-21"


def _predicted_run(root: Path) -> Path:
    """A predict-only run as lm-eval writes it: results JSON + samples of 2 thai_mtbench questions (4 turns)."""
    import json

    from transeval.core.records import TurnOutput
    from transeval.harness.lmeval.judged import load_docs
    from transeval.harness.lmeval.multiturn import encode_outputs

    meta = {"data_file": "thai_mtbench/data/question_th.jsonl", "turns_field": "turns", "language": "Thai",
            "judge": {"rubric": "mtbench-th-single-v1", "rubric_multi_turn": "mtbench-th-single-v1-multi-turn"}}
    folder = root / "runs" / "candidate"
    folder.mkdir(parents=True)
    lines = []
    for i, doc in enumerate(load_docs("thai_mtbench", meta)[:2]):
        turns = [TurnOutput("p", f"คำตอบ {i}", f"คำตอบ {i}"), TurnOutput("p", f"คำตอบสอง {i}", f"คำตอบสอง {i}")]
        lines.append(json.dumps({"doc_id": i, "doc": doc, "filtered_resps": [encode_outputs(turns)]},
                                ensure_ascii=False))
    date = "2026-01-01T00-00-00.000000"
    (folder / f"samples_thai_mtbench_{date}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / f"results_{date}.json").write_text(json.dumps({"results": {"thai_mtbench": {"alias": "thai_mtbench"}},
                                                             "configs": {"thai_mtbench": {}}}), encoding="utf-8")
    return root / "runs"


def _azure_env(server: ScriptedOpenAI, tmp_path: Path, key: str = SECRET) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRANSEVAL_", "AZURE_"))}
    env.update(AZURE_OPENAI_ENDPOINT=server.base_url.removesuffix("/v1"), AZURE_OPENAI_API_KEY=key,
               OPENAI_API_VERSION=AZURE_VERSION, TRANSEVAL_JUDGE_MODEL="judge-scripted",
               TRANSEVAL_CACHE_DIR=str(tmp_path / "cache"), TRANSEVAL_JUDGE_BACKOFF="0.01",
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


def test_judges_through_azure_openai(server, tmp_path, monkeypatch):
    """AZURE_OPENAI_ENDPOINT set: AzureOpenAI, the key in ``api-key``, ``api-version`` in the query, the judge
    model as the deployment; the judgments record the Azure endpoint."""
    from transeval.harness.judging.pipeline import judge_task
    from transeval.harness.judging.store import read_judgments

    server.azure = ("azure-" + SECRET, AZURE_VERSION)
    for name, value in _azure_env(server, tmp_path, key="azure-" + SECRET).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = replace(resolve_settings(), cache_path=tmp_path / "cache.sqlite", concurrency=2)
    endpoint = server.base_url.removesuffix("/v1")
    assert settings.base_url == endpoint and settings.azure_api_version == AZURE_VERSION
    check_endpoint(settings)
    convs = [conv(str(i), [f"ตอบ {i}", f"ตอบสอง {i}"]) for i in range(2)]
    out = judge_task(convs, jobs_for(SPEC), settings, tmp_path / "run", "d")
    judged = [j for j in read_judgments(tmp_path / "run" / "judgments_thai_mtbench_d.jsonl") if j.metric == "score"]
    assert len(judged) == 4 and all(j.score is not None for j in judged)
    assert {j.endpoint for j in judged} == {endpoint} and out.scores["score"].endpoints == (endpoint,)
    query = f"api-version={AZURE_VERSION}"
    assert ("GET", f"/openai/models?{query}") in server.azure_seen
    posts = [t for m, t in server.azure_seen if m == "POST"]
    assert posts == [f"/openai/deployments/judge-scripted/chat/completions?{query}"] * 4
    assert all(h.get("api-key") == "azure-" + SECRET and "authorization" not in h for h in server.headers_seen)

    # A wrong key is the endpoint's 401 (one line naming the Azure variable); no version is refused before any call.
    wrong = replace(settings, api_key="wrong-key", cache_path=tmp_path / "cold.sqlite")
    with pytest.raises(JudgeConfigError, match=r"rejected the API key \(HTTP 401\); check AZURE_OPENAI_API_KEY"):
        check_endpoint(wrong)
    again = judge_task(convs, jobs_for(SPEC), wrong, tmp_path / "run2", "d")
    assert again.calls == 4 and all(j.error_kind == "auth" for j in again.judgments if j.metric == "score")
    monkeypatch.delenv("OPENAI_API_VERSION")
    with pytest.raises(JudgeConfigError, match=r"field '\$OPENAI_API_VERSION': must be set with "
                                               "AZURE_OPENAI_ENDPOINT"):
        resolve_settings()


def test_cli_judges_through_azure_and_an_all_cached_rerun_never_imports_the_sdk(server, tmp_path):
    """`transeval judge` on Azure in a fresh process, then the same command again: 0 calls, no ``openai``."""
    import subprocess
    import sys

    server.azure = (SECRET, AZURE_VERSION)
    runs = _predicted_run(tmp_path)
    env = _azure_env(server, tmp_path)
    probe = ("import sys; from transeval.harness.cli import main; rc = main(['judge', sys.argv[1]]); "
             "print('SDK:', [m for m in ('openai', 'httpx2', 'httpx') if m in sys.modules]); "
             "sys.exit(rc)")
    first = subprocess.run([sys.executable, "-c", probe, str(runs)], env=env, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "SDK: ['openai', 'httpx2']" in first.stdout, "the cold run judged through the SDK"
    assert server.judge_calls() == 4 and len([m for m, _ in server.azure_seen if m == "POST"]) == 4
    second = subprocess.run([sys.executable, "-c", probe, str(runs)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "SDK: []" in second.stdout, second.stdout
    assert "0 API calls" in second.stderr and server.judge_calls() == 4
    assert SECRET not in first.stderr + second.stderr + first.stdout


def test_proxy_and_organization_headers_come_from_the_environment(server, settings, monkeypatch):
    """``HTTP_PROXY`` routes the judge (endpoint check included) through the proxy, ``NO_PROXY`` bypasses it;
    ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` are sent as the SDK sends them."""
    proxy = server.base_url.removesuffix("/v1")  # the scripted server answers absolute-URI (proxy) requests too
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-scripted")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-scripted")
    far = replace(settings, base_url="http://judge.example.invalid/v1", max_retries=0)
    check_endpoint(far)
    judgments, _ = judge_conversations([conv("1", ["คำตอบ", "คำตอบสอง"])], far)
    assert all(j.score is not None for j in judgments) and server.judge_calls() == 2
    assert [h["host"] for h in server.headers_seen] == ["judge.example.invalid"] * 3, "all through the proxy"
    assert all(h.get("openai-organization") == "org-scripted" and h.get("openai-project") == "proj-scripted"
               for h in server.headers_seen)
    monkeypatch.setenv("NO_PROXY", "judge.example.invalid")
    with pytest.raises(JudgeConfigError, match="judge endpoint http://judge.example.invalid/v1 unreachable"):
        check_endpoint(far)
    assert len(server.headers_seen) == 3, "NO_PROXY: the proxy was not asked"


def test_a_tls_endpoint_is_trusted_through_ssl_cert_file_only(tmp_path, monkeypatch):
    """CA bundles come from the environment (``SSL_CERT_FILE``), as the SDK's HTTP stack reads them: an endpoint
    whose certificate a private CA signed is refused with the system bundle (one line, no judging) and judged
    with that CA's bundle. Certificates: tests/data/tls (see its SOURCE.md)."""
    tls = Path(__file__).parent / "data" / "tls"
    server = ScriptedOpenAI()
    server.tls = (str(tls / "server.pem"), str(tls / "server.key"))
    server.start()
    try:
        https = JudgeSettings(model="judge-scripted", base_url=server.base_url, api_key=SECRET, max_retries=0,
                              timeout_s=5.0, backoff_s=0.01, concurrency=2, cache_path=tmp_path / "cache.sqlite")
        assert https.base_url.startswith("https://127.0.0.1:")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        with pytest.raises(JudgeConfigError, match="unreachable after 1 attempts .*(CERTIFICATE_VERIFY_FAILED|certif)"):
            check_endpoint(https)
        assert server.judge_calls() == 0
        monkeypatch.setenv("SSL_CERT_FILE", str(tls / "ca.pem"))
        check_endpoint(https)
        judgments, scores = judge_conversations([conv("1", ["คำตอบ", "คำตอบสอง"])], https)
        assert all(j.score is not None for j in judgments) and server.judge_calls() == 2
    finally:
        server.stop()


def test_a_plain_http_endpoint_loads_no_ca_bundle_and_trusts_no_certificate(monkeypatch):
    """A local http:// judge without a proxy makes no TLS connection: its context trusts nothing (fails closed);
    https, or any proxy variable, gets the CA bundle's context."""
    from transeval.judges.client import _PROXY_VARIABLES, _tls_for

    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    plain = _tls_for("http://127.0.0.1:8000/v1")
    assert plain.cert_store_stats()["x509_ca"] == 0 and plain.check_hostname
    assert _tls_for("https://api.example.com/v1").cert_store_stats()["x509_ca"] > 0
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example:3128")
    assert _tls_for("http://127.0.0.1:8000/v1").cert_store_stats()["x509_ca"] > 0


def test_meanwhile_starts_once_the_first_requests_are_out_and_once_only(server, settings):
    """CPU work handed to the client (the language checks) starts after the first ``concurrency`` requests were
    sent, not before them; with every request cached it starts anyway, once."""
    from transeval.judges.cache import JudgeCache
    from transeval.judges.client import JudgeClient, JudgeRequest

    requests = [JudgeRequest(f"key-{i}", [{"role": "user", "content": f"rate answer {i}"}]) for i in range(6)]
    for cached in (False, True):
        started: list[int] = []
        client = JudgeClient(settings, JudgeCache(settings.cache_path))
        results = client.run(requests, meanwhile=lambda c=client, s=started: s.append(c.calls))
        assert all(r.text for r in results)
        assert started == ([settings.concurrency] if not cached else [0]), (cached, started)


def test_commands_that_never_judge_do_not_load_the_judge_client():
    """The console script loads the judge client only for commands that may call the judge (start-up of
    ``transeval tasks-dir`` and ``board`` stays light); ``judge`` asks it to freeze the SDK once imported."""
    import subprocess
    import sys

    probe = ("import sys; from transeval.harness.cli import console_main; sys.argv = ['transeval', sys.argv[1]]; "
             "console_main(); print('client loaded:', 'transeval.judges.client' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe, "tasks-dir"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "client loaded: False" in out.stderr, out.stderr[-500:]
