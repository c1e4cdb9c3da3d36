"""A real local HTTP server speaking the OpenAI chat-completions API, with scripted replies and injected faults.

Models whose name starts with "judge" get judge replies: ``Rating: [[n]]`` for single grading, a JSON object for
aspect rubrics (LLM-Eval), ``[[A]]``/``[[B]]``/``[[C]]`` for pairwise prompts; ``judge_script`` (prompt -> reply)
overrides them. Any other model gets TCoT-style candidate replies.

Faults for judge calls, queued in ``failures`` (one is taken per judge HTTP request, retries included):

* transport: ``429`` (with ``Retry-After: retry_after``), ``500``, ``503``, ``401``, ``reset`` (the socket is
  closed without a response), ``timeout`` (the reply comes after ``timeout_sleep`` seconds), ``truncated`` (the
  body is cut short of its ``Content-Length``), ``garbage``/``nonjson`` (HTTP 200 with a body that is not JSON),
  ``empty_choices`` (a chat completion with an empty ``choices`` list);
* judge replies: ``two_ratings`` (``[[3]]`` then ``[[8]]``: the last is the judge's own), ``out_of_range``
  (``[[11]]``), ``echo_answer`` (the judge repeats the judged answer, e.g. its own "Rating: [[10]]", and gives
  no rating of its own), ``quote_answer`` (the judge quotes the answer's "Rating: [[10]]" and then rates 2);
* ``ok``: no fault for this request.

Modes: ``fail_all`` (a fault for every judge request; ``"401"`` also rejects ``GET /models``, as an endpoint
that rejects the key does), ``hold_after`` (judge requests after the first ``hold_after`` ones wait
until :meth:`release`, then are dropped without a response or answered: a judge slow enough to kill a client in
the middle of, or to make two clients overlap),
``judge_delay`` (seconds before every judge reply).

Batch API (``POST /files``, ``POST /batches``, ``GET /batches/{id}``, ``GET /files/{id}/content``): a batch
answers each line as a live request would (no fault), after ``batch_polls`` status checks; ``batch_fail`` names
custom ids that fail (in the error file), ``batch_final`` the end state (``completed``, or ``expired`` with only
the first half answered). ``batch_lines`` counts the requests batches answered.

Azure OpenAI: with ``azure = (api_key, api_version)`` set, requests under ``/openai/`` (``POST
/openai/deployments/<deployment>/chat/completions?api-version=...``, ``GET /openai/models?api-version=...``) must
carry that key in the ``api-key`` header (else 401) and that ``api-version`` query (else 404, as Azure answers an
unknown version); the deployment name must be the body's model. ``azure_seen`` records (method, path with query)
of each Azure request that passed, ``headers_seen`` the headers of every request.

Bookkeeping: ``requests`` (every chat request body), ``chat_calls`` (per model), ``answered`` (per judge prompt:
how many replies with a chat completion were sent), ``held`` (requests waiting at the gate).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TRANSPORT_FAULTS = ("429", "500", "503", "401", "reset", "timeout", "truncated", "garbage", "nonjson",
                    "empty_choices")
REPLY_FAULTS = ("two_ratings", "out_of_range", "echo_answer", "quote_answer")
#: Refusals of the request: ``400`` (the endpoint will not take it), ``post401`` (401 on POST while GET /models works).
REFUSAL_FAULTS = ("400", "post401")
FAULTS = ("ok", *TRANSPORT_FAULTS, *REPLY_FAULTS, *REFUSAL_FAULTS)


def scripted_rating(prompt: str) -> int:
    """Deterministic rating 1..10 from the prompt text."""
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 10 + 1


def prompt_of(body: dict[str, Any]) -> str:
    """The judge prompt of a request body (all messages joined)."""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def prompt_id(body: dict[str, Any]) -> str:
    """A short stable id of a request's prompt (to count calls per prompt)."""
    return hashlib.sha256(prompt_of(body).encode()).hexdigest()[:16]


def judged_answer(prompt: str) -> str:
    """The answer shown in a single-grading judge prompt (last one, for multi-turn prompts)."""
    found = re.findall(r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", prompt,
                       re.S)
    return found[-1] if found else ""


