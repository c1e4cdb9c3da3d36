"""Perplexity (Paper B, Table 2) on the bundled text documents: word and byte perplexity, bits per byte."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.jsonl import read_jsonl

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
    from transeval.core.paths import resolve_data_file

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


