"""``audit --kind`` and ``compare --kind`` for texts, labels, preferences and instructions.

:func:`audit_kind` reads the inputs, runs that kind's audits and returns a
:class:`KindResult` (tables, ``summary``, ``errors`` and a ``comparison`` table of
estimates with bootstrap CIs). :func:`compare_kind` does the same and adds statistics
between groups (effect sizes, Holm-corrected p-values); the reference group is ``human``
when present. Groups: an input given as ``NAME=PATH`` (or ``Input(path, group=NAME)``) is
group NAME; otherwise a record's origin (texts, instructions) or judge (preferences).

=============  ============================================================================
text           per text: :mod:`.style` columns, discourse graph stats (:mod:`.discourse`)
               and motif profile (:mod:`.motifs`); every text parsed once, every stage
               bounded (:mod:`.corpora.text_audit`; a text that fails a stage is an error
               row and NaN there). The opening words that all texts of one ``source_id``
               share (continuation setups) are stripped first. Compare: style
               and edge-share metrics by group (paired Wilcoxon on ``source_id`` when every
               text has one and the groups share them), motif JS divergence + per motif;
               spread rows (MAD ratio, Brown-Forsythe) and, with ``context``, the
               between-context variance share per group (:mod:`.stats.spread`).
labels         wide label CSV or Label records -> :func:`.labels.audit_labels`; compare:
               per-item std and all-identical flag, model vs human, paired by item.
preferences    CoBBLEr rankings (JSON file or folder), pair CSV (output1, output2,
               target; judge = NAME or file stem), MT-Bench CSV, or Preference records ->
               :func:`.preferences.audit_preferences`; compare: first-position wins,
               longer-response wins and ties per judge vs the reference judge.
instructions   :func:`.instructions.audit_instructions` (flag rates per group with CIs).
=============  ============================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analysis.corpora.bounds import Guard
from artifactual.analysis.corpora.text_audit import strip_shared_prefixes, text_table
from artifactual.errors import AnalysisError, InputError
from artifactual.readers import ErrorLog, read
from artifactual.readers.texts import csv_header
from artifactual.records import Instruction, Label, Preference, Text

__all__ = ["KINDS", "Input", "KindResult", "audit_kind", "compare_kind", "parse_input",
           "text_table"]

KINDS = ("text", "labels", "preferences", "instructions")
ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class _Options:
    reference: str | None = None
    judges: Sequence[str] | None = None
    seed: int = 0
    progress: ProgressFn | None = None
    context: str | None = None


@dataclass(frozen=True)
class Input:
    """One input path; ``group`` names its corpus (or judge, for preference pair CSVs)."""

    path: Path
    group: str | None = None
    format: str | None = None


def parse_input(spec: str | Path | Input) -> Input:
    """``Input`` from ``PATH`` or ``NAME=PATH`` (a path containing '=' wins if it exists)."""
    if isinstance(spec, Input):
        return spec
    text = str(spec)
    if "=" in text and not Path(text).exists():
        name, _, path = text.partition("=")
        return Input(Path(path), name.strip() or None)
    return Input(Path(text))


@dataclass
class KindResult:
    """Tables and summary of one ``audit --kind`` or ``compare --kind`` run."""

    kind: str
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    errors: pd.DataFrame
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write each table and ``comparison`` as Parquet, ``errors.parquet`` and
        ``summary.json``; return the paths (``report.html`` beside them:
        :func:`artifactual.report.write_audit_dir`)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, table in {**self.tables, "comparison": self.comparison,
                            "errors": self.errors}.items():
            paths[name] = out / f"{name}.parquet"
            _parquet(table, paths[name])
        paths["summary"] = out / "summary.json"
        paths["summary"].write_text(json.dumps(_plain(self.summary), indent=2) + "\n",
                                    encoding="utf-8")
        return paths


def _parquet(table: pd.DataFrame, path: Path) -> None:
    t = table.copy()
    if not isinstance(t.index, pd.RangeIndex):
        t = t.reset_index()
    t.columns = [str(c) for c in t.columns]
    for c in t.columns:
        if t[c].dtype == object and t[c].map(lambda v: isinstance(v, (list, tuple))).any():
            t[c] = t[c].map(lambda v: json.dumps(_plain(v)) if v is not None else None)
    t.to_parquet(path, index=False)


def _plain(v: Any) -> Any:
    """JSON-ready: str keys, lists, Python scalars, None for NaN/inf."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    v = v.item() if isinstance(v, np.generic) else v
    return None if isinstance(v, float) and not np.isfinite(v) else v


