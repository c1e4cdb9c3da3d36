"""The README's troubleshooting table: every bad input gets one line naming file, line and field (issue 10).

``CASES`` is the single source: each row is run here (the real ``transeval`` CLI in this process, or the real
function at the boundary where the input enters) and ``docs/troubleshooting_table.md`` is rendered from it
(``python tests/test_troubleshooting.py`` rewrites it; a test checks it is current). Messages are exact, with
``{placeholders}`` for paths. Rows marked ``xfail`` are known gaps: the message is the one wanted.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from transeval.core.errors import TransevalError, one_line  # noqa: E402

DATE = "2026-01-01T00-00-00.000000"
DOC_FILE = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting_table.md"
META = {"data_file": "thai_mtbench/data/question_th.jsonl", "turns_field": "turns", "language": "Thai",
        "judge": {"rubric": "mtbench-th-single-v1", "rubric_multi_turn": "mtbench-th-single-v1-multi-turn"}}
GOOD_Q = '{"question_id": 1, "category": "writing", "turns": ["a", "b"]}\n'


@dataclass
class Ctx:
    """Where a case runs: a temporary folder, a judged-task run with 2 answered questions, a judge server."""

    tmp: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)
    seen_prompts: Callable[[], list[str]] = list

    @property
    def run(self) -> Path:
        return self.tmp / "runs"

    @property
    def samples(self) -> Path:
        return self.run / "candidate" / f"samples_thai_mtbench_{DATE}.jsonl"

    @property
    def results(self) -> Path:
        return self.run / "candidate" / f"results_{DATE}.json"

    @property
    def judgments(self) -> Path:
        return self.run / "candidate" / f"judgments_thai_mtbench_{DATE}.jsonl"

    def edit_sample(self, line: int, change: Callable[[dict[str, Any]], None]) -> None:
        lines = self.samples.read_text(encoding="utf-8").splitlines()
        rec = json.loads(lines[line - 1])
        change(rec)
        lines[line - 1] = json.dumps(rec, ensure_ascii=True)
        self.samples.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def rubric_dir(self, name: str, change: Callable[[dict[str, Any]], str | None] | None = None,
                   raw: str | None = None) -> Path:
        """A rubrics folder holding a broken copy of the bundled ``fluency`` rubric."""
        import yaml
        from transeval.judges.rubric import RUBRICS_DIR

        folder = self.tmp / name
        folder.mkdir()
        if raw is not None:
            (folder / "fluency.yaml").write_text(raw, encoding="utf-8")
            return folder
        data = yaml.safe_load((RUBRICS_DIR / "fluency.yaml").read_text(encoding="utf-8"))
        stem = (change(data) if change else None) or "fluency"
        (folder / f"{stem}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
        return folder


def make_run(ctx: Ctx) -> None:
    """A predict-only run as lm-eval writes it: results JSON + samples of 2 thai_mtbench questions."""
    from transeval.core.records import TurnOutput
    from transeval.harness.lmeval.judged import load_docs
    from transeval.harness.lmeval.multiturn import encode_outputs

    docs = load_docs("thai_mtbench", META)[:2]
    ctx.samples.parent.mkdir(parents=True)
    lines = []
    for i, doc in enumerate(docs):
        turns = [TurnOutput("p", f"คำตอบ {i}", f"คำตอบ {i}"), TurnOutput("p", f"คำตอบสอง {i}", f"คำตอบสอง {i}")]
        lines.append(json.dumps({"doc_id": i, "doc": doc, "filtered_resps": [encode_outputs(turns)]},
                                ensure_ascii=False))
    ctx.samples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ctx.results.write_text(json.dumps({"results": {"thai_mtbench": {"alias": "thai_mtbench"}},
                                       "configs": {"thai_mtbench": {}}}), encoding="utf-8")


Action = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Case:
    """One row of the table.

    Attributes:
        id: Test id.
        bad_input: What is wrong (first column).
        message: The exact line the user sees, with ``{placeholders}`` (``{samples}``, ``{tmp}``, ...).
        fix: What to do about it.
        cli: ``transeval`` arguments (after ``judge``) and env changes, from the context; else ``call``.
        call: The function at the boundary, called with the context (must raise ``TransevalError``).
        ok: The input is accepted (no error); ``check`` asserts what happened instead.
        xfail: Why this row does not pass yet (a known gap for the lead).
    """

    id: str
    bad_input: str
    message: str
    fix: str
    cli: Callable[[Ctx], tuple[list[str], dict[str, str | None]]] | None = None
    call: Action | None = None
    ok: Callable[[Ctx], None] | None = None
    xfail: str | None = None


def judge(*extra: str, **env: str | None) -> Callable[[Ctx], tuple[list[str], dict[str, str | None]]]:
    return lambda ctx: ([str(ctx.run), *extra], dict(env))


def then(setup: Action, run: Callable[[Ctx], tuple[list[str], dict[str, str | None]]]
         ) -> Callable[[Ctx], tuple[list[str], dict[str, str | None]]]:
    def both(ctx: Ctx) -> tuple[list[str], dict[str, str | None]]:
        setup(ctx)
        return run(ctx)
    return both


def questions(text: str | bytes, meta: dict[str, Any] | None = None) -> Action:
    from transeval.harness.lmeval.judged import read_questions

    return lambda ctx: read_questions(ctx.file("q.jsonl", text), meta or {"turns_field": "turns"})


def labels(name: str, text: str) -> Action:
    from transeval.harness.stats.agreement import read_labels

    return lambda ctx: read_labels(ctx.file(name, text))


def set_doc(line: int, key: str, value: Any) -> Action:
    return lambda ctx: ctx.edit_sample(line, lambda rec: rec["doc"].__setitem__(key, value))


def rubric_cli(change: Callable[[dict[str, Any]], str | None] | None = None, raw: str | None = None
               ) -> Callable[[Ctx], tuple[list[str], dict[str, str | None]]]:
    def build(ctx: Ctx) -> tuple[list[str], dict[str, str | None]]:
        folder = ctx.rubric_dir("my_rubrics", change, raw)
        return [str(ctx.run), "--rubric", "fluency", "--rubrics-dir", str(folder)], {}
    return build


def _surrogate(ctx: Ctx) -> None:
    def change(rec: dict[str, Any]) -> None:
        rec["filtered_resps"][0] = rec["filtered_resps"][0].replace("คำตอบสอง 1", "broken \ud800 text")
    ctx.edit_sample(2, change)


def _surrogate_judged(ctx: Ctx) -> None:
    # one U+FFFD per surrogate is wanted; judges/grade.py clean_text gives one per byte of its UTF-8 form (3)
    assert any(re.search("broken \ufffd+ text", p) for p in ctx.seen_prompts())
    assert ctx.judgments.exists()


def _bad_utf8(ctx: Ctx) -> None:
    raw = ctx.samples.read_bytes()
    at = raw.index("คำตอบสอง 1".encode())
    ctx.samples.write_bytes(raw[:at] + b"\xff" + raw[at + 1:])


def _not_a_database(ctx: Ctx) -> dict[str, str | None]:
    ctx.file("cache/judge_cache.sqlite", "this is not a database\n" * 200)
    return {"TRANSEVAL_CACHE_DIR": str(ctx.tmp / "cache")}


def _all_401(ctx: Ctx) -> None:
    ctx.env["fail_all"] = "401"


def _all_503(ctx: Ctx) -> None:
    ctx.env["fail_all"] = "503"


def _add_task_key(data: dict[str, Any], key: str, value: Any) -> None:
    data[key] = value


def _all_400(ctx: Ctx) -> None:
    ctx.env["fail_all"] = "400"


def _post_401(ctx: Ctx) -> None:
    ctx.env["fail_all"] = "post401"


def _duplicate_id(ctx: Ctx) -> None:
    for line in (1, 2):
        ctx.edit_sample(line, lambda rec: rec["doc"].__setitem__("question_id", "81"))


def _turns_string(ctx: Ctx) -> None:
    ctx.edit_sample(2, lambda rec: rec.__setitem__("filtered_resps", [json.dumps({"turns": "one answer"})]))


def _torn_judgments(ctx: Ctx) -> None:
    ctx.judgments.write_bytes(b'{"task": "thai_mtbench", "sample_id": "1", "tu')


def _torn_healed(ctx: Ctx) -> None:
    from transeval.harness.judging.store import read_judgments

    raw = ctx.judgments.read_bytes()
    assert raw.endswith(b"\n") and b'"tu\n' not in raw and len(read_judgments(ctx.judgments)) >= 4
    assert ctx.judgments.with_name(ctx.judgments.name + ".torn").read_bytes().startswith(b'{"task"')


def _metadata_rubric(ctx: Ctx) -> None:
    """`--metadata rubrics=fluency` naming a user rubric with `scale: [5, 1]`: refused before generation."""
    from transeval.harness.lmeval.judged import load_docs

    folder = ctx.rubric_dir("meta_rubrics", lambda d: _add_task_key(d, "scale", [5, 1]))
    old = os.environ.get("TRANSEVAL_RUBRICS_DIR")
    os.environ["TRANSEVAL_RUBRICS_DIR"] = str(folder)
    try:
        load_docs("thai_mtbench", {**META, "rubrics": "fluency"})
    finally:
        if old is None:
            del os.environ["TRANSEVAL_RUBRICS_DIR"]
        else:
            os.environ["TRANSEVAL_RUBRICS_DIR"] = old


def _export(name: str, files: dict[str, str]) -> Action:
    """``transeval board --export`` of a folder holding ``files``: the check that runs before rendering."""
    def call(ctx: Ctx) -> None:
        from transeval.harness.judging.store import check_exportable

        folder = ctx.tmp / name
        folder.mkdir()
        for rel, text in files.items():
            ctx.file(f"{name}/{rel}", text)
        check_exportable(folder)
    return call


CASES: list[Case] = [
    # -- saved runs (`transeval judge RUN`) --
    Case("samples-utf8", "samples file with a byte that is not UTF-8",
         "transeval: error: {samples}:2: not valid UTF-8 (byte {byte})",
         "re-save the file as UTF-8 (or rerun lm_eval)", cli=then(_bad_utf8, judge())),
    Case("samples-json", "samples file line that is not JSON (e.g. cut short)",
         "transeval: error: {samples}:3: not valid JSON (Expecting property name enclosed in double quotes)",
         "remove or repair that line",
         cli=then(lambda c: c.samples.write_bytes(c.samples.read_bytes() + b"{oops\n"), judge())),
    Case("samples-not-object", "samples file line that is JSON but not an object",
         "transeval: error: {samples}:3: expected a JSON object", "remove that line",
         cli=then(lambda c: c.samples.write_bytes(c.samples.read_bytes() + b"[1, 2]\n"), judge())),
    Case("surrogate", "an answer with a lone surrogate (`\\ud800`, from a broken JSON escape)",
         "", "nothing: it reaches the judge as U+FFFD and the turn is judged",
         cli=then(_surrogate, judge()), ok=_surrogate_judged),
    Case("doc-json", "judged-task `doc` field that is not valid JSON (e.g. `doc.judge`)",
         "transeval: error: {samples}:2 field 'doc.judge': not valid JSON",
         "restore the field from the task (rerun with --predict_only)",
         cli=then(set_doc(2, "judge", "{not json"), judge())),
    Case("doc-turns-string", "`doc.turns` given as a string",
         "transeval: error: {samples}:1 field 'doc.turns': must be a list of strings",
         "make it a list, one string per turn", cli=then(set_doc(1, "turns", "one turn"), judge())),
    Case("doc-reference-string", "`doc.reference` given as a string",
         "transeval: error: {samples}:2 field 'doc.reference': must be a list of strings",
         "make it a list, one reference per turn", cli=then(set_doc(2, "reference", "a reference"), judge())),
    Case("doc-baselines-not-object", "`doc.baselines` JSON that is not an object",
         "transeval: error: {samples}:2 field 'doc.baselines': must be an object of baseline -> answers",
         "restore the field from the task", cli=then(set_doc(2, "baselines", "[1]"), judge())),
    Case("doc-extra-not-object", "`doc.extra` JSON that is not an object",
         "transeval: error: {samples}:2 field 'doc.extra': must be an object",
         "restore the field from the task", cli=then(set_doc(2, "extra", '"text"'), judge())),
    Case("no-response", "sample without a model response (`filtered_resps` empty)",
         "transeval: error: {samples}:2 field 'filtered_resps': no model response in sample",
         "rerun generation for that run",
         cli=then(lambda c: c.edit_sample(2, lambda r: r.__setitem__("filtered_resps", [])), judge())),
    Case("results-json", "results file that is not valid JSON",
         "transeval: error: {results}:1: not valid JSON (Expecting property name enclosed in double quotes)",
         "restore lm-eval's results_<date>.json",
         cli=then(lambda c: c.results.write_text("{bad", encoding="utf-8"), judge())),
    Case("judgments-json", "judgments file with a broken line that is not the last one",
         "transeval: error: {judgments}:1: not valid JSON (Expecting property name enclosed in double quotes)",
         "delete that line (its turn is judged again)",
         cli=then(lambda c: c.judgments.write_text('{oops\n{"x": 1}\n', encoding="utf-8"), judge())),
    Case("judgments-unknown-field", "judgments file line that is not a judgment",
         "transeval: error: {judgments}:1: not a judgment (unknown field(s) ['x'])",
         "delete that line (its turn is judged again)",
         cli=then(lambda c: c.judgments.write_text('{"x": 1}\n', encoding="utf-8"), judge())),
    Case("runs-missing", "runs folder that does not exist",
         "transeval: error: {tmp}/no-such-runs: no such folder", "pass lm_eval's --output_path folder",
         cli=lambda c: ([str(c.tmp / "no-such-runs")], {})),
    Case("nothing-to-judge", "runs folder with no samples of judged tasks",
         "transeval: nothing to judge under {tmp}/empty (no samples of judged tasks; did the run use "
         "--log_samples or --predict_only?)", "rerun lm_eval with --log_samples (or --predict_only)",
         cli=lambda c: ((c.tmp / "empty").mkdir() or [str(c.tmp / "empty")], {})),
    Case("unknown-task", "`--task` naming a task the runs do not have",
         "transeval: error: field '--task': no task 'thai_mtbnech' under {run} (tasks there: thai_mtbench)",
         "use a task name from the run's results file", cli=judge("--task", "thai_mtbnech")),
    Case("rubrics-dir-missing", "`--rubrics-dir` that does not exist",
         "transeval: error: {tmp}/my_rubrics field 'TRANSEVAL_RUBRICS_DIR / --rubrics-dir': rubrics folder "
         "not found", "create the folder or fix the path",
         cli=lambda c: ([str(c.run), "--rubric", "fluency", "--rubrics-dir", str(c.tmp / "my_rubrics")], {})),
    # -- judge endpoint and environment --
    Case("no-key", "`OPENAI_API_KEY` not set",
         "transeval: error: no judge configured (OPENAI_API_KEY is not set): {how_to}",
         "export OPENAI_API_KEY (any value for a local server)", cli=judge(OPENAI_API_KEY=None)),
    Case("unreachable", "judge endpoint unreachable (wrong `OPENAI_BASE_URL`, server down)",
         "transeval: error: judge endpoint http://127.0.0.1:9/v1 unreachable after 2 attempts "
         "(connection error: [Errno 111] Connection refused); check OPENAI_BASE_URL, or {how_to}",
         "start the server or fix the URL",
         cli=judge(OPENAI_BASE_URL="http://127.0.0.1:9/v1")),
    Case("key-rejected", "API key rejected (HTTP 401 from the endpoint)",
         "transeval: error: judge endpoint {url} rejected the API key (HTTP 401); check OPENAI_API_KEY",
         "fix OPENAI_API_KEY", cli=then(_all_401, judge())),
    Case("error-budget", "judge calls fail (5xx, timeouts) for more than `--max-unscored-fraction` of turns",
         "transeval: error: the judge could not be asked for 4 of 4 judgments (more than 5%: endpoint down or "
         "key rejected); earlier judgments are kept, rerun `transeval judge` when the endpoint works",
         "rerun later: judged turns are cached and kept", cli=then(_all_503, judge())),
    Case("env-number", "malformed `TRANSEVAL_JUDGE_*` number",
         "transeval: error: field '$TRANSEVAL_JUDGE_CONCURRENCY': must be a number, got 'eight'",
         "give a number", cli=judge(TRANSEVAL_JUDGE_CONCURRENCY="eight")),
    Case("env-number-nan", "`TRANSEVAL_JUDGE_*` number that is not finite (`nan`, `inf`)",
         "transeval: error: field '$TRANSEVAL_JUDGE_MAX_TOKENS': must be a finite number, got 'inf'",
         "give a finite number", cli=judge(TRANSEVAL_JUDGE_MAX_TOKENS="inf")),
    Case("env-timeout-negative", "negative `TRANSEVAL_JUDGE_TIMEOUT`",
         "transeval: error: field '$TRANSEVAL_JUDGE_TIMEOUT': must be a positive number, got '-1'",
         "give a positive number of seconds", cli=judge(TRANSEVAL_JUDGE_TIMEOUT="-1")),
    Case("cache-dir-is-file", "`TRANSEVAL_CACHE_DIR` pointing at a file",
         "transeval: error: {tmp}/a-file: cache folder is a file; point TRANSEVAL_CACHE_DIR at a folder",
         "point it at a folder",
         cli=lambda c: ([str(c.run)], {"TRANSEVAL_CACHE_DIR": str(c.file("a-file", "x"))})),
    Case("cache-not-db", "judge cache file that is not a SQLite database",
         "transeval: error: {tmp}/cache/judge_cache.sqlite: not a usable judge cache (file is not a database); "
         "move it away or set TRANSEVAL_CACHE_DIR", "move the file away",
         cli=lambda c: ([str(c.run)], _not_a_database(c))),
    Case("budget-nan", "`--max-unscored-fraction` that is not a number between 0 and 1 (`nan`, `x`, `2`)",
         "transeval: error: field '--max-unscored-fraction': must be a number between 0 and 1, got 'nan'",
         "give a share such as 0.05", cli=judge("--max-unscored-fraction", "nan")),
    Case("base-url-not-url", "`OPENAI_BASE_URL` that is not an http(s) URL",
         "transeval: error: field '$OPENAI_BASE_URL': not an http(s) URL: 'not-a-url' (e.g. "
         "http://localhost:8000/v1)", "give the server's base URL", cli=judge(OPENAI_BASE_URL="not-a-url")),
    Case("judge-all-400", "the endpoint refuses every judge request (HTTP 400: wrong model, prompt too long)",
         "transeval: error: the judge gave no score for 4 of 4 judgments (more than 5%; most often: judge HTTP "
         "400: this model does not accept this request); earlier judgments are kept, fix the cause and rerun "
         "`transeval judge`", "fix the judge model or endpoint (the reason is the endpoint's own)",
         cli=then(_all_400, judge())),
    Case("judge-post-401", "`GET /models` works but every judge call is refused (HTTP 401)",
         "transeval: error: the judge could not be asked for 4 of 4 judgments (more than 5%: endpoint down or "
         "key rejected); earlier judgments are kept, rerun `transeval judge` when the endpoint works",
         "fix OPENAI_API_KEY (the key may lack access to the judge model)", cli=then(_post_401, judge())),
    Case("samples-duplicate-id", "samples file with the same question id twice",
         "transeval: error: {samples}:2 field 'doc.question_id': duplicate question id '81' (first on line 1)",
         "keep one sample per question (rerun lm_eval into an empty folder)", cli=then(_duplicate_id, judge())),
    Case("reply-turns-string", "a conversation reply whose `turns` is a string",
         "transeval: error: {samples}:2 field 'filtered_resps': the conversation's 'turns' must be a list of turn "
         "objects, got a string", "rerun generation for that run", cli=then(_turns_string, judge())),
    Case("judgments-torn-last-line", "judgments file whose last line was cut (kill -9, full disk)",
         "", "nothing: the next judging moves the torn line to judgments_*.jsonl.torn and judges that turn again",
         cli=then(_torn_judgments, judge()), ok=_torn_healed),
    # -- rubric YAML (`--rubric NAME --rubrics-dir DIR`, or TRANSEVAL_RUBRICS_DIR) --
    Case("rubric-unknown", "unknown rubric name",
         "transeval: error: unknown judge prompt 'fluncy': no fluncy.yaml in {rubrics_dir} (bundled) (known: "
         "{rubrics}); add your folder with --rubrics-dir, $TRANSEVAL_RUBRICS_DIR or --metadata rubrics_dir, or give "
         "the rubric file's path", "use a listed name, your rubrics folder or the file's path",
         cli=judge("--rubric", "fluncy")),
    Case("rubric-unknown-key", "rubric YAML with an unknown key",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'scoring': unknown key (allowed: {rubric_keys})",
         "remove or rename the key", cli=rubric_cli(lambda d: _add_task_key(d, "scoring", "x"))),
    Case("rubric-missing-key", "rubric YAML without a required key",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'examples': missing required key",
         "add the key", cli=rubric_cli(lambda d: d.pop("examples") and None)),
    Case("rubric-bad-regex", "rubric `score_pattern` that is not a valid regex",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'score_pattern': bad regex: missing ), "
         "unterminated subpattern at position 4", "fix the regex (one group: the rating)",
         cli=rubric_cli(lambda d: _add_task_key(d, "score_pattern", r"\[\[(\d+\]\]"))),
    Case("rubric-name-mismatch", "rubric `name` that differs from its file name",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'name': name must equal the file name 'fluency'",
         "rename the file or the name", cli=rubric_cli(lambda d: _add_task_key(d, "name", "fluency-v2"))),
    Case("rubric-template-field", "rubric template field the task cannot fill",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'template': template uses {{notes}}, which task "
         "'thai_mtbench' cannot fill (available: answer, answer_1, answer_2, language, question, question_1, "
         "question_2)", "use one of the available fields",
         cli=rubric_cli(lambda d: _add_task_key(d, "template", d["template"] + "\n{notes}"))),
    Case("rubric-not-yaml", "rubric file that is not YAML",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml:3: invalid YAML", "fix the YAML syntax",
         cli=rubric_cli(raw="name: fluency\nversion: [1\n")),
    Case("rubric-not-mapping", "rubric YAML that is not a mapping",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml: a rubric must be a mapping", "write key: value pairs",
         cli=rubric_cli(raw="- just\n- a list\n")),
    Case("rubric-bad-scale", "rubric `scale` that is not [min, max]",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'scale': scale must be [min, max] (max a number "
         "or a \"{{field}}\")", "write scale: [1, 10]", cli=rubric_cli(lambda d: _add_task_key(d, "scale", [1]))),
    Case("rubric-scale-order", "rubric `scale` with min not below max (`[5, 1]`)",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'scale': scale must be [min, max] with min < max, "
         "got [5, 1]", "write scale: [1, 5]", cli=rubric_cli(lambda d: _add_task_key(d, "scale", [5, 1]))),
    Case("rubric-scale-order-metadata", "the same rubric named in `lm_eval --metadata rubrics=...`",
         "transeval: error: {tmp}/meta_rubrics/fluency.yaml field 'scale': scale must be [min, max] with min < "
         "max, got [5, 1]", "write scale: [1, 5] (checked before generation)", call=_metadata_rubric),
    Case("rubric-unbalanced-brace", "rubric template with an unbalanced `{`",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'template': expected '}}' before end of string "
         "(write {{{{ and }}}} for a literal brace)", "close the brace, or double it for a literal one",
         cli=rubric_cli(lambda d: _add_task_key(d, "template", d["template"] + "\n{oops"))),
    Case("rubric-bad-placeholder", "rubric template placeholder that is not a field name (`{0}`, `{a.b}`)",
         "transeval: error: {tmp}/my_rubrics/fluency.yaml field 'template': placeholder {{0}} is not a plain "
         "field name like {{question}} (write {{{{ and }}}} for a literal brace)", "name a field, e.g. {{answer}}",
         cli=rubric_cli(lambda d: _add_task_key(d, "template", d["template"] + "\n{0}"))),
    # -- questions JSONL (`--metadata '{"data_file": ...}'`, checked before generation) --
    Case("questions-duplicate-id", "questions JSONL: duplicate id",
         "transeval: error: {tmp}/q.jsonl:2 field 'question_id': duplicate id '1' (first on line 1)",
         "make ids unique", call=questions(GOOD_Q + GOOD_Q)),
    Case("questions-turns-string", "questions JSONL: `turns` as a string",
         "transeval: error: {tmp}/q.jsonl:1 field 'turns': must be a list of strings (one per turn), got a string",
         "make it a list", call=questions('{"question_id": 1, "category": "x", "turns": "abc"}\n')),
    Case("questions-missing-field", "questions JSONL: missing field",
         "transeval: error: {tmp}/q.jsonl:1 field 'category': missing required field", "add the field",
         call=questions('{"question_id": 1, "turns": ["a"]}\n')),
    Case("questions-wrong-type", "questions JSONL: field of the wrong type",
         "transeval: error: {tmp}/q.jsonl:2 field 'category': must be a string", "fix the value",
         call=questions(GOOD_Q + '{"question_id": 2, "category": 5, "turns": ["a"]}\n')),
    Case("questions-turn-not-string", "questions JSONL: a turn that is not a string",
         "transeval: error: {tmp}/q.jsonl:2 field 'turns': must be a non-empty list of strings", "fix the value",
         call=questions(GOOD_Q + '{"question_id": 2, "category": "x", "turns": ["a", 3]}\n')),
    Case("questions-not-json", "questions JSONL: line that is not JSON",
         "transeval: error: {tmp}/q.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes)",
         "repair the line", call=questions(GOOD_Q + '{"question_id": 2,\n')),
    Case("questions-not-object", "questions JSONL: line that is not an object",
         "transeval: error: {tmp}/q.jsonl:2: expected a JSON object", "one JSON object per line",
         call=questions(GOOD_Q + '"just a string"\n')),
    Case("questions-empty", "questions JSONL with no questions",
         "transeval: error: {tmp}/q.jsonl field 'data_file': no questions in file", "point data_file at the data",
         call=questions("\n")),
    Case("questions-missing-file", "questions file not found",
         "transeval: error: {tmp}/nope.jsonl field 'data_file': questions file not found", "fix the path",
         call=lambda c: __import__("transeval.harness.lmeval.judged", fromlist=["read_questions"]).read_questions(
             c.tmp / "nope.jsonl", {})),
    # -- run options --
    Case("metadata-misspelled", "misspelled `--metadata` key (`data_flie`)",
         "transeval: error: field '--metadata': unknown key 'data_flie' (did you mean 'data_file'?)",
         "spell the key as suggested",
         call=lambda c: __import__("transeval.harness.lmeval.judged", fromlist=["x"]).check_user_metadata(
             {"data_flie": "q.jsonl"})),
    Case("metadata-output-format", "`--metadata` output_format other than plain/tcot",
         "transeval: error: field '--metadata output_format': output_format must be 'plain' or 'tcot', got 'tcott'",
         "use plain or tcot",
         call=lambda c: __import__("transeval.harness.lmeval.judged", fromlist=["x"]).load_docs(
             "thai_mtbench", {**META, "output_format": "tcott"})),
    # -- static leaderboard (`transeval board RUNS --export board.md`) --
    Case("export-empty", "`board --export` of a folder with no runs",
         "transeval: error: {tmp}/empty-runs: nothing to export: no lm-eval run with a number in this folder",
         "point it at lm_eval's --output_path", call=_export("empty-runs", {})),
    Case("export-truncated-results", "`board --export` of a folder whose only results file is cut short",
         "transeval: error: {tmp}/cut-runs: nothing to export: no lm-eval run with a number in this folder "
         "({tmp}/cut-runs/m/results_x.json:1: not valid JSON (Expecting ':' delimiter))",
         "restore lm-eval's results file", call=_export("cut-runs", {"m/results_x.json": '{"results": {"t"'})),
    Case("export-garbage-scores", "`board --export` of a run whose only numbers are in a garbage scores file",
         "transeval: error: {tmp}/bad-runs: nothing to export: no lm-eval run with a number in this folder "
         "({tmp}/bad-runs/m/scores_t_x.json: not a scores file (KeyError: 'overall'))",
         "delete the scores file and rerun `transeval judge`",
         call=_export("bad-runs", {"m/results_x.json": '{"results": {"t": {"alias": "t"}}}',
                                   "m/scores_t_x.json": '{"judge_model": "gpt-4"}'})),
    # -- reference labels (judge agreement) --
    Case("labels-bad-score", "labels file: a score that is not a number",
         "transeval: error: {tmp}/labels.csv:3 field 'score': score must be a number, got 'seven'",
         "fix the row", call=labels("labels.csv", "sample_id,turn,score\n81,0,7\n82,0,seven\n")),
    Case("labels-unknown-column", "labels file: unknown column",
         "transeval: error: {tmp}/labels.csv:1 field 'rater': unknown column (allowed: sample_id, turn, score, "
         "winner, model, category, model_a, model_b, judge)", "remove the column",
         call=labels("labels.csv", "sample_id,turn,score,rater\n81,0,7,x\n")),
    Case("labels-duplicate", "labels file: two labels for one turn",
         "transeval: error: {tmp}/labels.csv:3 field 'sample_id': duplicate label for sample_id '81', turn 0, "
         "model None (first on line 2)", "keep one",
         call=labels("labels.csv", "sample_id,turn,score\n81,0,7\n81,0,8\n")),
    Case("labels-bad-winner", "labels file: unknown winner",
         "transeval: error: {tmp}/labels.jsonl:1 field 'winner': winner must be one of model_a, model_b, tie, "
         "got 'model_c'", "use model_a, model_b or tie",
         call=labels("labels.jsonl", '{"sample_id": "81", "winner": "model_c"}\n')),
]


def placeholders(ctx: Ctx) -> dict[str, str]:
    from transeval.judges.config import HOW_TO
    from transeval.judges.rubric import _KEYS, RUBRICS_DIR

    return {"tmp": str(ctx.tmp), "run": str(ctx.run), "samples": str(ctx.samples), "results": str(ctx.results),
            "judgments": str(ctx.judgments), "url": ctx.url, "how_to": HOW_TO,
            "rubrics": ", ".join(sorted(p.stem for p in RUBRICS_DIR.glob("*.yaml"))),
            "rubric_keys": ", ".join(sorted(_KEYS)), "rubrics_dir": str(RUBRICS_DIR),
            "byte": "{byte}"}


DISPLAY = {"tmp": ".", "run": "runs", "samples": "runs/MODEL/samples_thai_mtbench_DATE.jsonl",
           "results": "runs/MODEL/results_DATE.json", "judgments": "runs/MODEL/judgments_thai_mtbench_DATE.jsonl",
           "url": "http://localhost:8000/v1", "how_to": "set OPENAI_API_KEY (...), or pass --predict_only and run "
           "`transeval judge <output_path>` later", "rubrics": "...", "rubric_keys": "...", "byte": "N",
           "rubrics_dir": "judges/rubrics"}


def run_main(argv: list[str], env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``transeval judge ARGV`` in this process with exactly ``env``: (exit code, stderr)."""
    from transeval.harness.cli import main

    for key in list(os.environ):
        if key.startswith(("OPENAI_", "TRANSEVAL_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRANSEVAL_RUBRICS_DIR", "")  # main() sets it for --rubrics-dir: restored after the test
    for key, value in env.items():
        if value is not None:
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    rc = main(["judge", *argv])
    return rc, capsys.readouterr().err


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_troubleshooting_row(case: Case, server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import SECRET

    ctx = Ctx(tmp_path, server.base_url, seen_prompts=lambda: [
        "\n".join(m["content"] for m in r["messages"]) for r in server.judge_requests()])
    make_run(ctx)
    if case.cli is not None:
        argv, changes = case.cli(ctx)
        server.fail_all = ctx.env.get("fail_all")
        env: dict[str, str | None] = {
            "OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": server.base_url, "TRANSEVAL_JUDGE_MODEL": "judge-scripted",
            "TRANSEVAL_CACHE_DIR": str(tmp_path / "judge-cache"), "TRANSEVAL_JUDGE_BACKOFF": "0.01",
            "TRANSEVAL_JUDGE_MAX_RETRIES": "1", "TRANSEVAL_JUDGE_TIMEOUT": "10", "TRANSEVAL_RUBRICS_DIR": None,
        }
        env.update(changes)
        rc, err = run_main(argv, env, monkeypatch, capsys)  # an exception here is the traceback a user would see
        assert "Traceback" not in err and SECRET not in err
        if case.ok is not None:
            assert rc == 0, err[-2000:]
            case.ok(ctx)
            return
        assert rc != 0
        shown = [line for line in err.splitlines() if line.startswith("transeval:") and "warning" not in line
                 and not line.startswith("transeval: thai_mtbench:")]
        assert len(shown) == 1, err[-3000:]
        line = shown[0]
    else:
        assert case.call is not None
        with pytest.raises(TransevalError) as info:
            case.call(ctx)
        line = one_line(info.value)
    expected = case.message.format(**placeholders(ctx))
    if "{byte}" in expected:
        head, tail = expected.split("{byte}")
        assert line.startswith(head) and line.endswith(tail) and line[len(head):-len(tail)].isdigit(), line
    else:
        assert line == expected


def render_table() -> str:
    """The markdown table for the README (rows that pass only)."""
    rows = ["| Bad input | What you see (one line on stderr) | Fix |", "|---|---|---|"]
    for case in CASES:
        if case.xfail:
            continue
        message = case.message.format(**DISPLAY) if case.message else "(no error) " + case.fix
        fix = case.fix if case.message else "-"
        cell = message.replace("|", "\\|")
        rows.append(f"| {case.bad_input} | `` {cell} `` | {fix} |" if case.message else
                    f"| {case.bad_input} | {cell} | {fix} |")
    return ("<!-- generated by `python tests/test_troubleshooting.py`; each row is a case in "
            "tests/test_troubleshooting.py -->\n" + "\n".join(rows) + "\n")


README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- troubleshooting:start -->\n", "<!-- troubleshooting:end -->"


def readme_with_table(text: str) -> str:
    """README.md with the generated table between the troubleshooting markers."""
    head, rest = text.split(START, 1)
    return head + START + render_table() + END + rest.split(END, 1)[1]


def test_table_has_enough_rows_and_doc_is_current() -> None:
    passing = [c for c in CASES if not c.xfail]
    assert len(passing) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert DOC_FILE.read_text(encoding="utf-8") == render_table(), "run: python tests/test_troubleshooting.py"
    readme = README.read_text(encoding="utf-8")
    assert readme == readme_with_table(readme), "run: python tests/test_troubleshooting.py"


if __name__ == "__main__":
    DOC_FILE.parent.mkdir(exist_ok=True)
    DOC_FILE.write_text(render_table(), encoding="utf-8")
    README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {DOC_FILE} and the table in {README}")
