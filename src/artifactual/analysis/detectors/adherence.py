"""Role adherence without markers (detector ``"role_adherence"``): speech acts from the parse.

Each sentence of a turn (spaCy, shared :class:`.text.TextContext`) gets speech acts
(:mod:`.speech_acts`: directives, questions, answers, acknowledgements, and which
directives and questions request information and which hand the task back).

**Profiles.** A speaker whose declared role is ``user`` is a *director*; ``assistant`` is
a *solver* (``profile="declared"`` or ``"auto"``). Any other speaker, or every speaker
with ``profile="learned"``, gets the profile that dominates its own turns in the
conversation (director when its directives + questions outnumber its answers), if it
has at least ``min_turns`` turns; with fewer, its turns are not judged.

**Violations** (column ``role_adherence_violation``):

* a director turn delivers solution content (>= 1 answer) with no directive, question or
  need statement, unless the other party's previous turn asked for information (then
  the answer is the information asked for, not the solution);
* a solver turn hands the task back: >= 1 hand-back act and more hand-backs than answers,
  or an ``Instruction:`` label. Information requests never count.

**Applicability** (``requires=("declared_roles",)``): in an audit, a conversation with a
declared user and a declared assistant (the roles fix who directs and who solves);
others get None. Called directly, profiles are learned as described above.

Output columns: ``role_adherence_violation`` (bool), ``directive_acts``,
``question_acts``, ``answer_acts``, ``acknowledgement_acts``, ``request_acts``,
``handback_acts`` (int, per turn) and
``evidence`` (the profile, the act counts and the sentence that contradicts it).
:func:`adherence_agreement` compares this detector with the paper's marker rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from artifactual.analysis.stats.compare import cohen_kappa
from artifactual.analysis.registry import detector
from artifactual.analysis.detectors.roles import Markers, detect_role_flips
from artifactual.analysis.detectors.speech_acts import Acts, speech_acts
from artifactual.analysis.text import TextContext, context_for
from artifactual.errors import AnalysisError

__all__ = ["Acts", "speech_acts", "detect_role_adherence", "adherence_agreement", "ACT_COLUMNS"]

ACT_COLUMNS = ("directive_acts", "question_acts", "answer_acts", "acknowledgement_acts",
               "request_acts", "handback_acts")
_ACT_ATTRS = ("directive", "question", "answer", "acknowledgement", "request", "handback")
_SNIPPET = 120


def _profile_of(acts: list[Acts]) -> str:
    direct = sum(a.directive + a.question + a.request for a in acts)
    return "director" if direct > sum(a.answer for a in acts) else "solver"


def _violation(profile: str, a: Acts, asked: bool) -> str:
    """Evidence text when ``a`` contradicts ``profile``, else ''; ``asked``: the other
    party's previous turn asked for information."""
    counts = (f"directives {a.directive} ({a.handback} hand-back, {a.request} information "
              f"requests), questions {a.question}, answers {a.answer}")
    if profile == "director" and a.answer >= 1 and a.directive + a.question + a.request == 0 \
            and not asked:
        return f"director delivers solution content ({counts}): \"{_cut(a.examples['answer'])}\""
    if profile == "solver" and a.instruction_label:
        return f"solver writes an Instruction: label ({counts})"
    if profile == "solver" and a.handback >= 1 and a.handback > a.answer:
        return f"solver hands the task back ({counts}): \"{_cut(a.examples['handback'])}\""
    return ""


