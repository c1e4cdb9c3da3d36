"""Read the judge's own rating (or verdict) out of its reply, whatever the judged answer contains.

The rule (documented in the README, tested in ``tests/test_parse.py``):

1. Every match of the rubric's pattern (e.g. ``[[7]]``) in the reply is a candidate; the text is never edited.
2. A candidate is *quoted*, not the judge's own, when it lies inside a quotation of the reply (paired quotation
   marks on one line, a fenced code block, a ``>`` block-quote line), or when its text (``[[10]]``) also occurs in
   one of the judged answers: a judge that copies an answer's "Rating: [[10]]" must not thereby rate it 10.
3. Exception: a candidate that forms the reply's last line on its own, with at most a three-word label
   ("Rating: [[7]]", "คะแนน: [[7]]", "评分：[[7]]") and outside quotation marks, is the verdict the prompt asks
   for and always counts.
4. The last of the judge's own candidates wins; if there is none the turn is unscored with the reason.

FastChat (``fastchat/llm_judge/common.py``) instead takes the *first* ``[[n]]`` of the raw reply (then the first
``[n]``), so a judge that quotes a fragment such as "Rating: [[10]]" before its verdict is scored 10 there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_PAIRED = re.compile(r'"[^"\n]*"|“[^”\n]*”|«[^»\n]*»|「[^」\n]*」|『[^』\n]*』|‘[^’\n]*’|`[^`\n]+`')
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_LABEL_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    """One pattern match in a reply."""

    value: str
    start: int
    end: int
    quoted: bool
    in_answer: bool
    verdict_line: bool

    @property
    def own(self) -> bool:
        """Whether this match is the judge's own rating."""
        return self.verdict_line or not (self.quoted or self.in_answer)


def _quoted_mask(reply: str) -> list[bool]:
    mask = [False] * len(reply)
    spans = [m.span() for m in _FENCE.finditer(reply)] + [m.span() for m in _PAIRED.finditer(reply)]
    pos = 0
    for line in reply.splitlines(keepends=True):
        if line.lstrip().startswith(">"):
            spans.append((pos, pos + len(line)))
        pos += len(line)
    for a, b in spans:
        for i in range(a, b):
            mask[i] = True
    return mask


def _is_verdict_line(reply: str, m: re.Match[str], mask: list[bool]) -> bool:
    tail = reply[m.end():]
    if tail.strip(" \t\r\n*_.。!！"):
        return False  # something follows on this or a later line
    line_start = reply.rfind("\n", 0, m.start()) + 1
    label = reply[line_start:m.start()]
    if any(mask[m.start():m.end()]):
        return False
    return len(_LABEL_WORD.findall(label)) <= 3


def candidates(reply: str, pattern: str, answers: Sequence[str] = ()) -> list[Candidate]:
    """All matches of ``pattern`` (one group: the value) with how each was classified."""
    mask = _quoted_mask(reply)
    texts = [a for a in answers if a]
    out = []
    for m in re.finditer(pattern, reply):
        out.append(Candidate(
            value=m.group(1), start=m.start(), end=m.end(),
            quoted=any(mask[m.start():m.end()]),
            in_answer=any(m.group(0) in a for a in texts),
            verdict_line=_is_verdict_line(reply, m, mask),
        ))
    return out


def own_value(reply: str, patterns: Sequence[str | None], answers: Sequence[str] = ()) -> tuple[str | None, str | None]:
    """The judge's own value: the last own match of the first pattern that matches at all.

    Returns:
        (value, None) or (None, reason).
    """
    for pattern in filter(None, patterns):
        found = candidates(reply, pattern, answers)
        if not found:
            continue
        own = [c for c in found if c.own]
        if own:
            return own[-1].value, None
        return None, "the only ratings in the judge reply are quoted from the answer"
    return None, "no rating in judge reply"
