"""The worker side of :func:`artifactual.scale.audit.audit_ray`: what runs in Ray workers.

- :func:`read_batch` (a ``map_batches`` function, one task per block of files): reads
  each input file with the ordinary readers into its turns and conversations tables
  (conversation ids as read) and the file's *events* in reading order: each read
  error, each skipped non-conversation record, each conversation's id and source. The
  driver replays the events in input order, so duplicate ids are renamed and errors
  listed exactly as the single-process audit does.
- :func:`cut_shards`: consecutive runs of whole conversations.
- :class:`ShardAuditor` (a ``map_batches`` callable class, one instance per actor):
  loads spaCy and MiniLM once, then per shard builds the shard's
  :class:`~artifactual.analysis.text.TextContext` (parse once, embed once) and runs the
  conversation-scope detectors; it ships back their frames, plus the turn and task
  embeddings when a corpus-scope detector (``digression``) needs them.

Payloads travel as pickled bytes in one binary column: pandas dtypes, index labels and
float32 arrays arrive exactly as they left.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from artifactual.readers import ErrorLog, ReadError, read
from artifactual.records import Conversation

__all__ = ["FileRead", "read_batch", "Shard", "cut_shards", "ShardResult", "ShardAuditor"]


@dataclass
class FileRead:
    """One input file, read: events in reading order and its two tables.

    An event is ``("error", ReadError)``, ``("skip",)`` (a record that is not a
    conversation) or ``("conversation", id, source)``. ``failure`` is set (and the rest
    empty) when reading raised something the readers do not turn into a ReadError.
    """

    events: list[tuple[Any, ...]] = field(default_factory=list)
    turns: pd.DataFrame | None = None
    conversations: pd.DataFrame | None = None
    failure: str | None = None


class _EventLog(ErrorLog):
    """An error log that also records each error as an event, in order."""

    def __init__(self, events: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self._events = events

    def add(self, error: ReadError | None = None, **fields: Any) -> ReadError:
        err = super().add(error, **fields)
        self._events.append(("error", err))
        return err


def read_file(path: str, format: str | None,
              options: Mapping[str, Any] | None) -> FileRead:
    """Read one file as :func:`artifactual.readers.read` does, keeping the event order."""
    from artifactual.analysis.tables import to_frames

    out = FileRead()
    log = _EventLog(out.events)
    convs: list[Conversation] = []
    for rec in read(path, format=format, errors=log, options=options):
        if isinstance(rec, Conversation):
            out.events.append(("conversation", rec.id, rec.source))
            convs.append(rec)
        else:
            out.events.append(("skip",))
    out.turns, out.conversations = to_frames(convs)
    return out


def read_batch(batch: dict[str, np.ndarray], *, format: str | None,
               options: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """``map_batches`` function: columns ``index``, ``path`` -> ``index``, ``result``
    (a pickled :class:`FileRead` per file)."""
    out = []
    for path in batch["path"]:
        try:
            res = read_file(str(path), format, options)
        except Exception as exc:  # noqa: BLE001 - reported by the driver, naming the file
            res = FileRead(failure=f"{type(exc).__name__}: {exc}")
        out.append(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
    return {"index": np.asarray(batch["index"]), "result": np.array(out, dtype=object)}


@dataclass(frozen=True)
class Shard:
    """Conversations ``[conv_start, conv_stop)`` and their turns ``[turn_start, turn_stop)``
    (row positions in the audit's tables)."""

    index: int
    conv_start: int
    conv_stop: int
    turn_start: int
    turn_stop: int


def cut_shards(n_turns: Sequence[int], size: int) -> list[Shard]:
    """Cut conversations with ``n_turns[i]`` turns each (table order; a conversation's
    turns are consecutive) into shards of ``size`` whole conversations (the last may
    hold fewer)."""
    if size < 1:
        raise ValueError(f"shard size must be >= 1, got {size}")
    bounds = np.concatenate([[0], np.cumsum(np.asarray(n_turns, dtype=np.int64))])
    shards = []
    for k in range(math.ceil(len(n_turns) / size)):
        a, b = k * size, min((k + 1) * size, len(n_turns))
        shards.append(Shard(k, a, b, int(bounds[a]), int(bounds[b])))
    return shards


@dataclass
class ShardResult:
    """What one shard sends back: each conversation-scope detector's frame (index = the
    turns' index labels), the turn and task embeddings when asked for, timings."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    embeddings: np.ndarray | None = None
    task_embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    actor_init_s: float | None = None  # set on the first shard an actor audits
    actor: str = ""
    failure: str | None = None
    fix: str | None = None


class ShardAuditor:
    """``map_batches`` callable class: audits whole shards, one actor's models loaded once.

    ``local`` names the conversation-scope detectors to run, ``functions`` their
    registered functions (so detectors registered outside artifactual reach the
    workers when their module is importable there), ``needs`` what the shard's text
    context holds, ``ship`` whether embeddings go back.
    """

    def __init__(self, plan: Any, local: Sequence[str], functions: Mapping[str, Any],
                 needs: Sequence[str], ship: bool) -> None:
        t0 = time.perf_counter()
        importlib.import_module("artifactual.analysis")  # registers the built-in detectors
        from artifactual.analysis.registry import available_detectors, detector
        from artifactual.analysis.text import load_encoder, load_nlp

        known = set(available_detectors())
        for name, fn in functions.items():
            if name not in known:
                detector(name, needs=tuple(getattr(fn, "needs", ())),
                         scope=getattr(fn, "scope", "conversation"))(fn)
        self.plan, self.local, self.needs, self.ship = plan, list(local), set(needs), ship
        if "docs" in self.needs:
            load_nlp()
        if "embeddings" in self.needs:
            load_encoder()
        self.init_s: float | None = time.perf_counter() - t0
        self.actor = f"{os.uname().nodename}:{os.getpid()}"

    def _audit(self, turns: pd.DataFrame, tasks: dict[str, str]) -> ShardResult:
        from artifactual.analysis.audit import run_detectors
        from artifactual.analysis.text import build_context

        ctx = (build_context(turns, tasks=tasks, needs=self.needs, precision=self.plan.precision)
               if self.needs and len(turns) else None)
        res = ShardResult(frames=run_detectors(self.plan, turns, ctx, names=self.local))
        if self.ship and ctx is not None:
            res.embeddings = ctx.embeddings
            res.task_embeddings = dict(ctx.task_embeddings)
        return res

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from artifactual.errors import ArtifactualError

        out = []
        for payload in batch["payload"]:
            t0 = time.perf_counter()
            turns, tasks = pickle.loads(payload)
            try:
                res = self._audit(turns, tasks)
            except ArtifactualError as exc:
                where = f"{exc.where}: " if exc.where else ""
                res = ShardResult(failure=where + exc.message, fix=exc.fix)
            except Exception as exc:  # noqa: BLE001 - reported by the driver, naming files
                res = ShardResult(failure=f"{type(exc).__name__}: {exc}\n"
                                          f"{traceback.format_exc(limit=4)}")
            res.seconds, res.actor = time.perf_counter() - t0, self.actor
            res.actor_init_s, self.init_s = self.init_s, None
            out.append(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
        return {"shard": np.asarray(batch["shard"]), "result": np.array(out, dtype=object)}
