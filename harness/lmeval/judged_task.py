"""The lm-eval task class of every judged benchmark.

YAMLs name it as ``class: !function transeval.harness.lmeval.judged_task.JudgedTask``.

Kept apart from :mod:`transeval.harness.lmeval.judged` so that judging a saved run never imports lm-eval.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask
from transeval.core.records import JudgeSpec
from transeval.harness.lmeval.judged import judge_spec_from_metadata, load_docs
from transeval.harness.lmeval.multiturn import ConversationSpec


class JudgedTask(ConfigurableTask):
    """An lm-eval task whose documents are (multi-turn) conversations judged by an LLM."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)  # TaskConfig rejects it
        self._task_name = str(config.get("task"))
        super().__init__(config=config, **kwargs)

    @property
    def judge_spec(self) -> JudgeSpec:
        """The task's judge spec (validated)."""
        return judge_spec_from_metadata(self._task_name, self.config.metadata or {})

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Load the bundled (or user-given) questions instead of a hub dataset."""
        import datasets

        docs = load_docs(self._task_name, self.config.metadata or {})
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


#: The name task YAMLs written for transeval 0.1 use.
MultiTurnTask = JudgedTask
