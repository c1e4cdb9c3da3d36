"""Judged tasks for lm-eval: one path for every benchmark whose answers an LLM judge scores.

A judged task is a YAML in ``tasks/`` (``class: !function transeval.harness.lmeval.judged_task.JudgedTask``) whose
``metadata`` names

* its prompt source: ``data_file`` (``source: multi_turn``: a questions JSONL with a ``turns`` list, MT-bench
  style; ``source: single_turn``: one prompt field per row, AlpacaEval style) or a ``loader`` for an unusual
  format (``!function utils.load_questions`` beside the YAML);
* its judge: ``judge.mode`` (``single``, ``aspects``, ``pairwise``), ``judge.rubric`` (plus reference-guided
  and multi-turn variants), further ``rubrics`` scored as their own metrics, and a pairwise ``baseline``.

Generation runs in lm-eval (the multi-turn runner batches turn *t* of all conversations); judging runs after
lm-eval has returned the answers and they are saved (:mod:`transeval.harness.judging.pipeline`), never inside
lm-eval's aggregation, so a judge outage cannot cost the generation.
"""

from __future__ import annotations

import difflib
import importlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from transeval.core.errors import JudgeConfigError, TransevalError
from transeval.core.paths import resolve_data_file, tasks_dir
from transeval.core.records import CHECKS, MODES, PENALTIES, Conversation, JudgeSpec, Question, TurnOutput
from transeval.harness.lmeval.multiturn import decode_outputs

log = logging.getLogger(__name__)

#: ``metadata`` keys a judged task understands (lm-eval adds ``version``, ``config_source`` and model args).
METADATA_KEYS = {
    "version", "data_file", "source", "turns_field", "prompt_field", "id_field", "category_field",
    "english_field", "reference_field", "language", "target_tag", "output_format", "judge", "judge_model",
    "rubrics", "loader", "baseline", "baseline_files", "baseline_match", "data_dir", "keywords",
    "wrong_language", "data_key", "column", "advbench_th_file", "advbench_zh_file", "rubrics_dir",
}
#: ``--metadata`` keys a user may set on the command line (misspellings of these are caught).
USER_METADATA_KEYS = ("data_file", "output_format", "judge_model", "rubrics", "rubrics_dir", "baseline", "judge",
                      "language",
                      "wrong_language", "turns_field", "ppl_en_path", "ppl_zh_path", "advbench_th_file",
                      "advbench_zh_file")
_OPTIONAL_LISTS = ("turns_en", "reference", "reference_gpt4")


_FILE_KEY = re.compile(r"^(llm_eval|mtbench|advbench)_[a-z]{2}_file$")


def check_user_metadata(metadata: Mapping[str, Any] | None) -> None:
    """Catch a misspelled ``--metadata`` key (``data_flie``) before anything runs.

    Keys close to one of ours are errors; other unknown keys may belong to other lm-eval tasks and pass.

    Raises:
        TransevalError: naming the key and the one it resembles.
    """
    for key in metadata or {}:
        if key in USER_METADATA_KEYS or key in METADATA_KEYS or _FILE_KEY.match(str(key)):
            continue
        close = difflib.get_close_matches(str(key), USER_METADATA_KEYS, n=1, cutoff=0.75)
        if close:
            raise TransevalError(f"unknown key '{key}' (did you mean '{close[0]}'?)", field="--metadata")


def _task_yaml(task: str) -> str:
    for path in sorted(tasks_dir().glob("*/*.yaml")):
        if f"task: {task}\n" in path.read_text(encoding="utf-8"):
            return str(path)
    return f"task {task}"


