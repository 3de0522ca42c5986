"""Role flips without role markers (detector ``"role_flip_unmarked"``), from what each turn
does rather than which label it carries.

Most logs have no ``Instruction:`` / ``Solution:`` convention (OpenAI and AutoGen chats,
ChatDev phases, the embedded model's own role-play). Here every sentence of a turn gets a
dialogue act (:mod:`.acts`: a k-nearest-neighbour vote over MiniLM vectors of exemplar
sentences written for this project) and the turn is checked against its speaker's
declared side: the **instructing** side (role ``user``) gives the task and asks; the
**working** side (role ``assistant``) does the work. A turn flips when

* instructing side, **offers help as if it were the assistant**: it asks the other
  what it can do for it (an offer of help put as a question in the first person: "How
  can I help you today?", "What can I do for you?"; "What else do you have?" asks the
  other instead); restated willingness alone ("I'm happy to help") is courtesy;
* instructing side, **delivers the work itself**: it carries a code block, or at least
  ``min_work`` (4) informing sentences and ``min_words`` (60) words, with no
  instruction and no question;
* working side, **takes over instructing or hands the task back**: it has an
  instruction (``directive``) addressed to the partner ("please", "you", "your task is")
  that restates the conversation's task or the request it was given (cosine to the task
  statement or to the instructing side's last turn before it at least ``task_echo``
  0.6), or at least two such instructions and no informing sentence or
  code (it only tells the other what to do). A step of a shared procedure ("Please run
  the code above", "Check the output": :data:`PROCEDURAL` verbs) is the other's own part,
  and an unaddressed imperative list ("Identify high-risk groups: ...") is a plan, the
  working side's own work.

Asking for information needed for one's own part ("Which area?", "Please send the
file") is the act ``ask_info``, never a flip. Evidence quotes the sentence(s) and their
acts.

**Applicability** (``requires=("task", "declared_roles")``): the conversation states a
task (or its first user turn does, in a task-oriented corpus) and has a declared user and
a declared assistant, so the two sides have different jobs. Open chit-chat between peers
has no task and is not judged ("no task or goal statement in this corpus"). In N-speaker
logs every speaker declared ``user`` is on the instructing side and every ``assistant``
on the working side; other roles (``system``, ``tool``, persona labels) are not judged,
nor is a turn that relays a tool's result (AutoGen's user proxy posting
``exitcode: 0 (execution succeeded)`` and the program's output, or ``***** Response from
calling tool``: :func:`.common.relays_tool`): the output is the environment's, so the
instructing side is not delivering the work.
The marker rule (``role_flip``) stays the one to use where a marker convention holds.

Output columns: ``role_flip_unmarked`` (bool) and ``evidence`` (the kind of flip,
``offers_help``, ``delivers_work`` or ``instructs``, then the sentence and its act).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from artifactual.analysis.detectors.acts import LEAD_WORDS, Unit, turn_acts
from artifactual.analysis.detectors.common import (ordered_conversations, relays_tool,
                                                   require_columns, snippet)
from artifactual.analysis.registry import detector
from artifactual.analysis.text import TextContext
from artifactual.analysis.encoder import embed

__all__ = ["detect_role_flips_unmarked", "judge_turn"]

_SNIPPET = 70
#: A directive with one of these verbs asks the other to do its own part of a shared
#: procedure (run the code, check the output, confirm), not the task: never a flip.
PROCEDURAL = frozenset("""run execute save install open click check try use copy paste replace
review confirm note refer verify test restart reload upload download enter type press let
keep""".split())


def addressed(unit: Unit) -> bool:
    """A directive addressed to the partner ("please ...", "you / your ...", "your task is
    ...") and about the task, not a step of a shared procedure ("Please run the code")."""
    words = [w.strip(".,;:!?()*_`'\"").lower() for w in unit.text.split()]
    if unit.mood == "you_should":
        return True
    lead = next((w for w in words if w not in LEAD_WORDS and w), "")  # "Sure, please confirm"
    if lead in PROCEDURAL:
        return False
    return "please" in words or "you" in words or "your" in words


def offers_service(unit: Unit) -> bool:
    """An offer of help put as a question in the first person ("How can I help you?",
    "What can I do for you?"); "What else do you have?" asks the other instead."""
    words = {w.strip(".,;:!?()*_`'\"").lower() for w in unit.text.replace("'", " '").split()}
    return (unit.act == "offer_help" and unit.mood == "question"
            and bool(words & {"i", "we"}))


def _cut(text: str) -> str:
    return snippet(text, _SNIPPET)


def judge_turn(role: str, units: list[Unit], n_words: int, task_echo: list[float], *,
               min_work: int = 4, min_words: int = 60,
               echo: float = 0.6) -> tuple[str, str]:
    """``(kind, evidence)`` for one turn of a declared ``role`` ('' when no flip).
    ``task_echo`` holds each unit's highest cosine to the task and to the request it was
    given (NaN where not computed)."""
    acts = [u.act for u in units]
    directives = [u for u in units if u.act == "directive"]
    if role == "user":
        offers = [u for u in units if offers_service(u)]
        if offers:
            return "offers_help", (f'the instructing side offers help: {offers[0].act} '
                                   f'"{_cut(offers[0].text)}"')
        if directives:
            return "", ""
        work = [u for u in units if u.act == "work"]
        code = [u for u in units if u.act == "code"]
        if "ask_info" not in acts and (code or (len(work) >= min_work and n_words >= min_words)):
            what = "a code block" if code else f"{len(work)} informing sentences"
            first = (code or work)[0]
            return "delivers_work", (f'the instructing side delivers the work ({what}, '
                                     f'{n_words} words): "{_cut(first.text)}"')
        return "", ""
    directives = [u for u in directives if addressed(u)]
    if role == "assistant" and directives:
        echoed = [(u, s) for u, s in zip(units, task_echo)
                  if u in directives and not np.isnan(s) and s >= echo]
        if echoed:
            u, s = echoed[0]
            return "instructs", (f'the working side hands the task back (instruction '
                                 f'restating its task or request, cosine {s:.2f}): '
                                 f'"{_cut(u.text)}"')
        if len(directives) >= 2 and not any(a in ("work", "code") for a in acts):
            return "instructs", (f'the working side only instructs ({len(directives)} '
                                 f'instructions): "{_cut(directives[0].text)}"')
    return "", ""


@detector("role_flip_unmarked", needs=("embeddings",), requires=("task", "declared_roles"),
          default=False,
          off_reason="off by default: turn precision 0.00-0.71 and recall 0.00-0.48 on the "
                     "four labelled agent sources (targets 0.8 and 0.6; docs/detectors.md); "
                     "--detectors runs it, as make demo does")
def detect_role_flips_unmarked(turns: pd.DataFrame, *, context: TextContext | None = None,
                               tasks: Mapping[str, str] | None = None, min_work: int = 4,
                               min_words: int = 60, task_echo: float = 0.6) -> pd.DataFrame:
    """Per turn: ``role_flip_unmarked`` and ``evidence`` (module docstring).
    ``tasks`` (conversation_id -> task statement) adds to the context's tasks."""
    n = len(turns)
    flags, evidence = [False] * n, [""] * n
    if n:
        require_columns(turns, ("conversation_id", "role", "content"))
        texts = ["" if pd.isna(c) else str(c) for c in turns["content"]]
        roles = turns["role"].astype("string").str.lower().fillna("").tolist()
        relayed = [relays_tool(t) for t in texts]  # tool output: neither judged nor a request
        judged = [q for q in range(n) if roles[q] in ("user", "assistant") and not relayed[q]]
        enc = context.encoder if context else None
        prec = context.precision if context else None
        units = turn_acts([texts[q] for q in judged], context)
        task_text = {**(context.tasks if context else {}), **dict(tasks or {})}
        cids = turns["conversation_id"].astype(str).tolist()
        # cosine of each assistant directive to its conversation's task and to the last
        # request of the instructing side before it (what it was asked to do)
        asked: dict[int, str] = {}
        for rows in ordered_conversations(turns):
            last = ""
            for q in rows:
                if roles[q] == "user" and not relayed[q]:
                    last = texts[q]
                elif roles[q] == "assistant" and last:
                    asked[q] = last
        todo = [(k, j) for k, q in enumerate(judged) if roles[q] == "assistant"
                for j, u in enumerate(units[k]) if u.act == "directive"]
        echo = [[float("nan")] * len(u) for u in units]
        if todo:
            refs = sorted({t for k, _ in todo for t in (task_text.get(cids[judged[k]]),
                                                        asked.get(judged[k])) if t})
            rvec = dict(zip(refs, embed(refs, encoder=enc, precision=prec))) if refs else {}
            uvec = embed([units[k][j].text for k, j in todo], encoder=enc, precision=prec)
            for (k, j), v in zip(todo, uvec):
                q = judged[k]
                sims = [float(v @ rvec[t]) for t in (task_text.get(cids[q]), asked.get(q))
                        if t in rvec]
                echo[k][j] = max(sims) if sims else float("nan")
        for k, q in enumerate(judged):
            kind, ev = judge_turn(roles[q], units[k], len(texts[q].split()), echo[k],
                                  min_work=min_work, min_words=min_words, echo=task_echo)
            flags[q], evidence[q] = bool(kind), f"{kind}: {ev}" if kind else ""
    return pd.DataFrame({"role_flip_unmarked": pd.Series(flags, index=turns.index, dtype=bool),
                         "evidence": pd.Series(evidence, index=turns.index, dtype=object)})
