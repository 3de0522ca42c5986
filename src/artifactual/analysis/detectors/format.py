"""Format failures, per conversation: output that could not be parsed into its format.

A format failure is an artifact in its own right (a model that cannot hold the SPP
persona format, a reply cut off at the token limit), not a clean result. Per
conversation (:func:`format_failures`), with the first reason found:

*Not auditable* (``audited`` False: left out of every other rate's denominator):

1. ``no turns could be parsed``: the reader yielded no turns;
2. the reader's own verdict, when it marks the conversation collapsed
   (``Conversation.meta["format_collapsed"]``, reason ``meta["format_error"]``): e.g. an
   SPP transcript whose persona format collapsed (no persona turn parsed);
3. ``every turn is empty``.

*Auditable defects* (``audited`` True: the other detectors still read its turns):

4. ``empty turn(s) at index ...``: blank turns among non-blank ones;
5. ``turn i cut off at the token limit``: a turn whose recorded ``finish_reason`` is
   ``length`` (or ``max_tokens``); or, when the conversation's ``termination_reason``
   records truncation (``max_tokens``, ``length``), a last turn that ends without
   terminal punctuation. Punctuation alone is never taken as truncation (human turns
   often end without it);
6. the reader's ``meta["format_error"]`` without ``format_collapsed`` (e.g. SPP: ``final
   answer missing``).

Columns (conversations table): ``format_failure`` (bool), ``format_failure_reason``
(string, ``""`` when none), ``audited`` (bool). Summary: ``format_failure_rate`` over all
conversations, ``n_conversations`` and ``n_audited``.

**Applicability:** every conversation (it needs only the tables).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["format_failures", "FORMAT_COLUMNS", "TRUNCATED_FINISH", "TRUNCATED_TERMINATION"]

FORMAT_COLUMNS = {"format_failure": bool, "format_failure_reason": "string", "audited": bool}
TRUNCATED_FINISH = frozenset({"length", "max_tokens"})
TRUNCATED_TERMINATION = frozenset({"max_tokens", "length"})
_TERMINAL = tuple(".!?\u2026\"'\u201d\u2019)]}>*`|")


def _str(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _ends_cleanly(text: str) -> bool:
    return text.rstrip().endswith(_TERMINAL)


def _indices(values: list[int]) -> str:
    shown = ", ".join(map(str, values[:5]))
    return shown + (f" (+{len(values) - 5} more)" if len(values) > 5 else "")


def _reason(conv: dict, texts: list[str], finishes: list[str],
            indices: list[int]) -> tuple[str, bool]:
    """(reason, audited) for one conversation; reason '' when it is well-formed."""
    error = _str(conv.get("format_error"))
    if not texts:
        return "no turns could be parsed", False
    if bool(conv.get("format_collapsed")) is True:
        return error or "the reader found its format collapsed", False
    blank = [i for i, t in zip(indices, texts) if not t.strip()]
    if len(blank) == len(texts):
        return "every turn is empty", False
    if blank:
        return f"empty turn(s) at index {_indices(blank)}", True
    cut = [i for i, f in zip(indices, finishes) if f.lower() in TRUNCATED_FINISH]
    if cut:
        return f"turn(s) {_indices(cut)} cut off at the token limit (finish_reason=length)", True
    term = _str(conv.get("termination_reason")).lower()
    if term in TRUNCATED_TERMINATION and not _ends_cleanly(texts[-1]):
        return (f"last turn (index {indices[-1]}) cut off mid-sentence "
                f"(termination_reason={term})"), True
    if error:
        return error, True
    return "", True


def format_failures(turns: pd.DataFrame, conversations: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation (same order as ``conversations``): ``conversation_id``,
    ``format_failure``, ``format_failure_reason`` and ``audited`` (module docstring)."""
    by_conv: dict[str, list[int]] = {}
    cids = turns["conversation_id"].astype(str).tolist() if len(turns) else []
    for pos, cid in enumerate(cids):
        by_conv.setdefault(cid, []).append(pos)
    texts = [_str(c) for c in turns["content"]] if len(turns) else []
    finishes = ([_str(f) for f in turns["finish_reason"]]
                if len(turns) and "finish_reason" in turns.columns else [""] * len(texts))
    order = turns["turn_index"].tolist() if len(turns) else []
    rows = []
    for conv in conversations.to_dict("records"):
        cid = str(conv["conversation_id"])
        pos = sorted(by_conv.get(cid, []), key=lambda q: order[q])
        reason, audited = _reason(conv, [texts[q] for q in pos], [finishes[q] for q in pos],
                                  [int(order[q]) for q in pos])
        rows.append({"conversation_id": cid, "format_failure": bool(reason),
                     "format_failure_reason": reason, "audited": audited})
    out = pd.DataFrame(rows, columns=["conversation_id", *FORMAT_COLUMNS])
    return out.astype({"conversation_id": "string", **FORMAT_COLUMNS})
