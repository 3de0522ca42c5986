"""OpenAI chat ``messages`` JSONL: one conversation per line (format ``"openai"``).

Each object has ``messages``: a list of ``{"role", "content", "name"?}``. The
speaker is ``name`` when given (it tells apart speakers who share a role), else
the role itself, so system messages are turns of a ``"system"`` speaker and a
plain chat has the speakers ``user`` and ``assistant``. ``developer`` counts as
role system, ``function`` as role tool. ``content`` may be a string, null, or a
list of parts (text parts are joined; other parts become ``[type]``);
``tool_calls`` / ``function_call`` are rendered as ``[tool call] name(arguments)``.
An optional ``id`` names the conversation; other scalar top-level keys go to meta. The
task statement comes from ``task`` / ``metadata.task`` / ``goal`` / ``instruction``, a
field named with ``options={"task_field": ...}`` (``audit --task-field``), or a system
message that states it (:mod:`.task_field`).

The helpers :func:`render_content` and :class:`SpeakerBook` are shared with the
other chat readers (ShareGPT, OpenTelemetry).
"""

from __future__ import annotations

import json
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import Location, Reader, reader
from artifactual.readers.task_field import check_task_field, task_statement
from artifactual.records import Conversation, Source, Speaker, Turn

__all__ = ["OpenAIMessagesReader", "SpeakerBook", "render_content", "conversation_id",
           "require_list", "scalar_meta", "normalise_role", "tool_calls_text", "message_turns"]

ROLE_ALIASES: dict[str, str] = {"developer": "system", "function": "tool", "human": "user",
                                "ai": "assistant", "model": "assistant"}
_TEXT_PARTS = ("text", "input_text", "output_text")
_SKIP_PARTS = ("reasoning", "thinking", "redacted_thinking")
_CALL_PARTS = ("tool_call", "function_call", "tool_use")
_RESULT_PARTS = ("tool_call_response", "tool_result", "function_call_output")


class SpeakerBook:
    """Speakers of one conversation, in order of appearance; one name keeps one role."""

    def __init__(self) -> None:
        self.speakers: dict[str, Speaker] = {}

    def add(self, name: str, role: str) -> str:
        """Register ``name`` with ``role``; a name seen with another role becomes
        ``"name (role)"``. Returns the name to put on the turn."""
        name = " ".join(name.split()) or role
        if name in self.speakers and self.speakers[name].role != role:
            name = f"{name} ({role})"
        if name not in self.speakers:
            self.speakers[name] = Speaker(name=name, role=role)
        return name

    def list(self) -> list[Speaker]:
        return list(self.speakers.values())


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except ValueError:  # circular or otherwise unserialisable
        return str(value)


def _call(name: Any, args: Any) -> str:
    return f"[tool call] {_compact(name) if name is not None else '?'}({_compact(args or '')})"


def _part(part: Any) -> str | None:
    """One content part as text (None: nothing to show)."""
    if part is None:
        return None
    if not isinstance(part, dict):
        return _compact(part)
    kind = part.get("type")
    if kind in _SKIP_PARTS:
        return None
    if kind in _TEXT_PARTS or (kind is None and ("text" in part or "content" in part)):
        text = part.get("text", part.get("content"))
        return None if text is None else _compact(text)
    if kind in _CALL_PARTS:
        fn = part.get("function") if isinstance(part.get("function"), dict) else part
        return _call(fn.get("name"), fn.get("arguments", fn.get("input")))
    if kind in _RESULT_PARTS:
        return _compact(next((part[k] for k in ("response", "result", "output", "content")
                              if part.get(k) is not None), ""))
    if kind == "refusal":
        return _compact(part.get("refusal", ""))
    return f"[{_compact(kind)}]" if kind is not None else _compact(part)


