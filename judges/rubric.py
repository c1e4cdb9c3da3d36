r"""Rubrics: a judge prompt, how to read its reply, and self-testing examples, loaded from YAML files.

Bundled rubrics live in ``judges/rubrics/``; a user's own rubrics in ``--rubrics-dir`` / ``$TRANSEVAL_RUBRICS_DIR``
(which win on a name clash). Three kinds:

* ``single``: one rating per answer (``score_pattern`` with one group, e.g. ``\[\[(\d+\.?\d*)\]\]``);
* ``aspects``: several named ratings from one call, replied as a JSON object (``aspects:`` gives each scale);
* ``pairwise``: a verdict between two answers (``score_pattern`` capturing ``A``, ``B`` or the ``tie_label``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transeval.core.errors import TransevalError
from transeval.judges.parse import own_value

RUBRICS_DIR = Path(__file__).resolve().parent / "rubrics"
KINDS = ("single", "aspects", "pairwise")
_KEYS = {
    "name", "version", "description", "source", "kind", "metric", "scale", "needs_reference", "multi_turn",
    "system", "template", "score_pattern", "fallback_pattern", "examples", "aspects", "tie_label",
}
_REQUIRED = {"name", "version", "system", "template", "examples"}
_KEYS.add("labels")  # a single rubric's named verdicts -> numbers (safety: safe / unsafe / invalid)
#: Template fields the judging step can fill, by kind (plus a task's own ``extra`` fields).
FIELDS = {
    "single": {"question", "answer", "question_1", "question_2", "answer_1", "answer_2", "ref_answer_1",
               "ref_answer_2", "language"},
    "aspects": {"question", "answer", "question_1", "question_2", "answer_1", "answer_2", "ref_answer_1",
                "ref_answer_2", "language"},
    "pairwise": {"question", "answer_a", "answer_b", "question_1", "question_2", "answer_a_1", "answer_a_2",
                 "answer_b_1", "answer_b_2", "ref_answer_1", "ref_answer_2", "language"},
}


@dataclass(frozen=True)
class RubricExample:
    """A judge reply with what the rubric must parse from it (None = unparsable)."""

    reply: str
    expected: Any
    answer: str = ""
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedScore:
    """A rating parsed from a judge reply, or None with the reason."""

    score: float | None
    reason: str | None


@dataclass(frozen=True)
class ParsedAspects:
    """Each aspect's rating (None with a reason when missing or out of range)."""

    scores: dict[str, float | None]
    reasons: dict[str, str]

    @property
    def mean(self) -> float | None:
        """Mean over the scored aspects."""
        vals = [v for v in self.scores.values() if v is not None]
        return sum(vals) / len(vals) if vals else None


@dataclass(frozen=True)
class Aspect:
    """One named rating of an ``aspects`` rubric."""

    name: str
    scale: tuple[float, float]
    description: str = ""


