"""Repetition loops, per turn: near-duplicate turns and thank-you loops.

A turn is compared (:func:`artifactual.analysis.similarity.text_similarity`,
word 1-2-gram cosine) with the turn just before it and with the same speaker's
previous turn; ``repetition_score`` is the larger similarity (NaN for a turn
with nothing before it). The turn is a ``repetition`` when

1. ``repetition_score >= threshold`` (default 0.9: the same wording, give or
   take a few words; paraphrases are the digression detector's business); or
2. it is the ``thanks_run``-th (default 3rd) or later courtesy-only turn in a
   row: every sentence thanks, welcomes, says goodbye or offers more help, or is
   an interjection of at most two words ("Great!"). One thank-you and one
   you're-welcome are politeness; a third in a row is a loop.

Turns are ordered by ``turn_index`` within each ``conversation_id``.

Output columns: ``repetition`` (bool), ``repetition_score`` (float),
``evidence`` (str): which turn is repeated, the similarity and the text; or
the length of the thank-you run.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from artifactual.analysis.registry import detector
from artifactual.analysis.similarity import Profile, words
from artifactual.errors import AnalysisError

__all__ = ["detect_repetition", "is_courtesy"]

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


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET - 3] + "..."


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


@detector("repetition_loop")
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
        need = ("conversation_id", "turn_index", "speaker", "content")
        missing = [c for c in need if c not in turns.columns]
        if missing:
            raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                                fix="build it with artifactual.analysis.tables.to_frames")
        groups: dict[Any, list[int]] = {}
        for pos, cid in enumerate(turns["conversation_id"].tolist()):
            groups.setdefault(cid, []).append(pos)
        order = turns["turn_index"].tolist()
        speakers = ["" if pd.isna(x) else str(x) for x in turns["speaker"].tolist()]
        contents = ["" if pd.isna(x) else str(x) for x in turns["content"].tolist()]
        for positions in groups.values():
            positions.sort(key=lambda q: order[q])  # stable: ties keep table order
            rows = _conversation([speakers[q] for q in positions], [contents[q] for q in positions],
                                 threshold, thanks_run)
            for q, (flag, score, ev) in zip(positions, rows):
                flags[q], scores[q], evidence[q] = flag, score, ev
    return pd.DataFrame({"repetition": pd.Series(flags, index=turns.index, dtype=bool),
                         "repetition_score": pd.Series(scores, index=turns.index, dtype="float64"),
                         "evidence": pd.Series(evidence, index=turns.index, dtype=object)})
