"""Continued pre-training stage (TransLLM stages 1-2; Paper B's further pre-training at a token budget).

Reads top to bottom: config -> model and tokenizer -> LoRA (or continue an adapter) -> text -> blocks -> train.
Run: ``transeval train cpt STAGE.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.train.common import attach_lora, load_model_and_tokenizer, read_records, train
from transeval.train.config import load_stage_config
from transeval.train.data import pack_blocks


def main(config_path: str) -> dict[str, Any]:
    """Run one continued-pre-training stage and return its summary."""
    import datasets

    cfg = load_stage_config(Path(config_path))
    model, tokenizer = load_model_and_tokenizer(cfg)
    model = attach_lora(model, cfg)

    texts = []
    for path in cfg.data_files:
        if path.endswith(".txt"):
            texts += [t for t in Path(path).read_text(encoding="utf-8").split("\n\n") if t.strip()]
            continue
        for where, record in read_records(path):
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise TransevalError("needs a string", file=where, field="text")
            texts.append(record["text"])
    texts = texts[: cfg.max_samples] if cfg.max_samples else texts
    streams = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts)
    blocks = pack_blocks(streams, cfg.block_size, tokenizer.eos_token_id)
    if not blocks:
        raise TransevalError(f"not enough text for one block of {cfg.block_size} tokens", field="data_files")
    rows = [{"input_ids": b, "labels": b, "attention_mask": [1] * len(b)} for b in blocks]
    dataset = datasets.Dataset.from_list(rows)

    return train(model, tokenizer, dataset, cfg)


if __name__ == "__main__":
    print(main(sys.argv[1]))
