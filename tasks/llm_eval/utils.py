"""LLM-Eval (LLMEval-1) questions: the bundled Chinese sample or the official ``data/dialogs.json``.

LLM-Eval as used by "LLaMA Beyond English" (Zhao et al. 2024, arXiv 2401.01055, Table 1) is LLMEval-1
(Zhang et al., "LLMEval: A Preliminary Study on How to Evaluate Large Language Models", AAAI 2024,
arXiv 2312.07398; https://github.com/llmeval/llmeval-1): 453 Chinese instructions in 17 categories.

:func:`load_questions` reads two formats and returns one row per question, ``{"question_id": str,
"category": str, "turns": [str], "reference": [str] | None}``:

(a) **JSON Lines** (file name ending in ``.jsonl``), one question per line, as in
    ``tasks/llm_eval/data/llm_eval_zh_sample.jsonl``: ``question_id``, ``category``, ``turns`` (a list with one
    string) and optionally ``reference`` (a list with one string). Each id may appear once.

(b) **A JSON document** (any other name), such as LLMEval-1's ``data/dialogs.json``. That file could not be
    read offline (it is stored outside git's blobs in every snapshot we could reach). What is known:

    * the repository's score tables (``data/分项测评_gpt4.csv``) key every answer by ``question_uuid``
      (``Classification_1``: category name, underscore, number) and ``dialog_uuid`` =
      ``<llm_name>_<question_uuid>`` (``ChatYuan-Large_Classification_1``), 12 models x 453 questions;
    * the Hugging Face copy's card (llmeval-fdu/LLMEval-1) calls ``dialogs.json`` "the 453 questions x 20 model
      responses, in conversation format" and shows entries starting ``{"question_uuid": ..., "dialog_uuid":
      ...}``;
    * the sister release LLMEval-2 (same lab, same card template) stores a top-level list of per-answer
      records ``{"question_uuid", "dialog_uuid", "llm_name", "dialog": [{"role": "user", "content": question},
      {"role": "llm", "content": answer}], "hint": reference, "type"}``; ``hint`` is the reference answer
      (sometimes a number) and the user text of one ``question_uuid`` differs between models in 80 of its
      480 questions (mostly whitespace, sometimes an edited wording, once a pasted answer).

    Assumed from that: the same record shape. Accepted, so that close variants load too:

    * top level: a list of records, or an object mapping keys to records (the key is the id fallback);
    * id: ``question_id``, ``question_uuid`` or ``id``; else ``dialog_uuid`` minus its ``<llm_name>_`` prefix;
      else the key;
    * question: ``turns`` (a list with one string), else ``question``/``instruction``/``prompt``/``query``,
      else the single user message of ``dialog``/``dialogs``/``conversation``/``conversations``/``messages``:
      a list of ``{"role"|"from": "user"|"human", "content"|"value": text}`` messages, or an object mapping
      model names to such lists (answers keyed per model); other roles (``llm``, ``assistant``, ...) are
      skipped; more than one user message is refused (LLM-Eval is single-turn);
    * category: ``category``, else the ``question_uuid`` prefix; it must be one of the 17 (case, spaces and
      hyphens are forgiven: ``math solving`` is ``Math_Solving``);
    * reference: ``reference``, ``ref_answer``, ``reference_answer``, ``hint``, or ``answer`` unless the record
      is one model's answer (it has ``llm_name``, ``model``, ``model_name`` or ``dialog_uuid``: its ``answer`` is
      that model's response, not a reference); missing or empty is ``None``.

    Records of the same question (one per model) are merged into one row. Texts are compared with whitespace
    removed; if they still differ, the text most records share is kept (with a warning) and a tie is an
    error, as are records of one question that disagree on the category.

Anything else (not JSON, a wrong top-level type, a record without id or question text, an unknown category,
``turns`` not a list of strings, a duplicate id in JSON Lines) raises :class:`TransevalError` naming the file,
the line (JSON Lines) or record (``record [3]``, ``record ['key']``) and the field.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError

log = logging.getLogger(__name__)

#: The 17 LLMEval-1 categories with their question counts (from the ``question_uuid`` column of
#: llmeval/llmeval-1 ``data/分项测评_gpt4.csv`` @ c23e5d39; 453 in all).
OFFICIAL_COUNTS: Mapping[str, int] = {
    "Classification": 20,
    "Code": 34,
    "Conversation": 15,
    "Factual_questions": 88,
    "Math_Solving": 24,
    "Open_questions": 39,
    "Outline_Generation": 17,
    "Paragraph_Generation": 18,
    "Poetry": 17,
    "Reading_Comprehension": 23,
    "Reasoning": 19,
    "Retrieval": 35,
    "Rewrite": 22,
    "Role_playing": 31,
    "Story_Generation": 17,
    "Summary": 14,
    "Translation": 20,
}
CATEGORIES: tuple[str, ...] = tuple(OFFICIAL_COUNTS)

ID_FIELDS = ("question_id", "question_uuid", "id")
TEXT_FIELDS = ("question", "instruction", "prompt", "query")
DIALOG_FIELDS = ("dialog", "dialogs", "conversation", "conversations", "messages")
REFERENCE_FIELDS = ("reference", "ref_answer", "reference_answer", "hint", "answer")
#: A record with one of these is one model's answer; its ``answer`` field is not a reference.
MODEL_FIELDS = ("llm_name", "model", "model_name", "dialog_uuid")
USER_ROLES = frozenset({"user", "human"})

_UUID = re.compile(r"^(?P<category>.+)_(?P<number>\d+)$")
_CANONICAL = {re.sub(r"[\s\-]+", "_", c.lower()): c for c in CATEGORIES}


@dataclass(frozen=True)
class _Where:
    """Where a record sits: a line of a JSON Lines file, or an index/key of a JSON document."""

    path: Path
    line: int | None = None
    record: str | None = None

    def error(self, message: str, field: str | None = None) -> TransevalError:
        """A :class:`TransevalError` pointing at this record."""
        prefix = f"record {self.record}: " if self.record is not None else ""
        return TransevalError(prefix + message, file=self.path, line=self.line, field=field)


@dataclass(frozen=True)
class _Candidate:
    """One record's reading of a question (several records of one question are merged later)."""

    question_id: str
    category: str
    text: str
    reference: tuple[str, ...] | None
    where: _Where
    id_field: str
    text_field: str
    category_field: str