def _cut(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[:_SNIPPET - 3] + "..."


_DECLARED = {"user": "director", "assistant": "solver"}


def _asked(turns: pd.DataFrame, acts: list[Acts], key: list[tuple[str, str]]) -> list[bool]:
    """Per turn: the previous turn of its conversation (by ``turn_index``), by another
    speaker, asked a question or requested information."""
    order = (turns["turn_index"].tolist() if "turn_index" in turns.columns
             else list(range(len(turns))))
    by_conv: dict[str, list[int]] = {}
    for i, (cid, _) in enumerate(key):
        by_conv.setdefault(cid, []).append(i)
    out = [False] * len(turns)
    for rows in by_conv.values():
        rows.sort(key=lambda i: order[i])
        for prev, i in zip(rows, rows[1:]):
            a = acts[prev]
            out[i] = key[prev][1] != key[i][1] and (a.question + a.request) > 0
    return out


@detector("role_adherence", needs=("docs",), requires=("declared_roles",), default=False,
          off_reason="off by default: precision 0.50-0.70 measured, 55% of human task "
                     "dialogues flagged (docs/detectors.md); --detectors runs it")
def detect_role_adherence(turns: pd.DataFrame, *, context: TextContext | None = None,
                          profile: Literal["auto", "declared", "learned"] = "auto",
                          min_turns: int = 2) -> pd.DataFrame:
    """Per turn: act counts, ``role_adherence_violation`` and ``evidence`` (module docstring)."""
    if profile not in ("auto", "declared", "learned"):
        raise AnalysisError(f"unknown profile {profile!r}",
                            fix='use "auto", "declared" or "learned"')
    if len(turns) == 0:
        cols = {c: pd.Series([], dtype="int64") for c in ACT_COLUMNS}
        return pd.DataFrame({"role_adherence_violation": pd.Series([], dtype=bool), **cols,
                             "evidence": pd.Series([], dtype=object)}, index=turns.index)
    missing = [c for c in ("conversation_id", "speaker", "content") if c not in turns.columns]
    if missing:
        raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                            fix="build it with artifactual.analysis.tables.to_frames")
    ctx = context_for(turns, context, ("docs",))
    cids = turns["conversation_id"].astype(str).tolist()
    acts = [speech_acts(doc, ctx.tasks.get(cid)) for doc, cid in
            zip(ctx.docs_for(turns.index), cids)]
    roles = (turns["role"].astype("string").str.lower() if "role" in turns.columns
             else pd.Series(pd.NA, index=turns.index, dtype="string"))
    key = list(zip(turns["conversation_id"].astype(str), turns["speaker"].astype(str)))
    by_speaker: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(key):
        by_speaker.setdefault(k, []).append(i)
    profiles: list[str | None] = [None] * len(turns)
    for rows in by_speaker.values():
        declared = None if profile == "learned" else _DECLARED.get(str(roles.iloc[rows[0]]))
        if declared is None and profile != "declared" and len(rows) >= min_turns:
            declared = _profile_of([acts[i] for i in rows])
        for i in rows:
            profiles[i] = declared
    asked = _asked(turns, acts, key)
    evidence = [_violation(p, a, q) if p else "" for p, a, q in zip(profiles, acts, asked)]
    data: dict[str, Any] = {"role_adherence_violation": [bool(e) for e in evidence]}
    for col, attr in zip(ACT_COLUMNS, _ACT_ATTRS):
        data[col] = np.array([getattr(a, attr) for a in acts], dtype="int64")
    data["evidence"] = evidence
    return pd.DataFrame(data, index=turns.index).astype({"role_adherence_violation": bool,
                                                         "evidence": object})


def adherence_agreement(turns: pd.DataFrame, *, context: TextContext | None = None,
                        markers: Markers | Mapping[str, Any] | None = None,
                        profile: Literal["auto", "declared", "learned"] = "declared"
                        ) -> dict[str, Any]:
    """Agreement of ``role_adherence`` with the paper's marker rule (``role_flip``).

    Over the user and assistant turns: ``confusion`` (a 2x2 DataFrame, rows = marker
    rule flip, columns = adherence violation), ``n``, ``agreement`` (share of equal
    calls), Cohen's ``kappa``, and ``precision`` / ``recall`` of the adherence
    violations against the marker flips (None when undefined).
    """
    marker = detect_role_flips(turns, markers=markers)["role_flip"]
    ours = detect_role_adherence(turns, context=context, profile=profile)[
        "role_adherence_violation"]
    roles = (turns["role"].astype("string").str.lower() if "role" in turns.columns
             else pd.Series(pd.NA, index=turns.index, dtype="string"))
    keep = roles.isin(["user", "assistant"]).fillna(False).to_numpy(dtype=bool)
    a, b = marker[keep].astype(bool), ours[keep].astype(bool)
    confusion = pd.crosstab(pd.Categorical(a, categories=[False, True]),
                            pd.Categorical(b, categories=[False, True]), dropna=False)
    confusion.index.name, confusion.columns.name = "role_flip", "role_adherence_violation"
    n = int(keep.sum())
    both = int((a & b).sum())
    return {"confusion": confusion, "n": n,
            "agreement": float((a == b).mean()) if n else None,
            "kappa": cohen_kappa(list(a), list(b)) if n else None,
            "precision": both / int(b.sum()) if b.sum() else None,
            "recall": both / int(a.sum()) if a.sum() else None}
