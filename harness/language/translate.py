"""``transeval translate``: machine-translate fields of a data set (JSONL or CSV), with provenance.

The translator is any OpenAI-compatible chat endpoint, reached exactly like the judge (``OPENAI_BASE_URL``,
``OPENAI_API_KEY``, or Azure OpenAI's ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION``;
the model from ``--model``, ``$TRANSEVAL_TRANSLATE_MODEL`` or :data:`DEFAULT_TRANSLATE_MODEL`, the deployment on
Azure), through the judge's client (the ``openai`` SDK, imported only when a text misses the cache) and cache
(:class:`~transeval.judges.client.JudgeClient`, :class:`~transeval.judges.cache.JudgeCache`): calls run
concurrently, retry on 429/5xx/timeouts, and a rerun makes no calls. The prompt is a rubric-like YAML file
(``judges/prompts/translate.yaml``) whose version and hash are in every cache key and in the provenance.

Which fields: ``--field`` (repeatable), or the task's metadata (``--task``): ``translate_fields`` (a list), else
``prompt_field`` (single-turn judged tasks; AdvBench's ``goal``), else ``turns_field`` (multi-turn judged tasks,
MT-bench's ``turns``). A list of strings is translated element by element.

Output: the same format, one row per input row. A translated field holds the translation and
``<field>_source`` the original; ``_translation`` (a JSON object; a JSON string in CSV) holds the row's provenance
(source file and SHA-256, fields, languages, translator model, served model, endpoint without credentials,
prompt ``name@version``, date, ``status`` ``ok``/``failed``, ``reason``). A row whose translation failed keeps its
original text, with the reason. ``<output>.provenance.json`` holds the same header and the counts.

The texts are evaluation data (harmful prompts among them): nothing here prints or logs them, only counts.

The practice of evaluating on machine-translated benchmark prompts follows TransLLM (Geng et al. 2024, "Why Not
Transform Chat Large Language Models to Non-English?", arXiv 2405.13923) and MultiJail (Deng et al. 2024,
"Multilingual Jailbreak Challenges in Large Language Models", ICLR 2024, arXiv 2310.06474).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import re
import string
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from transeval.core.errors import JudgeConfigError, TransevalError, one_line
from transeval.judges.cache import JudgeCache, cache_key
from transeval.judges.client import JudgeClient, JudgeRequest, JudgeResult, public_url
from transeval.judges.config import JudgeSettings, resolve_settings
from transeval.judges.rubric import read_named_yaml

__all__ = [
    "DEFAULT_TRANSLATE_MODEL", "DataFile", "TranslationPrompt", "TranslationSummary", "add_arguments",
    "extract_translation", "fields_from_task", "load_translation_prompt", "main", "read_data", "run",
    "translate_file", "translator_settings",
]

#: The default translator: a strong multilingual model on OpenAI's API (set ``$TRANSEVAL_TRANSLATE_MODEL`` or
#: ``--model`` for another, e.g. the model a local vLLM server serves).
DEFAULT_TRANSLATE_MODEL = "gpt-4o"
#: Completion budget per call: a Thai or Hindi translation can take 2-3 times the source's tokens.
DEFAULT_MAX_TOKENS = 4096
PROMPT_FIELDS = frozenset({"text", "source_language", "target_language", "field"})
_PROMPT_KEYS = {"name", "version", "description", "source", "system", "template", "labels", "examples"}
_PROMPT_REQUIRED = {"name", "version", "system", "template", "examples"}
_FORMATS = {".jsonl": "jsonl", ".csv": "csv"}
PROVENANCE_KEY = "_translation"
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "„": "“", "«": "»", "「": "」", "『": "』"}


def _prompts_dir() -> Path:
    import transeval.judges

    return Path(transeval.judges.__file__).resolve().parent / "prompts"


# --- the prompt file ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationExample:
    """A translator reply and the translation that must be extracted from it (None: no translation)."""

    reply: str
    expected: str | None
    source: str = ""


@dataclass(frozen=True)
class TranslationPrompt:
    """The translation prompt, loaded from a YAML file.

    Attributes:
        name: The file stem.
        version: Bumped whenever the prompt changes (part of the cache key and of the provenance).
        system: System message.
        template: User message with ``{text}`` (last, after a blank line) and optionally ``{source_language}``,
            ``{target_language}``, ``{field}``.
        labels: Reply prefixes that are not part of the translation ("Translation:", "译文：", ...).
        examples: Replies with the expected extraction, checked when the file is loaded.
        digest: SHA-256 of the file, so any edit invalidates cached translations.
    """

    name: str
    version: str
    description: str
    source: str
    system: str
    template: str
    labels: tuple[str, ...]
    examples: tuple[TranslationExample, ...]
    digest: str
    path: str

    @property
    def ident(self) -> str:
        """``name@version#digest``: what the cache key records about the prompt."""
        return f"{self.name}@{self.version}#{self.digest}"

    @property
    def label(self) -> str:
        """``name@version``, as written in the provenance."""
        return f"{self.name}@{self.version}"

    def render(self, values: Mapping[str, str]) -> list[dict[str, str]]:
        """The chat messages for one text."""
        user = self.template.format_map({k: values[k] for k in _fields(self.template)})
        return [*([{"role": "system", "content": self.system}] if self.system else []),
                {"role": "user", "content": user}]

    def extract(self, reply: str, source: str = "") -> tuple[str | None, str | None]:
        """The translation in a reply: see :func:`extract_translation`."""
        return extract_translation(reply, source, self.labels)

    def self_test(self) -> None:
        """Check every example reply extracts as expected.

        Raises:
            TransevalError: naming the file and the first failing example.
        """
        for i, ex in enumerate(self.examples):
            got, _ = self.extract(ex.reply, ex.source)
            if got != ex.expected:
                raise TransevalError(f"example reply extracts to {got!r}, expected {ex.expected!r}",
                                     file=self.path, field=f"examples[{i}]")


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def load_translation_prompt(path: Path | None = None) -> TranslationPrompt:
    """Load, validate and self-test a translation prompt (default: the bundled ``translate.yaml``).

    Raises:
        TransevalError: one line naming the file, line (for YAML syntax) and key.
    """
    path = path or _prompts_dir() / "translate.yaml"
    if not path.is_file():
        raise TransevalError("translation prompt not found", file=path)
    data = read_named_yaml(path, "a translation prompt", _PROMPT_KEYS, _PROMPT_REQUIRED)
    template = data["template"]
    if not isinstance(template, str):
        raise TransevalError("must be a string", file=path, field="template")
    try:
        used = _fields(template)
    except ValueError as exc:
        raise TransevalError(f"bad template ({exc})", file=path, field="template") from None
    unknown = sorted(used - PROMPT_FIELDS)
    if unknown or "" in used:
        raise TransevalError(f"unknown placeholder {{{unknown[0] if unknown else ''}}} (allowed: "
                             f"{', '.join('{' + f + '}' for f in sorted(PROMPT_FIELDS))})", file=path, field="template")
    if "text" not in used:
        raise TransevalError("the template needs {text}", file=path, field="template")
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
        raise TransevalError("must be a list of non-empty strings", file=path, field="labels")
    if not isinstance(data["examples"], list) or not data["examples"]:
        raise TransevalError("give at least one example reply with its expected translation", file=path,
                             field="examples")
    examples = []
    for i, ex in enumerate(data["examples"]):
        if not isinstance(ex, dict) or "reply" not in ex or "expected" not in ex or set(ex) - {
                "reply", "expected", "source"}:
            raise TransevalError("each example has reply, expected (and optionally source)", file=path,
                                 field=f"examples[{i}]")
        expected = ex["expected"]
        examples.append(TranslationExample(str(ex["reply"]), None if expected is None else str(expected),
                                           str(ex.get("source") or "")))
    prompt = TranslationPrompt(
        name=str(data["name"]), version=str(data["version"]), description=str(data.get("description") or ""),
        source=str(data.get("source") or ""), system=str(data["system"] or ""), template=template,
        labels=tuple(labels), examples=tuple(examples), digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        path=str(path))
    prompt.self_test()
    return prompt


