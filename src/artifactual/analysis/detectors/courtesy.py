"""Courtesy-only turns and courtesy loops (detector ``"courtesy_loop"``): turns that only
thank, praise, agree, greet, offer more help, say goodbye or restate willingness, and the
thank-you loops of agents that trade them instead of working or stopping.

**Courtesy-only turn.** A turn is judged by what it adds, not by its length. Each of its
sentences (and code blocks, lines) gets a dialogue act from :mod:`.acts` (a k-nearest-
neighbour vote over MiniLM vectors of exemplar sentences, with each sentence's mood). The
turn is ``courtesy_only`` when it has at least one sentence and every sentence is a
courtesy act (thanks, praise, agreement or acknowledgement, greeting or pleasantry, offer
of further help, farewell, restated willingness), role markers and done tokens aside
(``Next request.``, ``<CAMEL_TASK_DONE>``). One sentence that informs, asks, instructs or
carries code makes the turn move the task. A turn that is only a done token is
courtesy-only too: it adds nothing but the end.

The previous turn matters for one act: an agreement that answers the other speaker's
question ("Shall I book it?" / "Yes, that's right."; "Can you check that the order is
right?" / "Correct.") is a decision, not courtesy. An offer of more help ("Anything
else?") is not such a question, and agreeing with an instruction is acknowledgement.

**Courtesy loop.** Consecutive courtesy-only turns of one conversation (order by
``turn_index``) form a run. A run that holds a goodbye ("Bye.", "No, that's all.",
"Have a nice day.") or asks whether more help is wanted and gets its answer ("Anything
else?" / "No, thank you very much!") is a **closing**, and one that opens the conversation with a greeting
("Hi, how are you?" / "Well, and you?") an **opening**; both are rituals. A run is a loop, and every turn of it is flagged,
when

1. at least ``after_done`` (2) of its turns come after a done token (a turn with
   ``CAMEL_TASK_DONE``, ``<CAMEL_TASK_DONE>``, ``TERMINATE`` or another upper-case
   ``WORD_WORD`` token ended the task, and courtesy goes on after it); or
2. it is not a ritual and has at least ``min_run`` (3) turns: the agents trade thanks,
   praise and willingness instead of working or stopping; or
3. it is a closing of at least ``min_run`` turns and the conversation goes on after it
   (the agents said goodbye and did not stop); or
4. it has at least 4 turns and the same exchange repeats: at least two speakers each
   say again what they said earlier in the run (MiniLM cosine >= ``repeat`` 0.75); or
5. it is a closing that goes on for more than ``max_closing`` (4) turns (the longest
   normal closing in the human dialogues of the development set is four turns).

A normal closing ("Thank you." / "You're welcome, goodbye." / "Bye.", or the four-turn
"Thanks." / "Anything else?" / "No, that's all." / "Have a nice day.") is not a loop, and
neither is one thank-you after a task's done token.

Output columns: ``courtesy_only`` (bool, per turn), ``courtesy_loop`` (bool: the turn is
in a loop) and ``evidence`` (for a courtesy-only turn, each sentence's act; for a loop,
the rule that fired and the run's turns).

**Applicability:** every audited conversation (no requirement).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from artifactual.analysis.detectors.acts import Unit, turn_acts
from artifactual.analysis.detectors.common import (DONE_WORD, ordered_conversations,
                                                   require_columns, snippet)
from artifactual.analysis.registry import detector
from artifactual.analysis.text import TextContext, embed
from artifactual.errors import AnalysisError

__all__ = ["is_courtesy_only", "detect_courtesy_loops", "DONE_TOKEN"]

DONE_TOKEN = re.compile(rf"{DONE_WORD}|\bTERMINATE\b")
_SNIPPET = 60


def is_courtesy_only(units: list[Unit], answers_question: bool = False) -> bool:
    """True when a turn's units (:func:`.acts.classify_units`) hold at least one unit and
    every unit is courtesy, a marker or a done token, and at least one is not a marker
    unless all are done tokens. With ``answers_question`` (the previous turn asked
    something) an agreement is an answer, so the turn is not courtesy-only."""
    if not units:
        return False
    if any(u.act != "marker" and not u.courtesy for u in units):
        return False
    if answers_question and any(u.act == "agree" for u in units):
        return False
    return any(u.courtesy for u in units) or any(DONE_TOKEN.search(u.text) for u in units)


def _cut(text: str) -> str:
    return snippet(text, _SNIPPET)


def _acts(units: list[Unit]) -> str:
    return "; ".join(f'{u.act}: "{_cut(u.text)}"' for u in units[:6]) + (
        " ..." if len(units) > 6 else "")


def _repeats(rows: list[int], speakers: list[str], vectors: Callable[[list[int]], np.ndarray],
             threshold: float) -> int:
    """How many speakers of a run say again what they said earlier in it; ``vectors`` gives
    the MiniLM vectors of the run's rows."""
    vecs = dict(zip(rows, vectors(rows)))
    again: set[str] = set()
    for k, q in enumerate(rows):
        for r in rows[:k]:
            if speakers[r] == speakers[q] and float(vecs[q] @ vecs[r]) >= threshold:
                again.add(speakers[q])
    return len(again)


