"""Step bounds for walks over parse trees and graphs: no document may hang an audit.

Every corpus analysis that walks a parse tree or a discourse graph (connective
classification, discourse units and edges, motif counting, instruction root pairs) calls
:func:`tick` once per step. A walk runs inside :func:`bounded`, which sets a budget of
``base + per_token * len(doc)`` steps for one document and one stage; past it
:class:`StepLimitExceeded` is raised, which the caller turns into an error row naming the
record and the stage (see :func:`artifactual.analysis.corpora.text_audit.text_table`).
The corpus-level entry points (``text_table``, ``discourse_graphs``, ``style_table``,
``verb_noun_pairs``) bound every document; :func:`tick` outside :func:`bounded` counts
nothing, and :func:`head_chain` is bounded by the document's length on its own.

Walks up the head chain must go through :func:`head_chain`: spaCy makes a new ``Token``
object on each access, so ``tok.head is tok`` is never true, even at the root; the root is
the token whose ``head.i`` equals its own ``i``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from artifactual.errors import AnalysisError

__all__ = ["StepLimitExceeded", "StageError", "Guard", "bounded", "bounded_map", "tick",
           "head_chain", "is_root", "BASE_STEPS", "STEPS_PER_TOKEN"]

#: Steps every document gets, whatever its length.
BASE_STEPS = 20_000
#: Further steps per token of the document (a linear walk takes a few per token; the
#: quadratic parts, entity edges and motif pairs, are what this bounds).
STEPS_PER_TOKEN = 400


class StepLimitExceeded(AnalysisError):
    """A walk over one document took more steps than its budget allows."""


@dataclass
class _Budget:
    stage: str
    limit: int
    used: int = 0


_current: ContextVar[_Budget | None] = ContextVar("artifactual_step_budget", default=None)


def budget_for(n_tokens: int, base: int = BASE_STEPS, per_token: int = STEPS_PER_TOKEN) -> int:
    """The step budget of a document of ``n_tokens`` tokens."""
    return base + per_token * max(int(n_tokens), 0)


@contextlib.contextmanager
def bounded(stage: str, n_tokens: int, *, limit: int | None = None) -> Iterator[None]:
    """Run the body under a fresh step budget for one document and ``stage``."""
    token = _current.set(_Budget(stage, budget_for(n_tokens) if limit is None else limit))
    try:
        yield
    finally:
        _current.reset(token)


def bounded_map(stage: str, docs: Any, fn: Any) -> list[Any]:
    """``[fn(doc) for doc in docs]``, each call under its own budget for ``stage``."""
    out = []
    for doc in docs:
        with bounded(stage, len(doc)):
            out.append(fn(doc))
    return out


def tick(n: int = 1) -> None:
    """Count ``n`` steps against the current budget; raise past it."""
    b = _current.get()
    if b is None:
        return  # not inside bounded(): callers that walk a corpus always set one
    b.used += n
    if b.used > b.limit:
        used, b.used = b.used, 0  # a caller that catches and goes on starts afresh
        raise StepLimitExceeded(
            f"{b.stage}: the walk over one document took more than {b.limit:,} steps "
            f"({used:,} counted)",
            fix="the document is skipped for this stage; split very long texts, or report "
                "the text if it is short")


def is_root(tok: Any) -> bool:
    """True for the root of its sentence (its head is itself, compared by index)."""
    return tok.head.i == tok.i


def head_chain(tok: Any) -> Iterator[Any]:
    """The heads above ``tok``, nearest first, ending at the sentence root (bounded)."""
    seen = 0
    limit = len(tok.doc)
    while not is_root(tok):
        tick()
        seen += 1
        if seen > limit:  # a malformed parse with a cycle: stop rather than loop
            raise StepLimitExceeded(f"head chain above token {tok.i} has a cycle",
                                    fix="the document is skipped for this stage")
        tok = tok.head
        yield tok


@dataclass(frozen=True)
class StageError:
    """One document that failed one stage of a corpus analysis."""

    record_id: str
    stage: str
    message: str


class Guard:
    """Runs one stage on one document under a step budget, keeping going on failure.

    A document that exceeds its budget or raises becomes a :class:`StageError` in
    :attr:`errors` and gets ``default``; the rest of the corpus goes on.
    """

    def __init__(self, *, base: int = BASE_STEPS, per_token: int = STEPS_PER_TOKEN) -> None:
        self.base, self.per_token = base, per_token
        self.errors: list[StageError] = []

    def run(self, stage: str, record_id: Any, doc: Any, fn: Any, *args: Any,
            default: Any = None, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` bounded by ``doc``'s length, or ``default`` on failure."""
        try:
            n = len(doc) if doc is not None else 0
        except TypeError:
            n = 0
        try:
            with bounded(stage, n, limit=budget_for(n, self.base, self.per_token)):
                return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (any failure of one document: an error row)
            msg = exc.message if isinstance(exc, AnalysisError) else f"{type(exc).__name__}: {exc}"
            self.errors.append(StageError(str(record_id), stage, msg))
            return default
