"""Read the judge's own rating (or verdict) out of its reply, whatever the judged answer contains.

The rule (documented in the README, tested in ``tests/test_parse.py``):

1. Every match of the rubric's pattern (e.g. ``[[7]]``) in the reply is a candidate; the text is never edited.
   A candidate inside a quotation (paired quotation marks on one line, a fenced code block, a ``>`` block-quote
   line) is never the judge's own.
2. The judge's own rating is the *last* unquoted candidate whose text (``[[7]]``) occurs in none of the judged
   answers: the answer cannot supply it.
   One exception: a rating the judge puts in quotation marks as its closing words (``I would rate it as
   follows: "Rating: [[8]]".``, the quotation holding at most a short label and ending the reply) is its
   verdict, unless its text occurs in a judged answer (then it is the answer's rating being quoted).
3. When every unquoted candidate's text also occurs in an answer (a judge that copies an answer's
   "Rating: [[10]]", or a judge whose verdict happens to equal it), the candidate in *verdict position* counts:
   the end of the reply ("... Rating: [[10]]", at most a three-word label after the last sentence) or its
   start ("[[10]] The answer ...", "Rating: [[10]]" then the explanation), unless the reply there is a verbatim
   copy of the answer reaching beyond that label (the judge echoing the answer). So the answer cannot erase
   the judge's rating either.
4. Otherwise the turn is unscored with the reason.
5. When the chosen candidate shares its sentence with earlier candidates of the judge's own (``[[A]] is better
   than [[B]]``), the sentence's first one is the verdict, as the sentence says (and as FastChat reads it).

A terse answer such as "1" or "10" plays no part: only the pattern's full text (``[[10]]``) is compared.
FastChat (``fastchat/llm_judge/common.py``) instead takes the *first* ``[[n]]`` of the raw reply (then the first
``[n]``), so a judge that quotes a fragment such as "Rating: [[10]]" before its verdict is scored 10 there, and a
judge that corrects itself ("[[3]] ... on reflection [[8]]") is scored 3 there and 8 here.
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
    """One pattern match in a reply, classified.

    Attributes:
        value: The captured rating or verdict.
        start: Offset of the match in the reply.
        end: Offset just after the match.
        quoted: Inside a quotation of the reply (other than the judge's own quoted closing verdict).
        in_answer: The match's text occurs in one of the judged answers.
        verdict_position: At the reply's end or start, with at most a short label, where a verdict goes.
        echo: The reply around the match is a verbatim copy of an answer reaching beyond that label.
    """

    value: str
    start: int
    end: int
    quoted: bool
    in_answer: bool
    verdict_position: bool
    echo: bool

    @property
    def own(self) -> bool:
        """Whether this match can only be the judge's own (rule 2)."""
        return not (self.quoted or self.in_answer)

    @property
    def verdict(self) -> bool:
        """Whether this match counts as the judge's verdict when every match also occurs in an answer (rule 3)."""
        return self.verdict_position and not self.quoted and not self.echo


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


_SENTENCE_END = re.compile(r"[.!?。！？]\s|\n")
_TAIL_JUNK = " \t\r\n*_.。!！"


def _label_start(reply: str, pos: int) -> int:
    """Start of the label before ``pos``: after the last sentence end or line break before it."""
    last = 0
    for m in _SENTENCE_END.finditer(reply, 0, pos):
        last = m.end()
    return last


def _verdict_position(reply: str, m: re.Match[str]) -> tuple[bool, int, int]:
    """(in verdict position, start of its label, end of its trailer)."""
    if not reply[m.end():].strip(_TAIL_JUNK):  # at the end, after a short label
        label = _label_start(reply, m.start())
        return len(_LABEL_WORD.findall(reply[label:m.start()])) <= 3, label, len(reply)
    head = reply[:m.start()].strip(" \t\r\n*_")
    if (not head or (head[-1] in ":：" and len(_LABEL_WORD.findall(head)) <= 3)) \
            and not _SENTENCE_END.search(reply, 0, m.start()):
        return True, 0, m.end()  # at the start ("[[8]] The answer ...", "Rating: [[8]]\n..."): empty or "Label:"
    return False, m.start(), m.end()


def _is_echo(reply: str, m: re.Match[str], label: int, answers: Sequence[str]) -> bool:
    """Whether the reply copies an answer verbatim around ``m`` beyond the label (with a word of the answer)."""
    token = m.group(0)
    for answer in answers:
        at = answer.find(token)
        while at >= 0:
            left = 0
            while left < m.start() and left < at and reply[m.start() - left - 1] == answer[at - left - 1]:
                left += 1
            right = 0
            end_a = at + len(token)
            while m.end() + right < len(reply) and end_a + right < len(answer) \
                    and reply[m.end() + right] == answer[end_a + right]:
                right += 1
            before = reply[m.start() - left:label] if m.start() - left < label else ""
            after = reply[m.end():m.end() + right]
            if _LABEL_WORD.search(before) or _LABEL_WORD.search(after):
                return True
            at = answer.find(token, at + 1)
    return False


def _quoted_closing_verdict(reply: str, m: re.Match[str]) -> bool:
    """Whether ``m`` is a rating the judge quotes as its closing words (``... as follows: "Rating: [[8]]".``).

    The match must sit in one pair of quotation marks on its line that holds nothing else but a short label
    before it, no fence or block quote, and nothing but punctuation may follow the closing mark.
    """
    for q in _PAIRED.finditer(reply):
        if not q.start() < m.start() < m.end() < q.end():
            continue
        inner_before, inner_after = reply[q.start() + 1:m.start()], reply[m.end():q.end() - 1]
        line_start = reply.rfind("\n", 0, q.start()) + 1
        return (len(_LABEL_WORD.findall(inner_before)) <= 3 and not _LABEL_WORD.search(inner_after)
                and not reply[q.end():].strip(_TAIL_JUNK + "\"'”»」』’")
                and not reply[line_start:q.start()].lstrip().startswith(">")
                and not _FENCE.search(reply[q.start():q.end()]))
    return False


def _same_sentence(reply: str, a: Candidate, b: Candidate) -> bool:
    """Whether two matches stand in one sentence (no sentence end or line break between them)."""
    between = reply[a.end:b.start]
    return not _SENTENCE_END.search(between + " ")


def candidates(reply: str, pattern: str, answers: Sequence[str] = ()) -> list[Candidate]:
    """All matches of ``pattern`` (one group: the value) with how each was classified."""
    mask = _quoted_mask(reply)
    texts = [a for a in answers if a]
    out = []
    for m in re.finditer(pattern, reply):
        position, label, _ = _verdict_position(reply, m)
        in_answer = any(m.group(0) in a for a in texts)
        quoted = any(mask[m.start():m.end()])
        if quoted and not in_answer and _quoted_closing_verdict(reply, m):
            quoted = False
        out.append(Candidate(
            value=m.group(1), start=m.start(), end=m.end(),
            quoted=quoted,
            in_answer=in_answer,
            verdict_position=position,
            echo=in_answer and _is_echo(reply, m, label, texts),
        ))
    return out


def own_value(reply: str, patterns: Sequence[str | None], answers: Sequence[str] = ()) -> tuple[str | None, str | None]:
    """The judge's own value (rules 2 and 3) for the first pattern that matches at all.

    Returns:
        (value, None) or (None, reason).
    """
    for pattern in filter(None, patterns):
        found = candidates(reply, pattern, answers)
        if not found:
            continue
        own = [c for c in found if c.own] or [c for c in found if c.verdict]
        if own:
            k = len(own) - 1
            while k > 0 and _same_sentence(reply, own[k - 1], own[k]):
                k -= 1
            return own[k].value, None
        return None, "the only ratings in the judge reply are quoted from the answer"
    return None, "no rating in judge reply"


Outcome = str  # "model_a" | "model_b" | "tie"
_VERDICTS = ("A", "B", "tie")
_FAILED = (None, "error")


def combine_orders(first: str | None, second: str | None) -> Outcome | None:
    """Combine the verdicts of the two presentation orders into one outcome, as FastChat does.

    FastChat maps each order's "A"/"B" back to models (first order: A = model_1; swapped order: A = model_2) and
    then, in ``show_result.py``, counts a tie when the first verdict is a tie or the two orders disagree; only two
    agreeing non-tie verdicts make a winner. So (A, B) — the same model preferred in both orders — is a win for
    model_a, while (A, A) — always the first position, a pure position bias — and (A, tie) are ties.

    A failed judgment (None, or FastChat's "error" verdict when the reply has no ``[[A]]``/``[[B]]``/``[[C]]``)
    in either order makes the whole comparison unscored: FastChat's ``show_result.py`` drops every row whose
    ``g1_winner`` or ``g2_winner`` is "error" before counting. We do not fall back to the one order that worked,
    which would reintroduce the position bias the swap removes.

    Args:
        first: Verdict with model_a in position A ("A", "B", "tie"), or None/"error" if it failed.
        second: Verdict with model_b in position A, or None/"error" if it failed.

    Returns:
        "model_a", "model_b" or "tie"; None when either order failed.

    Raises:
        ValueError: A verdict that is none of the above.
    """
    for name, verdict in (("first", first), ("second", second)):
        if verdict not in _FAILED and verdict not in _VERDICTS:
            raise ValueError(f"{name} verdict must be 'A', 'B', 'tie' or None, got {verdict!r}")
    if first in _FAILED or second in _FAILED:
        return None
    g1 = {"A": "model_a", "B": "model_b"}.get(str(first), "tie")
    g2 = {"A": "model_b", "B": "model_a"}.get(str(second), "tie")
    if g1 == "tie" or g1 != g2:
        return "tie"
    return g1


def order_changed(first: str | None, second: str | None) -> bool | None:
    """Whether a pair's verdict changes with the presentation order (None when either order failed).

    Each order's verdict is mapped back to the models (first order: A = model_a; swapped: A = model_b); the
    verdict is consistent when both name the same model or both say tie (FastChat's "inconsistent" pairs are the
    others, which :func:`combine_orders` counts as ties).
    """
    if first in _FAILED or second in _FAILED or first not in _VERDICTS or second not in _VERDICTS:
        return None
    g1 = {"A": "model_a", "B": "model_b"}.get(str(first), "tie")
    g2 = {"A": "model_b", "B": "model_a"}.get(str(second), "tie")
    return g1 != g2
