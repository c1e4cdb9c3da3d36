"""Length-controlled win rate on real AlpacaEval 2 annotations equals alpaca_eval's own.

The reference numbers (``data/alpaca_eval/alpaca_eval_lc.json``) were computed by alpaca_eval's
``get_length_controlled_winrate`` (alpaca_eval 0.6.6, run in its own venv by ``bench/lc_vs_alpaca_eval.py
--record``) on the same bundled annotations; the bench recomputes both sides side by side.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
from transeval.harness.stats.winrate import Preference, length_controlled_win_rate, read_instruction_difficulty

DATA = Path(__file__).parent / "data" / "alpaca_eval"
RECORD = json.loads((DATA / "alpaca_eval_lc.json").read_text(encoding="utf-8"))
MODELS = tuple(RECORD["lc"]["length_controlled_minimal"])


def rows(model: str) -> list[dict]:
    with gzip.open(DATA / f"{model}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def preferences(model: str) -> list[Preference]:
    """alpaca_eval's preference (1 baseline .. 2 model; 0 a tie) as ours (0 .. 1), in AlpacaEval's order."""
    return [Preference(str(r["index"]), 0, model, r["generator_1"], (1.5 if r["preference"] == 0 else
                                                                     r["preference"]) - 1, r["len_2"], r["len_1"])
            for r in rows(model)]


def stand_in_difficulty() -> dict[str, float]:
    """The bench's difficulty table: minus the mean preference logit of the 4 models per instruction."""
    per = [[min(max(p.preference, 1e-3), 1 - 1e-3) for p in preferences(m)] for m in MODELS]
    return {str(i): -sum(math.log(ps[i] / (1 - ps[i])) for ps in per) / len(per) for i in range(len(per[0]))}


@pytest.mark.parametrize("model", MODELS)
def test_lc_equals_alpaca_eval_minimal(model):
    ours = length_controlled_win_rate(preferences(model), iters=0)[model]
    assert ours.n == 805 and not ours.with_difficulty
    assert abs(ours.lc_win_rate - RECORD["lc"]["length_controlled_minimal"][model]) <= 1e-6  # goal 0.002


def test_lc_with_instruction_difficulty_equals_alpaca_eval_noreg(tmp_path):
    table = stand_in_difficulty()
    path = tmp_path / "instruction_difficulty.csv"  # AlpacaEval's precomputed table has this shape
    path.write_text("index,instruction_difficulty\n" + "".join(f"{k},{v!r}\n" for k, v in table.items()),
                    encoding="utf-8")
    read = read_instruction_difficulty(path)
    assert read == table
    for model in MODELS:
        ours = length_controlled_win_rate(preferences(model), iters=0, difficulty=read)[model]
        assert ours.with_difficulty
        assert abs(ours.lc_win_rate - RECORD["lc"]["length_controlled_noreg"][model]) <= 1e-6
