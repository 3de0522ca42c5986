"""Content repetition (detector ``"content_repetition"``) and the legacy ``"repetition_loop"``.

**content_repetition** (the default): a speaker repeating itself in substance, which is
how a conversation circles back. Every turn is embedded once with MiniLM (shared
:class:`.text.TextContext`); a turn is compared with every earlier turn **of the same
speaker** in the same conversation (order by ``turn_index``) that also passes the length
guard, and
``repetition_similarity`` is the highest cosine (NaN when none is eligible). The turn is
flagged when ``repetition_similarity >= threshold`` (default 0.9: the same content,
give or take wording; MiniLM puts paraphrases of one request around 0.8-0.9 and
different requests on one task well below). **Length guard:** both turns need at least
``min_words`` (8) words, so short courtesy turns ("Thank you.", "Next request.") repeated
are never content repetition; runs of them are the ``courtesy_loop`` detector's business.
Another speaker's turns are not compared: an agent restating the instruction it answers
("Instruction: Substitute the initial condition" / "Solution: we substitute the initial
condition ..."), or quoting another agent's code or text in order to review, test or fix
it, is not repetition. Output columns: ``content_repetition`` (bool),
``repetition_similarity`` (float), ``evidence`` (which earlier turn is repeated and by
whom, the similarity and both texts, trimmed).
**A changed detail is an update, not a repeat.** A service proposing the same booking at
another time ("A table for 2 ... at 11 am. Is it correct?" after "... at 11:15 am") or a
weather report for another day keeps the earlier turn's words and changes its numbers. So
the turns of a pair above the threshold are tagged (spaCy's tagger, only those turns), and
the pair does not count when the later turn has a number the earlier one lacks (times,
prices, counts; list item numbers at a line's start are not details: :func:`details`).
Dropping a detail, or repeating it, is still a repeat.
**Applicability:** every audited conversation.

**repetition_loop** (legacy, run only when named: ``default=False``): the surface
word 1-2-gram cosine (:func:`artifactual.analysis.similarity.text_similarity`) with the
previous turn and the same speaker's previous turn, flagged at ``threshold`` (0.9), plus
the ``thanks_run``-th (3rd) courtesy-only turn in a row (:func:`is_courtesy`, a regex).
It mixes courtesy loops with content repetition, which ``courtesy_loop`` and
``content_repetition`` now report apart. Output columns: ``repetition`` (bool),
``repetition_score`` (float), ``evidence``.
"""

from __future__ import annotations

import math
import re

import pandas as pd

import numpy as np

from artifactual.analysis.detectors.common import ordered_conversations, require_columns, snippet
from artifactual.analysis.registry import detector
from artifactual.analysis.similarity import Profile, words
from artifactual.analysis.text import TextContext, context_for, parse
from artifactual.errors import AnalysisError

__all__ = ["detect_repetition", "is_courtesy", "detect_content_repetition"]

_COURTESY = re.compile(
    r"\b(thanks?|thank you|welcome|appreciat\w*|grateful|glad|pleasure|happy to (help|assist)|"
    r"feel free|let me know|reach out|(any|other|more|further) questions|good luck|best of luck|"
    r"take care|good ?bye|bye|have a (great|good|nice|wonderful|lovely)|you too|same to you|"
    r"any ?time|no problem|cheers|enjoy|task (is )?(done|complete))\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+")
_MAX_COURTESY_WORDS = 40
_SNIPPET = 160


def is_courtesy(text: str) -> bool:
    """True when every sentence of a short text is thanks, a goodbye, an offer of help or
    a one- or two-word interjection."""
    n_words = len(words(text))
    if not n_words or n_words > _MAX_COURTESY_WORDS or not _COURTESY.search(text):
        return False
    return all(_COURTESY.search(s) or len(words(s)) <= 2 for s in _SENTENCE.findall(text))


def details(doc) -> frozenset[str]:  # noqa: ANN001 (a spaCy Doc)
    """A tagged text's details: its numbers (tag ``CD``: times, prices, counts), list item
    numbers at a line's start ("1.", "2)", or a last "7" cut off by the token limit) left
    out."""
    out = set()
    for t in doc:
        if t.tag_ != "CD" and not t.like_num:
            continue
        after = doc[t.i + 1].text if t.i + 1 < len(doc) else ""
        line_start = t.i == 0 or doc[t.i - 1].is_space or doc[t.i - 1].text_with_ws.endswith("\n")
        if line_start and (t.text[-1:] in ".)" or after in (".", ")", "")):  # "7" cut off too
            continue
        out.add(t.lower_)
    return frozenset(out)


def _snippet(text: str) -> str:
    return snippet(text, _SNIPPET)


def _conversation(speakers: list[str], contents: list[str], threshold: float,
                  thanks_run: int) -> list[tuple[bool, float, str]]:
    out: list[tuple[bool, float, str]] = []
    profiles = [Profile(text) for text in contents]
    last_by: dict[str, int] = {}
    run = 0
    for i, (who, text) in enumerate(zip(speakers, contents)):
        best, best_j, what = math.nan, -1, ""
        candidates = [(i - 1, "the previous turn")] if i > 0 else []
        j_same = last_by.get(who)
        if j_same is not None and j_same != i - 1:
            candidates.append((j_same, f"{who}'s previous turn"))
        for j, label in candidates:
            s = profiles[i].similarity(profiles[j])
            if math.isnan(best) or s > best:
                best, best_j, what = s, j, label
        last_by[who] = i
        run = run + 1 if thanks_run > 0 and is_courtesy(text) else 0
        if not math.isnan(best) and best >= threshold:
            out.append((True, best, f"repeats {what} (turn {best_j}, similarity {best:.2f}): "
                                    f'"{_snippet(text)}"'))
        elif thanks_run > 0 and run >= thanks_run:
            out.append((True, best, f"thank-you loop: {run} courtesy-only turns in a row: "
                                    f'"{_snippet(text)}"'))
        else:
            out.append((False, best, ""))
    return out


