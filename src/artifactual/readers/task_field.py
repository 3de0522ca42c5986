"""The task statement of a chat log record (OpenAI messages, ShareGPT, dataset rows).

Task-oriented logs often carry their task beside the chat: a top-level ``task``, a
``metadata.task``, a ``goal`` or an ``instruction`` (tried in that order), or a field the
user names (``audit --task-field NAME``; a dotted name such as ``meta.objective`` reads a
nested object). Without one, a **system message that states the task** counts: a line
that opens with a task label (``Task:``, ``Goal:``, ``Objective:``, ``Your task is``,
``Your goal is``) gives the rest of that line (and the lines after it up to a blank line).
A generic persona prompt ("You are a helpful assistant") states no task and gives none.
"""

from __future__ import annotations

import re
from typing import Any

from artifactual.errors import InputError

__all__ = ["DEFAULT_FIELDS", "task_statement", "system_task", "check_task_field"]

DEFAULT_FIELDS = ("task", "metadata.task", "goal", "instruction")
_LABEL = re.compile(r"^[ \t>*_#-]*(?:task|goal|objective|your (?:task|goal|job) is(?: to)?)"
                    r"[*_]*\s*[:\-]?\s*(?P<rest>.*)$", re.IGNORECASE)


def check_task_field(name: Any) -> str | None:
    """The field name given, stripped; InputError when it is not a non-empty string."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"invalid task field {name!r}",
                         fix="pass a field name, e.g. --task-field goal or meta.objective")
    return name.strip()


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def system_task(text: str) -> str | None:
    """The task a system message states after a task label, or None (module docstring)."""
    lines = (text or "").splitlines()
    for i, line in enumerate(lines):
        m = _LABEL.match(line)
        if not m:
            continue
        parts = [m.group("rest").strip()]
        for more in lines[i + 1:]:
            if not more.strip():
                break
            parts.append(more.strip())
        task = " ".join(p for p in parts if p)
        if len(task.split()) >= 3:
            return task
    return None


def task_statement(obj: dict[str, Any], system_texts: list[str],
                   field: str | None = None) -> str | None:
    """The record's task: the named ``field``, else the first of :data:`DEFAULT_FIELDS`
    that holds a non-empty string, else a task stated by a system message."""
    for name in ((field,) if field else DEFAULT_FIELDS):
        value = _get(obj, name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for text in system_texts:
        task = system_task(text)
        if task:
            return task
    return None
