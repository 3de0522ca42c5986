"""The detectors in the terms of the multi-agent failure taxonomy (MAST) of Cemri et al.
2025, "Why Do Multi-Agent LLM Systems Fail?" (arXiv 2503.13657).

The taxonomy sorts what goes wrong in multi-agent logs into 14 failure modes in three
categories: specification issues, inter-agent misalignment and task verification. Each
offline detector evidences at most one mode, and most of them only part of it: a
detector sees one surface form of a mode (text repeated by embedding similarity is one
form of step repetition; a repeated action in new words is another). :data:`DETECTOR_MODES`
says which mode each detector evidences and how: ``full`` when every flag it raises is
an instance of the mode (it may still miss other forms of it), ``partial`` when a flag
is the mode only in some cases; and what part of the mode it does not see. Detectors that evidence none (``courtesy_only``: a
style artifact of Das et al. 2024, not a failure on its own) say why in
:data:`UNMAPPED`.

:func:`failure_modes` is the ``failure_modes`` section of an audit's summary.json: per
mode, the detectors that evidence it and the share of audited conversations any of them
flagged (a lower bound on the mode's prevalence where the fit is partial), and the modes
no offline detector sees. The definitions in :data:`MODES` are this project's own
wording; the judge asks them with ``audit --judge-taxonomy`` (``agents/prompts/judge.j2``).
This module imports nothing of the project, so analysis, generation and the report all
stand on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["SOURCE", "CATEGORIES", "MODES", "Mode", "DETECTOR_MODES", "UNMAPPED",
           "mode_of", "mode_by_id", "failure_modes", "mode_flags", "NO_DETECTOR"]

SOURCE = ("Cemri et al. 2025, Why Do Multi-Agent LLM Systems Fail? (arXiv 2503.13657), "
          "the MAST taxonomy")
CATEGORIES = {"1": "specification issues", "2": "inter-agent misalignment",
              "3": "task verification"}


@dataclass(frozen=True)
class Mode:
    """One failure mode: its id (``FM-1.2``), the taxonomy's short label, and a definition
    in this project's words (what a reader would point at in a log)."""
    id: str
    label: str
    definition: str

    @property
    def category(self) -> str:
        return CATEGORIES[self.id[3]]


MODES: tuple[Mode, ...] = (
    Mode("FM-1.1", "disobey task specification",
         "An agent ignores a requirement or constraint the task states (what to produce, in "
         "which form, within which limits)."),
    Mode("FM-1.2", "disobey role specification",
         "An agent acts outside the role it was given: the one who should instruct does the "
         "work, the one who should work gives the orders, or an agent speaks for another."),
    Mode("FM-1.3", "step repetition",
         "An agent redoes or restates a step that was already done, without new content, "
         "so the conversation goes round instead of forward."),
    Mode("FM-1.4", "loss of conversation history",
         "An agent acts as if earlier turns had not happened: it forgets a decision, a result "
         "or a constraint already settled in the conversation."),
    Mode("FM-1.5", "unaware of termination conditions",
         "The agents do not stop when the task is done or the stopping rule says so; they "
         "keep talking past the end."),
    Mode("FM-2.1", "conversation reset",
         "The conversation starts over without a reason: an agent restarts the task from the "
         "beginning and drops the progress made."),
    Mode("FM-2.2", "fail to ask for clarification",
         "An agent goes ahead on an unclear or incomplete request where it should have asked "
         "what was meant."),
    Mode("FM-2.3", "task derailment",
         "The conversation drifts away from the task: the agents work on something else than "
         "what they were asked to do."),
    Mode("FM-2.4", "information withholding",
         "An agent has information another agent needs and does not pass it on."),
    Mode("FM-2.5", "ignored other agent's input",
         "An agent disregards what another agent said (a correction, a result, a request) "
         "and carries on as before."),
    Mode("FM-2.6", "reasoning-action mismatch",
         "What an agent says it will do and what it then does differ."),
    Mode("FM-3.1", "premature termination",
         "The agents stop before the task is done, or declare it done when it is not."),
    Mode("FM-3.2", "no or incomplete verification",
         "The result is not checked, or checked only in part, before it is accepted."),
    Mode("FM-3.3", "incorrect verification",
         "A check is made but reaches the wrong verdict: a wrong result is approved or a "
         "right one rejected."),
)
_BY_ID = {m.id: m for m in MODES}
NO_DETECTOR = "no offline detector evidences this failure mode"


