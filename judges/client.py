"""The judge client: any OpenAI-compatible chat-completions endpoint.

Calls run concurrently (bounded by ``concurrency``: that many worker threads, each with one keep-alive
connection, :mod:`transeval.judges.http`), retry with exponential backoff and jitter on 429, 408, 409, 5xx,
timeouts and connection errors, and go through the persistent cache, so a rerun makes no calls. The endpoint is
spoken to directly (``POST {base}/chat/completions``, ``GET {base}/models``) rather than through the ``openai``
SDK, whose import alone takes about a second: the judge command's start-up is part of every judging run
(issue 13). No torch or lm-eval import here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm
from transeval.core.errors import JudgeConfigError
from transeval.judges.cache import CachedReply, JudgeCache
from transeval.judges.config import HOW_TO, JudgeSettings, normalize_base_url

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from transeval.judges.http import Transport

log = logging.getLogger(__name__)
OPENAI_BASE_URL = "https://api.openai.com/v1"


class _StatusError(Exception):
    """An HTTP error status from the endpoint, with its message and headers."""

    def __init__(self, status: int, message: str, headers: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


class _Retryable(Exception):
    """A failure worth another attempt: connection error, timeout, 408/409/429/5xx."""

    def __init__(self, label: str, headers: Any = None) -> None:
        super().__init__(label)
        self.headers = headers


def _retryable_status(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _error_message(raw: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body itself."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        message = data["error"]["message"] if isinstance(data.get("error"), dict) else data.get("error")
        return str(message) if message else text
    except (ValueError, AttributeError, TypeError, KeyError):
        return text


def request_body(settings: JudgeSettings, req: JudgeRequest, json_schema: bool = True) -> dict[str, Any]:
    """The chat-completions body of a judge request (live and Batch API alike)."""
    body: dict[str, Any] = {"model": settings.model, "messages": req.messages, "temperature": settings.temperature,
                            "max_tokens": settings.max_tokens}
    if json_schema and req.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": req.json_schema}
    return body


def auth_headers(api_key: str | None) -> dict[str, str]:
    """Request headers: the key, and the organization / project headers when set (as the OpenAI SDK sends)."""
    headers = {"Authorization": f"Bearer {api_key or 'EMPTY'}", "Content-Type": "application/json"}
    for env, name in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        if os.environ.get(env):
            headers[name] = os.environ[env]
    return headers


@dataclass(frozen=True)
class JudgeRequest:
    """One judge call: the rendered messages, their cache key and an optional JSON reply schema."""

    key: str
    messages: list[dict[str, str]]
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class JudgeResult:
    """A judge reply, or the reason there is none (``text`` None).

    ``error_kind`` says why there is none: ``transport`` (connection, timeout, 429/5xx after the retries, or a
    reply that is not a chat completion: garbage, no choices), ``auth`` (401/403: the key), or ``content``
    (the endpoint refused this request, e.g. HTTP 400 for a prompt it will not take).
    """

    text: str | None
    error: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    served_model: str | None = None
    error_kind: str | None = None


def kind_of_status(status: int | None) -> str:
    """The error kind of an HTTP status: ``auth`` (401/403), ``transport`` (the endpoint's), ``content``."""
    if status in (401, 403):
        return "auth"
    if status in (404, 408, 409) or (status or 0) >= 500 or (status or 0) < 400:  # < 400: a redirect
        return "transport"
    return "content"


def reply_of(completion: dict[str, Any]) -> CachedReply | None:
    """The reply in a chat completion (live or from a batch output line); None when it has no text.

    Raises:
        LookupError, TypeError: the object is not a chat completion (no choices, no message).
    """
    text = completion["choices"][0]["message"]["content"]
    if not isinstance(text, str):
        return None
    raw_usage = completion.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    served = completion.get("model")
    return CachedReply(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
                       served if isinstance(served, str) else None)


def public_url(url: str | None) -> str:
    """An endpoint URL safe to print and to key the cache on: credentials dropped, spelling normalised.

    ``http://host:80/v1/`` and ``http://host/v1`` are the same endpoint (:func:`normalize_base_url`).
    """
    if not url:
        return "the OpenAI API"
    try:
        return normalize_base_url(url, keep_credentials=False)
    except JudgeConfigError:
        return re.sub(r"//[^/@]*@", "//", url)


class JudgeClient:
    """Runs judge requests concurrently through the cache."""

    def __init__(self, settings: JudgeSettings, cache: JudgeCache,
                 offline: Mapping[str, tuple[str, str]] | None = None) -> None:
        """A client; with ``offline`` it answers from the cache only (after a Batch API round).

        Args:
            settings: Endpoint, model, limits.
            cache: The judge cache.
            offline: Make no calls: a request the cache cannot answer gets the (reason, error kind) given for its
                key here, or a generic ``transport`` failure that a later round may fill.
        """
        self.settings = settings
        self.cache = cache
        self.offline = offline
        self.calls = 0  # requests that reached the network (a retried request counts once)
        self.attempts = 0  # HTTP attempts, retries included
        self._json_ok = True  # turned off when the endpoint rejects response_format

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        text = text.replace(key, "***") if key else text
        return " ".join(text.split())[:300]

    def _backoff(self, attempt: int, headers: Any = None) -> float:
        """Exponential backoff with jitter; a server's ``Retry-After`` (seconds) wins when it is longer."""
        base = min(60.0, self.settings.backoff_s * (2**attempt))
        wait = base * (0.5 + random.random() / 2)
        try:
            retry_after = float(headers.get("retry-after")) if headers is not None else 0.0
        except (AttributeError, TypeError, ValueError):
            retry_after = 0.0
        return max(wait, min(retry_after, 60.0))

    async def _one(self, http: Callable[[], tuple[Transport, ThreadPoolExecutor]], sem: asyncio.Semaphore,
                   req: JudgeRequest) -> JudgeResult:
        hit = self.cache.get(req.key)
        if hit is not None:
            return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True,
                               served_model=hit.served_model)
        if self.offline is not None:
            reason, kind = self.offline.get(req.key, ("not answered by the batch: rerun with --batch", "transport"))
            return JudgeResult(None, reason, error_kind=kind)
        async with sem:
            while True:  # another process may be judging the same key: wait for its reply, do not call twice
                hit = self.cache.get(req.key)
                if hit is not None:
                    return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True,
                                       served_model=hit.served_model)
                if self.cache.claim(req.key):
                    break
                await asyncio.sleep(0.05)
            try:
                return await self._call(http(), req)
            finally:
                self.cache.release(req.key)

    def _post(self, transport: Transport, payload: dict[str, Any]) -> dict[str, Any]:
        """One HTTP attempt (in a worker thread); the decoded chat completion.

        Raises:
            _Retryable: connection error, timeout, or a retryable status.
            _StatusError: any other error status.
            ValueError: a body that is not a JSON object.
        """
        import http.client

        try:
            resp = transport.post("/chat/completions", json.dumps(payload).encode(),
                                  auth_headers(self.settings.api_key))
        except TimeoutError:
            raise _Retryable(f"timed out after {self.settings.timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(f"connection error ({type(exc).__name__}): {self._scrub(str(exc))}") from None
        if 300 <= resp.status < 400:  # never followed: the key would go wherever it points
            raise _StatusError(resp.status, f"HTTP {resp.status}: the endpoint redirects to "
                               f"{public_url(resp.headers.get('location'))}; set OPENAI_BASE_URL to the final URL")
        if resp.status >= 400:
            message = f"HTTP {resp.status}: {self._scrub(_error_message(resp.body))}"
            if _retryable_status(resp.status):
                raise _Retryable(message, resp.headers)
            raise _StatusError(resp.status, message, resp.headers)
        data = json.loads(resp.body)
        if not isinstance(data, dict):
            raise ValueError("the reply is not a JSON object")
        return data

    async def _call(self, http: tuple[Transport, ThreadPoolExecutor], req: JudgeRequest) -> JudgeResult:
        """One request to the endpoint, retried with backoff on 429/5xx/timeouts/connection errors."""
        s = self.settings
        loop = asyncio.get_running_loop()
        transport, pool = http

        async def post(payload: dict[str, Any]) -> dict[str, Any]:
            return await loop.run_in_executor(pool, self._post, transport, payload)

        last = "no attempt"
        self.calls += 1
        for attempt in range(s.max_retries + 1):
            try:
                self.attempts += 1
                if req.json_schema is not None and self._json_ok:
                    try:
                        data = await post(request_body(s, req))
                    except _StatusError as exc:
                        if exc.status != 400:
                            raise
                        self._json_ok = False  # the endpoint does not take response_format: parse free text
                        data = await post(request_body(s, req, json_schema=False))
                else:
                    data = await post(request_body(s, req, json_schema=False))
                reply = reply_of(data)
                if reply is None:
                    return JudgeResult(None, "malformed judge response: no message content",
                                       error_kind="transport")
                self.cache.put(req.key, s.model, reply)
                return JudgeResult(reply.text, None, reply.prompt_tokens, reply.completion_tokens,
                                   served_model=reply.served_model)
            except _Retryable as exc:
                last = str(exc)
                if attempt < s.max_retries:
                    log.info("judge call failed (%s); retry %d/%d", last, attempt + 1, s.max_retries)
                    await asyncio.sleep(self._backoff(attempt, exc.headers))
            except _StatusError as exc:
                return JudgeResult(None, f"judge {exc}", error_kind=kind_of_status(exc.status))
            except (LookupError, TypeError, ValueError) as exc:
                return JudgeResult(None, f"malformed judge response ({type(exc).__name__}): "
                                   f"{self._scrub(str(exc))}", error_kind="transport")
        return JudgeResult(None, f"judge failed after {s.max_retries + 1} attempts: {last}", error_kind="transport")

    async def _run(self, requests: Sequence[JudgeRequest], desc: str,
                   on_result: Callable[[int, JudgeResult], None] | None) -> list[JudgeResult]:
        s = self.settings
        sem = asyncio.Semaphore(s.concurrency)
        bar = tqdm(total=len(requests), desc=desc, unit="call", file=sys.stderr, disable=not requests)
        opened: list[tuple[Transport, ThreadPoolExecutor]] = []

        def http() -> tuple[Transport, ThreadPoolExecutor]:
            # Opened at the first request the cache cannot answer (a warm rerun opens none): ``concurrency``
            # worker threads, each with its own keep-alive connection.
            if not opened:
                from concurrent.futures import ThreadPoolExecutor

                from transeval.judges.http import Transport

                opened.append((Transport(s.base_url or OPENAI_BASE_URL, s.timeout_s),
                               ThreadPoolExecutor(s.concurrency, thread_name_prefix="judge")))
            return opened[0]

        async def tracked(i: int, req: JudgeRequest) -> JudgeResult:
            result = await self._one(http, sem, req)
            if on_result is not None:
                on_result(i, result)
            bar.update(1)
            return result

        try:
            return list(await asyncio.gather(*(tracked(i, r) for i, r in enumerate(requests))))
        finally:
            bar.close()
            for transport, pool in opened:
                transport.close()  # unblocks workers still reading (Ctrl-C) so the process can exit at once
                pool.shutdown(wait=False, cancel_futures=True)

    def run(self, requests: Sequence[JudgeRequest], desc: str = "judging",
            on_result: Callable[[int, JudgeResult], None] | None = None) -> list[JudgeResult]:
        """Judge all requests; results are in request order.

        Args:
            requests: The calls to make (cached ones cost nothing).
            desc: Progress-bar label.
            on_result: Called with (request index, result) as each call finishes, e.g. to save it at once.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(requests, desc, on_result))
        # Called from inside a running loop (e.g. a notebook): run in a worker thread.
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._run(requests, desc, on_result)).result()


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def check_endpoint(settings: JudgeSettings) -> None:
    """Fail fast, before any generation, if the judge endpoint cannot be reached at all.

    Any HTTP answer (even 404 from a server without ``/models``) counts as reachable; only
    connection errors and timeouts, after the configured retries, fail, and so do a rejected key and a redirect
    (never followed: the key would go with it).

    Raises:
        JudgeConfigError: one line naming the endpoint.
    """
    import http.client

    from transeval.judges.http import open_url

    url = f"{(settings.base_url or OPENAI_BASE_URL).rstrip('/')}/models"
    request = urllib.request.Request(url, headers=auth_headers(settings.api_key))
    delay = settings.backoff_s
    for attempt in range(settings.max_retries + 1):
        try:
            open_url(request, timeout=min(settings.timeout_s, 30.0))
            return
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise JudgeConfigError(
                    f"judge endpoint {public_url(settings.base_url)} rejected the API key "
                    f"(HTTP {exc.code}); check OPENAI_API_KEY") from None
            if 300 <= exc.code < 400:
                raise JudgeConfigError(
                    f"judge endpoint {public_url(settings.base_url)} redirects (HTTP {exc.code}) to "
                    f"{public_url(exc.headers.get('location'))}; set OPENAI_BASE_URL to the final URL") from None
            return
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timeout, bad URL/reply
            if attempt == settings.max_retries:
                why = getattr(exc, "reason", None) or exc
                raise JudgeConfigError(
                    f"judge endpoint {public_url(settings.base_url)} unreachable after "
                    f"{settings.max_retries + 1} attempts (connection error: {why}); "
                    f"check OPENAI_BASE_URL, or {HOW_TO}"
                ) from None
            import time

            time.sleep(delay)
            delay = min(60.0, delay * 2)
