"""Score an audit's flags against a :class:`~.gold.GoldSet`, whatever detectors ran.

Flags are read from the audit's tables: every boolean column of ``turns`` that is not a
base column (:data:`~artifactual.analysis.tables.TURN_COLUMNS`) is a turn flag, and every
boolean column of ``conversations`` beyond the base columns (and ``audited``) is a
conversation flag. A
missing value (<NA>) means the flag does not apply to that turn or conversation; such
units are left out and counted. A flag whose summary rate is ``None`` does not apply to
the corpus; the reason is looked up in ``summary["not_applicable"]``.

:data:`GOLD_TO_FLAGS` is the one table that says which detector flags answer which gold
label; a flag in it that the audit did not produce is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analysis.tables import CONVERSATION_COLUMNS, TURN_COLUMNS
from artifactual.analysis.validity.gold import GoldSet

__all__ = ["GOLD_TO_FLAGS", "Units", "flag_columns", "not_applicable_reason", "collect",
           "flag_rates"]

# gold label -> the detector flags that claim to find it (first: the intended one)
GOLD_TO_FLAGS: dict[str, tuple[str, ...]] = {
    "role_flip": ("role_flip", "role_flip_unmarked", "role_adherence_violation"),
    "impersonation": ("impersonation",),
    "off_task": ("digression",),
    "off_task_loose": ("digression",),
    "courtesy": ("courtesy_only",),
    "courtesy_loop": ("courtesy_loop", "repetition"),
    "repetition": ("content_repetition", "repetition"),
    "malformed": ("format_failure",),
    "no_final_answer": ("format_failure",),
}
NOT_FLAGS = frozenset({"audited"})  # boolean columns that are bookkeeping, not findings


@dataclass
class Units:
    """Gold and predicted values of one flag for one gold label on one set, at one level."""

    set_name: str
    label: str
    flag: str
    level: str  # "turn" | "conversation"
    gold: np.ndarray
    pred: np.ndarray
    clusters: np.ndarray
    n_not_applicable: int = 0
    reason: str | None = None  # set when the flag does not apply at all


def _bool_flags(frame: pd.DataFrame, base: Mapping[str, str]) -> list[str]:
    return [c for c in frame.columns if c not in base and c not in NOT_FLAGS
            and pd.api.types.is_bool_dtype(frame[c])]


def flag_columns(turns: pd.DataFrame, conversations: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(turn flags, conversation flags) present in an audit's tables."""
    return _bool_flags(turns, TURN_COLUMNS), _bool_flags(conversations, CONVERSATION_COLUMNS)


def _find(tree: Any, flag: str) -> str | None:
    """A reason for ``flag`` anywhere in a (nested) not_applicable map; the flag's own entry
    first, then one whose name it extends ("role_flip" for "role_flip_message")."""
    if isinstance(tree, Mapping):
        own = tree.get(flag, tree.get(f"{flag}_rate"))
        if isinstance(own, str):
            return own
        for key, value in tree.items():
            k = str(key)
            if k in (flag, f"{flag}_rate") or flag.startswith(k) or k.startswith(flag):
                if isinstance(value, str):
                    return value
                if isinstance(value, Mapping):
                    inner = value.get("reason") or _find(value, flag)
                    if inner:
                        return str(inner)
            found = _find(value, flag) if isinstance(value, Mapping) else None
            if found:
                return found
    return None


def not_applicable_reason(summary: Mapping[str, Any], flag: str) -> str | None:
    """Why ``flag`` does not apply to the corpus, or None when it does (its rate is a number)."""
    reason = _find(summary.get("not_applicable") or {}, flag)
    rate = summary.get(f"{flag}_rate", 0.0)
    if rate is None:
        return reason or "rate is null in summary.json"
    return reason if flag in (summary.get("not_applicable") or {}) else None


def _values(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(applies, value) arrays of a bool / nullable-boolean column."""
    na = series.isna().to_numpy()
    return ~na, series.fillna(False).astype(bool).to_numpy()


def collect(result: Any, gold: GoldSet) -> list[Units]:
    """Units for every (gold label, flag, level) the set and the audit both have."""
    turns, convs, summary = result.turns, result.conversations, result.summary
    turn_flags, conv_flags = flag_columns(turns, convs)
    scored = convs[convs["conversation_id"].isin(gold.ids)]
    out: list[Units] = []
    for label in gold.labels:
        for flag in GOLD_TO_FLAGS.get(label, ()):
            reason = not_applicable_reason(summary, flag)
            if flag in conv_flags:
                ok, pred = _values(scored[flag])
                ids = scored["conversation_id"].astype(str).to_numpy()
                g = np.array([label in gold.conversations[c] for c in ids])
                out.append(Units(gold.name, label, flag, "conversation", g[ok], pred[ok], ids[ok],
                                 int((~ok).sum()), reason if not ok.any() or reason else None))
            if flag in turn_flags and gold.turns is not None:
                out.append(_turn_units(turns, gold, label, flag, reason))
    return out


def _turn_units(turns: pd.DataFrame, gold: GoldSet, label: str, flag: str,
                reason: str | None) -> Units:
    assert gold.turns is not None
    cids = turns["conversation_id"].astype(str).to_numpy()
    idx = turns["turn_index"].to_numpy()
    keep = np.array([c in gold.turns and int(i) in gold.turns[c] for c, i in zip(cids, idx)],
                    dtype=bool)
    ok, pred = _values(turns[flag])
    sel = keep & ok
    g = np.array([label in gold.turns[c][int(i)] for c, i in zip(cids[sel], idx[sel])], dtype=bool)
    return Units(gold.name, label, flag, "turn", g, pred[sel], cids[sel],
                 int((keep & ~ok).sum()), reason if not sel.any() or reason else None)


def flag_rates(result: Any, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Per conversation flag: conversations flagged / conversations it applies to."""
    convs = result.conversations
    if ids is not None:
        convs = convs[convs["conversation_id"].isin(ids)]
    _, conv_flags = flag_columns(result.turns, result.conversations)
    rows = []
    for flag in conv_flags:
        ok, pred = _values(convs[flag])
        rows.append({"flag": flag, "n": int(ok.sum()), "flagged": int(pred[ok].sum()),
                     "n_not_applicable": int((~ok).sum()),
                     "reason": not_applicable_reason(result.summary, flag)})
    return rows
