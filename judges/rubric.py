"""Rubrics: a judge prompt, its rating pattern and self-testing examples, loaded from ``rubrics/*.yaml``."""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from transeval.harness.errors import TransevalError

RUBRICS_DIR = Path(__file__).resolve().parent / "rubrics"
_KEYS = {
    "name", "version", "description", "source", "scale", "needs_reference", "multi_turn",
    "system", "template", "score_pattern", "fallback_pattern", "examples",
}
_REQUIRED = {"name", "version", "scale", "system", "template", "score_pattern", "examples"}


@dataclass(frozen=True)
class RubricExample:
    """A judge reply with the score the rubric must parse from it (None = unparsable)."""

    reply: str
    expected: float | None
    answer: str = ""
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedScore:
    """A rating parsed from a judge reply, or None with the reason."""

    score: float | None
    reason: str | None


@dataclass(frozen=True)
class Rubric:
    """One judge prompt.

    Attributes:
        name: Unique name (the file stem).
        version: Bumped whenever the prompt changes (part of the cache key).
        scale: Inclusive (min, max) of valid ratings; max may name a value (``"{max_score}"``): the question's
            own point value.
        system: System message.
        template: User message with ``{question}``-style fields.
        score_pattern: Regex with one group: the rating. The last match in the reply wins.
        fallback_pattern: Tried only when ``score_pattern`` never matches.
        needs_reference: Whether the template shows reference answers.
        multi_turn: Whether the template shows the whole conversation.
        examples: Replies with their expected parse, checked by the test suite.
        digest: SHA-256 of the rubric file, so any edit invalidates cached judgments.
    """

    name: str
    version: str
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

    @property
    def fields(self) -> set[str]:
        """The placeholders the template needs."""
        return {f for _, f, _, _ in string.Formatter().parse(self.template) if f}

    def render(self, values: dict[str, str]) -> list[dict[str, str]]:
        """The chat messages for the judge.

        Raises:
            TransevalError: if the template needs a value that is not given.
        """
        missing = self.fields - set(values)
        if missing:
            raise TransevalError(f"rubric needs {sorted(missing)}", file=self.path, field="template")
        user = self.template.format_map({k: values[k] for k in self.fields})
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return [*messages, {"role": "user", "content": user}]

    def max_score(self, values: dict[str, str] | None = None) -> float:
        """The top of the scale (resolved from ``values`` when it names a field).

        Raises:
            TransevalError: if the named value is missing or not a number.
        """
        top = self.scale[1]
        if isinstance(top, float | int):
            return float(top)
        try:
            return float(top.format_map(values or {}))
        except (KeyError, ValueError):
            raise TransevalError(f"scale maximum {top!r} needs a number", file=self.path, field="scale") from None

    def parse(self, reply: str, answers: tuple[str, ...] = (), values: dict[str, str] | None = None) -> ParsedScore:
        """Parse the judge's own rating from its reply.

        Text the judge quotes verbatim from the judged answers is removed first, and the *last*
        match wins, so an answer that contains "Rating: [[10]]" cannot set its own score.
        """
        text = reply
        for answer in sorted((a for a in answers if a and a.strip()), key=len, reverse=True):
            text = text.replace(answer.strip(), " ")
        for pattern in filter(None, (self.score_pattern, self.fallback_pattern)):
            matches = re.findall(pattern, text)
            if matches:
                raw = matches[-1]
                try:
                    value = float(raw)
                except ValueError:
                    return ParsedScore(None, f"unparsable rating '{raw}'")
                lo, hi = self.scale[0], self.max_score(values)
                if not lo <= value <= hi:
                    return ParsedScore(None, f"rating {raw} outside {lo:g}-{hi:g}")
                return ParsedScore(value, None)
        return ParsedScore(None, "no rating in judge reply")


def _load(path: Path) -> Rubric:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise TransevalError("invalid YAML", file=path, line=None if line is None else line + 1) from None
    if not isinstance(data, dict):
        raise TransevalError("a rubric must be a mapping", file=path)
    for key in data:
        if key not in _KEYS:
            raise TransevalError(f"unknown key (allowed: {', '.join(sorted(_KEYS))})", file=path, field=key)
    for key in _REQUIRED:
        if key not in data:
            raise TransevalError("missing required key", file=path, field=key)
    if data["name"] != path.stem:
        raise TransevalError(f"name must equal the file name '{path.stem}'", file=path, field="name")
    scale = data["scale"]
    if not (isinstance(scale, list) and len(scale) == 2 and isinstance(scale[0], int | float)
            and isinstance(scale[1], int | float | str)):
        raise TransevalError("scale must be [min, max] (max a number or a \"{field}\")", file=path, field="scale")
    for key in ("score_pattern", "fallback_pattern"):
        if data.get(key) is not None:
            try:
                if re.compile(data[key]).groups != 1:
                    raise TransevalError("needs exactly one group", file=path, field=key)
            except re.error as exc:
                raise TransevalError(f"bad regex: {exc}", file=path, field=key) from None
    examples = []
    for i, ex in enumerate(data["examples"] or []):
        if not isinstance(ex, dict) or "reply" not in ex or "expected" not in ex:
            raise TransevalError("each example needs reply and expected", file=path, field=f"examples[{i}]")
        examples.append(RubricExample(str(ex["reply"]), ex["expected"], str(ex.get("answer", "")),
                                      {k: str(v) for k, v in (ex.get("values") or {}).items()}))
    return Rubric(
        name=data["name"], version=str(data["version"]),
        scale=(float(scale[0]), scale[1] if isinstance(scale[1], str) else float(scale[1])),
        system=str(data["system"] or ""), template=str(data["template"]), score_pattern=data["score_pattern"],
        fallback_pattern=data.get("fallback_pattern"), needs_reference=bool(data.get("needs_reference", False)),
        multi_turn=bool(data.get("multi_turn", False)), examples=tuple(examples),
        description=str(data.get("description", "")), source=str(data.get("source", "")),
        digest=hashlib.sha256(path.read_bytes()).hexdigest(), path=str(path),
    )


@cache
def available_rubrics() -> dict[str, Path]:
    """Rubric name -> file, from the bundled folder plus ``$TRANSEVAL_RUBRICS_DIR`` (which wins)."""
    import os

    dirs = [RUBRICS_DIR]
    if os.environ.get("TRANSEVAL_RUBRICS_DIR"):
        dirs.append(Path(os.environ["TRANSEVAL_RUBRICS_DIR"]))
    return {p.stem: p for d in dirs for p in sorted(d.glob("*.yaml"))}


@cache
def load_rubric(name: str) -> Rubric:
    """Load a rubric by name.

    Raises:
        TransevalError: for an unknown name or an invalid file.
    """
    paths = available_rubrics()
    if name not in paths:
        raise TransevalError(f"unknown judge prompt '{name}' (known: {', '.join(sorted(paths))})")
    return _load(paths[name])

