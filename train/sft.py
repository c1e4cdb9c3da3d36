"""Supervised fine-tuning stage (TransLLM stage 3 on TCoT data; Paper B's instruction SFT).

Reads top to bottom: config -> model and tokenizer -> LoRA -> chat records -> prompt-masked tokens -> train.
Run: ``transeval train sft STAGE.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from transeval.train.common import attach_lora, load_model_and_tokenizer, read_records, train
from transeval.train.config import load_stage_config
from transeval.train.data import messages_from_record, tokenize_masked


def main(config_path: str) -> dict[str, Any]:
    """Run one SFT stage and return its summary (losses, tokens/s, output folders)."""
    import datasets

    cfg = load_stage_config(Path(config_path))
    model, tokenizer = load_model_and_tokenizer(cfg)
    model = attach_lora(model, cfg)

    records = [r for path in cfg.data_files for r in read_records(path)]
    if cfg.max_samples:
        records = records[: cfg.max_samples]
    examples = []
    for where, record in records:
        ex = tokenize_masked(tokenizer, messages_from_record(record, where), cfg.max_seq_length)
        examples.append({"input_ids": ex.input_ids, "labels": ex.labels, "attention_mask": [1] * len(ex.input_ids)})
    dataset = datasets.Dataset.from_list(examples)

    return train(model, tokenizer, dataset, cfg)


if __name__ == "__main__":
    print(main(sys.argv[1]))
