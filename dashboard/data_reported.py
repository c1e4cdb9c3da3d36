"""Numbers reported in papers, as leaderboard rows marked "reported" (pure data, no ``st.*``).

Sources are in ``dashboard/reported/SOURCE.md`` (Paper B, Zhao et al. 2024, arXiv 2401.01055, Tables 1-3) and
``tasks/llm_eval/SOURCE.md`` (LLMEval-1 GPT-4 and human leaderboards, Zhang et al. 2023, arXiv 2312.07398).
Reported rows are kept apart from computed ones: they never enter an average.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from transeval.dashboard.data import Board, latest

HERE = Path(__file__).resolve().parent / "reported"
LLM_EVAL_REPORTED = Path(__file__).resolve().parent.parent / "tasks" / "llm_eval" / "data" / "reported"
ASPECTS = ("accuracy", "fluency", "informativeness", "logical_coherence", "harmlessness")


@dataclass(frozen=True)
class ReportedTable:
    """One reported table and how its columns map onto our metrics.

    Attributes:
        key: Short id.
        title: What it is (shown on the page).
        source: Paper, table and file.
        path: The CSV.
        label_columns: Columns that name the row (joined as the row's model label).
        task: Our task whose numbers go in the same columns (None: no task of ours).
        columns: Reported column -> our metric name on ``task`` (``score`` or ``score/<aspect>``).
    """

    key: str
    title: str
    source: str
    path: Path
    label_columns: tuple[str, ...]
    task: str | None
    columns: dict[str, str]


def _aspect_map(avg: str, names: dict[str, str] | None = None) -> dict[str, str]:
    names = names or {a: a for a in ASPECTS}
    return {avg: "score", **{col: f"score/{ours}" for col, ours in names.items()}}


LLMEVAL1_NAMES = {"accuracy": "accuracy", "fluency": "fluency", "informativeness": "informativeness",
                  "logicality": "logical_coherence", "harmlessness": "harmlessness"}
TABLES = (
    ReportedTable("paper_b_t1", "Paper B Table 1: LLM-Eval (0-3) after SFT", "Zhao et al. 2024, arXiv 2401.01055, "
                  "Table 1", HERE / "paper_b_table1.csv", ("model", "sft"), "llm_eval", _aspect_map("avg")),
    ReportedTable("paper_b_t2", "Paper B Table 2: perplexity (Chinese, English)", "Zhao et al. 2024, arXiv "
                  "2401.01055, Table 2", HERE / "paper_b_table2.csv", ("model",), None, {}),
    ReportedTable("paper_b_t3", "Paper B Table 3: LLM-Eval average (0-3) in 13 languages", "Zhao et al. 2024, "
                  "arXiv 2401.01055, Table 3", HERE / "paper_b_table3.csv", ("sft",), None, {}),
    ReportedTable("llmeval1_gpt4", "LLMEval-1 itemized leaderboard, GPT-4 judge (0-3)", "llmeval-1 "
                  "itemized_eval_gpt4_leaderboard.csv", LLM_EVAL_REPORTED / "itemized_eval_gpt4_leaderboard.csv",
                  ("llm_name",), "llm_eval", _aspect_map("overall", LLMEVAL1_NAMES)),
    ReportedTable("llmeval1_human", "LLMEval-1 itemized leaderboard, human judges (0-3)", "llmeval-1 "
                  "itemized_eval_manual_denoised_leaderboard.csv",
                  LLM_EVAL_REPORTED / "itemized_eval_manual_denoised_leaderboard.csv", ("llm_name",), "llm_eval",
                  _aspect_map("overall", LLMEVAL1_NAMES)),
    ReportedTable("llmeval1_pair_gpt4", "LLMEval-1 pairwise leaderboard, GPT-4 judge", "llmeval-1 "
                  "pairwise_eval_gpt4_leaderboard.csv", LLM_EVAL_REPORTED / "pairwise_eval_gpt4_leaderboard.csv",
                  ("llm_name",), None, {}),
    ReportedTable("llmeval1_pair_human", "LLMEval-1 pairwise leaderboard, human judges", "llmeval-1 "
                  "pairwise_eval_manual_denoised_leaderboard.csv",
                  LLM_EVAL_REPORTED / "pairwise_eval_manual_denoised_leaderboard.csv", ("llm_name",), None, {}),
)


#: Rounding slack when checking a printed average against its printed parts (3 decimals each: the mean of five
#: values rounded to 0.0005 and the average's own rounding together stay within 0.001).
AVG_TOLERANCE = 0.001


def average_check(df: pd.DataFrame, avg: str, parts: tuple[str, ...] = ASPECTS) -> list[str]:
    """Per row: "" when the printed ``avg`` is the mean of the printed ``parts`` (within rounding), else a flag.

    The flag names the mean and how far off the printed average is; the numbers stay as printed.
    """
    out = []
    for _, row in df.iterrows():
        values = [row.get(p) for p in parts]
        printed = row.get(avg)
        if any(pd.isna(v) for v in values) or pd.isna(printed):
            out.append("")
            continue
        mean = sum(float(v) for v in values) / len(values)
        off = float(printed) - mean
        out.append("" if abs(off) <= AVG_TOLERANCE else
                   f"printed {avg} {float(printed):.3f} is not the mean of its {len(parts)} aspects "
                   f"({mean:.3f}; off by {off:+.3f})")
    return out


def reported_frame(table: ReportedTable) -> pd.DataFrame:
    """The table as shipped, with ``model`` (label), ``kind`` = reported and ``source`` columns first.

    Tables whose average column sits beside its five aspects get a ``check`` column flagging rows whose printed
    average is not the mean of the printed aspects (Paper B Table 1's 5k-SFT block); the numbers stay as printed.
    """
    df = pd.read_csv(table.path, dtype=str, keep_default_na=False)
    label = df[list(table.label_columns)].agg(" · ".join, axis=1) if len(table.label_columns) > 1 else \
        df[table.label_columns[0]]
    values = df.drop(columns=[c for c in df.columns if c in table.label_columns or c.endswith("_rank")])
    values = values.apply(pd.to_numeric, errors="coerce")
    out = pd.concat([pd.DataFrame({"model": label, "kind": "reported", "source": table.source}), values], axis=1)
    avg = next((col for col, ours in table.columns.items() if ours == "score"), None)
    parts = tuple(col for col, ours in table.columns.items() if ours.startswith("score/"))
    if avg is not None and len(parts) == len(ASPECTS) and all(c in values for c in (avg, *parts)):
        out["check"] = average_check(values, avg, parts)
    return out


def with_ours(table: ReportedTable, board: Board, models: list[str]) -> pd.DataFrame:
    """The reported rows plus one row per chosen model of ours on the same columns (``kind`` = ours)."""
    rep = reported_frame(table)
    if table.task is None or not models:
        return rep
    rows = latest(board.rows)
    rows = rows[(rows["task"] == table.task) & rows["model"].isin(models)]
    ours = []
    for model in models:
        mine = rows[rows["model"] == model]
        if mine.empty:
            continue
        by_metric = dict(zip(mine["metric"], mine["score"], strict=True))
        rec: dict[str, object] = {"model": str(mine["alias"].iloc[0]), "kind": "ours",
                                  "source": f"{table.task}, judge {mine['judge'].iloc[0]}"}
        for col, metric in table.columns.items():
            rec[col] = by_metric.get(metric)
        ours.append(rec)
    return pd.concat([rep, pd.DataFrame(ours, columns=rep.columns)], ignore_index=True) if ours else rep
