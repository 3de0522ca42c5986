"""The shared text pipeline: parse every turn once with spaCy, embed it once with MiniLM.

An audit builds one :class:`TextContext` (:func:`build_context`) for all its turns and
passes it to every detector that declared ``needs=("docs", ...)`` or
``needs=("embeddings", ...)`` (see :mod:`.registry`). Building it costs

* one ``nlp.pipe`` pass over the distinct turn texts, in batches, with the components
  no detector reads disabled (:data:`DISABLE`: ``ner`` and ``lemmatizer``; the tagger,
  parser and attribute ruler stay, so ``tag_``, ``pos_``, ``dep_``, ``morph`` and
  sentence boundaries are set), and
* one batched encoding of the distinct turn texts and task statements with the embedded
  all-MiniLM-L6-v2 (:func:`artifactual.assets.encoder_dir`); vectors are L2-normalised,
  so a dot product is the cosine similarity. MiniLM reads the first 256 word pieces
  of a text; spaCy reads the first ``max_chars`` characters (default 20,000).

Identical texts (a repeated "Thank you.") are parsed and embedded once. The loaded
spaCy pipeline and encoder are cached per process.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from artifactual.errors import AnalysisError

__all__ = ["DISABLE", "TextContext", "build_context", "context_for", "load_nlp",
           "load_encoder", "parse", "embed", "task_texts", "turn_texts"]

DISABLE: tuple[str, ...] = ("ner", "lemmatizer")
ProgressFn = Callable[[str, int, "int | None"], None]
_EMBED_CHUNK = 512  # texts per progress report while encoding


@lru_cache(maxsize=4)
def load_nlp(disable: tuple[str, ...] = DISABLE) -> Any:
    """The embedded spaCy pipeline (``assets.spacy_model()``) with ``disable`` switched off."""
    import spacy

    from artifactual.assets import spacy_model

    return spacy.load(spacy_model(), disable=list(disable))


@lru_cache(maxsize=2)
def load_encoder(name_or_path: str | None = None, device: str | None = None) -> Any:
    """A SentenceTransformer on the embedded MiniLM (or ``name_or_path``), loaded once."""
    import transformers.utils.logging as hf_logging
    from sentence_transformers import SentenceTransformer

    from artifactual.assets import resolve_encoder

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code never prints
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return SentenceTransformer(resolve_encoder(name_or_path), device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _unique(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order, and each input's position among them."""
    seen: dict[str, int] = {}
    where = np.fromiter((seen.setdefault(t, len(seen)) for t in texts), dtype=np.int64,
                        count=len(texts))
    return list(seen), where


def parse(texts: Sequence[str], *, batch_size: int = 128, max_chars: int = 20_000,
          disable: tuple[str, ...] = DISABLE, progress: ProgressFn | None = None) -> list[Any]:
    """spaCy docs for ``texts`` in order; one ``nlp.pipe`` pass over the distinct texts."""
    nlp = load_nlp(tuple(disable))
    distinct, where = _unique(texts)
    docs: list[Any] = []
    total = len(distinct)
    stream = (t[:max_chars] for t in distinct)
    for i, doc in enumerate(nlp.pipe(stream, batch_size=batch_size), 1):
        docs.append(doc)
        if progress is not None and (i == total or i % batch_size == 0):
            progress("parse", i, total)
    return [docs[k] for k in where]


