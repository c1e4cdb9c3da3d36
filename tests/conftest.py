from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scripted_server import ScriptedOpenAI  # noqa: E402
from tiny_model import build_tiny_llama  # noqa: E402

SECRET = "sk-test-DO-NOT-LEAK-0123456789"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    srv = ScriptedOpenAI().start()
    yield srv
    srv.stop()


@pytest.fixture
def judge_env(server: ScriptedOpenAI, tmp_path: Path) -> dict[str, str]:
    """Environment for a run judged by the scripted server, with an isolated judge cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_", "TRANSEVAL_"))}
    env.update(
        OPENAI_API_KEY=SECRET,
        OPENAI_BASE_URL=server.base_url,
        TRANSEVAL_JUDGE_MODEL="judge-scripted",
        TRANSEVAL_CACHE_DIR=str(tmp_path / "cache"),
        TRANSEVAL_JUDGE_BACKOFF="0.01",
        TRANSEVAL_JUDGE_TIMEOUT="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a console script from this venv and capture its output."""
    exe = str(VENV_BIN / args[0])
    return subprocess.run([exe, *args[1:]], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
