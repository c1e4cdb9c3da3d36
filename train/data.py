"""Pure data code of the training recipes: TCoT targets, chat records, prompt-masked labels, CPT blocks.

The released TransLLM ``build_distil_dataset.py`` sets the labels of prompt tokens to the tokens themselves;
here only assistant tokens are learned (prompt labels are ``IGNORE_INDEX``), which ``tests/test_train.py`` checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transeval.core.errors import TransevalError

IGNORE_INDEX = -100
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def tcot_target(en_query: str, en_answer: str, target_answer: str, target_tag: str = "<TH>") -> str:
    """The TransLLM assistant turn: ``<EN> query <RESPONSE> answer <TH> target answer``."""
    return f"<EN> {en_query.strip()} <RESPONSE> {en_answer.strip()} {target_tag} {target_answer.strip()}"


def messages_from_record(record: Any, where: str) -> list[dict[str, str]]:
    """Chat messages from a ShareGPT-style or an instruction record.

    ShareGPT-style is TransLLM's format (``{"conversations": [{"from", "value"}]}``); instruction records are
    ``{"instruction", "input", "output"}`` (BELLE, Bactrian-X, Alpaca).

    Raises:
        TransevalError: naming ``where`` (file and line) and the field.
    """
    if not isinstance(record, dict):
        raise TransevalError("expected a JSON object", file=where)
    if "conversations" in record:
        turns = record["conversations"]
        if not isinstance(turns, list) or not turns:
            raise TransevalError("must be a non-empty list", file=where, field="conversations")
        messages = []
        for i, turn in enumerate(turns):
            role = _ROLES.get(str(turn.get("from") if isinstance(turn, dict) else ""))
            if role is None or not isinstance(turn.get("value"), str):
                raise TransevalError("needs from (human|gpt|system) and value", file=where,
                                     field=f"conversations[{i}]")
            messages.append({"role": role, "content": turn["value"]})
    elif "instruction" in record and "output" in record:
        prompt = str(record["instruction"]) + (f"\n\n{record['input']}" if record.get("input") else "")
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(record["output"])}]
    else:
        raise TransevalError("needs 'conversations' or 'instruction'/'output'", file=where)
    if not any(m["role"] == "assistant" for m in messages):
        raise TransevalError("no assistant turn to learn", file=where, field="conversations")
    return messages


@dataclass(frozen=True)
class Example:
    """One tokenised training example."""

    input_ids: list[int]
    labels: list[int]


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool) -> str:
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(list(messages), tokenize=False,
                                                 add_generation_prompt=generation_prompt))
    parts = [f"{'User' if m['role'] == 'user' else 'Assistant' if m['role'] == 'assistant' else 'System'}: "
             f"{m['content']}" for m in messages]
    text = "\n\n".join(parts)
    return text + ("\n\nAssistant:" if generation_prompt else (tokenizer.eos_token or ""))


def tokenize_masked(tokenizer: Any, messages: Sequence[dict[str, str]], max_length: int) -> Example:
    """Token ids of a conversation with labels only on assistant turns (everything else ``IGNORE_INDEX``).

    Each assistant turn is located by rendering the conversation up to its generation prompt and up to its end
    with the model's own chat template, so any template works.
    """
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt_ids = tokenizer(_render(tokenizer, messages[:i], True), add_special_tokens=False)["input_ids"]
        full_ids = tokenizer(_render(tokenizer, messages[: i + 1], False), add_special_tokens=False)["input_ids"]
        if full_ids[: len(prompt_ids)] != prompt_ids:
            raise TransevalError("the chat template renders a turn differently once it is answered; "
                                 "cannot locate the assistant tokens", field="chat_template")
        if prompt_ids[: len(ids)] != ids:  # the template re-renders the history differently: learn this turn only
            ids, labels = [], []
        new_prompt = prompt_ids[len(ids):]
        ids += new_prompt
        labels += [IGNORE_INDEX] * len(new_prompt)
        answer = full_ids[len(prompt_ids):]
        ids += answer
        labels += answer
    return Example(ids[:max_length], labels[:max_length])


def pack_blocks(token_streams: Iterable[list[int]], block_size: int, eos_id: int | None) -> list[list[int]]:
    """Concatenate documents (each followed by EOS) and cut them into ``block_size`` blocks (remainder dropped)."""
    buffer: list[int] = []
    blocks = []
    for ids in token_streams:
        buffer += ids + ([eos_id] if eos_id is not None else [])
        while len(buffer) >= block_size:
            blocks.append(buffer[:block_size])
            buffer = buffer[block_size:]
    return blocks
