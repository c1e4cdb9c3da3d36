"""Translation chain-of-thought (TCoT) outputs: ``<EN> query <RESPONSE> answer <TH> target answer``.

TransLLM models answer a target-language question by first translating it to English (``<EN>``),
answering in English (``<RESPONSE>``) and translating the answer back (``<TH>`` for Thai). Only the
target-language part is judged; the English query and answer become the next turn's history, as in
TransLLM's own inference code. Parsing is tolerant: missing, repeated, out-of-order tags and empty
sections are reported as problems instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EN_TAG = "<EN>"
RESPONSE_TAG = "<RESPONSE>"
DEFAULT_TARGET_TAG = "<TH>"
_END_MARKERS = ("</s>", "<|eot_id|>", "<end_of_turn>", "<eos>")


@dataclass(frozen=True)
class TcotParse:
    """A parsed TCoT output.

    Attributes:
        en_query: The model's English rendering of the question, or None if absent/empty.
        en_answer: The model's English answer, or None if absent/empty.
        answer: The target-language answer (judged), or None if the target tag is absent.
        missing: Tags that do not occur at all, in canonical order.
        problems: Other irregularities (repeated tags, order, empty sections, stray text).
    """

    en_query: str | None
    en_answer: str | None
    answer: str | None
    missing: tuple[str, ...]
    problems: tuple[str, ...]


def _strip_end(text: str) -> str:
    for marker in _END_MARKERS:
        text = text.replace(marker, "")
    return text.strip()


def parse_tcot(text: str, target_tag: str = DEFAULT_TARGET_TAG) -> TcotParse:
    """Split a TCoT output into its sections.

    Each section runs from the first occurrence of its tag to the next tag of any kind. Repeated
    tags keep the first section (a model that loops after answering does not change its answer).

    Args:
        text: The raw model output.
        target_tag: The tag that introduces the target-language answer.

    Returns:
        The sections found and what was wrong with the output.
    """
    tags = (EN_TAG, RESPONSE_TAG, target_tag)
    pattern = re.compile("|".join(re.escape(t) for t in tags))
    hits = [(m.group(0), m.start(), m.end()) for m in pattern.finditer(text)]
    problems: list[str] = []
    sections: dict[str, str] = {}
    first_pos: dict[str, int] = {}
    for i, (tag, _start, end) in enumerate(hits):
        if tag in sections:
            if f"repeated {tag}" not in problems:
                problems.append(f"repeated {tag}")
            continue
        stop = hits[i + 1][1] if i + 1 < len(hits) else len(text)
        sections[tag] = _strip_end(text[end:stop])
        first_pos[tag] = _start
    missing = tuple(t for t in tags if t not in sections)
    present = [t for t in tags if t in sections]
    if [t for t in sorted(present, key=first_pos.__getitem__)] != present:
        problems.append("tags out of order")
    if hits and text[: hits[0][1]].strip():
        problems.append("text before the first tag")
    for tag in present:
        if not sections[tag]:
            problems.append(f"empty {tag} section")

    def section(tag: str) -> str | None:
        value = sections.get(tag)
        return value if value else None

    answer = sections.get(target_tag)
    return TcotParse(
        en_query=section(EN_TAG),
        en_answer=section(RESPONSE_TAG),
        answer=answer,
        missing=missing,
        problems=tuple(problems),
    )


def tag_to_reprompt(text: str, target_tag: str = DEFAULT_TARGET_TAG) -> str | None:
    """The tag to append to the prompt for a re-prompt, as TransLLM's inference code does.

    TransLLM re-prompts when ``<RESPONSE>`` is missing (appending it to the prompt) and then, if the
    target tag is still missing, appends the target tag. ``<EN>`` is never forced.

    Args:
        text: The raw output so far.
        target_tag: The target-language tag.

    Returns:
        The tag to append, or None if the output has both tags.
    """
    for tag in (RESPONSE_TAG, target_tag):
        if tag not in text:
            return tag
    return None
