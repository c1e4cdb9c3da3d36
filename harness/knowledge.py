"""Knowledge benchmarks on bundled data: lm-eval's own task configs, read from files shipped with transeval.

lm-eval already ships the C-Eval prompts (``ceval-valid_<subject>``); we reuse them by name from a group YAML
and only swap the data source for the bundled CSVs (offline), via the ``class:`` override below. The
prompt, few-shot sampling and metrics stay lm-eval's, so scores are identical to ``ceval-valid`` on the
same data.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

from transeval.harness.errors import TransevalError
from transeval.harness.paths import tasks_dir
from transeval.harness.store import read_jsonl

CEVAL_COLUMNS = ("id", "question", "A", "B", "C", "D", "answer")


def read_ceval_csv(path: Path) -> list[dict[str, Any]]:
    """Read one C-Eval split file (``explanation`` is dropped: only dev has it).

    Raises:
        TransevalError: naming the file, line and field of the first bad row.
    """
    if not path.is_file():
        raise TransevalError("C-Eval data file not found", file=path)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CEVAL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TransevalError("missing column", file=path, line=1, field=missing[0])
        for row in reader:
            line = reader.line_num
            if row["answer"] not in ("A", "B", "C", "D"):
                raise TransevalError(f"answer must be A-D, got {row['answer']!r}", file=path, line=line,
                                     field="answer")
            try:
                ident = int(row["id"])
            except ValueError:
                raise TransevalError("id must be an integer", file=path, line=line, field="id") from None
            rows.append({"id": ident, **{c: row[c] for c in CEVAL_COLUMNS[1:]}})
    return rows


def load_ceval_subject(subject: str, data_dir: Path | None = None) -> Any:
    """The bundled val and dev splits of one C-Eval subject as a ``datasets.DatasetDict``."""
    import datasets

    root = data_dir or tasks_dir() / "ceval" / "data"
    splits = {split: read_ceval_csv(root / split / f"{subject}_{split}.csv") for split in ("val", "dev")}
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


try:
    from lm_eval.api.task import ConfigurableTask
except ImportError:  # pragma: no cover
    ConfigurableTask = object


class BundledCEval(ConfigurableTask):
    """lm-eval's ``ceval-valid_<subject>`` task with its data read from the bundled CSV files."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)
        self._subject = str(config.get("dataset_name"))
        super().__init__(config=config, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Read the bundled CSVs instead of the ``ceval/ceval-exam`` hub dataset."""
        data_dir = (self.config.metadata or {}).get("ceval_data_dir")
        self.dataset = load_ceval_subject(self._subject, Path(data_dir) if data_dir else None)


# --- perplexity (Paper B, Table 2) -------------------------------------------------------------------------

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def count_words(text: str) -> int:
    """Words for word perplexity: whitespace-separated tokens, with every CJK character counted as one word."""
    cjk = len(_CJK.findall(text))
    rest = _CJK.sub(" ", text).split()
    return cjk + len(rest)


def read_text_docs(path: Path) -> list[str]:
    """Documents from a ``.txt`` file (blank-line separated), a ``.jsonl`` file (``text`` field) or a folder of them.

    Raises:
        TransevalError: naming the file, line and field of the first bad record.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl"))
        if not files:
            raise TransevalError("folder holds no .txt or .jsonl files", file=path)
        return [doc for f in files for doc in read_text_docs(f)]
    if not path.is_file():
        raise TransevalError("text file not found", file=path)
    if path.suffix == ".jsonl":
        docs = []
        for lineno, rec in read_jsonl(path):
            if not isinstance(rec.get("text"), str):
                raise TransevalError("needs a string", file=path, line=lineno, field="text")
            if rec["text"].strip():
                docs.append(rec["text"])
        return docs
    text = path.read_text(encoding="utf-8")
    return [d.strip() for d in re.split(r"\n\s*\n", text) if d.strip()]


def load_text_docs(language: str = "en", default_path: str | None = None, **kwargs: Any) -> Any:
    """lm-eval ``custom_dataset`` for the perplexity tasks (``--metadata ppl_<language>_path=...`` overrides)."""
    import datasets
    from transeval.harness.paths import resolve_data_file

    value = kwargs.get(f"ppl_{language}_path") or default_path
    if not value:
        raise TransevalError(f"no text given: pass --metadata ppl_{language}_path=FILE_OR_FOLDER")
    docs = read_text_docs(resolve_data_file(str(value)))
    if not docs:
        raise TransevalError("no documents", file=value)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list([{"text": d} for d in docs])})


def perplexity_results(doc: dict[str, Any], results: list[float]) -> dict[str, tuple[float, int]]:
    """Per document: (log-likelihood, words) and (log-likelihood, bytes) pairs for the aggregations."""
    ll = float(results[0])
    words = (ll, count_words(doc["text"]))
    nbytes = (ll, len(doc["text"].encode("utf-8")))
    return {"word_perplexity": words, "word_perplexity_ci_low": words, "word_perplexity_ci_high": words,
            "byte_perplexity": nbytes, "bits_per_byte": nbytes}


def _ppl(items: list[tuple[float, int]]) -> float:
    total = sum(w for _, w in items)
    return math.exp(-sum(ll for ll, _ in items) / total)


def _ppl_ci(items: list[tuple[float, int]]) -> tuple[float | None, float | None]:
    import numpy as np

    if len(items) < 2:
        return None, None
    lls = np.array([ll for ll, _ in items])
    ws = np.array([w for _, w in items], dtype=float)
    idx = np.random.default_rng(1234).integers(0, len(items), size=(2000, len(items)))
    boot = np.exp(-lls[idx].sum(axis=1) / ws[idx].sum(axis=1))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(lo), float(hi)


def aggregate_word_perplexity(items: list[tuple[float, int]]) -> float:
    """exp(-total log-likelihood / total words)."""
    return _ppl(items)


def aggregate_word_perplexity_ci_low(items: list[tuple[float, int]]) -> float | None:
    """Lower end of the 95% bootstrap CI of word perplexity (documents resampled)."""
    return _ppl_ci(items)[0]


def aggregate_word_perplexity_ci_high(items: list[tuple[float, int]]) -> float | None:
    """Upper end of the 95% bootstrap CI of word perplexity."""
    return _ppl_ci(items)[1]


def aggregate_byte_perplexity(items: list[tuple[float, int]]) -> float:
    """exp(-total log-likelihood / total UTF-8 bytes): comparable across tokenizers."""
    return _ppl(items)


def aggregate_bits_per_byte(items: list[tuple[float, int]]) -> float:
    """-total log-likelihood / total bytes / ln 2."""
    return -sum(ll for ll, _ in items) / sum(w for _, w in items) / math.log(2)


# --- AGI-Eval v1 (zero-shot, as lm-eval's agieval_* tasks) ------------------------------------------------

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
