"""ChatDev run logs (format ``"chatdev"``): ``WareHouse/<project>_<org>_<timestamp>.log``.

A ChatDev 1.x log is a stream of entries, each starting with a line
``[YYYY-DD-MM HH:MM:SS INFO] <who>: **<tag>**``. The reader keeps these entries:

* ``**[Preprocessing]**``: the run's ``**task_prompt**: ...`` (the conversations' task);
* ``System: **[chatting]**`` and ``System: **[RolePlaying]**``: parameter tables
  (``| **key** | value |``) giving ``phase_name``, ``assistant_role_name``,
  ``user_role_name``, ``task_prompt`` and ``chat_turn_limit`` of the next phase chat;
* ``<user role>: **[Start Chat]**``: opens one conversation (one phase chat). Its text
  (the assistant's role prompt in ``[...]`` and the phase prompt) is system context,
  not a turn: the role prompt becomes the assistant speaker's ``persona`` and the
  phase prompt ``meta["phase_prompt"]``;
* ``<speaker>: **<Assistant><-><User> on : <Phase>, turn <n>**``: one turn of
  ``<speaker>``. The ``[...]`` block that opens it (the *other* agent's role prompt)
  is removed from the turn and becomes that agent's ``persona``;
* ``**[Seminar Conclusion]**``: ends the phase chat (``meta["conclusion"]``).

Every other entry (usage info, ``[Update Codes]``, HTTP and Flask lines) is skipped.
Speakers: the assistant role name (role ``assistant``) and the user role name (role
``user``), from the tables or, when a log has no tables, from the turn header. The
conversation's ``meta["phase"]`` is the phase name (``audit --group-by phase``);
``termination_reason`` is the first ``<INFO> ...`` line of a turn (ChatDev's end of
chat signal), else ``chat_turn_limit`` when the chat used all its turns.

Older layouts are refused with an error naming the layout: the June 2023 preview
(``AgentTech Starts``, ``[0] AI Assistant (Role):`` lines, no phase headers).
The file is read line by line; each phase chat is yielded when it ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from artifactual.readers.base import ErrorLog, Reader, read_head, reader
from artifactual.records import Conversation, Source, Speaker, Turn

__all__ = ["ChatDevReader", "strip_role_prompt"]

_ENTRY = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]+\] ?(?P<rest>.*)$")
_TAG = re.compile(r"^(?:(?P<who>[^*]+?): )?\*\*(?P<tag>.+?)\*\*:?\s*$")
_TURN = re.compile(r"^(?P<a>.+?)<->(?P<u>.+?) on : (?P<phase>[^,]+), turn (?P<n>\d+)$")
_ROW = re.compile(r"^\| \*\*(?P<key>\w+)\*\* \| (?P<value>.*?) ?\|?$")
_TASK_LINE = re.compile(r"^\*\*task_prompt\*\*: ?(?P<task>.*)$")
_SNIFF = ("**[Preprocessing]**", "**ChatDev Starts**", "**[Start Chat]**", "AgentTech Starts")
_HEADER_HINT = re.compile(r"<->.+ on : [^,\n]+, turn \d+\*\*")
_SNIFF_BYTES = 65536
_LEGACY = {"AgentTech Starts": "the June 2023 ChatDev preview ('AgentTech Starts', "
                                "'[0] AI Assistant (Role):' lines, no phase headers)"}
_FIX = ("re-run the project with ChatDev 1.x (its logs have '**A<->B on : Phase, turn n**' "
        "headers), or convert the log to OpenAI messages JSONL")


@dataclass
class _Entry:
    line: int
    first: str
    who: str | None
    tag: str | None
    body: list[str]


def _entries(fh: TextIO) -> Iterator[_Entry]:
    """The log's entries, in order; text before the first entry is ignored."""
    cur: _Entry | None = None
    for n, raw in enumerate(fh, 1):
        line = raw.rstrip("\r\n")
        m = _ENTRY.match(line)
        if m is None:
            if cur is not None:
                cur.body.append(line)
            continue
        if cur is not None:
            yield cur
        t = _TAG.match(m.group("rest"))
        cur = _Entry(n, m.group("rest"), (t.group("who") or "").strip() or None if t else None,
                     t.group("tag").strip() if t else None, [])
    if cur is not None:
        yield cur


def strip_role_prompt(body: str) -> tuple[str | None, str]:
    """Split ``"[role prompt]\\n\\ntext"`` into ``(role prompt, text)``; ``(None, body)``
    when the text does not open with a bracketed block closed at a line's end."""
    text = body.lstrip("\n")
    if not text.startswith("["):
        return None, body.strip()
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith("]") and (i + 1 == len(lines) or not lines[i + 1].strip()):
            prompt = "\n".join(lines[: i + 1]).strip()[1:-1].strip()
            return prompt, "\n".join(lines[i + 1:]).strip()
    return None, body.strip()


def _table(body: list[str]) -> dict[str, str]:
    return {m.group("key"): m.group("value").strip() for line in body if (m := _ROW.match(line))}


@dataclass
class _Chat:
    """One phase chat being read."""

    line: int
    phase: str | None
    assistant: str | None
    user: str | None
    turn_limit: int | None
    start_persona: str | None = None  # the [Start Chat] role prompt: the assistant's
    personas: dict[str, str] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