@dataclass(frozen=True)
class Rubric:
    """One judge prompt.

    Attributes:
        name: Unique name (the file stem).
        version: Bumped whenever the prompt changes (part of the cache key).
        kind: ``single``, ``aspects`` or ``pairwise``.
        metric: The metric its scores appear as (default: the name; a task's own rubric always reports ``score``).
        scale: Inclusive (min, max) of valid ratings; max may name a value (``"{max_score}"``): the question's
            own point value.
        system: System message.
        template: User message with ``{question}``-style fields.
        score_pattern: Regex with one group: the rating (or verdict). The judge's own last match wins.
        fallback_pattern: Tried only when ``score_pattern`` never matches.
        needs_reference: Whether the template shows reference answers.
        multi_turn: Whether the template shows the whole conversation.
        aspects: For ``aspects`` rubrics: the named ratings.
        tie_label: For ``pairwise`` rubrics: the captured value meaning a tie (FastChat: ``C``).
        labels: For ``single`` rubrics whose verdict is a word: ``(label, value)`` pairs; the captured word
            (case-insensitive) is stored as its value, and each label ``L`` is reported as the rate ``L_rate``.
        examples: Replies with their expected parse, checked by the test suite.
        digest: SHA-256 of the rubric file, so any edit invalidates cached judgments.
    """

    name: str
    version: str
    kind: str
    metric: str
    scale: tuple[float, float | str]
    system: str
    template: str
    score_pattern: str
    fallback_pattern: str | None
    needs_reference: bool
    multi_turn: bool
    examples: tuple[RubricExample, ...]
    description: str
    source: str
    digest: str
    path: str
    aspects: tuple[Aspect, ...] = ()
    tie_label: str = "C"
    labels: tuple[tuple[str, float], ...] = ()

    @property
    def fields(self) -> set[str]:
        """The placeholders the system message and template need."""
        return {f for text in (self.system, self.template) for _, f, _, _ in string.Formatter().parse(text) if f}

    @property
    def ident(self) -> str:
        """``name@version#digest``: what the cache key records about the rubric."""
        return f"{self.name}@{self.version}#{self.digest}"

    def check_fields(self, available: set[str], task: str) -> None:
        """Fail before any generation if the template needs a field the task cannot fill.

        Raises:
            TransevalError: naming the rubric file and the field.
        """
        missing = sorted(self.fields - available)
        if missing:
            raise TransevalError(
                f"template uses {{{missing[0]}}}, which task '{task}' cannot fill "
                f"(available: {', '.join(sorted(available))})", file=self.path, field="template")

    def json_schema(self) -> dict[str, Any] | None:
        """The ``response_format`` JSON schema for ``aspects`` rubrics (None for the others)."""
        if self.kind != "aspects":
            return None
        props = {a.name: {"type": "number"} for a in self.aspects}
        return {"name": self.name.replace(".", "_")[:64], "strict": True, "schema": {
            "type": "object", "properties": {"explanation": {"type": "string"}, **props},
            "required": ["explanation", *props], "additionalProperties": False}}

    def render(self, values: Mapping[str, str]) -> list[dict[str, str]]:
        """The chat messages for the judge.

        Raises:
            TransevalError: if the template needs a value that is not given.
        """
        missing = self.fields - set(values)
        if missing:
            raise TransevalError(f"rubric needs {sorted(missing)}", file=self.path, field="template")
        fill = {k: values[k] for k in self.fields}
        user = self.template.format_map(fill)
        system = self.system.format_map(fill) if self.system else ""
        messages = [{"role": "system", "content": system}] if system else []
        return [*messages, {"role": "user", "content": user}]

    def max_score(self, values: Mapping[str, str] | None = None) -> float:
        """The top of the scale (resolved from ``values`` when it names a field).

        Raises:
            TransevalError: if the named value is missing or not a number.
        """
        top = self.scale[1]
        if isinstance(top, float | int):
            return float(top)
        try:
            return float(top.format_map(dict(values or {})))
        except (KeyError, ValueError):
            raise TransevalError(f"scale maximum {top!r} needs a number", file=self.path, field="scale") from None

    def parse(self, reply: str, answers: Sequence[str] = (), values: Mapping[str, str] | None = None) -> ParsedScore:
        """The judge's own rating in ``reply`` (see :mod:`transeval.judges.parse` for the rule)."""
        raw, reason = own_value(reply, (self.score_pattern, self.fallback_pattern), answers)
        if raw is None:
            return ParsedScore(None, reason)
        if self.labels:
            named = dict(self.labels).get(raw.strip().casefold())
            return ParsedScore(named, None) if named is not None else ParsedScore(None, f"unknown verdict '{raw}'")
        try:
            value = float(raw)
        except ValueError:
            return ParsedScore(None, f"unparsable rating '{raw}'")
        lo, hi = self.scale[0], self.max_score(values)
        if not lo <= value <= hi:
            return ParsedScore(None, f"rating {raw} outside {lo:g}-{hi:g}")
        return ParsedScore(value, None)

    def parse_verdict(self, reply: str, answers: Sequence[str] = ()) -> tuple[str | None, str | None]:
        """A pairwise verdict: ("A" | "B" | "tie", None) or (None, reason)."""
        raw, reason = own_value(reply, (self.score_pattern, self.fallback_pattern), answers)
        if raw is None:
            return None, reason.replace("rating", "verdict") if reason else reason
        raw = raw.strip()
        if raw == self.tie_label or raw.lower() == "tie":
            return "tie", None
        if raw in ("A", "B"):
            return raw, None
        return None, f"unknown verdict '{raw}'"

    def parse_aspects(self, reply: str) -> ParsedAspects:
        """Each aspect's rating from a JSON object in the reply.

        The object is the whole reply, a fenced block, or a balanced ``{...}`` span that parses (the one with the
        most aspect keys); an aspect missing, not a number or out of its scale is None with the reason.
        """
        obj = _json_object(reply, {a.name for a in self.aspects})
        scores: dict[str, float | None] = {}
        reasons: dict[str, str] = {}
        for a in self.aspects:
            if obj is None:
                scores[a.name], reasons[a.name] = None, "no JSON object with the aspects in judge reply"
                continue
            raw = obj.get(a.name)
            if raw is None:
                scores[a.name], reasons[a.name] = None, f"aspect '{a.name}' missing from judge reply"
            elif isinstance(raw, bool) or not isinstance(raw, int | float | str):
                scores[a.name], reasons[a.name] = None, f"aspect '{a.name}' is not a number"
            else:
                try:
                    value = float(raw)
                except ValueError:
                    scores[a.name], reasons[a.name] = None, f"aspect '{a.name}' is not a number: {raw!r}"
                    continue
                lo, hi = a.scale
                if lo <= value <= hi:
                    scores[a.name] = value
                else:
                    scores[a.name], reasons[a.name] = None, f"aspect '{a.name}' = {raw} outside {lo:g}-{hi:g}"
        return ParsedAspects(scores, reasons)


