"""Language ID: accuracy on the labelled answers, wrong-language and code-switching rules, script shares."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from transeval.core.errors import TransevalError
from transeval.harness.language.langid import LANGUAGES, analyse, detect, script_share

DATA = Path(__file__).parent / "data" / "langid_labelled.jsonl"
# Floors met on the labelled set (all 16 languages reach 1.0 today); the overall floor is the brief's.
OVERALL_FLOOR = 0.8
PER_LANGUAGE_FLOOR = 5 / 6


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_labelled_set_shape(labelled: list[dict]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for row in labelled:
        assert row["lang"] in LANGUAGES
        if not row["switching"]:
            counts[row["lang"]] += 1
    assert set(counts) == set(LANGUAGES)
    assert min(counts.values()) >= 6
    switching = [r for r in labelled if r["switching"] and r["lang"] in ("Thai", "Chinese")]
    assert len(switching) >= 8


def test_accuracy_per_language(labelled: list[dict]) -> None:
    hits: dict[str, list[bool]] = defaultdict(list)
    for row in labelled:
        if row["switching"]:
            continue
        check = analyse(row["text"], row["lang"])
        hits[row["lang"]].append(
            detect(row["text"]).language == LANGUAGES[row["lang"]].code and not check.wrong_language
        )
    print("\nlanguage      n  accuracy")
    for name in LANGUAGES:
        print(f"{name:<12}{len(hits[name]):>3}  {sum(hits[name]) / len(hits[name]):.3f}")
    total = [h for v in hits.values() for h in v]
    overall = sum(total) / len(total)
    print(f"{'overall':<12}{len(total):>3}  {overall:.3f}")
    assert overall >= OVERALL_FLOOR
    for name, values in hits.items():
        assert sum(values) / len(values) >= PER_LANGUAGE_FLOOR, name


def test_switching_flags_on_labelled_set(labelled: list[dict]) -> None:
    wrong = [(r["lang"], r["text"]) for r in labelled if analyse(r["text"], r["lang"]).switching != r["switching"]]
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ผมคิดว่าวิธีนี้ดีกว่า because it is much faster and easier to maintain ครับ", "Thai"),
        ("首先打开文件，then you need to check whether the data is valid，最后保存结果。", "Chinese"),
        ("The main reason is simple, 所以你每天晚上至少应该睡七个小时, and you should avoid coffee.", "English"),
    ],
)
def test_mid_sentence_mix_is_switching(text: str, expected: str) -> None:
    """A clause in another language is switching (an inline command is not: see the next test)."""
    check = analyse(text, expected)
    assert check.switching
    assert len(check.segments) == 2


def test_english_answer_to_thai_question_is_wrong_language() -> None:
    check = analyse("The capital of Thailand is Bangkok, which is also its largest city.", "Thai")
    assert check.wrong_language
    assert not check.switching
    assert check.detected.language == "en"
    assert check.script_share == 0.0
    assert check.segments == (("en", 1.0),)


def test_thai_answer_with_technical_words_is_fine() -> None:
    check = analyse("ใช้ Python เรียก API ด้วยไลบรารี requests แล้วแปลงผลลัพธ์เป็น JSON ได้เลยครับ", "th")
    assert not check.wrong_language
    assert not check.switching
    assert check.expected == "th"
    assert check.segments[0][0] == "th"


def test_code_blocks_and_urls_are_ignored() -> None:
    text = "ดูที่ https://example.com/some/english/path\n```python\nprint('hello world, this is English')\n```\nเสร็จแล้วครับ"
    assert script_share(text, "Thai") == 1.0
    assert not analyse(text, "Thai").switching


def test_script_share_counts_letters_only() -> None:
    assert script_share("สวัสดี abc", "Thai") == pytest.approx(6 / 9)
    assert script_share("123 !!! ...", "Latin") is None
    assert script_share("你好 world", "Han") == pytest.approx(2 / 7)


def test_same_script_languages_are_documented() -> None:
    assert set(LANGUAGES["Hindi"].shares_script_with) == {"Marathi", "Nepali"}
    assert LANGUAGES["Urdu"].shares_script_with == ("Arabic",)
    assert LANGUAGES["Thai"].shares_script_with == ()
    assert LANGUAGES["Chinese"].script == "Han"


def test_no_letters_is_not_judged() -> None:
    check = analyse("42", "Chinese")
    assert check.detected.language == "und"
    assert check.script_share is None
    assert not check.wrong_language and not check.switching


def test_unknown_inputs_raise() -> None:
    with pytest.raises(TransevalError, match="unknown language"):
        analyse("hello", "Klingon")
    with pytest.raises(TransevalError, match="unknown script"):
        script_share("hello", "Tengwar")


def test_unpacked_model_in_the_cache_gives_the_same_identifier(tmp_path, monkeypatch):
    """The fast path (an unpacked copy of py3langid's model in our cache, arrays only) ranks as the library does."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from transeval.harness.language.langid import _from_unpacked

    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path))
    earlier = tmp_path / "py3langid-0.4.0-4586720-1700000000.npz"  # a copy made for an earlier install
    earlier.write_bytes(b"old")
    fast = _from_unpacked(Path(MODEL_DIR) / MODEL_FILE, LanguageIdentifier)
    (copy,) = tmp_path.glob("py3langid-*.npz")  # the earlier install's copy is gone
    assert copy != earlier and not earlier.exists()
    assert _from_unpacked(Path(MODEL_DIR) / MODEL_FILE, LanguageIdentifier) is not fast  # read again from the copy
    library = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    for text in ("นี่คือประโยคภาษาไทย", "This is English text.", "这是中文句子。", "Hii ni sentensi ya Kiswahili."):
        assert fast.rank(text)[:5] == library.rank(text)[:5], text
    copy.write_bytes(b"not an npz")  # a damaged copy: the identifier still loads (the library's own way)
    from transeval.harness.language import langid

    langid._identifier.cache_clear()
    try:
        assert langid._identifier().rank("This is English text.")[0][0] == "en"
    finally:
        langid._identifier.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("เปิดโปรเจกต์ด้วย Visual Studio Code แล้วกดรันได้เลยครับ", "th"),
        ("ลองเขียน f(x) = x^2 แล้วหาอนุพันธ์ดูนะครับ", "th"),
        ("ฟังก์ชัน f(x) = x^2 - 3x + 2 มีราก x = 1 และ x = 2", "th"),
        ("แนะนำหนังสือ Sapiens: A Brief History of Humankind ของ Yuval Noah Harari ครับ", "th"),
        ("我推荐使用 Visual Studio Code 来写 TypeScript 代码。", "zh"),
        ("方程 f(x) = x^2 - 3x + 2 的根是 x = 1 和 x = 2。", "zh"),
        ("สูตรคือ E = mc^2 ครับ", "Thai"),
        ("ใช้คำสั่ง git commit -m แล้ว git push origin main", "th"),
        ("在终端输入 git push origin main 即可。", "zh"),
    ],
)
def test_names_terms_and_math_are_not_wrong_language(text: str, expected: str) -> None:
    assert not analyse(text, expected).wrong_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm sorry, but I cannot help with that request.", "th"),
        ("Sure, here is a short poem about the sea and the wind.", "zh"),
        ("Maaf, saya tidak dapat membantu permintaan tersebut.", "jv"),
        ("Lo siento, no puedo ayudar con eso porque es peligroso.", "it"),
    ],
)
def test_answers_in_another_language_are_wrong_language(text: str, expected: str) -> None:
    assert analyse(text, expected).wrong_language


