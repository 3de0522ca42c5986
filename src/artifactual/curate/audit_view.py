"""What filter and export read of an audit directory: its conversation flags, its per-turn
flags and evidence (turn texts left on disk), its summary; and the prevalence of each flag
over a chosen subset, with the report's own figures (:func:`artifactual.report.findings`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import pyarrow.parquet as pq

from artifactual.errors import InputError

__all__ = ["AuditView", "load_view", "prevalence"]


@dataclass
class AuditView:
    """An audit's tables as filter and export need them."""

    root: Path
    summary: dict[str, Any]
    conversations: pd.DataFrame
    turns: pd.DataFrame  # every column but the turn text
    first_turn: dict[str, int] = field(default_factory=dict)
    _flagged: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)

    def by_line(self, path: str) -> dict[int | None, list[tuple[str, str]]]:
        """``{source line (None for a whole .json file): [(conversation id, format)]}`` of
        the conversations the audit read from ``path`` (as its summary records it)."""
        conv = self.conversations
        part = conv[conv["source_path"].astype(str) == path]
        out: dict[int | None, list[tuple[str, str]]] = {}
        for cid, line, fmt in zip(part["conversation_id"].astype(str), part["source_line"],
                                  part["source_format"]):
            key = None if pd.isna(line) else int(line)
            out.setdefault(key, []).append((cid, "" if pd.isna(fmt) else str(fmt)))
        return out

    def flagged_turns(self, flag: str) -> dict[str, tuple[int, str]]:
        """``{conversation id: (first turn index carrying ``flag``, its evidence)}``."""
        if flag not in self._flagged:
            t = self.turns
            hits = t[t[flag].fillna(False).astype(bool)] if flag in t.columns else t.iloc[:0]
            col = next((c for c in (f"{flag}_evidence", "evidence") if c in t.columns), None)
            hits = hits.sort_values(["conversation_id", "turn_index"])
            first = hits.drop_duplicates("conversation_id")
            self._flagged[flag] = {
                str(r["conversation_id"]): (int(r["turn_index"]),
                                            "" if col is None or pd.isna(r[col]) else str(r[col]))
                for r in first.to_dict("records")}
        return self._flagged[flag]


def load_view(audit_dir: str | Path) -> AuditView:
    """The audit in ``audit_dir`` (written by ``artifactual audit --out``); InputError if
    a table is missing."""
    root = Path(audit_dir)
    needed = [root / n for n in ("summary.json", "conversations.parquet", "turns.parquet")]
    absent = [p.name for p in needed if not p.is_file()]
    if absent:
        raise InputError(f"not an audit output directory: {', '.join(absent)} missing",
                         where=str(root),
                         fix="pass the directory written by `artifactual audit RECORDS --out DIR`")
    try:
        summary = json.loads(needed[0].read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"summary.json is not valid JSON: {exc}", where=str(needed[0]),
                         fix="re-run the audit to rewrite it") from None
    names = [n for n in pq.read_schema(needed[2]).names if n != "content"]
    turns = pd.read_parquet(needed[2], columns=names)
    conv = pd.read_parquet(needed[1])
    first = turns.groupby("conversation_id")["turn_index"].min()
    return AuditView(root=root, summary=summary, conversations=conv, turns=turns,
                     first_turn={str(k): int(v) for k, v in first.items()})


def _after(view: AuditView, decisions: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Conversations and turns that a filter's ``decisions`` keep (turns from a cut on
    dropped, and the trimmed conversations' flags recomputed from their kept turns)."""
    conv, turns = view.conversations, view.turns
    ids = turns["conversation_id"].astype(str)
    keep_ids = {cid for cid, d in decisions.items() if d.action != "remove"}
    cuts = {cid: d.cut for cid, d in decisions.items() if d.action == "trim"}
    cut_of = ids.map(cuts)
    keep_turn = ids.isin(keep_ids) & ~(cut_of.notna() & (turns["turn_index"] >= cut_of))
    kept_turns = turns[keep_turn.to_numpy(dtype=bool)]
    kept = conv[conv["conversation_id"].astype(str).isin(keep_ids).to_numpy(dtype=bool)].copy()
    if cuts:
        trimmed = kept["conversation_id"].astype(str).isin(cuts).to_numpy(dtype=bool)
        part = kept_turns[kept_turns["conversation_id"].astype(str).isin(cuts)]
        for flag in [c for c in kept.columns if c in turns.columns
                     and pd.api.types.is_bool_dtype(kept[c])]:
            seen = part.groupby("conversation_id")[flag].agg(
                lambda s: pd.NA if s.isna().all() else bool(s.fillna(False).any()))
            new = kept.loc[trimmed, "conversation_id"].astype(str).map(seen)
            kept[flag] = kept[flag].astype("boolean")
            kept.loc[trimmed, flag] = new.astype("boolean").to_numpy()
    return kept, kept_turns


def prevalence(view: AuditView, decisions: Mapping[str, Any] | None = None,
               validity_path: str | Path | None = None) -> dict[str, Any]:
    """Each applicable flag's prevalence over the audited conversations (all of them, or
    those ``decisions`` keep), as the report computes it: ``{flag: {k, n, rate, ci_low,
    ci_high}}`` (Wilson 95% CI)."""
    from artifactual.analysis.audit import AuditResult
    from artifactual.report.findings import findings

    conv, turns = (view.conversations, view.turns) if decisions is None else \
        _after(view, decisions)
    result = AuditResult(turns=turns, conversations=conv, errors=pd.DataFrame(),
                         summary=view.summary)
    items = findings(result, validity_path)["items"]
    return {it["flag"]: {k: it[k] for k in ("k", "n", "rate", "ci_low", "ci_high")}
            for it in items}
