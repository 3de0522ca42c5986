"""Role flips and interruptions in CAMEL-style role-play (Das et al., 2024), per message.

The rule, for a message of declared role *user*:

1. it contains an assistant marker (``Solution:``)       -> ``role_flip``;
2. otherwise it contains neither a user marker (``Instruction:``) nor a done
   token (``<CAMEL_TASK_DONE>``)                          -> ``interruption``.

An *assistant* message is the mirror image (``Instruction:`` flips it; neither
``Solution:`` nor the done token makes it an interruption). Turns of any other
role get False / False. Markers are plain case-sensitive substrings and each
list may hold variants (e.g. ``Solution&Action:``); any one counts. With
``Markers.anchored`` (an option; the paper's rule and inferred markers leave it off) a
marker ending in a colon counts only at a line's start (after whitespace, ``>``, a bullet or
markdown emphasis), any other marker (a closing phrase such as ``Next request.``) only as a
whole line or a line's last sentence, and done tokens (``<CAMEL_TASK_DONE>``) anywhere.
Inferred markers are anchored; the paper's own ``Instruction:`` and ``Solution:`` count
anywhere, as in its rule.

**Applicability** (``requires=("role_markers",)``): the rule applies only to a corpus
with a role-marker convention, inferred from the data (:mod:`.markers`: line-leading
labels, closing phrases and done tokens that each role uses in most of its turns) or
given (``--markers`` / ``markers=``). Without one, ``role_flip`` and ``interruption``
are ``None`` in the summary with the reason "no role markers in this corpus". Within a
corpus that has one, a conversation applies when it has a user or an assistant turn.

Output columns: ``role_flip`` (bool), ``interruption`` (bool), ``evidence`` (str):
the marker found, where, and the text around it; or the markers that are missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from artifactual.analysis.detectors.common import DONE_WORD
from artifactual.analysis.registry import detector
from artifactual.errors import AnalysisError

__all__ = ["Markers", "as_markers", "classify_message", "detect_role_flips"]

_CONTEXT = 30  # characters of context either side of a marker in the evidence


class Markers(BaseModel):
    """Marker strings for the role-flip rule; any string in a list counts."""

    model_config = ConfigDict(extra="forbid")
    user_markers: list[str] = Field(default_factory=lambda: ["Instruction:"])
    assistant_markers: list[str] = Field(default_factory=lambda: ["Solution:"])
    done_tokens: list[str] = Field(default_factory=lambda: ["<CAMEL_TASK_DONE>"])
    anchored: bool = False  # markers ending in ":" count only at a line's start

    @field_validator("user_markers", "assistant_markers", "done_tokens")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not m for m in v):
            raise ValueError("an empty marker would match every message")
        return v


def as_markers(value: Markers | Mapping[str, Any] | None) -> Markers:
    """A :class:`Markers` from a model, a mapping or None (defaults); AnalysisError if invalid."""
    if isinstance(value, Markers):
        return value
    try:
        return Markers.model_validate(dict(value or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AnalysisError(f"invalid role-flip markers: {'.'.join(map(str, err['loc']))}: "
                            f"{err['msg']}",
                            fix="give user_markers, assistant_markers and done_tokens as "
                                "lists of non-empty strings") from None


_LINE_START = r"(?:^|\n)[ \t>]*(?:[-*\u2022][ \t]+)?[*_]{0,2}"


_DONE_LIKE = re.compile(rf"^{DONE_WORD}$")
#: The paper's own markers: matched as its rule matches them (anywhere), even when anchored.
PAPER_MARKERS = ("Instruction:", "Solution:")


def _find(content: str, marker: str, anchored: bool) -> int:
    if not anchored or _DONE_LIKE.match(marker) or marker in PAPER_MARKERS:
        return content.find(marker)
    if marker.endswith(":"):
        m = re.search(_LINE_START + "(" + re.escape(marker[:-1]) + r")[*_]{0,2}:", content)
    else:  # a closing phrase: a whole line, or a line's last sentence
        m = re.search(r"(?:^|\n|[.!?][ \t]+)[ \t>*_]*(" + re.escape(marker) + r")[ \t*_]*(?:$|\n)",
                      content)
    return m.start(1) if m else -1


def _first(content: str, markers: list[str], anchored: bool = False) -> tuple[str, int] | None:
    """The earliest marker found in ``content`` and its position, or None."""
    hits = [(_find(content, m, anchored), m) for m in markers]
    found = [(pos, m) for pos, m in hits if pos >= 0]
    if not found:
        return None
    pos, m = min(found)
    return m, pos


def _snippet(content: str, pos: int, length: int) -> str:
    start, end = max(0, pos - _CONTEXT), min(len(content), pos + length + _CONTEXT)
    text = " ".join(content[start:end].split())
    return ("..." if start > 0 else "") + text + ("..." if end < len(content) else "")


def classify_message(role: str | None, content: str,
                     markers: Markers | None = None) -> tuple[bool, bool, str]:
    """``(role_flip, interruption, evidence)`` for one message under the rule above."""
    mk = markers or Markers()
    role = (role or "").strip().lower()
    if role == "user":
        other, own = mk.assistant_markers, mk.user_markers
    elif role == "assistant":
        other, own = mk.user_markers, mk.assistant_markers
    else:
        return False, False, ""
    hit = _first(content, other, mk.anchored)
    if hit is not None:
        m, pos = hit
        return True, False, (f'{role} turn contains "{m}" at char {pos}: '
                             f'"{_snippet(content, pos, len(m))}"')
    if _first(content, own + mk.done_tokens, mk.anchored) is None:
        return False, True, f"{role} turn has none of {'/'.join(own + mk.done_tokens)}"
    return False, False, ""


@detector("role_flip", requires=("role_markers",))
def detect_role_flips(turns: pd.DataFrame, *,
                      markers: Markers | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per turn: ``role_flip``, ``interruption`` and ``evidence`` (needs role, content)."""
    mk = as_markers(markers)
    if len(turns) == 0:
        return pd.DataFrame({"role_flip": pd.Series([], dtype=bool),
                             "interruption": pd.Series([], dtype=bool),
                             "evidence": pd.Series([], dtype=object)}, index=turns.index)
    missing = [c for c in ("role", "content") if c not in turns.columns]
    if missing:
        raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                            fix="build it with artifactual.analysis.tables.to_frames")
    rows = [classify_message(None if pd.isna(r) else str(r), "" if pd.isna(c) else str(c), mk)
            for r, c in zip(turns["role"], turns["content"])]
    flips, interrupts, evidence = zip(*rows)
    return pd.DataFrame({"role_flip": list(flips), "interruption": list(interrupts),
                         "evidence": list(evidence)}, index=turns.index).astype(
        {"role_flip": bool, "interruption": bool, "evidence": object})
