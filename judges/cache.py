"""A persistent, content-keyed cache of judge replies (SQLite, one commit per reply, safe to share).

Several processes may judge with one cache at once: before calling the endpoint a process *claims* the key;
another process that needs the same key waits for the reply instead of calling too. Claims of processes that
died (kill -9) are ignored, so a restart calls only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError

_HOST = socket.gethostname()


@dataclass(frozen=True)
class CachedReply:
    """A judge reply as stored."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    served_model: str | None = None


def cache_key(model: str, messages: list[dict[str, str]], decoding: dict[str, Any], rubric_id: str,
              endpoint: str | None = None) -> str:
    """SHA-256 over everything that determines a judge reply.

    Args:
        model: Judge model name.
        messages: The rendered prompt.
        decoding: Temperature, max tokens, ...
        rubric_id: ``name@version#digest`` of the rubric, so an edited rubric never reuses old replies.
        endpoint: The endpoint's base URL without credentials (None = OpenAI): "gpt-4" on two servers is two
            models.
    """
    payload = json.dumps(
        {"model": model, "messages": messages, "decoding": decoding, "rubric": rubric_id, "endpoint": endpoint},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()


def _alive(pid: int, host: str) -> bool:
    if host != _HOST:
        return True  # another machine's process: trust its claim until it goes stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JudgeCache:
    """Key -> reply store. Only successful replies are stored; failures are retried on the next run.

    Raises:
        TransevalError: naming the file when the cache path is a folder, sits under a file, or is not a
            SQLite database.
    """

    def __init__(self, path: Path, stale_after_s: float = 900.0) -> None:
        self.path = path
        self.stale_after_s = stale_after_s
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise TransevalError("cache folder is a file; point TRANSEVAL_CACHE_DIR at a folder",
                                 file=path.parent) from None
        if path.is_dir():
            raise TransevalError("judge cache path is a folder", file=path)
        try:
            self._db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL syncs at checkpoints, not at every commit: a killed process loses no committed reply
            # (only a power cut can drop the last few, which are then judged again); an fsync per reply and claim
            # cost more than the judge's own CPU at 64 requests in flight (bench/judge_vs_fastchat.py).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, reply TEXT, "
                "prompt_tokens INTEGER, completion_tokens INTEGER, created REAL, served_model TEXT)"
            )
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(replies)")}
            if "served_model" not in columns:  # a cache written by transeval 0.1
                self._db.execute("ALTER TABLE replies ADD COLUMN served_model TEXT")
            self._db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, pid INTEGER, host TEXT, "
                             "since REAL)")
        except sqlite3.OperationalError as exc:  # full disk, read-only folder, no permission
            raise TransevalError(f"cannot open the judge cache ({exc}); free some space or set TRANSEVAL_CACHE_DIR "
                                 "to a writable folder (replies already stored are kept)", file=path) from None
        except sqlite3.DatabaseError as exc:
            raise TransevalError(f"not a usable judge cache ({exc}); move it away or set TRANSEVAL_CACHE_DIR",
                                 file=path) from None

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for ``key``, if any."""
        row = self._db.execute(
            "SELECT reply, prompt_tokens, completion_tokens, served_model FROM replies WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else CachedReply(row[0], int(row[1]), int(row[2]), row[3])

    def _failed(self, exc: sqlite3.Error) -> TransevalError:
        """A write the database refused (full disk, read-only, locked too long) as one line naming the file."""
        return TransevalError(f"cannot write the judge cache ({exc}); free some space or set TRANSEVAL_CACHE_DIR "
                              "to a writable folder (replies already stored are kept)", file=self.path)

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store a reply (committed immediately, so a crash loses nothing already judged) and drop the claim.

        Raises:
            TransevalError: naming the cache file when the database cannot be written (e.g. a full disk).
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")  # the reply and the end of the claim in one transaction
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (key, model, reply, prompt_tokens, completion_tokens, created, "
                "served_model) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, reply.text, reply.prompt_tokens, reply.completion_tokens, time.time(),
                 reply.served_model),
            )
            self.release(key)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._failed(exc) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction left to roll back (sqlite ends it itself on some errors)

    def claim(self, key: str) -> bool:
        """Take the right to call the endpoint for ``key``.

        False while a live process holds it, and False once a reply is stored (another process may have
        answered it since the caller's last :meth:`get`): the caller then reads the reply instead of calling.
        """
        now = time.time()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            if self._db.execute("SELECT 1 FROM replies WHERE key = ?", (key,)).fetchone() is not None:
                self._db.execute("COMMIT")
                return False
            row = self._db.execute("SELECT pid, host, since FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None and (row[0], row[1]) != (os.getpid(), _HOST) and _alive(row[0], row[1]) \
                    and now - row[2] < self.stale_after_s:
                self._db.execute("COMMIT")
                return False
            self._db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", (key, os.getpid(), _HOST, now))
            self._db.execute("COMMIT")
            return True
        except sqlite3.Error as exc:
            self._rollback()
            raise self._failed(exc) from None
        except BaseException:
            self._rollback()
            raise

    def claimed_elsewhere(self, key: str) -> bool:
        """Whether a live process other than this one still holds the claim on ``key``."""
        row = self._db.execute("SELECT pid, host, since FROM claims WHERE key = ?", (key,)).fetchone()
        return row is not None and (row[0], row[1]) != (os.getpid(), _HOST) and _alive(row[0], row[1]) \
            and time.time() - row[2] < self.stale_after_s

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key`` (after a reply, or a failure another process may retry)."""
        try:
            self._db.execute("DELETE FROM claims WHERE key = ? AND pid = ? AND host = ?", (key, os.getpid(), _HOST))
        except sqlite3.Error:
            if self._db.in_transaction:
                raise  # inside put(): reported there
            # a claim left behind is ignored once this process ends (dead claims do not count)

    def close(self) -> None:
        """Close the database."""
        self._db.close()
