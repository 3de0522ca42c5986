"""Training examples for the amplification experiment (:mod:`.amplify`).

* :func:`roleplay_examples`: every turn of generated role-play becomes one chat example,
  the prompt its agent was sent at that point (replayed with the strategy template named in
  the record's provenance, :meth:`~artifactual.agents.roleplay.RolePlaySession.prompt`) and
  the turn as the target. A model tuned on them learns to play both roles as the generator
  played them, artifacts included.
* :func:`human_examples`: held-out human task dialogues (OpenAI-messages JSONL), each
  assistant turn a target, for the loss on human data.
* :func:`encode`: token ids and labels with the prompt masked, cut to ``max_length``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.errors import InputError

__all__ = ["ChatExample", "roleplay_examples", "human_examples", "encode",
           "load_conversations"]


@dataclass(frozen=True)
class ChatExample:
    messages: list[dict[str, str]]
    target: str
    source: str  # "conversation_id:turn_index" or "path:line:turn"


def load_conversations(*paths: str | Path) -> list[Any]:
    """The Conversation records of run directories or records JSONL files (unreadable
    lines raise with their place; no record at all raises too)."""
    from artifactual.readers import ErrorLog, read
    from artifactual.records import Conversation

    log = ErrorLog()
    convs = [r for p in paths for r in read(Path(p), errors=log) if isinstance(r, Conversation)]
    if len(log):
        first = log.to_frame().iloc[0]
        raise InputError(f"{len(log)} unreadable record(s): {first['message']}",
                         where=f"{first['path']}:{first['line']}",
                         fix="fix or remove the record, or point train_data at a clean run")
    if not convs:
        raise InputError("no conversation records", where=", ".join(map(str, paths)),
                         fix="point train_data at a role-play run directory or records JSONL")
    return convs


def roleplay_examples(conversations: list[Any], *, word_limit: int, history_window: int | None,
                      prompts_dir: str | None = None) -> list[ChatExample]:
    """One example per non-empty turn of each conversation."""
    from artifactual.agents.roleplay import RolePlaySession, RolePlayTask
    from artifactual.agents.templates import load_strategy
    from artifactual.records import Sampling

    out: list[ChatExample] = []
    for conv in conversations:
        prov = conv.provenance
        roles = {s.role: s.name for s in conv.speakers}
        if prov is None or prov.strategy is None or not {"user", "assistant"} <= set(roles):
            raise InputError("not a role-play record (no strategy or no user and assistant)",
                             where=f"record {conv.id}",
                             fix="train on a run made by the roleplay generator")
        session = RolePlaySession(conv.id, RolePlayTask(roles["assistant"], roles["user"], conv.task),
                                  load_strategy(prov.strategy, prompts_dir), Sampling(),
                                  specify=False, word_limit=word_limit,
                                  history_window=history_window)
        session.specified_task = conv.specified_task
        for i, turn in enumerate(conv.turns):
            side = turn.meta.get("role")
            if side not in ("user", "assistant") or not turn.content.strip():
                continue
            out.append(ChatExample(session.prompt(side, conv.turns[:i]), turn.content,
                                   f"{conv.id}:{turn.index}"))
    return out


def human_examples(path: str | Path, n: int, seed: int) -> list[ChatExample]:
    """``n`` examples (a seeded draw) of an OpenAI-messages JSONL: each assistant turn is a
    target after the turns before it."""
    p = Path(path)
    if not p.is_file():
        raise InputError("human dialogues not found", where=str(p),
                         fix="point human_data at an OpenAI-messages JSONL (e.g. "
                             "benchmarks/data/human/task_oriented.jsonl)")
    out = []
    for line_no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            msgs = [{"role": m["role"], "content": m["content"]} for m in json.loads(line)["messages"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"bad dialogue: {exc!r}", where=f"{p}:{line_no}",
                             fix="each line needs messages: [{role, content}, ...]") from None
        out += [ChatExample(msgs[:i], m["content"], f"{p.name}:{line_no}:{i}")
                for i, m in enumerate(msgs) if m["role"] == "assistant" and i
                and m["content"].strip()]
    pick = np.random.default_rng(seed).permutation(len(out))[:n]
    return [out[i] for i in sorted(pick)]


def encode(tok: Any, ex: ChatExample, max_length: int) -> tuple[list[int], list[int]]:
    """(input_ids, labels): the chat-templated prompt (masked with -100, cut from the left)
    and the target with the end-of-turn token, all within ``max_length``."""
    ids = tok.apply_chat_template(ex.messages, tokenize=True, add_generation_prompt=True)
    prompt = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    target = tok(ex.target.strip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    target = target[:max_length // 2]
    prompt = prompt[-(max_length - len(target)):]
    return prompt + target, [-100] * len(prompt) + target
