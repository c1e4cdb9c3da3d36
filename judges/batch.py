"""Judging through OpenAI's Batch API: the same requests as live judging, at half the price, in hours not minutes.

``transeval judge RUNS --batch`` plans every judge request of every run (exactly the requests a live run would
send, so the cache keys are the same), and for those the cache cannot answer:

1. writes them as a JSONL of ``POST /v1/chat/completions`` requests (``custom_id`` = the cache key),
2. uploads it (``POST /files``, purpose ``batch``) and creates a batch (``POST /batches``, 24 h window),
3. records the batch in ``batches.json`` beside the judge cache *before* waiting (so a killed or ``--no-wait``
   command is resumed by running it again: a recorded batch still pending for these keys is polled, never
   submitted twice),
4. polls ``GET /batches/{id}`` until it ends, downloads the output (and error) file, and puts every answered
   request into the judge cache.

The judging itself then runs as usual from the cache (same parser, same judgments files, 0 live calls);
requests the batch did not answer stay unscored with the batch's reason (``transport``, so a later round may
fill them) and a rerun with ``--batch`` submits a new batch for those only. Standard library HTTP only.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.harness.errors import JudgeConfigError, TransevalError
from transeval.judges.cache import CachedReply, JudgeCache
from transeval.judges.client import OPENAI_BASE_URL, JudgeRequest, public_url, request_body
from transeval.judges.config import JudgeSettings

#: Batch states after which nothing more will come.
FINAL = ("completed", "failed", "expired", "cancelled")


@dataclass(frozen=True)
class BatchOutcome:
    """What one ``--batch`` round did.

    Attributes:
        submitted: Batch ids created in this round.
        collected: Batch ids whose results were read in this round.
        answered: Requests put into the cache from batch output.
        failed: Request key -> why the batch did not answer it.
        pending: Batch ids still running (``--no-wait``, or the wait ran out).
        needed: Requests the cache could not answer before this round.
    """

    submitted: tuple[str, ...]
    collected: tuple[str, ...]
    answered: int
    failed: dict[str, str]
    pending: tuple[str, ...]
    needed: int


class BatchAPI:
    """The few Files and Batches endpoints we use, over urllib (the key only in the Authorization header)."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.base = (settings.base_url or OPENAI_BASE_URL).rstrip("/")
        self._key = settings.api_key or "EMPTY"
        self._timeout = min(settings.timeout_s, 300.0)

    def _send(self, method: str, path: str, data: bytes | None = None, content_type: str | None = None) -> bytes:
        headers = {"Authorization": f"Bearer {self._key}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as resp:
                body: bytes = resp.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300].replace(self._key, "***")
            if exc.code in (401, 403):
                raise JudgeConfigError(f"batch endpoint {public_url(self.base)} rejected the API key "
                                       f"(HTTP {exc.code}); check OPENAI_API_KEY") from None
            if exc.code == 404 and path in ("/files", "/batches"):
                raise JudgeConfigError(f"{public_url(self.base)} has no Batch API ({method} {path}: HTTP 404); "
                                       "judge without --batch") from None
            raise TransevalError(f"batch API {method} {path}: HTTP {exc.code}: {' '.join(detail.split())}") from None
        except (OSError, ValueError) as exc:
            raise TransevalError(f"batch API {public_url(self.base)} unreachable ({method} {path}: "
                                 f"{getattr(exc, 'reason', exc)})") from None

    def _json(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        raw = self._send(method, path, data, "application/json" if data is not None else None)
        try:
            out = json.loads(raw)
        except ValueError:
            raise TransevalError(f"batch API {method} {path}: the reply is not JSON") from None
        if not isinstance(out, dict):
            raise TransevalError(f"batch API {method} {path}: the reply is not a JSON object")
        return out

    def upload(self, name: str, content: bytes) -> str:
        """Upload a JSONL file for a batch; its file id."""
        boundary = uuid.uuid4().hex
        body = b"".join([
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/jsonl\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ])
        raw = self._send("POST", "/files", body, f"multipart/form-data; boundary={boundary}")
        try:
            return str(json.loads(raw)["id"])
        except (ValueError, KeyError, TypeError):
            raise TransevalError("batch API POST /files: no file id in the reply") from None

    def create(self, file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        """Create a chat-completions batch over an uploaded file (24 h window); the batch object."""
        return self._json("POST", "/batches", {"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                                               "completion_window": "24h", "metadata": metadata})

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object (``status``, ``output_file_id``, ``error_file_id``, ``request_counts``)."""
        return self._json("GET", f"/batches/{batch_id}")

    def content(self, file_id: str) -> bytes:
        """A file's content (a batch's output or error JSONL)."""
        return self._send("GET", f"/files/{file_id}/content")


class BatchLedger:
    """``batches.json`` beside the judge cache: every batch submitted, its request keys and whether collected."""

    def __init__(self, cache_path: Path) -> None:
        self.path = cache_path.with_name("batches.json")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else []
        except (OSError, ValueError) as exc:
            raise TransevalError(f"{self.path}: not a batch ledger ({exc}); move it away to start afresh") from None
        self.entries: list[dict[str, Any]] = data if isinstance(data, list) else []

    def save(self) -> None:
        """Write the ledger atomically."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def open_batches(self, endpoint: str, model: str) -> list[dict[str, Any]]:
        """Batches of this endpoint and model whose results have not been collected yet."""
        return [e for e in self.entries if not e.get("collected") and e.get("endpoint") == endpoint
                and e.get("model") == model]


def _parse_output(raw: bytes) -> dict[str, tuple[CachedReply | None, str | None]]:
    """custom_id -> (reply, None) or (None, why) from a batch output or error file."""
    out: dict[str, tuple[CachedReply | None, str | None]] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = str(row["custom_id"])
        except (ValueError, KeyError, TypeError):
            continue
        response = row.get("response") or {}
        body = response.get("body") if isinstance(response, dict) else None
        status = response.get("status_code") if isinstance(response, dict) else None
        try:
            if status == 200 and isinstance(body, dict):
                text = body["choices"][0]["message"]["content"]
                if isinstance(text, str):
                    usage = body.get("usage") or {}
                    served = body.get("model")
                    out[key] = (CachedReply(text, int(usage.get("prompt_tokens") or 0),
                                            int(usage.get("completion_tokens") or 0),
                                            served if isinstance(served, str) else None), None)
                    continue
        except (LookupError, TypeError, ValueError):
            pass
        error = row.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        out[key] = (None, f"batch request failed (HTTP {status}): {message or 'no chat completion'}")
    return out


def run_batch(requests: Sequence[JudgeRequest], settings: JudgeSettings, wait: bool = True,
              poll_s: float = 30.0, max_wait_s: float | None = None,
              say: Callable[[str], None] = print) -> BatchOutcome:
    """Get every request the cache cannot answer through the Batch API (see the module docstring).

    Args:
        requests: The planned judge requests (duplicates allowed).
        settings: Endpoint, model and key (the key is never written anywhere).
        wait: Poll until the batches end; False submits (or checks) and returns.
        poll_s: Seconds between polls.
        max_wait_s: Stop waiting after this long (the batches stay recorded and are resumed next time).
        say: Where progress lines go.

    Returns:
        What was submitted, collected, answered, failed and is still pending.
    """
    cache = JudgeCache(settings.cache_path)
    try:
        unique = {r.key: r for r in requests}
        needed = {k: r for k, r in unique.items() if cache.get(k) is None}
        endpoint = public_url(settings.base_url)
        ledger = BatchLedger(settings.cache_path)
        api = BatchAPI(settings)
        mine = [e for e in ledger.open_batches(endpoint, settings.model) if set(e["keys"]) & needed.keys()]
        covered = {k for e in mine for k in e["keys"]}
        todo = [r for k, r in needed.items() if k not in covered]
        submitted: list[str] = []
        if todo:
            content = "".join(json.dumps({"custom_id": r.key, "method": "POST", "url": "/v1/chat/completions",
                                          "body": request_body(settings, r)}, ensure_ascii=False) + "\n"
                              for r in todo).encode()
            file_id = api.upload(f"transeval-judge-{int(time.time())}.jsonl", content)
            batch = api.create(file_id, {"tool": "transeval judge", "requests": str(len(todo))})
            entry: dict[str, Any] = {
                "id": str(batch["id"]), "endpoint": endpoint, "model": settings.model, "input_file_id": file_id,
                "keys": [r.key for r in todo], "submitted_at": int(time.time()), "collected": False}
            ledger.entries.append(entry)
            ledger.save()  # before any waiting: a killed command resumes this batch
            mine.append(entry)
            submitted.append(entry["id"])
            say(f"transeval: batch {entry['id']} submitted: {len(todo)} judge requests "
                f"({len(needed) - len(todo)} already in earlier batches, {len(unique) - len(needed)} cached)")
        collected: list[str] = []
        pending: list[str] = []
        answered = 0
        failed: dict[str, str] = {}
        start = time.monotonic()
        waiting = list(mine)
        while waiting:
            still = []
            for entry in waiting:
                info = api.retrieve(entry["id"])
                status = str(info.get("status"))
                if status not in FINAL:
                    still.append(entry)
                    continue
                got: dict[str, tuple[CachedReply | None, str | None]] = {}
                for field in ("error_file_id", "output_file_id"):
                    if info.get(field):
                        got.update(_parse_output(api.content(str(info[field]))))
                n_answered = 0
                for key in entry["keys"]:
                    reply, why = got.get(key, (None, None))
                    if reply is not None:
                        cache.put(key, settings.model, reply)
                        n_answered += 1
                    elif key in needed:
                        failed[key] = why or f"batch {entry['id']} ended {status} without an answer for it"
                answered += n_answered
                entry["collected"] = True
                entry["status"] = status
                ledger.save()
                collected.append(entry["id"])
                n_failed = len(entry["keys"]) - n_answered
                say(f"transeval: batch {entry['id']} {status}: {n_answered} answers into the cache"
                    f"{f', {n_failed} without an answer' if n_failed else ''}")
            waiting = still
            if not waiting:
                break
            if not wait or (max_wait_s is not None and time.monotonic() - start >= max_wait_s):
                pending = [e["id"] for e in waiting]
                break
            time.sleep(poll_s)
        return BatchOutcome(tuple(submitted), tuple(collected), answered, failed, tuple(pending), len(needed))
    finally:
        cache.close()
