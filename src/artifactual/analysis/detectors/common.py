"""Small helpers the per-turn detectors share: column checks, conversation order, evidence
snippets and the shape of a done token."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from artifactual.errors import AnalysisError

__all__ = ["require_columns", "ordered_conversations", "snippet", "DONE_WORD", "relays_tool"]

#: A done token: an upper-case word with an underscore, bare or in angle brackets
#: (``CAMEL_TASK_DONE``, ``<CAMEL_TASK_DONE>``); a regex source, to search for or anchor.
DONE_WORD = r"<?\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b>?"


#: How agent frameworks print a tool call's result into a conversation, as the turn of the
#: agent that ran it: AutoGen's code-execution report ("exitcode: 0 (execution
#: succeeded)") and its "***** Response from calling tool|function ..." block.
TOOL_RESULT = re.compile(r"\A\s*(?:exitcode:\s*-?\d+\b|\*{3,}\s*Response from calling "
                         r"(?:tool|function)\b)", re.IGNORECASE)


def relays_tool(text: str) -> bool:
    """True for a turn that relays a tool's result (:data:`TOOL_RESULT`): what it says came
    from the environment, not from its speaker."""
    return bool(TOOL_RESULT.match(text or ""))


def snippet(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with "..." when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 3] + "..."


def require_columns(turns: pd.DataFrame, names: Sequence[str]) -> None:
    """AnalysisError naming the columns of ``names`` that ``turns`` lacks."""
    missing = [c for c in names if c not in turns.columns]
    if missing:
        raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                            fix="build it with artifactual.analysis.tables.to_frames")


def ordered_conversations(turns: pd.DataFrame) -> list[list[int]]:
    """Row positions of each conversation's turns, ordered by ``turn_index`` (ties keep
    table order), conversations in order of first appearance."""
    order = turns["turn_index"].tolist()
    groups: dict[Any, list[int]] = {}
    for pos, cid in enumerate(turns["conversation_id"].tolist()):
        groups.setdefault(cid, []).append(pos)
    return [sorted(rows, key=lambda q: order[q]) for rows in groups.values()]