# --- reading a translator's reply --------------------------------------------------------------------------------


def _label_patterns(labels: Sequence[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    alts = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True)) or r"(?!)"
    inline = re.compile(
        r"^[*_\s]*(?:[^\W\d_]+[ \t]+)?(?:" + alts + r")(?:[ \t]+(?:in|into|to)[ \t]+[^\W\d_]+)?"
        r"(?:[ \t]*\([^()\n]{0,40}\))?[*_ \t]*[:：][*_ \t]*", re.IGNORECASE)
    preamble = re.compile(r"^[^\n]{0,80}?(?<![^\W\d_])(?:" + alts + r")[^\n]{0,60}[:：][*_ \t]*\n", re.IGNORECASE)
    return inline, preamble


_FENCE = re.compile(r"^```[^\n`]*\n(.*?)\n?```$", re.DOTALL)


def extract_translation(reply: str, source: str = "", labels: Sequence[str] = ()) -> tuple[str | None, str | None]:
    """The translation in a translator's reply, or (None, reason).

    Stripped, in this order, unless the source text itself has the same shape: a code fence around the whole
    reply, a preamble line naming the translation ("Here is the translation into Thai:"), a leading label
    ("Translation:", "Thai translation (formal):", "译文："; the words come from the prompt's ``labels``), and a pair
    of quotes around the whole reply.

    Args:
        reply: The translator's reply.
        source: The text that was translated (its own quotes, fence or label are kept).
        labels: Label words of the prompt file.
    """
    text = reply.strip()
    src = source.strip()
    inline, preamble = _label_patterns(labels)
    fence = _FENCE.match(text)
    if fence and not src.startswith("```"):
        text = fence.group(1).strip()
    if not preamble.match(src):
        m = preamble.match(text)
        if m and text[m.end():].strip():
            text = text[m.end():].strip()
    if not inline.match(src):
        m = inline.match(text)
        if m:
            text = text[m.end():].strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]] \
            and _QUOTES[text[0]] not in text[1:-1] and src[:1] not in _QUOTES:
        text = text[1:-1].strip()
    if not text:
        return None, "empty translation"
    return text, None


