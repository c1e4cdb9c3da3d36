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
requests the batch did not answer stay unscored with the batch's reason (``transport`` for the endpoint's
failures, ``content`` for a 4xx about the request) and a rerun with ``--batch`` submits a new batch for those
only. Batch requests carry no ``response_format`` (a model without JSON-schema support would reject every line,
and a batch has no per-request fallback): the parsers read free-text replies. A batch holds at most 50,000
requests and 190 MB (OpenAI's limits are 50,000 and 200 MB); more makes several. The ledger is locked while it
is read and written, so two commands sharing one cache neither lose nor duplicate a batch. HTTP goes through the
``openai`` SDK (``files``, ``batches``), with the judge's client rules (:func:`~transeval.judges.client.sdk_client`:
no redirects followed, proxies and CA bundles from the environment, Azure OpenAI when configured: there the lines
and the batch name ``/chat/completions`` and the model is the deployment).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import JudgeConfigError, TransevalError, io_error
from transeval.judges.cache import CachedReply, JudgeCache
from transeval.judges.client import (
    OPENAI_BASE_URL,
    JudgeRequest,
    kind_of_status,
    public_url,
    reply_of,
    request_body,
)
from transeval.judges.config import JudgeSettings

#: Batch states after which nothing more will come.
FINAL = ("completed", "failed", "expired", "cancelled")
#: Requests and bytes per batch input file (OpenAI: 50,000 requests, 200 MB).
MAX_REQUESTS, MAX_BYTES = 50_000, 190_000_000
#: Failed status checks in a row (endpoint hiccups) before a wait gives up (the batch stays recorded).
MAX_POLL_FAILURES = 5


@dataclass(frozen=True)
class BatchOutcome:
    """What one ``--batch`` round did.

    Attributes:
        submitted: Batch ids created in this round.
        collected: Batch ids whose results were read in this round.
        answered: Requests put into the cache from batch output.
        failed: Request key -> (why the batch did not answer it, error kind: ``transport`` or ``content``).
        pending: Batch ids still running (``--no-wait``, or the wait ran out).
        needed: Requests the cache could not answer before this round.
    """

    submitted: tuple[str, ...]
    collected: tuple[str, ...]
    answered: int
    failed: dict[str, tuple[str, str]]
    pending: tuple[str, ...]
    needed: int


class BatchHTTPError(TransevalError):
    """An error status from the Batch API (other than a rejected key or a missing API)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BatchAPI:
    """The few Files and Batches endpoints we use, through the ``openai`` SDK (the same client rules as judging)."""

    def __init__(self, settings: JudgeSettings) -> None:
        from transeval.judges.client import sdk_client

        self.base = (settings.base_url or OPENAI_BASE_URL).rstrip("/")
        self._key = settings.api_key or "EMPTY"
        self._key_var = "AZURE_OPENAI_API_KEY" if settings.azure_api_version else "OPENAI_API_KEY"
        self._url_var = "AZURE_OPENAI_ENDPOINT" if settings.azure_api_version else "OPENAI_BASE_URL"
        self._client = sdk_client(settings, asynchronous=False, timeout_s=min(settings.timeout_s, 300.0))

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _send(self, method: str, path: str, call: Callable[[], Any]) -> bytes:
        """The raw body of one SDK call (``call`` returns a raw response); errors as one line."""
        import openai

        try:
            raw = call()
            return bytes(raw.http_response.content)
        except openai.APIStatusError as exc:
            code = exc.status_code
            detail = exc.response.content.decode("utf-8", "replace")[:300].replace(self._key, "***")
            if code in (401, 403):
                raise JudgeConfigError(f"batch endpoint {public_url(self.base)} rejected the API key "
                                       f"(HTTP {code}); check {self._key_var}") from None
            if code == 404 and path in ("/files", "/batches"):
                raise JudgeConfigError(f"{public_url(self.base)} has no Batch API ({method} {path}: HTTP 404); "
                                       "judge without --batch") from None
            if 300 <= code < 400:
                raise JudgeConfigError(f"batch endpoint {public_url(self.base)} redirects (HTTP {code}) to "
                                       f"{public_url(exc.response.headers.get('location'))}; set {self._url_var} "
                                       "to the final URL") from None
            raise BatchHTTPError(code, f"batch API {method} {path}: HTTP {code}: "
                                 f"{' '.join(detail.split())}") from None
        except openai.APIConnectionError as exc:
            why = "timed out" if isinstance(exc, openai.APITimeoutError) else exc.__cause__ or exc
            raise TransevalError(f"batch API {public_url(self.base)} unreachable ({method} {path}: {why})") from None

    def _json(self, method: str, path: str, call: Callable[[], Any]) -> dict[str, Any]:
        raw = self._send(method, path, call)
        try:
            out = json.loads(raw)
        except ValueError:
            raise TransevalError(f"batch API {method} {path}: the reply is not JSON") from None
        if not isinstance(out, dict):
            raise TransevalError(f"batch API {method} {path}: the reply is not a JSON object")
        return out

    def upload(self, name: str, content: bytes) -> str:
        """Upload a JSONL file for a batch; its file id."""
        out = self._json("POST", "/files", lambda: self._client.files.with_raw_response.create(
            file=(name, content, "application/jsonl"), purpose="batch"))
        if not out.get("id"):
            raise TransevalError("batch API POST /files: no file id in the reply")
        return str(out["id"])

    def create(self, file_id: str, metadata: dict[str, str], endpoint: str) -> dict[str, Any]:
        """Create a chat-completions batch over an uploaded file (24 h window); the batch object."""
        return self._json("POST", "/batches", lambda: self._client.batches.with_raw_response.create(
            input_file_id=file_id, endpoint=endpoint, completion_window="24h", metadata=metadata))

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object (``status``, ``output_file_id``, ``error_file_id``, ``request_counts``)."""
        return self._json("GET", f"/batches/{batch_id}",
                          lambda: self._client.batches.with_raw_response.retrieve(batch_id))

    def content(self, file_id: str) -> bytes:
        """A file's content (a batch's output or error JSONL)."""
        return self._send("GET", f"/files/{file_id}/content",
                          lambda: self._client.files.with_raw_response.content(file_id))


