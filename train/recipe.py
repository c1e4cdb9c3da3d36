"""Recipes: ordered lists of stage YAMLs (vocab, distill, cpt, sft), run by ``transeval train run RECIPE.yaml``.

Every stage config is checked before the first stage starts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transeval.core.errors import TransevalError

KINDS = ("vocab", "distill", "cpt", "sft")


@dataclass(frozen=True)
class Step:
    """One stage of a recipe."""

    kind: str
    config: Path


def load_recipe(path: Path) -> list[Step]:
    """Parse a recipe and check every stage config it names.

    Raises:
        TransevalError: naming the recipe (or stage) file and field.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), list) or not raw["stages"]:
        raise TransevalError("a recipe needs a non-empty 'stages' list", file=path, field="stages")
    unknown = set(raw) - {"recipe", "description", "stages"}
    if unknown:
        raise TransevalError("unknown key", file=path, field=sorted(unknown)[0])
    steps = []
    for i, item in enumerate(raw["stages"]):
        if not isinstance(item, dict) or item.get("kind") not in KINDS or not item.get("config"):
            raise TransevalError(f"needs kind ({'|'.join(KINDS)}) and config", file=path, field=f"stages[{i}]")
        steps.append(Step(item["kind"], (path.parent / item["config"]).resolve()))
    produced: set[str] = set()
    for step in steps:
        if step.kind in ("cpt", "sft"):
            cfg = _loader(step.kind)(step.config, frozenset(produced))
        else:
            cfg = _loader(step.kind)(step.config)
        produced.add(str(getattr(cfg, "output", "")))
    return steps


def _loader(kind: str) -> Any:
    if kind == "vocab":
        from transeval.train.vocab import load_vocab_config

        return load_vocab_config
    if kind == "distill":
        from transeval.train.distill import load_distill_config

        return load_distill_config
    from transeval.train.config import load_stage_config

    return load_stage_config


def _runner(kind: str) -> Any:
    import importlib

    return importlib.import_module(f"transeval.train.{kind}").main


def run(path: Path) -> list[dict[str, Any]]:
    """Run every stage of a recipe in order; returns their summaries."""
    steps = load_recipe(path)
    summaries = []
    for step in steps:
        print(f"transeval: recipe {path.name}: {step.kind} {step.config}", file=sys.stderr, flush=True)
        summaries.append(_runner(step.kind)(str(step.config)))
    return summaries
