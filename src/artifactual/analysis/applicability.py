"""Where each detector applies, per corpus and per conversation (``requires`` in the registry).

:func:`resolve` runs once per audit on the driver, from the turns and conversations
tables, before any detector; the plain and the Ray audit share it, so both run every
detector on the same conversations. It returns an :class:`Applicability`:

* ``applies``: detector -> the conversation ids it runs on, or None when it runs on every
  conversation. A conversation is left out of every detector when it could not be
  audited (``audited`` False: :mod:`.detectors.format`) and out of a detector when a
  requirement fails for it:

  - ``"role_markers"`` (``role_flip``): the corpus has a role-marker convention,
    inferred (:func:`.detectors.markers.infer_markers`) or given; then each conversation
    with a user or an assistant turn;
  - ``"task"`` (``digression``): the conversation has a task statement (``task`` /
    ``specified_task``), or the corpus is task-oriented and its first user turn states a
    task (:func:`states_task`). Chit-chat without one does not apply;
  - ``"declared_roles"`` (``role_adherence``): the conversation has a turn of a declared
    user and a turn of a declared assistant.

* ``runs_on``: the conversations a detector reads: ``applies`` for conversation-scope
  detectors; every audited conversation for a corpus-scope one (``digression``: its null
  thresholds compare with the other conversations' tasks, as before), whose findings
  are then kept for ``applies`` only.
* ``not_applicable``: ``{detector or flag: reason}`` for each detector that applies to no
  audited conversation; its rates are then None in the summary.
* ``n_applicable``: detector -> conversations it runs on.
* ``markers``: the summary's ``markers`` entry: ``{"source": "inferred" | "given",
  "inferred": {...}, "used": {...} | None}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from artifactual.analysis.detectors.markers import infer_markers
from artifactual.analysis.detectors.roles import Markers, as_markers
from artifactual.analysis.registry import detector_requires, detector_scope, run_detector
from artifactual.analysis.tables import empty_turns

__all__ = ["Applicability", "resolve", "states_task", "flag_columns", "TASK_SHARE"]

NO_MARKERS = "no role markers in this corpus"
NO_TASK = "no task or goal statement in this corpus"
NO_ROLES = "no conversation has a declared user and a declared assistant"
NOT_AUDITED = "no conversation could be audited ({n} format failure(s))"
TASK_SHARE = 0.5  # share of task-less conversations whose first user turn states a task
_MIN_TASK_WORDS = 6
_TASK_VERBS = frozenset("""
analyse analyze arrange book build buy calculate compare compile compose compute convert
create debug design develop draft estimate explain find fix generate help implement list
make order organise organize outline plan prepare produce recommend rent research reserve
schedule solve suggest summarise summarize translate write""".split())
_WANTS = frozenset({"need", "want", "like", "looking", "trying", "plan", "planning", "hoping"})


@dataclass
class Applicability:
    """Where each detector of one audit applies (module docstring)."""

    applies: dict[str, frozenset[str] | None] = field(default_factory=dict)
    runs_on: dict[str, frozenset[str] | None] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    n_applicable: dict[str, int] = field(default_factory=dict)
    markers: dict[str, Any] | None = None
    tasks: dict[str, str] = field(default_factory=dict)  # derived task statements


def flag_columns(name: str) -> list[str]:
    """The boolean finding columns of detector ``name`` (from its output on no turns)."""
    out = run_detector(name, empty_turns())
    return [c for c in out.columns if pd.api.types.is_bool_dtype(out[c])]


def states_task(doc: Any) -> bool:
    """True when a parsed first user turn clearly states a task: an imperative of a task
    verb ("Write a function ..."), "I need / want / would like / am looking for ...",
    or "Can / Could you (help me) <task verb> ...", with at least six words."""
    if sum(t.is_alpha for t in doc) < _MIN_TASK_WORDS:
        return False
    for sent in doc.sents:
        toks = [t for t in sent if not (t.is_punct or t.is_space or t.lower_ in ("please", "hi",
                                                                                   "hello"))]
        if not toks:
            continue
        words = [t.lower_ for t in toks]
        first = toks[0]
        if first.lower_ in _TASK_VERBS and not any(c.dep_ == "nsubj" for c in first.children):
            return True
        if words[0] in ("i", "we") and any(w in _WANTS for w in words[1:4]):
            return True
        if words[:2] in (["can", "you"], ["could", "you"], ["would", "you"]) and any(
                w in _TASK_VERBS for w in words[2:5]):
            return True
    return False


def _roles_by_conv(turns: pd.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    roles = turns["role"].astype("string").str.lower().fillna("")
    for cid, role in zip(turns["conversation_id"].astype(str), roles):
        out.setdefault(cid, set()).add(role)
    return out


def _derived_tasks(turns: pd.DataFrame, candidates: Sequence[str]) -> dict[str, str]:
    """conversation_id -> first user turn, for task-less conversations of a task-oriented
    corpus whose first user turn states a task (none when the corpus is not one)."""
    if not candidates:
        return {}
    users = turns[turns["role"].astype("string").str.lower().eq("user").fillna(False)
                  & turns["conversation_id"].isin(candidates)]
    first = users.sort_values("turn_index", kind="stable").groupby(
        "conversation_id", sort=False).head(1)
    texts = ["" if pd.isna(c) else str(c) for c in first["content"]]
    if not texts:
        return {}
    from artifactual.analysis.text import parse

    stated = {str(cid): text for cid, text, doc in
              zip(first["conversation_id"], texts, parse(texts)) if states_task(doc)}
    return stated if len(stated) >= TASK_SHARE * len(candidates) else {}


def resolve(detectors: Sequence[str], turns: pd.DataFrame, conversations: pd.DataFrame,
            audited: Mapping[str, bool], *,
            markers: Markers | Mapping[str, Any] | None = None) -> Applicability:
    """Applicability of each of ``detectors`` (module docstring); ``audited`` maps
    conversation_id -> could be audited; ``markers`` are given markers, else inferred."""
    out = Applicability()
    ids = [str(c) for c in conversations["conversation_id"]]
    ok = [c for c in ids if audited.get(c, False)]
    n_failed = len(ids) - len(ok)
    in_ok = turns[turns["conversation_id"].astype(str).isin(ok)]
    roles = _roles_by_conv(in_ok)
    with_task: set[str] = set()
    cols = [c for c in ("specified_task", "task") if c in conversations.columns]
    for row in conversations[["conversation_id", *cols]].itertuples(index=False):
        if any(isinstance(v, str) and v.strip() for v in row[1:]):
            with_task.add(str(row[0]))
    needs = {r for name in detectors for r in detector_requires(name)}
    if "role_markers" in needs:
        inference = infer_markers(in_ok)
        used = as_markers(markers) if markers is not None else inference.markers
        out.markers = {"source": "given" if markers is not None else "inferred",
                       "inferred": inference.to_json(),
                       "used": used.model_dump() if used is not None else None}
    if "task" in needs:
        out.tasks = _derived_tasks(in_ok, [c for c in ok if c not in with_task])
    empty = "no conversations were read" if not ids else NOT_AUDITED.format(n=n_failed)
    for name in detectors:
        keep, reason = list(ok), empty if not ok else ""
        for need in detector_requires(name):
            if need == "role_markers":
                if out.markers is None or out.markers["used"] is None:
                    keep, reason = [], reason or NO_MARKERS
                keep = [c for c in keep if roles.get(c, set()) & {"user", "assistant"}]
            elif need == "task":
                keep = [c for c in keep if c in with_task or c in out.tasks]
                reason = reason or NO_TASK
            elif need == "declared_roles":
                keep = [c for c in keep if {"user", "assistant"} <= roles.get(c, set())]
                reason = reason or NO_ROLES
        out.n_applicable[name] = len(keep)
        out.applies[name] = None if len(keep) == len(ids) else frozenset(keep)
        out.runs_on[name] = out.applies[name] if detector_scope(name) != "corpus" else (
            None if len(ok) == len(ids) else frozenset(ok))
        if not keep:
            why = reason or empty
            out.not_applicable[name] = why
            for flag in flag_columns(name):
                out.not_applicable.setdefault(flag, why)
    return out
