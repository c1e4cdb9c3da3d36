"""Parser fidelity on every real FastChat judgment file you have: our reading of GPT-4's reply vs FastChat's.

FastChat records, beside each GPT-4 judgment text, the score it parsed (``score``; -1 = none) and the verdict of
each order (``g1_winner``/``g2_winner``). This replays every distinct judgment text through transeval's parser
(the rubric FastChat used, the judged answers taken from the recorded prompt for the quoting defences) and lists
every difference with both readings, for a person to say which is right. The committed fixture
(``tests/fidelity/data``) is a part of this; point the script at whole FastChat data folders (forks' ``fastchat/
llm_judge/data/mt_bench``) kept out of git.

Usage::

    .venv/bin/python bench/parse_vs_fastchat.py DIR [DIR ...]

Only GPT-4 judgments of MT-bench questions (81-160) with FastChat's eight judge prompts are counted.

Measured (2026-12-04, the gpt-4_single/gpt-4_pair files of 12 FastChat forks: Hameed92, Stefanstud, SumanthRH,
alvarobartt, don-tpanic, dreaming-panda/MTBench, jtbwedgwood, jxiw, muhan421, nathanstitt, sarahlmk, vanbujm)::

    distinct judgments 4613 | same score/verdict 4613 (100.000%) | differences 0
    the committed fixture alone: distinct judgments 948 | same 948 (100.000%) | differences 0

Before the parser counted a quoted closing rating (commit a26b081): 4598 of 4613 (99.675%); all 15 differences
were GPT-4 ending 'I would rate it as follows: "Rating: [[8]]".' or similar, which FastChat read right and we
left unscored (3 of them are in the fixture).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fidelity"))

from fastchat_format import (  # noqa: E402
    RUBRICS,
    answers_in_prompt,
    pair_judgments,
    single_judgments,
    verdict_letter,
)
from transeval.judges.rubric import load_rubric  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Replay every judgment file under the given folders; print the table and each difference."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    args = ap.parse_args(argv)
    seen: set[str] = set()
    n = same = 0
    diffs: list[str] = []
    for d in args.dirs:
        for f in sorted(d.rglob("gpt-4_*.jsonl*")):
            if "_pair" in f.name:
                for p in pair_judgments(f):
                    if p.rubric not in RUBRICS or not 81 <= p.question_id <= 160:
                        continue
                    rubric = load_rubric(RUBRICS[p.rubric])
                    for game, prompt, text, won in ((1, p.g1_user_prompt, p.g1_judgment, p.g1_winner),
                                                    (2, p.g2_user_prompt, p.g2_judgment, p.g2_winner)):
                        if text in seen:
                            continue
                        seen.add(text)
                        n += 1
                        ours = rubric.parse_verdict(text, answers_in_prompt(prompt))[0]
                        theirs = verdict_letter(won, game)
                        same += ours == theirs
                        if ours != theirs:
                            diffs.append(f"{f}: q{p.question_id} t{p.turn} game {game}: FastChat {theirs}, ours "
                                         f"{ours}\n    ...{text[-200:]!r}")
            else:
                for j in single_judgments(f):
                    if j.rubric not in RUBRICS or not 81 <= j.question_id <= 160 or j.judgment in seen:
                        continue
                    seen.add(j.judgment)
                    n += 1
                    score = load_rubric(RUBRICS[j.rubric]).parse(j.judgment, answers_in_prompt(j.user_prompt)).score
                    recorded = None if j.score == -1 else j.score
                    same += score == recorded
                    if score != recorded:
                        diffs.append(f"{f}: {j.model} q{j.question_id} t{j.turn}: FastChat {recorded}, ours {score}"
                                     f"\n    ...{j.judgment[-200:]!r}")
    share = same / n if n else float("nan")
    print(f"distinct judgments {n} | same score/verdict {same} ({share:.3%}) | differences {len(diffs)}")
    for line in diffs:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
