"""Multi-turn generation inside one lm-eval run, for any lm-eval backend.

lm-eval builds every request before it calls the model, so a stock task cannot condition turn 2 on
the model's own turn 1. We split the work in two:

* :class:`MultiTurnTask` (named by ``class:`` in a task YAML) emits, instead of a rendered prompt, a
  *conversation spec*: a marker plus JSON with the user turns, system prompt and output format.
* :func:`generate_conversations` (installed on the LM object by the start-up hook for the duration of
  ``evaluate``) turns specs into conversations: turn *t* of all conversations goes to the backend's own
  ``generate_until`` as one batch, each prompt rendered by the backend's own ``apply_chat_template``.
  It therefore works unchanged with ``hf``, ``vllm`` and ``local-chat-completions``.

The model's reply to a spec is a JSON string with every turn's prompt, raw output and judged answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from transeval.core.records import TurnOutput
from transeval.harness.lmeval.tcot import DEFAULT_TARGET_TAG, parse_tcot, tag_to_reprompt

log = logging.getLogger(__name__)

SPEC_MARK = "<<transeval-conversation>>"


@dataclass(frozen=True)
class ConversationSpec:
    """What the task asks the model to do for one document."""

    turns: tuple[str, ...]
    system: str | None
    chat: bool
    output_format: str = "plain"
    target_tag: str = DEFAULT_TARGET_TAG

    def encode(self) -> str:
        """Serialise as the request context (starts with :data:`SPEC_MARK`)."""
        return SPEC_MARK + json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def decode(cls, context: str) -> ConversationSpec:
        """Inverse of :meth:`encode`."""
        d = json.loads(context[len(SPEC_MARK) :])
        return cls(**{**d, "turns": tuple(d["turns"])})


def is_spec(context: Any) -> bool:
    """True if a request context is a conversation spec."""
    return isinstance(context, str) and context.startswith(SPEC_MARK)


def encode_outputs(turns: Sequence[TurnOutput]) -> str:
    """The model reply for one conversation (what lm-eval logs as the response)."""
    return json.dumps({"turns": [asdict(t) for t in turns]}, ensure_ascii=False)


def decode_outputs(reply: str) -> tuple[TurnOutput, ...]:
    """Inverse of :func:`encode_outputs`."""
    return tuple(TurnOutput(**t) for t in json.loads(reply)["turns"])


def _plain_render(messages: list[dict[str, str]]) -> str:
    """A transcript for models without a chat template (used when --apply_chat_template is off)."""
    parts = []
    for m in messages:
        if m["role"] == "system":
            parts.append(m["content"].strip())
        else:
            who = "User" if m["role"] == "user" else "Assistant"
            parts.append(f"{who}: {m['content'].strip()}")
    return "\n\n".join(parts) + "\n\nAssistant:"


def _context_text(context: Any) -> str:
    """A loggable form of a rendered prompt (API backends use a JSON-string wrapper)."""
    return context if isinstance(context, str) else str(getattr(context, "prompt", context))


def generate_conversations(
    lm: Any, requests: Sequence[Any], generate: Callable[[list[Any]], list[str]]
) -> list[str]:
    """Run conversation-spec requests turn by turn, batching turn *t* across conversations.

    Args:
        lm: The lm-eval LM object (for ``apply_chat_template``).
        requests: lm-eval ``Instance`` objects whose context is a conversation spec.
        generate: The backend's original ``generate_until``.

    Returns:
        One JSON reply per request (see :func:`encode_outputs`).
    """
    from lm_eval.api.instance import Instance

    specs = [ConversationSpec.decode(r.args[0]) for r in requests]
    gen_kwargs = [dict(r.args[1]) if len(r.args) > 1 else {} for r in requests]
    histories: list[list[dict[str, str]]] = [
        [{"role": "system", "content": s.system}] if s.system else [] for s in specs
    ]
    outputs: list[list[TurnOutput]] = [[] for _ in specs]

    def render(i: int, messages: list[dict[str, str]]) -> Any:
        if specs[i].chat:
            return lm.apply_chat_template(messages, add_generation_prompt=True)
        return _plain_render(messages)

    def run(batch: list[tuple[int, Any]], label: str) -> list[str]:
        instances = [
            Instance(
                request_type="generate_until",
                doc=requests[i].doc,
                arguments=(ctx, dict(gen_kwargs[i])),
                idx=0,
                metadata=(requests[i].task_name, requests[i].doc_id, 1),
            )
            for i, ctx in batch
        ]
        with progress_label(lm, label):
            return list(generate(instances))

    n_turns = max((len(s.turns) for s in specs), default=0)
    for t in range(n_turns):
        active = [i for i, s in enumerate(specs) if t < len(s.turns)]
        contexts = {i: render(i, [*histories[i], {"role": "user", "content": specs[i].turns[t]}]) for i in active}
        log.info("transeval: turn %d of %d conversations, one batch", t + 1, len(active))
        where = f"turn {t + 1} of {n_turns}" if n_turns > 1 else "answers"
        raws = dict(zip(active, run([(i, contexts[i]) for i in active], f"{where}: generating"), strict=True))
        notes: dict[int, str] = {}
        tcot = [i for i in active if specs[i].output_format == "tcot"]
        for _ in range(2):  # at most once per missing tag: <RESPONSE>, then the target tag
            todo = [
                (i, tag)
                for i in tcot
                if (tag := tag_to_reprompt(raws[i], specs[i].target_tag)) is not None
                and isinstance(contexts[i], str)
                and f"re-prompted with {tag}" not in notes.get(i, "")
            ]
            if not todo:
                break
            prefixes = {i: raws[i].rstrip() + f" {tag}" for i, tag in todo}
            conts = run([(i, contexts[i] + prefixes[i]) for i, _ in todo], f"{where}: TCoT continuation")
            for (i, tag), cont in zip(todo, conts, strict=True):
                raws[i] = prefixes[i] + cont
                notes[i] = "; ".join(filter(None, [notes.get(i), f"tcot: re-prompted with {tag}"]))
        for i in active:
            spec, raw = specs[i], raws[i]
            user_msg, assistant_msg = spec.turns[t], raw
            answer: str | None = raw
            if spec.output_format == "tcot":
                parsed = parse_tcot(raw, spec.target_tag)
                answer = parsed.answer
                problems = [f"missing {tag}" for tag in parsed.missing] + list(parsed.problems)
                if problems:
                    notes[i] = "; ".join(filter(None, [notes.get(i), "tcot: " + ", ".join(problems)]))
                # TransLLM keeps the history in English: the model's own <EN> query and <RESPONSE>.
                user_msg = parsed.en_query or spec.turns[t]
                assistant_msg = parsed.en_answer or parsed.answer or raw
            outputs[i].append(TurnOutput(_context_text(contexts[i]), raw, answer, notes.get(i)))
            histories[i] += [{"role": "user", "content": user_msg}, {"role": "assistant", "content": assistant_msg}]
    return [encode_outputs(o) for o in outputs]


@contextlib.contextmanager
def progress_label(lm: Any, label: str) -> Iterator[None]:
    """Label the backend's progress bar (``Running generate_until requests``) with the turn being generated.

    lm-eval's backends (hf, vllm, the API models) draw their bar with their module's ``tqdm``; for the duration
    of one call that name gives every bar this label instead. A backend without one keeps its own label.
    """
    module = sys.modules.get(type(lm).__module__)
    bar = getattr(module, "tqdm", None)
    if module is None or not callable(bar):
        yield
        return

    def labelled(*args: Any, **kwargs: Any) -> Any:
        return bar(*args, **{**kwargs, "desc": f"transeval {label}"})

    setattr(module, "tqdm", labelled)  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "tqdm", bar)  # noqa: B010


def dispatching_generate_until(lm: Any, original: Callable[[list[Any]], list[str]],
                               turn_batch: int | str | None = None) -> Callable[..., list[str]]:
    """Wrap a backend's ``generate_until`` so conversation specs are run turn by turn.

    Plain requests (other tasks in the same run) go straight to the original method.

    Args:
        lm: The lm-eval LM object.
        original: Its own ``generate_until``.
        turn_batch: When set, the hf backend's batch size while it generates a turn (no batch size was given).
    """
    told: list[bool] = []
    probed: list[int] = []

    def size(n: int) -> int:
        if isinstance(turn_batch, int):
            return max(1, min(turn_batch, n))
        if not probed:  # "auto": lm-eval's memory probe, once per run rather than once per turn
            try:
                probed.append(int(lm._detect_batch_size()))
            except Exception as exc:  # noqa: BLE001 - a failed probe means no batching, not a failed run
                log.warning("transeval: batch size probe failed (%s); generating one conversation at a time", exc)
                probed.append(1)
        return max(1, min(probed[0], n))

    def turn(batch: list[Any], *args: Any, **kwargs: Any) -> list[str]:
        if turn_batch is None:
            return list(original(batch, *args, **kwargs))
        before = lm.batch_size_per_gpu
        lm.batch_size_per_gpu = size(len(batch))
        if not told:
            told.append(True)
            print(f"transeval: no --batch_size: turn generation in batches of {lm.batch_size_per_gpu} "
                  "(likelihood tasks keep lm-eval's default; pass --batch_size to choose)", file=sys.stderr)
        try:
            return list(original(batch, *args, **kwargs))
        finally:
            lm.batch_size_per_gpu = before

    def generate_until(requests: list[Any], *args: Any, **kwargs: Any) -> list[str]:
        conv_idx = [k for k, r in enumerate(requests) if is_spec(r.args[0])]
        if not conv_idx:
            return list(original(requests, *args, **kwargs))
        plain_idx = [k for k in range(len(requests)) if k not in set(conv_idx)]
        out: list[str] = [""] * len(requests)
        if plain_idx:
            for k, r in zip(plain_idx, original([requests[k] for k in plain_idx], *args, **kwargs), strict=True):
                out[k] = r
        convs = generate_conversations(lm, [requests[k] for k in conv_idx], lambda b: turn(b, *args, **kwargs))
        for k, r in zip(conv_idx, convs, strict=True):
            out[k] = r
        return out

    return generate_until