def embed(texts: Sequence[str], *, batch_size: int = 64, encoder: str | None = None,
          progress: ProgressFn | None = None) -> np.ndarray:
    """L2-normalised MiniLM vectors for ``texts`` (n x 384, float32), distinct texts once."""
    distinct, where = _unique(texts)
    if not distinct:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_encoder(encoder)
    # Sorted by length over all texts, so every batch pads little (the encoder sorts only
    # within one call, and we call it per chunk to report progress).
    order = np.argsort([len(t) for t in distinct], kind="stable")
    dim = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension  # renamed in sentence-transformers 6
    vectors = np.empty((len(distinct), dim()), dtype=np.float32)
    for start in range(0, len(distinct), _EMBED_CHUNK):
        rows = order[start:start + _EMBED_CHUNK]
        vectors[rows] = model.encode([distinct[i] for i in rows], batch_size=batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        if progress is not None:
            progress("embed", start + len(rows), len(distinct))
    return vectors[where]


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


@dataclass
class TextContext:
    """Parsed docs and embeddings of one audit's turns, keyed by the turns' index labels.

    ``docs`` / ``embeddings`` are None when not built. ``tasks`` maps conversation_id to
    its task statement and ``task_embeddings`` to that statement's vector.
    """

    index: pd.Index
    texts: list[str]
    docs: list[Any] | None = None
    embeddings: np.ndarray | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    task_embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    _pos: dict[Hashable, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._pos = {label: i for i, label in enumerate(self.index)}

    def positions(self, labels: Iterable[Hashable]) -> list[int]:
        """Row positions of turn index ``labels``; AnalysisError for a label not covered."""
        try:
            return [self._pos[label] for label in labels]
        except KeyError as exc:
            raise AnalysisError(f"turn {exc.args[0]!r} is not in the text context",
                                fix="build the context from the same turns table") from None

    def docs_for(self, labels: Iterable[Hashable]) -> list[Any]:
        """spaCy docs of the turns ``labels``, in that order."""
        if self.docs is None:
            raise AnalysisError("the text context holds no parsed docs",
                                fix='build it with needs=("docs",)')
        return [self.docs[i] for i in self.positions(labels)]

    def embeddings_for(self, labels: Iterable[Hashable]) -> np.ndarray:
        """Embedding rows of the turns ``labels``, in that order."""
        if self.embeddings is None:
            raise AnalysisError("the text context holds no embeddings",
                                fix='build it with needs=("embeddings",)')
        return self.embeddings[self.positions(labels)]

    def covers(self, turns: pd.DataFrame, needs: Iterable[str] = ()) -> bool:
        """True when every turn of ``turns`` is in this context with the same text and
        everything in ``needs`` was built."""
        if ("docs" in needs and self.docs is None) or (
                "embeddings" in needs and self.embeddings is None):
            return False
        if any(label not in self._pos for label in turns.index):
            return False
        return all(self.texts[self._pos[label]] == text
                   for label, text in zip(turns.index, turn_texts(turns)))


def build_context(turns: pd.DataFrame, *, tasks: Mapping[str, str] | None = None,
                  needs: Iterable[str] = ("docs", "embeddings"), batch_size: int = 128,
                  encoder: str | None = None, progress: ProgressFn | None = None) -> TextContext:
    """Parse and/or embed every turn of ``turns`` once (see the module docstring)."""
    needs = set(needs)
    texts = turn_texts(turns)
    ctx = TextContext(index=turns.index, texts=texts, tasks=dict(tasks or {}))
    if "docs" in needs:
        ctx.docs = parse(texts, batch_size=batch_size, progress=progress)
    if "embeddings" in needs:
        ids = list(ctx.tasks)
        vectors = embed(texts + [ctx.tasks[i] for i in ids], batch_size=min(batch_size, 64),
                        encoder=encoder, progress=progress)
        ctx.embeddings = vectors[:len(texts)]
        ctx.task_embeddings = {i: vectors[len(texts) + k] for k, i in enumerate(ids)}
    return ctx


def context_for(turns: pd.DataFrame, context: TextContext | None,
                needs: Iterable[str]) -> TextContext:
    """``context`` when it covers ``turns`` and ``needs``; else a new one built for them
    (keeping ``context``'s tasks)."""
    needs = tuple(needs)
    if context is not None and context.covers(turns, needs):
        return context
    return build_context(turns, tasks=context.tasks if context is not None else None,
                         needs=needs)
