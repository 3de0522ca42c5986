"""``audit --judge``: the optional LLM judge beside the offline audit, never instead of it.

This thin module joins the two layers that must not import each other, as ``scale``
does: it takes an offline :class:`~artifactual.analysis.audit.AuditResult`, draws the
sample from its flag table (:mod:`artifactual.analysis.stats.calibration`), has the
judge read those conversations (:mod:`artifactual.generation.judge`, through the
configured backend), and scores the offline flags against the judge's verdicts.

The conversations the judge reads are rebuilt from the audit's own tables, so the judge
sees exactly the ids, turns and roles the detectors saw. Conversations with a format
failure or no turns are left out, as they are of the other rates.

:func:`judge_audit` writes ``judgments.jsonl`` (one :class:`~artifactual.records.Judgment`
per line, error rows included) into the audit's folder and adds the section ``judge`` to
its ``summary.json`` (keys in :func:`judge_summary`).

With ``taxonomy`` in the judge config (``audit --judge-taxonomy``) the judge is also asked
each of the 14 failure modes of :mod:`artifactual.taxonomy`, in this project's words, and
each mode's offline flag is the union of the detectors that evidence it: the summary then
gives the judge-calibrated prevalence of every mode and, where detectors exist, their
estimated precision and recall on this corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from artifactual.analysis.stats.calibration import (ARTIFACT_FLAGS, CI_METHOD, calibrate,
                                                    offline_strata, stratified_sample)
from artifactual.config import JudgeConfig
from artifactual.generation.judge import TEMPLATE, judge, make_judge_backend, model_label
from artifactual.records import Conversation, Judgment, Speaker, Turn, record_to_json
from artifactual.taxonomy import DETECTOR_MODES, MODES, NO_DETECTOR, mode_by_id, mode_flags

if TYPE_CHECKING:  # pragma: no cover
    from artifactual.analysis.audit import AuditResult
    from artifactual.generation.backends import Backend

__all__ = ["judge_audit", "judge_summary", "conversations_from_tables", "JUDGMENTS_FILE"]

JUDGMENTS_FILE = "judgments.jsonl"
ProgressFn = Callable[[str, int, "int | None"], None]


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def conversations_from_tables(turns: pd.DataFrame, conversations: pd.DataFrame) -> dict[str, Conversation]:
    """Conversation records (id, task, speakers with one role, turns) from audit tables."""
    out: dict[str, Conversation] = {}
    by_conv = {cid: grp for cid, grp in turns.groupby("conversation_id", sort=False)}
    for row in conversations.itertuples(index=False):
        cid = str(row.conversation_id)
        grp = by_conv.get(cid, turns.iloc[0:0])
        roles = grp.groupby("speaker", sort=False)["role"].agg(lambda r: set(r.dropna()))
        speakers = [Speaker(name=str(s), role=next(iter(r))) for s, r in roles.items() if len(r) == 1]
        turn_list = [Turn(index=int(t.turn_index), speaker=str(t.speaker), content=str(t.content or ""),
                          meta={"role": _text(t.role)}) for t in grp.itertuples(index=False)]
        out[cid] = Conversation(id=cid, task=_text(row.task), specified_task=_text(row.specified_task),
                                speakers=speakers, turns=turn_list)
    return out


def _population(conversations: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The conversations the judge may read, and how many were left out and why."""
    keep = conversations["n_turns"].fillna(0) > 0
    excluded = {"no_turns": int((~keep).sum())}
    failed = pd.Series(False, index=conversations.index)
    if "format_failure" in conversations.columns:
        failed |= conversations["format_failure"].astype("boolean").fillna(False).astype(bool)
    if "audited" in conversations.columns:  # the audit's own word for "not a format failure"
        failed |= ~conversations["audited"].astype("boolean").fillna(True).astype(bool)
    if "format_failure" in conversations.columns or "audited" in conversations.columns:
        excluded["format_failure"] = int((failed & keep).sum())
        keep &= ~failed
    return conversations[keep], excluded


