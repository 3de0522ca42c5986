"""OpenTelemetry GenAI spans in the OTLP/JSON export (format ``"otel"``).

A file holds one export (``{"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}``)
or one per line, as the collector's file exporter writes them. Span
``attributes`` are ``[{"key", "value": {"stringValue": ...}}]`` lists; span
events' ``gen_ai.*`` attributes count as the span's own when the span lacks them.

Messages per span, as in the GenAI semantic conventions:

- ``gen_ai.system_instructions`` (parts), ``gen_ai.input.messages`` and
  ``gen_ai.output.messages``: JSON strings of ``[{"role", "parts": [...],
  "name"?}]``; text parts are the text, tool calls become ``[tool call] f(args)``;
- the older ``gen_ai.prompt`` / ``gen_ai.completion``: JSON strings of
  ``[{"role", "content"}]`` or flattened ``gen_ai.prompt.0.role``,
  ``gen_ai.prompt.0.content``, ``gen_ai.completion.0.tool_calls.0.name`` ...

Spans are grouped into conversations by ``gen_ai.conversation.id`` (on the span
or an ancestor; else the trace's only conversation id; else the trace id) and
ordered by start time. The first input messages open the conversation; each
later span's input messages that repeat history already read (the same text, in
order) are skipped, the new ones appended, and every output message appended.
A span whose descendants also carry messages (an agent span around its chat
spans) is skipped, so nothing is read twice. Output turns are spoken by
``gen_ai.agent.name`` (of the span or its nearest ancestor), else the message's
``name``, else ``assistant``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import ErrorLog, Location, Reader, iter_json, reader
from artifactual.readers.openai_messages import (SpeakerBook, normalise_role, render_content,
                                                 tool_calls_text)
from artifactual.records import Conversation, Source, Turn

__all__ = ["OTelReader", "any_value"]

_FLAT = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")
_FLAT_CALL = re.compile(r"^tool_calls\.(\d+)\.(name|arguments)$")
_FIX = "export the spans as OTLP/JSON: {\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [...]}]}]}"


def _first(obj: dict[str, Any], *keys: str) -> Any:
    return next((obj[k] for k in keys if k in obj), None)


def any_value(v: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` (``{"stringValue": "x"}`` ...) as a plain Python value."""
    if not isinstance(v, dict):
        return v
    for key in ("stringValue", "string_value", "boolValue", "bool_value", "bytesValue"):
        if key in v:
            return v[key]
    for key in ("intValue", "int_value", "doubleValue", "double_value"):
        if key in v:
            try:
                return (int if key.startswith("int") else float)(v[key])
            except (TypeError, ValueError, OverflowError):
                return v[key]
    arr = _first(v, "arrayValue", "array_value")
    if isinstance(arr, dict):
        values = arr.get("values")
        return [any_value(x) for x in values] if isinstance(values, list) else []
    kv = _first(v, "kvlistValue", "kvlist_value")
    if isinstance(kv, dict):
        return _attributes(kv.get("values"))
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    """``[{"key", "value"}]`` (or a plain mapping) as a dict."""
    if isinstance(raw, dict):
        return {str(k): any_value(v) for k, v in raw.items()}
    out: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


@dataclass
class _Span:
    trace: str
    span: str
    parent: str
    start: int
    order: int
    line: int | None
    attrs: dict[str, Any]
    has_messages: bool = False
    skip: bool = False
    turns: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)


