"""AGI-Eval v1 (zero-shot, as lm-eval's agieval_* tasks) on the bundled files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.jsonl import read_jsonl
from transeval.core.paths import tasks_dir

AGIEVAL_EN_MCQ = ("lsat-ar", "lsat-lr", "lsat-rc", "logiqa-en", "sat-math", "sat-en", "aqua-rat",
                  "sat-en-without-passage", "gaokao-english")
AGIEVAL_ZH_MCQ = ("logiqa-zh", "jec-qa-kd", "jec-qa-ca", "gaokao-chinese", "gaokao-geography", "gaokao-history",
                  "gaokao-biology", "gaokao-chemistry", "gaokao-physics", "gaokao-mathqa")
AGIEVAL_CLOZE = {"math": "en", "gaokao-mathcloze": "zh"}
_LETTERS = "ABCDEFG"


def agieval_query(row: dict[str, Any], name: str) -> str:
    """AGI-Eval's zero-shot prompt (its ``convert_zero_shot``), the ``query`` of lm-eval's agieval datasets."""
    passage = row.get("passage") or ""
    if name in AGIEVAL_EN_MCQ or name in AGIEVAL_ZH_MCQ:
        count = len(row["options"])
        english = name in AGIEVAL_EN_MCQ
        if count == 1:
            count = 5 if english else 4
        if english:
            return (f"{passage}Q: {row['question']} Answer Choices: {' '.join(row['options'])}\n"
                    f"A: Among A through {_LETTERS[count - 1]}, the answer is")
        return (f"{passage}问题：{row['question']} 选项：{' '.join(row['options'])}\n"
                f"答案：从A到{_LETTERS[count - 1]}, 我们应选择")
    if AGIEVAL_CLOZE.get(name) == "en":
        return f"{passage}Q: {row['question']}\nA: The answer is"
    return f"{passage}问题：{row['question']}\n答案："


def read_agieval(path: Path, name: str) -> list[dict[str, Any]]:
    """AGI-Eval v1 rows as lm-eval documents (``query``, ``choices``, ``gold``; ``answer`` for cloze).

    Rows without a gold label (one upstream row of jec-qa-kd) are skipped with a warning naming the line.

    Raises:
        TransevalError: naming the file, line and field of the first malformed row.
    """
    import logging

    if name not in AGIEVAL_EN_MCQ + AGIEVAL_ZH_MCQ + tuple(AGIEVAL_CLOZE):
        raise TransevalError(f"unknown AGI-Eval subset '{name}'", file=path)
    docs = []
    for lineno, row in read_jsonl(path):
        if name in AGIEVAL_CLOZE:
            if not isinstance(row.get("answer"), str) or not isinstance(row.get("question"), str):
                raise TransevalError("cloze rows need question and answer strings", file=path, line=lineno,
                                     field="answer")
            docs.append({"query": agieval_query(row, name), "answer": row["answer"]})
            continue
        options, label = row.get("options"), row.get("label")
        if not isinstance(options, list) or not options:
            raise TransevalError("needs a list of options", file=path, line=lineno, field="options")
        # Upstream labels are "A", ["A", "C"], and sometimes "AD", "A B D" or ["A", "C", "。"]: keep the letters.
        if not isinstance(label, str | list):
            raise TransevalError("label must be a string or a list", file=path, line=lineno, field="label")
        letters = re.findall(r"[A-Z]", "".join(label) if isinstance(label, list) else label)
        if not letters:
            logging.getLogger(__name__).warning("%s:%d: no gold label, row skipped", path, lineno)
            continue
        if any(x not in _LETTERS[: len(options)] for x in letters):
            raise TransevalError(f"label {label!r} is not one of the options", file=path, line=lineno,
                                 field="label")
        docs.append({"query": agieval_query(row, name), "choices": options,
                     "gold": sorted({_LETTERS.index(x) for x in letters})})
    return docs


try:
    from lm_eval.api.task import ConfigurableTask
except ImportError:  # pragma: no cover
    ConfigurableTask = object


class BundledAGIEval(ConfigurableTask):
    """lm-eval's ``agieval_<subset>`` task with its data built from the bundled AGI-Eval v1 files."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)
        self._subset = str(config.get("dataset_path", "")).rsplit("agieval-", 1)[-1]
        super().__init__(config=config, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Read ``tasks/agieval/data/<subset>.jsonl`` instead of the ``hails/agieval-*`` hub dataset."""
        import datasets

        path = tasks_dir() / "agieval" / "data" / f"{self._subset}.jsonl"
        self.dataset = datasets.DatasetDict({"test": datasets.Dataset.from_list(read_agieval(path, self._subset))})

