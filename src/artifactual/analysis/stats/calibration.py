"""Judge-calibrated estimates: the offline detectors checked against an LLM judge.

The judge (:mod:`artifactual.generation.judge`) reads a stratified sample of the
conversations; this module designs that sample and turns the judgments into estimates
for the whole corpus. It reads flag tables and :class:`~artifactual.records.Judgment`
records only, and never imports ``generation``.

**Strata.** For each artifact, every audited conversation falls in one stratum by its
offline flag (:data:`ARTIFACT_FLAGS`): ``flagged``, ``unflagged``, or ``not_applicable``
(the detector did not run, does not apply to the corpus, or left the conversation's flag
null). :func:`stratified_sample` draws ``n`` conversations per artifact, seeded, spread
evenly over the non-empty strata (a stratum smaller than its share is taken whole and
the rest goes to the others).

**Estimates** (:func:`calibrate`), with stratum h holding N_h conversations of which n_h
got a verdict and x_h were judged positive (p_h = x_h / n_h):

- prevalence: sum_h N_h p_h / N, over every audited conversation;
- precision of the offline flag: p_flagged (judge-positive share of flagged conversations);
- recall of the offline flag: N_f p_f / (N_f p_f + N_u p_u) over the conversations it
  applies to. The unflagged stratum is reweighted by its size (1 / its sampling
  fraction), which a raw count of the sample would not do.

Judge errors (``verdict`` None) are left out of n_h and counted. **95% intervals** come
from a finite-population Bayesian bootstrap: for each stratum, p ~ Beta(x + 1/2,
n - x + 1/2) (Jeffreys), the positives among its N - n unjudged conversations ~
Binomial(N - n, p), and each estimate is recomputed from the stratum totals of every draw;
a stratum judged in full is known exactly. This keeps the interval honest at 0 of n and
narrows it as the sample approaches a census. The prevalence also carries the classical
stratified standard error with finite-population correction (``se``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from artifactual.records import Judgment

__all__ = ["ARTIFACT_FLAGS", "STRATA", "CI_METHOD", "offline_strata", "allocate",
           "stratified_sample", "calibrate", "judgments_frame"]

# artifact the judge is asked about -> the conversations table's offline flag column
ARTIFACT_FLAGS: dict[str, str] = {
    "digression": "digression", "role_adherence": "role_adherence_violation",
    "role_flip": "role_flip", "impersonation": "impersonation", "courtesy_loop": "courtesy_loop",
}
STRATA = ("flagged", "unflagged", "not_applicable")
CI_METHOD = ("finite-population Bayesian bootstrap per stratum (Jeffreys Beta posterior, "
             "binomial draws for the unjudged), equal-tailed")


def offline_strata(conversations: pd.DataFrame, artifact: str,
                   not_applicable: Mapping[str, Any] | None = None) -> tuple[pd.Series, str | None]:
    """Each conversation's stratum for ``artifact`` (indexed by ``conversation_id``), and
    the reason when the offline flag cannot be used for the whole corpus (then every
    conversation is ``not_applicable``)."""
    ids = conversations["conversation_id"].astype(str)
    flag = ARTIFACT_FLAGS.get(artifact, artifact)
    na = not_applicable or {}
    reason = next((str(na[k]) for k in (artifact, flag, f"{flag}_rate") if na.get(k)), None)
    if reason is None and flag not in conversations.columns:
        reason = f"the offline detector for {artifact} did not run (no {flag!r} column)"
    if reason is not None:
        return pd.Series("not_applicable", index=ids.values, dtype=object), reason
    values = conversations[flag].astype("boolean")
    out = np.where(values.isna(), "not_applicable", np.where(values.fillna(False), "flagged", "unflagged"))
    return pd.Series(out, index=ids.values, dtype=object), None


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Split ``n`` draws evenly over the non-empty strata, never more than a stratum holds;
    what a small stratum cannot take goes to the others."""
    take = {k: 0 for k in sizes}
    left = min(int(n), sum(sizes.values()))
    while left > 0:
        open_ = [k for k in sizes if take[k] < sizes[k]]
        share, extra = divmod(left, len(open_))
        for i, k in enumerate(open_):
            add = min(share + (1 if i < extra else 0), sizes[k] - take[k])
            take[k] += add
            left -= add
    return take


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


def stratified_sample(strata: pd.Series, n: int | None, *, seed: int = 0,
                      key: str = "") -> list[str]:
    """Conversation ids to judge: ``n`` spread over the strata by :func:`allocate`, drawn
    without replacement with a generator seeded by ``seed`` and ``key`` (the artifact);
    every id when ``n`` is None or covers the corpus. Ids keep the table's order."""
    ids = [str(i) for i in strata.index]
    if n is None or n >= len(ids):
        return ids
    sizes = {s: int((strata == s).sum()) for s in STRATA}
    take = allocate(sizes, n)
    rng = _rng(seed, key)
    chosen: set[str] = set()
    for s in STRATA:
        members = [i for i, v in zip(ids, strata.values) if v == s]
        if take[s]:
            chosen.update(str(m) for m in rng.choice(members, size=take[s], replace=False))
    return [i for i in ids if i in chosen]