def mode_by_id(mode_id: str) -> Mode | None:
    """The mode ``FM-x.y``, or None for any other name."""
    return _BY_ID.get(mode_id)

#: offline flag column -> (mode id, fit, what the detector sees of the mode)
DETECTOR_MODES: dict[str, tuple[str, str, str]] = {
    "role_flip": ("FM-1.2", "full", "a turn written with the other role's marker"),
    "role_flip_unmarked": ("FM-1.2", "full", "the instructing side delivers the work or "
                           "offers help, the working side hands the task back"),
    "role_adherence_violation": ("FM-1.2", "full", "speech acts that contradict the "
                                 "declared role"),
    "impersonation": ("FM-1.2", "partial", "an agent writing another agent's lines; not "
                      "other ways of leaving a role"),
    "interruption": ("FM-1.1", "partial", "turns that drop the format the role-play "
                     "specifies; not the task's other requirements"),
    "format_failure": ("FM-1.1", "partial", "malformed or cut-off output; a cut at the "
                       "token limit is also the engine's doing"),
    "content_repetition": ("FM-1.3", "partial", "a speaker repeating its own turn nearly "
                           "word for word; a step redone in new words is missed"),
    "repetition": ("FM-1.3", "partial", "a speaker repeating its previous turn"),
    "courtesy_loop": ("FM-1.5", "partial", "thanks traded instead of stopping; not other "
                      "ways of running past the end"),
    "digression": ("FM-2.3", "partial", "turns off the task's topic by embedding "
                   "similarity; an on-topic but wrong subtask is missed"),
}
#: offline flag column -> why it evidences no failure mode
UNMAPPED: dict[str, str] = {
    "courtesy_only": "a style artifact (Das et al. 2024), not a failure on its own; "
                     "runs of it are courtesy_loop",
}


def mode_of(flag: str) -> dict[str, Any] | None:
    """The mode ``flag`` evidences as plain data (id, label, category, fit, note), or None."""
    if flag not in DETECTOR_MODES:
        return None
    mode_id, fit, note = DETECTOR_MODES[flag]
    mode = _BY_ID[mode_id]
    return {"mode": mode.id, "label": mode.label, "category": mode.category, "fit": fit,
            "note": note}


def mode_flags(conversations: pd.DataFrame) -> dict[str, pd.Series]:
    """Per mode with a detector column in ``conversations``: the conversation's offline
    flag for the mode (any of its detectors flagged; null where none of them applied)."""
    out: dict[str, pd.Series] = {}
    for mode in MODES:
        cols = [f for f, (m, _, _) in DETECTOR_MODES.items()
                if m == mode.id and f in conversations.columns]
        if not cols:
            continue
        values = conversations[cols].astype("boolean")
        flag = values.fillna(False).any(axis=1).astype("boolean")
        flag[values.isna().all(axis=1)] = pd.NA
        out[mode.id] = flag
    return out


def failure_modes(conversations: pd.DataFrame) -> dict[str, Any]:
    """The summary's ``failure_modes`` section (module docstring). Rates are over the
    audited conversations where at least one of the mode's detectors applied."""
    conv = conversations
    if "audited" in conv.columns:
        conv = conv[conv["audited"].astype("boolean").fillna(False).astype(bool)]
    flags = mode_flags(conv)
    detectors: dict[str, Any] = {}
    for flag in conv.columns:
        if flag in DETECTOR_MODES:
            detectors[flag] = mode_of(flag)
        elif flag in UNMAPPED:
            detectors[flag] = {"mode": None, "note": UNMAPPED[flag]}
    modes = []
    for mode in MODES:
        found = [f for f, d in detectors.items() if d and d.get("mode") == mode.id]
        entry: dict[str, Any] = {"mode": mode.id, "label": mode.label,
                                 "category": mode.category, "detectors": found}
        flag = flags.get(mode.id)
        if flag is not None and flag.notna().any():
            known = flag.dropna().astype(bool)
            fits = {DETECTOR_MODES[f][1] for f in found}
            entry.update(k=int(known.sum()), n=int(len(known)),
                         rate=float(known.mean()), fit="full" if "full" in fits else "partial")
        else:
            entry.update(k=None, n=None, rate=None, fit=None,
                         note="no offline detector evidences it here; ask a judge "
                              "(audit --judge CONFIG --judge-taxonomy)")
        modes.append(entry)
    return {"source": SOURCE, "detectors": detectors, "modes": modes}
