"""The free-form text audit's per-text table: style, discourse graph and motifs, bounded.

:func:`text_table` parses every text once (``nlp.pipe``), then runs four stages per
text, each under a step budget (:mod:`.bounds`):

``connectives``  explicit connectives (:func:`.discourse.find_connectives`)
``style``        style columns (:func:`.style.style_row`)
``discourse``    the discourse graph and its edge shares (:func:`.discourse.discourse_graph`)
``motifs``       3-node motif counts (:func:`.motifs.count_motifs`)

A text that exceeds a stage's budget, or raises in it, gets NaN in that stage's columns
(and in the stages that need it: no connectives, no graph; no graph, no motifs) and one
error in the returned :class:`~.bounds.Guard`; the rest of the corpus goes on. Progress
is reported per stage as ``(stage, done, total)``.

:func:`strip_shared_prefixes` removes the words that every text of one ``source_id``
starts with (a continuation setup gives the human and the model the same opening), so a
comparison measures only what each side wrote.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
import networkx as nx
import pandas as pd

from artifactual.analysis.corpora.bounds import Guard

__all__ = ["TEXT_STAGES", "text_table", "strip_shared_prefixes", "MIN_SHARED_WORDS"]

TEXT_STAGES = ("parse", "connectives", "style", "discourse", "motifs")
ProgressFn = Callable[[str, int, "int | None"], None]
#: A shared opening shorter than this many words is left alone (two answers that both
#: begin "The answer is" are not a continuation setup).
MIN_SHARED_WORDS = 4


def _report(progress: ProgressFn | None, stage: str, i: int, total: int, every: int) -> None:
    if progress is not None and (i == total or i % every == 0):
        progress(stage, i, total)


def _style_nan(cols: Sequence[str]) -> dict[str, float]:
    return {c: math.nan for c in cols}


def text_table(frame: pd.DataFrame, *, batch_size: int = 64, progress: ProgressFn | None = None,
               guard: Guard | None = None) -> pd.DataFrame:
    """Style columns, graph stats and motif profile per row of ``frame`` (needs ``text``;
    rows are named by ``id`` in errors when it has one). Each text is parsed once; its docs
    feed every stage. Failures go to ``guard`` (module docstring)."""
    from artifactual.analysis.corpora.discourse import (discourse_graph, find_connectives,
                                                        graph_stats, parse_texts)
    from artifactual.analysis.corpora.motifs import count_motifs, motif_table
    from artifactual.analysis.corpora.style import STYLE_COLUMNS, style_row

    guard = Guard() if guard is None else guard
    ids = frame["id"].astype(str).tolist() if "id" in frame.columns else \
        [str(i) for i in frame.index]
    docs = parse_texts(frame["text"].tolist(), batch_size=batch_size, progress=progress)
    n, every = len(docs), max(1, batch_size)
    conns = []
    for i, (rid, doc) in enumerate(zip(ids, docs), 1):
        conns.append(guard.run("connectives", rid, doc, find_connectives, doc))
        _report(progress, "connectives", i, n, every)
    style_cols = [c for c in STYLE_COLUMNS if c not in ("n_chars", "n_words", "n_sentences")]
    conn_cols = [c for c in STYLE_COLUMNS if "connectives" in c]
    style = []
    for i, (rid, doc, cs) in enumerate(zip(ids, docs, conns), 1):
        row = guard.run("style", rid, doc, style_row, doc, cs if cs is not None else [])
        if row is None:
            row = {"n_chars": len(doc.text), **_style_nan(style_cols)}
        elif cs is None:
            row.update(_style_nan(conn_cols))
        style.append(row)
        _report(progress, "style", i, n, every)
    graphs: list[nx.DiGraph | None] = []
    for i, (rid, doc, cs) in enumerate(zip(ids, docs, conns), 1):
        graphs.append(None if cs is None else
                      guard.run("discourse", rid, doc, discourse_graph, doc, connectives=cs))
        _report(progress, "discourse", i, n, every)
    counts = []
    for i, (rid, doc, g) in enumerate(zip(ids, docs, graphs), 1):
        counts.append(None if g is None else guard.run("motifs", rid, doc, count_motifs, g))
        _report(progress, "motifs", i, n, every)
    empty = nx.DiGraph()
    stats = pd.DataFrame([graph_stats(g) if g is not None else
                          {k: math.nan for k in graph_stats(empty)} for g in graphs],
                         index=frame.index)
    motifs = motif_table([empty if g is None else g for g in graphs], index=frame.index,
                         counts=counts).drop(columns="n_edges")
    style_frame = pd.DataFrame(style, index=frame.index, columns=list(STYLE_COLUMNS))
    return pd.concat([frame, style_frame, stats, motifs], axis=1)


def _common_words(texts: Sequence[str]) -> int:
    """Number of leading whitespace-separated words that all ``texts`` share."""
    split = [t.split() for t in texts]
    k = 0
    for words in zip(*split):
        if any(w != words[0] for w in words[1:]):
            break
        k += 1
    return k


def _drop_words(text: str, k: int) -> str:
    """``text`` without its first ``k`` whitespace-separated words."""
    rest = text
    for _ in range(k):
        rest = rest.lstrip()
        cut = len(rest.split(maxsplit=1)[0]) if rest.strip() else len(rest)
        rest = rest[cut:]
    return rest.lstrip()


def strip_shared_prefixes(frame: pd.DataFrame, *, min_words: int = MIN_SHARED_WORDS) -> pd.DataFrame:
    """``frame`` with each ``source_id``'s shared opening removed from all its texts.

    Applies where a ``source_id`` has two or more texts from more than one group and they
    all start with the same ``min_words`` or more words. Adds ``shared_prefix_words`` (0
    where nothing was stripped). Rows without a ``source_id`` are left as they are.
    """
    out = frame.copy()
    out["shared_prefix_words"] = 0
    if "source_id" not in out.columns or out.empty:
        return out
    for _, part in out[out["source_id"].notna()].groupby("source_id", sort=False):
        if len(part) < 2 or ("group" in part.columns and part["group"].nunique() < 2):
            continue
        texts = part["text"].astype(str).tolist()
        k = _common_words(texts)
        if k < min_words or all(k >= len(t.split()) for t in texts):
            continue
        out.loc[part.index, "text"] = [_drop_words(t, k) for t in texts]
        out.loc[part.index, "shared_prefix_words"] = k
    return out
