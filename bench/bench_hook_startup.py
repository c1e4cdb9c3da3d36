"""Start-up cost of the lm-eval hook (``transeval_lm_eval.pth``), measured side by side.

1. ``python -X importtime -c pass``: the cumulative import time of the hook's modules
   (``transeval``, ``transeval.harness``, ``transeval.harness._autoload``), i.e. what the .pth costs.
2. Wall time of ``python -c pass`` with the hook active vs. opted out (TRANSEVAL_NO_LM_EVAL_HOOK=1),
   alternating runs; the ratio is what to quote (this machine is noisy).

Run: ``.venv/bin/python bench/bench_hook_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HOOK_MODULE = "transeval.harness._autoload"


def wall(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - start


def hook_import_us(env: dict[str, str]) -> float:
    """Cumulative microseconds of the outermost hook module import, from -X importtime."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], env=env, capture_output=True,
                         text=True, check=True).stderr
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)", line)
        if m and m.group(3) == HOOK_MODULE:  # cumulative: includes transeval and transeval.harness
            return float(m.group(2))
    raise SystemExit("the hook module was not imported: is transeval installed in this interpreter?")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    on = {k: v for k, v in os.environ.items() if k != "TRANSEVAL_NO_LM_EVAL_HOOK"}
    off = {**on, "TRANSEVAL_NO_LM_EVAL_HOOK": "1"}
    for _ in range(3):
        wall(on), wall(off)
    with_hook, opted_out, imports = [], [], []
    for _ in range(args.runs):
        with_hook.append(wall(on))
        opted_out.append(wall(off))
        imports.append(hook_import_us(on))
    a, b = statistics.median(with_hook), statistics.median(opted_out)
    imp = statistics.median(imports) / 1000
    print(f"hook start-up cost, medians of {args.runs} alternating runs")
    print(f"  import of the hook modules (-X importtime): {imp:6.2f} ms  (budget 50 ms)")
    print(f"  python -c pass, hook active              : {a * 1000:6.1f} ms")
    print(f"  python -c pass, opted out                : {b * 1000:6.1f} ms")
    print(f"  ratio active/opted-out                   : {a / b:6.3f}")
    print(f"  hook import / interpreter start-up       : {imp / (a * 1000):6.3f}")


if __name__ == "__main__":
    main()
