"""What the two scheduling modes share (:mod:`.scheduler` steps, :mod:`.continuous`):
:class:`StepStats`, one per engine step, and :class:`Driver`, what a scheduling loop reads
from the scheduler that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from artifactual.agents.base import Dialogue
from artifactual.generation.backends.base import Backend, ChatResult
from artifactual.generation.store import ResultCache

__all__ = ["StepStats", "Driver"]


@dataclass
class StepStats:
    step: int
    active: int
    sent: int
    cached: int
    finished: int
    seconds: float
    completion_tokens: int


class Driver(Protocol):
    """The engine, cache and callbacks a scheduling loop drives dialogues with
    (:class:`.scheduler.Scheduler` is one)."""

    backend: Backend
    cache: ResultCache | None
    on_finished: Callable[[list[Dialogue]], None] | None
    on_step: Callable[[StepStats], None] | None
    on_error: Callable[[Dialogue, ChatResult], None] | None
    stats: list[StepStats]
