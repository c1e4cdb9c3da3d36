"""MT-bench-style judged tasks for lm-eval: data loading, the task class, per-sample results, aggregation.

A task YAML in ``tasks/`` names these functions; the judge runs in lm-eval's aggregation step, once per
task, over all conversations (concurrently, through the persistent cache). See ``tasks/thai_mtbench``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transeval.harness.errors import JudgeConfigError, TransevalError
from transeval.harness.multiturn import ConversationSpec, decode_outputs
from transeval.harness.records import Conversation, JudgeSpec, Judgment, Question, TaskScores, TurnOutput

log = logging.getLogger(__name__)

_REQUIRED: dict[str, type | tuple[type, ...]] = {"question_id": (int, str), "category": str, "turns": list}
_OPTIONAL: dict[str, type] = {"turns_en": list, "reference": list, "reference_gpt4": list, "xlsx_instruct_id": int}
#: Per-task results of the judge in this process, for the remaining metrics and for the result writer.
JUDGED: dict[str, tuple[list[Conversation], list[Judgment], TaskScores]] = {}


def tasks_dir() -> Path:
    """The folder lm-eval is pointed at (the installed ``transeval/tasks``)."""
    import transeval.tasks

    return Path(transeval.tasks.__file__).resolve().parent


def resolve_data_file(value: str) -> Path:
    """Resolve a ``data_file`` setting: absolute, relative to the working directory, or to the tasks folder."""
    p = Path(value).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return tasks_dir() / p


def read_questions_jsonl(path: Path, turns_field: str = "turns") -> list[dict[str, Any]]:
    """Read and validate a questions JSONL file.

    Raises:
        TransevalError: naming the file, line and field of the first bad record.
    """
    from transeval.harness.store import read_jsonl

    if not path.is_file():
        raise TransevalError("questions file not found", file=path)
    rows: list[dict[str, Any]] = []
    for lineno, row in read_jsonl(path):
        for key, typ in {**_REQUIRED, turns_field: list}.items():
            if key not in row:
                raise TransevalError("missing required field", file=path, line=lineno, field=key)
            if not isinstance(row[key], typ):
                raise TransevalError("wrong type", file=path, line=lineno, field=key)
        for key, value in row.items():
            want = _OPTIONAL.get(key)
            if want is not None and value is not None and not isinstance(value, want):
                raise TransevalError("wrong type", file=path, line=lineno, field=key)
        for key in (turns_field, "turns", "turns_en", "reference", "reference_gpt4"):
            value = row.get(key)
            if value is not None and (not value or not all(isinstance(x, str) for x in value)):
                raise TransevalError("must be a non-empty list of strings", file=path, line=lineno, field=key)
        rows.append(row)
    if not rows:
        raise TransevalError("no questions in file", file=path)
    return rows


def _task_yaml(task: str) -> str:
    for path in sorted(tasks_dir().glob("*/*.yaml")):
        if f"task: {task}\n" in path.read_text(encoding="utf-8"):
            return str(path)
    return f"task {task}"


def judge_spec_from_metadata(task: str, meta: Mapping[str, Any]) -> JudgeSpec:
    """Build and validate the judge spec of a task (rubric names must exist).

    Raises:
        JudgeConfigError: naming the task YAML and field.
    """
    from transeval.judges.rubric import available_rubrics

    raw = meta.get("judge")
    where = _task_yaml(task)
    if not isinstance(raw, Mapping) or "rubric" not in raw:
        raise JudgeConfigError("a judged task needs metadata.judge.rubric", file=where, field="metadata.judge")
    known = set(JudgeSpec.__dataclass_fields__)
    for key in raw:
        if key not in known:
            raise JudgeConfigError(f"unknown key (known: {', '.join(sorted(known))})", file=where,
                                   field=f"metadata.judge.{key}")
    spec = JudgeSpec.from_dict(dict(raw))
    if meta.get("judge_model"):
        spec = JudgeSpec.from_dict({**spec.to_dict(), "model": str(meta["judge_model"])})
    rubrics = available_rubrics()
    for name in ("rubric", "rubric_reference", "rubric_multi_turn", "rubric_multi_turn_reference"):
        value = getattr(spec, name)
        if value is not None and value not in rubrics:
            raise JudgeConfigError(
                f"unknown judge prompt '{value}' (known: {', '.join(sorted(rubrics))})",
                file=where, field=f"metadata.judge.{name}",
            )
    return spec


def load_docs(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Turn a questions file into lm-eval documents for ``task``.

    Each document carries everything later steps need (turns, references, judge spec, output
    format) so that ``transeval judge`` can work from the samples file alone.
    """
    if "data_file" not in meta:
        raise TransevalError("metadata.data_file is required", file=_task_yaml(task), field="metadata.data_file")
    turns_field = str(meta.get("turns_field", "turns"))
    output_format = str(meta.get("output_format", "plain"))
    if output_format not in ("plain", "tcot"):
        raise TransevalError(f"output_format must be 'plain' or 'tcot', got '{output_format}'",
                             field="--metadata output_format")
    spec = judge_spec_from_metadata(task, meta)
    path = resolve_data_file(str(meta["data_file"]))
    docs = []
    for row in read_questions_jsonl(path, turns_field):
        ref = row.get(spec.reference_field)
        docs.append(
            {
                "task": task,
                "question_id": str(row["question_id"]),
                "category": row["category"],
                "turns": row[turns_field],
                "turns_en": row.get("turns_en") or row[turns_field],
                "reference": ref,
                "language": str(meta.get("language", "English")),
                "output_format": output_format,
                "target_tag": str(meta.get("target_tag", "<TH>")),
                "judge": json.dumps(spec.to_dict()),
            }
        )
    return docs