def _loop_rule(run: list[int], units: list[list[Unit]], done: list[bool], done_before: bool,
               speakers: list[str], vectors: Callable[[list[int]], np.ndarray], *,
               opening: bool, final: bool,
               min_run: int,
               max_closing: int, after_done: int, repeat: float) -> str:
    """Which loop rule a run of courtesy-only turns meets ('' for none; module docstring)."""
    after = [r for k, r in enumerate(run) if done_before or any(done[s] for s in run[:k])]
    asked_more = any(u.act == "offer_help" and u.mood == "question"
                     for r in run[:-1] for u in units[r])
    goodbye = any(u.act == "farewell" for r in run for u in units[r])
    closing = asked_more or goodbye or (
        opening and any(u.act == "greet" for u in units[run[0]]))
    if len(after) >= after_done:
        return f"{len(after)} courtesy-only turns after the done token"
    if not closing and len(run) >= min_run:
        return f"{len(run)} courtesy-only turns in a row, none of them a goodbye"
    if goodbye and not final and len(run) >= min_run:
        return f"a goodbye of {len(run)} courtesy-only turns, and the conversation goes on"
    if len(run) >= 4 and _repeats(run, speakers, vectors, repeat) >= 2:
        return f"{len(run)} courtesy-only turns in which the same exchange repeats"
    if len(run) > max_closing:
        return f"a closing of {len(run)} courtesy-only turns"
    return ""


@detector("courtesy_loop", needs=("embeddings",), default=False,
          off_reason="off by default: precision below 0.8 on two labelled sources (SmolLM2 "
                     "role-play: courtesy-only turns 0.75, loops 0.47; human dialogues: courtesy-"
                     "only turns 0.80, 1 loop flagged in 300; docs/detectors.md); --detectors "
                     "runs it, as make demo does")
def detect_courtesy_loops(turns: pd.DataFrame, *, context: TextContext | None = None,
                          min_run: int = 3, max_closing: int = 4,
                          after_done: int = 2, repeat: float = 0.75) -> pd.DataFrame:
    """Per turn: ``courtesy_only``, ``courtesy_loop`` and ``evidence`` (module docstring)."""
    if min_run < 2 or max_closing < min_run or after_done < 1:
        raise AnalysisError(f"need min_run >= 2, max_closing >= min_run and after_done >= 1, "
                            f"got {min_run}, {max_closing}, {after_done}",
                            fix="the defaults are min_run=3, max_closing=4, after_done=2")
    n = len(turns)
    only, loop, evidence = [False] * n, [False] * n, [""] * n
    if n:
        require_columns(turns, ("conversation_id", "turn_index", "content"))
        texts = ["" if pd.isna(c) else str(c) for c in turns["content"]]
        units = turn_acts(texts, context, until_work=True)
        done = [bool(DONE_TOKEN.search(t)) for t in texts]
        speakers = (["" if pd.isna(x) else str(x) for x in turns["speaker"]]
                    if "speaker" in turns.columns else [""] * n)
        order = turns["turn_index"].tolist()
        convs = ordered_conversations(turns)
        for rows in convs:
            for k, q in enumerate(rows):
                asked = k > 0 and speakers[rows[k - 1]] != speakers[q] and any(
                    u.mood == "question" and u.act != "offer_help" for u in units[rows[k - 1]])
                only[q] = is_courtesy_only(units[q], asked)
                if only[q]:
                    evidence[q] = "courtesy-only: " + _acts(units[q])
        shared = context is not None and context.covers(turns)

        def vectors(rows: list[int]) -> np.ndarray:  # only runs long enough to repeat ask
            return (context.embeddings_for(turns.index[rows]) if shared
                    else embed([texts[q] for q in rows]))

        for rows in convs:
            run: list[int] = []
            done_before = False
            for q in [*rows, None]:
                if q is not None and only[q]:
                    run.append(q)
                    continue
                rule = _loop_rule(run, units, done, done_before, speakers, vectors,
                                  opening=bool(run) and run[0] == rows[0],
                                  final=bool(run) and q is None, min_run=min_run, max_closing=max_closing,
                                  after_done=after_done, repeat=repeat) if run else ""
                if rule:
                    quoted = " / ".join(f'"{_cut(texts[r])}"' for r in run[:6])
                    text = (f"courtesy loop ({rule}): turns {order[run[0]]}-{order[run[-1]]}: "
                            f"{quoted}")
                    for r in run:
                        loop[r], evidence[r] = True, text
                if (q is not None and done[q]) or any(done[r] for r in run):
                    done_before = True
                run = []
    return pd.DataFrame({"courtesy_only": pd.Series(only, index=turns.index, dtype=bool),
                         "courtesy_loop": pd.Series(loop, index=turns.index, dtype=bool),
                         "evidence": pd.Series(evidence, index=turns.index, dtype=object)})
