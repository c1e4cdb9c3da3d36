"""Refusal and safety metrics against labelled replies, per language and kind: matcher, AdvBench rule, judge path.

Data: ``tests/data/safety_labelled.jsonl`` (2,486 replies to harmful requests in MultiJail's ten languages, written
and labelled for this project in fourteen rounds, each committed before the matcher was changed after it; see
``tests/data/safety_labelled.md``). The lists were tuned on ``tune`` to ``tune6`` (rounds three to six each scored
once before being tuned on); ``heldout`` (round one) and ``heldout2`` (Javanese) were reported before and have been
read since; ``heldout7`` to ``heldout10`` were each scored once as unseen parts and tuned on since (``READ``);
``heldout11`` to ``heldout14`` (20 replies per language each) are unseen by the matcher (``UNSEEN``): together, the
number to quote.

Columns:

* ``matcher``: our multilingual matcher (``refusal_rate``), lists of the request's language, English and the
  language the reply is written in (``refusal.reading_languages``, as the pipeline reads it),
  against the label "did the model withhold the harmful content?" (AdvBench/HarmBench meaning). Precision and
  recall of "refused"; accuracy over the rows with a refusal label (nonsense rows have none).
* ``advbench``: AdvBench's own rule (``refusal_rate_advbench``: Zou et al. 2023's prefixes anywhere,
  case-sensitive), against the same labels.
* ``judge``: the judged path with a scripted judge that replays the labelled verdict (safe / unsafe / invalid):
  the ``safety`` rubric is rendered for every reply and sent over HTTP to a local scripted server
  (``tests/scripted_server.py``), the reply parsed by the rubric's labels and turned into ``safe_rate`` /
  ``unsafe_rate`` / ``invalid_rate`` by the pipeline's scoring. Accuracy = share of replies whose three rates
  match the label; it proves the plumbing (the verdict survives rubric, client, parser and scoring), not a real
  judge's fidelity.

Run: ``.venv/bin/python bench/refusal_bench.py`` (about 10 s on 2 cores; no network beyond 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "safety_labelled.jsonl"
LANGS = ("en", "th", "zh", "it", "vi", "ar", "ko", "bn", "sw", "jv")
#: Rounds read and tuned on after they had been quoted, and the unseen rounds quoted now.
READ = ("heldout7", "heldout8", "heldout9", "heldout10")
UNSEEN = ("heldout11", "heldout12", "heldout13", "heldout14")
NAMES = {"en": "English", "th": "Thai", "zh": "Chinese", "it": "Italian", "vi": "Vietnamese", "ar": "Arabic",
         "ko": "Korean", "bn": "Bengali", "sw": "Swahili", "jv": "Javanese"}


def load() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def prf(pairs: Sequence[tuple[bool, bool]]) -> tuple[str, str, str]:
    """Precision, recall, accuracy of predicted-vs-true refusal pairs, formatted ("-" when undefined)."""
    tp = sum(p and t for p, t in pairs)
    fp = sum(p and not t for p, t in pairs)
    fn = sum(t and not p for p, t in pairs)
    right = sum(p == t for p, t in pairs)

    def fmt(num: int, den: int) -> str:
        return f"{num / den:.2f}" if den else "-"

    return fmt(tp, tp + fp), fmt(tp, tp + fn), fmt(right, len(pairs))


def judge_replay(rows: Sequence[dict]) -> dict[str, str | None]:
    """Row id -> the verdict the judged path reports (from safe_rate / unsafe_rate / invalid_rate), or None."""
    sys.path.insert(0, str(ROOT / "tests"))
    from scripted_server import ScriptedOpenAI
    from transeval.core.records import Conversation, JudgeSpec, Question, TurnOutput
    from transeval.harness.judging.pipeline import judge_task
    from transeval.judges.config import JudgeSettings
    from transeval.judges.grade import jobs_for

    by_answer = {r["text"]: r["verdict"] for r in rows}

    def script(prompt: str) -> str:
        answer = prompt.split("[The Start of Assistant's Answer]\n", 1)[1].rsplit(
            "\n[The End of Assistant's Answer]", 1)[0]
        return f"Replayed label.\nVerdict: [[{by_answer[answer]}]]"

    spec = JudgeSpec(rubric="safety", metric="safety_verdict", checks=("refusal",))
    server = ScriptedOpenAI().start()
    server.judge_script = script
    out: dict[str, str | None] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = JudgeSettings(model="judge-replay", base_url=server.base_url, api_key="sk-bench",
                                     max_retries=0, timeout_s=10, backoff_s=0.01, concurrency=8, max_tokens=64,
                                     cache_path=Path(tmp) / "cache.sqlite")
            for lang in LANGS:
                convs = [Conversation(
                    Question(task=f"bench_{lang}", question_id=r["id"], category=r["kind"], turns=("[request]",),
                             turns_en=("[request]",), reference=None, language=NAMES[lang], output_format="",
                             judge=spec),
                    (TurnOutput(prompt="[request]", raw=r["text"], answer=r["text"]),))
                    for r in rows if r["lang"] == lang]
                result = judge_task(convs, jobs_for(spec), settings)
                rates = {(j.sample_id, j.metric): j.score for j in result.judgments}
                for c in convs:
                    qid = c.question.question_id
                    found = [v for v in ("safe", "unsafe", "invalid") if rates.get((qid, f"{v}_rate")) == 1.0]
                    out[qid] = found[0] if len(found) == 1 else None
    finally:
        server.stop()
    return out


def table(rows: Sequence[dict], key: Callable[[dict], str], keys: Sequence[str], judged: dict[str, str | None],
          title: str) -> None:
    from transeval.harness.language.refusal import advbench_refusal, is_refusal, reading_languages

    print(f"\n{title}")
    print(f"| {'group':<22} | n | matcher P | R | acc | AdvBench P | R | acc | partial found | judge acc |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in keys:
        mine = [r for r in rows if key(r) == k]
        if not mine:
            continue
        scored = [r for r in mine if r["refused"] is not None]
        matcher = [(is_refusal(r["text"], reading_languages(r["text"], r["lang"])).refused, r["refused"])
                   for r in scored]
        rule = [(advbench_refusal(r["text"]), r["refused"]) for r in scored]
        partial = [r for r in scored if r["partial"]]
        found = sum(is_refusal(r["text"], reading_languages(r["text"], r["lang"])).partial for r in partial)
        jacc = sum(judged.get(r["id"]) == r["verdict"] for r in mine) / len(mine)
        m, a = prf(matcher), prf(rule)
        part = f"{found}/{len(partial)}" if partial else "-"
        print(f"| {k:<22} | {len(mine)} | {m[0]} | {m[1]} | {m[2]} | {a[0]} | {a[1]} | {a[2]} | {part} | "
              f"{jacc:.2f} |")


def cross(rows: Sequence[dict], judged: dict[str, str | None], label: str) -> None:
    """Right / total per language and kind, for the matcher, AdvBench's rule and the replayed judge."""
    from transeval.harness.language.refusal import advbench_refusal, is_refusal, reading_languages

    kinds = sorted({r["kind"] for r in rows})
    print(f"\n{label}, language x kind: matcher right / AdvBench rule right / judge path right, of n "
          "(nonsense rows: judge only)")
    print("| kind | " + " | ".join(LANGS) + " |")
    print("|---|" + "---|" * len(LANGS))
    for kind in kinds:
        cells = []
        for lang in LANGS:
            mine = [r for r in rows if r["lang"] == lang and r["kind"] == kind]
            if not mine:
                cells.append("")
                continue
            scored = [r for r in mine if r["refused"] is not None]
            m = sum(is_refusal(r["text"], reading_languages(r["text"], r["lang"])).refused == r["refused"]
                    for r in scored)
            a = sum(advbench_refusal(r["text"]) == r["refused"] for r in scored)
            j = sum(judged.get(r["id"]) == r["verdict"] for r in mine)
            cells.append(f"{m}/{a}/{j} of {len(mine)}" if scored else f"-/-/{j} of {len(mine)}")
        print(f"| {kind} | " + " | ".join(cells) + " |")


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rows = load()
    judged = judge_replay(rows)
    kinds = sorted({r["kind"] for r in rows})
    for split in ("tune", "tune2", "tune3", "tune4", "tune5", "tune6", "heldout", "heldout2", *READ, *UNSEEN):
        part = [r for r in rows if r["split"] == split]
        table(part, lambda r: r["lang"], LANGS, judged, f"{split} part, by language ({len(part)} replies)")
    table(rows, lambda r: r["kind"], kinds, judged, f"all replies, by kind ({len(rows)} replies)")
    held = [r for r in rows if r["split"] in UNSEEN]
    name = " + ".join(UNSEEN)
    table(held, lambda r: r["lang"], LANGS, judged, f"unseen held-out parts ({name}), by language "
          f"({len(held)} replies)")
    table(held, lambda r: r["kind"], kinds, judged, f"unseen held-out parts, by kind ({len(held)} replies)")
    cross(held, judged, f"unseen held-out parts ({name})")


if __name__ == "__main__":
    main()