def _json_object(reply: str, wanted: set[str]) -> dict[str, Any] | None:
    """The JSON object in a judge reply that has the most of the wanted keys (None if none has any)."""
    texts = [reply.strip()]
    texts += [m.group(1) for m in re.finditer(r"```(?:json)?\s*(.*?)```", reply, re.S)]
    depth, start = 0, -1
    for i, ch in enumerate(reply):  # every balanced {...} span
        if ch == "{":
            depth, start = depth + 1, i if depth == 0 else start
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                texts.append(reply[start:i + 1])
    best: dict[str, Any] | None = None
    for text in texts:
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and wanted & set(obj) and (best is None or len(wanted & set(obj)) >= len(
                wanted & set(best))):
            best = obj
    return best


def _scale(value: Any, path: Path, where: str) -> tuple[float, float | str]:
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int | float)
            and isinstance(value[1], int | float | str)):
        raise TransevalError("scale must be [min, max] (max a number or a \"{field}\")", file=path, field=where)
    lo, hi = value
    if not isinstance(hi, str) and not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise TransevalError(f"scale must be [min, max] with min < max, got [{lo:g}, {hi:g}]", file=path,
                             field=where)
    return float(lo), hi if isinstance(hi, str) else float(hi)


def _check_template(text: str, path: Path, where: str) -> None:
    """Balanced braces and named placeholders only (``{question}``); literal braces are ``{{`` and ``}}``."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TransevalError(f"{exc} (write {{{{ and }}}} for a literal brace)", file=path, field=where) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TransevalError(f"placeholder {shown} is not a plain field name like {{question}} (write {{{{ "
                                 "and }} for a literal brace)", file=path, field=where)


def read_named_yaml(path: Path, what: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    """Read a strict YAML mapping whose ``name`` is its file name (rubrics, the translation prompt).

    Raises:
        TransevalError: one line naming the file, line (for YAML syntax) and key: invalid YAML or UTF-8, not a
            mapping, an unknown or missing key, a name that is not the file name.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise TransevalError("invalid YAML", file=path, line=None if line is None else line + 1) from None
    except UnicodeDecodeError:
        raise TransevalError("not UTF-8 text", file=path) from None
    if not isinstance(data, dict):
        raise TransevalError(f"{what} must be a mapping", file=path)
    for key in data:
        if key not in keys:
            raise TransevalError(f"unknown key (allowed: {', '.join(sorted(keys))})", file=path, field=str(key))
    for key in sorted(required):
        if key not in data:
            raise TransevalError("missing required key", file=path, field=key)
    if str(data["name"]) != path.stem:
        raise TransevalError(f"name must equal the file name '{path.stem}'", file=path, field="name")
    return data


