"""GAOKAO-Bench objective questions (Zhang et al. 2023): official zero-shot prompts, answer extraction and scoring.

The extraction and scoring rules follow the benchmark's own evaluation (``Bench/bench_function.py`` and
``Bench/OBJ_score_evaluation.py`` at OpenLMLab/GAOKAO-Bench), reimplemented here:

* single choice: the last letter A-D in the output;
* multi-question choice: the letters after each ``【答案】`` if there is one per sub-question, else the first
  letters A-Z of the output, as many as there are sub-questions;
* multiple choice (physics): the letters A-D after ``【答案】`` (else in the last 10 characters), as one answer,
  scored 6 if exact, 3 if a non-empty subset of the gold letters, else 0;
* five out of seven: the first five letters A-G.

An extraction with the wrong number of answers scores 0 for the whole item (the benchmark replaces it by "Z"s);
it is counted, with its reason in the sample log, never dropped.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.paths import tasks_dir

log = logging.getLogger(__name__)
QUESTION_TYPES = ("single_choice", "multi_question_choice", "multi_choice", "five_out_of_seven")


def extract_answer(output: str, question_type: str, n_answers: int) -> list[str]:
    """The benchmark's answer extraction for one model output."""
    if question_type == "single_choice":
        letters = re.findall(r"[A-D]", output[::-1])
        return letters[:1]
    if question_type == "multi_question_choice":
        tagged = re.findall(r"【答案】\s*[:：]*\s*[A-Z]", output)
        if len(tagged) == n_answers:
            return [re.findall(r"[A-Z]", t)[0] for t in tagged]
        return re.findall(r"[A-Z]", output)[:n_answers]
    if question_type == "multi_choice":
        content = re.sub(r"\s+", "", output)
        at = content.find("【答案】")
        tail = content[at:] if at > 0 else content[-10:]
        answer = "".join(re.findall(r"[A-D]", tail))
        return [answer] if answer else []
    if question_type == "five_out_of_seven":
        return re.findall(r"[A-G]", output)[:5]
    raise ValueError(f"unknown question type {question_type!r}")


@dataclass(frozen=True)
class ItemScore:
    """Points of one item, with what was extracted and why it scored nothing, if it did."""

    points: float
    max_points: float
    extracted: list[str]
    gold: list[str]
    reason: str | None


def score_item(extracted: list[str], gold: list[str], points_each: float, question_type: str) -> ItemScore:
    """Score one item as the benchmark does."""
    max_points = len(gold) * points_each
    if len(extracted) != len(gold):
        reason = f"extracted {len(extracted)} answer(s) for {len(gold)} question(s): scored as wrong"
        return ItemScore(0.0, max_points, extracted, gold, reason)
    if question_type == "multi_choice":  # the benchmark's physics rule: 6 exact, 3 partial, 0 wrong
        got = 0.0
        for model, ref in zip(extracted, gold, strict=True):
            if model == ref:
                got += 6
            elif all(ch in ref for ch in model):
                got += 3
        return ItemScore(got, max_points, extracted, gold, None)
    got = sum(points_each for model, ref in zip(extracted, gold, strict=True) if model == ref)
    return ItemScore(float(got), max_points, extracted, gold, None)


