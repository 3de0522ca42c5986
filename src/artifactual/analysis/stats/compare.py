"""Comparison statistics: per group, a mean (or rate) with a seeded bootstrap 95% CI,
an effect size against a reference group and a Holm-corrected p-value.

* Boolean metrics are rates: the effect size is Cohen's h and the test is Fisher's exact
  test on the 2x2 table of successes and failures.
* Other metrics are means: the effect size is Cliff's delta and the test is a two-sided
  permutation test of the difference in means.
* With ``paired_by`` (e.g. ``source_id`` for human/machine pairs) the test is the paired
  Wilcoxon signed-rank test on the matched differences; the effect sizes stay as above.

Holm's step-down correction runs over every test in the returned table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from artifactual.errors import AnalysisError

__all__ = ["COMPARE_COLUMNS", "compare", "bootstrap_ci", "cohens_h", "cliffs_delta", "holm",
           "is_rate", "cohen_kappa"]

COMPARE_COLUMNS = ["metric", "group", "n", "estimate", "ci_low", "ci_high", "effect_size",
                   "effect_kind", "p_value", "p_holm", "reference"]


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h between two proportions: ``2*asin(sqrt(p1)) - 2*asin(sqrt(p2))``."""
    if not (0.0 <= p1 <= 1.0 and 0.0 <= p2 <= 1.0):
        raise AnalysisError(f"Cohen's h needs proportions in [0, 1], got {p1!r} and {p2!r}",
                            fix="pass rates, not counts or percentages")
    return float(2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p2)))