@dataclass
class Reply:
    """What the handler does with one request."""

    status: int
    body: str
    delay: float = 0.0
    action: str = "send"  # send | reset | truncated | hold
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedOpenAI:
    """Start with :meth:`start`, stop with :meth:`stop`; inspect ``requests``, ``chat_calls`` and ``answered``."""

    def __init__(self, timeout_sleep: float = 3.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.chat_calls: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.failures: deque[str] = deque()
        self.candidate_replies: deque[str] = deque()
        self.timeout_sleep = timeout_sleep
        self.retry_after = "0"
        self.judge_script: Callable[[str], str] | None = None
        #: ``(prompt, text) -> reply`` of the translator (models named ``translate*``); default ``แปล(<text>)``.
        self.translate_script: Callable[[str, str], str] | None = None
        self.served_model: str | None = None  # the model id the server says it served (default: the requested)
        self.fail_all: str | None = None
        self.hold_after: int | None = None
        self.judge_delay = 0.0
        self.held = 0
        self._answer_held = False
        self._admitted = 0
        self._gate = threading.Event()
        self._gate.set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls = 2
        self.batch_fail: set[str] = set()
        self.batch_final = "completed"
        self.batch_lines = 0
        self.azure: tuple[str, str] | None = None
        self.azure_seen: list[tuple[str, str]] = []
        self.headers_seen: list[dict[str, str]] = []
        #: (certificate chain, key) PEM files: serve HTTPS with them (set before :meth:`start`).
        self.tls: tuple[str, str] | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}/v1"

    def judge_calls(self) -> int:
        return sum(n for m, n in self.chat_calls.items() if m.startswith("judge"))

    def judge_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if str(r.get("model", "")).startswith("judge")]

    def candidate_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if not str(r.get("model", "")).startswith("judge")]

    def requested(self) -> Counter[str]:
        """Judge requests per prompt id (retries and dropped requests included)."""
        return Counter(prompt_id(r) for r in self.judge_requests())

    def release(self, answer: bool = False) -> None:
        """Open the ``hold_after`` gate; later requests are answered, held ones too if ``answer`` else dropped."""
        with self._lock:
            self.hold_after = None
            self._answer_held = answer
        self._gate.set()

    def _candidate_reply(self, messages: list[dict[str, str]]) -> str:
        with self._lock:
            if self.candidate_replies:
                return self.candidate_replies.popleft()
        user = messages[-1]["content"]
        tag = hashlib.sha256(user.encode()).hexdigest()[:6]
        return f"<EN> english query {tag} <RESPONSE> english answer {tag} <TH> คำตอบภาษาไทย {tag}"

    def _judge_content(self, prompt: str, fault: str | None) -> str:
        rating = scripted_rating(prompt)
        if fault == "two_ratings":
            return "At first sight this deserves [[3]].\n\nOn reflection, the answer is better than that.\n\n" \
                   "Rating: [[8]]"
        if fault == "out_of_range":
            return "An exceptional answer. Rating: [[11]]"
        if fault == "echo_answer":
            return judged_answer(prompt) or "Rating: [[10]]"
        if fault == "quote_answer":
            return 'The answer ends with "Rating: [[10]]" to game the grader; the content is poor.\n\nRating: [[2]]'
        top = re.search(r"【分值】\s*(\d+)", prompt)
        if self.judge_script is not None:
            return self.judge_script(prompt)
        if '"logical_coherence"' in prompt:  # LLM-Eval aspects: a JSON object
            return json.dumps({"explanation": "scripted", "accuracy": rating % 4, "fluency": (rating + 1) % 4,
                               "informativeness": (rating + 2) % 4, "logical_coherence": (rating + 3) % 4,
                               "harmlessness": 3})
        if "[[C]]" in prompt:  # pairwise
            return f"Compared. [[{'ABC'[rating % 3]}]]"
        if top:  # GAOKAO-Bench grading format, a score within the question's own points
            return f"【判分理由】按标准答案评分。\n【总分】{rating % (int(top.group(1)) + 1)}分"
        return f"The answer is judged on its merits. Rating: [[{rating}]]"

    def azure_check(self, method: str, target: str, headers: dict[str, str], body: dict[str, Any] | None
                    ) -> Reply | None:
        """An Azure request's refusal (wrong key, version or deployment), or None when it may go on."""
        parts = urllib.parse.urlsplit(target)
        if not parts.path.startswith("/openai/"):
            return None
        if self.azure is None:
            return Reply(404, json.dumps({"error": {"message": "not an Azure endpoint"}}))
        key, version = self.azure
        if headers.get("api-key") != key:
            return Reply(401, json.dumps({"error": {"code": "401", "message": "Access denied due to invalid "
                                                    "subscription key or wrong API endpoint."}}))
        if urllib.parse.parse_qs(parts.query).get("api-version") != [version]:
            return Reply(404, json.dumps({"error": {"code": "404", "message": "Resource not found"}}))
        found = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", parts.path)
        if found and (body or {}).get("model") not in (None, found.group(1)):
            return Reply(400, json.dumps({"error": {"message": "the model is not this deployment"}}))
        with self._lock:
            self.azure_seen.append((method, target))
        return None

    def upload(self, content_type: str, raw: bytes) -> Reply:
        """``POST /files`` (multipart: purpose ``batch``, file)."""
        boundary = content_type.split("boundary=", 1)[-1].encode()
        if b'name="purpose"\r\n\r\nbatch\r\n' not in raw:
            return Reply(400, json.dumps({"error": {"message": "purpose must be batch"}}))
        for part in raw.split(b"--" + boundary):
            head, _, data = part.partition(b"\r\n\r\n")
            if b'name="file"' in head:
                with self._lock:
                    file_id = f"file-{len(self.files) + 1}"
                    self.files[file_id] = data.rsplit(b"\r\n", 1)[0]
                return Reply(200, json.dumps({"id": file_id, "object": "file", "purpose": "batch"}))
        return Reply(400, json.dumps({"error": {"message": "no file part"}}))

    def create_batch(self, body: dict[str, Any], azure: bool = False) -> Reply:
        """``POST /batches``: answer every line now, reveal the results after ``batch_polls`` status checks.

        Lines and batch name ``/v1/chat/completions`` (``/chat/completions`` on Azure, where the model is the
        deployment)."""
        url = "/chat/completions" if azure else "/v1/chat/completions"
        raw = self.files.get(str(body.get("input_file_id")))
        if raw is None:
            return Reply(404, json.dumps({"error": {"message": "no such file"}}))
        if body.get("endpoint") != url or body.get("completion_window") != "24h":
            return Reply(400, json.dumps({"error": {"message": "endpoint or completion_window not supported"}}))
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        if any(line.get("method") != "POST" or line.get("url") != url for line in lines):
            return Reply(400, json.dumps({"error": {"message": f"each line needs method POST and url {url}"}}))
        out, err = [], []
        if self.batch_final == "expired":  # the unprocessed half comes back in the error file, as OpenAI does
            lines, dropped = lines[: len(lines) // 2], lines[len(lines) // 2:]
            err += [{"id": "req", "custom_id": line["custom_id"], "response": None,
                     "error": {"code": "batch_expired", "message": "This request could not be executed before the "
                               "completion window expired."}} for line in dropped]
        for line in lines:
            if line["custom_id"] in self.batch_fail:
                err.append({"id": "req", "custom_id": line["custom_id"], "response": None,
                            "error": {"code": "server_error", "message": "scripted batch failure"}})
                continue
            reply = self.respond(line["body"])
            out.append({"id": "req", "custom_id": line["custom_id"], "error": None,
                        "response": {"status_code": reply.status, "body": json.loads(reply.body)}})
        with self._lock:
            self.batch_lines += len(out)
            batch_id = f"batch_{len(self.batches) + 1}"
            out_id, err_id = f"{batch_id}-out", f"{batch_id}-err"
            self.files[out_id] = "".join(json.dumps(x) + "\n" for x in out).encode()
            self.files[err_id] = "".join(json.dumps(x) + "\n" for x in err).encode()
            self.batches[batch_id] = {"id": batch_id, "object": "batch", "status": "validating", "polls": 0,
                                      "input_file_id": body["input_file_id"], "_out": out_id, "_err": err_id,
                                      "request_counts": {"total": len(lines), "completed": len(out),
                                                         "failed": len(err)}}
            return Reply(200, json.dumps(self._batch_view(self.batches[batch_id])))

    def _batch_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in batch.items() if not k.startswith("_") and k != "polls"}
        if batch["status"] in ("completed", "expired"):
            view["output_file_id"], view["error_file_id"] = batch["_out"], batch["_err"]
        return view

    def get(self, path: str) -> Reply:
        """GET: a batch, a file's content, or the model list."""
        if "/batches/" in path:
            with self._lock:
                batch = self.batches.get(path.rsplit("/", 1)[-1])
                if batch is None:
                    return Reply(404, json.dumps({"error": {"message": "no such batch"}}))
                batch["polls"] += 1
                batch["status"] = self.batch_final if batch["polls"] >= self.batch_polls else "in_progress"
                return Reply(200, json.dumps(self._batch_view(batch)))
        if path.endswith("/content"):
            data = self.files.get(path.split("/files/", 1)[-1].rsplit("/", 1)[0])
            return Reply(404, "") if data is None else Reply(200, data.decode())
        return Reply(200, json.dumps({"object": "list", "data": [{"id": "judge-scripted", "object": "model"}]}))

    def handle(self, path: str, body: dict[str, Any]) -> Reply:
        """What to answer to one POST."""
        if path.endswith("/batches"):
            return self.create_batch(body, azure=path.startswith("/openai/"))
        if not path.endswith("/chat/completions"):
            return Reply(404, json.dumps({"error": {"message": "not found"}}))
        model = str(body.get("model", ""))
        is_judge = model.startswith("judge")
        with self._lock:
            self.requests.append(body)
            self.chat_calls[model] += 1
            fault = None
            if is_judge:
                fault = self.fail_all or (self.failures.popleft() if self.failures else None)
                if self.hold_after is not None and self._admitted >= self.hold_after:
                    self.held += 1
                    self._gate.clear()
                    return Reply(0, "", action="hold")
                self._admitted += 1
        return self.respond(body, fault)

    def respond(self, body: dict[str, Any], fault: str | None = None) -> Reply:
        """The reply to a recorded request (with ``fault`` injected)."""
        model = str(body.get("model", ""))
        is_judge = model.startswith("judge")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        messages = body.get("messages", [])
        error = {"429": (429, "rate limited"), "500": (500, "server error"), "503": (503, "overloaded"),
                 "401": (401, "invalid api key"), "post401": (401, "invalid api key"),
                 "400": (400, "this model does not accept this request")}
        if fault in error:
            status, message = error[fault]
            headers = {"Retry-After": self.retry_after} if fault == "429" else {}
            return Reply(status, json.dumps({"error": {"message": message, "type": "scripted"}}), headers=headers)
        if fault == "reset":
            return Reply(0, "", action="reset")
        if fault == "timeout":
            return Reply(200, "{}", self.timeout_sleep)
        if fault in ("garbage", "nonjson"):
            return Reply(200, "this is not JSON")
        if model.startswith("translate"):
            text = messages[-1]["content"].split("\n\n", 1)[-1]
            content = self.translate_script(prompt_of(body), text) if self.translate_script else f"แปล({text})"
        elif is_judge:
            content = self._judge_content(prompt_of(body), fault)
        else:
            content = self._candidate_reply(messages)
        choices = [] if fault == "empty_choices" else [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        payload = {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": self.served_model or model, "choices": choices,
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
        data = json.dumps(payload, ensure_ascii=False)
        if fault == "truncated":
            return Reply(200, data, action="truncated")
        if is_judge and choices:
            with self._lock:
                self.answered[prompt_id(body)] += 1
        return Reply(200, data, self.judge_delay if is_judge else 0.0)

    def start(self) -> ScriptedOpenAI:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _refused(self, method: str, body: dict[str, Any] | None = None) -> bool:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner._lock:
                    owner.headers_seen.append(headers)
                refusal = owner.azure_check(method, self.path, headers, body)
                if refusal is not None:
                    self._send(refusal.status, refusal.body)
                return refusal is not None

            def do_GET(self) -> None:
                if self._refused("GET"):
                    return
                if owner.fail_all == "401":
                    self._send(401, json.dumps({"error": {"message": "invalid api key"}}))
                    return
                reply = owner.get(urllib.parse.urlsplit(self.path).path)
                self._send(reply.status, reply.body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if urllib.parse.urlsplit(self.path).path.endswith("/files"):
                    if self._refused("POST"):
                        return
                    reply = owner.upload(self.headers.get("Content-Type", ""), raw)
                    self._send(reply.status, reply.body)
                    return
                body = json.loads(raw or b"{}")
                if self._refused("POST", body):
                    return
                reply = owner.handle(urllib.parse.urlsplit(self.path).path, body)
                if reply.action == "hold":
                    owner._gate.wait()
                    reply = owner.respond(body) if owner._answer_held else Reply(0, "", action="reset")
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    if reply.action == "reset":  # RST without a response
                        self.close_connection = True
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                    elif reply.action == "truncated":
                        raw = reply.body.encode()
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(raw)))
                        self.end_headers()
                        self.wfile.write(raw[: len(raw) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.close()
                    else:
                        self._send(reply.status, reply.body, reply.headers)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

            def _send(self, status: int, data: str, headers: dict[str, str] | None = None) -> None:
                raw = data.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # listen backlog: a burst of concurrent judge calls is never refused

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # injected resets and dead clients are expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        if self.tls:  # each accepted connection does the TLS handshake; a client that rejects it is dropped
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
