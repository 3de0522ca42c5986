"""Conversation-level aggregation of per-turn detector flags, done in one place.

Per conversation (:func:`conversation_flags`), for every boolean flag column ``c``:
``c`` = any turn flagged, and a count (``n_flipped_messages`` for ``role_flip``,
``n_interrupted_messages`` for ``interruption``, ``n_<c>`` otherwise); for every
numeric score column ``s``: ``<s>_mean``. Also ``n_checked_messages``: turns whose
role is user or assistant (the turns the role-flip rule applies to). A flag whose turns
are all <NA> (the detector did not run on them) is <NA> for the conversation, and so
is its count; :func:`mask_flags` sets them <NA> for every conversation a detector does
not apply to, including those with no turns.

Corpus summary (:func:`summarize`), all plain JSON values:

=========================  ===============================================================
n_conversations            number of conversations read
n_audited                  conversations that could be audited (``audited``: not a format
                           collapse); every rate below except ``format_failure_rate`` is
                           over audited conversations the detector applies to
n_turns                    number of turns
mean_turns                 mean turns per conversation
format_failure_rate        share of all conversations with a ``format_failure``
<c>_rate                   share of conversations with >= 1 flagged turn, over those the
                           flag applies to, for every boolean flag; always present:
                           ``role_flip_rate``, ``interruption_rate``
<c>_message_rate           flagged turns / turns the flag applies to (user + assistant turns
                           for role_flip and interruption, all turns otherwise, in each case
                           of conversations the detector ran on); always present:
                           ``role_flip_message_rate``, ``interruption_message_rate``
<s>_mean                   mean of a numeric score column over the turns it was computed on
impersonation_rate         share of conversations with >= 1 ``impersonation`` turn
role_adherence_violation_  share of conversations with >= 1 ``role_adherence_violation``
rate                       turn (detector ``role_adherence``)
digression_rate            share of conversations with >= 1 off-task (``digression``) turn
mean_drift                 mean over conversations of each conversation's mean ``drift``
                           (its drift score, the conversations column ``drift_mean``)
courtesy_loop_rate         share of conversations with a run of >= 3 courtesy-only turns
                           (detector ``courtesy_loop``)
content_repetition_rate    share of conversations with >= 1 turn repeating earlier content
                           (detector ``content_repetition``)
termination_reasons        {reason: count}; a missing reason counts under ``"(none)"``
group_by                   the grouping column, or None
groups                     {group value: the keys above}; ``{}`` when not grouped. A
                           missing group value is ``"(none)"``.
=========================  ===============================================================

A rate or mean whose denominator is zero (no conversations, no applicable turns), whose
detector did not run, or whose detector applies to no audited conversation is ``None``,
never 0.0 (:func:`artifactual.analysis.audit.audit` adds the reason under
``not_applicable``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["conversation_flags", "summarize", "attach_flags", "mask_flags", "NONE_KEY"]

NONE_KEY = "(none)"
_COUNT_NAMES = {"role_flip": "n_flipped_messages", "interruption": "n_interrupted_messages"}
_ROLE_FLAGS = ("role_flip", "interruption")  # apply to user + assistant turns only
_CHECKED_ROLES = ("user", "assistant")
# Summary keys present in every audit (None when the detector did not run) -> flag column.
_ISSUE_RATES = {"impersonation_rate": "impersonation",
                "role_adherence_violation_rate": "role_adherence_violation",
                "digression_rate": "digression", "courtesy_loop_rate": "courtesy_loop",
                "content_repetition_rate": "content_repetition"}


def _bool_cols(flags: pd.DataFrame) -> list[str]:
    return [c for c in flags.columns if pd.api.types.is_bool_dtype(flags[c])]


def _score_cols(flags: pd.DataFrame) -> list[str]:
    return [c for c in flags.columns if pd.api.types.is_numeric_dtype(flags[c])
            and not pd.api.types.is_bool_dtype(flags[c])]


def _plain(dtype: Any) -> bool:
    """A numpy dtype (bool, int64), as opposed to a nullable pandas one (boolean, Int64)."""
    return isinstance(dtype, np.dtype)


def _checked(turns: pd.DataFrame) -> pd.Series:
    if "role" not in turns.columns:
        return pd.Series(False, index=turns.index)
    return turns["role"].astype("string").str.lower().isin(_CHECKED_ROLES).fillna(False)


def count_name(flag: str) -> str:
    """The conversations column counting a flag's turns."""
    return _COUNT_NAMES.get(flag, f"n_{flag}")