def cliffs_delta(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Cliff's delta, ``P(X > Y) - P(X < Y)`` over all pairs; O((n+m) log m) by sorting."""
    xa = np.asarray(x, dtype=float)
    ya = np.sort(np.asarray(y, dtype=float))
    if xa.size == 0 or ya.size == 0:
        return float("nan")
    below = np.searchsorted(ya, xa, side="left")   # y values strictly less than each x
    not_above = np.searchsorted(ya, xa, side="right")  # y values <= each x
    greater = below.sum()
    less = (ya.size - not_above).sum()
    return float((greater - less) / (xa.size * ya.size))


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float:
    """Cohen's kappa of two raters over the same items (NaN when chance agreement is 1)."""
    if len(a) != len(b):
        raise AnalysisError(f"kappa needs paired ratings, got {len(a)} and {len(b)}",
                            fix="pass two equally long sequences")
    if len(a) == 0:
        return float("nan")
    table = pd.crosstab(pd.Series(list(a), name="a"), pd.Series(list(b), name="b"))
    table = table.reindex(index=table.index.union(table.columns),
                          columns=table.index.union(table.columns), fill_value=0)
    n = table.to_numpy().sum()
    observed = np.trace(table.to_numpy()) / n
    expected = float((table.sum(axis=1).to_numpy() * table.sum(axis=0).to_numpy()).sum()) / n**2
    return float("nan") if expected == 1.0 else float((observed - expected) / (1.0 - expected))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaNs are left out and stay NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    idx = np.flatnonzero(ok)
    order = np.argsort(p[ok], kind="mergesort")
    scaled = (m - np.arange(m)) * p[ok][order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out[idx[order]] = adjusted
    return out


def is_rate(values: pd.Series) -> bool:
    """True for boolean metrics (bool dtype, or only True/False values), reported as rates."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    if values.dtype == object:
        present = values.dropna()
        return len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present)
    return False


def bootstrap_ci(values: Sequence[float] | np.ndarray, *, seed: int = 0, n_resamples: int = 2000,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy.stats.bootstrap, seeded)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size == 1 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                          method="percentile", vectorized=True, batch=max(1, 2_000_000 // x.size),
                          rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _unpaired_p(x: np.ndarray, y: np.ndarray, rate: bool, seed: int, n_resamples: int) -> float:
    if x.size == 0 or y.size == 0:
        return float("nan")
    if rate:
        table = [[int(x.sum()), int(x.size - x.sum())], [int(y.sum()), int(y.size - y.sum())]]
        return float(stats.fisher_exact(table).pvalue)
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0
    if x.size < 2 or y.size < 2:  # scipy's permutation test needs two per sample; no test here
        return float("nan")
    res = stats.permutation_test((x, y), _mean_diff, permutation_type="independent",
                                 vectorized=True, n_resamples=n_resamples,
                                 alternative="two-sided", rng=np.random.default_rng(seed))
    return float(res.pvalue)


def _paired_p(diffs: np.ndarray) -> float:
    diffs = diffs[~np.isnan(diffs)]
    if diffs.size == 0:
        return float("nan")
    if np.all(diffs == 0):
        return 1.0
    return float(stats.wilcoxon(diffs).pvalue)


def _check(frame: pd.DataFrame, metrics: list[str], group_col: str, paired_by: str | None) -> None:
    missing = [c for c in [*metrics, group_col, *([paired_by] if paired_by else [])]
               if c not in frame.columns]
    if missing:
        raise AnalysisError(f"columns {missing} are not in the table",
                            where=f"columns: {list(frame.columns)}",
                            fix="name existing columns for metrics, group_col and paired_by")
    if not metrics:
        raise AnalysisError("no metrics to compare", fix="pass at least one metric column")


def _values(part: pd.DataFrame, metric: str, rate: bool) -> np.ndarray:
    col = part[metric].dropna()
    try:
        return col.astype(bool if rate else float).to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"metric {metric!r} is not numeric or boolean: {exc}",
                            fix="compare numeric or boolean columns only") from exc


def compare(frame: pd.DataFrame, metrics: list[str], group_col: str, reference: str | None = None,
            seed: int = 0, n_resamples: int = 2000, paired_by: str | None = None) -> pd.DataFrame:
    """Compare ``metrics`` across the groups in ``group_col`` (see the module docstring).

    The reference group defaults to the first group in order of appearance. Returns one
    row per (metric, group) with columns :data:`COMPARE_COLUMNS`; the reference group's
    rows have no effect size or p-value.
    """
    _check(frame, metrics, group_col, paired_by)
    groups = list(pd.unique(frame[group_col].dropna()))
    if not groups:
        raise AnalysisError(f"column {group_col!r} has no groups", fix="give a non-empty table")
    ref = groups[0] if reference is None else reference
    if ref not in groups:
        raise AnalysisError(f"reference group {ref!r} is not in column {group_col!r}",
                            where=f"groups: {groups}", fix="pick one of the listed groups")
    groups = [ref] + [g for g in groups if g != ref]
    rows: list[dict] = []
    for m_i, metric in enumerate(metrics):
        rate = is_rate(frame[metric])
        kind = "cohens_h" if rate else "cliffs_delta"
        ref_part = frame[frame[group_col] == ref]
        ref_vals = _values(ref_part, metric, rate)
        for g_i, group in enumerate(groups):
            part = frame[frame[group_col] == group]
            vals = _values(part, metric, rate)
            est = float(vals.mean()) if vals.size else float("nan")
            lo, hi = bootstrap_ci(vals, seed=seed + 1000 * m_i + g_i, n_resamples=n_resamples)
            eff = p = float("nan")
            if group != ref and vals.size and ref_vals.size:
                eff = (cohens_h(est, float(ref_vals.mean())) if rate
                       else cliffs_delta(vals, ref_vals))
                if paired_by is None:
                    p = _unpaired_p(vals, ref_vals, rate, seed + m_i, n_resamples)
                else:
                    p = _paired_p(_paired_diffs(part, ref_part, metric, paired_by, rate))
            rows.append({"metric": metric, "group": group, "n": int(vals.size), "estimate": est,
                         "ci_low": lo, "ci_high": hi, "effect_size": eff, "effect_kind": kind,
                         "p_value": p, "reference": ref})
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"].to_numpy())
    return out[COMPARE_COLUMNS]


def _paired_diffs(part: pd.DataFrame, ref_part: pd.DataFrame, metric: str, key: str,
                  rate: bool) -> np.ndarray:
    """Group minus reference for the keys present in both (duplicates are averaged)."""
    def per_key(p: pd.DataFrame) -> pd.Series:
        s = p[[key, metric]].dropna()
        return s[metric].astype(bool if rate else float).astype(float).groupby(s[key]).mean()

    a, b = per_key(part), per_key(ref_part)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise AnalysisError(f"no {key!r} value is shared between the group and the reference",
                            fix=f"check that {key!r} pairs rows across groups, or drop paired_by")
    return (a.loc[common] - b.loc[common]).to_numpy(dtype=float)
