"""Reading FastChat's published MT-bench files (``fastchat/llm_judge/data/mt_bench/``) for the fidelity tests.

Only the data format is read here (question.jsonl, reference_answer/gpt-4.jsonl, model_answer/<model>.jsonl,
model_judgment/gpt-4_single.jsonl and gpt-4_pair.jsonl); FastChat's code is not used or copied. The reference
numbers each test compares with are the ones FastChat recorded in those files (``score``, ``g1_winner``,
``g2_winner``), and the means its ``show_result.py`` prints: per model, the mean of ``score`` over every line whose
score is not -1 (its parse failure), all turns together.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: FastChat's rubric name -> ours (byte-identical prompts).
RUBRICS = {
    "single-v1": "mtbench-single-v1", "single-math-v1": "mtbench-single-math-v1",
    "single-v1-multi-turn": "mtbench-single-v1-multi-turn",
    "single-math-v1-multi-turn": "mtbench-single-math-v1-multi-turn",
    "pair-v2": "pair-v2", "pair-v2-multi-turn": "pair-v2-multi-turn",
    "pair-math-v1": "pair-math-v1", "pair-math-v1-multi-turn": "pair-math-v1-multi-turn",
}
_SINGLE = re.compile(r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S)
_PAIR = re.compile(r"\[The Start of Assistant ([AB])'s Answer\]\n(.*?)\n\[The End of Assistant \1's Answer\]", re.S)
_CONV = re.compile(r"### Assistant( [AB])?:\n(.*?)\n\n(?=### User|<\|The End)", re.S)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a ``.jsonl`` or ``.jsonl.gz`` file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for line in fh:
            if line.strip():
                yield json.loads(line)


def answers_in_prompt(prompt: str) -> tuple[str, ...]:
    """The judged answers shown in a recorded judge prompt (what our parser is given as ``answers``)."""
    found = [m.group(1) for m in _SINGLE.finditer(prompt)] + [m.group(2) for m in _PAIR.finditer(prompt)]
    found += [m.group(2) for m in _CONV.finditer(prompt)]
    return tuple(found)


@dataclass(frozen=True)
class SingleJudgment:
    """One line of gpt-4_single.jsonl."""

    question_id: int
    model: str
    rubric: str
    turn: int  # 1-based, as FastChat writes it
    user_prompt: str
    judgment: str
    score: float


@dataclass(frozen=True)
class PairJudgment:
    """One line of gpt-4_pair.jsonl (game 1: model_1 is A; game 2: model_2 is A)."""

    question_id: int
    model_1: str
    model_2: str
    rubric: str
    turn: int
    g1_user_prompt: str
    g1_judgment: str
    g1_winner: str  # model_1 | model_2 | tie | error
    g2_user_prompt: str
    g2_judgment: str
    g2_winner: str


def single_judgments(path: Path) -> list[SingleJudgment]:
    """The single-answer judgments of a FastChat judgment file."""
    return [SingleJudgment(int(r["question_id"]), r["model"], r["judge"][1], int(r["turn"]), r["user_prompt"],
                           r["judgment"], float(r["score"])) for r in read_jsonl(path)]


def pair_judgments(path: Path) -> list[PairJudgment]:
    """The pairwise judgments of a FastChat judgment file."""
    return [PairJudgment(int(r["question_id"]), r["model_1"], r["model_2"], r["judge"][1], int(r["turn"]),
                         r["g1_user_prompt"], r["g1_judgment"], r["g1_winner"], r["g2_user_prompt"],
                         r["g2_judgment"], r["g2_winner"]) for r in read_jsonl(path)]


def show_result_means(judgments: list[SingleJudgment]) -> dict[str, float]:
    """FastChat ``show_result.py --mode single``'s per-model mean: every line with score != -1, turns pooled."""
    by_model: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        if j.score != -1:
            by_model[j.model].append(j.score)
    return {m: sum(v) / len(v) for m, v in by_model.items()}


def verdict_letter(winner: str, game: int) -> str | None:
    """A recorded game winner as the judge's letter: game 1 shows model_1 as A, game 2 shows model_2 as A."""
    if winner == "tie":
        return "tie"
    if winner == "error":
        return None
    first = winner == "model_1"
    return ("A" if first else "B") if game == 1 else ("B" if first else "A")
