"""Recipe-stage configs: one YAML per stage, parsed strictly into frozen dataclasses before anything is loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transeval.core.errors import TransevalError


@dataclass(frozen=True)
class LoraConfig:
    """LoRA settings (TransLLM: r 64, alpha 128, dropout 0.05, all projections, embeddings and head in full)."""

    r: int = 64
    alpha: int = 128
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    modules_to_save: tuple[str, ...] = ("embed_tokens", "lm_head")


@dataclass(frozen=True)
class StageConfig:
    """One training stage.

    Attributes:
        stage: ``sft`` (chat data, prompt tokens masked) or ``cpt`` (continued pre-training on text blocks).
        model: Base model folder or name; or the previous stage's output.
        output_dir: Where checkpoints, the adapter, the resolved config and (optionally) the merged model go.
        data_files: JSON/JSONL files (sft: ShareGPT or instruction records; cpt: ``text`` records or .txt).
        lora: LoRA settings, or None for full fine-tuning.
        resume_adapter: An adapter folder to continue (TransLLM stage 2 continues stage 1's adapter).
        max_samples: Use only the first N documents or records (Paper B's 10K / 100K / 1M-sample budgets).
    """

    stage: str
    model: str
    output_dir: str
    data_files: tuple[str, ...]
    lora: LoraConfig | None = field(default_factory=LoraConfig)
    resume_adapter: str | None = None
    max_samples: int | None = None
    learning_rate: float = 1e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.01
    weight_decay: float = 0.0
    per_device_batch_size: int = 16
    gradient_accumulation_steps: int = 4
    max_seq_length: int = 2048
    block_size: int = 512
    num_epochs: float = 1.0
    max_steps: int = -1
    save_steps: int = 500
    logging_steps: int = 10
    seed: int = 42
    bf16: bool = False
    merge_lora: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, saved with every checkpoint."""
        return dataclasses.asdict(self)


def read_stage_yaml(path: Path, schema: type, required: tuple[str, ...]) -> dict[str, Any]:
    """A stage YAML as a mapping whose keys are fields of ``schema`` and include ``required``.

    Raises:
        TransevalError: naming the file and the field.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TransevalError(f"cannot read ({type(exc).__name__})", file=path) from None
    if not isinstance(raw, dict):
        raise TransevalError("a stage config must be a mapping", file=path)
    known = {f.name for f in dataclasses.fields(schema)}
    for key in raw:
        if key not in known:
            raise TransevalError(f"unknown key (known: {', '.join(sorted(known))})", file=path, field=key)
    for key in required:
        if key not in raw:
            raise TransevalError("missing required key", file=path, field=key)
    return raw


def resolver(path: Path) -> Callable[[str], str]:
    """Resolve paths in a stage YAML relative to the YAML's folder."""

    def resolve(value: str) -> str:
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (path.parent / p).resolve())

    return resolve


def load_stage_config(path: Path, will_exist: frozenset[str] = frozenset()) -> StageConfig:
    """Parse and check a stage YAML (relative paths are relative to the YAML's folder).

    ``will_exist`` names files an earlier stage of the same recipe writes (e.g. the distilled data set).

    Raises:
        TransevalError: naming the file and the field (unknown keys, wrong types, missing data files).
    """
    raw = read_stage_yaml(path, StageConfig, ("stage", "model", "output_dir", "data_files"))
    if raw["stage"] not in ("sft", "cpt"):
        raise TransevalError("must be 'sft' or 'cpt'", file=path, field="stage")
    base = path.parent
    resolve = resolver(path)

    files = raw["data_files"] if isinstance(raw["data_files"], list) else [raw["data_files"]]
    data_files = tuple(resolve(str(f)) for f in files)
    for f in data_files:
        if not Path(f).is_file() and f not in will_exist:
            raise TransevalError(f"data file not found: {f}", file=path, field="data_files")
    lora_raw = raw.get("lora", {})
    lora: LoraConfig | None = None
    if lora_raw is not None:
        if not isinstance(lora_raw, dict):
            raise TransevalError("must be a mapping or null", file=path, field="lora")
        lora_known = {f.name for f in dataclasses.fields(LoraConfig)}
        for key in lora_raw:
            if key not in lora_known:
                raise TransevalError(f"unknown key (known: {', '.join(sorted(lora_known))})", file=path,
                                     field=f"lora.{key}")
        lora_values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in lora_raw.items()}
        lora = LoraConfig(**lora_values)
    model = str(raw["model"])
    if model.startswith((".", "/")) or (base / model).exists():
        model = resolve(model)
    values = {**raw, "model": model, "output_dir": resolve(str(raw["output_dir"])), "data_files": data_files,
              "lora": lora}
    if values.get("resume_adapter"):
        values["resume_adapter"] = resolve(str(values["resume_adapter"]))
    try:
        cfg = StageConfig(**values)
    except TypeError as exc:
        raise TransevalError(str(exc), file=path) from None
    for fld in dataclasses.fields(StageConfig):
        value = getattr(cfg, fld.name)
        numeric = fld.type in ("float", "int") or (fld.type == "int | None" and value is not None)
        if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TransevalError("must be a number", file=path, field=fld.name)
    return cfg
