"""The shared text pipeline: parse each turn once with spaCy, embed it once with MiniLM.

An audit builds one :class:`TextContext` for all its turns and passes it to every
detector that declared ``needs=("docs", ...)`` or ``needs=("embeddings", ...)`` (see
:mod:`.registry`). A **lazy** context (``build_context(..., lazy=True)``, what
:func:`artifactual.analysis.audit` uses) computes nothing up front: each detector asks
for the turns it reads, and only those are parsed or embedded, each distinct text once,
in one batch per request, cached for the detectors after it. So

* ``courtesy_loop`` tokenises every turn (:func:`tokens`, the tokenizer alone) and tags
  only the turns whose tokens could be courtesy-only, with the parser switched off
  (level ``"tags"``: tagger and attribute ruler, so ``tag_``, ``pos_`` and ``morph`` are
  set, but no ``dep_`` or sentences);
* ``role_adherence`` (off by default) asks for full parses (level ``"docs"``: tagger,
  parser, attribute ruler; :data:`DISABLE` switches off ``ner`` and ``lemmatizer``);
* ``content_repetition`` embeds only turns long enough to compare, and ``digression``
  the turns of the conversations it applies to, plus their task statements.

An **eager** context (the default of :func:`build_context`) parses and/or embeds every
turn up front, as a sharded audit's workers do (:mod:`artifactual.scale.audit_work`).
Both give the same docs and vectors for the same text. spaCy reads the first
``max_chars`` characters of a text (default 20,000); the encoder, its precision and
MiniLM's 256-word-piece limit are described in :mod:`.encoder`. The loaded spaCy
pipelines and encoder are cached per process. ``TextContext.stats`` counts what was
parsed, tagged and embedded, and the seconds it took.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from artifactual.analysis.encoder import embed, load_encoder, resolve_precision, unique
from artifactual.errors import AnalysisError

__all__ = ["DISABLE", "LEVELS", "TextContext", "build_context", "context_for", "load_nlp",
           "load_encoder", "parse", "tokens", "embed", "task_texts", "turn_texts", "text_models"]

DISABLE: tuple[str, ...] = ("ner", "lemmatizer")
LEVELS: dict[str, tuple[str, ...]] = {"docs": DISABLE, "tags": (*DISABLE, "parser")}
ProgressFn = Callable[[str, int, "int | None"], None]


@lru_cache(maxsize=4)
def load_nlp(disable: tuple[str, ...] = DISABLE) -> Any:
    """The embedded spaCy pipeline (``assets.spacy_model()``) with ``disable`` switched off."""
    import spacy

    from artifactual.assets import spacy_model

    return spacy.load(spacy_model(), disable=list(disable))


def parse(texts: Sequence[str], *, batch_size: int = 128, max_chars: int = 20_000,
          disable: tuple[str, ...] = DISABLE, progress: ProgressFn | None = None) -> list[Any]:
    """spaCy docs for ``texts`` in order; one ``nlp.pipe`` pass over the distinct texts."""
    nlp = load_nlp(tuple(disable))
    distinct, where = unique(texts)
    docs: list[Any] = []
    total = len(distinct)
    stream = (t[:max_chars] for t in distinct)
    for i, doc in enumerate(nlp.pipe(stream, batch_size=batch_size), 1):
        docs.append(doc)
        if progress is not None and (i == total or i % batch_size == 0):
            progress("parse", i, total)
    return [docs[k] for k in where]


def tokens(texts: Sequence[str], *, max_chars: int = 20_000) -> list[Any]:
    """Tokenizer-only spaCy docs for ``texts`` (the same tokens a parse has; no tags)."""
    tokenizer = load_nlp().tokenizer
    distinct, where = unique(texts)
    docs = list(tokenizer.pipe(t[:max_chars] for t in distinct))
    return [docs[k] for k in where]


def task_texts(conversations: pd.DataFrame) -> dict[str, str]:
    """conversation_id -> task statement: ``specified_task``, else ``task``; blank ones left out."""
    out: dict[str, str] = {}
    if conversations is None or "conversation_id" not in conversations.columns:
        return out
    cols = [c for c in ("specified_task", "task") if c in conversations.columns]
    for row in conversations[["conversation_id", *cols]].itertuples(index=False):
        for value in row[1:]:
            if isinstance(value, str) and value.strip():
                out[str(row[0])] = value
                break
    return out


def turn_texts(turns: pd.DataFrame) -> list[str]:
    """Each turn's content as text ("" where missing), in row order."""
    if "content" not in turns.columns:
        raise AnalysisError("turns table lacks column 'content'",
                            fix="build it with artifactual.analysis.tables.to_frames")
    return ["" if pd.isna(c) else str(c) for c in turns["content"]]