def render_content(content: Any) -> str:
    """Message content (str, None, a part, or a list of parts) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "\n".join(t for t in (_part(p) for p in parts) if t)


def tool_calls_text(msg: dict[str, Any]) -> str:
    """``tool_calls`` / ``function_call`` of an OpenAI message, one line per call."""
    calls = msg.get("tool_calls")
    lines: list[str] = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            lines.append(_call(fn.get("name"), fn.get("arguments")))
    fc = msg.get("function_call")
    if isinstance(fc, dict):
        lines.append(_call(fc.get("name"), fc.get("arguments")))
    return "\n".join(lines)


def normalise_role(raw: Any) -> str:
    """A message role, lower-cased, with aliases (developer -> system, ...) resolved."""
    role = str(raw).strip().lower()
    return ROLE_ALIASES.get(role, role)


def conversation_id(obj: dict[str, Any], loc: Location) -> str:
    """``obj["id"]`` when it is a non-empty string or integer, else the location's id."""
    raw = obj.get("id")
    if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw).strip():
        return str(raw)
    return loc.default_id


def require_list(obj: Any, keys: tuple[str, ...], fix: str) -> list[Any]:
    """The non-empty list under the first of ``keys`` present in the object ``obj``;
    InputError (with ``fix``) when ``obj`` is no object or the list is missing or empty."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", fix=fix)
    key = next((k for k in keys if k in obj), keys[0])
    items = obj.get(key)
    if not isinstance(items, list):
        raise InputError(f"no '{key}' list" if items is None else
                         f"'{key}' is {type(items).__name__}, not a list", fix=fix)
    if not items:
        raise InputError(f"empty conversation: '{key}' is []",
                         fix="drop this item or export its messages")
    return items


def scalar_meta(obj: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    """Top-level scalar values of ``obj`` (except ``skip`` keys), for Conversation.meta."""
    return {k: v for k, v in obj.items() if k not in skip and isinstance(v, (str, int, bool))}


def message_turns(msgs: list[Any], fix: str) -> tuple[list[Turn], SpeakerBook]:
    """Turns and speakers of OpenAI-shaped messages (``role``, ``content``, ``name``,
    ``tool_calls``); InputError (with ``fix``) naming the first bad message."""
    book = SpeakerBook()
    turns: list[Turn] = []
    for i, msg in enumerate(msgs):
        if not isinstance(msg, dict):
            raise InputError(f"messages[{i}] is {type(msg).__name__}, not an object", fix=fix)
        raw_role = msg.get("role")
        if not isinstance(raw_role, str) or not raw_role.strip():
            raise InputError(f"messages[{i}] has no 'role'" if raw_role is None else
                             f"messages[{i}] has an invalid role {raw_role!r}",
                             fix="give every message a role: system, user, assistant or tool")
        role = normalise_role(raw_role)
        name = msg.get("name")
        speaker = book.add(name if isinstance(name, str) and name.strip()
                           else raw_role.strip().lower(), role)
        text = "\n".join(t for t in (render_content(msg.get("content")),
                                     tool_calls_text(msg)) if t)
        meta: dict[str, Any] = {"role": role}
        if isinstance(msg.get("tool_call_id"), str):
            meta["tool_call_id"] = msg["tool_call_id"]
        turns.append(Turn(index=i, speaker=speaker, content=text, meta=meta))
    return turns, book


@reader("openai")
class OpenAIMessagesReader(Reader):
    """OpenAI chat-completions ``messages`` lists, one conversation per JSON object."""

    def __init__(self, task_field: str | None = None) -> None:
        self.task_field = task_field

    def with_options(self, **options: Any) -> "OpenAIMessagesReader":
        field = check_task_field(options.get("task_field"))
        return self if field is None else type(self)(field)

    def sniff(self, obj: Any) -> bool:
        msgs = obj.get("messages") if isinstance(obj, dict) and "kind" not in obj else None
        return isinstance(msgs, list) and (not msgs or isinstance(msgs[0], dict)
                                           and "role" in msgs[0])

    def parse(self, obj: Any, loc: Location) -> Conversation:
        fix = 'write each line as {"messages": [{"role": ..., "content": ...}, ...]}'
        turns, book = message_turns(require_list(obj, ("messages",), fix), fix)
        system = [t.content for t in turns if t.meta.get("role") == "system"]
        return Conversation(id=conversation_id(obj, loc), speakers=book.list(), turns=turns,
                            task=task_statement(obj, system, self.task_field),
                            source=Source(format="openai", path=str(loc.path), line=loc.line),
                            meta=scalar_meta(obj, ("id", "messages", "kind")))
