"""``audit(paths)``: read conversations, run detectors, aggregate, summarise.

The result's tables:

- ``turns``: the turns table (:mod:`.tables`) plus every detector's columns. With
  one detector its ``evidence`` column is kept as is; with several, each becomes
  ``<detector>_evidence`` and ``evidence`` joins the non-empty ones with ``" | "``.
- ``conversations``: the conversations table plus the conversation-level flags
  (:func:`.summary.conversation_flags`).
- ``errors``: one row per unreadable file, line or record (path, line, record_id,
  message, fix); a duplicate conversation id is also listed here (the duplicate
  is kept, renamed ``<id>~2``, ``<id>~3`` ...).
- ``summary``: :func:`.summary.summarize` plus ``n_errors``, ``n_skipped_records``
  (records that are not conversations), ``detectors``, ``markers`` (``{"source":
  "inferred" | "given", "inferred": {...}, "used": {...} | None}``, or None without
  ``role_flip``), ``inputs`` (one ``{path, size, sha256}`` per file read:
  :mod:`.inputs`), ``not_applicable`` (``{detector or flag: reason}``), ``not_run``
  (detectors kept out of the default set for measured low precision and left out of
  this audit: ``{detector: reason}``), ``n_applicable`` (detector -> conversations it
  ran on) and ``compare_by``.
- ``comparison`` (when ``compare_by`` is given, else None): :func:`.compare.compare` of
  the per-conversation metrics (:func:`comparison_metrics`) across the groups, one row
  per (metric, group), with a ``group_by`` column naming the grouping. Groups are a
  conversations column (e.g. ``strategy``) or ``"path"``: one group per input path as
  given (the conversations column ``input_path``).

**Applicability.** Before any detector runs, :func:`prepare` finds the format failures
(:mod:`.detectors.format`) and where each detector applies (:mod:`.applicability`): a
detector runs only on the turns of the audited conversations it applies to. Its columns
for the other turns are <NA> (booleans become pandas ``boolean``, integers ``Int64``),
and so are its conversation flags; every rate is computed over the conversations it ran
on, and is None (with a reason in ``not_applicable``) where it ran on none.

Detectors default to every registered one with ``default=True``
(:func:`.registry.default_detectors`). Those that declared ``needs`` (spaCy docs,
MiniLM embeddings) share one lazy :class:`.text.TextContext` over all turns and each
conversation's task statement, passed as ``context=``: a turn is parsed, tagged or
embedded only when a detector reads it, each distinct text once. ``summary.json``
``text_models`` says what that took and the encoder's precision (:mod:`.encoder`).

The steps are public so that :func:`artifactual.scale.audit.audit_ray` shares them and
gets the same results: :func:`plan_audit` (keywords checked and resolved),
:class:`IdClaims` (duplicate ids renamed in reading order), :func:`prepare` (format
failures, applicability, inferred markers), :func:`run_detectors` and
:func:`finish_audit` (evidence joined, summary, conversation flags, comparison).

``progress``, if given, is called as ``progress(stage, done, total)`` with stage
``"read"`` (total None) after each conversation, ``"parse"`` / ``"embed"`` while a
detector's request to the text context is computed, and ``"detect"`` after each detector.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from artifactual.analysis.stats.compare import compare
from artifactual.analysis.applicability import resolve
from artifactual.analysis.detectors.format import format_failures
from artifactual.analysis.inputs import input_fingerprints
from artifactual.analysis.registry import detector_needs, off_by_default, run_detector
from artifactual.analysis.detectors.roles import Markers
from artifactual.analysis.plan import AuditPlan, plan_audit
from artifactual.analysis.stats.summary import (NONE_KEY, attach_flags, conversation_flags,
                                                mask_flags, summarize)
from artifactual.taxonomy import failure_modes
from artifactual.analysis.tables import CONVERSATION_COLUMNS, to_frames
from artifactual.analysis.text import TextContext, build_context, task_texts, text_models
from artifactual.errors import AnalysisError
from artifactual.readers import ErrorLog, ReadError, read
from artifactual.records import Conversation, Source

__all__ = ["audit", "AuditResult", "ProgressFn", "comparison_metrics", "compare_groups",
           "AuditPlan", "plan_audit", "IdClaims", "prepare", "run_detectors", "finish_audit"]

ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass
class AuditResult:
    """Tables and summary of one audit; :meth:`write` saves them
    (:func:`artifactual.report.write_audit_dir` adds ``report.html``)."""

    turns: pd.DataFrame
    conversations: pd.DataFrame
    errors: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write turns/conversations/errors ``.parquet`` and ``summary.json`` (and the
        comparison's ``.parquet`` / ``.json``); return paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / f"{name}.parquet" for name in ("turns", "conversations", "errors")}
        self.turns.to_parquet(paths["turns"], index=False)
        self.conversations.to_parquet(paths["conversations"], index=False)
        self.errors.to_parquet(paths["errors"], index=False)
        paths["summary"] = out / "summary.json"
        paths["summary"].write_text(json.dumps(self.summary, indent=2) + "\n", encoding="utf-8")
        if self.comparison is not None:
            paths["comparison"] = out / "comparison.parquet"
            self.comparison.to_parquet(paths["comparison"], index=False)
            paths["comparison_json"] = out / "comparison.json"
            paths["comparison_json"].write_text(
                self.comparison.to_json(orient="records", indent=2) + "\n", encoding="utf-8")
        return paths


class IdClaims:
    """Conversation ids of one audit, in reading order: a repeated id is kept under a new
    name ``<id>~2``, ``<id>~3`` ... and listed in the error log."""

    def __init__(self, log: ErrorLog) -> None:
        self.log = log
        self.first_seen: dict[str, str] = {}

    def claim(self, rec_id: str, source: Source | None) -> str:
        """The id the conversation ``rec_id`` read from ``source`` is audited under."""
        where = f"{source.path}:{source.line}" if source else "?"
        new_id = rec_id
        if rec_id in self.first_seen:
            k = 2
            while f"{rec_id}~{k}" in self.first_seen:
                k += 1
            new_id = f"{rec_id}~{k}"
            self.log.add(ReadError(
                path=source.path if source and source.path else "",
                line=source.line if source else None, record_id=rec_id,
                message=f"duplicate conversation id {rec_id!r} (first read at "
                        f"{self.first_seen[rec_id]}); kept as {new_id!r}",
                fix="give every conversation a unique id, or pass each file once"))
        self.first_seen[new_id] = where
        return new_id


def _collect(paths: Iterable[str | Path], plan: AuditPlan, log: ErrorLog,
             progress: ProgressFn | None) -> tuple[list[Conversation], int, list[str]]:
    convs: list[Conversation] = []
    origins: list[str] = []  # the input path each conversation came from, as given
    ids = IdClaims(log)
    skipped = 0
    for p in paths:
        for rec in read(p, format=plan.format, errors=log, options=plan.options):
            if not isinstance(rec, Conversation):
                skipped += 1
                continue
            new_id = ids.claim(rec.id, rec.source)
            if new_id != rec.id:
                rec = rec.model_copy(update={"id": new_id})
            convs.append(rec)
            origins.append(str(p))
            if progress is not None:
                progress("read", len(convs), None)
    return convs, skipped, origins


def _combine(frames: dict[str, pd.DataFrame], turns: pd.DataFrame) -> pd.DataFrame:
    """Join detector outputs: finding columns side by side, evidence as documented."""
    taken = set(turns.columns)
    parts: list[pd.DataFrame] = []
    evidence: list[pd.Series] = []
    for name, frame in frames.items():
        cols = [c for c in frame.columns if c != "evidence"]
        clash = taken.intersection(cols)
        if clash:
            raise AnalysisError(f"detector {name!r} column(s) {sorted(clash)} already exist",
                                fix="rename the detector's output columns")
        taken.update(cols)
        ev = frame["evidence"].fillna("").astype(str)
        parts.append(frame[cols])
        if len(frames) > 1:
            parts.append(ev.rename(f"{name}_evidence").astype("string").to_frame())
        evidence.append(ev)
    if len(evidence) > 1:
        joined = pd.concat(evidence, axis=1).apply(
            lambda row: " | ".join(v for v in row if v), axis=1, result_type="reduce")
        joined = joined if len(turns) else pd.Series([], index=turns.index, dtype=object)
    elif evidence:
        joined = evidence[0]
    else:
        joined = pd.Series("", index=turns.index, dtype=object)
    parts.append(joined.astype("string").rename("evidence").to_frame())
    return pd.concat(parts, axis=1)


def comparison_metrics(conversations: pd.DataFrame) -> list[str]:
    """The per-conversation metrics a comparison reports: every detector flag (a rate),
    ``correct`` (task accuracy) when known, every ``*_mean`` score and ``n_turns``."""
    extra = [c for c in conversations.columns if c not in CONVERSATION_COLUMNS
             and c != "audited"]
    flags = [c for c in extra if pd.api.types.is_bool_dtype(conversations[c])]
    scores = [c for c in extra if c.endswith("_mean")
              and pd.api.types.is_float_dtype(conversations[c])
              and conversations[c].notna().any()]
    known = ["correct"] if conversations["correct"].notna().any() else []
    return [*flags, *known, *scores, "n_turns"]


def compare_groups(conversations: pd.DataFrame, by: str, *, reference: str | None = None,
                   seed: int = 0) -> pd.DataFrame:
    """:func:`.compare.compare` of :func:`comparison_metrics` across the values of ``by``
    (a missing value is the group ``"(none)"``); adds a first column ``group_by``."""
    if by not in conversations.columns:
        known = ", ".join(["path", *conversations.columns])
        raise AnalysisError(f"cannot compare by {by!r}: no such conversations column",
                            fix=f"use one of: {known}")
    groups = conversations[by].astype("string").fillna(NONE_KEY)
    sizes = groups.value_counts()
    if (sizes < 2).any():
        small = ", ".join(f"{g!r} ({n})" for g, n in sizes[sizes < 2].items())
        raise AnalysisError(f"cannot compare by {by!r}: group(s) {small} hold fewer than two "
                            "conversations, too few for a test",
                            fix="merge small groups, or compare by another column")
    frame = conversations.assign(**{by: groups})
    metrics = [m for m in comparison_metrics(conversations) if m != by]
    out = compare(frame, metrics, by, reference=reference, seed=seed)
    out.insert(0, "group_by", by)
    return out


def prepare(plan: AuditPlan, turns: pd.DataFrame, conversations: pd.DataFrame) -> pd.DataFrame:
    """Find the format failures and where each detector applies; set
    ``plan.applicability`` and the inferred markers and derived task statements in
    ``plan.params``. Returns the format columns per conversation
    (:func:`.detectors.format.format_failures`)."""
    formats = format_failures(turns, conversations)
    audited = dict(zip(formats["conversation_id"].astype(str), formats["audited"]))
    app = resolve(plan.detectors, turns, conversations, audited, markers=plan.markers)
    plan.applicability = app
    if app.markers is not None and app.markers["used"] is not None:
        plan.params.setdefault("role_flip", {})["markers"] = Markers(**app.markers["used"])
    if "digression" in plan.detectors and "instruction" in conversations.columns:
        given = conversations.dropna(subset=["instruction"])
        if len(given):
            plan.params.setdefault("digression", {}).setdefault("instructions", dict(zip(
                given["conversation_id"].astype(str), given["instruction"].astype(str))))
    for name in ("digression", "role_flip_unmarked"):
        if app.tasks and name in plan.detectors:
            given = plan.params.setdefault(name, {}).get("tasks") or {}
            plan.params[name]["tasks"] = {**app.tasks, **dict(given)}
    return formats


def _nullable(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """``frame`` (rows of some turns) over all turns ``index``: <NA> findings, '' evidence."""
    out = frame.reindex(index)
    for c in frame.columns:
        if c == "evidence":
            out[c] = out[c].fillna("").astype(object)
        elif pd.api.types.is_bool_dtype(frame[c]):
            out[c] = out[c].astype("boolean")
        elif pd.api.types.is_integer_dtype(frame[c]):
            out[c] = out[c].astype("Int64")
    return out


def run_detectors(plan: AuditPlan, turns: pd.DataFrame, context: TextContext | None, *,
                  names: Sequence[str] | None = None,
                  progress: ProgressFn | None = None) -> dict[str, pd.DataFrame]:
    """Each detector of ``names`` (default: the plan's) on ``turns`` with the plan's
    parameters; those with ``needs`` get ``context`` (when not None). Where
    ``plan.applicability`` restricts a detector, it reads the turns of its ``runs_on``
    conversations and reports on those it applies to only (module docstring)."""
    names = plan.detectors if names is None else list(names)
    app = plan.applicability
    frames: dict[str, pd.DataFrame] = {}
    ids = turns["conversation_id"].astype(str)
    for i, name in enumerate(names, 1):
        kwargs = plan.params.get(name, {})
        if detector_needs(name) and context is not None:
            kwargs = {"context": context, **kwargs}
        reads, keep = (app.runs_on.get(name), app.applies.get(name)) if app else (None, None)
        if keep is None:
            frames[name] = run_detector(name, turns, **kwargs)
        else:
            part = turns if reads is None else turns[ids.isin(reads).to_numpy(dtype=bool)]
            out = run_detector(name, part, **kwargs)
            if reads != keep:  # read more conversations than it reports on
                out = out[ids.loc[out.index].isin(keep).to_numpy(dtype=bool)]
            frames[name] = _nullable(out, turns.index)
        if progress is not None:
            progress("detect", i, len(names))
    return frames


def finish_audit(plan: AuditPlan, turns: pd.DataFrame, conversations: pd.DataFrame,
                 frames: Mapping[str, pd.DataFrame], log: ErrorLog,
                 skipped: int, formats: pd.DataFrame | None = None) -> AuditResult:
    """The result from the tables and every detector's output: evidence joined, the
    summary, the conversation flags and the comparison (module docstring). ``formats``
    is :func:`prepare`'s result (computed here when None)."""
    if formats is None or plan.applicability is None:
        formats = prepare(plan, turns, conversations)
    app = plan.applicability
    assert app is not None
    flags = _combine({name: frames[name] for name in plan.detectors}, turns)
    findings = flags.drop(columns=[c for c in flags.columns if c.endswith("evidence")])
    base = attach_flags(conversations, formats)
    conv_table = mask_flags(attach_flags(base, conversation_flags(turns, findings)),
                            {name: app.applies.get(name) for name in plan.detectors},
                            {name: list(frames[name].columns) for name in plan.detectors})
    summary = summarize(conv_table, turns, findings, group_by=plan.group_by)
    summary.update(n_errors=len(log), n_skipped_records=skipped,
                   detectors=list(plan.detectors), markers=app.markers,
                   not_applicable=dict(app.not_applicable),
                   not_run={n: why for n, why in off_by_default().items()
                            if n not in plan.detectors},
                   n_applicable=dict(app.n_applicable), compare_by=plan.compare_by,
                   failure_modes=failure_modes(conv_table))
    comparison = None
    if plan.compare_by is not None and len(conv_table):
        comparison = compare_groups(conv_table, plan.compare_by, reference=plan.reference,
                                    seed=plan.seed)
    return AuditResult(
        turns=pd.concat([turns, flags], axis=1),
        conversations=conv_table,
        errors=log.to_frame(),
        summary=summary,
        comparison=comparison,
    )


def audit(paths: str | Path | Iterable[str | Path], *,
          detectors: Sequence[str] | None = None,
          markers: Markers | Mapping[str, Any] | None = None,
          format: str | None = None, group_by: str | None = "strategy",
          compare_by: str | None = None, reference: str | None = None, seed: int = 0,
          progress: ProgressFn | None = None,
          detector_params: Mapping[str, Mapping[str, Any]] | None = None,
          speaker_pattern: str | None = None, column: str | None = None,
          encoder_precision: str | None = None, task_field: str | None = None) -> AuditResult:
    """Read every path, run ``detectors`` on each turn, and summarise per ``group_by``.

    ``detectors`` defaults to the default set (those measured at precision >= 0.8 on every
    labelled source; :func:`.registry.resolve_detectors`, ``["all"]`` for every one; the
    summary's ``not_run`` says why each other is off). ``markers`` configures the
    ``role_flip`` detector; ``detector_params`` gives keyword arguments per detector
    name. ``speaker_pattern`` (a regex with a named group ``speaker``) splits plain-text
    transcripts into turns; ``column`` names the chat column of a dataset table
    (:mod:`artifactual.readers.dataset`). ``compare_by`` (a conversations column, or ``"path"``)
    compares the groups against ``reference`` (default: the first group), with the
    seeded statistics of :mod:`.compare`, and also sets ``group_by``.
    ``encoder_precision`` is the sentence encoder's (:mod:`.encoder`: auto, fp32 or
    bf16). ``task_field`` names the field of OpenAI / ShareGPT / dataset records that holds
    the task statement (default: ``task``, ``metadata.task``, ``goal``, ``instruction``, or
    a system message stating it; :mod:`artifactual.readers.task_field`). The text context is lazy: only the turns a detector reads are parsed or
    embedded (:mod:`.text`). Unreadable input lands in ``errors``.
    """
    plan = plan_audit(detectors=detectors, markers=markers, format=format, group_by=group_by,
                      compare_by=compare_by, reference=reference, seed=seed,
                      detector_params=detector_params, speaker_pattern=speaker_pattern,
                      column=column, encoder_precision=encoder_precision,
                      task_field=task_field)
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    log = ErrorLog()
    convs, skipped, origins = _collect(paths, plan, log, progress)
    turns, conversations = to_frames(convs)
    conversations["input_path"] = pd.array(origins, dtype="string")
    formats = prepare(plan, turns, conversations)
    context = (build_context(turns, tasks=task_texts(conversations), needs=plan.needs,
                             precision=plan.precision, lazy=True, progress=progress)
               if plan.needs and len(turns) else None)
    frames = run_detectors(plan, turns, context, progress=progress)
    result = finish_audit(plan, turns, conversations, frames, log, skipped, formats)
    result.summary["text_models"] = text_models(context, plan.precision)
    result.summary["inputs"] = input_fingerprints(paths)
    return result
