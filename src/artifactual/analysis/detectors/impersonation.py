"""Speaker impersonation, per turn: a turn that contains lines attributed to someone else.

This is common when a model writes both sides of a dialogue. A turn is flagged
when one of its lines starts (after optional whitespace and markdown emphasis
such as ``**``) with a label followed by a colon, where the label is

1. the name of another speaker of the same conversation (``Gardener:`` inside
   the Botanist's turn), or
2. a generic role label (:data:`GENERIC_LABELS`: ``AI User:``, ``AI Assistant:``,
   ``User:``, ``Assistant:``, ``Human:``, ``System:``, ``Bot:``, ``Chatbot:``)
   that is not the speaker's own: ``User:`` is the own label of a user-role
   speaker, ``Assistant:`` of an assistant-role speaker.

Labels compare case-insensitively. The CAMEL markers ``Instruction:``,
``Input:`` and ``Solution:`` (``ignore``) never count. Speakers are those who
speak in the conversation's turns.

Output columns: ``impersonation`` (bool) and ``evidence`` (str: the first
offending line, trimmed). With ``with_names=True`` also ``impersonated`` (str:
the speaker or label impersonated, ``""`` when none).

**Applicability:** every audited conversation (no requirement): a line labelled as
another participant or role is checkable in any log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from artifactual.analysis.registry import detector
from artifactual.errors import AnalysisError

__all__ = ["GENERIC_LABELS", "CAMEL_MARKERS", "find_impersonation", "detect_impersonation"]

GENERIC_LABELS: dict[str, str] = {
    "AI User": "user", "User": "user", "Human": "user",
    "AI Assistant": "assistant", "Assistant": "assistant", "Bot": "assistant",
    "Chatbot": "assistant", "System": "system",
}
CAMEL_MARKERS: tuple[str, ...] = ("Instruction", "Input", "Solution")
# A label may hold underscores (AG2 names such as Product_Manager), but not start with one:
# leading and trailing ``*``/``_`` are markdown emphasis around it.
_LABEL_LINE = re.compile(r"^[ \t]*[*_]{0,3}(?P<label>[^\n:*_][^\n:*]{0,59}?)[*_]{0,3}[ \t]*:"
                         r"[*_]{0,2}(?:[ \t]|$)")
_EVIDENCE_CHARS = 200


_YOU = re.compile(r"\s*\(you\)$", re.IGNORECASE)


def _key(label: str) -> str:
    return _YOU.sub("", " ".join(label.split())).casefold()


def find_impersonation(content: str, speaker: str, role: str | None,
                       participants: Iterable[str],
                       labels: Mapping[str, str] | None = None,
                       ignore: Iterable[str] = CAMEL_MARKERS) -> tuple[str, str] | None:
    """``(impersonated, offending line)`` for the first line of ``content`` attributed to
    another participant or to a generic role label not ``speaker``'s own; else None."""
    labels = GENERIC_LABELS if labels is None else labels
    own = {_key(speaker)} | {_key(k) for k, r in labels.items()
                             if role is not None and r == role.strip().lower()}
    skip = {_key(m) for m in ignore}
    others = {_key(p): p for p in participants if p and _key(p) not in own}
    generic = {_key(k): k for k in labels if _key(k) not in own}
    for line in content.splitlines():
        m = _LABEL_LINE.match(line)
        if m is None:
            continue
        key = _key(m.group("label"))
        if key in skip or key in own:
            continue
        name = others.get(key) or generic.get(key)
        if name is not None:
            text = " ".join(line.split())
            return name, text if len(text) <= _EVIDENCE_CHARS else text[:_EVIDENCE_CHARS - 3] + "..."
    return None


@detector("impersonation")
def detect_impersonation(turns: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                         ignore: Iterable[str] = CAMEL_MARKERS,
                         with_names: bool = False) -> pd.DataFrame:
    """Per turn: ``impersonation`` and ``evidence`` (and ``impersonated`` with ``with_names``).

    ``labels`` maps generic labels to the role that owns them (default
    :data:`GENERIC_LABELS`); ``ignore`` lists labels that never count. Needs the
    columns conversation_id, speaker, role and content.
    """
    ignore = tuple(ignore)
    n = len(turns)
    flag, who, evidence = [False] * n, [""] * n, [""] * n
    if n:
        missing = [c for c in ("conversation_id", "speaker", "role", "content")
                   if c not in turns.columns]
        if missing:
            raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                                fix="build it with artifactual.analysis.tables.to_frames")
        speakers = ["" if pd.isna(x) else str(x) for x in turns["speaker"].tolist()]
        roles = [None if pd.isna(x) else str(x) for x in turns["role"].tolist()]
        contents = ["" if pd.isna(x) else str(x) for x in turns["content"].tolist()]
        members: dict[Any, list[str]] = {}
        cids = turns["conversation_id"].tolist()
        for cid, sp in zip(cids, speakers):
            names = members.setdefault(cid, [])
            if sp and sp not in names:
                names.append(sp)
        for q in range(n):
            if ":" not in contents[q]:
                continue
            hit = find_impersonation(contents[q], speakers[q], roles[q], members[cids[q]],
                                     labels, ignore)
            if hit is not None:
                flag[q], who[q], evidence[q] = True, hit[0], hit[1]
    out = {"impersonation": pd.Series(flag, index=turns.index, dtype=bool)}
    if with_names:
        out["impersonated"] = pd.Series(who, index=turns.index, dtype="string")
    out["evidence"] = pd.Series(evidence, index=turns.index, dtype=object)
    return pd.DataFrame(out)
