"""Courtesy loops (detector ``"courtesy_loop"``): runs of turns that only thank, praise,
acknowledge or say goodbye, the thank-you loops the CAMEL authors describe.

A turn is **courtesy-only** when its spaCy parse (shared :class:`.text.TextContext`) has
at most ``max_words`` (40) words, at least one courtesy word (:data:`COURTESY`: thanks,
welcome, glad, great, bye, okay ...) and no task content: every content token (not a
stop word, not a pronoun, determiner, auxiliary, adposition, conjunction or particle) is
a courtesy word, a word of the courtesy phrases around them (:data:`COURTESY_CONTEXT`:
"if you have any further questions, feel free to ask", "great job", "have a nice day"),
a discourse particle, a proper noun (an address: "Thanks, Ada!") or a done token such as
``CAMEL_TASK_DONE``. Numbers, code, and any other noun, verb or adjective are task
content.

A **courtesy loop** is a run of at least ``min_run`` (3) consecutive courtesy-only turns
of one conversation (turn order by ``turn_index``): one thank-you and one you're-welcome
are politeness, a third in a row is a loop. Every turn of the run is flagged, and its
evidence quotes the run.

Output columns: ``courtesy_only`` (bool, per turn), ``courtesy_loop`` (bool: the turn is
in a run) and ``evidence`` (the run: its turn indices and texts).

**Applicability:** every audited conversation (no requirement).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from artifactual.analysis.detectors.common import ordered_conversations, require_columns
from artifactual.analysis.registry import detector
from artifactual.analysis.text import TextContext, context_for
from artifactual.errors import AnalysisError

__all__ = ["COURTESY", "COURTESY_CONTEXT", "is_courtesy_only", "detect_courtesy_loops"]

COURTESY = frozenset("""
thank thanks thankful appreciate appreciated appreciation grateful gratitude welcome glad
happy pleased pleasure delighted great good nice wonderful excellent fantastic amazing
awesome perfect brilliant lovely superb outstanding terrific bye goodbye farewell cheers
ok okay alright sure agreed agree absolutely certainly indeed exactly yes yeah yep
understood noted congratulations congrats kudos bravo helpful""".split())
COURTESY_CONTEXT = frozenset("""
kind kindly words help helped helping assist assistance assisting support supporting
question questions need needs further additional feel free ask asking reach hesitate let
know job work effort efforts collaboration collaborating teamwork team partnership
contribution contributions guidance advice insights insight input day evening weekend
luck care later soon time anytime look looking forward future best regards wishes wish
enjoy success successful successfully done complete completed finished task project means
lot much many really truly again also too so very well sir madam friend everyone
everybody sounds got hear glad mention mentioned worries problem welcome""".split())
_CONTENT_POS = frozenset({"NOUN", "VERB", "ADJ", "ADV", "NUM", "X", "SYM"})
_DONE = re.compile(r"^<?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+>?$")
_SNIPPET = 60


def is_courtesy_only(doc: Any, max_words: int = 40) -> bool:
    """True when a parsed turn only thanks, praises, acknowledges or says goodbye."""
    words = [t for t in doc if t.is_alpha or _DONE.match(t.text)]
    if not words or len(words) > max_words:
        return False
    core = False
    for tok in doc:
        if tok.is_punct or tok.is_space:
            continue
        low = tok.lower_
        if _DONE.match(tok.text):
            core = True
        elif low in COURTESY:
            core = True
        elif tok.like_num or not tok.is_alpha:
            if tok.text not in ("<", ">", "'s", "'m", "'re", "'ll", "n't", "'ve", "'d"):
                return False
        elif tok.pos_ == "PROPN" or tok.pos_ == "INTJ" or tok.is_stop:
            continue
        elif low in COURTESY_CONTEXT:
            continue
        elif tok.pos_ in _CONTENT_POS:
            return False
    return core


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET - 3] + "..."


@detector("courtesy_loop", needs=("docs",))
def detect_courtesy_loops(turns: pd.DataFrame, *, context: TextContext | None = None,
                          min_run: int = 3, max_words: int = 40) -> pd.DataFrame:
    """Per turn: ``courtesy_only``, ``courtesy_loop`` and ``evidence`` (module docstring)."""
    if min_run < 2:
        raise AnalysisError(f"min_run must be >= 2, got {min_run}",
                            fix="a loop needs at least two turns in a row; the default is 3")
    n = len(turns)
    only, loop, evidence = [False] * n, [False] * n, [""] * n
    if n:
        require_columns(turns, ("conversation_id", "turn_index", "content"))
        ctx = context_for(turns, context, ("docs",))
        # Tokens decide most turns: only pos_ tags can turn a lexically possible turn
        # down, so a turn that fails on its tokens alone fails on its parse too, and
        # only the rest are tagged.
        docs = ctx.tokens_for(turns.index)
        maybe = [q for q in range(n) if is_courtesy_only(docs[q], max_words)]
        tagged = ctx.docs_for(turns.index[maybe], level="tags") if maybe else []
        for q, doc in zip(maybe, tagged):
            only[q], docs[q] = is_courtesy_only(doc, max_words), doc
        order = turns["turn_index"].tolist()
        for rows in ordered_conversations(turns):
            run: list[int] = []
            for q in [*rows, None]:
                if q is not None and only[q]:
                    run.append(q)
                    continue
                if len(run) >= min_run:
                    quoted = " / ".join(f'"{_cut(docs[r].text)}"' for r in run[:6])
                    text = (f"courtesy loop: turns {order[run[0]]}-{order[run[-1]]} "
                            f"({len(run)} courtesy-only turns in a row): {quoted}")
                    for r in run:
                        loop[r], evidence[r] = True, text
                run = []
    return pd.DataFrame({"courtesy_only": pd.Series(only, index=turns.index, dtype=bool),
                         "courtesy_loop": pd.Series(loop, index=turns.index, dtype=bool),
                         "evidence": pd.Series(evidence, index=turns.index, dtype=object)})
