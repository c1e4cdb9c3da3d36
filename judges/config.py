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

    @property
    def decoding(self) -> dict[str, float | int]:
        """Decoding parameters (part of the cache key)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}


def resolve_settings(model: str | None = None, *, require_key: bool = True) -> JudgeSettings:
    """Settings from the environment; ``model`` (from the task or ``--metadata``) wins over the env.

    Raises:
        JudgeConfigError: if no API key is set (and ``require_key``), or a number is malformed.
    """
    key = os.environ.get("OPENAI_API_KEY", "")
    if require_key and not key.strip():
        raise JudgeConfigError(f"no judge configured (OPENAI_API_KEY is not set): {HOW_TO}")
    return JudgeSettings(
        model=model or os.environ.get("TRANSEVAL_JUDGE_MODEL") or DEFAULT_JUDGE_MODEL,
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
        api_key=key,
        temperature=_env_number("TRANSEVAL_JUDGE_TEMPERATURE", 0.0),
        max_tokens=int(_env_number("TRANSEVAL_JUDGE_MAX_TOKENS", 2048)),
        concurrency=max(1, int(_env_number("TRANSEVAL_JUDGE_CONCURRENCY", 8))),
        max_retries=max(0, int(_env_number("TRANSEVAL_JUDGE_MAX_RETRIES", 5))),
        timeout_s=_env_number("TRANSEVAL_JUDGE_TIMEOUT", 120.0, positive=True),
        backoff_s=_env_number("TRANSEVAL_JUDGE_BACKOFF", 1.0),
        max_answer_chars=max(0, int(_env_number("TRANSEVAL_JUDGE_MAX_ANSWER_CHARS", 20000))),
    )
