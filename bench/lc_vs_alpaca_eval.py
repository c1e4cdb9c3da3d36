"""Length-controlled win rate: transeval vs alpaca_eval's own ``get_length_controlled_winrate``, same annotations.

Both compute AlpacaEval 2's LC win rate (Dubois et al. 2024) on real AlpacaEval 2 annotations (GPT-4-turbo's
weighted preferences of 4 models against gpt4_1106_preview, 805 instructions each; ``tests/fidelity/data/
alpaca_eval``, see its SOURCE.md), in one run, for two of alpaca_eval's GLMs:

* ``length_controlled_minimal``: ``np.tanh(std_delta_len) + not_gamed_baseline - 1`` (transeval's default);
* ``length_controlled_noreg``: the same plus ``instruction_difficulty``, with one difficulty table given to both
  (AlpacaEval's own precomputed table is on the HF hub, unreachable here; the bench uses each instruction's mean
  preference logit over the 4 models, a stand-in that exercises the same formula).

alpaca_eval is installed by this script from the package registry into its own venv
(``build/venvs/alpaca_eval``, ``alpaca_eval==0.6.6``); none of its code is copied. Its ``_get_featurized_data``
downloads ``df_gamed.csv`` from the HF hub even for these two GLMs (only to look up the difficulty); the bench
hands it a local file with the same columns instead (difficulty from the table above or 0, unused by the minimal
GLM). alpaca_eval reads only the outputs' lengths; the bench gives it strings of the recorded lengths.

Usage::

    .venv/bin/python bench/lc_vs_alpaca_eval.py

Measured here (2026-12-04, alpaca_eval 0.6.6 with scikit-learn 1.9.1 in its venv, transeval in .venv; LC in %,
goal |delta| <= 0.2 points)::

    | GLM | model | win rate | LC alpaca_eval | LC transeval | delta (pt) |
    | length_controlled_minimal | alpaca-7b | 2.59 | 19.5494 | 19.5494 | +0.00e+00 |
    | length_controlled_minimal | claude-2.1 | 15.73 | 32.4052 | 32.4052 | +0.00e+00 |
    | length_controlled_minimal | Qwen-14B-Chat | 7.50 | 20.5383 | 20.5383 | +0.00e+00 |
    | length_controlled_minimal | OpenHermes-2.5-Mistral-7B | 10.34 | 20.6480 | 20.6480 | +0.00e+00 |
    | length_controlled_noreg | alpaca-7b | 2.59 | 4.6452 | 4.6452 | +0.00e+00 |
    | length_controlled_noreg | claude-2.1 | 15.73 | 19.9140 | 19.9140 | +0.00e+00 |
    | length_controlled_noreg | Qwen-14B-Chat | 7.50 | 8.6426 | 8.6426 | +0.00e+00 |
    | length_controlled_noreg | OpenHermes-2.5-Mistral-7B | 10.34 | 11.1472 | 11.1472 | +0.00e+00 |
    largest |delta|: 0.00e+00 points (goal <= 0.2)

(The same to the last bit of a double: same design matrix, the same folds, penalties and liblinear seeds as
sklearn's ``LogisticRegressionCV`` inside alpaca_eval. Before this change transeval's own L2 GLM differed from
alpaca_eval by 0.6-1.0 points. alpaca_eval's leaderboard numbers use ``length_controlled_v1``, with its HF-hub
tables, and are not reproduced offline: see the data's SOURCE.md.)
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "fidelity" / "data" / "alpaca_eval"
VENV = ROOT / "build" / "venvs" / "alpaca_eval"
SPEC = ["alpaca_eval==0.6.6"]
MODELS = ("alpaca-7b", "claude-2.1", "Qwen-14B-Chat", "OpenHermes-2.5-Mistral-7B")
RECORD = DATA / "alpaca_eval_lc.json"  # alpaca_eval's own numbers, read by tests/fidelity

# Runs inside alpaca_eval's venv: stdin {"models": {name: rows}, "difficulty": [805] | null, "glm": name}.
THEIRS = r'''
import json, sys, tempfile
import pandas as pd
import alpaca_eval.metrics.glm_winrate as glm

job = json.load(sys.stdin)
n = max(len(rows) for rows in job["models"].values())
difficulty = job["difficulty"] or [0.0] * n
gamed = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
pd.DataFrame({"index": range(n), "instruction_difficulty": difficulty, "model": "none", "preference": 0.5,
              "std_delta_len": 0.0, "not_gamed_baseline": False}).to_csv(gamed.name, index=False)
glm.hf_hub_download = lambda *a, **k: gamed.name  # offline: the bench's table instead of the HF hub's
out = {}
for name, rows in job["models"].items():
    df = pd.DataFrame([{"output_1": "x" * r["len_1"], "output_2": "x" * r["len_2"], "preference": r["preference"],
                        "generator_1": r["generator_1"], "generator_2": r["generator_2"],
                        "annotator": r["annotator"]} for r in rows])
    m = glm.get_length_controlled_winrate(df, glm_name=job["glm"], save_weights_dir=None,
                                          is_warn_extreme_changes=False)
    out[name] = {"lc": m["length_controlled_winrate"] / 100, "win_rate": m["win_rate"] / 100}
print(json.dumps(out))
'''


def ensure_venv() -> Path:
    """alpaca_eval's own venv (created on first use)."""
    python = VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import alpaca_eval"],
                                             capture_output=True).returncode:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *SPEC], check=True)
    return python


