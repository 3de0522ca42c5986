"""Digression and topic drift, per turn, from MiniLM embeddings (detector ``"digression"``).

Every turn is embedded once (:mod:`.text`). For a turn *t* of a conversation:

* ``task_similarity``: cosine to the task statement (``specified_task``, else ``task``;
  when a conversation has neither, its first turn is the task and gets NaN);
* ``centroid_similarity``: cosine to the running centroid (the mean) of the turns
  before it in the same conversation (NaN for the first turn);
* ``drift``: ``1 - task_similarity``. A conversation's drift score is its mean
  ``drift`` over turns (``drift_mean`` in the conversations table; ``mean_drift`` in
  the summary is the mean of that over conversations);
* ``prev_similarity``: cosine to the turn just before it (NaN for the first turn);
* ``reply_similarity``: the highest cosine to the ``reply_window`` (3) turns before it:
  what the turn answers (the last request, even with a tool output or an
  acknowledgement in between);
* ``instruction_similarity``: cosine to the instruction of the phase the conversation
  carries out (``instructions``: ChatDev's phase prompt, the conversations column
  ``instruction``), NaN without one. A turn that carries out its sub-task is on task even
  far from the overall task's words;
* ``digression`` (off-task turn): the turn has at least ``min_words`` words and at least
  ``min_content_words`` (4) topic-bearing words (:func:`content_words`: not stop words,
  not thanks/closings/offers of help), its task similarity is no higher than the task
  threshold and so is its instruction similarity, and, unless it is the first turn,
  both its centroid similarity and its reply similarity are no higher than the thread
  threshold. In words: it is about something, and neither its task, nor the instruction
  of its phase, nor its conversation so far, nor what it answers explains it better than
  unrelated material does.

**Null thresholds.** With ``null="auto"`` and at least ``min_null_tasks`` (20) other
distinct task statements in the audited corpus, the thresholds are per turn: the
``null_quantile`` (0.95) quantile of the turn's similarity to the task statements,
and to the overall centroids, of up to ``null_sample`` (200, seeded) conversations
with a different task. A turn is off-task when it is no closer to its own task than
to the top 5% of unrelated tasks. The corpus null only ever lowers the threshold (the
threshold used is the smaller of it and the fixed one): in a corpus whose tasks share
vocabulary (logic puzzles, one booking domain) the other tasks are not unrelated
material, and a turn as close to its own task as to theirs is still on topic. Otherwise
(``null="fixed"``, or too few other tasks) both thresholds are ``threshold`` = 0.20:
the 95th percentile of MiniLM cosine similarity between an instruction and the
input+output of a *different* task in the 175 Self-Instruct seed tasks (0.199; 0.182
between two unrelated responses; the median for unrelated pairs is 0.04 and for an
instruction and its own response 0.31). Turns shorter than ``min_words`` (5) words
("4", "Thanks!") are never flagged: their embeddings say little, and courtesy loops
are the ``courtesy_loop`` detector's business.

**Applicability** (``requires=("task",)``): a conversation needs a task or goal
statement: its ``specified_task`` / ``task``, or, in a task-oriented log where at least
half the task-less conversations open with a user turn that clearly states a task
(an imperative of a task verb, "I need / want / would like ...", "Could you write ...";
:func:`artifactual.analysis.applicability.states_task`), that first user turn, which
the audit passes as ``tasks``. Chit-chat without one is not audited for digression (its
rate is None with the reason "no task or goal statement in this corpus"), never "the
first turn is the task". Called directly, without a task, the first turn still stands
in for it.

A conversation is digressive (conversation column ``digression``; summary
``digression_rate``) when at least one of its turns is.

Measured (``benchmarks/validity.py``, docs/detectors.md): before the content-word rule,
the previous-turn rule and the capped null, it flagged 47 of 60 labelled GPT-4 SPP
transcripts (gold: none) and 98% of goal-stated human task dialogues.

Output columns: ``task_similarity``, ``centroid_similarity``, ``prev_similarity``, ``drift`` (float),
``digression`` (bool) and ``evidence`` (the similarities and thresholds of a flagged turn).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from artifactual.analysis.registry import detector
from artifactual.analysis.text import TextContext, context_for, embed
from artifactual.errors import AnalysisError

__all__ = ["detect_digression", "DEFAULT_THRESHOLD", "COLUMNS", "content_words"]

DEFAULT_THRESHOLD = 0.20
COLUMNS = ("task_similarity", "centroid_similarity", "prev_similarity", "reply_similarity",
           "instruction_similarity", "drift", "digression")
_BLOCK = 4096  # turns per block when comparing with the null sample


#: Words of conversation management (thanks, closings, acknowledgements, offers of more
#: help) that carry no topic, beside spaCy's English stop words.
_MANAGEMENT = frozenset("""thanks thank thankyou please welcome help helpful need needed else
anything everything nothing something bye goodbye day enjoy care great good fine okay ok
sure yes yeah yep right perfect sounds sound awesome wonderful nice glad appreciate
appreciated lovely cool alright indeed absolutely definitely certainly looks like want
wanted hello hi hey morning evening night today tomorrow time""".split())


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # the word list only, no pipeline

    return frozenset(STOP_WORDS) | _MANAGEMENT


def content_words(text: str) -> int:
    """Topic-bearing words in ``text``: alphabetic, 3+ letters, not a stop word and not a
    word of conversation management. A turn with few of them ("Thanks, that is all I
    need.", "Anything else I can do?") cannot be about another topic."""
    stop = _stop_words()
    n = 0
    for raw in text.split():
        w = raw.strip(".,;:!?()[]{}\"'`*_-").lower()
        if len(w) >= 3 and w.isalpha() and w not in stop:
            n += 1
    return n


def _empty(index: pd.Index) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {c: pd.Series([], dtype=float) for c in COLUMNS[:-1]}
    cols["digression"] = pd.Series([], dtype=bool)
    cols["evidence"] = pd.Series([], dtype=object)
    return pd.DataFrame(cols, index=index)


def _task_vectors(ctx: TextContext, tasks: Mapping[str, str] | None,
                  cids: list[str]) -> dict[str, np.ndarray]:
    """conversation_id -> task vector of ``cids``, embedding any given task the context
    lacks."""
    vectors = ctx.task_vectors(cids)
    if tasks:
        todo = {cid: text for cid, text in tasks.items()
                if text and (cid not in vectors or ctx.tasks.get(cid) != text)}
        if todo:
            for cid, vec in zip(todo, embed(list(todo.values()), encoder=ctx.encoder,
                                            precision=ctx.precision)):
                vectors[cid] = vec
    return vectors


def _null_thresholds(emb: np.ndarray, turn_codes: np.ndarray, refs: np.ndarray,
                     ref_codes: np.ndarray, quantile: float, min_refs: int,
                     fallback: float) -> np.ndarray:
    """Per turn: ``quantile`` of its similarity to the reference vectors of other tasks."""
    out = np.full(len(emb), fallback, dtype=float)
    for start in range(0, len(emb), _BLOCK):
        sims = emb[start:start + _BLOCK] @ refs.T
        own = turn_codes[start:start + _BLOCK, None] == ref_codes[None, :]
        sims = np.where(own, np.nan, sims)
        enough = (~own).sum(axis=1) >= min_refs
        if enough.any():
            block = out[start:start + _BLOCK]
            block[enough] = np.nanquantile(sims[enough], quantile, axis=1)
    return out


@detector("digression", needs=("embeddings",), scope="corpus", requires=("task",), default=False,
          off_reason="off by default: precision 0.00-0.17 on GPT multi-agent logs and 6% of "
                     "goal-stated human dialogues flagged (target 0.8 and 5%; "
                     "docs/detectors.md); --detectors runs it, as make demo does")  # null: other tasks
def detect_digression(turns: pd.DataFrame, *, context: TextContext | None = None,
                      tasks: Mapping[str, str] | None = None,
                      threshold: float = DEFAULT_THRESHOLD,
                      null: Literal["auto", "fixed"] = "auto", null_quantile: float = 0.95,
                      min_null_tasks: int = 20, null_sample: int = 200, min_words: int = 5,
                      min_content_words: int = 4, seed: int = 0,
                      instructions: Mapping[str, str] | None = None,
                      reply_window: int = 3) -> pd.DataFrame:
    """Per turn: similarities, ``drift`` and the ``digression`` flag (module docstring).

    ``tasks`` (conversation_id -> task statement) overrides the context's tasks;
    ``instructions`` (conversation_id -> phase instruction) adds what each turn may carry out.
    """
    if null not in ("auto", "fixed"):
        raise AnalysisError(f"unknown null {null!r}", fix='use "auto" or "fixed"')
    if not 0.0 < null_quantile < 1.0:
        raise AnalysisError(f"null_quantile must be in (0, 1), got {null_quantile}",
                            fix="use e.g. 0.95")
    if len(turns) == 0:
        return _empty(turns.index)
    missing = [c for c in ("conversation_id", "turn_index", "content") if c not in turns.columns]
    if missing:
        raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                            fix="build it with artifactual.analysis.tables.to_frames")
    ctx = context_for(turns, context, ("embeddings",))
    cids = turns["conversation_id"].astype(str).unique().tolist()
    emb = ctx.embeddings_for(turns.index, with_tasks=cids).astype(np.float64)  # one pass
    task_vecs = _task_vectors(ctx, tasks, cids)
    task_text = {**ctx.tasks, **dict(tasks or {})}
    order = turns.assign(_pos=np.arange(len(turns))).sort_values(
        ["turn_index", "_pos"], kind="stable")
    texts = ctx.texts if ctx.index.equals(turns.index) else ["" if pd.isna(c) else str(c)
                                                             for c in turns["content"]]
    n = len(turns)
    task_sim = np.full(n, np.nan)
    cen_sim = np.full(n, np.nan)
    prev_sim = np.full(n, np.nan)
    reply_sim = np.full(n, np.nan)
    instr_sim = np.full(n, np.nan)
    instr = {str(k): v for k, v in (instructions or {}).items() if isinstance(v, str) and v.strip()}
    instr_vecs = dict(zip(instr, embed(list(instr.values()), encoder=ctx.encoder,
                                       precision=ctx.precision).astype(np.float64))) if instr else {}
    n_before = np.zeros(n, dtype=int)
    turn_key = np.empty(n, dtype=object)
    conv_task: list[np.ndarray] = []
    conv_cen: list[np.ndarray] = []
    conv_key: list[str] = []
    for cid, part in order.groupby("conversation_id", sort=False):
        rows = part["_pos"].to_numpy()
        vecs = emb[rows]
        cid = str(cid)
        if cid in task_vecs:
            tvec, key, first_is_task = task_vecs[cid].astype(np.float64), task_text[cid], False
        else:
            tvec, key, first_is_task = vecs[0], "\0" + texts[rows[0]], True
        task_sim[rows] = vecs @ tvec
        if first_is_task:
            task_sim[rows[0]] = np.nan
        cum = np.cumsum(vecs, axis=0)[:-1]
        norms = np.linalg.norm(cum, axis=1)
        cen = np.divide((vecs[1:] * cum).sum(axis=1), norms, out=np.zeros(len(cum)),
                        where=norms > 0)
        cen_sim[rows[1:]] = cen
        prev_sim[rows[1:]] = (vecs[1:] * vecs[:-1]).sum(axis=1)
        if len(rows) > 1:
            gram = vecs @ vecs.T
            for k in range(1, len(rows)):
                reply_sim[rows[k]] = gram[k, max(0, k - reply_window):k].max()
        if cid in instr_vecs:
            instr_sim[rows] = vecs @ instr_vecs[cid]
        n_before[rows] = np.arange(len(rows))
        turn_key[rows] = key
        total = vecs.sum(axis=0)
        conv_task.append(tvec)
        conv_cen.append(total / (np.linalg.norm(total) or 1.0))
        conv_key.append(key)
    codes = {k: i for i, k in enumerate(dict.fromkeys(conv_key))}
    ref_codes_all = np.array([codes[k] for k in conv_key])
    turn_codes = np.array([codes[k] for k in turn_key])
    task_null = np.full(n, float(threshold))
    cen_null = np.full(n, float(threshold))
    used = "fixed"
    if null == "auto" and len(codes) > min_null_tasks:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.permutation(len(conv_key))[:null_sample + 1])
        refs_t, refs_c, ref_codes = (np.stack(conv_task)[pick], np.stack(conv_cen)[pick],
                                     ref_codes_all[pick])
        task_null = _null_thresholds(emb, turn_codes, refs_t, ref_codes, null_quantile,
                                     min_null_tasks, threshold)
        cen_null = _null_thresholds(emb, turn_codes, refs_c, ref_codes, null_quantile,
                                    min_null_tasks, threshold)
        used = f"q{null_quantile:.2f} of other tasks"
    words = np.array([len(t.split()) for t in texts])
    content = np.array([content_words(t) for t in texts])
    # The corpus null can only make the rule stricter: in a corpus whose tasks share their
    # vocabulary (logic puzzles, one booking domain) the other tasks are not unrelated
    # material, so a turn as close to its task as to theirs is still on topic.
    task_null = np.minimum(task_null, float(threshold))
    cen_null = np.minimum(cen_null, float(threshold))
    off_task = ((~np.isnan(task_sim)) & (task_sim <= task_null)
                & (np.isnan(instr_sim) | (instr_sim <= float(threshold))))
    off_thread = np.isnan(cen_sim) | (cen_sim <= cen_null)
    off_reply = np.isnan(reply_sim) | (reply_sim <= float(threshold))
    flag = ((words >= min_words) & (content >= min_content_words) & off_task & off_thread
            & off_reply)
    evidence = [""] * n
    for i in np.flatnonzero(flag):
        thread = ("first turn, no thread yet" if np.isnan(cen_sim[i]) else
                  f"centroid similarity {cen_sim[i]:.3f} <= {cen_null[i]:.3f} "
                  f"over {n_before[i]} earlier turn(s)")
        reply = ("" if np.isnan(reply_sim[i]) else
                 f"; reply similarity {reply_sim[i]:.3f} <= {threshold:.3f} (last "
                 f"{reply_window} turns)")
        if not np.isnan(instr_sim[i]):
            reply += f"; phase-instruction similarity {instr_sim[i]:.3f} <= {threshold:.3f}"
        evidence[i] = (f"off-task: task similarity {task_sim[i]:.3f} <= {task_null[i]:.3f} "
                       f"({used}); {thread}{reply}; {content[i]} topic words")
    return pd.DataFrame({"task_similarity": task_sim, "centroid_similarity": cen_sim,
                         "prev_similarity": prev_sim, "reply_similarity": reply_sim,
                         "instruction_similarity": instr_sim, "drift": 1.0 - task_sim, "digression": flag, "evidence": evidence},
                        index=turns.index).astype({"digression": bool, "evidence": object})
