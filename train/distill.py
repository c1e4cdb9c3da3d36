"""Recovery-KD data for TransLLM stage 3, with provenance.

The chat model answers instructions itself, an LLM endpoint translates, and the TCoT training set is written.

Reads top to bottom: config -> instructions -> the model's own English answers (batched; vLLM when installed
and a GPU is present, else transformers) -> translations of instruction and answer through the configured
OpenAI-compatible endpoint (cached) -> TCoT records ``<EN> q <RESPONSE> a <TH> t`` plus English ``<RESPONSE> a``
records. Run: ``transeval train distill DISTILL.yaml``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.train.common import read_records
from transeval.train.config import read_stage_yaml, resolver
from transeval.train.data import tcot_target

TRANSLATE_PROMPT = "Translate the following text into {language}. Reply with the translation only.\n\n{text}"


@dataclass(frozen=True)
class DistillConfig:
    """A recovery-KD data stage."""

    model: str
    instructions: str
    output: str
    translator_model: str
    target_language: str = "Thai"
    target_tag: str = "<TH>"
    system_prompt: str | None = "You are a helpful assistant."
    max_new_tokens: int = 512
    batch_size: int = 8
    backend: str = "auto"
    english_records: bool = True


def load_distill_config(path: Path) -> DistillConfig:
    """Parse a distill YAML strictly (paths relative to the YAML).

    Raises:
        TransevalError: naming the file and field.
    """
    raw = read_stage_yaml(path, DistillConfig, ("model", "instructions", "output", "translator_model"))
    if raw.get("backend", "auto") not in ("auto", "hf", "vllm"):
        raise TransevalError("must be auto, hf or vllm", file=path, field="backend")
    resolve = resolver(path)

    values = {**raw, "instructions": resolve(str(raw["instructions"])), "output": resolve(str(raw["output"]))}
    if (path.parent / str(raw["model"])).exists():
        values["model"] = resolve(str(raw["model"]))
    if not Path(values["instructions"]).is_file():
        raise TransevalError(f"instructions file not found: {values['instructions']}", file=path,
                             field="instructions")
    return DistillConfig(**values)


def read_instructions(path: str) -> list[tuple[str, str]]:
    """(id, instruction text) pairs from instruction records (``instruction`` + optional ``input``)."""
    out = []
    for where, rec in read_records(path):
        if not isinstance(rec, dict) or not isinstance(rec.get("instruction"), str) or not rec["instruction"].strip():
            raise TransevalError("needs a non-empty string", file=where, field="instruction")
        text = rec["instruction"] + (f"\n\n{rec['input']}" if rec.get("input") else "")
        out.append((str(rec.get("id", where)), text))
    return out


def generate_answers(cfg: DistillConfig, prompts: list[str]) -> tuple[list[str], str]:
    """The model's own answers, in prompt order, and the backend used."""
    messages = [([{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else [])
                + [{"role": "user", "content": p}] for p in prompts]
    use_vllm = cfg.backend == "vllm"
    if cfg.backend == "auto":
        import importlib.util

        import torch

        use_vllm = importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()
    if use_vllm:  # pragma: no cover - needs a GPU and vLLM
        from vllm import LLM, SamplingParams

        llm = LLM(model=cfg.model)
        outs = llm.chat(messages, SamplingParams(temperature=0.0, max_tokens=cfg.max_new_tokens))
        return [o.outputs[0].text.strip() for o in outs], "vllm"
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg.model, padding_side="left")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model: Any = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=torch.bfloat16 if device == "cuda" else None)
    model.to(device).eval()
    answers: list[str] = []
    for start in tqdm(range(0, len(messages), cfg.batch_size), desc="generating answers"):
        texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True)
                 for m in messages[start : start + cfg.batch_size]]
        batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=cfg.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        answers += [str(tok.decode(o[batch["input_ids"].shape[1]:], skip_special_tokens=True)).strip() for o in out]
    return answers, "hf"


def translate(cfg: DistillConfig, texts: list[str]) -> list[str | None]:
    """Translations through the OpenAI-compatible endpoint (``OPENAI_*`` env), cached like judge calls."""
    from dataclasses import replace

    from transeval.judges.cache import JudgeCache, cache_key
    from transeval.judges.client import JudgeClient, JudgeRequest
    from transeval.judges.config import resolve_settings

    settings = replace(resolve_settings(cfg.translator_model), max_tokens=max(1024, cfg.max_new_tokens * 2))
    requests = []
    for text in texts:
        messages = [{"role": "user", "content": TRANSLATE_PROMPT.format(language=cfg.target_language, text=text)}]
        requests.append(JudgeRequest(cache_key(settings.model, messages, settings.decoding, "translate@1"), messages))
    cache = JudgeCache(settings.cache_path)
    try:
        results = JudgeClient(settings, cache).run(requests, desc=f"translating to {cfg.target_language}")
    finally:
        cache.close()
    return [r.text.strip() if r.text else None for r in results]


def main(config_path: str) -> dict[str, Any]:
    """Build the recovery-KD TCoT set and return a summary."""
    cfg = load_distill_config(Path(config_path))
    items = read_instructions(cfg.instructions)

    answers, backend = generate_answers(cfg, [text for _, text in items])
    translations = translate(cfg, [text for _, text in items] + answers)
    th_questions, th_answers = translations[: len(items)], translations[len(items):]

    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    written, skipped = 0, []
    with out.open("w", encoding="utf-8") as fh:
        for (ident, question), answer, th_q, th_a in zip(items, answers, th_questions, th_answers, strict=True):
            provenance = {"source": cfg.instructions, "id": ident, "model": cfg.model, "backend": backend,
                          "translator": cfg.translator_model}
            if not answer or th_q is None or th_a is None:
                skipped.append(ident)
                continue
            target = tcot_target(question, answer, th_a, cfg.target_tag)
            fh.write(json.dumps({"id": f"{ident}-tcot", "conversations": [{"from": "human", "value": th_q},
                                 {"from": "gpt", "value": target}], "provenance": provenance},
                                ensure_ascii=False) + "\n")
            written += 1
            if cfg.english_records:
                fh.write(json.dumps({"id": f"{ident}-en", "conversations": [{"from": "human", "value": question},
                                     {"from": "gpt", "value": f"<RESPONSE> {answer}"}], "provenance": provenance},
                                    ensure_ascii=False) + "\n")
    summary = {"written": written, "skipped": skipped, "backend": backend, "output": str(out)}
    if skipped:
        print(f"transeval: distill: {len(skipped)} instructions skipped (empty answer or failed translation): "
              f"{skipped[:5]}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    print(main(sys.argv[1]))
