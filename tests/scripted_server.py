"""A real local HTTP server speaking the OpenAI chat-completions API, with scripted replies.

Models whose name starts with "judge" get judge replies: ``Rating: [[n]]`` for single grading, a JSON object for
aspect rubrics (LLM-Eval), ``[[A]]``/``[[B]]``/``[[C]]`` for pairwise prompts; ``judge_script`` (prompt -> reply)
overrides them. Any other model gets TCoT-style candidate replies. Failures (429, 500, timeout, garbage) can be
queued for judge calls.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def scripted_rating(prompt: str) -> int:
    """Deterministic rating 1..10 from the prompt text."""
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 10 + 1


class ScriptedOpenAI:
    """Start with :meth:`start`, stop with :meth:`stop`; inspect ``requests`` and ``chat_calls``."""

    def __init__(self, timeout_sleep: float = 3.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.chat_calls: Counter[str] = Counter()
        self.failures: deque[str] = deque()
        self.candidate_replies: deque[str] = deque()
        self.timeout_sleep = timeout_sleep
        self.judge_script: Callable[[str], str] | None = None
        self.served_model: str | None = None  # the model id the server says it served (default: the requested)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def judge_calls(self) -> int:
        return sum(n for m, n in self.chat_calls.items() if m.startswith("judge"))

    def judge_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if str(r.get("model", "")).startswith("judge")]

    def candidate_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if not str(r.get("model", "")).startswith("judge")]

    def _candidate_reply(self, messages: list[dict[str, str]]) -> str:
        with self._lock:
            if self.candidate_replies:
                return self.candidate_replies.popleft()
        user = messages[-1]["content"]
        tag = hashlib.sha256(user.encode()).hexdigest()[:6]
        return f"<EN> english query {tag} <RESPONSE> english answer {tag} <TH> คำตอบภาษาไทย {tag}"

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, str, float]:
        """(status, response body, delay before answering)."""
        if not path.endswith("/chat/completions"):
            return 404, json.dumps({"error": {"message": "not found"}}), 0.0
        model = str(body.get("model", ""))
        with self._lock:
            self.requests.append(body)
            self.chat_calls[model] += 1
            failure = self.failures.popleft() if model.startswith("judge") and self.failures else None
        messages = body.get("messages", [])
        if failure == "429":
            return 429, json.dumps({"error": {"message": "rate limited", "type": "rate_limit"}}), 0.0
        if failure == "500":
            return 500, json.dumps({"error": {"message": "server error"}}), 0.0
        if failure == "timeout":
            return 200, "{}", self.timeout_sleep
        if failure == "garbage":
            return 200, "this is not JSON", 0.0
        if model.startswith("translate"):
            text = messages[-1]["content"].split("\n\n", 1)[-1]
            content = f"แปล({text})"
        elif model.startswith("judge"):
            prompt = "\n".join(m["content"] for m in messages)
            top = re.search(r"【分值】\s*(\d+)", prompt)
            if self.judge_script is not None:
                content = self.judge_script(prompt)
            elif '"logical_coherence"' in prompt:  # LLM-Eval aspects: a JSON object
                r = scripted_rating(prompt)
                content = json.dumps({"explanation": "scripted", "accuracy": r % 4, "fluency": (r + 1) % 4,
                                      "informativeness": (r + 2) % 4, "logical_coherence": (r + 3) % 4,
                                      "harmlessness": 3})
            elif "[[C]]" in prompt:  # pairwise
                content = f"Compared. [[{'ABC'[scripted_rating(prompt) % 3]}]]"
            elif top:  # GAOKAO-Bench grading format, a score within the question's own points
                content = f"【判分理由】按标准答案评分。\n【总分】{scripted_rating(prompt) % (int(top.group(1)) + 1)}分"
            else:
                content = f"The answer is judged on its merits. Rating: [[{scripted_rating(prompt)}]]"
        else:
            content = self._candidate_reply(messages)
        payload = {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": self.served_model or model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
        return 200, json.dumps(payload, ensure_ascii=False), 0.0

    def start(self) -> ScriptedOpenAI:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": "judge-scripted", "object": "model"}]})
                self._send(200, data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, data, delay = owner.handle(self.path, body)
                if delay:
                    time.sleep(delay)
                try:
                    self._send(status, data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, data: str) -> None:
                raw = data.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
