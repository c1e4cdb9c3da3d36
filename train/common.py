"""What every stage script shares: load model and tokenizer, attach LoRA (checked), train with resume, save."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.train.config import StageConfig

log = logging.getLogger(__name__)


def load_model_and_tokenizer(cfg: StageConfig) -> tuple[Any, Any]:
    """The base model and tokenizer named by the stage (a pad token is set if the tokenizer has none)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg.model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    dtype = torch.bfloat16 if cfg.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=dtype)
    return model, tok


def attach_lora(model: Any, cfg: StageConfig) -> Any:
    """Wrap the model with LoRA (or continue a previous stage's adapter), after checking the target modules exist.

    Raises:
        TransevalError: a LoRA target or module to save that the model does not have (before any training).
    """
    if cfg.lora is None:
        return model
    from peft import LoraConfig, PeftModel, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    for field, wanted in (("lora.target_modules", cfg.lora.target_modules),
                          ("lora.modules_to_save", cfg.lora.modules_to_save)):
        missing = [m for m in wanted if m not in names]
        if missing:
            raise TransevalError(f"not in model {cfg.model}: {missing}", field=field)
    if cfg.resume_adapter:
        return PeftModel.from_pretrained(model, cfg.resume_adapter, is_trainable=True)
    peft_cfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(cfg.lora.target_modules),
                          modules_to_save=list(cfg.lora.modules_to_save) or None, task_type="CAUSAL_LM")
    return get_peft_model(model, peft_cfg)


class _TokensPerSecond:
    """Logs training throughput (tokens/s) next to the loss."""

    def __init__(self) -> None:
        self.tokens = 0
        self.start = time.perf_counter()

    def add(self, batch: dict[str, Any]) -> None:
        mask = batch.get("attention_mask")
        self.tokens += int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())

    @property
    def rate(self) -> float:
        return self.tokens / max(time.perf_counter() - self.start, 1e-9)


def train(model: Any, tokenizer: Any, dataset: Any, cfg: StageConfig) -> dict[str, Any]:
    """Train with the Hugging Face Trainer; resumes from the newest checkpoint in ``output_dir``.

    Returns:
        Summary: losses logged, tokens/s, steps.
    """
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "transeval_stage.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
    args = TrainingArguments(
        output_dir=str(out), learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,  # transformers 5: a float < 1 is a ratio
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, num_train_epochs=cfg.num_epochs,
        max_steps=cfg.max_steps, save_steps=cfg.save_steps, logging_steps=cfg.logging_steps, seed=cfg.seed,
        bf16=cfg.bf16, report_to=[], save_total_limit=2, remove_unused_columns=False,
    )
    speed = _TokensPerSecond()
    losses: list[float] = []

    class Log(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs")
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                log.info("loss %.4f, %.0f tokens/s", logs["loss"], speed.rate)

    collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, padding=True)

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collator(features)
        speed.add(batch)
        return dict(batch)

    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[Log()])
    last = get_last_checkpoint(str(out)) if out.exists() else None
    speed.start = time.perf_counter()  # tokens/s of training itself, not of model and data loading
    result = trainer.train(resume_from_checkpoint=last)
    tokens_per_s, train_seconds = speed.rate, time.perf_counter() - speed.start
    model.save_pretrained(str(out / "final"))
    tokenizer.save_pretrained(str(out / "final"))
    summary = {"losses": losses, "tokens_per_s": tokens_per_s, "steps": result.global_step, "resumed_from": last,
               "train_seconds": round(train_seconds, 2)}
    if cfg.merge_lora and cfg.lora is not None:
        merged = model.merge_and_unload()
        merged.save_pretrained(str(out / "merged"))
        tokenizer.save_pretrained(str(out / "merged"))
        (out / "merged" / "transeval_stage.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
        summary["merged"] = str(out / "merged")
    (out / "transeval_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def read_records(path: str) -> list[tuple[str, Any]]:
    """(``file:line``, record) pairs from a JSON list or JSONL file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TransevalError(f"not valid JSON ({exc.msg})", file=p, line=exc.lineno) from None
        if not isinstance(data, list):
            raise TransevalError("expected a JSON list of records", file=p)
        return [(f"{p}[{i}]", r) for i, r in enumerate(data)]
    from transeval.core.jsonl import read_jsonl

    return [(f"{p}:{lineno}", rec) for lineno, rec in read_jsonl(p)]