def load(model: str) -> list[dict]:
    """The bundled annotation rows of one model, in AlpacaEval's instruction order."""
    with gzip.open(DATA / f"{model}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def preference01(raw: float) -> float:
    """alpaca_eval's ``preference.replace({0: 1.5}) - 1``: 1 = the model's output preferred."""
    return (1.5 if raw == 0 else raw) - 1


def difficulty_table(rows: dict[str, list[dict]]) -> list[float]:
    """A stand-in difficulty per instruction: minus the mean logit of the models' preferences."""
    n = len(next(iter(rows.values())))
    out = []
    for i in range(n):
        ps = [min(max(preference01(r[i]["preference"]), 1e-3), 1 - 1e-3) for r in rows.values()]
        out.append(-sum(math.log(p / (1 - p)) for p in ps) / len(ps))
    return out


def ours(rows: dict[str, list[dict]], difficulty: list[float] | None) -> dict[str, dict[str, float]]:
    """transeval's LC on the same rows."""
    from transeval.harness.stats.winrate import Preference, length_controlled_win_rate

    table = None if difficulty is None else {str(i): d for i, d in enumerate(difficulty)}
    out = {}
    for name, rs in rows.items():
        prefs = [Preference(str(r["index"]), 0, name, r["generator_1"], preference01(r["preference"]), r["len_2"],
                            r["len_1"]) for r in rs]
        res = length_controlled_win_rate(prefs, iters=0, difficulty=table)[name]
        out[name] = {"lc": res.lc_win_rate, "win_rate": res.win_rate}
    return out


def theirs(python: Path, rows: dict[str, list[dict]], difficulty: list[float] | None, glm: str) -> dict:
    """alpaca_eval's LC, computed by alpaca_eval in its venv."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "theirs.py"
        script.write_text(THEIRS, encoding="utf-8")
        job = json.dumps({"models": rows, "difficulty": difficulty, "glm": glm})
        done = subprocess.run([str(python), str(script)], input=job, capture_output=True, text=True, check=True,
                              env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print the table: per model and GLM, alpaca_eval's and transeval's LC and the difference."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--record", action="store_true", help=f"write alpaca_eval's numbers to {RECORD.name} for the tests")
    args = ap.parse_args(argv)
    record: dict[str, dict[str, float]] = {}
    python = ensure_venv()
    rows = {m: load(m) for m in MODELS}
    table = difficulty_table(rows)
    print("| GLM | model | win rate | LC alpaca_eval | LC transeval | delta (pt) |")
    print("|---|---|---:|---:|---:|---:|")
    worst = 0.0
    for glm, diff in (("length_controlled_minimal", None), ("length_controlled_noreg", table)):
        a, b = theirs(python, rows, diff, glm), ours(rows, diff)
        for m in MODELS:
            delta = 100 * (b[m]["lc"] - a[m]["lc"])
            worst = max(worst, abs(delta))
            print(f"| {glm} | {m} | {100 * a[m]['win_rate']:.2f} | {100 * a[m]['lc']:.4f} | "
                  f"{100 * b[m]['lc']:.4f} | {delta:+.2e} |")
            record.setdefault(glm, {})[m] = a[m]["lc"]
    print(f"largest |delta|: {worst:.2e} points (goal <= 0.2)")
    if args.record:
        RECORD.write_text(json.dumps({"source": f"alpaca_eval's get_length_controlled_winrate ({SPEC[0]}), "
                                      "computed by bench/lc_vs_alpaca_eval.py --record", "lc": record,
                                      "difficulty": "stand-in: minus the mean preference logit of the 4 models"},
                                     indent=1) + "\n", encoding="utf-8")
    return 0 if worst <= 0.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
