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
from collections.abc import Sequence
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
    """One judge call: the rendered messages and their cache key."""

    key: str
    messages: list[dict[str, str]]


@dataclass(frozen=True)
class JudgeResult:
    """A judge reply, or the reason there is none (``text`` None)."""

    text: str | None
    error: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


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
        self.calls = 0

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        text = text.replace(key, "***") if key else text
        return " ".join(text.split())[:300]

    def _backoff(self, attempt: int) -> float:
        base = min(60.0, self.settings.backoff_s * (2**attempt))
        return base * (0.5 + random.random() / 2)

    async def _one(self, client: Any, sem: asyncio.Semaphore, req: JudgeRequest) -> JudgeResult:
        hit = self.cache.get(req.key)
        if hit is not None:
            return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True)
        s = self.settings
        last = "no attempt"
        async with sem:
            for attempt in range(s.max_retries + 1):
                try:
                    self.calls += 1
                    resp = await client.chat.completions.create(
                        model=s.model, messages=req.messages, temperature=s.temperature, max_tokens=s.max_tokens
                    )
                    text = resp.choices[0].message.content
                    if not isinstance(text, str):
                        return JudgeResult(None, "malformed judge response: no message content")
                    usage = getattr(resp, "usage", None)
                    reply = CachedReply(
                        text,
                        int(getattr(usage, "prompt_tokens", 0) or 0),
                        int(getattr(usage, "completion_tokens", 0) or 0),
                    )
                    self.cache.put(req.key, s.model, reply)
                    return JudgeResult(reply.text, None, reply.prompt_tokens, reply.completion_tokens)
                except _RETRYABLE as exc:
                    status = getattr(exc, "status_code", None)
                    last = f"{type(exc).__name__}{f' {status}' if status else ''}: {self._scrub(str(exc))}"
                    if attempt < s.max_retries:
                        log.info("judge call failed (%s); retry %d/%d", last, attempt + 1, s.max_retries)
                        await asyncio.sleep(self._backoff(attempt))
                except openai.APIStatusError as exc:
                    return JudgeResult(None, f"judge HTTP {exc.status_code}: {self._scrub(str(exc))}")
                except (openai.APIError, AttributeError, IndexError, TypeError, ValueError) as exc:
                    return JudgeResult(None, f"malformed judge response: {self._scrub(str(exc))}")
        return JudgeResult(None, f"judge failed after {s.max_retries + 1} attempts: {last}")

    async def _run(self, requests: Sequence[JudgeRequest], desc: str) -> list[JudgeResult]:
        s = self.settings
        client = openai.AsyncOpenAI(api_key=s.api_key or "EMPTY", base_url=s.base_url, timeout=s.timeout_s,
                                    max_retries=0)
        sem = asyncio.Semaphore(s.concurrency)
        bar = tqdm(total=len(requests), desc=desc, unit="call", file=sys.stderr, disable=not requests)

        async def tracked(req: JudgeRequest) -> JudgeResult:
            result = await self._one(client, sem, req)
            bar.update(1)
            return result

        try:
            return list(await asyncio.gather(*(tracked(r) for r in requests)))
        finally:
            bar.close()
            await client.close()

    def run(self, requests: Sequence[JudgeRequest], desc: str = "judging") -> list[JudgeResult]:
        """Judge all requests; results are in request order."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(requests, desc))
        # Called from inside a running loop (e.g. a notebook): run in a worker thread.
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._run(requests, desc)).result()


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
            except openai.APIStatusError:
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