def judge_summary(cfg: JudgeConfig, sample: int | None, backend: Backend, judgments: list[Judgment],
                  estimates: dict[str, dict[str, Any]], n_population: int,
                  excluded: dict[str, int]) -> dict[str, Any]:
    """The ``judge`` section of summary.json: the judge (model, backend, template sha256,
    sampling, seeds), the sample (``sample``: per artifact, None = every conversation),
    the counts, and per artifact the calibrated estimates of
    :func:`~artifactual.analysis.stats.calibration.calibrate` plus the ``offline_flag``
    column they score."""
    first = next((j.provenance for j in judgments if j.provenance is not None), None)
    return {
        "model": model_label(cfg), "backend": backend.name,
        "engine_version": first.engine_version if first else None,
        "template": TEMPLATE, "template_sha256": first.strategy_sha256 if first else None,
        "sampling": cfg.sampling.model_dump(), "sample_seed": cfg.seed, "sample": sample,
        "structured": cfg.structured, "n_conversations": n_population, "excluded": excluded,
        "n_requests": len(judgments), "n_errors": sum(j.verdict is None for j in judgments),
        "judgments": JUDGMENTS_FILE, "ci_level": 0.95, "ci_method": CI_METHOD,
        "taxonomy": cfg.taxonomy,
        "artifacts": {a: {"offline_flag": ARTIFACT_FLAGS.get(a, a), **_mode_info(a), **est}
                      for a, est in estimates.items()},
    }


def _mode_info(artifact: str) -> dict[str, Any]:
    """For a failure mode id: its label, category and the offline detectors behind it."""
    mode = mode_by_id(artifact)
    if mode is None:
        return {}
    return {"mode_label": mode.label, "mode_category": mode.category,
            "offline_detectors": [f for f, (m, _, _) in DETECTOR_MODES.items() if m == mode.id]}


def _with_modes(population: pd.DataFrame, not_applicable: dict[str, Any]
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``population`` with one offline flag column per failure mode (any of its detectors
    flagged), and ``not_applicable`` naming the modes no detector here evidences."""
    flags = mode_flags(population)
    frame = population.assign(**{mode: flag.values for mode, flag in flags.items()})
    na = dict(not_applicable)
    for mode in MODES:
        if mode.id not in flags:
            na[mode.id] = NO_DETECTOR
    return frame, na


def judge_audit(result: AuditResult, cfg: JudgeConfig, out_dir: str | Path, *,
                sample: int | None = None, backend: Backend | None = None,
                progress: ProgressFn | None = None) -> dict[str, Any]:
    """Judge the audited conversations (a stratified ``sample`` per artifact, or all of
    them), write ``judgments.jsonl`` and the summary's ``judge`` section into ``out_dir``
    (where :meth:`AuditResult.write` put the offline results), and return that section.

    ``backend`` replaces the one the config names (it is then not closed here).
    """
    if sample is not None and sample < 1:
        from artifactual.errors import ConfigError

        raise ConfigError(f"--judge-sample must be at least 1, got {sample}",
                          fix="pass a positive number, or leave it out to judge every conversation")
    population, excluded = _population(result.conversations)
    records = conversations_from_tables(result.turns, population)
    not_applicable = result.summary.get("not_applicable") or {}
    artifacts = list(cfg.artifacts)
    if cfg.taxonomy:  # the failure modes too, each scored against its detectors' flags
        population, not_applicable = _with_modes(population, not_applicable)
        artifacts += [m.id for m in MODES]
    design: dict[str, tuple[pd.Series, str | None]] = {}
    pairs: list[tuple[Conversation, str]] = []
    for artifact in artifacts:
        strata, reason = offline_strata(population, artifact, not_applicable)
        design[artifact] = (strata, reason)
        pairs += [(records[i], artifact) for i in stratified_sample(strata, sample, seed=cfg.seed,
                                                                     key=artifact)]
    own = backend is None
    backend = make_judge_backend(cfg) if own else backend
    try:
        judgments = judge(pairs, backend, cfg, progress=progress)
    finally:
        if own:
            backend.close()
    estimates = {}
    for artifact, (strata, reason) in design.items():
        mine = [j for j in judgments if j.artifact == artifact]
        for j in mine:
            j.meta["stratum"] = strata[j.conversation_id]
        verdicts = pd.Series([j.verdict for j in mine], index=[j.conversation_id for j in mine],
                             dtype=object)
        estimates[artifact] = calibrate(strata, verdicts, reason=reason, seed=cfg.seed)
    section = judge_summary(cfg, sample, backend, judgments, estimates, len(population), excluded)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / JUDGMENTS_FILE, "w", encoding="utf-8") as fh:
        fh.writelines(record_to_json(j) + "\n" for j in judgments)
    result.summary["judge"] = section
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    return section
