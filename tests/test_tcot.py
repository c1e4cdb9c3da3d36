import pytest
from transeval.harness.lmeval.tcot import parse_tcot, tag_to_reprompt


def test_well_formed():
    p = parse_tcot("<EN> What is the capital? <RESPONSE> Bangkok. <TH> กรุงเทพ </s>")
    assert (p.en_query, p.en_answer, p.answer) == ("What is the capital?", "Bangkok.", "กรุงเทพ")
    assert p.missing == () and p.problems == ()


def test_missing_target_tag_gives_no_answer():
    p = parse_tcot("<EN> q <RESPONSE> an English answer only")
    assert p.answer is None
    assert p.missing == ("<TH>",)
    assert p.en_answer == "an English answer only"


def test_missing_everything():
    p = parse_tcot("just some text")
    assert p.answer is None and p.en_query is None and p.en_answer is None
    assert p.missing == ("<EN>", "<RESPONSE>", "<TH>")


def test_repeated_tags_keep_first_section():
    p = parse_tcot("<EN> q <RESPONSE> a <TH> คำตอบ <EN> again <RESPONSE> b <TH> ซ้ำ")
    assert p.answer == "คำตอบ"
    assert p.en_answer == "a"
    assert "repeated <TH>" in p.problems and "repeated <EN>" in p.problems


def test_out_of_order_tags():
    p = parse_tcot("<TH> คำตอบ <EN> q <RESPONSE> a")
    assert p.answer == "คำตอบ"
    assert p.en_query == "q"
    assert "tags out of order" in p.problems


def test_empty_sections():
    p = parse_tcot("<EN> <RESPONSE>   <TH>")
    assert p.en_query is None and p.en_answer is None
    assert p.answer == ""
    assert {"empty <EN> section", "empty <RESPONSE> section", "empty <TH> section"} <= set(p.problems)


def test_text_before_first_tag_and_end_markers():
    p = parse_tcot("Sure! <EN> q <RESPONSE> a <TH> ตอบ<|eot_id|>")
    assert p.answer == "ตอบ"
    assert "text before the first tag" in p.problems


def test_other_target_language_tag():
    p = parse_tcot("<EN> q <RESPONSE> a <ZH> 回答 <TH> not this", target_tag="<ZH>")
    assert p.answer == "回答 <TH> not this"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<EN> q", "<RESPONSE>"),
        ("<EN> q <RESPONSE> a", "<TH>"),
        ("<EN> q <RESPONSE> a <TH> t", None),
        ("", "<RESPONSE>"),
    ],
)
def test_tag_to_reprompt(text, expected):
    assert tag_to_reprompt(text) == expected