def judgments_frame(judgments: Iterable[Judgment]) -> pd.DataFrame:
    """Judgment records as a table: conversation_id, artifact, verdict (None: error), error."""
    rows = [{"conversation_id": j.conversation_id, "artifact": j.artifact, "verdict": j.verdict,
             "error": j.error} for j in judgments]
    return pd.DataFrame(rows, columns=["conversation_id", "artifact", "verdict", "error"])


def _interval(draws: np.ndarray, level: float) -> tuple[float | None, float | None]:
    ok = draws[~np.isnan(draws)]
    if ok.size < 0.5 * draws.size:  # mostly undefined (0/0): no interval
        return None, None
    a = (1 - level) / 2
    return float(np.quantile(ok, a)), float(np.quantile(ok, 1 - a))


def _estimate(value: float | None, draws: np.ndarray, level: float, **extra: Any) -> dict[str, Any]:
    lo, hi = _interval(draws, level)
    return {"estimate": value, "ci_low": lo, "ci_high": hi, **extra}


def _strata_counts(strata: pd.Series, verdicts: pd.Series) -> dict[str, dict[str, int]]:
    out = {}
    judged = verdicts.index.astype(str)
    for s in STRATA:
        members = strata.index[strata.values == s].astype(str)
        v = verdicts[judged.isin(members)]
        ok = v[v.notna()].astype(bool)
        out[s] = {"size": int(len(members)), "sampled": int(len(v)), "judged": int(len(ok)),
                  "errors": int(v.isna().sum()), "judge_positive": int(ok.sum())}
    return out


def _draw_totals(c: dict[str, int], draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of the stratum's number of judge-positive conversations (module docstring)."""
    size, n, x = c["size"], c["judged"], c["judge_positive"]
    if size == 0:
        return np.zeros(draws)
    p = rng.beta(x + 0.5, n - x + 0.5, size=draws)
    return x + rng.binomial(size - n, p).astype(float)


def _stratified_se(counts: dict[str, dict[str, int]], total: int) -> float:
    var = 0.0
    for c in counts.values():
        size, n, x = c["size"], c["judged"], c["judge_positive"]
        if size == 0 or n == 0 or n == size:
            continue
        p = x / n
        s2 = p * (1 - p) * n / (n - 1) if n > 1 else 0.25  # one draw: the largest variance
        var += (size / total) ** 2 * (1 - n / size) * s2 / n
    return float(np.sqrt(var))


def calibrate(strata: pd.Series, verdicts: pd.Series, *, reason: str | None = None,
              seed: int = 0, draws: int = 4000, level: float = 0.95) -> dict[str, Any]:
    """Prevalence, and the offline flag's precision and recall, from judged conversations.

    ``strata``: each audited conversation's stratum (:func:`offline_strata`), indexed by
    conversation id. ``verdicts``: the judge's verdict per sampled conversation id (True,
    False, or None for an error row). ``reason``: why the offline flag cannot be scored
    (then precision and recall are None). Estimates and intervals as in the module
    docstring; an estimate that needs a stratum nobody judged is None, with a note.
    """
    counts = _strata_counts(strata, verdicts)
    rng = _rng(seed, "calibrate")
    totals = {s: _draw_totals(c, draws, rng) for s, c in counts.items()}
    size = {s: c["size"] for s, c in counts.items()}
    rate = {s: (c["judge_positive"] / c["judged"] if c["judged"] else None) for s, c in counts.items()}
    notes: list[str] = [] if reason is None else [reason]
    blind = [s for s in STRATA if size[s] and rate[s] is None]
    if blind:
        notes.append(f"no verdict in stratum {', '.join(blind)}: estimates that need it are null")
    n = sum(size.values())
    f, u = counts["flagged"], counts["unflagged"]
    out: dict[str, Any] = {
        "n_conversations": n, "n_sampled": sum(c["sampled"] for c in counts.values()),
        "n_judged": sum(c["judged"] for c in counts.values()),
        "n_errors": sum(c["errors"] for c in counts.values()),
        "offline_rate": (f["size"] / (f["size"] + u["size"])) if f["size"] + u["size"] else None,
        "strata": counts,
        "confusion": {"tp": f["judge_positive"], "fp": f["judged"] - f["judge_positive"],
                      "fn": u["judge_positive"], "tn": u["judged"] - u["judge_positive"]},
    }
    prev = sum(size[s] * rate[s] for s in STRATA if size[s]) / n if n and not blind else None
    out["prevalence"] = (_estimate(prev, sum(totals.values()) / n, level,
                                   se=_stratified_se(counts, n)) if prev is not None else None)
    out["precision"] = out["recall"] = None
    if reason is None and f["size"] == 0:
        notes.append("no conversation is flagged offline: precision is undefined")
    if reason is None and rate["flagged"] is not None:
        out["precision"] = _estimate(rate["flagged"], totals["flagged"] / f["size"], level)
    if reason is None and (f["size"] == 0 or rate["flagged"] is not None) \
            and (u["size"] == 0 or rate["unflagged"] is not None):
        hit = f["size"] * (rate["flagged"] or 0.0)
        found = hit + u["size"] * (rate["unflagged"] or 0.0)
        if found > 0:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = totals["flagged"] / (totals["flagged"] + totals["unflagged"])
            out["recall"] = _estimate(hit / found, ratio, level)
        else:
            notes.append("the judge found no positive among the applicable conversations: "
                         "recall is undefined")
    out["notes"] = notes
    return out
