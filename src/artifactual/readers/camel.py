"""CAMEL ai_society-style dialogues: one per ``.json`` file, or one per JSONL line.

Keys read: ``role_1`` (the assistant's role name), ``role_2`` (the user's),
``original_task``, ``specified_task``, ``termination_reason``, ``num_messages``,
``id`` (optional), and ``message_1 .. message_N``, each with ``role_name``,
``role_type`` (USER / ASSISTANT) and ``content``. Messages are ordered by their
number (``message_10`` after ``message_9``). A trailing ``_ASSISTANT`` / ``_USER``
on a role name is stripped. ``role_type`` and ``content`` are required in every
message; a missing ``role_name`` falls back to ``role_1`` / ``role_2``.
"""

from __future__ import annotations

import re
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import Location, Reader, reader
from artifactual.records import Conversation, Source, Speaker, Turn

__all__ = ["CamelReader", "strip_role_suffix"]

_MESSAGE_KEY = re.compile(r"^message_(\d+)$")
_SUFFIX = re.compile(r"_(ASSISTANT|USER)$")
_TOP_KEYS = ("role_1", "role_2", "original_task", "specified_task")
_REQUIRED = {"role_type": "USER or ASSISTANT", "content": "the message text"}


def strip_role_suffix(name: str) -> str:
    """``"Gardener_USER"`` -> ``"Gardener"``; other names unchanged."""
    return _SUFFIX.sub("", name.strip())


def _message_keys(obj: dict[str, Any]) -> list[tuple[int, str]]:
    keys = [(int(m.group(1)), k) for k in obj if (m := _MESSAGE_KEY.match(k))]
    return sorted(keys)


def _declared(obj: dict[str, Any]) -> dict[str, str]:
    """Role type (``"user"``/``"assistant"``) -> role name, from role_1 / role_2."""
    out: dict[str, str] = {}
    for key, default in (("role_1", "assistant"), ("role_2", "user")):
        raw = obj.get(key)
        if isinstance(raw, str) and raw.strip():
            m = _SUFFIX.search(raw.strip())
            out.setdefault(m.group(1).lower() if m else default, strip_role_suffix(raw))
    return out


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else str(value)


@reader("camel")
class CamelReader(Reader):
    """CAMEL ai_society JSON / JSONL."""

    def sniff(self, obj: Any) -> bool:
        return isinstance(obj, dict) and "kind" not in obj and (
            any(k in obj for k in _TOP_KEYS) or bool(_message_keys(obj)))

    def parse(self, obj: Any, loc: Location) -> Conversation:
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object (one dialogue), got {type(obj).__name__}",
                             fix="a CAMEL file holds one dialogue object; JSONL holds one per line")
        keys = _message_keys(obj)
        if not keys:
            raise InputError("empty dialogue: no message_1 .. message_N keys",
                             fix="drop this dialogue or re-export it with its messages")
        declared = _declared(obj)
        speakers: dict[str, Speaker] = {}  # name -> speaker
        by_role: dict[str, str] = {}  # role -> name
        for role, name in declared.items():
            speakers[name] = Speaker(name=name, role=role)
            by_role[role] = name
        turns: list[Turn] = []
        for i, (_, key) in enumerate(keys):
            msg = obj[key]
            if not isinstance(msg, dict):
                raise InputError(f"{key} is {type(msg).__name__}, not an object",
                                 fix=f"give {key} the keys role_name, role_type and content")
            for field, hint in _REQUIRED.items():
                if msg.get(field) is None:
                    raise InputError(f"{key} has no {field!r}",
                                     fix=f"add {field!r} ({hint}) to {key}, or drop this dialogue")
            role = str(msg["role_type"]).strip().lower()
            raw_name = msg.get("role_name")
            name = strip_role_suffix(str(raw_name)) if raw_name else by_role.get(role, role)
            if name in speakers and speakers[name].role != role:
                name = f"{name} ({role})"  # two roles share a name: keep them apart
            if name not in speakers:
                speakers[name] = Speaker(name=name, role=role)
                by_role.setdefault(role, name)
            turns.append(Turn(index=i, speaker=name, content=str(msg["content"]),
                              meta={"key": key, "role_type": str(msg["role_type"])}))
        meta = {k: obj[k] for k in ("role_1", "role_2", "num_messages") if k in obj}
        return Conversation(
            id=str(obj["id"]) if obj.get("id") not in (None, "") else loc.default_id,
            task=_opt_str(obj, "original_task"),
            specified_task=_opt_str(obj, "specified_task"),
            speakers=list(speakers.values()),
            turns=turns,
            termination_reason=_opt_str(obj, "termination_reason"),
            source=Source(format="camel", path=str(loc.path), line=loc.line),
            meta=meta,
        )