# -------------------------------------------------------------------- reading

def _records(inputs: list[Input], cls: type, log: ErrorLog) -> list[tuple[Any, str | None, str]]:
    """(record, group, input path) for every record of type ``cls`` in ``inputs``."""
    return [(rec, inp.group, str(inp.path)) for inp in inputs
            for rec in read(inp.path, format=inp.format, errors=log) if isinstance(rec, cls)]


def _log_stage_errors(log: ErrorLog, errors: Sequence[Any], paths: dict[str, str]) -> None:
    """Error rows for documents that failed a corpus-analysis stage (see ``corpora.bounds``)."""
    for e in errors:
        log.add(path=paths.get(e.record_id, ""), line=None, record_id=e.record_id,
                message=f"{e.stage} failed: {e.message}",
                fix="this text is left out of that stage's metrics (NaN); the rest of the "
                    "corpus is analysed")


def _need_rows(n: int, kind: str, inputs: list[Input], log: ErrorLog) -> None:
    if n == 0:
        raise InputError(f"no {kind} records were read ({len(log)} input problem(s))",
                         where=", ".join(str(i.path) for i in inputs),
                         fix=f"pass files in a {kind} format (see artifactual.analysis.kinds)")


def _log_rows(log: ErrorLog, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        log.add(path=str(r["path"]), line=r.get("line"), record_id=r.get("record_id"),
                message=r["message"], fix=r.get("fix") or "")


# -------------------------------------------------------------------- text

def _text_frame(inputs: list[Input], log: ErrorLog, context: str | None = None
                ) -> pd.DataFrame:
    recs = _records(inputs, Text, log)
    _need_rows(len(recs), "text", inputs, log)
    extra = {} if context is None else {"context": [r.meta.get(context) for r, _, _ in recs]}
    return pd.DataFrame([{"id": r.id, "group": g or r.origin, "origin": r.origin,
                          "source_id": r.source_id, "text": r.text, "path": path}
                         for r, g, path in recs]).assign(**extra)


def _reference(groups: Sequence[Any], reference: str | None) -> str:
    if reference is not None:
        return reference
    return "human" if "human" in groups else str(groups[0])


def _paired(table: pd.DataFrame, ref: str) -> bool:
    if table["source_id"].isna().any():
        return False
    keys = {g: set(p["source_id"]) for g, p in table.groupby("group")}
    return len(keys) > 1 and all(keys[g] & keys[ref] for g in keys if g != ref)


def _length_ratio(frame: pd.DataFrame, ref: str) -> dict[str, float]:
    """Per group: the median over ``source_id`` pairs of its words / the reference's words."""
    words = frame.assign(w=frame["text"].astype(str).str.split().str.len())
    per = words.groupby(["group", "source_id"])["w"].mean().unstack(0)
    return {str(g): float((per[g] / per[ref]).median()) for g in per.columns
            if g != ref and (per[g] / per[ref]).notna().any()}


def _text(inputs: list[Input], log: ErrorLog, compare_groups: bool, o: _Options) -> KindResult:
    from artifactual.analysis.stats.compare import compare
    from artifactual.analysis.corpora.motifs import compare_motifs, motif_columns
    from artifactual.analysis.corpora.style import STYLE_COLUMNS
    from artifactual.analysis.stats.spread import (compare_spread, context_share, mad,
                                                   spread_lines, with_spread)

    guard = Guard()
    frame = strip_shared_prefixes(_text_frame(inputs, log, o.context))
    table = text_table(frame, progress=o.progress, guard=guard)
    _log_stage_errors(log, guard.errors, dict(zip(table["id"].astype(str), table["path"])))
    groups = list(pd.unique(table["group"]))
    ref = _reference(groups, o.reference)
    edge_cols = [c for c in table.columns if c.startswith("edges_")]
    metrics = [*STYLE_COLUMNS, "n_units", *edge_cols]
    paired = "source_id" if compare_groups and _paired(table, ref) else None
    comparison = compare(table, metrics, "group", reference=ref, seed=o.seed, paired_by=paired)
    spread = compare_spread(table, metrics, "group", ref, seed=o.seed, paired_by=paired)
    share = (context_share(table.assign(context=frame["context"].to_numpy()), metrics, "group",
                           "context", ref, seed=o.seed) if o.context else pd.DataFrame())
    comparison = with_spread(comparison, spread, share)
    tables = {"texts": table if not o.context else table.assign(context=frame["context"].to_numpy())}
    summary: dict[str, Any] = {"kind": "text", "n_texts": len(table), "groups": groups,
                               "reference": ref, "paired_by": paired,
                               "n_stage_errors": len(guard.errors),
                               "n_prefix_stripped": int((table["shared_prefix_words"] > 0).sum()),
                               "length_ratio": _length_ratio(frame, ref) if paired else None,
                               "means": {str(g): {m: float(p[m].mean()) for m in metrics}
                                         for g, p in table.groupby("group")},
                               "context": o.context,
                               "spread": {str(g): {m: float(mad(p[m].dropna().to_numpy(float)))
                                                   for m in metrics if p[m].notna().any()}
                                          for g, p in table.groupby("group")}}
    if compare_groups:
        summary["spread_findings"] = spread_lines(comparison)
    if compare_groups and len(groups) > 1 and motif_columns(table):
        graphed = table.dropna(subset=["n_edges"])  # texts whose graph failed are left out
        mc = compare_motifs(graphed.assign(n_edges=graphed["n_edges"].astype(int)), "group",
                            reference=ref, paired_by=paired, seed=o.seed)
        tables.update(motif_divergence=mc.divergence, motif_comparison=mc.per_motif)
        summary["motif_js_divergence"] = mc.divergence.to_dict("records")
    return KindResult("text", tables, summary, log.to_frame(), comparison)


# -------------------------------------------------------------------- labels

def _labels(inputs: list[Input], log: ErrorLog, compare_groups: bool, o: _Options) -> KindResult:
    from artifactual.analysis.stats.compare import compare
    from artifactual.analysis.corpora.labels import audit_labels, labels_to_wide
    from artifactual.readers.labels import read_wide_labels

    parts = []
    for inp in inputs:
        if inp.path.suffix == ".csv":
            wide, errors = read_wide_labels(inp.path)
            _log_rows(log, errors)
        else:
            wide = labels_to_wide(r for r, _, _ in _records([inp], Label, log))
        parts.append(wide.assign(group=inp.group or inp.path.stem))
    wide = pd.concat(parts, ignore_index=True)
    if len(inputs) > 1:
        wide["item_id"] = wide["group"].astype(str) + ":" + wide["item_id"].astype(str)
    _need_rows(len(wide), "label", inputs, log)
    la = audit_labels(wide)
    items = la.items.assign(group=wide["group"].to_numpy())
    long = pd.concat([pd.DataFrame({"item_id": items["item_id"], "side": side,
                                    "std": items[f"{side}_std"],
                                    "identical": items[f"{side}_identical"].astype(bool)})
                      for side in ("human", "model")], ignore_index=True)
    comparison = compare(long, ["std", "identical"], "side", reference=o.reference or "human",
                         seed=o.seed, paired_by="item_id" if compare_groups else None)
    tables = {"items": items, "flips": la.flips, "distribution": la.distribution}
    summary = {"kind": "labels", **la.summary, "notes": la.notes}
    return KindResult("labels", tables, summary, log.to_frame(), comparison)


# -------------------------------------------------------------------- preferences

def _preference_frame(inp: Input, log: ErrorLog) -> pd.DataFrame:
    from artifactual.analysis.corpora.preferences import preferences_to_frame
    from artifactual.readers.preferences import (cobbler_pairs, read_cobbler, read_mtbench,
                                                 read_pair_csv)

    p = inp.path
    if p.suffix == ".json" or (p.is_dir() and any(p.glob("*.json"))):  # CoBBLEr rankings
        rankings, errors = read_cobbler(p)
        _log_rows(log, errors)
        return cobbler_pairs(rankings)
    if p.suffix == ".csv":
        if {"output1", "output2", "target"} <= csv_header(p):
            frame, errors = read_pair_csv(p, judge=inp.group or p.stem)
        else:
            frame, errors = read_mtbench(p)
        _log_rows(log, errors)
        return frame
    return preferences_to_frame(r for r, _, _ in _records([inp], Preference, log))


def _preferences(inputs: list[Input], log: ErrorLog, compare_groups: bool,
                 o: _Options) -> KindResult:
    from artifactual.analysis.stats.compare import compare
    from artifactual.analysis.corpora.preferences import audit_preferences

    frame = pd.concat([_preference_frame(i, log) for i in inputs], ignore_index=True)
    if o.judges:
        frame = frame[frame["judge"].isin(o.judges)].reset_index(drop=True)
    _need_rows(len(frame), "preference", inputs, log)
    judges = list(pd.unique(frame["judge"]))
    ref = _reference(judges, o.reference)
    pa = audit_preferences(frame, reference=ref)
    la, lb = frame["a"].astype(str).str.split().str.len(), frame["b"].astype(str).str.split().str.len()
    decided = frame["choice"].isin(["a", "b"])
    longer = np.where(la > lb, frame["choice"] == "a", frame["choice"] == "b")
    rows = frame[["id", "judge", "choice"]].assign(
        first_position_win=pd.Series(np.where(decided, frame["choice"] == "a", None), dtype=object),
        longer_win=pd.Series(np.where(decided & (la != lb), longer, None), dtype=object),
        tie=frame["choice"] == "tie")
    comparison = compare(rows, ["first_position_win", "longer_win", "tie"], "judge",
                         reference=ref, seed=o.seed)
    tables = {"judgments": frame.assign(group=frame["judge"]), "judges": pa.judges}
    notes = ["CoBBLEr pairs come from rankings: their first position is the pairing's, not "
             "what a judge saw"] if "model_a" in frame and frame["model_a"].notna().any() else []
    return KindResult("preferences", tables, {"kind": "preferences", **pa.summary,
                                              "notes": notes}, log.to_frame(), comparison)


# -------------------------------------------------------------------- instructions

def _instructions(inputs: list[Input], log: ErrorLog, compare_groups: bool,
                  o: _Options) -> KindResult:
    from artifactual.analysis.corpora.instructions import audit_instructions, instructions_frame

    recs = _records(inputs, Instruction, log)
    _need_rows(len(recs), "instruction", inputs, log)
    frame = instructions_frame(r for r, _, _ in recs)
    frame["group"] = [g or r.origin for r, g, _ in recs]
    groups = list(pd.unique(frame["group"]))
    ia = audit_instructions(frame, reference=_reference(groups, o.reference), seed=o.seed,
                            progress=o.progress)
    _log_stage_errors(log, ia.errors, dict(zip(frame["task_id"].astype(str),
                                               (p for _, _, p in recs))))
    tables = {"records": ia.records, "diversity": ia.diversity, "similarity": ia.similarity}
    return KindResult("instructions", tables, {"kind": "instructions", **ia.summary},
                      log.to_frame(), ia.rates)


_RUNNERS = {"text": _text, "labels": _labels, "preferences": _preferences,
            "instructions": _instructions}


def _run(kind: str, paths: Sequence[str | Path | Input], compare_groups: bool,
         options: _Options) -> KindResult:
    if kind not in _RUNNERS:
        raise AnalysisError(f"unknown kind {kind!r}", fix=f"use one of: {', '.join(KINDS)}")
    inputs = [parse_input(p) for p in paths]
    if not inputs:
        raise InputError("no input paths", fix="pass at least one file or folder")
    for inp in inputs:
        if not inp.path.exists():
            raise InputError("no such file or directory", where=str(inp.path),
                             fix="check the path (NAME=PATH names a group)")
    result = _RUNNERS[kind](inputs, ErrorLog(), compare_groups, options)
    if not compare_groups:  # an audit reports estimates and CIs, not tests
        result.comparison = result.comparison.drop(columns=["effect_size", "p_value", "p_holm",
                                                            "ratio_low", "ratio_high"],
                                                   errors="ignore")
    return result


def audit_kind(kind: str, paths: Sequence[str | Path | Input], *, reference: str | None = None,
               judges: Sequence[str] | None = None, seed: int = 0,
               progress: ProgressFn | None = None, context: str | None = None) -> KindResult:
    """Audit ``paths`` as ``kind`` data: per-record tables, summary and estimates with CIs.
    ``judges`` keeps only those preference judges; ``context`` (texts) names the field
    whose values are contexts (between-context variance share per group)."""
    return _run(kind, paths, False, _Options(reference, judges, seed, progress, context))


def compare_kind(kind: str, paths: Sequence[str | Path | Input], *, reference: str | None = None,
                 judges: Sequence[str] | None = None, seed: int = 0,
                 progress: ProgressFn | None = None, context: str | None = None) -> KindResult:
    """Audit and compare the groups of ``paths`` (human vs LLM by default); for texts, means
    and spreads (and, with ``context``, between-context shares; see :mod:`.stats.spread`)."""
    return _run(kind, paths, True, _Options(reference, judges, seed, progress, context))
