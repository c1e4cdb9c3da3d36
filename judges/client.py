"""The judge client: any OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK.

Calls run concurrently (bounded by ``concurrency``), retry with exponential backoff and jitter on 429,
5xx, timeouts and connection errors, and go through the persistent cache, so a rerun makes no calls.
No torch import here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from tqdm.auto import tqdm
from transeval.harness.errors import JudgeConfigError
from transeval.judges.cache import CachedReply, JudgeCache
from transeval.judges.config import HOW_TO, JudgeSettings

log = logging.getLogger(__name__)
_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError)


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


def _kind_of_status(status: int | None) -> str:
    return "auth" if status in (401, 403) else "transport" if status in (404, 408, 409) or (status or 0) >= 500 \
        else "content"


def is_unreachable(reason: str | None) -> bool:
    """True if an unscored reason says the endpoint could not be reached (worth a rerun later)."""
    return reason is not None and reason.startswith("judge failed") and (
        "APIConnectionError" in reason or "APITimeoutError" in reason
    )


def public_url(url: str | None) -> str:
    """An endpoint URL safe to print (credentials in the URL are dropped)."""
    if not url:
        return "the OpenAI API"
    return re.sub(r"//[^/@]*@", "//", url)


class JudgeClient:
    """Runs judge requests concurrently through the cache."""

    def __init__(self, settings: JudgeSettings, cache: JudgeCache) -> None:
        self.settings = settings
        self.cache = cache
        self.calls = 0  # requests that reached the network (a retried request counts once)
        self.attempts = 0  # HTTP attempts, retries included
        self._json_ok = True  # turned off when the endpoint rejects response_format

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        text = text.replace(key, "***") if key else text
        return " ".join(text.split())[:300]

    def _backoff(self, attempt: int, response: Any = None) -> float:
        """Exponential backoff with jitter; a server's ``Retry-After`` (seconds) wins when it is longer."""
        base = min(60.0, self.settings.backoff_s * (2**attempt))
        wait = base * (0.5 + random.random() / 2)
        try:
            retry_after = float(response.headers.get("retry-after")) if response is not None else 0.0
        except (AttributeError, TypeError, ValueError):
            retry_after = 0.0
        return max(wait, min(retry_after, 60.0))

    async def _one(self, client: Any, sem: asyncio.Semaphore, req: JudgeRequest) -> JudgeResult:
        hit = self.cache.get(req.key)
        if hit is not None:
            return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True,
                               served_model=hit.served_model)
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
                return await self._call(client, req)
            finally:
                self.cache.release(req.key)

    async def _call(self, client: Any, req: JudgeRequest) -> JudgeResult:
        """One request to the endpoint, retried with backoff on 429/5xx/timeouts/connection errors."""
        s = self.settings
        last = "no attempt"
        self.calls += 1
        for attempt in range(s.max_retries + 1):
            try:
                self.attempts += 1
                extra: dict[str, Any] = {}
                if req.json_schema is not None and self._json_ok:
                    extra["response_format"] = {"type": "json_schema", "json_schema": req.json_schema}
                try:
                    resp = await client.chat.completions.create(
                        model=s.model, messages=req.messages, temperature=s.temperature, max_tokens=s.max_tokens,
                        **extra)
                except openai.BadRequestError:
                    if not extra:
                        raise
                    self._json_ok = False  # the endpoint does not take response_format: parse free text
                    resp = await client.chat.completions.create(
                        model=s.model, messages=req.messages, temperature=s.temperature, max_tokens=s.max_tokens)
                text = resp.choices[0].message.content
                if not isinstance(text, str):
                    return JudgeResult(None, "malformed judge response: no message content",
                                       error_kind="transport")
                usage = getattr(resp, "usage", None)
                served = getattr(resp, "model", None)
                reply = CachedReply(
                    text,
                    int(getattr(usage, "prompt_tokens", 0) or 0),
                    int(getattr(usage, "completion_tokens", 0) or 0),
                    served if isinstance(served, str) else None,
                )
                self.cache.put(req.key, s.model, reply)
                return JudgeResult(reply.text, None, reply.prompt_tokens, reply.completion_tokens,
                                   served_model=reply.served_model)
            except _RETRYABLE as exc:
                status = getattr(exc, "status_code", None)
                last = f"{type(exc).__name__}{f' {status}' if status else ''}: {self._scrub(str(exc))}"
                if attempt < s.max_retries:
                    log.info("judge call failed (%s); retry %d/%d", last, attempt + 1, s.max_retries)
                    await asyncio.sleep(self._backoff(attempt, getattr(exc, "response", None)))
            except openai.APIStatusError as exc:
                return JudgeResult(None, f"judge HTTP {exc.status_code}: {self._scrub(str(exc))}",
                                   error_kind=_kind_of_status(exc.status_code))
            except (openai.APIError, AttributeError, IndexError, TypeError, ValueError) as exc:
                return JudgeResult(None, f"malformed judge response ({type(exc).__name__}): "
                                   f"{self._scrub(str(exc))}", error_kind="transport")
        return JudgeResult(None, f"judge failed after {s.max_retries + 1} attempts: {last}", error_kind="transport")

    async def _run(self, requests: Sequence[JudgeRequest], desc: str,
                   on_result: Callable[[int, JudgeResult], None] | None) -> list[JudgeResult]:
        s = self.settings
        client = openai.AsyncOpenAI(api_key=s.api_key or "EMPTY", base_url=s.base_url, timeout=s.timeout_s,
                                    max_retries=0)
        sem = asyncio.Semaphore(s.concurrency)
        bar = tqdm(total=len(requests), desc=desc, unit="call", file=sys.stderr, disable=not requests)

        async def tracked(i: int, req: JudgeRequest) -> JudgeResult:
            result = await self._one(client, sem, req)
            if on_result is not None:
                on_result(i, result)
            bar.update(1)
            return result

        try:
            return list(await asyncio.gather(*(tracked(i, r) for i, r in enumerate(requests))))
        finally:
            bar.close()
            await client.close()

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


def check_endpoint(settings: JudgeSettings) -> None:
    """Fail fast, before any generation, if the judge endpoint cannot be reached at all.

    Any HTTP answer (even 404 from a server without ``/models``) counts as reachable; only
    connection errors and timeouts, after the configured retries, fail.

    Raises:
        JudgeConfigError: one line naming the endpoint.
    """
    client = openai.OpenAI(api_key=settings.api_key or "EMPTY", base_url=settings.base_url,
                           timeout=min(settings.timeout_s, 30.0), max_retries=0)
    delay = settings.backoff_s
    try:
        for attempt in range(settings.max_retries + 1):
            try:
                client.models.list()
                return
            except openai.APIStatusError as exc:
                if exc.status_code in (401, 403):
                    raise JudgeConfigError(
                        f"judge endpoint {public_url(settings.base_url)} rejected the API key "
                        f"(HTTP {exc.status_code}); check OPENAI_API_KEY") from None
                return
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                if attempt == settings.max_retries:
                    raise JudgeConfigError(
                        f"judge endpoint {public_url(settings.base_url)} unreachable after "
                        f"{settings.max_retries + 1} attempts ({type(exc).__name__}); "
                        f"check OPENAI_BASE_URL, or {HOW_TO}"
                    ) from None
                import time

                time.sleep(delay)
                delay = min(60.0, delay * 2)
    finally:
        client.close()
