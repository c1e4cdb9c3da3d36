"""Speed by default (issue 13): no ``--batch_size`` batches the turns of multi-turn tasks, an explicit size is
kept, likelihood tasks keep lm-eval's batch 1 on CPU, and the progress bars say which turn they generate."""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import pytest
from conftest import run_cli
from lm_eval.api.instance import Instance
from transeval.harness.lmeval.multiturn import ConversationSpec, dispatching_generate_until, progress_label
from transeval.harness.lmeval.patches import CPU_TURN_BATCH, turn_batch_size


class HFLike:
    """Looks like lm-eval's hf backend to the runner: ``batch_size_per_gpu``, ``device``; records batch sizes."""

    def __init__(self, batch_size: int | str = 1, device: str = "cpu") -> None:
        self.batch_size_per_gpu = batch_size
        self.device = device
        self.seen: list[tuple[int, int | str]] = []  # (requests, batch size in force)

    def apply_chat_template(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return json.dumps(messages)

    def generate_until(self, requests: list[Instance]) -> list[str]:
        self.seen.append((len(requests), self.batch_size_per_gpu))
        return ["an answer"] * len(requests)


def _requests(n: int) -> list[Instance]:
    spec = ConversationSpec(("turn one", "turn two"), None, True).encode()
    plain = [Instance("generate_until", {}, ("plain prompt", {"until": []}), 0, ("other", 0, 1))]
    return plain + [Instance("generate_until", {}, (spec, {"until": []}), 0, ("t", i, 1)) for i in range(n)]


def test_no_batch_size_batches_every_conversation_of_a_turn_on_cpu():
    assert turn_batch_size(HFLike(), batch_unset=True) == CPU_TURN_BATCH
    lm = HFLike()
    gen = dispatching_generate_until(lm, lm.generate_until, turn_batch_size(lm, batch_unset=True))
    gen(_requests(5))
    # the plain request keeps lm-eval's batch 1; both turns of the 5 conversations go in one batch of 5
    assert lm.seen == [(1, 1), (5, 5), (5, 5)]
    assert lm.batch_size_per_gpu == 1, "restored after the turn"
    lm = HFLike()
    gen = dispatching_generate_until(lm, lm.generate_until, turn_batch_size(lm, batch_unset=True))
    gen(_requests(CPU_TURN_BATCH + 8))
    assert lm.seen[1:] == [(CPU_TURN_BATCH + 8, CPU_TURN_BATCH)] * 2


def test_explicit_or_other_backends_keep_their_batch():
    assert turn_batch_size(HFLike(), batch_unset=False) is None  # --batch_size 1 given: kept
    assert turn_batch_size(HFLike(batch_size=4), batch_unset=True) is None  # model_args batch_size=4
    assert turn_batch_size(HFLike(device="cuda:0"), batch_unset=True) == "auto"  # lm-eval's memory probe
    gpu = HFLike(device="cuda:0")
    probes: list[int] = []
    gpu._detect_batch_size = lambda: probes.append(1) or 6  # type: ignore[attr-defined]
    dispatching_generate_until(gpu, gpu.generate_until, "auto")(_requests(10))
    assert probes == [1], "probed once per run, not per turn"
    assert gpu.seen[1:] == [(10, 6), (10, 6)] and gpu.batch_size_per_gpu == 1
    assert turn_batch_size(object(), batch_unset=True) is None  # vllm / API backends batch themselves
    lm = HFLike()
    gen = dispatching_generate_until(lm, lm.generate_until, None)
    gen(_requests(3))
    assert lm.seen == [(1, 1), (3, 1), (3, 1)]


def test_cli_without_batch_size_passes_none(tmp_path: Path):
    from lm_eval.config.evaluate_config import EvaluatorConfig

    assert EvaluatorConfig.from_cli(argparse.Namespace(model="hf", tasks="x")).batch_size is None
    assert str(EvaluatorConfig.from_cli(argparse.Namespace(model="hf", tasks="x", batch_size="1")).batch_size) == "1"
    config = tmp_path / "run.yaml"
    config.write_text("model: hf\ntasks: [x]\nbatch_size: 8\n", encoding="utf-8")
    assert str(EvaluatorConfig.from_cli(argparse.Namespace(config=str(config))).batch_size) == "8"


def test_progress_bars_name_the_turn(monkeypatch: pytest.MonkeyPatch):
    labels: list[str] = []
    module = types.ModuleType("fake_backend")

    def bar(*args: object, desc: str = "Running generate_until requests", **kwargs: object) -> None:
        labels.append(desc)

    module.tqdm = bar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_backend", module)
    backend = type("Backend", (HFLike,), {"__module__": "fake_backend"})
    lm = backend()
    lm.generate_until = lambda reqs: (module.tqdm(total=len(reqs), desc="Running generate_until requests"),
                                      ["x"] * len(reqs))[1]
    dispatching_generate_until(lm, lm.generate_until)(_requests(2))
    assert labels == ["Running generate_until requests", "transeval turn 1 of 2: generating",
                      "transeval turn 2 of 2: generating"]
    assert module.tqdm is bar, "restored"
    with progress_label(object(), "x"):  # a backend without a module-level tqdm keeps its own bar
        pass


@pytest.mark.slow
def test_lm_eval_hf_without_batch_size_batches_turns(tiny_model: Path, tmp_path: Path):
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PATH": "/usr/bin:/bin"}
    res = run_cli(["lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model}", "--tasks",
                   "thai_mtbench", "--device", "cpu", "--limit", "3", "--gen_kwargs", "max_gen_toks=4",
                   "--predict_only", "--output_path", str(tmp_path / "runs")], env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "transeval turn 1 of 2: generating" in res.stderr and "transeval turn 2 of 2: generating" in res.stderr
    assert "no --batch_size: turn generation in batches of 3" in res.stderr