def _new_stats() -> dict[str, float]:
    return {"parsed": 0, "tagged": 0, "embedded": 0, "parse_s": 0.0, "embed_s": 0.0}


@dataclass
class TextContext:
    """Parsed docs and embeddings of one audit's turns, keyed by the turns' index labels.

    Eager: ``docs`` / ``embeddings`` hold every turn's (None when not built). Lazy
    (``lazy=True``): they stay None and :meth:`docs_for` / :meth:`embeddings_for` compute
    what is asked for (module docstring). ``tasks`` maps conversation_id to its task
    statement and ``task_embeddings`` to that statement's vector.
    """

    index: pd.Index
    texts: list[str]
    docs: list[Any] | None = None
    embeddings: np.ndarray | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    task_embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    lazy: bool = False
    precision: str | None = None
    encoder: str | None = None
    progress: ProgressFn | None = field(default=None, repr=False)
    stats: dict[str, float] = field(default_factory=_new_stats)
    _pos: dict[Hashable, int] = field(default_factory=dict, repr=False)
    _docs: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {level: {} for level in LEVELS}, repr=False)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: per-text results that detectors derive and share (e.g. each turn's dialogue acts,
    #: :mod:`.detectors.acts`), keyed by what they are ("acts"), then by text
    derived: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._pos = {label: i for i, label in enumerate(self.index)}

    def positions(self, labels: Iterable[Hashable]) -> list[int]:
        """Row positions of turn index ``labels``; AnalysisError for a label not covered."""
        try:
            return [self._pos[label] for label in labels]
        except KeyError as exc:
            raise AnalysisError(f"turn {exc.args[0]!r} is not in the text context",
                                fix="build the context from the same turns table") from None

    def _texts(self, labels: Iterable[Hashable]) -> list[str]:
        return [self.texts[i] for i in self.positions(labels)]

    def docs_for(self, labels: Iterable[Hashable], level: str = "docs") -> list[Any]:
        """spaCy docs of the turns ``labels``, in that order; ``level="tags"`` accepts
        docs without a dependency parse (module docstring)."""
        if level not in LEVELS:
            raise AnalysisError(f"unknown parse level {level!r}", fix=f"use one of {list(LEVELS)}")
        if self.docs is not None:
            return [self.docs[i] for i in self.positions(labels)]
        if not self.lazy:
            raise AnalysisError("the text context holds no parsed docs",
                                fix='build it with needs=("docs",) or lazy=True')
        texts = self._texts(labels)
        full, tagged = self._docs["docs"], self._docs["tags"]
        have = full if level == "docs" else {**tagged, **full}
        todo = [t for t in dict.fromkeys(texts) if t not in have]
        if todo:
            t0 = time.perf_counter()
            for text, doc in zip(todo, parse(todo, disable=LEVELS[level], progress=self.progress)):
                self._docs[level][text] = doc
            self.stats["parse_s"] += time.perf_counter() - t0
            self.stats["parsed" if level == "docs" else "tagged"] += len(todo)
        if level == "docs":
            return [full[t] for t in texts]
        return [full[t] if t in full else tagged[t] for t in texts]

    def tokens_for(self, labels: Iterable[Hashable]) -> list[Any]:
        """Tokenizer-only docs of the turns ``labels`` (the eager context's parses when it
        has them)."""
        if self.docs is not None:
            return self.docs_for(labels)
        return tokens(self._texts(labels))

    def _embed(self, texts: list[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            t0 = time.perf_counter()
            for text, vec in zip(todo, embed(todo, encoder=self.encoder,
                                             precision=self.precision, progress=self.progress)):
                self._vectors[text] = vec
            self.stats["embed_s"] += time.perf_counter() - t0
            self.stats["embedded"] += len(todo)

    def embeddings_for(self, labels: Iterable[Hashable],
                       with_tasks: Iterable[str] = ()) -> np.ndarray:
        """Embedding rows of the turns ``labels``, in that order. A lazy context also
        embeds the task statements of conversations ``with_tasks`` in the same pass
        (see :meth:`task_vectors`)."""
        if self.embeddings is not None:
            return self.embeddings[self.positions(labels)]
        if not self.lazy:
            raise AnalysisError("the text context holds no embeddings",
                                fix='build it with needs=("embeddings",) or lazy=True')
        texts = self._texts(labels)
        tasks = [i for i in dict.fromkeys(with_tasks)
                 if i in self.tasks and i not in self.task_embeddings]
        self._embed(texts + [self.tasks[i] for i in tasks])
        for i in tasks:
            self.task_embeddings[i] = self._vectors[self.tasks[i]]
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def task_vectors(self, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """conversation_id -> task vector for ``ids`` (default: every task), embedding
        the missing ones of a lazy context."""
        wanted = [i for i in (self.tasks if ids is None else ids) if i in self.tasks]
        if self.lazy:
            self.embeddings_for([], with_tasks=wanted)
        return {i: self.task_embeddings[i] for i in wanted if i in self.task_embeddings}

    def covers(self, turns: pd.DataFrame, needs: Iterable[str] = ()) -> bool:
        """True when every turn of ``turns`` is in this context with the same text and
        everything in ``needs`` was built (or, lazy, can be)."""
        if not self.lazy and (("docs" in needs and self.docs is None) or (
                "embeddings" in needs and self.embeddings is None)):
            return False
        if any(label not in self._pos for label in turns.index):
            return False
        return all(self.texts[self._pos[label]] == text
                   for label, text in zip(turns.index, turn_texts(turns)))


def build_context(turns: pd.DataFrame, *, tasks: Mapping[str, str] | None = None,
                  needs: Iterable[str] = ("docs", "embeddings"), batch_size: int = 128,
                  encoder: str | None = None, precision: str | None = None,
                  lazy: bool = False, progress: ProgressFn | None = None) -> TextContext:
    """A context over ``turns``: lazy, or with every turn parsed and/or embedded once
    (``needs``; module docstring). ``precision`` is the encoder's (:mod:`.encoder`)."""
    needs = set(needs)
    texts = turn_texts(turns)
    ctx = TextContext(index=turns.index, texts=texts, tasks=dict(tasks or {}), lazy=lazy,
                      precision=resolve_precision(precision), encoder=encoder,
                      progress=progress)
    if lazy:
        return ctx
    if "docs" in needs:
        t0 = time.perf_counter()
        ctx.docs = parse(texts, batch_size=batch_size, progress=progress)
        ctx.stats.update(parse_s=time.perf_counter() - t0, parsed=len(set(texts)))
    if "embeddings" in needs:
        t0 = time.perf_counter()
        ids = list(ctx.tasks)
        all_texts = texts + [ctx.tasks[i] for i in ids]
        vectors = embed(all_texts, batch_size=min(batch_size, 64), encoder=encoder,
                        precision=ctx.precision, progress=progress)
        ctx.embeddings = vectors[:len(texts)]
        ctx.task_embeddings = {i: vectors[len(texts) + k] for k, i in enumerate(ids)}
        ctx.stats.update(embed_s=time.perf_counter() - t0, embedded=len(set(all_texts)))
    return ctx


def context_for(turns: pd.DataFrame, context: TextContext | None,
                needs: Iterable[str]) -> TextContext:
    """``context`` when it covers ``turns`` and ``needs``; else a new one built for them
    (keeping ``context``'s tasks and precision)."""
    needs = tuple(needs)
    if context is not None and context.covers(turns, needs):
        return context
    return build_context(turns, tasks=context.tasks if context is not None else None,
                         precision=context.precision if context is not None else None,
                         needs=needs)


def text_models(context: TextContext | None, precision: str | None) -> dict[str, Any]:
    """What an audit's text pipeline used and did, for ``summary.json`` ``text_models``:
    the encoder precision, and how many distinct texts were parsed (full), tagged
    (no parser) and embedded, with the seconds each took."""
    out: dict[str, Any] = {"encoder_precision": precision}
    if context is not None:
        out.update({k: (round(v, 3) if isinstance(v, float) else int(v))
                    for k, v in context.stats.items()})
    return out