@detector("repetition_loop", default=False)  # legacy: courtesy_loop + content_repetition
def detect_repetition(turns: pd.DataFrame, *, threshold: float = 0.9,
                      thanks_run: int = 3) -> pd.DataFrame:
    """Per turn: ``repetition``, ``repetition_score``, ``evidence`` (see the module docstring).

    Needs the columns conversation_id, turn_index, speaker and content. ``thanks_run``
    0 turns the thank-you-loop rule off.
    """
    if not 0.0 < threshold <= 1.0:
        raise AnalysisError(f"repetition threshold must be in (0, 1], got {threshold}",
                            fix="pass a similarity such as 0.9")
    n = len(turns)
    flags, scores, evidence = [False] * n, [math.nan] * n, [""] * n
    if n:
        require_columns(turns, ("conversation_id", "turn_index", "speaker", "content"))
        speakers = ["" if pd.isna(x) else str(x) for x in turns["speaker"].tolist()]
        contents = ["" if pd.isna(x) else str(x) for x in turns["content"].tolist()]
        for positions in ordered_conversations(turns):
            rows = _conversation([speakers[q] for q in positions], [contents[q] for q in positions],
                                 threshold, thanks_run)
            for q, (flag, score, ev) in zip(positions, rows):
                flags[q], scores[q], evidence[q] = flag, score, ev
    return pd.DataFrame({"repetition": pd.Series(flags, index=turns.index, dtype=bool),
                         "repetition_score": pd.Series(scores, index=turns.index, dtype="float64"),
                         "evidence": pd.Series(evidence, index=turns.index, dtype=object)})


@detector("content_repetition", needs=("embeddings",), default=False,
          off_reason="off by default: precision 0.09-0.27 on GPT multi-agent logs (re-sent "
                     "plans and next instructions on one topic read as repeats; target 0.8; "
                     "docs/detectors.md); --detectors runs it, as make demo does")
def detect_content_repetition(turns: pd.DataFrame, *, context: TextContext | None = None,
                              threshold: float = 0.9, min_words: int = 8) -> pd.DataFrame:
    """Per turn: ``content_repetition``, ``repetition_similarity`` and ``evidence``
    (module docstring). Needs conversation_id, turn_index and content."""
    if not 0.0 < threshold <= 1.0:
        raise AnalysisError(f"content_repetition threshold must be in (0, 1], got {threshold}",
                            fix="pass a cosine similarity such as 0.9")
    n = len(turns)
    flags, scores, evidence = [False] * n, [math.nan] * n, [""] * n
    if n:
        require_columns(turns, ("conversation_id", "turn_index", "content"))
        who = (["" if pd.isna(s) else str(s) for s in turns["speaker"]]
               if "speaker" in turns.columns else [""] * n)
        ctx = context_for(turns, context, ("embeddings",))
        texts = ["" if pd.isna(c) else str(c) for c in turns["content"]]
        long_enough = [len(words(t)) >= min_words for t in texts]
        long_rows = np.flatnonzero(long_enough)  # only these are compared, so embedded
        vecs = ctx.embeddings_for(turns.index[long_rows]) if len(long_rows) else None
        at = {int(q): k for k, q in enumerate(long_rows)}
        order = turns["turn_index"].tolist()
        candidates: dict[int, list[tuple[float, int]]] = {}  # row -> (cosine, earlier row)
        for rows in ordered_conversations(turns):
            seen: dict[str, list[int]] = {}
            for q in rows:
                if not long_enough[q]:
                    continue
                own = seen.setdefault(who[q], [])
                if own:
                    sims = vecs[[at[j] for j in own]] @ vecs[at[q]]
                    scores[q] = float(sims.max())
                    above = [(float(sims[m]), own[m]) for m in np.argsort(-sims)
                             if sims[m] >= threshold]
                    if above:
                        candidates[q] = above
                own.append(q)
        tagged = list(dict.fromkeys([*candidates, *(j for a in candidates.values() for _, j in a)]))
        det = ({q: details(doc) for q, doc in zip(tagged, parse([texts[q] for q in tagged]))}
               if tagged else {})
        for q, above in candidates.items():
            same = [(s, j) for s, j in above if not det[q] - det[j]]
            if same:
                s, j = same[0]
                flags[q] = True
                evidence[q] = (f"{who[q] or 'the speaker'} repeats its own turn "
                               f"{order[j]} (cosine {s:.2f}): "
                               f'"{_snippet(texts[q])}" ~ "{_snippet(texts[j])}"')
    return pd.DataFrame({
        "content_repetition": pd.Series(flags, index=turns.index, dtype=bool),
        "repetition_similarity": pd.Series(scores, index=turns.index, dtype="float64"),
        "evidence": pd.Series(evidence, index=turns.index, dtype=object)})
