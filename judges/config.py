"""Judge endpoint settings from the environment and run metadata. The API key only ever comes from the env."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from transeval.core.errors import JudgeConfigError

DEFAULT_JUDGE_MODEL = "gpt-4"  # as in both papers
HOW_TO = (
    "set OPENAI_API_KEY (and OPENAI_BASE_URL for any other OpenAI-compatible server, e.g. a local vLLM judge; "
    "TRANSEVAL_JUDGE_MODEL or --metadata judge_model=... picks the model), or pass --predict_only "
    "and run `transeval judge <output_path>` later"
)


def _env_number(name: str, default: float, positive: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise JudgeConfigError(f"must be a number, got '{raw}'", field=f"${name}") from None
    if not math.isfinite(value):
        raise JudgeConfigError(f"must be a finite number, got '{raw}'", field=f"${name}")
    if positive and value <= 0:
        raise JudgeConfigError(f"must be a positive number, got '{raw}'", field=f"${name}")
    return value


#: The endpoint a judge without ``OPENAI_BASE_URL`` talks to.
OPENAI_BASE_URL = "https://api.openai.com/v1"


def normalize_base_url(url: str, *, keep_credentials: bool = True, field: str = "$OPENAI_BASE_URL") -> str:
    """A base URL in one spelling: scheme and host lower-case, default port and trailing slashes dropped.

    ``http://Host:80/v1/`` and ``http://host/v1`` are one endpoint (one cache key, one judge). Without
    ``keep_credentials`` a ``user:password@`` in the URL is dropped (for anything written or printed).

    Raises:
        JudgeConfigError: when ``url`` is not an http(s) URL with a host.
    """
    import urllib.parse

    raw = url.strip()
    try:
        parts = urllib.parse.urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise JudgeConfigError(f"not a valid URL ({exc}): '{_safe(raw)}' (e.g. http://localhost:8000/v1)",
                               field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise JudgeConfigError(f"not an http(s) URL: '{_safe(raw)}' (e.g. http://localhost:8000/v1)",
                               field=field)
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    if keep_credentials and parts.username is not None:
        cred = parts.netloc.rpartition("@")[0]
        host = f"{cred}@{host}"
    path = parts.path.rstrip("/")
    return urllib.parse.urlunsplit((scheme, host, path, parts.query, ""))


def _safe(url: str) -> str:
    """``url`` with any ``user:password@`` removed (for messages)."""
    import re

    return re.sub(r"//[^/@]*@", "//", url)


def endpoint_of(settings: JudgeSettings) -> str:
    """The judge's endpoint as recorded with each judgment: the normalised base URL, never its credentials."""
    try:
        return normalize_base_url(settings.base_url or OPENAI_BASE_URL, keep_credentials=False)
    except JudgeConfigError:
        return _safe(settings.base_url or OPENAI_BASE_URL)


def default_cache_path() -> Path:
    """``$TRANSEVAL_CACHE_DIR/judge_cache.sqlite`` (default ``~/.cache/transeval``)."""
    from transeval.core.paths import cache_dir

    return cache_dir() / "judge_cache.sqlite"


@dataclass(frozen=True)
class JudgeSettings:
    """How to reach the judge.

    Attributes:
        model: Judge model name.
        base_url: OpenAI-compatible endpoint (None = OpenAI).
        api_key: Secret; excluded from repr and never written anywhere.
        temperature: Always 0 unless overridden (both papers use 0).
        max_tokens: Completion budget for the judge's explanation and rating.
        concurrency: Parallel judge calls.
        max_retries: Retries on 429, 5xx, timeouts and connection errors.
        timeout_s: Per-call timeout.
        backoff_s: First backoff delay; doubles per retry (with jitter), capped at 60 s.
        cache_path: Persistent judge cache.
        max_answer_chars: Answers longer than this are cut for the judge, with a marker (0 = no cap).
        azure_api_version: Set for Azure OpenAI (``OPENAI_API_VERSION``): ``base_url`` is then the resource
            endpoint (``AZURE_OPENAI_ENDPOINT``), ``model`` the deployment, the key goes in the ``api-key`` header.
    """

    model: str
    base_url: str | None
    api_key: str = field(repr=False)
    temperature: float = 0.0
    max_tokens: int = 2048
    concurrency: int = 8
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_s: float = 1.0
    cache_path: Path = field(default_factory=default_cache_path)
    max_answer_chars: int = 20000
    azure_api_version: str | None = None

    @property
    def decoding(self) -> dict[str, float | int]:
        """Decoding parameters (part of the cache key)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}


def resolve_settings(model: str | None = None, *, require_key: bool = True) -> JudgeSettings:
    """Settings from the environment; ``model`` (from the task or ``--metadata``) wins over the env.

    With ``AZURE_OPENAI_ENDPOINT`` set the judge is Azure OpenAI: key from ``AZURE_OPENAI_API_KEY``, API version
    from ``OPENAI_API_VERSION`` (both required), the judge model is the deployment name.

    Raises:
        JudgeConfigError: if no API key is set (and ``require_key``), or a number is malformed.
    """
    azure = os.environ.get("AZURE_OPENAI_ENDPOINT", "").strip()
    if azure:  # Azure OpenAI, configured with the SDK's own variables
        key = os.environ.get("AZURE_OPENAI_API_KEY", "")
        if require_key and not key.strip():
            raise JudgeConfigError(f"no judge configured (AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is "
                                   f"not): set AZURE_OPENAI_API_KEY and OPENAI_API_VERSION, or unset "
                                   f"AZURE_OPENAI_ENDPOINT and {HOW_TO}")
        version = os.environ.get("OPENAI_API_VERSION", "").strip()
        if not version:
            raise JudgeConfigError("must be set with AZURE_OPENAI_ENDPOINT (the Azure OpenAI API version, e.g. "
                                   "2024-10-21)", field="$OPENAI_API_VERSION")
        base_url: str | None = normalize_base_url(azure, field="$AZURE_OPENAI_ENDPOINT")
    else:
        key = os.environ.get("OPENAI_API_KEY", "")
        if require_key and not key.strip():
            raise JudgeConfigError(f"no judge configured (OPENAI_API_KEY is not set): {HOW_TO}")
        version = ""
        base_url = (normalize_base_url(os.environ["OPENAI_BASE_URL"])
                    if os.environ.get("OPENAI_BASE_URL", "").strip() else None)
    return JudgeSettings(
        model=model or os.environ.get("TRANSEVAL_JUDGE_MODEL") or DEFAULT_JUDGE_MODEL,
        base_url=base_url,
        api_key=key,
        temperature=_env_number("TRANSEVAL_JUDGE_TEMPERATURE", 0.0),
        max_tokens=int(_env_number("TRANSEVAL_JUDGE_MAX_TOKENS", 2048)),
        concurrency=max(1, int(_env_number("TRANSEVAL_JUDGE_CONCURRENCY", 8))),
        max_retries=max(0, int(_env_number("TRANSEVAL_JUDGE_MAX_RETRIES", 5))),
        timeout_s=_env_number("TRANSEVAL_JUDGE_TIMEOUT", 120.0, positive=True),
        backoff_s=_env_number("TRANSEVAL_JUDGE_BACKOFF", 1.0),
        max_answer_chars=max(0, int(_env_number("TRANSEVAL_JUDGE_MAX_ANSWER_CHARS", 20000))),
        azure_api_version=version or None,
    )
