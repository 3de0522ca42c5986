"""Small helpers the per-turn detectors share: column checks and conversation order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from artifactual.errors import AnalysisError

__all__ = ["require_columns", "ordered_conversations"]


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