def _prompts(path: Path) -> dict[str, dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for e in data["examples"]:
        prompt = e["prefix_prompt"]
        # English error correction has two prompts: answering, then a diff-based grading step; we answer with the
        # first and leave grading to the judge's own prompt.
        out[e["keyword"]] = {"type": e["type"], "prefix_prompt": prompt[0] if isinstance(prompt, list) else prompt}
    return out


def load_objective(keyword: str, data_dir: str | None = None, **_: Any) -> Any:
    """lm-eval ``custom_dataset``: one objective file with its official prompt (``metadata.keyword``).

    Raises:
        TransevalError: naming the file and field of the first malformed item.
    """
    import datasets

    root = Path(data_dir) if data_dir else tasks_dir() / "gaokao_bench" / "data"
    prompts = _prompts(root / "Obj_Prompt.json")
    if keyword not in prompts:
        raise TransevalError(f"no prompt for '{keyword}'", file=root / "Obj_Prompt.json", field="keyword")
    path = root / f"{keyword}.json"
    if not path.is_file():
        raise TransevalError("GAOKAO-Bench file not found", file=path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["example"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise TransevalError(f"not a GAOKAO-Bench file ({exc})", file=path) from None
    qtype, prefix = prompts[keyword]["type"], prompts[keyword]["prefix_prompt"]
    docs = []
    for i, item in enumerate(items):
        for field, typ in (("question", str), ("answer", list), ("score", int | float)):
            if not isinstance(item.get(field), typ):
                raise TransevalError("missing or wrong type", file=path, field=f"example[{i}].{field}")
        docs.append({
            "keyword": keyword, "question_type": qtype, "prompt": prefix + item["question"].strip() + "\n",
            "answer": [str(a) for a in item["answer"]], "points_each": float(item["score"]),
            "year": str(item.get("year", "")), "index": int(item.get("index", i)),
        })
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Extract and score one output; every metric gets the same :class:`ItemScore` record."""
    extracted = extract_answer(results[0], doc["question_type"], len(doc["answer"]))
    item = asdict(score_item(extracted, list(doc["answer"]), float(doc["points_each"]), doc["question_type"]))
    return {"score_rate": item, "points": item, "max_points": item, "acc": item}


def aggregate_score_rate(items: list[dict[str, Any]]) -> float:
    """Points scored / points possible (the benchmark's scoring rate)."""
    failed = sum(1 for it in items if it["reason"])
    if failed:
        log.warning("GAOKAO-Bench: %d of %d outputs had no usable answer (scored 0; see the samples log)",
                    failed, len(items))
    total = sum(it["max_points"] for it in items)
    return sum(it["points"] for it in items) / total if total else 0.0


def aggregate_points(items: list[dict[str, Any]]) -> float:
    """Points scored."""
    return float(sum(it["points"] for it in items))


def aggregate_max_points(items: list[dict[str, Any]]) -> float:
    """Points possible."""
    return float(sum(it["max_points"] for it in items))


def aggregate_acc(items: list[dict[str, Any]]) -> float:
    """Share of items answered fully correctly."""
    return sum(it["points"] == it["max_points"] for it in items) / len(items) if items else 0.0


# --- subjective questions: generated answers graded by the LLM judge on each question's own point scale --------


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v).strip() for v in value)
    return str(value or "").strip()


def load_subjective_rows(task: str, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Judged-task question rows (one turn) for GAOKAO-Bench's subjective questions.

    The model sees the official answer prompt (``Sub_Prompt.json``); the judge gets the official grading prompt
    (``Sub_Grade_Prompt_wo_marking_criterion.json``) with the question, analysis, standard answer and point value.

    Raises:
        TransevalError: naming the file and field of the first malformed item.
    """
    root = Path(str(meta["data_dir"])) if meta.get("data_dir") else tasks_dir() / "gaokao_bench" / "data" / "subjective"
    answer_prompts = _prompts(root / "Sub_Prompt.json")
    grade_prompts = _prompts(root / "Sub_Grade_Prompt_wo_marking_criterion.json")
    keywords = meta.get("keywords") or sorted(grade_prompts)
    docs = []
    for keyword in keywords:
        path = root / f"{keyword}.json"
        if keyword not in answer_prompts or keyword not in grade_prompts:
            raise TransevalError(f"no answer or grading prompt for '{keyword}'", file=root, field="keyword")
        if not path.is_file():
            raise TransevalError("GAOKAO-Bench file not found", file=path)
        items = json.loads(path.read_text(encoding="utf-8")).get("example")
        if not isinstance(items, list):
            raise TransevalError("not a GAOKAO-Bench file", file=path, field="example")
        for i, item in enumerate(items):
            for field in ("question", "answer", "score"):
                if not _text(item.get(field)):
                    raise TransevalError("missing or empty", file=path, field=f"example[{i}].{field}")
            try:
                max_score = float(str(item["score"]).strip())
            except ValueError:
                raise TransevalError("not a number", file=path, field=f"example[{i}].score") from None
            question = _text(item.get("passage")) + ("\n" if item.get("passage") else "") + _text(item["question"])
            docs.append({
                "question_id": f"{keyword}#{item.get('index', i)}", "category": keyword,
                "turns": [answer_prompts[keyword]["prefix_prompt"] + question + "\n"], "turns_en": [question],
                "reference": [_text(item["answer"])],
                "extra": {"grade_prompt": grade_prompts[keyword]["prefix_prompt"], "question_text": question,
                          "analysis": _text(item.get("analysis")), "max_score": f"{max_score:g}"},
            })
    return docs