def _spans(obj: Any, loc: Location, order: int) -> Iterator[_Span | str]:
    """Every span of one export object; a str for each malformed span (its problem)."""
    if not isinstance(obj, dict) or _first(obj, "resourceSpans", "resource_spans") is None:
        raise InputError("not an OTLP/JSON trace export: no 'resourceSpans'", fix=_FIX)
    resources = _first(obj, "resourceSpans", "resource_spans")
    for r, res in enumerate(resources if isinstance(resources, list) else [resources]):
        scopes = _first(res, "scopeSpans", "scope_spans", "instrumentationLibrarySpans") \
            if isinstance(res, dict) else None
        if not isinstance(scopes, list):
            yield f"resourceSpans[{r}] has no 'scopeSpans' list"
            continue
        for s, scope in enumerate(scopes):
            spans = scope.get("spans") if isinstance(scope, dict) else None
            if not isinstance(spans, list):
                yield f"resourceSpans[{r}].scopeSpans[{s}] has no 'spans' list"
                continue
            for k, sp in enumerate(spans):
                if not isinstance(sp, dict):
                    yield f"resourceSpans[{r}].scopeSpans[{s}].spans[{k}] is not an object"
                    continue
                attrs = _attributes(sp.get("attributes"))
                events = sp.get("events")
                for ev in events if isinstance(events, list) else []:
                    if isinstance(ev, dict):
                        for key, val in _attributes(ev.get("attributes")).items():
                            if key.startswith("gen_ai.") and key not in attrs:
                                attrs[key] = val
                start = _first(sp, "startTimeUnixNano", "start_time_unix_nano")
                try:
                    start_ns = int(start)
                except (TypeError, ValueError, OverflowError):
                    start_ns = 0
                yield _Span(str(_first(sp, "traceId", "trace_id") or ""),
                            str(_first(sp, "spanId", "span_id") or ""),
                            str(_first(sp, "parentSpanId", "parent_span_id") or ""),
                            start_ns, order * 1_000_000 + k, loc.line, attrs)


def _json_list(value: Any, key: str) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise InputError(f"{key} is not valid JSON",
                             fix=f"write {key} as a JSON string of a list of messages") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"{key} is {type(value).__name__}, not a list of messages",
                         fix=f"write {key} as a JSON list of messages")
    return value


def _flat(attrs: dict[str, Any], kind: str) -> list[dict[str, Any]] | None:
    """Flattened ``gen_ai.<kind>.<i>.<field>`` attributes as a list of message dicts."""
    msgs: dict[int, dict[str, Any]] = {}
    for key, val in attrs.items():
        m = _FLAT.match(key)
        if m and m.group(1) == kind:
            msg = msgs.setdefault(int(m.group(2)), {})
            call = _FLAT_CALL.match(m.group(3))
            if call:
                calls = msg.setdefault("tool_calls", {})
                calls.setdefault(int(call.group(1)), {})[call.group(2)] = val
            else:
                msg[m.group(3)] = val
    for msg in msgs.values():
        if "tool_calls" in msg:
            msg["tool_calls"] = [{"function": c} for _, c in sorted(msg["tool_calls"].items())]
    return [msgs[i] for i in sorted(msgs)] if msgs else None


