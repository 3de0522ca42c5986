"""ShareGPT conversations (format ``"sharegpt"``), one per JSON object or JSONL line.

Each object has ``conversations``: a list of ``{"from", "value"}``. The ``from``
values ``human`` / ``user``, ``gpt`` / ``assistant`` / ``chatgpt``, ``system``
and ``observation`` / ``tool`` / ``function`` map to the speakers ``user``,
``assistant``, ``system`` and ``tool`` (case-insensitive); ``function_call`` is an
assistant speaker of its own. Any other ``from`` value (``bing``, ``bard``, a
persona name) becomes an extra speaker with that name and that role. Items
written as ``{"role", "content"}`` are read too. A top-level ``system`` string
becomes a first system turn; ``id`` names the conversation.
"""

from __future__ import annotations

from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import Location, Reader, reader
from artifactual.readers.openai_messages import (SpeakerBook, conversation_id, render_content,
                                                 require_list, scalar_meta)
from artifactual.readers.task_field import check_task_field, task_statement
from artifactual.records import Conversation, Source, Turn

__all__ = ["ShareGPTReader", "FROM_ROLES"]

FROM_ROLES: dict[str, tuple[str, str]] = {  # from value -> (speaker name, role)
    "human": ("user", "user"), "user": ("user", "user"),
    "gpt": ("assistant", "assistant"), "assistant": ("assistant", "assistant"),
    "chatgpt": ("assistant", "assistant"), "system": ("system", "system"),
    "observation": ("tool", "tool"), "tool": ("tool", "tool"), "function": ("tool", "tool"),
    "function_call": ("function_call", "assistant"),
}
_LIST_KEYS = ("conversations", "conversation")
_FIX = 'write each conversation as {"conversations": [{"from": "human", "value": ...}, ...]}'


def _items(obj: dict[str, Any]) -> Any:
    return next((obj[k] for k in _LIST_KEYS if k in obj), None)


def _speaker(item: dict[str, Any], i: int) -> tuple[str, str]:
    raw = item.get("from", item.get("role"))
    if not isinstance(raw, str) or not raw.strip():
        raise InputError(f"conversations[{i}] has no 'from'" if raw is None else
                         f"conversations[{i}] has an invalid 'from' {raw!r}",
                         fix="give every item a 'from' (human, gpt, system or a speaker name)")
    raw = " ".join(raw.split())
    return FROM_ROLES.get(raw.lower(), (raw, raw.lower()))


@reader("sharegpt")
class ShareGPTReader(Reader):
    """ShareGPT ``conversations: [{from, value}]``; the task as in :mod:`.task_field`."""

    def __init__(self, task_field: str | None = None) -> None:
        self.task_field = task_field

    def with_options(self, **options: Any) -> "ShareGPTReader":
        field = check_task_field(options.get("task_field"))
        return self if field is None else type(self)(field)

    def sniff(self, obj: Any) -> bool:
        if not isinstance(obj, dict) or "kind" in obj:
            return False
        items = _items(obj)
        return isinstance(items, list) and (not items or isinstance(items[0], dict) and (
            "from" in items[0] or "value" in items[0]))

    def parse(self, obj: Any, loc: Location) -> Conversation:
        items = require_list(obj, _LIST_KEYS, _FIX)
        book = SpeakerBook()
        turns: list[Turn] = []
        system = obj.get("system")
        if isinstance(system, str) and system.strip():
            turns.append(Turn(index=0, speaker=book.add("system", "system"), content=system,
                              meta={"role": "system", "from": "(top-level system)"}))
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(f"conversations[{i}] is {type(item).__name__}, not an object",
                                 fix=_FIX)
            name, role = _speaker(item, i)
            value = item.get("value", item.get("content"))
            if value is None:
                raise InputError(f"conversations[{i}] has no 'value'",
                                 fix="give every item its text as 'value', or drop the item")
            turns.append(Turn(index=len(turns), speaker=book.add(name, role),
                              content=render_content(value),
                              meta={"role": role, "from": str(item.get("from", role))}))
        system_texts = [t.content for t in turns if t.meta.get("role") == "system"]
        return Conversation(id=conversation_id(obj, loc), speakers=book.list(), turns=turns,
                            task=task_statement(obj, system_texts, self.task_field),
                            source=Source(format="sharegpt", path=str(loc.path), line=loc.line),
                            meta=scalar_meta(obj, ("id", "kind", "system", *_LIST_KEYS)))
