"""A persistent, content-keyed cache of judge replies (SQLite, one commit per reply, safe to share)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CachedReply:
    """A judge reply as stored."""

    text: str
    prompt_tokens: int
    completion_tokens: int


def cache_key(model: str, messages: list[dict[str, str]], decoding: dict[str, Any], rubric_id: str) -> str:
    """SHA-256 over everything that determines a judge reply.

    Args:
        model: Judge model name.
        messages: The rendered prompt.
        decoding: Temperature, max tokens, ...
        rubric_id: ``name@version#digest`` of the rubric, so an edited rubric never reuses old replies.
    """
    payload = json.dumps(
        {"model": model, "messages": messages, "decoding": decoding, "rubric": rubric_id},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class JudgeCache:
    """Key -> reply store. Only successful replies are stored; failures are retried on the next run."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, reply TEXT, "
            "prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
        )

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for ``key``, if any."""
        row = self._db.execute(
            "SELECT reply, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else CachedReply(row[0], int(row[1]), int(row[2]))

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store a reply (committed immediately, so a crash loses nothing already judged)."""
        self._db.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
            (key, model, reply.text, reply.prompt_tokens, reply.completion_tokens, time.time()),
        )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