def question_from_doc(doc: Mapping[str, Any]) -> Question:
    """Rebuild the :class:`Question` from a logged lm-eval document."""
    ref = doc.get("reference")
    return Question(
        task=str(doc["task"]),
        question_id=str(doc["question_id"]),
        category=str(doc["category"]),
        turns=tuple(doc["turns"]),
        turns_en=tuple(doc.get("turns_en") or doc["turns"]),
        reference=tuple(ref) if ref else None,
        language=str(doc.get("language", "English")),
        output_format=str(doc.get("output_format", "plain")),
        judge=JudgeSpec.from_dict(json.loads(doc["judge"])),
        extra=json.loads(doc["extra"]) if doc.get("extra") else {},
    )


def conversation_from_sample(doc: Mapping[str, Any], reply: str) -> Conversation:
    """A :class:`Conversation` from a document and the model's reply for it."""
    question = question_from_doc(doc)
    try:
        turns = decode_outputs(reply)
    except (ValueError, KeyError, TypeError):
        # Not produced by the multi-turn runner (e.g. the hook was disabled): keep it, judge nothing.
        turns = tuple(TurnOutput("", reply, None, "no conversation output (was the transeval hook disabled?)")
                      for _ in question.turns)
    return Conversation(question, turns)


try:  # lm-eval is a dependency, but keep the pure helpers importable without it.
    from lm_eval.api.task import ConfigurableTask
except ImportError:  # pragma: no cover
    ConfigurableTask = object


class MultiTurnTask(ConfigurableTask):
    """An lm-eval task whose documents are multi-turn conversations judged by an LLM."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)  # TaskConfig rejects it
        self._task_name = str(config.get("task"))
        super().__init__(config=config, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Load the bundled (or user-given) questions instead of a hub dataset."""
        import datasets

        meta = self.config.metadata or {}
        loader = load_docs
        if meta.get("loader"):  # another benchmark's documents in the same shape (e.g. GAOKAO-Bench subjective)
            import importlib

            module, _, name = str(meta["loader"]).rpartition(".")
            loader = getattr(importlib.import_module(module), name)
        docs = loader(self._task_name, meta)
        self.dataset = datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})

    def fewshot_context(self, doc: dict, num_fewshot: int, system_instruction: str | None = None,
                        apply_chat_template: bool = False, fewshot_as_multiturn: bool = False,
                        chat_template: Any = None, gen_prefix: str | None = None) -> str:
        """Return a conversation spec; the multi-turn runner renders each turn with the backend's template."""
        description = self.config.description or ""
        system = "\n\n".join(x for x in (system_instruction, description) if x) or None
        return ConversationSpec(
            turns=tuple(doc["turns"]), system=system, chat=bool(apply_chat_template),
            output_format=doc["output_format"], target_tag=doc["target_tag"],
        ).encode()


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Per-document metric values: the full item for ``score``, a key for the derived metrics."""
    item = {"doc": doc, "reply": results[0]}
    key = {"task": doc["task"], "question_id": doc["question_id"]}
    derived = DERIVED_METRICS + (POINT_METRICS if "max_score" in str(doc.get("extra") or "") else ())
    return {"score": item, **{m: key for m in derived}}


def _judge_items(items: list[dict[str, Any]]) -> TaskScores:
    from transeval.judges.grade import judge_conversations

    convs = [conversation_from_sample(it["doc"], it["reply"]) for it in items]
    task = convs[0].question.task
    judgments, scores = judge_conversations(convs)
    JUDGED[task] = (convs, judgments, scores)
    return scores


def aggregate_score(items: list[dict[str, Any]]) -> float | None:
    """lm-eval aggregation for ``score``: judges every conversation (once per task) and returns the mean."""
    if not items:
        return None
    return _judge_items(items).overall.mean


def _derived(metric: str) -> Any:
    def aggregate(keys: list[dict[str, Any]]) -> float | int | None:
        if not keys:
            return None
        task = keys[0]["task"]
        if task not in JUDGED:
            raise RuntimeError(f"{task}: metric '{metric}' aggregated before 'score' (lm-eval order changed?)")
        return JUDGED[task][2].headline().get(metric)

    aggregate.__name__ = f"aggregate_{metric}"
    return aggregate


DERIVED_METRICS = ("score_turn1", "score_turn2", "score_ci_low", "score_ci_high", "n_scored", "n_total")
#: Extra metrics of benchmarks graded on each question's own point value (GAOKAO-Bench subjective).
POINT_METRICS = ("points", "max_points")
aggregate_points = _derived("points")
aggregate_max_points = _derived("max_points")
aggregate_score_turn1 = _derived("score_turn1")
aggregate_score_turn2 = _derived("score_turn2")
aggregate_score_ci_low = _derived("score_ci_low")
aggregate_score_ci_high = _derived("score_ci_high")
aggregate_n_scored = _derived("n_scored")
aggregate_n_total = _derived("n_total")

