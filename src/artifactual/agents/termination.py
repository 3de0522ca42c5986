"""Composable stop rules for dialogues. Each rule returns a reason string or None.

Rules see a list of ``(role, content)`` pairs, oldest first, plus the error of
the last backend call (if any). The first rule that fires names the
conversation's ``termination_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from difflib import SequenceMatcher
from typing import Callable, Sequence

__all__ = ["TurnView", "Rule", "Termination", "task_done", "max_messages", "assistant_role_flip",
           "user_without_instruction", "repetition_loop", "backend_error", "near_duplicate"]


@dataclass(frozen=True)
class TurnView:
    role: str  # "user" | "assistant" | persona
    content: str


Rule = Callable[[Sequence[TurnView], str | None], str | None]


def task_done(token: str = "<CAMEL_TASK_DONE>") -> Rule:
    """The user says the task is done."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        if turns and turns[-1].role == "user" and token in turns[-1].content:
            return "task_done"
        return None
    return rule


def max_messages(limit: int = 40) -> Rule:
    """Stop after ``limit`` messages."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        return "max_messages" if len(turns) >= limit else None
    return rule


def assistant_role_flip(markers: Sequence[str] = ("Instruction:",)) -> Rule:
    """The assistant starts giving instructions."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        if turns and turns[-1].role == "assistant" and any(m in turns[-1].content for m in markers):
            return "assistant_role_flip"
        return None
    return rule


def user_without_instruction(limit: int = 3, markers: Sequence[str] = ("Instruction:",),
                             done_token: str = "<CAMEL_TASK_DONE>") -> Rule:
    """``limit`` consecutive user turns without an instruction marker."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        users = [t for t in turns if t.role == "user"][-limit:]
        if len(users) < limit:
            return None
        if all(not any(m in t.content for m in markers) and done_token not in t.content
               for t in users):
            return "user_without_instruction"
        return None
    return rule


_WORD = re.compile(r"[\w'<>]+")


def near_duplicate(a: str, b: str, threshold: float = 0.9) -> bool:
    """True when two texts are near-identical (difflib ratio on normalised words)."""
    wa, wb = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    if not wa and not wb:
        return True
    if not wa or not wb:
        return False
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= threshold


def repetition_loop(threshold: float = 0.9) -> Rule:
    """A loop: the last turn repeats the one before it, or both speakers repeat
    their own previous turn (e.g. a thank-you / you're-welcome loop)."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        if len(turns) >= 2 and near_duplicate(turns[-1].content, turns[-2].content, threshold):
            return "repetition_loop"
        if len(turns) >= 4 and all(near_duplicate(turns[-k].content, turns[-k - 2].content, threshold)
                                   for k in (1, 2)):
            return "repetition_loop"
        return None
    return rule


def backend_error() -> Rule:
    """The engine failed on this dialogue's last request."""
    def rule(turns: Sequence[TurnView], error: str | None) -> str | None:
        return "backend_error" if error else None
    return rule


@dataclass
class Termination:
    """An ordered list of rules; ``check`` returns the first reason that fires."""

    rules: list[Rule] = field(default_factory=list)

    def check(self, turns: Sequence[TurnView], error: str | None = None) -> str | None:
        for rule in self.rules:
            reason = rule(turns, error)
            if reason:
                return reason
        return None

    @classmethod
    def camel(cls, *, max_msgs: int = 40, user_no_instruction: int = 3,
              user_markers: Sequence[str] = ("Instruction:",),
              done_token: str = "<CAMEL_TASK_DONE>", repetition_threshold: float = 0.9
              ) -> "Termination":
        """The role-play rule set, in priority order."""
        return cls([
            backend_error(),
            task_done(done_token),
            assistant_role_flip(user_markers),
            user_without_instruction(user_no_instruction, user_markers, done_token),
            repetition_loop(repetition_threshold),
            max_messages(max_msgs),
        ])