def _messages(attrs: dict[str, Any], side: str) -> list[dict[str, Any]] | None:
    if side == "input":
        found = _json_list(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages")
        if found is None:
            found = _json_list(attrs.get("gen_ai.prompt"), "gen_ai.prompt") or _flat(attrs, "prompt")
        system = _json_list(attrs.get("gen_ai.system_instructions"), "gen_ai.system_instructions")
        if system:
            found = [{"role": "system", "parts": system}, *(found or [])]
    else:
        found = _json_list(attrs.get("gen_ai.output.messages"), "gen_ai.output.messages")
        if found is None:
            found = (_json_list(attrs.get("gen_ai.completion"), "gen_ai.completion")
                     or _flat(attrs, "completion"))
    for i, msg in enumerate(found or []):
        if not isinstance(msg, dict):
            raise InputError(f"{side} message {i} is {type(msg).__name__}, not an object",
                             fix="each message is {\"role\": ..., \"parts\": [...]}")
    return found


def _turns(sp: _Span, agent: str | None) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(speaker, role, text, meta)`` for the span's input then output messages."""
    out = []
    for side in ("input", "output"):
        for msg in _messages(sp.attrs, side) or []:
            role = normalise_role(msg.get("role") or ("assistant" if side == "output" else "user"))
            name = msg.get("name") if isinstance(msg.get("name"), str) else None
            speaker = (agent or name or role) if side == "output" else (name or role)
            text = "\n".join(t for t in (render_content(msg.get("parts", msg.get("content"))),
                                         tool_calls_text(msg)) if t)
            meta: dict[str, Any] = {"role": role, "span_id": sp.span, "side": side}
            if isinstance(msg.get("finish_reason"), str):
                meta["finish_reason"] = msg["finish_reason"]
            out.append((speaker, role, text, meta))
    return out


@reader("otel")
class OTelReader(Reader):
    """OTLP/JSON trace exports with GenAI spans."""

    def sniff(self, obj: Any) -> bool:
        return isinstance(obj, dict) and ("resourceSpans" in obj or "resource_spans" in obj)

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Conversation]:
        spans: dict[tuple[str, str], _Span] = {}
        n_objects = 0
        for order, (loc, obj) in enumerate(iter_json(path, log)):
            n_objects += 1
            try:
                for sp in _spans(obj, loc, order):
                    if isinstance(sp, str):
                        log.add(path=str(path), line=loc.line, message=sp, fix=_FIX)
                    else:
                        spans.setdefault((sp.trace, sp.span or f"#{sp.order}"), sp)
            except InputError as exc:
                log.add(path=str(path), line=loc.line, message=exc.message, fix=exc.fix or "")
        convs = list(self._conversations(path, list(spans.values()), log))
        if n_objects and not convs and not any(e.path == str(path) for e in log):
            log.add(path=str(path), message="no GenAI spans with messages in this export",
                    fix="export spans with gen_ai.input.messages / gen_ai.output.messages "
                        "(enable message capture in the instrumentation)")
        yield from convs

    def _conversations(self, path: Path, spans: list[_Span],
                       log: ErrorLog) -> Iterator[Conversation]:
        by_id = {(s.trace, s.span): s for s in spans if s.span}

        def ancestors(s: _Span) -> Iterator[_Span]:
            seen: set[str] = set()
            while s.parent and s.parent not in seen and (s.trace, s.parent) in by_id:
                seen.add(s.parent)
                s = by_id[(s.trace, s.parent)]
                yield s

        def inherited(s: _Span, key: str) -> str | None:
            for x in (s, *ancestors(s)):
                value = x.attrs.get(key)
                if isinstance(value, (str, int)) and not isinstance(value, bool) \
                        and str(value).strip():
                    return str(value)
            return None

        for s in spans:
            try:
                s.turns = _turns(s, inherited(s, "gen_ai.agent.name"))
            except InputError as exc:
                log.add(path=str(path), line=s.line, record_id=s.span or None,
                        message=f"span {s.span or '?'} (trace {s.trace or '?'}): {exc.message}",
                        fix=exc.fix or "")
            s.has_messages = bool(s.turns)
        for s in spans:
            if s.has_messages:
                for a in ancestors(s):
                    a.skip = a.skip or a.has_messages
        trace_convs: dict[str, set[str]] = {}
        for s in spans:
            cid = inherited(s, "gen_ai.conversation.id")
            if cid:
                trace_convs.setdefault(s.trace, set()).add(cid)
        groups: dict[str, list[_Span]] = {}
        for s in spans:
            if not s.has_messages or s.skip:
                continue
            only = trace_convs.get(s.trace, set())
            key = (inherited(s, "gen_ai.conversation.id")
                   or (next(iter(only)) if len(only) == 1 else None)
                   or s.trace or f"{path.stem}:{s.line}")
            groups.setdefault(key, []).append(s)
        for key, group in groups.items():
            group.sort(key=lambda x: (x.start, x.order))
            yield _conversation(key, group, path)


def _conversation(key: str, group: list[_Span], path: Path) -> Conversation:
    book = SpeakerBook()
    texts: list[str] = []
    turns: list[Turn] = []
    for s in group:
        known, p = len(texts), 0
        for speaker, role, text, meta in s.turns:
            if meta["side"] == "input":
                j = next((j for j in range(p, known) if texts[j] == text.strip()), None)
                if j is not None:
                    p = j + 1
                    continue
            texts.append(text.strip())
            turns.append(Turn(index=len(turns), speaker=book.add(speaker, role), content=text,
                              meta=meta))
    first = group[0]
    model = next((s.attrs[k] for s in group for k in ("gen_ai.response.model",
                                                      "gen_ai.request.model")
                  if isinstance(s.attrs.get(k), str)), None)
    meta: dict[str, Any] = {"trace_ids": sorted({s.trace for s in group if s.trace}),
                            "n_spans": len(group)}
    if model:
        meta["model"] = model
    return Conversation(id=key, speakers=book.list(), turns=turns,
                        source=Source(format="otel", path=str(path), line=first.line), meta=meta)