def category_from_uuid(question_uuid: str) -> str | None:
    """The category encoded in an LLMEval-1 ``question_uuid`` (``Classification_1`` -> ``Classification``).

    Returns:
        The canonical category name, or ``None`` if the id has no known category prefix.
    """
    m = _UUID.match(question_uuid)
    return canonical_category(m.group("category")) if m else None


def canonical_category(name: str) -> str | None:
    """One of :data:`CATEGORIES` for ``name`` (ignoring case, spaces and hyphens), or ``None``."""
    return _CANONICAL.get(re.sub(r"[\s\-]+", "_", name.strip().lower()))


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Read LLM-Eval questions from our JSON Lines format or from LLMEval-1's ``dialogs.json``.

    The accepted shapes and the rules for merging several models' records of one question are in the module
    docstring.

    Args:
        path: A ``.jsonl`` file (one question per line) or a JSON document (list or object of records).

    Returns:
        One row per question in order of first appearance: ``question_id`` (str), ``category`` (one of
        :data:`CATEGORIES`), ``turns`` (a list with one string), ``reference`` (a list with one string, or None).

    Raises:
        TransevalError: naming the file, the line or record, and the field of the first problem.
    """
    path = Path(path)
    text = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        return _rows_from_jsonl(path, text)
    return _rows_from_json(path, text)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise TransevalError("questions file not found", file=path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TransevalError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    except OSError as exc:
        raise TransevalError(f"cannot read file ({exc.strerror})", file=path) from None


def _rows_from_jsonl(path: Path, text: str) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = _Where(path, line=lineno)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise where.error(f"not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise where.error(f"expected a JSON object, got {_kind(record)}")
        cand = _candidate(record, where, key=None)
        if cand.question_id in seen:
            raise where.error(f"duplicate question id '{cand.question_id}' (first on line {seen[cand.question_id]})",
                              cand.id_field)
        seen[cand.question_id] = lineno
        rows.append(_row(cand.question_id, cand.category, cand.text, cand.reference))
    if not rows:
        raise TransevalError("no questions in file", file=path)
    return rows


def _rows_from_json(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (if this is JSON Lines, one object per line, name the file .jsonl)" if exc.msg == "Extra data" else ""
        raise TransevalError(f"not valid JSON ({exc.msg}){hint}", file=path, line=exc.lineno) from None
    groups: dict[str, list[_Candidate]] = {}
    for where, key, record in _records(path, data):
        cand = _candidate(record, where, key)
        groups.setdefault(cand.question_id, []).append(cand)
    if not groups:
        raise TransevalError("no questions in file", file=path)
    rows = [_merge(cands) for cands in groups.values()]
    varied = sum(1 for cands in groups.values() if len({_squash(c.text) for c in cands}) > 1)
    if varied:
        log.warning("%s: %d question(s) have different texts in different records; kept the most common text",
                    path, varied)
    return rows


def _records(path: Path, data: Any) -> Iterator[tuple[_Where, str | None, dict[str, Any]]]:
    if isinstance(data, list):
        items: list[tuple[str, str | None, Any]] = [(f"[{i}]", None, r) for i, r in enumerate(data)]
    elif isinstance(data, dict):
        items = [(f"[{k!r}]", str(k), r) for k, r in data.items()]
    else:
        raise TransevalError(f"expected a list of records or an object of records at the top level, got {_kind(data)}",
                             file=path)
    for label, key, record in items:
        where = _Where(path, record=label)
        if not isinstance(record, dict):
            raise where.error(f"expected a JSON object, got {_kind(record)}")
        yield where, key, record


def _candidate(record: dict[str, Any], where: _Where, key: str | None) -> _Candidate:
    qid, id_field = _question_id(record, where, key)
    text, text_field = _question_text(record, where)
    if record.get("category") is not None:
        raw = record["category"]
        if not isinstance(raw, str):
            raise where.error(f"expected a string, got {_kind(raw)}", "category")
        category, category_field = canonical_category(raw), "category"
        shown = raw
    else:
        category, category_field, shown = category_from_uuid(qid), id_field, qid
    if category is None:
        known = ", ".join(CATEGORIES)
        if category_field == "category":
            raise where.error(f"'{shown}' is not one of the 17 LLMEval-1 categories ({known})", "category")
        raise where.error(f"no 'category' field, and the id '{shown}' is not '<category>_<number>' with one of the "
                          f"17 LLMEval-1 categories ({known})", category_field)
    return _Candidate(qid, category, text, _reference(record, where), where, id_field, text_field, category_field)


def _question_id(record: dict[str, Any], where: _Where, key: str | None) -> tuple[str, str]:
    for name in ID_FIELDS:
        if record.get(name) is not None:
            return _id_value(record[name], where, name), name
    llm = record.get("llm_name")
    prefix = f"{llm}_" if isinstance(llm, str) and llm else None
    dialog_uuid = record.get("dialog_uuid")
    if prefix and isinstance(dialog_uuid, str) and dialog_uuid.startswith(prefix) and dialog_uuid[len(prefix):].strip():
        return dialog_uuid[len(prefix):].strip(), "dialog_uuid"
    if key is not None and key.strip():
        if prefix and key.startswith(prefix) and key[len(prefix):].strip():
            key = key[len(prefix):]
        return key.strip(), "key"
    raise where.error(f"no question id (one of {', '.join(ID_FIELDS)})", "question_id")


def _id_value(value: Any, where: _Where, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise where.error(f"expected a string or integer id, got {_kind(value)}", field)
    text = str(value).strip()
    if not text:
        raise where.error("empty id", field)
    return text


def _question_text(record: dict[str, Any], where: _Where) -> tuple[str, str]:
    if "turns" in record:
        turns = record["turns"]
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise where.error(f"expected a list of strings, got {_kind(turns)}", "turns")
        if len(turns) != 1:
            raise where.error(f"expected exactly one turn (LLM-Eval is single-turn), got {len(turns)}", "turns")
        return _non_empty(turns[0], where, "turns"), "turns"
    for name in TEXT_FIELDS:
        if record.get(name) is not None:
            value = record[name]
            if not isinstance(value, str):
                raise where.error(f"expected a string, got {_kind(value)}", name)
            return _non_empty(value, where, name), name
    for name in DIALOG_FIELDS:
        if record.get(name) is not None:
            return _text_from_dialogs(record[name], where, name), name
    names = ", ".join(("turns", *TEXT_FIELDS, *DIALOG_FIELDS))
    raise where.error(f"no question text (one of {names})", "question")


def _text_from_dialogs(value: Any, where: _Where, field: str) -> str:
    if isinstance(value, list):
        return _user_text(value, where, field)
    if isinstance(value, dict) and value:  # answers keyed per model: {"GPT4.0": [messages], ...}
        texts = [_user_text(v, where, f"{field}.{k}") for k, v in value.items()]
        return _plurality(texts, where, field, "question text")
    raise where.error(f"expected a list of messages or an object of per-model message lists, got {_kind(value)}",
                      field)


def _user_text(messages: Any, where: _Where, field: str) -> str:
    if not isinstance(messages, list):
        raise where.error(f"expected a list of messages, got {_kind(messages)}", field)
    users = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise where.error(f"message {i}: expected an object, got {_kind(msg)}", field)
        role = msg.get("role", msg.get("from"))
        content = msg.get("content", msg.get("value"))
        if not isinstance(role, str):
            raise where.error(f"message {i}: no 'role' (or 'from') string", field)
        if role.strip().lower() in USER_ROLES:
            if not isinstance(content, str):
                raise where.error(f"message {i}: user message has no 'content' (or 'value') string", field)
            users.append(_non_empty(content, where, field))
    if not users:
        raise where.error("no user message", field)
    if len(users) > 1:
        raise where.error(f"{len(users)} user messages; LLM-Eval questions are single-turn", field)
    return users[0]


def _reference(record: dict[str, Any], where: _Where) -> tuple[str, ...] | None:
    per_model = any(record.get(name) is not None for name in MODEL_FIELDS)
    for name in REFERENCE_FIELDS:
        if name == "answer" and per_model:
            continue
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            raise where.error("expected a string or a list of one string, got a boolean", name)
        if isinstance(value, (int, float)):
            return (str(value),)
        if isinstance(value, str):
            return (value,) if value.strip() else None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if len(value) > 1:
                raise where.error(f"expected one reference (one turn), got {len(value)}", name)
            return tuple(value) if value and value[0].strip() else None
        raise where.error(f"expected a string or a list of one string, got {_kind(value)}", name)
    return None


def _merge(cands: list[_Candidate]) -> dict[str, Any]:
    first = cands[0]
    for c in cands[1:]:
        if c.category != first.category:
            raise c.where.error(f"question '{c.question_id}' has category '{c.category}' here but "
                                f"'{first.category}' in record {first.where.record}", c.category_field)
    text = _plurality([c.text for c in cands], cands[-1].where, cands[-1].text_field, "question text",
                      qid=first.question_id)
    refs = [c.reference for c in cands if c.reference is not None]
    reference = None
    if refs:
        chosen = _plurality(["\n".join(r) for r in refs], cands[-1].where, "reference", "reference",
                            qid=first.question_id)
        reference = next(r for r in refs if "\n".join(r) == chosen)
    return _row(first.question_id, first.category, text, reference)


def _plurality(texts: list[str], where: _Where, field: str, what: str, qid: str | None = None) -> str:
    """The text most records agree on (whitespace ignored), first spelling kept; a tie is an error."""
    counts = Counter(_squash(t) for t in texts)
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        of = f" of question '{qid}'" if qid else ""
        raise where.error(f"the records disagree on the {what}{of} ({len(ranked)} different versions, "
                          f"no majority)", field)
    best = ranked[0][0]
    return next(t for t in texts if _squash(t) == best)


def _row(qid: str, category: str, text: str, reference: tuple[str, ...] | None) -> dict[str, Any]:
    return {"question_id": qid, "category": category, "turns": [text],
            "reference": list(reference) if reference else None}


def _non_empty(value: str, where: _Where, field: str) -> str:
    if not value.strip():
        raise where.error("empty question text", field)
    return value


def _squash(text: str) -> str:
    return "".join(text.split())


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def load_rows(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Judged-task loader (``metadata.loader``): ``metadata.data_file`` or the bundled Chinese sample."""
    from transeval.core.paths import resolve_data_file

    value = meta.get("data_file") or "llm_eval/data/llm_eval_zh_sample.jsonl"
    return load_questions(resolve_data_file(str(value)))