def test_every_multijail_language_is_known() -> None:
    for code in ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv"):
        assert analyse("x", code).expected == code


def _bundled_monolingual() -> list[tuple[str, str, str]]:
    """Real monolingual texts bundled with the tasks: (source, language code, text)."""
    import csv

    from transeval.core.paths import tasks_dir

    root = tasks_dir()
    out: list[tuple[str, str, str]] = []
    for line in (root / "thai_mtbench" / "data" / "question_th.jsonl").read_text(encoding="utf-8").splitlines():
        out += [("thai_mtbench", "th", t) for t in json.loads(line)["turns"]]
    for line in (root / "alpaca_eval_th" / "data" / "alpaca_eval_th.jsonl").read_text(encoding="utf-8").splitlines():
        out.append(("alpaca_eval_th", "th", json.loads(line)["instruction"]))
    for path in sorted((root / "ceval" / "data" / "val").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            out += [("ceval", "zh", row["question"]) for row in csv.DictReader(fh)]
    with (root / "multijail" / "data" / "MultiJail.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            out += [(f"multijail_{c}", c, row[c]) for c in ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")]
    return out


def test_no_false_wrong_language_flags_on_bundled_real_texts() -> None:
    texts = _bundled_monolingual()
    assert len(texts) > 5000
    flagged = [(src, text[:80]) for src, code, text in texts if analyse(text, code).wrong_language]
    assert flagged == []


def test_a_million_thai_characters_are_analysed_on_a_bounded_sample() -> None:
    import time

    from transeval.harness.language.langid import MAX_ANALYSED_CHARS, analysed_text

    text = "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ" * (1_000_000 // 32 + 1)
    sample, sampled = analysed_text(text)
    assert sampled and len(sample) <= MAX_ANALYSED_CHARS + 20
    start = time.perf_counter()
    check = analyse(text, "th")
    elapsed = time.perf_counter() - start
    assert check.sampled and not check.wrong_language
    assert elapsed < 2.0, elapsed  # the bound; about 0.02 s here (was minutes: quadratic e-mail pattern)


@pytest.mark.parametrize("unit", ["中文没有空格", "a", "a@", "```", "x ", "`a", "สวัสดี@example"])
def test_long_degenerate_outputs_stay_fast(unit: str) -> None:
    import time

    text = unit * (200_000 // len(unit))
    start = time.perf_counter()
    analyse(text, "th")
    script_share(text, "Thai")
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("text", ["ติดตั้งด้วย pip install numpy pandas matplotlib แล้วรันสคริปต์ได้เลย",
                                  "你可以用 pip install numpy 安装这个库。"])
def test_inline_shell_commands_are_not_switching(text: str) -> None:
    check = analyse(text, "th" if "ติดตั้ง" in text else "zh")
    assert not check.switching and not check.wrong_language
