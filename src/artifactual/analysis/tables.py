"""Flat tables made from conversations. Every analysis column is documented here.

``turns`` (one row per turn, index 0..n-1):

==================  ========  ==========================================================
conversation_id     string    ``Conversation.id`` (unique within one audit)
turn_index          int64     0-based position of the turn in its conversation
speaker             string    the speaker's name
role                string    the speaker's declared role: user / assistant / system /
                              persona label; if the name is undeclared or declared with
                              two roles, the turn's ``meta["role"]``; else <NA>
content             string    the message text
n_chars             int64     ``len(content)``
strategy            string    ``provenance.strategy`` (prompt template name); <NA> if none
seed                Int64     ``provenance.seed``, else ``provenance.sampling.seed``
source_path         string    file the conversation was read from; <NA> if unknown
source_line         Int64     1-based line in that file (JSONL); <NA> for one-object files
finish_reason       string    ``meta["finish_reason"]`` as recorded (``stop``, ``length``
                              ...); <NA> if none
==================  ========  ==========================================================

``conversations`` (one row per conversation, index 0..n-1):

==================  ========  ==========================================================
conversation_id     string    ``Conversation.id``
task                string    the original task
specified_task      string    the task after the specifier step
n_turns             int64     number of turns
n_speakers          int64     distinct speakers (declared or speaking)
termination_reason  string    why the dialogue ended, as recorded
strategy            string    ``provenance.strategy``; <NA> if none
seed                Int64     as in ``turns``
model               string    ``provenance.model``
answer              string    ``outcome.answer``
correct             boolean   ``outcome.correct``
source_format       string    reader that produced it (camel, records, ...)
source_path         string    as in ``turns``
source_line         Int64     as in ``turns``
parsed              boolean   ``outcome.parsed``: the reader parsed the record's format
format_error        string    ``meta["format_error"]``: what the reader could not parse
format_collapsed    boolean   ``meta["format_collapsed"]``: nothing usable was parsed
phase               string    ``meta["phase"]``: the phase chat a conversation is (ChatDev:
                              DemandAnalysis, Coding ...; ``--group-by phase``); else <NA>
instruction         string    ``meta["phase_prompt"]``: the instruction of the phase the
                              conversation carries out (ChatDev's phase prompt); else <NA>
==================  ========  ==========================================================

Detector columns (``role_flip``, ``interruption``, ``evidence`` ...) are added by
:func:`artifactual.analysis.audit.audit`; see each detector's module. The audit adds to
``conversations`` the format columns (:mod:`.detectors.format`: ``format_failure``,
``format_failure_reason``, ``audited``) and per detector flag ``c``: ``c`` (boolean, any
turn flagged; <NA> where the detector does not apply or the conversation was not
audited) and its count. The built-in flags are ``role_flip``, ``interruption``,
``impersonation``, ``role_adherence_violation``, ``digression``, ``courtesy_loop`` and
``content_repetition`` (``repetition`` from the legacy ``repetition_loop`` detector,
run only when named).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from artifactual.errors import AnalysisError
from artifactual.records import Conversation

__all__ = ["to_frames", "TURN_COLUMNS", "CONVERSATION_COLUMNS", "empty_turns"]

TURN_COLUMNS: dict[str, str] = {
    "conversation_id": "string", "turn_index": "int64", "speaker": "string", "role": "string",
    "content": "string", "n_chars": "int64", "strategy": "string", "seed": "Int64",
    "source_path": "string", "source_line": "Int64", "finish_reason": "string",
}
CONVERSATION_COLUMNS: dict[str, str] = {
    "conversation_id": "string", "task": "string", "specified_task": "string",
    "n_turns": "int64", "n_speakers": "int64", "termination_reason": "string",
    "strategy": "string", "seed": "Int64", "model": "string", "answer": "string",
    "correct": "boolean", "source_format": "string", "source_path": "string",
    "source_line": "Int64", "parsed": "boolean", "format_error": "string",
    "format_collapsed": "boolean", "phase": "string", "instruction": "string",
}


def _frame(rows: list[dict[str, Any]], schema: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(schema)).astype(schema)


def empty_turns() -> pd.DataFrame:
    """A turns table with no rows and every column typed."""
    return _frame([], TURN_COLUMNS)


def _common(conv: Conversation) -> dict[str, Any]:
    prov = conv.provenance
    seed = None
    if prov is not None:
        seed = prov.seed if prov.seed is not None else prov.sampling.seed
    src = conv.source
    return {"conversation_id": conv.id,
            "strategy": prov.strategy if prov else None, "seed": seed,
            "source_path": src.path if src else None, "source_line": src.line if src else None}


def _roles(conv: Conversation) -> dict[str, str]:
    """Speaker name -> declared role; a name declared with two roles maps to nothing."""
    seen: dict[str, set[str]] = {}
    for sp in conv.speakers:
        seen.setdefault(sp.name, set()).add(sp.role)
    return {name: next(iter(r)) for name, r in seen.items() if len(r) == 1}


def _meta(conv: Conversation, key: str, kind: type) -> Any:
    value = conv.meta.get(key)
    return value if isinstance(value, kind) else None


def to_frames(conversations: Iterable[Conversation]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``turns`` and ``conversations`` tables (columns in the module docstring)."""
    turn_rows: list[dict[str, Any]] = []
    conv_rows: list[dict[str, Any]] = []
    for conv in conversations:
        if not isinstance(conv, Conversation):
            raise AnalysisError(f"expected a Conversation, got {type(conv).__name__}",
                                fix="pass only conversation records to to_frames")
        common = _common(conv)
        roles = _roles(conv)
        for t in conv.turns:
            role = roles.get(t.speaker) or t.meta.get("role")
            finish = t.meta.get("finish_reason")
            turn_rows.append({**common, "turn_index": t.index, "speaker": t.speaker,
                              "role": role if isinstance(role, str) else None,
                              "content": t.content,
                              "n_chars": len(t.content),
                              "finish_reason": finish if isinstance(finish, str) else None})
        names = {s.name for s in conv.speakers} | {t.speaker for t in conv.turns}
        prov, out = conv.provenance, conv.outcome
        conv_rows.append({
            **common, "task": conv.task, "specified_task": conv.specified_task,
            "n_turns": len(conv.turns), "n_speakers": len(names),
            "termination_reason": conv.termination_reason,
            "model": prov.model if prov else None,
            "answer": out.answer if out else None, "correct": out.correct if out else None,
            "source_format": conv.source.format if conv.source else None,
            "parsed": out.parsed if out else None,
            "format_error": _meta(conv, "format_error", str),
            "format_collapsed": _meta(conv, "format_collapsed", bool),
            "phase": _meta(conv, "phase", str),
            "instruction": _meta(conv, "phase_prompt", str),
        })
    return _frame(turn_rows, TURN_COLUMNS), _frame(conv_rows, CONVERSATION_COLUMNS)
