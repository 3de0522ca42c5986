"""AutoGen / AG2 chat histories and group chats (format ``"autogen"``), JSON or JSONL.

Three shapes are read, each message an OpenAI-style ``{"content", "role", "name"}``:

* a ``.json`` file holding one message list: ``GroupChat.messages`` or
  ``ChatResult.chat_history``, e.g. as written by ``GroupChatManager.messages_to_string``;
  the file is one conversation, id = the file's stem;
* a JSONL (or multi-line ``.json``) file with one message list per line;
* objects with a ``chat_history`` list (a ``ChatResult`` saved as JSON: ``chat_id`` names
  the conversation, ``summary`` goes to ``meta["summary"]``), one per line or per file.

Speakers are the ``name`` values (a message without one is spoken by its role), so a
group chat has N speakers. Each name's role is the role its messages carry; a name seen
with two roles (a ``user_proxy`` that also returns tool results) becomes two speakers,
``user_proxy`` and ``user_proxy (tool)``. AutoGen writes roles from the point of view of
the agent that kept the history: in a two-agent ``chat_history`` the initiator is
``assistant`` and its partner ``user``; in ``GroupChat.messages`` every agent is
``user``. A role that all of a conversation's named agents share tells none of them
apart, so they get the role ``participant`` (role adherence then learns each one's
profile from its turns). The raw role stays in each turn's ``meta["role"]``. Content parts and ``tool_calls`` are
rendered as for OpenAI messages. The first message's text is the conversation's task;
``termination_reason`` is ``"TERMINATE"`` when the last message ends the chat with
AutoGen's default termination word, else None.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import ErrorLog, Location, Reader, iter_json, reader
from artifactual.readers.openai_messages import SpeakerBook, message_turns
from artifactual.records import Conversation, Source, Turn

__all__ = ["AutoGenReader", "is_message"]

_FIX = ('write each conversation as a JSON list of {"content", "role", "name"} messages, '
        'or as {"chat_history": [...]}')
_TERMINATE = "TERMINATE"
ROLE_NAMES = ("user", "assistant", "system", "tool")  # speakers named by their role


def is_message(obj: Any) -> bool:
    """An AutoGen message: an object with a string ``role`` and ``content`` or ``tool_calls``,
    and none of the keys that mark another format's records."""
    return (isinstance(obj, dict) and isinstance(obj.get("role"), str)
            and ("content" in obj or "tool_calls" in obj)
            and not {"messages", "conversations", "kind", "chat_history"} & obj.keys())


def _history(obj: Any) -> list[Any] | None:
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("chat_history"), list):
        return obj["chat_history"]
    return None


def _turns(msgs: list[Any]) -> tuple[list[Turn], SpeakerBook]:
    turns, book = message_turns(msgs, _FIX)
    agents = [sp for sp in book.list() if sp.name not in ROLE_NAMES]
    if len(agents) >= 2 and len({sp.role for sp in agents}) == 1 and agents[0].role != "tool":
        for sp in agents:  # one role for every agent (GroupChat.messages): it tells no one apart
            sp.role = "participant"
    return turns, book


def _conversation(obj: Any, loc: Location) -> Conversation:
    msgs = _history(obj)
    if msgs is None:
        got = "an object without a 'chat_history' list" if isinstance(obj, dict) else \
            type(obj).__name__
        raise InputError(f"expected a message list, got {got}", fix=_FIX)
    if not msgs:
        raise InputError("empty conversation: no messages", fix="drop this item")
    turns, book = _turns(msgs)
    meta: dict[str, Any] = {}
    cid = loc.default_id
    if isinstance(obj, dict):
        if isinstance(obj.get("summary"), str):
            meta["summary"] = obj["summary"]
        if isinstance(obj.get("chat_id"), (str, int)) and not isinstance(obj["chat_id"], bool):
            cid = str(obj["chat_id"])
    last = turns[-1].content.rstrip().rstrip(".!").rstrip()
    return Conversation(id=cid, task=turns[0].content or None, speakers=book.list(), turns=turns,
                        termination_reason=_TERMINATE if last.endswith(_TERMINATE) else None,
                        source=Source(format="autogen", path=str(loc.path), line=loc.line),
                        meta=meta)


@reader("autogen")
class AutoGenReader(Reader):
    """AutoGen / AG2 message lists; see the module docstring."""

    def sniff(self, obj: Any) -> bool:
        msgs = _history(obj)
        if msgs is not None:  # a list of messages, or {"chat_history": [...]}
            return bool(msgs) and is_message(msgs[0])
        return is_message(obj)  # the first item of a .json file holding one message list

    def parse(self, obj: Any, loc: Location) -> Conversation:
        return _conversation(obj, loc)

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Conversation]:
        items = iter_json(path, log)
        first = next(items, None)
        if first is None:
            return
        loc, obj = first
        if loc.item is not None and (is_message(obj) or not isinstance(obj, (list, dict))):
            # a .json file that is one message list: the whole list is one conversation
            msgs = [obj, *(o for _, o in items)]
            yield from self._one(msgs, Location(path), log)
            return
        yield from self._one(obj, loc, log)
        for loc, obj in items:
            yield from self._one(obj, loc, log)

    def _one(self, obj: Any, loc: Location, log: ErrorLog) -> Iterator[Conversation]:
        try:
            yield _conversation(obj, loc)
        except InputError as exc:
            cid = str(obj["chat_id"]) if isinstance(obj, dict) and obj.get("chat_id") else None
            log.add(path=str(loc.path), line=loc.line, record_id=cid or loc.default_id,
                    message=exc.message, fix=exc.fix or "")
