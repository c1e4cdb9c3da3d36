import json

from lm_eval.api.instance import Instance
from transeval.harness.lmeval.multiturn import ConversationSpec, decode_outputs, dispatching_generate_until


class FakeLM:
    """Renders chats as JSON and answers from a script; records every batch."""

    def __init__(self, script):
        self.script = script
        self.batches: list[list[str]] = []

    def apply_chat_template(self, messages, add_generation_prompt=True):
        return json.dumps(messages, ensure_ascii=False)

    def generate_until(self, requests):
        ctxs = [r.args[0] for r in requests]
        self.batches.append(ctxs)
        return [self.script(c) for c in ctxs]


def _req(spec: ConversationSpec, i: int) -> Instance:
    return Instance("generate_until", {"i": i}, (spec.encode(), {"until": []}), 0, ("t", i, 1))


def test_turn_two_sees_turn_one_and_turns_are_batched():
    lm = FakeLM(lambda ctx: f"answer#{len(json.loads(ctx))}")
    specs = [ConversationSpec(("q1-a", "q2-a"), "sys", True), ConversationSpec(("q1-b", "q2-b"), None, True)]
    gen = dispatching_generate_until(lm, lm.generate_until)
    outs = gen([_req(s, i) for i, s in enumerate(specs)])
    assert [len(b) for b in lm.batches] == [2, 2]
    a = decode_outputs(outs[0])
    assert [t.answer for t in a] == ["answer#2", "answer#4"]
    turn2 = json.loads(a[1].prompt)
    assert turn2 == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "q1-a"},
        {"role": "assistant", "content": "answer#2"}, {"role": "user", "content": "q2-a"},
    ]


def test_plain_requests_pass_through_in_order():
    lm = FakeLM(lambda ctx: "plain:" + ctx[-3:])
    gen = dispatching_generate_until(lm, lm.generate_until)
    plain = Instance("generate_until", {}, ("hello", {}), 0, ("x", 0, 1))
    spec = ConversationSpec(("only turn",), None, False)
    outs = gen([plain, _req(spec, 1)])
    assert outs[0] == "plain:llo"
    conv = decode_outputs(outs[1])
    assert conv[0].prompt == "User: only turn\n\nAssistant:"


def test_tcot_history_is_english_and_only_target_is_answer():
    def script(ctx: str) -> str:
        msgs = json.loads(ctx)
        return f"<EN> EN({msgs[-1]['content']}) <RESPONSE> ENANS{len(msgs)} <TH> ตอบ{len(msgs)}"

    lm = FakeLM(script)
    spec = ConversationSpec(("คำถาม1", "คำถาม2"), None, True, output_format="tcot")
    conv = decode_outputs(dispatching_generate_until(lm, lm.generate_until)([_req(spec, 0)])[0])
    assert [t.answer for t in conv] == ["ตอบ1", "ตอบ3"]
    history = json.loads(conv[1].prompt)
    assert history[0] == {"role": "user", "content": "EN(คำถาม1)"}
    assert history[1] == {"role": "assistant", "content": "ENANS1"}
    assert history[2] == {"role": "user", "content": "คำถาม2"}
    assert conv[0].raw.startswith("<EN>") and conv[0].note is None


def test_tcot_reprompts_once_per_missing_tag_in_one_batch():
    calls = []

    def generate(requests):
        ctxs = [r.args[0] for r in requests]
        calls.append(ctxs)
        out = []
        for c in ctxs:
            if c.endswith("<RESPONSE>"):
                out.append(" fixed answer")  # still no <TH>
            elif c.endswith("<TH>"):
                out.append(" ตอบแล้ว")
            else:
                out.append("<EN> q")  # stops early
        return out

    class StrLM(FakeLM):
        def apply_chat_template(self, messages, add_generation_prompt=True):
            return "|".join(m["content"] for m in messages) + "||"

    lm = StrLM(None)
    spec = ConversationSpec(("คำถาม",), None, True, output_format="tcot")
    conv = decode_outputs(dispatching_generate_until(lm, generate)([_req(spec, 0), _req(spec, 1)])[0])
    assert [len(c) for c in calls] == [2, 2, 2]
    assert conv[0].raw == "<EN> q <RESPONSE> fixed answer <TH> ตอบแล้ว"
    assert conv[0].answer == "ตอบแล้ว"
    assert "re-prompted with <RESPONSE>" in conv[0].note and "re-prompted with <TH>" in conv[0].note


def test_tcot_missing_tag_without_string_context_is_reported():
    lm = FakeLM(lambda ctx: "no tags at all")

    class Chat:  # an API backend's JSON chat wrapper is not a str: no re-prompt possible
        def __init__(self, prompt):
            self.prompt = prompt

    lm.apply_chat_template = lambda messages, add_generation_prompt=True: Chat(json.dumps(messages))
    lm.generate_until = lambda reqs: ["no tags at all" for _ in reqs]
    spec = ConversationSpec(("q",), None, True, output_format="tcot")
    conv = decode_outputs(dispatching_generate_until(lm, lm.generate_until)([_req(spec, 0)])[0])
    assert conv[0].answer is None
    assert "missing <TH>" in conv[0].note
