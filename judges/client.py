"""The judge client: any OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK.

One ``AsyncOpenAI`` client per judging round (``AsyncAzureOpenAI`` when ``AZURE_OPENAI_ENDPOINT`` is set:
``api-key`` header, ``api-version`` query, the judge model as the deployment name), on the SDK's aiohttp transport
(``DefaultAioHttpClient``; its httpx one without the ``openai[aiohttp]`` extra), ``concurrency`` requests in
flight over an HTTP connection pool of that size. The SDK and its HTTP stack are imported only when a request
misses the cache, so an all-cached rerun never pays for their import.

Trust rules, from the SDK's HTTP client (``httpx2`` for openai 3.x, ``httpx`` before) where it provides them:
proxies from ``HTTP(S)_PROXY`` / ``NO_PROXY`` and CA bundles from ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
(``trust_env``), ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` headers (the SDK's own variables), and redirects never
followed (the API key would go wherever a redirect points): a 3xx is a one-line error naming its target. Retries are
transeval's own (exponential backoff with jitter, a server's ``Retry-After`` honoured, on 429, 408, 409, 5xx,
timeouts and connection errors; the SDK's own retries are off), so every attempt is counted and bounded by
``TRANSEVAL_JUDGE_MAX_RETRIES``. Replies go through the persistent cache, so a rerun makes no calls. No torch or
lm-eval import here.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import os
import random
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm
from transeval.core.errors import JudgeConfigError
from transeval.judges.cache import CachedReply, JudgeCache
from transeval.judges.config import HOW_TO, OPENAI_BASE_URL, JudgeSettings, normalize_base_url

log = logging.getLogger(__name__)
__all__ = ["OPENAI_BASE_URL", "JudgeClient", "JudgeRequest", "JudgeResult", "check_endpoint", "freeze_after_sdk_import",
           "sdk_client"]


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


_freeze_after_import = False


def freeze_after_sdk_import() -> None:
    """Have :func:`openai_sdk` move what exists after the SDK's import out of the collector's reach (``gc.freeze``).

    For a short-lived command (the ``transeval`` console script): the collector then never walks the SDK's
    thousands of long-lived objects again, about 0.1 s of a judging command at 64 requests in flight. Objects alive
    at that moment are then freed only by reference counting, so a process that runs on (a notebook) should not
    ask for it.
    """
    global _freeze_after_import
    _freeze_after_import = True


def openai_sdk() -> Any:
    """The ``openai`` module, imported on first use with the garbage collector paused.

    Its import builds thousands of classes (about 0.4 s, the bulk of a judging command's start-up); the
    collector's passes over them during the import free nothing and cost about a tenth of that.
    """
    if "openai" not in sys.modules:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            import openai  # noqa: F401 - imported here once, then read from sys.modules
        finally:
            if _freeze_after_import:
                gc.freeze()
            if was_enabled:
                gc.enable()
    return sys.modules["openai"]


def http_library() -> Any:
    """The HTTP library the installed SDK is built on: ``httpx2`` (openai 3.x), else ``httpx`` (openai 1.x, 2.x)."""
    openai_sdk()
    from openai import _base_client

    return getattr(_base_client, "httpx2", None) or getattr(_base_client, "httpx")  # noqa: B009 - absent in 3.x


def sdk_client(settings: JudgeSettings, *, asynchronous: bool, connections: int = 1,
               timeout_s: float | None = None) -> Any:
    """An ``openai`` SDK client for the judge endpoint (imports the SDK: call it only when a request is due).

    ``OpenAI``/``AsyncOpenAI`` for ``settings.base_url`` (OpenAI's when None), or ``AzureOpenAI``/
    ``AsyncAzureOpenAI`` when ``settings.azure_api_version`` is set (``base_url`` is then the Azure endpoint, the
    model the deployment). The HTTP client never follows redirects, reads proxies and CA bundles from the
    environment, and pools ``connections`` connections; the SDK's own retries are off (see :class:`JudgeClient`).

    Args:
        settings: Endpoint, key and timeout.
        asynchronous: The async client (judging) or the sync one (endpoint check, Batch API).
        connections: Connections in the pool (the judge's ``concurrency``).
        timeout_s: Per-request timeout (default ``settings.timeout_s``).
    """
    openai = openai_sdk()

    httpx = http_library()
    timeout = httpx.Timeout(timeout_s or settings.timeout_s)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    options: dict[str, Any] = {"timeout": timeout, "limits": limits, "follow_redirects": False, "trust_env": True,
                               "verify": _tls_for(settings.base_url)}
    http = (_aiohttp_client(openai, options) or httpx.AsyncClient(**options)) if asynchronous \
        else httpx.Client(**options)
    common: dict[str, Any] = {"api_key": settings.api_key or "EMPTY", "max_retries": 0, "timeout": timeout,
                              "http_client": http}
    if settings.azure_api_version:
        azure = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return azure(azure_endpoint=settings.base_url or "", api_version=settings.azure_api_version, **common)
    plain = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return plain(base_url=settings.base_url or OPENAI_BASE_URL, **common)


@functools.lru_cache(maxsize=4)
def ssl_context(cert_file: str | None, cert_dir: str | None) -> Any:
    """The TLS context of every judge connection in this process, built once per CA-bundle setting.

    The SDK's HTTP library builds it as it would itself (system CA bundle, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``, whose values are the arguments so that a changed setting gets a new context). Loading a CA
    bundle takes a few hundredths of a second, paid once rather than per client.
    """
    del cert_file, cert_dir  # the cache key: create_ssl_context reads them from the environment
    return http_library().create_ssl_context(trust_env=True)


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _tls_for(base_url: str | None) -> Any:
    """The TLS context for connections to ``base_url``.

    A plain ``http://`` endpoint reached without a proxy (a local vLLM or llama.cpp server) makes no TLS
    connection: it gets a context that trusts no certificate, so loading the CA bundle is skipped and any TLS
    connection would fail closed. Every other endpoint gets :func:`ssl_context`.
    """
    if (base_url or "").startswith("http://") and not any(os.environ.get(v) for v in _PROXY_VARIABLES):
        import ssl

        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names; trusts none
    return ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def _aiohttp_client(openai: Any, options: dict[str, Any]) -> Any:
    """The SDK's ``DefaultAioHttpClient`` (its HTTP client on an ``aiohttp`` transport), or None without aiohttp.

    The SDK recommends it for concurrency: at 64 requests in flight it needs about a third less CPU per request
    than the default transport (bench/judge_vs_fastchat.py). Proxies, CA bundles, timeouts and the refusal to
    follow redirects come from the same options as the default transport's.
    """
    kind = getattr(openai, "DefaultAioHttpClient", None)
    if kind is None:  # an SDK older than its aiohttp transport
        return None
    try:
        return kind(**options)
    except RuntimeError:  # the SDK's aiohttp extra is not installed
        return None


def status_error(exc: Any, scrub: Callable[[str], str]) -> _StatusError | _Retryable:
    """An SDK ``APIStatusError`` as a retryable failure or a final status error (a 3xx names its target)."""
    status = int(exc.status_code)
    headers = exc.response.headers
    if 300 <= status < 400:  # never followed: the key would go wherever it points
        return _StatusError(status, f"HTTP {status}: the endpoint redirects to "
                            f"{public_url(headers.get('location'))}; set OPENAI_BASE_URL to the final URL")
    message = f"HTTP {status}: {scrub(_error_message(exc.response.content))}"
    if _retryable_status(status):
        return _Retryable(message, headers)
    return _StatusError(status, message, headers)


def connection_error(exc: Any, timeout_s: float, scrub: Callable[[str], str]) -> _Retryable:
    """An SDK ``APIConnectionError`` (or ``APITimeoutError``) as a retryable failure naming its cause."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return _Retryable(f"timed out after {timeout_s:g} s")
    cause = exc.__cause__ or exc
    return _Retryable(f"connection error ({type(cause).__name__}): {scrub(str(cause))}")


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
        self._sending: Callable[[], None] = lambda: None  # counts a run's first requests (see run's meanwhile)
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

    async def _one(self, sdk: Callable[[], Any], sem: asyncio.Semaphore, req: JudgeRequest) -> JudgeResult:
        hit = self.cache.get(req.key)
        if hit is not None:
            self._sending()
            return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True,
                               served_model=hit.served_model)
        if self.offline is not None:
            self._sending()
            reason, kind = self.offline.get(req.key, ("not answered by the batch: rerun with --batch", "transport"))
            return JudgeResult(None, reason, error_kind=kind)
        async with sem:
            while True:  # another process may be judging the same key: wait for its reply, do not call twice
                hit = self.cache.get(req.key)
                if hit is not None:
                    self._sending()
                    return JudgeResult(hit.text, None, hit.prompt_tokens, hit.completion_tokens, cached=True,
                                       served_model=hit.served_model)
                if self.cache.claim(req.key):
                    break
                await asyncio.sleep(0.05)
            try:
                return await self._call(sdk(), req)
            finally:
                self.cache.release(req.key)

    async def _post(self, sdk: Any, payload: dict[str, Any]) -> dict[str, Any]:
        """One HTTP attempt through the SDK; the decoded chat completion.

        Raises:
            _Retryable: connection error, timeout, or a retryable status.
            _StatusError: any other error status (a redirect included).
            ValueError: a body that is not a JSON object.
        """
        import openai

        try:
            # The SDK's request method (auth, Azure deployment path and api-version, typed errors) with the body as
            # built here: no per-request transformation of typed parameters, the reply read by :func:`reply_of`.
            raw = await sdk.post("/chat/completions", body=payload, cast_to=http_library().Response)
        except openai.APIConnectionError as exc:
            raise connection_error(exc, self.settings.timeout_s, self._scrub) from None
        except openai.APIStatusError as exc:
            raise status_error(exc, self._scrub) from None
        data = json.loads(raw.content)
        if not isinstance(data, dict):
            raise ValueError("the reply is not a JSON object")
        return data

    async def _call(self, sdk: Any, req: JudgeRequest) -> JudgeResult:
        """One request to the endpoint, retried with backoff on 429/5xx/timeouts/connection errors."""
        s = self.settings
        last = "no attempt"
        self.calls += 1
        self._sending()
        for attempt in range(s.max_retries + 1):
            try:
                self.attempts += 1
                if req.json_schema is not None and self._json_ok:
                    try:
                        data = await self._post(sdk, request_body(s, req))
                    except _StatusError as exc:
                        if exc.status != 400:
                            raise
                        self._json_ok = False  # the endpoint does not take response_format: parse free text
                        data = await self._post(sdk, request_body(s, req, json_schema=False))
                else:
                    data = await self._post(sdk, request_body(s, req, json_schema=False))
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
                   on_result: Callable[[int, JudgeResult], None] | None,
                   meanwhile: Callable[[], object] | None = None) -> list[JudgeResult]:
        s = self.settings
        sem = asyncio.Semaphore(s.concurrency)
        first_wave = [min(s.concurrency, len(requests))]  # requests sent (or found cached) before ``meanwhile``

        def sending() -> None:
            first_wave[0] -= 1
            if first_wave[0] == 0 and meanwhile is not None:
                meanwhile()
        bar = tqdm(total=len(requests), desc=desc, unit="call", file=sys.stderr, disable=not requests)
        opened: list[Any] = []

        def sdk() -> Any:
            # Made at the first request the cache cannot answer (a warm rerun imports no SDK): one async client,
            # a pool of ``concurrency`` connections.
            if not opened:
                opened.append(sdk_client(s, asynchronous=True, connections=s.concurrency))
            return opened[0]

        async def tracked(i: int, req: JudgeRequest) -> JudgeResult:
            result = await self._one(sdk, sem, req)
            if on_result is not None:
                on_result(i, result)
            bar.update(1)
            return result

        self._sending = sending
        try:
            return list(await asyncio.gather(*(tracked(i, r) for i, r in enumerate(requests))))
        finally:
            if first_wave[0] > 0 and meanwhile is not None:  # no requests at all: start it now
                first_wave[0] = 0
                meanwhile()
            bar.close()
            for client in opened:
                await client.close()

    def run(self, requests: Sequence[JudgeRequest], desc: str = "judging",
            on_result: Callable[[int, JudgeResult], None] | None = None,
            meanwhile: Callable[[], object] | None = None) -> list[JudgeResult]:
        """Judge all requests; results are in request order.

        Args:
            requests: The calls to make (cached ones cost nothing).
            desc: Progress-bar label.
            on_result: Called with (request index, result) as each call finishes, e.g. to save it at once.
            meanwhile: Called once, when the first ``concurrency`` calls have been sent (or at the end when fewer
                are made), e.g. to start CPU work in a thread: started earlier it would hold back those sends.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(requests, desc, on_result, meanwhile))
        # Called from inside a running loop (e.g. a notebook): run in a worker thread.
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._run(requests, desc, on_result, meanwhile)).result()


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def check_endpoint(settings: JudgeSettings) -> None:
    """Fail fast, before any generation, if the judge endpoint cannot be reached at all (``GET /models``).

    Any HTTP answer (even 404 from a server without ``/models``) counts as reachable; only
    connection errors and timeouts, after the configured retries, fail, and so do a rejected key and a redirect
    (never followed: the key would go with it).

    Raises:
        JudgeConfigError: one line naming the endpoint.
    """
    import time

    openai = openai_sdk()

    key_var = "AZURE_OPENAI_API_KEY" if settings.azure_api_version else "OPENAI_API_KEY"
    url_var = "AZURE_OPENAI_ENDPOINT" if settings.azure_api_version else "OPENAI_BASE_URL"
    delay = settings.backoff_s
    with sdk_client(settings, asynchronous=False, timeout_s=min(settings.timeout_s, 30.0)) as client:
        for attempt in range(settings.max_retries + 1):
            try:
                client.models.with_raw_response.list()
                return
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in (401, 403):
                    raise JudgeConfigError(
                        f"judge endpoint {public_url(settings.base_url)} rejected the API key "
                        f"(HTTP {status}); check {key_var}") from None
                if 300 <= status < 400:
                    raise JudgeConfigError(
                        f"judge endpoint {public_url(settings.base_url)} redirects (HTTP {status}) to "
                        f"{public_url(exc.response.headers.get('location'))}; set {url_var} to the final URL"
                    ) from None
                return
            except openai.APIConnectionError as exc:  # refused, reset, timeout
                if attempt == settings.max_retries:
                    why = "timed out" if isinstance(exc, openai.APITimeoutError) else exc.__cause__ or exc
                    raise JudgeConfigError(
                        f"judge endpoint {public_url(settings.base_url)} unreachable after "
                        f"{settings.max_retries + 1} attempts (connection error: {why}); "
                        f"check {url_var}, or {HOW_TO}"
                    ) from None
                time.sleep(delay)
                delay = min(60.0, delay * 2)