@reader("chatdev")
class ChatDevReader(Reader):
    """ChatDev 1.x ``.log`` files; see the module docstring."""

    suffixes = (".log",)

    def sniff_file(self, path: Path, first_obj: Any | None) -> bool:
        head = read_head(path, _SNIFF_BYTES) if first_obj is None else None  # not JSON
        return head is not None and (any(s in head for s in _SNIFF)
                                     or _HEADER_HINT.search(head) is not None)

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Conversation]:
        try:
            with path.open(encoding="utf-8-sig", errors="replace") as fh:
                yield from self._read(path, fh, log)
        except OSError as exc:
            log.add(path=str(path), message=f"cannot read file: {exc}",
                    fix="check that the file exists and is readable")

    def _read(self, path: Path, fh: TextIO, log: ErrorLog) -> Iterator[Conversation]:
        task: str | None = None
        params: dict[str, str] = {}
        chat: _Chat | None = None
        n_chats = 0
        legacy: str | None = None
        for e in _entries(fh):
            tag = e.tag or ""
            if tag == "[Preprocessing]":
                task = next((m.group("task").strip() for x in e.body
                             if (m := _TASK_LINE.match(x))), task)
            elif tag in ("[chatting]", "[RolePlaying]"):
                if tag == "[chatting]":
                    params = {}
                params.update(_table(e.body))
                task = task or params.get("task_prompt")
            elif tag == "[Start Chat]":
                if chat is not None:
                    n_chats += 1
                    yield from self._emit(path, chat, task, n_chats, log)
                chat = self._open(e.line, params)
                chat.user = chat.user or e.who
                prompt, text = strip_role_prompt("\n".join(e.body))
                chat.start_persona = prompt
                chat.extra["phase_prompt"] = text
                params = {}
            elif (m := _TURN.match(tag)) is not None:
                a, u, phase = m.group("a").strip(), m.group("u").strip(), m.group("phase").strip()
                if chat is None or (chat.turns and chat.phase != phase):
                    if chat is not None:
                        n_chats += 1
                        yield from self._emit(path, chat, task, n_chats, log)
                    chat = self._open(e.line, params)
                    params = {}
                chat.phase = chat.phase or phase
                chat.assistant, chat.user = chat.assistant or a, chat.user or u
                self._turn(chat, e, int(m.group("n")))
            elif tag == "[Seminar Conclusion]" and chat is not None:
                chat.extra["conclusion"] = "\n".join(e.body).strip()
                n_chats += 1
                yield from self._emit(path, chat, task, n_chats, log)
                chat = None
            elif e.tag is None and legacy is None:
                legacy = next((v for k, v in _LEGACY.items() if k in e.first), None)
        if chat is not None:
            n_chats += 1
            yield from self._emit(path, chat, task, n_chats, log)
        if n_chats == 0:
            seen = legacy or "no '**A<->B on : Phase, turn n**' headers and no '[Start Chat]'"
            log.add(path=str(path), message=f"ChatDev log in an unsupported layout: {seen}",
                    fix=_FIX)

    @staticmethod
    def _open(line: int, params: dict[str, str]) -> _Chat:
        return _Chat(line=line, phase=params.get("phase_name"),
                     assistant=params.get("assistant_role_name"),
                     user=params.get("user_role_name"),
                     turn_limit=_int(params.get("chat_turn_limit")))

    @staticmethod
    def _turn(chat: _Chat, e: _Entry, number: int) -> None:
        speaker = e.who or chat.assistant or "?"
        prompt, text = strip_role_prompt("\n".join(e.body))
        other = chat.user if speaker == chat.assistant else chat.assistant
        if prompt and other:
            chat.personas.setdefault(other, prompt)
        role = ("assistant" if speaker == chat.assistant else
                "user" if speaker == chat.user else "participant")
        chat.turns.append(Turn(index=len(chat.turns), speaker=speaker, content=text,
                               meta={"role": role, "line": e.line, "turn": number}))

    def _emit(self, path: Path, chat: _Chat, task: str | None, k: int,
              log: ErrorLog) -> Iterator[Conversation]:
        """The finished phase chat, or an error row when it has no turns."""
        if chat.turns:
            yield self._finish(path, chat, task, k)
            return
        log.add(path=str(path), line=chat.line, record_id=f"{path.stem}:{chat.line}",
                message=f"phase chat {chat.phase or '?'} has no turns (a '[Start Chat]' "
                        "with no '**A<->B on : Phase, turn n**' reply before the next chat)",
                fix="the run may have been interrupted here; the other phase chats are read")

    @staticmethod
    def _finish(path: Path, chat: _Chat, task: str | None, k: int) -> Conversation:
        if chat.start_persona and chat.assistant:
            chat.personas[chat.assistant] = chat.start_persona
        speakers: dict[str, Speaker] = {}
        for name, role in ((chat.assistant, "assistant"), (chat.user, "user")):
            if name:
                speakers[name] = Speaker(name=name, role=role, persona=chat.personas.get(name))
        for t in chat.turns:
            speakers.setdefault(t.speaker, Speaker(name=t.speaker, role=t.meta["role"]))
        reason = next((x.strip() for t in chat.turns for x in t.content.splitlines()
                       if x.strip().startswith("<INFO>")), None)
        numbers = {t.meta["turn"] for t in chat.turns}
        if reason is None and chat.turn_limit and len(numbers) >= chat.turn_limit:
            reason = "chat_turn_limit"
        meta: dict[str, Any] = {"phase": chat.phase, "phase_index": k}
        if chat.turn_limit is not None:
            meta["chat_turn_limit"] = chat.turn_limit
        meta.update(chat.extra)
        return Conversation(id=f"{path.stem}:{chat.line}", task=task,
                            speakers=list(speakers.values()), turns=chat.turns,
                            termination_reason=reason,
                            source=Source(format="chatdev", path=str(path), line=chat.line),
                            meta=meta)

