"""The optional LLM judge: asks a model whether an artifact occurs in a conversation.

Where the judge lives, and why. A judge call is generation: a prompt template, a backend,
sampling and a seed produce a new record with provenance, exactly like a preference
judgment. So the requests and the calls live here, in ``generation``, and use the
project's backends (in-process vLLM, any OpenAI-compatible server, LangChain). This
module reads :class:`~artifactual.records.Conversation` records and writes
:class:`~artifactual.records.Judgment` records; it never imports ``analysis``. The
statistics that compare judgments with the offline flags live in
:mod:`artifactual.analysis.stats.calibration`, which reads Judgment records and flag
tables and never imports ``generation``. :mod:`artifactual.judging` joins the two for
``audit --judge`` (it may import both, as ``scale`` does).

One request per (conversation, artifact), rendered from ``agents/prompts/judge.j2`` (its
sha256 goes into provenance). The judge answers ``{"occurs", "turn", "quote"}``; where the
backend can, decoding is constrained to :data:`JUDGE_SCHEMA`. Otherwise
:func:`parse_answer` reads the first JSON object in the text, repairing one cut off at
the token limit. An answer that gives no true/false verdict, or a failed request, is a
Judgment with ``verdict=None`` and ``error`` set (an error row), never a silent "no".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from artifactual.agents.templates import Strategy, load_strategy
from artifactual.config import JudgeConfig
from artifactual.generation.backends import Backend, ChatRequest, ChatResult, make_backend
from artifactual.generation.backends.base import response_format
from artifactual.records import Conversation, Judgment, Provenance, Usage
from artifactual.taxonomy import mode_by_id

__all__ = ["JUDGE_SCHEMA", "TEMPLATE", "make_judge_backend", "render_transcript",
           "judge_request", "parse_answer", "to_judgment", "judge"]

TEMPLATE = "judge"
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "occurs": {"type": "boolean"},
        "turn": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "quote": {"type": "string", "maxLength": 160},
    },
    "required": ["occurs", "turn", "quote"],
    "additionalProperties": False,
}
_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}
ProgressFn = Callable[[str, int, "int | None"], None]


def model_label(cfg: JudgeConfig) -> str:
    """The judge model's name as provenance records it (``default``: the embedded model)."""
    from artifactual.assets import DEFAULT_LLM

    return DEFAULT_LLM if cfg.model in ("default", DEFAULT_LLM) else cfg.model


def make_judge_backend(cfg: JudgeConfig) -> Backend:
    """The backend the judge config names (vLLM on the resolved model path, or a served
    model name on an OpenAI-compatible server, directly or through LangChain).

    The vllm and openai backends constrain each request to its ``json_schema``; through
    LangChain, ChatOpenAI is built with the schema's ``response_format`` in its body
    (every judge request shares it)."""
    if cfg.backend == "vllm":
        from artifactual.assets import resolve_llm

        return make_backend("vllm", str(resolve_llm(cfg.model)), **cfg.engine.model_dump())
    options = cfg.openai.model_dump()
    if cfg.backend == "langchain" and cfg.structured:
        options["extra_body"] = {"response_format": response_format(JUDGE_SCHEMA, "judgment"),
                                 **options["extra_body"]}
    return make_backend(cfg.backend, model_label(cfg), **options)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + " [...]"


def render_transcript(conv: Conversation, *, max_turns: int = 40, max_turn_chars: int = 600) -> str:
    """The first ``max_turns`` turns as ``[index] speaker (role): text`` lines, each cut
    to ``max_turn_chars`` characters."""
    lines = []
    for turn in conv.turns[:max_turns]:
        role = conv.role_of(turn.speaker) or turn.meta.get("role")
        who = f"{turn.speaker} ({role})" if role and role != turn.speaker else turn.speaker
        lines.append(f"[{turn.index}] {who}: {_cut(turn.content, max_turn_chars)}")
    if len(conv.turns) > max_turns:
        lines.append(f"[... {len(conv.turns) - max_turns} more turns not shown]")
    return "\n".join(lines)


def _speakers(conv: Conversation) -> str:
    declared = [f"{s.name} ({s.role})" for s in conv.speakers]
    if declared:
        return ", ".join(declared)
    return ", ".join(dict.fromkeys(t.speaker for t in conv.turns)) or "(none)"


def judge_request(conv: Conversation, artifact: str, cfg: JudgeConfig,
                  strategy: Strategy | None = None) -> ChatRequest:
    """The chat request asking whether ``artifact`` (a judge artifact, or a failure mode id
    of :mod:`artifactual.taxonomy`) occurs in ``conv``."""
    strategy = strategy or load_strategy(TEMPLATE, cfg.prompts_dir)
    mode = mode_by_id(artifact)
    variables = dict(artifact=artifact, mode_label=mode.label if mode else None,
                     mode_definition=mode.definition if mode else None, task=conv.specified_task or conv.task, speakers=_speakers(conv),
                     transcript=render_transcript(conv, max_turns=cfg.max_turns,
                                                  max_turn_chars=cfg.max_turn_chars))
    messages = [{"role": "system", "content": strategy.render("system", **variables)},
                {"role": "user", "content": strategy.render("user", **variables)}]
    return ChatRequest(messages=messages, sampling=cfg.sampling,
                       json_schema=JUDGE_SCHEMA if cfg.structured else None,
                       tag=f"{conv.id}::{artifact}")


