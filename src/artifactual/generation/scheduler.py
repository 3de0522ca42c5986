"""Drive many dialogues through one engine at once.

Two modes, same results per request (every request carries its own seed):

- **steps** (``continuous=False``): each active dialogue exposes its next request; one
  step sends all of them as a single backend call (after answering what it can from
  the cache), applies the results, lets finished dialogues leave, and repeats. A
  dialogue that is not done but returns ``None`` waits this step (e.g. for a shared
  pool another unit fills), so generators with shared state (self-instruct rounds,
  society plans) need this mode.
- **continuous** (``continuous=True``, for backends with ``submit``/``poll``: vLLM):
  every dialogue's request is queued on the engine; whenever one finishes, that
  dialogue's next request is queued at once, without waiting for the slowest reply
  of a step. The engine's batch stays full, which is the point of continuous batching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from artifactual.agents.base import Dialogue
from artifactual.generation.backends.base import Backend, ChatResult, request_key
from artifactual.generation.continuous import run_continuous
from artifactual.generation.steps import StepStats
from artifactual.generation.store import ResultCache

__all__ = ["Scheduler", "StepStats"]


@dataclass
class Scheduler:
    """Drive dialogues to completion through one backend.

    ``on_finished`` receives the dialogues that ended in a step (write them
    there); ``on_step`` receives :class:`StepStats` (progress bars).
    """

    backend: Backend
    cache: ResultCache | None = None
    on_finished: Callable[[list[Dialogue]], None] | None = None
    on_step: Callable[[StepStats], None] | None = None
    on_error: Callable[[Dialogue, ChatResult], None] | None = None
    continuous: bool = False
    stats: list[StepStats] = field(default_factory=list)

    async def run(self, dialogues: Sequence[Dialogue]) -> None:
        """Run until every dialogue is done."""
        if self.continuous and hasattr(self.backend, "submit"):
            run_continuous(self, dialogues)
            return
        active = [d for d in dialogues if not d.done]
        step = 0
        while active:
            t0 = time.perf_counter()
            asked = [(d, d.next_request()) for d in active]
            stepping = [d for d, r in asked if r is not None]
            requests = [r for d, r in asked if r is not None]
            if not requests and not any(d.done for d in active):
                raise RuntimeError(f"{len(active)} dialogues are all waiting and none can step")
            keys = [request_key(self.backend.model, r) for r in requests]
            hits = self.cache.get_many(keys) if self.cache else {}
            todo = [i for i, k in enumerate(keys) if k not in hits]
            fresh = await self.backend.chat([requests[i] for i in todo]) if todo else []
            if len(fresh) != len(todo):
                raise RuntimeError(f"backend {self.backend.name} returned {len(fresh)} results "
                                   f"for {len(todo)} requests")
            results: list[ChatResult] = [hits[k] if k in hits else None for k in keys]  # type: ignore[misc]
            for i, r in zip(todo, fresh):
                results[i] = r
            if self.cache is not None:
                self.cache.put_many((keys[i], r) for i, r in zip(todo, fresh))
            for d, r in zip(stepping, results):
                d.apply(r)
                if not r.ok and self.on_error:
                    self.on_error(d, r)
            finished = [d for d in active if d.done]
            if finished and self.on_finished:
                self.on_finished(finished)
            active = [d for d in active if not d.done]
            s = StepStats(step=step, active=len(requests), sent=len(todo), cached=len(hits),
                          finished=len(finished), seconds=time.perf_counter() - t0,
                          completion_tokens=sum(r.completion_tokens for r in fresh))
            self.stats.append(s)
            if self.on_step:
                self.on_step(s)
            step += 1