def conversation_flags(turns: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation in ``turns``: any-flag, flag counts, score means."""
    bools, scores = _bool_cols(flags), _score_cols(flags)
    data = pd.DataFrame({"conversation_id": turns["conversation_id"],
                         "n_checked_messages": _checked(turns).astype("int64")},
                        index=turns.index)
    for c in bools:
        data[c] = flags[c].astype("float64")  # True 1, False 0, <NA> NaN
    for s in scores:
        data[s] = flags[s].astype("float64")
    agg: dict[str, tuple[str, str]] = {"n_checked_messages": ("n_checked_messages", "sum")}
    for c in bools:
        agg[c] = (c, "max")
        agg[count_name(c)] = (c, "sum")
        agg[f"_seen_{c}"] = (c, "count")
    for s in scores:
        agg[f"{s}_mean"] = (s, "mean")
    out = data.groupby("conversation_id", sort=False).agg(**agg).reset_index()
    for c in bools:
        seen = out.pop(f"_seen_{c}") > 0
        nullable = flags[c].isna().any() or not _plain(flags[c].dtype)
        if nullable:
            out[c] = (out[c] > 0).astype("boolean").where(seen, pd.NA)
            out[count_name(c)] = out[count_name(c)].astype("Int64").where(seen, pd.NA)
        else:
            out[c] = (out[c] > 0).astype(bool)
            out[count_name(c)] = out[count_name(c)].astype("int64")
    return out.astype({"n_checked_messages": "int64", "conversation_id": "string"})


def attach_flags(conversations: pd.DataFrame, conv_flags: pd.DataFrame) -> pd.DataFrame:
    """Left-join conversation flags onto the conversations table (no turns -> False / 0 for
    plain columns; <NA> stays <NA> for nullable ones)."""
    extra = [c for c in conv_flags.columns if c != "conversation_id"]
    base = conversations.drop(columns=[c for c in extra if c in conversations.columns])
    out = base.merge(conv_flags, on="conversation_id", how="left")
    out.index = conversations.index
    for c in extra:
        dtype = conv_flags[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[c] = (out[c].fillna(False).astype(bool) if _plain(dtype)
                      else out[c].astype("boolean"))
        elif pd.api.types.is_integer_dtype(dtype):
            out[c] = (out[c].fillna(0).astype("int64") if _plain(dtype)
                      else out[c].astype("Int64"))
        elif isinstance(dtype, pd.StringDtype):
            out[c] = out[c].astype("string")
    return out


def mask_flags(conversations: pd.DataFrame, applies: Mapping[str, Iterable[str] | None],
               columns: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """``conversations`` with each detector's flags, counts and score means <NA> for the
    conversations it does not apply to (``applies[name]``: ids, or None for all);
    ``columns[name]`` are the detector's turn columns."""
    out = conversations.copy()
    ids = out["conversation_id"].astype(str)
    for name, keep in applies.items():
        if keep is None:
            continue
        off = ~ids.isin(set(keep)).to_numpy(dtype=bool)
        for col in columns.get(name, ()):
            for target in (col, count_name(col), f"{col}_mean"):
                if target not in out.columns or target == "evidence":
                    continue
                series = out[target]
                if pd.api.types.is_bool_dtype(series):
                    series = series.astype("boolean")
                elif pd.api.types.is_integer_dtype(series):
                    series = series.astype("Int64")
                out[target] = series.mask(pd.Series(off, index=series.index))
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _rate(col: pd.Series) -> float | None:
    known = col.dropna()
    return _ratio(known.astype(bool).sum(), len(known))


def _stats(conv: pd.DataFrame, turns: pd.DataFrame, flags: pd.DataFrame) -> dict[str, Any]:
    n = len(conv)
    audited = conv["audited"].astype(bool) if "audited" in conv.columns else \
        pd.Series(True, index=conv.index)
    checked = _checked(turns)
    out: dict[str, Any] = {"n_conversations": n, "n_audited": int(audited.sum()),
                           "n_turns": int(len(turns)),
                           "mean_turns": _ratio(conv["n_turns"].sum(), n)}
    out["format_failure_rate"] = (_rate(conv["format_failure"])
                                  if "format_failure" in conv.columns else None)
    bools = _bool_cols(flags)
    for c in dict.fromkeys([*_ROLE_FLAGS, *bools]):
        present = c in bools
        if not present:
            out[f"{c}_rate"] = out[f"{c}_message_rate"] = None
            continue
        ran = flags[c].notna().to_numpy(dtype=bool)
        if c in _ROLE_FLAGS:
            ran = ran & checked.to_numpy(dtype=bool)
        out[f"{c}_rate"] = _rate(conv[c]) if c in conv.columns else None
        out[f"{c}_message_rate"] = _ratio(flags[c][ran].astype(bool).sum(), int(ran.sum()))
    for s in _score_cols(flags):
        out[f"{s}_mean"] = float(flags[s].mean()) if flags[s].notna().any() else None
    for key, c in _ISSUE_RATES.items():
        out[key] = _rate(conv[c]) if c in bools and c in conv.columns else None
    drift = conv["drift_mean"] if "drift_mean" in conv.columns else pd.Series(dtype=float)
    out["mean_drift"] = float(drift.mean()) if drift.notna().any() else None
    reasons = conv["termination_reason"].astype("string").fillna(NONE_KEY)
    out["termination_reasons"] = {str(k): int(v) for k, v in reasons.value_counts().items()}
    return out


def summarize(conversations: pd.DataFrame, turns: pd.DataFrame, flags: pd.DataFrame,
              group_by: str | None = "strategy") -> dict[str, Any]:
    """Corpus summary (keys in the module docstring), overall and per ``group_by`` value.

    ``conversations`` should carry the conversation flags (:func:`attach_flags`,
    :func:`mask_flags`); when it does not, they are computed here from ``flags``."""
    missing = [c for c in _bool_cols(flags) if c not in conversations.columns]
    if missing:
        conversations = attach_flags(conversations, conversation_flags(turns, flags))
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
