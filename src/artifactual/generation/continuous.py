"""Continuous batching for the scheduler (see :mod:`.scheduler`, mode "continuous").

Every dialogue keeps one request in flight on the engine. When the engine finishes a
request, its result is cached, applied to its dialogue, and that dialogue's next request
(answered from the cache while possible) is queued at once. Finished dialogues are
handed to ``on_finished`` after each engine step in which any ended, so records are
still flushed as they finish. One :class:`.steps.StepStats` is kept per engine step
in which a request finished (``active``: requests in flight in that step; ``sent``:
requests queued since the previous entry).
"""

from __future__ import annotations

import time
from typing import Sequence

from artifactual.agents.base import Dialogue
from artifactual.generation.backends.base import ChatResult, request_key
from artifactual.generation.steps import Driver, StepStats

__all__ = ["run_continuous"]


class _Loop:
    def __init__(self, sched: Driver):
        self.s = sched
        self.inflight: dict[str, tuple[Dialogue, str]] = {}  # request id -> (dialogue, cache key)
        self.ended: list[Dialogue] = []
        self.sent = self.cached = 0

    def result(self, d: Dialogue, r: ChatResult) -> None:
        d.apply(r)
        if not r.ok and self.s.on_error:
            self.s.on_error(d, r)

    def advance(self, d: Dialogue) -> None:
        """Feed ``d`` from the cache until it needs the engine (then queue it) or ends."""
        backend, cache = self.s.backend, self.s.cache
        while not d.done:
            req = d.next_request()
            if req is None:
                raise RuntimeError(f"dialogue {d.id} waits for others, which continuous batching "
                                   "cannot schedule; run its generator in steps mode")
            key = request_key(backend.model, req)
            hit = cache.get_many([key]).get(key) if cache is not None else None
            if hit is not None:
                self.cached += 1
                self.result(d, hit)
                continue
            queued = backend.submit(req)
            if isinstance(queued, ChatResult):  # could not be sent (e.g. context full)
                self.result(d, queued)
                continue
            self.sent += 1
            self.inflight[queued] = (d, key)
            return
        self.ended.append(d)

    def flush(self) -> int:
        n = len(self.ended)
        if self.ended and self.s.on_finished:
            self.s.on_finished(self.ended)
        self.ended = []
        return n


def run_continuous(sched: Driver, dialogues: Sequence[Dialogue]) -> None:
    """Run ``dialogues`` to the end with continuous batching on ``sched.backend``."""
    loop = _Loop(sched)
    t0 = time.perf_counter()
    try:
        for d in dialogues:
            if not d.done:
                loop.advance(d)
        step = 0
        while loop.inflight:
            in_flight = len(loop.inflight)
            done = sched.backend.poll()
            if not done:
                continue
            fresh = [(loop.inflight.pop(rid), r) for rid, r in done if rid in loop.inflight]
            if sched.cache is not None:
                sched.cache.put_many((key, r) for (_, key), r in fresh)
            for (d, _), r in fresh:
                loop.result(d, r)
                loop.advance(d)
            now = time.perf_counter()
            stats = StepStats(step=step, active=in_flight, sent=loop.sent,
                              cached=loop.cached, finished=loop.flush(), seconds=now - t0,
                              completion_tokens=sum(r.completion_tokens for _, r in fresh))
            sched.stats.append(stats)
            if sched.on_step:
                sched.on_step(stats)
            loop.sent = loop.cached = 0
            t0, step = now, step + 1
        if loop.ended:  # answered wholly from the cache
            finished = loop.flush()
            sched.stats.append(StepStats(step=len(sched.stats), active=0, sent=0, cached=loop.cached,
                                         finished=finished, seconds=time.perf_counter() - t0,
                                         completion_tokens=0))
    finally:
        if loop.inflight:
            sched.backend.cancel()
