"""Vocabulary extension (TransLLM stage 0; "LLaMA beyond English"'s LLaMA-EXT).

Learn target-language pieces with SentencePiece, add the ones the base tokenizer lacks (as tokens of the
Hugging Face tokenizer, so any base model works), resize the embeddings and initialise each new row as the mean
of the embeddings of the old sub-tokens it replaces.

Reads top to bottom: config -> base tokenizer and model -> train a BPE on the target text -> new pieces ->
add tokens -> resize -> mean-initialise input and output embeddings -> save. Run:
``transeval train vocab VOCAB.yaml``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.train.config import read_stage_yaml, resolver


@dataclass(frozen=True)
class VocabConfig:
    """A vocabulary-extension stage."""

    model: str
    output_dir: str
    text_files: tuple[str, ...]
    new_vocab_size: int = 20000
    min_frequency: int = 2
    max_new_tokens: int = 20000


def load_vocab_config(path: Path) -> VocabConfig:
    """Parse a vocabulary stage YAML strictly (paths relative to the YAML).

    Raises:
        TransevalError: naming the file and field.
    """
    raw = read_stage_yaml(path, VocabConfig, ("model", "output_dir", "text_files"))
    resolve = resolver(path)

    files = tuple(resolve(str(f)) for f in (raw["text_files"] if isinstance(raw["text_files"], list)
                                            else [raw["text_files"]]))
    for f in files:
        if not Path(f).is_file():
            raise TransevalError(f"text file not found: {f}", file=path, field="text_files")
    model = resolve(str(raw["model"])) if (path.parent / str(raw["model"])).exists() else str(raw["model"])
    return VocabConfig(**{**raw, "model": model, "output_dir": resolve(str(raw["output_dir"])), "text_files": files})


def learn_pieces(texts: list[str], vocab_size: int, min_frequency: int) -> list[str]:
    """Target-language pieces from a SentencePiece BPE model trained on the text (as Chinese-LLaMA and TransLLM do).

    SentencePiece's word-boundary marker is dropped, so the pieces can be added to any Hugging Face tokenizer;
    ``min_frequency`` is not used by SentencePiece (its vocabulary size bounds the pieces).
    """
    import io
    import tempfile

    import sentencepiece as spm

    model = io.BytesIO()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(texts))
    spm.SentencePieceTrainer.train(input=fh.name, model_writer=model, vocab_size=vocab_size, model_type="bpe",
                                   character_coverage=0.9995, hard_vocab_limit=False, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = {sp.id_to_piece(i).replace("\u2581", "") for i in range(sp.get_piece_size())
              if not sp.is_control(i) and not sp.is_unknown(i)}
    return sorted((p for p in pieces if len(p) > 1), key=lambda p: (-len(p), p))


def extend(model: Any, tokenizer: Any, pieces: list[str], max_new: int) -> list[str]:
    """Add the pieces the tokenizer does not already encode as one token; mean-initialise their embeddings.

    Returns:
        The tokens added, in id order.
    """
    import torch

    old = {}
    for piece in pieces:
        ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
        if len(ids) > 1 and piece not in old:
            old[piece] = ids
        if len(old) >= max_new:
            break
    added = list(old)
    if not added:
        return []
    first_new = len(tokenizer)
    tokenizer.add_tokens(added)
    model.resize_token_embeddings(len(tokenizer))
    with torch.no_grad():
        embeddings = [model.get_input_embeddings().weight]
        head = model.get_output_embeddings()
        if head is not None and head.weight.data_ptr() != embeddings[0].data_ptr():
            embeddings.append(head.weight)
        for offset, piece in enumerate(added):
            row = first_new + offset
            for weight in embeddings:
                weight[row] = weight[old[piece]].mean(dim=0)
    return added


def main(config_path: str) -> dict[str, Any]:
    """Run the vocabulary stage and return a summary (tokens added, tokens per text before and after)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = load_vocab_config(Path(config_path))
    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    model = AutoModelForCausalLM.from_pretrained(cfg.model)

    texts = [t for f in cfg.text_files for t in Path(f).read_text(encoding="utf-8").splitlines() if t.strip()]
    before = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    added = extend(model, tokenizer, learn_pieces(texts, cfg.new_vocab_size, cfg.min_frequency), cfg.max_new_tokens)
    after = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)

    out = Path(cfg.output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    summary = {"added": len(added), "vocab_size": len(tokenizer), "tokens_before": before, "tokens_after": after,
               "config": dataclasses.asdict(cfg)}
    (out / "transeval_vocab.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


if __name__ == "__main__":
    print(main(sys.argv[1]))