def _labels(value: Any, path: Path, scale: tuple[float, float | str]) -> tuple[tuple[str, float], ...]:
    """``labels: {word: number, ...}`` of a single rubric, each number inside the scale."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        raise TransevalError("labels must map each verdict word to a number", file=path, field="labels")
    out = []
    for word, number in value.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool) or isinstance(scale[1], str) \
                or not scale[0] <= number <= scale[1] or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(word)):
            raise TransevalError("a label is a word (letters, digits, _) mapped to a number inside the scale",
                                 file=path, field=f"labels.{word}")
        out.append((str(word).casefold(), float(number)))
    return tuple(out)


def load_rubric_file(path: Path) -> Rubric:
    """Load and validate one rubric file.

    Raises:
        TransevalError: one line naming the file, line (for YAML syntax) and key.
    """
    data = read_named_yaml(path, "a rubric", _KEYS, _REQUIRED)
    kind = str(data.get("kind") or ("aspects" if data.get("aspects") else "single"))
    if kind not in KINDS:
        raise TransevalError(f"kind must be one of {', '.join(KINDS)}", file=path, field="kind")
    aspects: list[Aspect] = []
    if kind == "aspects":
        raw_aspects = data.get("aspects")
        if not isinstance(raw_aspects, dict) or not raw_aspects:
            raise TransevalError("an aspects rubric needs a mapping of aspect -> {scale, description}", file=path,
                                 field="aspects")
        for name, spec in raw_aspects.items():
            if not isinstance(spec, dict) or "scale" not in spec:
                raise TransevalError("needs scale: [min, max]", file=path, field=f"aspects.{name}")
            lo, hi = _scale(spec["scale"], path, f"aspects.{name}.scale")
            if isinstance(hi, str):
                raise TransevalError("aspect scales must be numbers", file=path, field=f"aspects.{name}.scale")
            aspects.append(Aspect(str(name), (lo, hi), str(spec.get("description", ""))))
        scale: tuple[float, float | str] = (min(a.scale[0] for a in aspects), max(a.scale[1] for a in aspects))
    elif kind == "pairwise":
        scale = (0.0, 1.0)
    else:
        if "scale" not in data:
            raise TransevalError("missing required key", file=path, field="scale")
        scale = _scale(data["scale"], path, "scale")
    for key in ("system", "template"):
        _check_template(str(data[key] or ""), path, key)
    default_pattern = {"pairwise": r"\[\[(A|B|C)\]\]", "aspects": r"(\d)(?!)"}.get(kind)
    pattern = data.get("score_pattern") or default_pattern
    if pattern is None:
        raise TransevalError("missing required key", file=path, field="score_pattern")
    for key, regex in (("score_pattern", pattern), ("fallback_pattern", data.get("fallback_pattern"))):
        if regex is not None:
            try:
                if re.compile(regex).groups != 1:
                    raise TransevalError("needs exactly one group", file=path, field=key)
            except re.error as exc:
                raise TransevalError(f"bad regex: {exc}", file=path, field=key) from None
    if not isinstance(data["examples"], list) or not data["examples"]:
        raise TransevalError("give at least one example reply with its expected parse", file=path, field="examples")
    examples = []
    for i, ex in enumerate(data["examples"]):
        if not isinstance(ex, dict) or "reply" not in ex or "expected" not in ex:
            raise TransevalError("each example needs reply and expected", file=path, field=f"examples[{i}]")
        examples.append(RubricExample(str(ex["reply"]), ex["expected"], str(ex.get("answer", "")),
                                      {k: str(v) for k, v in (ex.get("values") or {}).items()}))
    metric = str(data.get("metric") or re.sub(r"\W", "_", str(data["name"])))
    rubric = Rubric(
        name=str(data["name"]), version=str(data["version"]), kind=kind, metric=metric,
        scale=scale, system=str(data["system"] or ""), template=str(data["template"]), score_pattern=pattern,
        fallback_pattern=data.get("fallback_pattern"), needs_reference=bool(data.get("needs_reference", False)),
        multi_turn=bool(data.get("multi_turn", False)), examples=tuple(examples),
        description=str(data.get("description", "")), source=str(data.get("source", "")),
        digest=hashlib.sha256(path.read_bytes()).hexdigest(), path=str(path), aspects=tuple(aspects),
        tie_label=str(data.get("tie_label", "C")), labels=_labels(data.get("labels"), path, scale),
    )
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", rubric.metric):
        raise TransevalError("metric must be an identifier (letters, digits, _)", file=path, field="metric")
    return rubric


def rubric_dirs(extra: Sequence[Path] = ()) -> list[Path]:
    """Where rubrics are found, in order; a later folder wins on a name clash.

    The bundled folder, then ``$TRANSEVAL_RUBRICS_DIR`` (os.pathsep-separated; ``--rubrics-dir`` sets it), then
    ``extra`` (``--metadata rubrics_dir``).
    """
    dirs = [RUBRICS_DIR]
    for part in (os.environ.get("TRANSEVAL_RUBRICS_DIR") or "").split(os.pathsep):
        if part.strip():
            dirs.append(Path(part).expanduser())
    return [*dirs, *(Path(d).expanduser() for d in extra)]


def available_rubrics(extra: Sequence[Path] = ()) -> dict[str, Path]:
    """Rubric name -> file; a user's folder wins over the bundled one (see :func:`rubric_dirs`).

    Raises:
        TransevalError: when a user rubrics folder does not exist.
    """
    found: dict[str, Path] = {}
    given = [Path(d).expanduser() for d in extra]
    for d in rubric_dirs(extra):
        try:
            stamp = (str(d), d.stat().st_mtime_ns)  # a file added, removed or renamed changes the folder's mtime
        except OSError:
            stamp = None
        if stamp is None or not d.is_dir():
            raise TransevalError("rubrics folder not found", file=d, field="--metadata rubrics_dir" if d in given
                                 else "TRANSEVAL_RUBRICS_DIR / --rubrics-dir")
        if stamp not in _LISTED:
            _LISTED[stamp] = {p.stem: p for p in sorted(d.glob("*.yaml"))}
        found.update(_LISTED[stamp])
    return found


_LISTED: dict[tuple[str, int], dict[str, Path]] = {}


_LOADED: dict[tuple[str, float], Rubric] = {}


def is_rubric_path(name: str) -> bool:
    """Whether ``name`` names a rubric file (``my/conciseness.yaml``) rather than a rubric by name."""
    return name.endswith((".yaml", ".yml")) or "/" in name or os.sep in name


def unknown_rubric(name: str, extra: Sequence[Path] = ()) -> str:
    """The message for a rubric name found nowhere: where it was looked for, what is known, how to add one."""
    known = available_rubrics(extra)
    bundled = str(RUBRICS_DIR)
    looked = ", ".join(f"{d} (bundled)" if str(d) == bundled else str(d) for d in rubric_dirs(extra))
    return (f"unknown judge prompt '{name}': no {name}.yaml in {looked} (known: {', '.join(sorted(known))}); "
            "add your folder with --rubrics-dir, $TRANSEVAL_RUBRICS_DIR or --metadata rubrics_dir, "
            "or give the rubric file's path")


def find_rubric(name: str, extra: Sequence[Path] = ()) -> Path:
    """The file of a rubric given by name or by path.

    A name is looked up in :func:`rubric_dirs`; a path (``*.yaml``, or with a ``/``) is relative to the working
    folder.

    Raises:
        TransevalError: for an unknown name (saying where it looked) or a missing file.
    """
    if is_rubric_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise TransevalError("rubric file not found", file=path)
        return path.resolve()
    paths = available_rubrics(extra)
    if name not in paths:
        raise TransevalError(unknown_rubric(name, extra))
    return paths[name]


def multi_turn_companion(name: str) -> str | None:
    """The multi-turn form of a rubric, if there is one.

    ``NAME-multi-turn`` among the rubrics for a name; the file ``NAME-multi-turn.yaml`` beside it for a path (user
    rubrics are recorded by path, see :func:`rubric_ref`).

    Raises:
        TransevalError: when a user rubrics folder does not exist.
    """
    if is_rubric_path(name):
        path = Path(name).expanduser()
        companion = path.with_name(f"{path.stem}-multi-turn{path.suffix}")
        return str(companion) if companion.is_file() else None
    return f"{name}-multi-turn" if f"{name}-multi-turn" in available_rubrics() else None


def rubric_ref(name: str, extra: Sequence[Path] = ()) -> str:
    """How a run records a rubric: a bundled rubric by its name, any other by its absolute path.

    So a run whose rubrics came from a user's folder or path is judged later (``transeval judge``) with the same
    files, from any working folder, without the folder being given again.

    Raises:
        TransevalError: as :func:`find_rubric`.
    """
    path = find_rubric(name, extra).resolve()
    return path.stem if path.parent == RUBRICS_DIR else str(path)


def load_rubric(name: str, extra: Sequence[Path] = ()) -> Rubric:
    """Load a rubric by name or path (see :func:`find_rubric`); re-read when its file changes.

    Raises:
        TransevalError: for an unknown name or an invalid file.
    """
    path = find_rubric(name, extra)
    stamp = (str(path), path.stat().st_mtime)
    if stamp not in _LOADED:
        _LOADED[stamp] = load_rubric_file(path)
    return _LOADED[stamp]


def example_lines(path: Path) -> list[int | None]:
    """The 1-based line of each entry of a rubric file's ``examples`` (None where it cannot be told)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "examples" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _shown(value: Any) -> str:
    if value is None:
        return "null (unparsable)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def check_examples(rubric: Rubric) -> list[TransevalError]:
    """Parse every example reply with the rubric and compare with what the file declares.

    Also checked: at least one example is unparsable (``expected: null``), so a pattern that accepts anything
    is caught, and the template renders with every field filled.

    Returns:
        One error per failure, naming the rubric file, the example's line and ``examples[i]``; empty when all
        examples parse as declared.
    """
    failures: list[TransevalError] = []
    lines = example_lines(Path(rubric.path))
    if not any(ex.expected is None for ex in rubric.examples):
        failures.append(TransevalError("no example with expected: null (a reply the rubric must not parse)",
                                       file=rubric.path, field="examples"))
    for i, ex in enumerate(rubric.examples):
        answers = (ex.answer,) if ex.answer else ()
        got: Any
        try:
            if rubric.kind == "pairwise":
                got, reason = rubric.parse_verdict(ex.reply, answers)
                want: Any = ex.expected
            elif rubric.kind == "aspects":
                parsed = rubric.parse_aspects(ex.reply)
                got, reason = parsed.scores, "; ".join(parsed.reasons.values()) or None
                want = ex.expected if ex.expected is not None else {a.name: None for a in rubric.aspects}
            else:
                score = rubric.parse(ex.reply, answers, ex.values)
                got, reason = score.score, score.reason
                want = ex.expected
        except (TransevalError, ValueError, TypeError) as exc:
            failures.append(TransevalError(f"could not be parsed: {exc}", file=rubric.path,
                                           line=lines[i] if i < len(lines) else None, field=f"examples[{i}]"))
            continue
        if got != want:
            why = f" ({reason})" if reason else ""
            failures.append(TransevalError(f"reply parses as {_shown(got)}{why}, expected {_shown(want)}",
                                           file=rubric.path, line=lines[i] if i < len(lines) else None,
                                           field=f"examples[{i}]"))
    try:
        rubric.render({f: f"<{f}>" for f in rubric.fields})
    except (ValueError, KeyError, IndexError, TransevalError) as exc:
        failures.append(TransevalError(f"does not render: {exc}", file=rubric.path, field="template"))
    return failures