class BatchLedger:
    """``batches.json`` beside the judge cache: every batch submitted, its request keys and whether collected.

    Use :meth:`locked` around every read-modify-write: it holds an exclusive lock (``batches.json.lock``) and
    re-reads the file, so concurrent commands on one cache see each other's batches.
    """

    def __init__(self, cache_path: Path) -> None:
        self.path = cache_path.with_name("batches.json")
        self.entries: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def locked(self) -> Iterator[BatchLedger]:
        """Hold the ledger's lock, with its current entries loaded; save on a clean exit."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_name("batches.json.lock"), "a")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise io_error(exc, self.path.parent) from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._read()
                yield self
                self.save()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else []
        except (OSError, ValueError) as exc:
            raise TransevalError(f"not a batch ledger ({exc}); move it away to start afresh", file=self.path) from None
        self.entries = data if isinstance(data, list) else []

    def save(self) -> None:
        """Write the entries (atomically; call under :meth:`locked`)."""
        tmp = self.path.with_name(f"batches.json.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(json.dumps(self.entries, indent=1))
                fh.flush()
                os.fsync(fh.fileno())  # a submitted batch is paid for: its id must survive a crash
            tmp.replace(self.path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise io_error(exc, self.path) from None

    def open_batches(self, endpoint: str, model: str) -> list[dict[str, Any]]:
        """Batches of this endpoint and model whose results have not been collected yet."""
        return [e for e in self.entries if not e.get("collected") and e.get("endpoint") == endpoint
                and e.get("model") == model]

    def update(self, batch_id: str, **fields: Any) -> None:
        """Set fields of one recorded batch (under the lock, after a fresh read)."""
        with self.locked():
            for e in self.entries:
                if e.get("id") == batch_id:
                    e.update(fields)


def _parse_output(raw: bytes) -> dict[str, tuple[CachedReply | None, tuple[str, str] | None]]:
    """custom_id -> (reply, None) or (None, (why, error kind)) from a batch output or error file."""
    out: dict[str, tuple[CachedReply | None, tuple[str, str] | None]] = {}
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
            reply = reply_of(body) if status == 200 and isinstance(body, dict) else None
            if reply is not None:
                out[key] = (reply, None)
                continue
        except (LookupError, TypeError, ValueError):
            pass
        error = row.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        kind = kind_of_status(status) if isinstance(status, int) and status >= 300 else "transport"
        out[key] = (None, (f"batch request failed (HTTP {status}): {message or 'no chat completion'}", kind))
    return out


def _chunks(lines: list[bytes]) -> Iterator[list[bytes]]:
    """Batch input files within the request and size limits."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and (len(chunk) >= MAX_REQUESTS or size + len(line) > MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield chunk


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
        apis: list[BatchAPI] = []

        def api_() -> BatchAPI:  # the SDK is imported only when a batch is submitted or polled
            if not apis:
                apis.append(BatchAPI(settings))
            return apis[0]

        url = "/chat/completions" if settings.azure_api_version else "/v1/chat/completions"
        submitted: list[str] = []
        with ledger.locked():  # find and record batches under one lock: two commands never submit the same keys
            mine = [e for e in ledger.open_batches(endpoint, settings.model) if set(e["keys"]) & needed.keys()]
            covered = {k for e in mine for k in e["keys"]}
            todo = [r for k, r in needed.items() if k not in covered]
            lines = [json.dumps({"custom_id": r.key, "method": "POST", "url": url,
                                 "body": request_body(settings, r, json_schema=False)},
                                ensure_ascii=False).encode() + b"\n" for r in todo]
            start = 0
            for chunk in _chunks(lines):
                keys = [r.key for r in todo[start:start + len(chunk)]]
                start += len(chunk)
                file_id = api_().upload(f"transeval-judge-{int(time.time())}.jsonl", b"".join(chunk))
                batch = api_().create(file_id, {"tool": "transeval judge", "requests": str(len(chunk))}, url)
                entry: dict[str, Any] = {
                    "id": str(batch["id"]), "endpoint": endpoint, "model": settings.model, "input_file_id": file_id,
                    "keys": keys, "submitted_at": int(time.time()), "collected": False}
                ledger.entries.append(entry)
                ledger.save()  # at once: a command killed before the next batch still resumes this one
                mine.append(entry)
                submitted.append(entry["id"])
                say(f"transeval: batch {entry['id']} submitted: {len(chunk)} judge requests "
                    f"({len(needed) - len(todo)} already in earlier batches, {len(unique) - len(needed)} cached)")
        collected: list[str] = []
        pending: list[str] = []
        answered = 0
        failed: dict[str, tuple[str, str]] = {}
        start_wait = time.monotonic()
        poll_failures = 0
        waiting = list(mine)
        while waiting:
            still = []
            for entry in waiting:
                try:
                    info = api_().retrieve(entry["id"])
                    poll_failures = 0
                except BatchHTTPError as exc:
                    if exc.status != 404:
                        raise
                    info = {"status": "missing", "errors": {"data": [{"message": str(exc)}]}}
                except TransevalError as exc:  # unreachable for a moment: poll again later
                    if isinstance(exc, JudgeConfigError):
                        raise
                    poll_failures += 1
                    if poll_failures >= MAX_POLL_FAILURES:
                        raise
                    say(f"transeval: batch {entry['id']}: status check failed ({exc}); trying again")
                    still.append(entry)
                    continue
                status = str(info.get("status"))
                if status not in (*FINAL, "missing"):
                    still.append(entry)
                    continue
                got: dict[str, tuple[CachedReply | None, tuple[str, str] | None]] = {}
                for field in ("error_file_id", "output_file_id"):
                    if info.get(field):
                        got.update(_parse_output(api_().content(str(info[field]))))
                errors = (info.get("errors") or {}).get("data") if isinstance(info.get("errors"), dict) else None
                why_batch = "; ".join(str(e.get("message")) for e in errors or [] if isinstance(e, dict))
                n_answered = 0
                for key in entry["keys"]:
                    reply, why = got.get(key, (None, None))
                    if reply is not None:
                        cache.put(key, settings.model, reply)
                        n_answered += 1
                    elif key in needed:
                        failed[key] = why or (f"batch {entry['id']} ended {status} without an answer for it"
                                              f"{f' ({why_batch})' if why_batch else ''}", "transport")
                answered += n_answered
                ledger.update(entry["id"], collected=True, status=status)
                collected.append(entry["id"])
                n_failed = len(entry["keys"]) - n_answered
                say(f"transeval: batch {entry['id']} {status}: {n_answered} answers into the cache"
                    f"{f', {n_failed} without an answer' if n_failed else ''}{f' ({why_batch})' if why_batch else ''}")
            waiting = still
            if not waiting:
                break
            if not wait or (max_wait_s is not None and time.monotonic() - start_wait >= max_wait_s):
                pending = [e["id"] for e in waiting]
                break
            time.sleep(poll_s * (2 ** min(poll_failures, 4)))
        return BatchOutcome(tuple(submitted), tuple(collected), answered, failed, tuple(pending), len(needed))
    finally:
        for api in apis:
            api.close()
        cache.close()