# --- data files --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """A data set read into memory.

    Attributes:
        path: The file.
        fmt: ``jsonl`` or ``csv``.
        rows: (line number, record) per row.
        columns: The CSV header (JSONL: the keys in first-seen order).
        sha256: SHA-256 of the file's bytes.
    """

    path: Path
    fmt: str
    rows: tuple[tuple[int, dict[str, Any]], ...]
    columns: tuple[str, ...]
    sha256: str


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TransevalError(f"unsupported data format '{path.suffix}' (use .jsonl or .csv)", file=path)
    return fmt


def read_data(path: Path) -> DataFile:
    """Read a JSONL (one object per line) or CSV (with a header) file.

    Raises:
        TransevalError: naming file and line for a missing file, bad encoding, bad JSON, a ragged CSV row.
    """
    fmt = _format_of(path)
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    raw = path.read_bytes()
    rows: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    if fmt == "jsonl":
        from transeval.core.jsonl import read_jsonl

        for lineno, rec in read_jsonl(path):
            rows.append((lineno, rec))
            columns.update(dict.fromkeys(rec))
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TransevalError(f"not valid UTF-8 (byte {exc.start})", file=path) from None
        reader = csv.reader(text.splitlines(keepends=True))
        try:
            header = next(reader, None)
            if not header:
                raise TransevalError("empty CSV file (no header)", file=path, line=1)
            dupes = sorted({h for h in header if header.count(h) > 1})
            if dupes:
                raise TransevalError("duplicate column", file=path, line=1, field=dupes[0])
            columns.update(dict.fromkeys(header))
            last = reader.line_num
            for values in reader:
                start, last = last + 1, reader.line_num  # a quoted value may span lines: the row's first line
                if not values:
                    continue
                if len(values) != len(header):
                    raise TransevalError(f"{len(values)} values for {len(header)} columns", file=path, line=start)
                rows.append((start, dict(zip(header, values, strict=True))))
        except csv.Error as exc:
            raise TransevalError(f"malformed CSV ({exc})", file=path, line=reader.line_num) from None
    return DataFile(path, fmt, tuple(rows), tuple(columns), hashlib.sha256(raw).hexdigest())


def _texts(data: DataFile, fields: Sequence[str]) -> None:
    """Check every row has each field as a string or a list of strings, and no earlier translation columns."""
    if not fields:
        raise TransevalError("no field to translate: pass --field NAME (repeatable) or --task TASK", field="--field")
    dupes = sorted({f for f in fields if list(fields).count(f) > 1})
    if dupes:
        raise TransevalError("field given twice", field=dupes[0])
    for f in fields:
        if f not in data.columns:
            raise TransevalError(f"no such field (fields: {', '.join(data.columns) or 'none'})", file=data.path,
                                 field=f)
    for name in [PROVENANCE_KEY, *(f"{f}_source" for f in fields)]:
        if name in data.columns:
            raise TransevalError("the file already has this column (translated before?); translate the original",
                                 file=data.path, field=name)
    for lineno, rec in data.rows:
        for f in fields:
            value = rec.get(f, None)
            if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                continue
            got = "missing" if f not in rec else type(value).__name__
            raise TransevalError(f"must be a string or a list of strings, got {got}", file=data.path, line=lineno,
                                 field=f)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def _serialise(fmt: str, columns: Sequence[str], records: Sequence[dict[str, Any]]) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                         for k, v in r.items()})
    return buf.getvalue()


# --- fields from a task ------------------------------------------------------------------------------------------


class _TolerantLoader(yaml.SafeLoader):
    """Reads lm-eval task YAMLs: ``!function`` and other tags become their text."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")


