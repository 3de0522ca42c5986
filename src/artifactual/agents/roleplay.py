"""CAMEL-style role-play: an AI user instructs an AI assistant, turn by turn.

The session is a small state machine: an optional task-specifier step, then
user and assistant turns alternate until a termination rule fires. Each step
exposes one :class:`ChatRequest`; the scheduler batches the steps of many
sessions into one engine call.

A strategy can enforce the convention instead of only asking for it, with optional
macros in its template (see ``camel-prefix.j2`` and ``camel-constrained.j2``):

- ``user_prefix`` / ``assistant_prefix``: the reply is begun with this marker (e.g.
  ``Instruction:``) as a final assistant message that the engine continues; the stored
  turn is the prefix plus the continuation, and ``meta["prefix"]`` holds the prefix.
- ``user_regex`` / ``assistant_regex``: the reply must match this regex (constrained
  decoding); ``meta["constrained"]`` is True.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifactual.agents.base import derive_seed
from artifactual.agents.templates import Strategy
from artifactual.agents.termination import Termination, TurnView
from artifactual.chat import ChatRequest, ChatResult
from artifactual.records import Conversation, Sampling, Speaker, Turn, Usage

__all__ = ["RolePlayTask", "RolePlaySession", "join_prefix"]


def join_prefix(prefix: str, continuation: str) -> str:
    """The reply as stored: the forced prefix, then the model's continuation (one space
    between them unless the continuation starts with whitespace)."""
    rest = continuation.rstrip()
    if rest and not rest[0].isspace():
        rest = " " + rest
    return (prefix + rest).strip()


@dataclass(frozen=True)
class RolePlayTask:
    assistant_role: str
    user_role: str
    task: str


class RolePlaySession:
    """One role-play dialogue between an AI user and an AI assistant."""

    def __init__(self, id: str, task: RolePlayTask, strategy: Strategy, sampling: Sampling,
                 *, seed: int = 0, termination: Termination | None = None,
                 specify: bool = True, word_limit: int = 50, history_window: int | None = None):
        self.id = id
        self.task = task
        self.strategy = strategy
        self.sampling = sampling
        self.seed = seed
        self.termination = termination or Termination.camel()
        self.word_limit = word_limit
        self.history_window = history_window
        self.phase = "specify" if specify else "user"
        self.specified_task: str | None = None
        self.turns: list[Turn] = []
        self.usage = Usage()
        self.termination_reason: str | None = None
        self.error: str | None = None
        self._step = 0

    # -- state ------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.phase == "done"

    def _vars(self) -> dict[str, object]:
        return dict(assistant_role=self.task.assistant_role, user_role=self.task.user_role,
                    task=self.specified_task or self.task.task, word_limit=self.word_limit)

    def _history(self, turns: list[Turn] | None = None) -> list[Turn]:
        turns = self.turns if turns is None else turns
        if self.history_window:
            return turns[-self.history_window:]
        return turns

    def _enforced(self, side: str) -> tuple[str | None, str | None]:
        """The strategy's (prefix, regex) for a user or assistant reply (None: not used)."""
        if side not in ("user", "assistant"):
            return None, None
        v = self._vars()
        prefix = self.strategy.render_optional(f"{side}_prefix", **v)
        regex = self.strategy.render_optional(f"{side}_regex", **v)
        return prefix or None, regex or None

    def prompt(self, side: str, turns: list[Turn]) -> list[dict[str, str]]:
        """The messages ``side`` (``user`` or ``assistant``) is sent after ``turns``: the
        prompt the generator sends at that point, without a reply prefix (the training
        layer replays a finished dialogue's prompts with it)."""
        return self._messages(side, turns)

    def _messages(self, side: str, turns: list[Turn] | None = None) -> list[dict[str, str]]:
        v = self._vars()
        if side == "specify":
            return [{"role": "user", "content": self.strategy.render("specifier", **v)}]
        if side == "user":
            msgs = [{"role": "system", "content": self.strategy.render("user_system", **v)},
                    {"role": "user", "content": self.strategy.render("kickoff", **v)}]
            own = "user"
        else:
            msgs = [{"role": "system", "content": self.strategy.render("assistant_system", **v)}]
            own = "assistant"
        for t in self._history(turns):
            role = "assistant" if t.meta.get("role") == own else "user"
            msgs.append({"role": role, "content": t.content})
        return msgs

    def next_request(self) -> ChatRequest | None:
        """The request for the next step, or None when the dialogue is over."""
        if self.done:
            return None
        sampling = self.sampling.model_copy(update={"seed": derive_seed(self.seed, self.id, self._step)})
        messages = self._messages(self.phase)
        prefix, regex = self._enforced(self.phase)
        if prefix:
            messages.append({"role": "assistant", "content": prefix})
        return ChatRequest(messages=messages, sampling=sampling, tag=self.id, guided_regex=regex,
                           continue_final=bool(prefix))

    def apply(self, result: ChatResult) -> None:
        """Take the engine's answer for the pending step and advance."""
        self._step += 1
        self.usage.add(result.prompt_tokens, result.completion_tokens)
        if not result.ok:
            self.error = result.error
            reason = "context_full" if result.finish_reason == "context_full" else "backend_error"
            self._finish(reason)
            return
        text = result.text.strip()
        if self.phase == "specify":
            self.specified_task = text or self.task.task
            self.phase = "user"
            return
        role = self.phase
        name = self.task.user_role if role == "user" else self.task.assistant_role
        prefix, regex = self._enforced(role)
        meta = {"role": role, "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens, "finish_reason": result.finish_reason,
                "latency_s": result.latency_s, "cached": result.cached}
        if prefix:
            text = join_prefix(prefix, result.text)
            meta["prefix"] = prefix
        if regex:
            meta["constrained"] = True
        self.turns.append(Turn(index=len(self.turns), speaker=name, content=text, meta=meta))
        views = [TurnView(t.meta["role"], t.content) for t in self.turns]
        reason = self.termination.check(views, None)
        if reason:
            self._finish(reason)
        else:
            self.phase = "assistant" if role == "user" else "user"

    def _finish(self, reason: str) -> None:
        self.termination_reason = reason
        self.phase = "done"

    # -- output -----------------------------------------------------------------
    def to_conversation(self) -> Conversation:
        """The finished dialogue as a record (provenance is added by the generator)."""
        return Conversation(
            id=self.id, task=self.task.task, specified_task=self.specified_task,
            speakers=[Speaker(name=self.task.user_role, role="user"),
                      Speaker(name=self.task.assistant_role, role="assistant")],
            turns=self.turns, termination_reason=self.termination_reason,
            meta={"error": self.error} if self.error else {},
        )