def _closers(fragment: str) -> tuple[bool, list[str], int]:
    """Scan JSON text: still inside a string?, open brackets' closers, last top-level comma."""
    in_str = esc = False
    stack: list[str] = []
    last_comma = -1
    for i, ch in enumerate(fragment):
        if in_str:
            esc = (not esc) and ch == "\\"
            in_str = esc or ch != '"'
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
        elif ch == "," and len(stack) == 1:
            last_comma = i
    return in_str, stack, last_comma


def _repair(fragment: str) -> dict[str, Any] | None:
    """A JSON object cut off mid-way, closed: first as it stands, then without its last,
    incomplete member."""
    in_str, stack, last_comma = _closers(fragment)
    candidates = [fragment + ('"' if in_str else "") + "".join(reversed(stack))]
    if last_comma > 0:
        candidates.append(fragment[:last_comma] + "}")
    for text in candidates:
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def parse_answer(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The judge's JSON object from ``text`` (exact, embedded in prose or a code fence, or
    cut off at the token limit), or ``(None, reason)``. ``"repaired": True`` marks a
    cut-off answer that was closed."""
    start = text.find("{")
    if start < 0:
        return None, "no JSON object in the answer"
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
        if isinstance(obj, dict):
            return obj, None
    except ValueError:
        pass
    obj = _repair(text[start:].strip().removesuffix("```").rstrip())
    if obj is None:
        return None, "the answer's JSON could not be read"
    return {**obj, "repaired": True}, None


def _verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _turn(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("[").rstrip("]").isdigit():
        return int(value.strip().lstrip("[").rstrip("]"))
    return None


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" \"'.,;:!?…")


def _quote_found(conv: Conversation, turn: int | None, quote: str | None) -> bool | None:
    """Whether the quote is in the cited turn (None: no quote given)."""
    if not quote or not _norm(quote):
        return None
    if turn is None:
        return False
    hits = [t for t in conv.turns if t.index == turn]
    return bool(hits) and _norm(quote.removesuffix("[...]")) in _norm(hits[0].content)


def to_judgment(conv: Conversation, artifact: str, result: ChatResult,
                provenance: Provenance) -> Judgment:
    """One Judgment from one result: a verdict with evidence, or an error row."""
    base = dict(id=f"{conv.id}::{artifact}", conversation_id=conv.id, artifact=artifact,
                raw=result.text or "", provenance=provenance,
                meta={"finish_reason": result.finish_reason})
    if not result.ok:
        return Judgment(**base, error=f"request failed: {result.error}")
    obj, problem = parse_answer(result.text or "")
    if obj is None:
        return Judgment(**base, error=problem)
    verdict = _verdict(obj.get("occurs"))
    if verdict is None:
        return Judgment(**base, error=f"the answer has no true/false 'occurs' (got {obj.get('occurs')!r})")
    quote = obj.get("quote") if isinstance(obj.get("quote"), str) else None
    turn = _turn(obj.get("turn"))
    if obj.get("repaired"):
        base["meta"]["repaired"] = True
    return Judgment(**base, verdict=verdict, evidence_turn=turn, evidence_quote=quote or None,
                    quote_found=_quote_found(conv, turn, quote))


def _provenance(cfg: JudgeConfig, backend: Backend, strategy: Strategy, info: dict[str, Any],
                result: ChatResult) -> Provenance:
    return Provenance(generator="judge", strategy=strategy.name, strategy_sha256=strategy.sha256,
                      model=model_label(cfg), backend=backend.name, sampling=cfg.sampling,
                      engine_version=info.get("engine_version"), seed=cfg.sampling.seed,
                      usage=Usage(prompt_tokens=result.prompt_tokens,
                                  completion_tokens=result.completion_tokens))


def judge(pairs: Sequence[tuple[Conversation, str]], backend: Backend, cfg: JudgeConfig, *,
          batch_size: int = 256, progress: ProgressFn | None = None) -> list[Judgment]:
    """Judge each (conversation, artifact) pair; one Judgment per pair, in order.

    Requests go to ``backend`` in batches of ``batch_size`` (one batched call each);
    ``progress("judge", done, total)`` follows them.
    """
    strategy = load_strategy(TEMPLATE, cfg.prompts_dir)
    info = backend.info()
    out: list[Judgment] = []
    for lo in range(0, len(pairs), batch_size):
        part = pairs[lo:lo + batch_size]
        requests = [judge_request(conv, artifact, cfg, strategy) for conv, artifact in part]
        results = asyncio.run(backend.chat(requests))
        for (conv, artifact), result in zip(part, results):
            out.append(to_judgment(conv, artifact, result,
                                   _provenance(cfg, backend, strategy, info, result)))
        if progress is not None:
            progress("judge", len(out), len(pairs))
    return out