def _task_yaml(task: str) -> Path:
    if task.endswith((".yaml", ".yml")) and Path(task).is_file():
        return Path(task)
    from transeval.core.paths import tasks_dir

    for path in sorted(tasks_dir().rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(rf"^task:\s*['\"]?{re.escape(task)}['\"]?\s*$", text, re.M):
            return path
    raise TransevalError(f"unknown task '{task}' (no YAML with `task: {task}` under the tasks folder)",
                         field="--task")


def _task_metadata(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TolerantLoader)  # noqa: S506 (safe subclass)
    except yaml.YAMLError:
        raise TransevalError("invalid YAML", file=path) from None
    if not isinstance(data, dict):
        raise TransevalError("a task YAML must be a mapping", file=path)
    meta = dict(data.get("metadata") or {})
    include = data.get("include")
    if isinstance(include, str) and (path.parent / include).is_file():
        meta = {**_task_metadata(path.parent / include), **meta}
    return meta


def fields_from_task(task: str) -> tuple[tuple[str, ...], Path | None]:
    """The fields to translate and the data file of a task, from its YAML ``metadata``.

    ``translate_fields`` (a list) wins; else ``prompt_field`` (single-turn tasks, AdvBench ``goal``); else
    ``turns_field`` or, for a judged task with ``source: multi_turn`` (the default), ``turns``.

    Args:
        task: A task name (searched in the bundled tasks folder) or a task YAML path.

    Returns:
        (fields, data file or None when the task has no ``data_file``).

    Raises:
        TransevalError: for an unknown task or one whose metadata names no text field.
    """
    from transeval.core.paths import resolve_data_file

    path = _task_yaml(task)
    meta = _task_metadata(path)
    explicit = meta.get("translate_fields")
    if explicit is not None:
        if not isinstance(explicit, list) or not explicit or not all(isinstance(f, str) for f in explicit):
            raise TransevalError("must be a list of field names", file=path, field="metadata.translate_fields")
        fields: tuple[str, ...] = tuple(explicit)
    elif meta.get("prompt_field") or meta.get("source") == "single_turn":
        fields = (str(meta.get("prompt_field") or "instruction"),)
    elif meta.get("turns_field") or meta.get("source") == "multi_turn":
        fields = (str(meta.get("turns_field") or "turns"),)
    else:
        raise TransevalError("the task's metadata names no text field (translate_fields, prompt_field or "
                             "turns_field); pass --field", file=path, field="metadata")
    data_file = resolve_data_file(str(meta["data_file"])) if meta.get("data_file") else None
    return fields, data_file


# --- translating -------------------------------------------------------------------------------------------------


def language_name(language: str) -> str:
    """The English name for one of our languages given by name or ISO 639-1 code (``th`` -> ``Thai``).

    Any other name is used as given, so any language the translator knows works.
    """
    from transeval.harness.language.langid import LANGUAGES

    for info in LANGUAGES.values():
        if language.strip().lower() in (info.name.lower(), info.code):
            return info.name
    return language.strip()


def _language_slug(language: str) -> str:
    from transeval.harness.language.langid import LANGUAGES

    info = LANGUAGES.get(language)
    return info.code if info else re.sub(r"\W+", "_", language.lower()).strip("_") or "translated"


def endpoint_label(base_url: str | None) -> str:
    """The endpoint as recorded: its URL without credentials, query or fragment (OpenAI's when not set)."""
    if not base_url:
        return "https://api.openai.com/v1"
    parts = urlsplit(public_url(base_url))
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def translator_settings(model: str | None = None, *, max_tokens: int | None = None, concurrency: int | None = None,
                        max_retries: int | None = None) -> JudgeSettings:
    """Endpoint settings for translation: the judge's, with the translator model.

    The judge's settings are ``OPENAI_*`` and ``TRANSEVAL_JUDGE_*`` (retries, timeout, concurrency, cache); the
    translator model is ``model``, else ``$TRANSEVAL_TRANSLATE_MODEL``, else :data:`DEFAULT_TRANSLATE_MODEL`;
    temperature 0 and a larger completion budget (``max_tokens``, default :data:`DEFAULT_MAX_TOKENS`).

    Raises:
        JudgeConfigError: when ``OPENAI_API_KEY`` is not set (``AZURE_OPENAI_API_KEY`` with
            ``AZURE_OPENAI_ENDPOINT``), or a number in the environment is malformed.
    """
    azure = bool(os.environ.get("AZURE_OPENAI_ENDPOINT", "").strip())
    if not azure and not os.environ.get("OPENAI_API_KEY", "").strip():
        raise JudgeConfigError(
            "no translator configured (OPENAI_API_KEY is not set): set OPENAI_API_KEY, and OPENAI_BASE_URL for "
            "any other OpenAI-compatible server (any key value for a local server without keys); "
            "TRANSEVAL_TRANSLATE_MODEL or --model picks the model")
    name = model or os.environ.get("TRANSEVAL_TRANSLATE_MODEL") or DEFAULT_TRANSLATE_MODEL
    s = resolve_settings(name)
    return replace(
        s, temperature=0.0, max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        concurrency=s.concurrency if concurrency is None else max(1, concurrency),
        max_retries=s.max_retries if max_retries is None else max(0, max_retries), max_answer_chars=0)


@dataclass(frozen=True)
class TranslationSummary:
    """What a translation run did.

    Attributes:
        output: The translated data file.
        provenance: The sidecar ``<output>.provenance.json``.
        rows: Rows in the file.
        translated: Rows translated (every text of every field).
        failed: Rows left untranslated, with a reason in their ``_translation``.
        calls: Requests that reached the endpoint (0 on a cached rerun).
        cached: Texts answered from the cache.
        failures: Failed rows by kind (``transport``, ``auth``, ``content``, ``empty``, ``refused``).
    """

    output: Path
    provenance: Path
    rows: int
    translated: int
    failed: int
    calls: int
    cached: int
    failures: dict[str, int] = field(default_factory=dict)
    copies: int = 0

    @property
    def echoing(self) -> bool:
        """The translator does not translate: half or more of the rows came back as copies or in another language."""
        return self.rows > 0 and 2 * max(self.copies, self.failures.get("untranslated", 0)) >= self.rows

    def line(self) -> str:
        """The one-line summary (counts only, never texts)."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.failures.items()))
        return (f"transeval: translate: {self.rows} rows -> {self.output}: {self.translated} translated, "
                f"{self.failed} failed{f' ({kinds})' if kinds else ''}; {self.calls} calls, {self.cached} cached; "
                f"provenance {self.provenance.name}")


@dataclass(frozen=True)
class _Item:
    """One text to translate: where it is and its request key (None for an empty text: no call)."""

    row: int
    field: str
    index: int | None
    text: str
    key: str | None


def _display_path(path: Path) -> str:
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def _reason_kind(result: JudgeResult) -> str:
    return result.error_kind or "transport"


def _translator_error(error: str) -> str:
    return re.sub(r"^(malformed )?judge\b", r"\1translator", error)


def translate_file(source: Path, output: Path, *, fields: Sequence[str], target_language: str,
                   source_language: str = "English", settings: JudgeSettings | None = None,
                   prompt_path: Path | None = None, date: str | None = None) -> TranslationSummary:
    """Translate ``fields`` of every row of ``source`` into ``target_language`` and write ``output``.

    Everything is checked before the first call (the prompt file and its examples, the data file, every row's
    fields). Identical texts are asked once. A row whose every text was translated has ``status: ok``; any
    failure leaves the whole row untranslated (``status: failed`` with the reason). Failures are not cached, so
    a rerun asks again for the failed rows only.

    Args:
        source: A ``.jsonl`` or ``.csv`` file.
        output: Where to write the translated file (same format as ``source``).
        fields: Fields to translate (strings, or lists of strings translated element-wise).
        target_language: Language name or ISO 639-1 code of ours (``th``).
        source_language: The texts' language.
        settings: Endpoint settings (default: :func:`translator_settings` from the environment).
        prompt_path: A translation prompt YAML (default: the bundled ``judges/prompts/translate.yaml``).
        date: The date recorded in the provenance (default: now, UTC, ISO 8601).

    Raises:
        TransevalError: for bad input, before any call.
    """
    prompt = load_translation_prompt(prompt_path)
    out_fmt = _format_of(output)
    if output.resolve() == source.resolve():
        raise TransevalError("the output would overwrite the source; choose another --output", file=output)
    data = read_data(source)
    _texts(data, fields)
    target, src_lang = language_name(target_language), language_name(source_language)
    if not target:
        raise TransevalError("give the target language", field="--target-language")
    settings = settings or translator_settings()
    endpoint_key = public_url(settings.base_url)

    items: list[_Item] = []
    requests: dict[str, JudgeRequest] = {}
    for r, (_, rec) in enumerate(data.rows):
        for f in fields:
            value = rec[f]
            for i, text in ([(None, value)] if isinstance(value, str) else list(enumerate(value))):
                key = None
                if text.strip():
                    messages = prompt.render({"text": text, "source_language": src_lang, "target_language": target,
                                              "field": f})
                    key = cache_key(settings.model, messages, settings.decoding, prompt.ident, endpoint_key)
                    requests.setdefault(key, JudgeRequest(key, messages))
                items.append(_Item(r, f, i, text, key))

    cache = JudgeCache(settings.cache_path)
    try:
        client = JudgeClient(settings, cache)
        keys = list(requests)
        results = dict(zip(keys, client.run([requests[k] for k in keys], desc=f"translating to {target}"),
                           strict=True))
    finally:
        cache.close()

    check_refusals = target != "English"
    by_row: dict[int, list[_Item]] = {}
    for it in items:
        by_row.setdefault(it.row, []).append(it)
    now = date or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    base = {
        "source_file": _display_path(source), "source_sha256": data.sha256, "fields": list(fields),
        "source_language": src_lang, "target_language": target, "translator_model": settings.model,
        "endpoint": endpoint_label(settings.base_url), "prompt": prompt.label, "prompt_sha256": prompt.digest,
        "date": now, "machine_translated": True,
    }
    records: list[dict[str, Any]] = []
    copied_rows: set[int] = set()
    failures: Counter[str] = Counter()
    served_all: set[str] = set()
    for r, (lineno, rec) in enumerate(data.rows):
        new: dict[str, Any] = {f: (rec[f] if isinstance(rec[f], str) else list(rec[f])) for f in fields}
        reason: str | None = None
        kind = ""
        served: str | None = None
        for it in by_row.get(r, []):
            if it.key is None:
                continue
            res = results[it.key]
            served = served or res.served_model
            where = it.field if it.index is None else f"{it.field}[{it.index}]"
            if res.text is None:
                reason, kind = f"{where}: {_translator_error(res.error or 'no reply')}", _reason_kind(res)
                break
            text, why = prompt.extract(res.text, it.text)
            if text is None:
                reason, kind = f"{where}: {why}", "empty"
                break
            if check_refusals and _is_english_refusal(text) and not _is_english_refusal(it.text):
                reason, kind = f"{where}: translator refused (its reply reads as an English refusal)", "refused"
                break
            if _same_text(text, it.text) and any(ch.isalpha() for ch in it.text):
                copied_rows.add(r)
            problem = language_problem(text, it.text, target)
            if problem is not None:
                reason, kind = f"{where}: untranslated: {problem}", "untranslated"
                break
            if it.index is None:
                new[it.field] = text
            else:
                new[it.field][it.index] = text
        if served:
            served_all.add(served)
        if reason is not None:
            failures[kind] += 1
            new = {f: rec[f] for f in fields}
        out = {k: (new[k] if k in new else v) for k, v in rec.items()}
        out.update({f"{f}_source": rec[f] for f in fields})
        out[PROVENANCE_KEY] = {**base, "source_line": lineno, "served_model": served,
                               "status": "failed" if reason else "ok", "reason": reason}
        records.append(out)

    columns = [*data.columns, *(f"{f}_source" for f in fields), PROVENANCE_KEY]
    _atomic_write(output, _serialise(out_fmt, columns, records))
    failed = sum(failures.values())
    cached = sum(1 for res in results.values() if res.cached)
    sidecar = output.with_name(output.name + ".provenance.json")
    header = {
        **base, "output_file": _display_path(output),
        "output_sha256": hashlib.sha256(output.read_bytes()).hexdigest(), "format": out_fmt,
        "served_models": sorted(served_all), "prompt_file": _display_path(Path(prompt.path)),
        "decoding": settings.decoding, "rows": len(records), "translated": len(records) - failed, "failed": failed,
        "failures": dict(sorted(failures.items())), "texts": len(items), "requests": len(requests),
        "calls": client.calls, "cached": cached,
    }
    _atomic_write(sidecar, json.dumps(header, ensure_ascii=False, indent=2) + "\n")
    return TranslationSummary(output, sidecar, len(records), len(records) - failed, failed, client.calls, cached,
                              dict(failures), len(copied_rows))


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def language_problem(translation: str, source: str, target: str) -> str | None:
    """Why ``translation`` is not a translation of ``source`` into ``target``, or None when it is one.

    Checked with the project's language ID (:func:`transeval.harness.language.langid.analyse`, the same rules as the
    ``wrong_language_rate`` of answers: names, terms, code and formulas do not count): a copy of the source (same
    text up to whitespace and case) that is not already in the target language, or an output not mainly in the
    target language. A copy of a source of two words or more that is not mainly in the target language is refused
    even when it is too short for a wrong-language verdict; a one-word copy (a name) is accepted. A target outside
    our languages cannot be checked (None).

    Args:
        translation: The translator's output.
        source: The text it translates.
        target: The target language (name or code).

    Returns:
        One line, or None.
    """
    from transeval.harness.language.langid import _BY_CODE, LANGUAGES, analyse

    info = LANGUAGES.get(target) or _BY_CODE.get(target.lower())
    if info is None:
        return None
    if _same_text(translation, source):
        of_source = analyse(source, info.code)
        share = dict(of_source.segments).get(info.code, 0.0) if of_source.segments else 1.0
        if of_source.wrong_language or (len(source.split()) >= 2 and share < 0.5):
            return f"the output is a copy of the source, not {info.name}"
        return None
    check = analyse(translation, info.code)
    if check.wrong_language:
        share = dict(check.segments).get(info.code, 0.0)
        return (f"the output is not in {info.name} (detected {check.detected.language}; {share:.0%} of its words "
                f"in {info.name})")
    return None


def _is_english_refusal(text: str) -> bool:
    from transeval.harness.language.refusal import is_refusal

    return is_refusal(text, ("en",)).refused


# --- command line ------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``transeval translate`` arguments to ``parser``."""
    parser.add_argument("data", type=Path, nargs="?",
                        help="a .jsonl or .csv file (default with --task: the task's data_file)")
    parser.add_argument("--to", "--target-language", dest="target_language", required=True,
                        help="target language, a name (Thai) or a code of ours (th)")
    parser.add_argument("--from", "--source-language", dest="source_language", default="English",
                        help="the texts' language (default English)")
    parser.add_argument("--field", action="append", default=[],
                        help="a field to translate (repeatable; a list of strings is translated element-wise)")
    parser.add_argument("--task", help="take the fields (and the default data file) from this task's metadata")
    parser.add_argument("-o", "--output", type=Path,
                        help="output file, same format (default: <name>.<language code>.<ext> in the current folder)")
    parser.add_argument("--model", help=f"translator model (default: $TRANSEVAL_TRANSLATE_MODEL or "
                        f"{DEFAULT_TRANSLATE_MODEL})")
    parser.add_argument("--prompt", type=Path, help="a translation prompt YAML (default: the bundled translate.yaml)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help=f"completion budget per text (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--concurrency", type=int, help="parallel calls (default $TRANSEVAL_JUDGE_CONCURRENCY or 8)")
    parser.add_argument("--max-retries", type=int,
                        help="retries on 429/5xx/timeouts (default $TRANSEVAL_JUDGE_MAX_RETRIES or 5)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when any row failed")


def _bundled_path(path: Path) -> Path:
    """A data path as given, else the bundled file it names, from any folder.

    ``tasks/advbench/data/x.csv`` or ``advbench/data/x.csv`` name a file of the installed package's tasks folder.
    """
    if path.exists() or path.is_absolute():
        return path
    from transeval.core.paths import tasks_dir

    parts = path.parts[1:] if path.parts and path.parts[0] == "tasks" else path.parts
    bundled = tasks_dir().joinpath(*parts) if parts else path
    return bundled if bundled.is_file() else path


def run(args: argparse.Namespace) -> int:
    """Run ``transeval translate`` from parsed arguments; prints the one-line summary.

    Returns:
        0, or 1 when every row failed (or any row, with ``--strict``), or when the translator does not translate
        (half the rows or more came back as copies of the source or not in the target language).

    Raises:
        TransevalError: for bad input or configuration (the CLI prints it as one line).
    """
    fields = list(args.field)
    data: Path | None = args.data
    if args.task:
        task_fields, task_data = fields_from_task(args.task)
        fields = fields or list(task_fields)
        data = data or task_data
    if data is None:
        raise TransevalError("no data file: give one, or --task for a task with a data_file", field="data")
    data = _bundled_path(data)
    target = language_name(args.target_language)
    output = args.output or Path.cwd() / f"{data.stem}.{_language_slug(target)}{data.suffix}"
    settings = translator_settings(args.model, max_tokens=args.max_tokens, concurrency=args.concurrency,
                                   max_retries=args.max_retries)
    summary = translate_file(data, output, fields=fields, target_language=target,
                             source_language=args.source_language, settings=settings, prompt_path=args.prompt)
    print(summary.line(), file=sys.stderr)
    if summary.echoing:
        print(f"transeval: error: the translator does not translate into {target}: {summary.copies} of "
              f"{summary.rows} rows came back unchanged, {summary.failures.get('untranslated', 0)} not in {target} "
              f"(see `reason` in {output.name}); check --model and the endpoint", file=sys.stderr)
        return 1
    if summary.failed and (args.strict or summary.failed == summary.rows):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m transeval.harness.language.translate``: the same as ``transeval translate``."""
    parser = argparse.ArgumentParser(
        prog="transeval translate",
        description="Machine-translate fields of a data set (JSONL or CSV) through an OpenAI-compatible endpoint, "
                    "with provenance.")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except TransevalError as exc:
        print(one_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
