"""The validity run: prepare corpora, audit each with :func:`artifactual.audit`, score.

Three kinds of evidence (see ``benchmarks/validity.py`` and ``docs/detectors.md``):

- labelled real logs (:mod:`.gold` loaders) -> precision / recall / F1;
- controlled injections (:mod:`.inject`) into clean bases, one corpus per (base family,
  artifact), so a corpus-relative threshold sees each task once -> recall at the injected
  turns, false positives on the untouched ones; at conversation level the negatives are
  the same bases audited without the injection (:func:`clean_negatives`);
- human dialogues -> share of conversations flagged (every role flip there is false).

Audits run on files written to a scratch folder in the project's own records format
(one :class:`~artifactual.records.Conversation` per line), so the tables are what a user
gets from ``artifactual audit``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.analysis.validity.gold import GoldSet, from_injections
from artifactual.analysis.validity.inject import ARTIFACTS, inject_corpus, turn_role
from artifactual.analysis.validity.metrics import prf_with_ci, rate_with_ci
from artifactual.analysis.validity.score import Units, collect, flag_rates
from artifactual.readers import ErrorLog, read
from artifactual.records import Conversation

__all__ = ["clean_negatives", "load_conversations", "with_goal", "write_records", "injection_sets", "audit_set",
           "score_units", "pooled_rows", "rate_rows", "donor_turns", "FAMILY_ARTIFACTS"]

Progress = Callable[[str], None]
# artifacts that make sense per base family (chit-chat has no goal to stray from, SPP has
# no user/assistant pair to flip or impersonate)
FAMILY_ARTIFACTS: dict[str, tuple[str, ...]] = {
    "human_task": ARTIFACTS,
    "human_chat": tuple(a for a in ARTIFACTS if a != "off_task"),
    "spp_gpt4": ("off_task", "courtesy_loop", "truncated", "repetition"),
    "camel_clean": ARTIFACTS,
}


def load_conversations(path: Path) -> list[Conversation]:
    """Conversations read from ``path`` (any supported format); unreadable items skipped."""
    return [c for c in read(path, errors=ErrorLog()) if isinstance(c, Conversation)]


def with_goal(conv: Conversation) -> Conversation:
    """The conversation with ``meta["goal"]`` (human task-oriented sets) as its task."""
    goal = conv.meta.get("goal")
    return conv.model_copy(update={"task": goal}) if isinstance(goal, str) and goal else conv


def write_records(convs: Iterable[Conversation], path: Path) -> Path:
    """Write conversations as the project's records JSONL; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for conv in convs:
            fh.write(conv.model_dump_json() + "\n")
    return path


def donor_turns(convs: Sequence[Conversation], min_words: int = 12) -> list[str]:
    """Substantive user/assistant turns to transplant as off-task content."""
    return [t.content for c in convs for t in c.turns
            if turn_role(c, t) in ("user", "assistant") and len(t.content.split()) >= min_words]


def injection_sets(bases: dict[str, list[Conversation]], donors: Sequence[str], scratch: Path,
                   seed: int = 0) -> list[GoldSet]:
    """One injected corpus (records file + gold) per (base family, applicable artifact)."""
    out: list[GoldSet] = []
    for family, convs in bases.items():
        for artifact in FAMILY_ARTIFACTS.get(family, ARTIFACTS):
            injs = inject_corpus(convs, artifact, seed=seed, donors=donors)
            if not injs:
                continue
            path = write_records((i.conversation for i in injs),
                                 scratch / f"inject-{family}-{artifact}.jsonl")
            n_turns = {i.conversation.id: len(i.conversation.turns) for i in injs}
            gold = from_injections(f"{family}/{artifact}", path, injs, n_turns,
                                   description=f"{artifact} injected into {family}")
            gold.meta.update(family=family, artifact=artifact)
            out.append(gold)
    return out


def audit_set(gold: GoldSet, audit: Callable[..., Any], progress: Progress | None = None) -> Any:
    """Audit a set's files as one corpus."""
    if progress:
        progress(f"audit {gold.name} ({len(gold.conversations)} conversations)")
    return audit([str(p) for p in gold.paths])


def score_units(results: Iterable[tuple[GoldSet, Any]]) -> list[Units]:
    """All units of every (set, audit result)."""
    return [u for gold, result in results for u in collect(result, gold)]


def clean_negatives(gold: GoldSet, clean_result: Any) -> list[Units]:
    """Conversation-level negatives for an injected set: its bases as audited *without* the
    injection (the injected corpus itself has no negative conversation)."""
    bases = {cid.rsplit("#", 1)[0] for cid in gold.conversations}
    negatives = GoldSet(gold.name, gold.paths, gold.labels, {b: frozenset() for b in sorted(bases)})
    return [u for u in collect(clean_result, negatives) if u.level == "conversation"]


def _verdict(est: float | None, target: float, higher: bool = True) -> str:
    if est is None:
        return "—"
    return "PASS" if (est >= target if higher else est <= target) else "FAIL"


def pooled_rows(units: Sequence[Units], key: Callable[[Units], tuple[str, ...]],
                names: Sequence[str], *, n_boot: int, seed: int,
                recall_target: bool) -> list[dict[str, Any]]:
    """Metrics of units pooled by ``key`` (their clusters stay distinct), one row per key."""
    groups: dict[tuple[str, ...], list[Units]] = defaultdict(list)
    for u in units:
        groups[key(u)].append(u)
    rows = []
    for k, us in groups.items():
        gold = np.concatenate([u.gold for u in us]) if us else np.zeros(0, bool)
        pred = np.concatenate([u.pred for u in us]) if us else np.zeros(0, bool)
        clusters = np.concatenate([np.char.add(f"{u.set_name}|", u.clusters.astype(str))
                                   for u in us])
        reasons = sorted({u.reason for u in us if u.reason})
        m = prf_with_ci(gold, pred, clusters, n_boot=n_boot, seed=seed)
        row = dict(zip(names, k))
        row.update(m.as_dict(), n_not_applicable=sum(u.n_not_applicable for u in us),
                   not_applicable=reasons[0] if reasons and not len(gold) else None,
                   precision_target=0.8, precision_verdict=_verdict(m.precision.value, 0.8))
        if recall_target:
            row.update(recall_target=0.8, recall_verdict=_verdict(m.recall.value, 0.8))
        rows.append(row)
    return rows


# human dialogues: share of conversations flagged, at most
HUMAN_TARGETS: dict[str, float] = {"role_flip": 0.02, "interruption": 0.02,
                                   "impersonation": 0.02, "role_adherence_violation": 0.02,
                                   "role_flip_unmarked": 0.02, "digression": 0.05,
                                   "courtesy_loop": 0.03, "content_repetition": 0.05}


def rate_rows(name: str, result: Any, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Per flag: share of conversations flagged with a Wilson CI and the target's verdict."""
    rows = []
    for r in flag_rates(result, ids):
        est = rate_with_ci(r["flagged"], r["n"])
        target = HUMAN_TARGETS.get(r["flag"])
        applies = r["n"] > 0 and not r["reason"]
        verdict = ("—" if target is None else "PASS" if not applies
                   else _verdict(est.value, target, higher=False))
        rows.append({"set": name, **r, "rate": est.as_dict(), "target_max": target,
                     "verdict": verdict})
    return rows