def read_questions(path: Path, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Read and validate a questions file into rows ``{question_id, category, turns, turns_en, reference}``.

    ``source: multi_turn`` (default) reads ``turns_field`` (a list of strings); ``single_turn`` reads
    ``prompt_field`` (a string). ``id_field``, ``category_field``, ``english_field`` and ``reference_field``
    rename the other columns.

    Raises:
        TransevalError: naming the file, line and field of the first bad record (missing or mistyped field,
            duplicate id, empty file).
    """
    from transeval.core.jsonl import read_jsonl

    if not path.is_file():
        raise TransevalError("questions file not found", file=path, field="data_file")
    single = str(meta.get("source", "multi_turn")) == "single_turn"
    f_id = str(meta.get("id_field", "question_id"))
    f_cat = meta.get("category_field", "category")
    f_turns = str(meta.get("prompt_field", "instruction") if single else meta.get("turns_field", "turns"))
    f_en = str(meta.get("english_field", "turns_en"))
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for lineno, row in read_jsonl(path):
        def bad(message: str, field: str, lineno: int = lineno) -> TransevalError:
            return TransevalError(message, file=path, line=lineno, field=field)

        if f_id not in row:
            raise bad("missing required field", f_id)
        qid = row[f_id]
        if not isinstance(qid, int | str) or isinstance(qid, bool) or str(qid).strip() == "":
            raise bad("must be a non-empty string or an integer", f_id)
        if str(qid) in seen:
            raise bad(f"duplicate id '{qid}' (first on line {seen[str(qid)]})", f_id)
        seen[str(qid)] = lineno
        category = row.get(str(f_cat), "") if f_cat else ""
        if f_cat and str(f_cat) not in row:
            raise bad("missing required field", str(f_cat))
        if not isinstance(category, str):
            raise bad("must be a string", str(f_cat))
        if f_turns not in row:
            raise bad("missing required field", f_turns)
        turns = row[f_turns]
        if single:
            if not isinstance(turns, str) or not turns.strip():
                raise bad("must be a non-empty string", f_turns)
            turns = [turns]
        elif isinstance(turns, str):
            raise bad("must be a list of strings (one per turn), got a string", f_turns)
        english = row.get(f_en)
        if single and isinstance(english, str):
            english = [english]
        ref_field = str(meta.get("reference_field", "reference"))
        reference = row.get(ref_field)
        if single and isinstance(reference, str):
            reference = [reference]
        for name, value in ((f_turns, turns), (f_en, english), (ref_field, reference)):
            if value is None:
                continue
            if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
                raise bad("must be a non-empty list of strings", name)
        for name in _OPTIONAL_LISTS:
            value = row.get(name)
            if value is not None and name not in (f_en, ref_field) and (
                    not isinstance(value, list) or not all(isinstance(x, str) for x in value)):
                raise bad("must be a list of strings", name)
        rows.append({"question_id": str(qid), "category": category, "turns": turns, "turns_en": english,
                     "reference": reference, "_line": lineno, **{k: row[k] for k in _OPTIONAL_LISTS if k in row}})
    if not rows:
        raise TransevalError("no questions in file", file=path, field="data_file")
    return rows


def _rubrics_dirs(value: Any) -> tuple[Path, ...]:
    """``--metadata rubrics_dir``: one folder or a list of folders of the user's rubric YAMLs.

    Raises:
        JudgeConfigError: naming the field, for a value that is not a folder.
    """
    if value in (None, "", []):
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise JudgeConfigError("must be a folder (or a list of folders) of rubric YAMLs",
                               field="--metadata rubrics_dir")
    dirs = tuple(Path(v).expanduser() for v in items)
    for d in dirs:
        if not d.is_dir():
            raise JudgeConfigError("rubrics folder not found", file=d, field="--metadata rubrics_dir")
    return dirs


def judge_spec_from_metadata(task: str, meta: Mapping[str, Any]) -> JudgeSpec:
    """Build and validate the judge spec of a task (mode, rubric names and kinds, extra rubrics).

    Raises:
        JudgeConfigError: naming the task YAML (or ``--metadata``) and field.
    """
    from transeval.judges.rubric import load_rubric, rubric_ref

    raw = meta.get("judge")
    where = _task_yaml(task)
    if not isinstance(raw, Mapping) or "rubric" not in raw:
        raise JudgeConfigError("a judged task needs metadata.judge.rubric", file=where, field="metadata.judge")
    known = set(JudgeSpec.__dataclass_fields__)
    for key in raw:
        if key not in known:
            raise JudgeConfigError(f"unknown key (known: {', '.join(sorted(known))})", file=where,
                                   field=f"metadata.judge.{key}")
    extra = meta.get("rubrics") or []
    if isinstance(extra, str):
        extra = [x.strip() for x in extra.split(",") if x.strip()]
    if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
        raise JudgeConfigError("must be a list of rubric names or rubric file paths", field="--metadata rubrics")
    user_dirs = _rubrics_dirs(meta.get("rubrics_dir"))
    overrides: dict[str, Any] = {"rubrics": [*(raw.get("rubrics") or []), *extra]}
    if meta.get("judge_model"):
        overrides["model"] = str(meta["judge_model"])
    if meta.get("baseline"):
        overrides["baseline"] = str(meta["baseline"])
    if meta.get("wrong_language"):
        overrides["wrong_language"] = str(meta["wrong_language"])
    try:
        spec = JudgeSpec.from_dict({**dict(raw), **overrides})
    except TypeError as exc:
        raise JudgeConfigError(f"invalid judge spec ({exc})", file=where, field="metadata.judge") from None
    if spec.mode not in MODES:
        raise JudgeConfigError(f"mode must be one of {', '.join(MODES)}", file=where, field="metadata.judge.mode")
    for check in spec.checks:
        if check not in CHECKS:
            raise JudgeConfigError(f"unknown check '{check}' (known: {', '.join(CHECKS)})", file=where,
                                   field="metadata.judge.checks")
    if spec.wrong_language is not None and spec.wrong_language not in PENALTIES:
        raise JudgeConfigError(f"wrong_language must be one of {', '.join(PENALTIES)}",
                               field="--metadata wrong_language")
    # Every rubric as the run records it: bundled ones by name, a user's (by path, or found in a rubrics folder)
    # by absolute path, so `transeval judge` finds the same files later from anywhere.
    names = [(f"metadata.judge.{n}", getattr(spec, n)) for n in
             ("rubric", "rubric_reference", "rubric_multi_turn", "rubric_multi_turn_reference")]
    own = list(raw.get("rubrics") or [])
    names += [("metadata.judge.rubrics" if i < len(own) else "--metadata rubrics", r)
              for i, r in enumerate(spec.rubrics)]
    refs: dict[str, str] = {}
    for field, value in names:
        if value is None:
            continue
        try:
            refs[value] = rubric_ref(value, user_dirs)
            rubric = load_rubric(refs[value])  # validates the file
        except TransevalError as exc:
            if exc.file:  # the rubric file itself is at fault: it names itself
                raise JudgeConfigError(str(exc)) from None
            # an unknown name: the task YAML only when the name came from it (a user's --metadata is not the YAML)
            raise JudgeConfigError(str(exc), file=None if field.startswith("--") else where, field=field) from None
        if field.startswith("metadata.judge.") and field != "metadata.judge.rubrics" and rubric.kind != spec.mode:
            raise JudgeConfigError(f"rubric '{value}' is a {rubric.kind} rubric but the task's mode is {spec.mode}",
                                   file=where, field=field)
    if any(refs[v] != v for _, v in names if v is not None):
        spec = JudgeSpec.from_dict({**spec.to_dict(), **{n: refs[getattr(spec, n)] for n in (
            "rubric", "rubric_reference", "rubric_multi_turn", "rubric_multi_turn_reference")
            if getattr(spec, n) is not None}, "rubrics": [refs[r] for r in spec.rubrics]})
    if (spec.mode == "pairwise" or any(load_rubric(r).kind == "pairwise" for r in spec.rubrics)) and not spec.baseline:
        raise JudgeConfigError("a pairwise judge needs a baseline", file=where, field="metadata.judge.baseline")
    return spec


def _baselines(task: str, meta: Mapping[str, Any], rows: list[dict[str, Any]], name: str) -> dict[str, list[str]]:
    """Question id -> the baseline's answers, from ``baseline_files[name]`` (JSONL with ``output``).

    Rows are matched on ``baseline_match`` (``{"row_field": ..., "file_field": ...}``) or on line order.
    """
    from transeval.core.jsonl import read_jsonl

    files = meta.get("baseline_files") or {}
    if name not in files:
        raise JudgeConfigError(f"no answers for baseline '{name}' (known: {', '.join(sorted(files)) or 'none'})",
                               file=_task_yaml(task), field="metadata.baseline_files")
    path = resolve_data_file(str(files[name]))
    match = meta.get("baseline_match") or {}
    outputs: dict[str, str] = {}
    ordered: list[str] = []
    for lineno, rec in read_jsonl(path):
        if not isinstance(rec.get("output"), str):
            raise TransevalError("missing or not a string", file=path, line=lineno, field="output")
        ordered.append(rec["output"])
        if match:
            outputs[str(rec.get(match["file_field"]))] = rec["output"]
    out: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        if match:
            key = row.get(match["row_field"])
            key = key[0] if isinstance(key, list) and key else key
            if str(key) not in outputs:
                raise TransevalError(f"no baseline answer for question {row['question_id']}", file=path,
                                     field=str(match["file_field"]))
            out[row["question_id"]] = [outputs[str(key)]]
        elif i < len(ordered):
            out[row["question_id"]] = [ordered[i]]
    return out


def _load_rows(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    loader = meta.get("loader")
    if loader:
        fn: Callable[..., list[dict[str, Any]]]
        if callable(loader):
            fn = loader
        else:
            module, _, name = str(loader).rpartition(".")
            fn = getattr(importlib.import_module(module), name)
        return list(fn(task, meta))
    if "data_file" not in meta:
        raise TransevalError("metadata.data_file is required", file=_task_yaml(task), field="metadata.data_file")
    return read_questions(resolve_data_file(str(meta["data_file"])), meta)


def load_docs(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Turn a task's questions into lm-eval documents.

    Each document carries everything later steps need (turns, references, judge spec, baselines, output
    format), so ``transeval judge`` can work from the samples file alone.
    """
    unknown = sorted(k for k in set(meta) - METADATA_KEYS - {"config_source"} if not _FILE_KEY.match(str(k)))
    output_format = str(meta.get("output_format", "plain"))
    if output_format not in ("plain", "tcot"):
        raise TransevalError(f"output_format must be 'plain' or 'tcot', got '{output_format}'",
                             field="--metadata output_format")
    check_user_metadata({k: None for k in unknown})
    spec = judge_spec_from_metadata(task, meta)
    rows = _load_rows(task, meta)
    baselines = _baselines(task, meta, rows, spec.baseline) if spec.baseline else {}
    docs = []
    for row in rows:
        ref = row.get(spec.reference_field) if spec.reference_field != "reference" else row.get("reference")
        extra = row.get("extra") or {}
        docs.append(
            {
                "task": task,
                "question_id": str(row["question_id"]),
                "category": str(row.get("category") or ""),
                "turns": list(row["turns"]),
                "turns_en": list(row.get("turns_en") or row["turns"]),
                "reference": list(ref) if ref else None,
                "language": str(row.get("language") or meta.get("language", "English")),
                "output_format": output_format,
                "target_tag": str(meta.get("target_tag", "<TH>")),
                "judge": json.dumps(spec.to_dict()),
                "extra": json.dumps(extra, ensure_ascii=False) if extra else "",
                "baselines": json.dumps({spec.baseline: baselines[str(row["question_id"])]}, ensure_ascii=False)
                if spec.baseline and str(row["question_id"]) in baselines else "",
            }
        )
    return docs


def is_judged_doc(doc: Any) -> bool:
    """Whether a logged lm-eval document belongs to a judged task."""
    return isinstance(doc, dict) and "judge" in doc and "turns" in doc and "question_id" in doc


def question_from_doc(doc: Mapping[str, Any]) -> Question:
    """Rebuild the :class:`Question` from a logged lm-eval document.

    Raises:
        TransevalError: (field named) when a field has the wrong shape; the caller adds file and line.
    """
    def field_json(name: str, what: str) -> dict[str, Any]:
        raw = doc.get(name)
        if not raw:
            return {}
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            raise TransevalError("not valid JSON", field=f"doc.{name}") from None
        if not isinstance(value, dict):
            raise TransevalError(f"must be an object{what}", field=f"doc.{name}")
        return value

    def str_list(name: str, required: bool = False) -> list[str] | None:
        value = doc.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise TransevalError("must be a list of strings", field=f"doc.{name}")
        return value

    turns = str_list("turns", required=True) or []
    ref = str_list("reference")
    turns_en = str_list("turns_en")
    judge = field_json("judge", "")
    if "judge" not in doc or not judge:
        raise TransevalError("not a judge spec", field="doc.judge")
    try:
        spec = JudgeSpec.from_dict(judge)
    except TypeError as exc:
        raise TransevalError(f"not a judge spec ({exc})", field="doc.judge") from None
    baselines = field_json("baselines", " of baseline -> answers")
    for name, answers in baselines.items():
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise TransevalError(f"answers of baseline '{name}' must be a list of strings", field="doc.baselines")
    extra = field_json("extra", "")
    return Question(
        task=str(doc.get("task")),
        question_id=str(doc["question_id"]),
        category=str(doc.get("category") or ""),
        turns=tuple(turns),
        turns_en=tuple(turns_en or turns),
        reference=tuple(ref) if ref else None,
        language=str(doc.get("language", "English")),
        output_format=str(doc.get("output_format", "plain")),
        judge=spec,
        extra={str(k): str(v) for k, v in extra.items()},
        baselines={str(k): tuple(v) for k, v in baselines.items()},
    )


def conversation_from_sample(doc: Mapping[str, Any], reply: str) -> Conversation:
    """A :class:`Conversation` from a document and the model's reply for it."""
    question = question_from_doc(doc)
    try:
        data = json.loads(reply)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "turns" not in data:
        # Not produced by the multi-turn runner (e.g. the hook was disabled): keep it, judge nothing.
        turns = tuple(TurnOutput("", reply, None, "no conversation output (was the transeval hook disabled?)")
                      for _ in question.turns)
        return Conversation(question, turns)
    raw = data["turns"]
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        got = type(raw).__name__.replace("str", "a string").replace("NoneType", "null")
        raise TransevalError(f"the conversation's 'turns' must be a list of turn objects, got {got}",
                             field="filtered_resps")
    try:
        turns = decode_outputs(reply)
    except (ValueError, KeyError, TypeError) as exc:
        raise TransevalError(f"the conversation's 'turns' are not the multi-turn runner's ({exc})",
                             field="filtered_resps") from None
    return Conversation(question, turns)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Per-document metric value: only the question id; the judge scores the logged sample after lm-eval."""
    return {"score": doc["question_id"]}


def pending(items: list[Any]) -> None:
    """lm-eval aggregation placeholder: the judge fills the task's numbers in after generation."""
    return None
