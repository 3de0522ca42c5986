"""Conversation-level aggregation of per-turn detector flags, done in one place.

Per conversation (:func:`conversation_flags`), for every boolean flag column ``c``:
``c`` = any turn flagged, and a count (``n_flipped_messages`` for ``role_flip``,
``n_interrupted_messages`` for ``interruption``, ``n_<c>`` otherwise); for every
numeric score column ``s``: ``<s>_mean``. Also ``n_checked_messages``: turns whose
role is user or assistant (the turns the role-flip rule applies to).

Corpus summary (:func:`summarize`), all plain JSON values:

=========================  ===============================================================
n_conversations            number of conversations
n_turns                    number of turns
mean_turns                 mean turns per conversation
<c>_rate                   share of conversations with >= 1 flagged turn, for every boolean
                           flag; always present: ``role_flip_rate``, ``interruption_rate``
<c>_message_rate           flagged turns / turns the flag applies to (user + assistant turns
                           for role_flip and interruption, all turns otherwise); always
                           present: ``role_flip_message_rate``, ``interruption_message_rate``
<s>_mean                   mean of a numeric score column over turns
impersonation_rate         share of conversations with >= 1 ``impersonation`` turn
role_adherence_violation_  share of conversations with >= 1 ``role_adherence_violation``
rate                       turn (detector ``role_adherence``)
digression_rate            share of conversations with >= 1 off-task (``digression``) turn
mean_drift                 mean over conversations of each conversation's mean ``drift``
                           (its drift score, the conversations column ``drift_mean``)
repetition_loop_rate       share of conversations with >= 1 ``repetition`` turn (detector
                           ``repetition_loop``)
termination_reasons        {reason: count}; a missing reason counts under ``"(none)"``
group_by                   the grouping column, or None
groups                     {group value: the keys above}; ``{}`` when not grouped. A
                           missing group value is ``"(none)"``.
=========================  ===============================================================

A rate or mean whose denominator is zero (no conversations, no applicable turns)
or whose detector did not run is ``None``, never 0.0.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["conversation_flags", "summarize", "attach_flags", "NONE_KEY"]

NONE_KEY = "(none)"
_COUNT_NAMES = {"role_flip": "n_flipped_messages", "interruption": "n_interrupted_messages"}
_ROLE_FLAGS = ("role_flip", "interruption")  # apply to user + assistant turns only
_CHECKED_ROLES = ("user", "assistant")
# Summary keys present in every audit (None when the detector did not run) -> flag column.
_ISSUE_RATES = {"impersonation_rate": "impersonation",
                "role_adherence_violation_rate": "role_adherence_violation",
                "digression_rate": "digression", "repetition_loop_rate": "repetition"}


def _bool_cols(flags: pd.DataFrame) -> list[str]:
    return [c for c in flags.columns if pd.api.types.is_bool_dtype(flags[c])]


def _score_cols(flags: pd.DataFrame) -> list[str]:
    return [c for c in flags.columns if pd.api.types.is_numeric_dtype(flags[c])
            and not pd.api.types.is_bool_dtype(flags[c])]


def _checked(turns: pd.DataFrame) -> pd.Series:
    if "role" not in turns.columns:
        return pd.Series(False, index=turns.index)
    return turns["role"].astype("string").str.lower().isin(_CHECKED_ROLES).fillna(False)


def conversation_flags(turns: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation in ``turns``: any-flag, flag counts, score means."""
    bools, scores = _bool_cols(flags), _score_cols(flags)
    data = pd.DataFrame({"conversation_id": turns["conversation_id"],
                         "n_checked_messages": _checked(turns).astype("int64")},
                        index=turns.index)
    for c in bools:
        data[c] = flags[c].astype(bool)
    for s in scores:
        data[s] = flags[s].astype("float64")
    agg: dict[str, tuple[str, str]] = {"n_checked_messages": ("n_checked_messages", "sum")}
    for c in bools:
        agg[c] = (c, "any")
        agg[_COUNT_NAMES.get(c, f"n_{c}")] = (c, "sum")
    for s in scores:
        agg[f"{s}_mean"] = (s, "mean")
    out = data.groupby("conversation_id", sort=False).agg(**agg).reset_index()
    types = {c: "int64" for c in agg if agg[c][1] == "sum"}
    types.update({c: bool for c in bools}, conversation_id="string")
    return out.astype(types)


def attach_flags(conversations: pd.DataFrame, conv_flags: pd.DataFrame) -> pd.DataFrame:
    """Left-join conversation flags onto the conversations table (no turns -> False / 0)."""
    extra = [c for c in conv_flags.columns if c != "conversation_id"]
    base = conversations.drop(columns=[c for c in extra if c in conversations.columns])
    out = base.merge(conv_flags, on="conversation_id", how="left")
    out.index = conversations.index
    for c in extra:
        if pd.api.types.is_bool_dtype(conv_flags[c]):
            out[c] = out[c].fillna(False).astype(bool)
        elif pd.api.types.is_integer_dtype(conv_flags[c]):
            out[c] = out[c].fillna(0).astype("int64")
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _stats(conversations: pd.DataFrame, turns: pd.DataFrame,
           flags: pd.DataFrame) -> dict[str, Any]:
    n = len(conversations)
    conv = attach_flags(conversations[["conversation_id"]], conversation_flags(turns, flags))
    checked = int(_checked(turns).sum())
    out: dict[str, Any] = {"n_conversations": n, "n_turns": int(len(turns)),
                           "mean_turns": _ratio(conversations["n_turns"].sum(), n)}
    bools = _bool_cols(flags)
    for c in dict.fromkeys([*_ROLE_FLAGS, *bools]):
        present = c in bools
        den = checked if c in _ROLE_FLAGS else len(turns)
        out[f"{c}_rate"] = _ratio(conv[c].sum(), n) if present else None
        out[f"{c}_message_rate"] = _ratio(flags[c].sum(), den) if present else None
    for s in _score_cols(flags):
        out[f"{s}_mean"] = float(flags[s].mean()) if flags[s].notna().any() else None
    for key, c in _ISSUE_RATES.items():
        out[key] = _ratio(conv[c].sum(), n) if c in bools else None
    drift = conv["drift_mean"] if "drift_mean" in conv.columns else pd.Series(dtype=float)
    out["mean_drift"] = float(drift.mean()) if drift.notna().any() else None
    reasons = conversations["termination_reason"].astype("string").fillna(NONE_KEY)
    out["termination_reasons"] = {str(k): int(v) for k, v in reasons.value_counts().items()}
    return out


def summarize(conversations: pd.DataFrame, turns: pd.DataFrame, flags: pd.DataFrame,
              group_by: str | None = "strategy") -> dict[str, Any]:
    """Corpus summary (keys in the module docstring), overall and per ``group_by`` value."""
    out = _stats(conversations, turns, flags)
    out["group_by"] = group_by
    out["groups"] = {}
    if group_by is None or group_by not in conversations.columns:
        return out
    values = conversations[group_by].astype("string")
    if not values.notna().any():
        return out
    values = values.fillna(NONE_KEY)
    for key in sorted(values.unique()):
        ids = conversations.loc[values == key, "conversation_id"]
        in_group = turns["conversation_id"].isin(ids)
        out["groups"][str(key)] = _stats(conversations[values == key], turns[in_group],
                                         flags[in_group])
    return out
