"""Spread as a finding: does one group's style vary less than the reference's?

:func:`compare_spread` gives, per metric and group, the robust spread (the median absolute
deviation, scaled by 1.4826 so it estimates the standard deviation of normal data) with a
seeded bootstrap 95% CI, and against the reference group:

* the **spread ratio** ``MAD(group) / MAD(reference)`` with a bootstrap 95% CI (with
  ``paired_by``, whole pairs are resampled, so the CI keeps the pairing);
* a test of equal spread: the Brown–Forsythe test (Levene's test on deviations from the
  median, ``scipy.stats.levene(center="median")``) for independent groups; with
  ``paired_by``, its paired analogue, the Wilcoxon signed-rank test on the matched
  absolute deviations from each group's median.

:func:`context_share` gives, per metric and group, how much of the metric's variance lies
between contexts (domain, prompt type, source): eta-squared of a one-way ANOVA,
``SS_between / SS_total``, with a bootstrap 95% CI that resamples texts within each
context (context sizes fixed), and the difference group minus reference with its CI.

Both return frames with the columns of :data:`.compare.COMPARE_COLUMNS` plus ``statistic``
(``spread`` / ``context_share``), ``ratio_low`` / ``ratio_high`` (the CI of the effect)
and ``base_metric``, so they stack under the means table; the metric is named
``"<metric> spread"`` or ``"<metric> between-context share"``. Holm's correction is left
to the caller, over means and spreads together (:func:`with_spread`).
:func:`spread_lines` states the significant results in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from artifactual.analysis.stats.compare import COMPARE_COLUMNS, holm
from artifactual.errors import AnalysisError

__all__ = ["SPREAD_COLUMNS", "mad", "compare_spread", "context_share", "with_spread",
           "spread_lines", "eta_squared"]

SPREAD_COLUMNS = [*COMPARE_COLUMNS, "statistic", "base_metric", "ratio_low", "ratio_high"]
_SCALE = 1.4826  # MAD -> SD for normal data


def mad(values: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Median absolute deviation from the median, scaled to estimate a normal SD."""
    x = np.asarray(values, dtype=float)
    med = np.median(x, axis=axis, keepdims=True)
    return _SCALE * np.median(np.abs(x - med), axis=axis)


def _ci(draws: np.ndarray) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def _ratio(a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _spread_p(x: np.ndarray, y: np.ndarray, paired: bool) -> float:
    if x.size < 2 or y.size < 2:
        return float("nan")
    dx, dy = np.abs(x - np.median(x)), np.abs(y - np.median(y))
    if paired:
        diffs = dx - dy
        return 1.0 if np.all(diffs == 0) else float(stats.wilcoxon(diffs).pvalue)
    if np.all(dx == dx[0]) and np.all(dy == dx[0]):
        return 1.0
    return float(stats.levene(x, y, center="median").pvalue)


def _boot_idx(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    return rng.integers(0, n, size=(n_resamples, n))


def _matched(part: pd.DataFrame, ref_part: pd.DataFrame, metric: str, key: str
             ) -> tuple[np.ndarray, np.ndarray]:
    a = part[[key, metric]].dropna().groupby(key)[metric].mean()
    b = ref_part[[key, metric]].dropna().groupby(key)[metric].mean()
    common = a.index.intersection(b.index)
    return a.loc[common].to_numpy(float), b.loc[common].to_numpy(float)


def compare_spread(frame: pd.DataFrame, metrics: Sequence[str], group_col: str, reference: str,
                   *, seed: int = 0, n_resamples: int = 2000,
                   paired_by: str | None = None) -> pd.DataFrame:
    """Spread rows (module docstring) for numeric ``metrics``; ``p_holm`` is left NaN."""
    groups = [reference] + [g for g in pd.unique(frame[group_col].dropna()) if g != reference]
    if reference not in set(frame[group_col]):
        raise AnalysisError(f"reference group {reference!r} is not in column {group_col!r}",
                            fix="pick one of the groups in the table")
    rows: list[dict] = []
    ref_part = frame[frame[group_col] == reference]
    for m_i, metric in enumerate(metrics):
        ref_vals = ref_part[metric].dropna().to_numpy(float)
        ref_mad = float(mad(ref_vals)) if ref_vals.size else float("nan")
        for g_i, group in enumerate(groups):
            rng = np.random.default_rng(seed + 1000 * m_i + g_i)
            part = frame[frame[group_col] == group]
            vals = part[metric].dropna().to_numpy(float)
            row = {"metric": f"{metric} spread", "base_metric": metric, "group": group,
                   "n": int(vals.size), "statistic": "spread", "reference": reference,
                   "effect_kind": "mad_ratio", "effect_size": np.nan, "p_value": np.nan,
                   "ratio_low": np.nan, "ratio_high": np.nan}
            row["estimate"] = float(mad(vals)) if vals.size else float("nan")
            row["ci_low"], row["ci_high"] = (_ci(mad(vals[_boot_idx(rng, vals.size, n_resamples)]))
                                             if vals.size > 1 else (row["estimate"],) * 2)
            if group != reference and vals.size > 1 and ref_vals.size > 1:
                if paired_by is not None:
                    x, y = _matched(part, ref_part, metric, paired_by)
                    idx = _boot_idx(rng, x.size, n_resamples)
                    draws = _ratio(mad(x[idx]), mad(y[idx])) if x.size > 1 else np.array([])
                else:
                    x, y = vals, ref_vals
                    draws = _ratio(mad(x[_boot_idx(rng, x.size, n_resamples)]),
                                   mad(y[_boot_idx(rng, y.size, n_resamples)]))
                row["effect_size"] = float(_ratio(row["estimate"], ref_mad))
                row["ratio_low"], row["ratio_high"] = _ci(draws)
                row["p_value"] = _spread_p(x, y, paired_by is not None)
            rows.append(row)
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    return out.reindex(columns=SPREAD_COLUMNS)


def eta_squared(values: np.ndarray, contexts: np.ndarray) -> float:
    """Share of the variance between contexts: ``SS_between / SS_total`` (NaN if no
    variance or fewer than two contexts)."""
    x = np.asarray(values, dtype=float)
    c = pd.factorize(np.asarray(contexts))[0]
    if x.size < 2 or c.max(initial=-1) < 1:
        return float("nan")
    total = float(((x - x.mean()) ** 2).sum())
    sums, counts = np.bincount(c, weights=x), np.bincount(c)
    between = float((counts * (sums / counts - x.mean()) ** 2).sum())
    return between / total if total > 0 else float("nan")


def _eta_draws(x: np.ndarray, c: np.ndarray, rng: np.random.Generator,
               n_resamples: int) -> np.ndarray:
    """Bootstrap eta-squared, resampling values within each context (sizes fixed)."""
    codes = pd.factorize(c)[0]
    members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    idx = np.concatenate([m[rng.integers(0, m.size, size=(n_resamples, m.size))]
                          for m in members], axis=1)
    labels = np.concatenate([np.full(m.size, k) for k, m in enumerate(members)])
    xs = x[idx]
    grand = xs.mean(axis=1, keepdims=True)
    total = ((xs - grand) ** 2).sum(axis=1)
    between = np.zeros(n_resamples)
    for k, m in enumerate(members):
        cols = labels == k
        between += m.size * (xs[:, cols].mean(axis=1) - grand[:, 0]) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, between / np.where(total > 0, total, 1.0), np.nan)


def context_share(frame: pd.DataFrame, metrics: Sequence[str], group_col: str, context_col: str,
                  reference: str, *, seed: int = 0, n_resamples: int = 2000) -> pd.DataFrame:
    """Between-context share rows (module docstring); needs two or more contexts."""
    if context_col not in frame.columns or frame[context_col].dropna().nunique() < 2:
        raise AnalysisError(f"the context column {context_col!r} is missing or has fewer than "
                            "two values", where=f"columns: {list(frame.columns)}",
                            fix="give every text a context field (e.g. 'domain') with two or "
                                "more values, or leave --context out")
    groups = [reference] + [g for g in pd.unique(frame[group_col].dropna()) if g != reference]
    rows: list[dict] = []
    for m_i, metric in enumerate(metrics):
        est: dict = {}
        for g_i, group in enumerate(groups):
            part = frame[frame[group_col] == group][[metric, context_col]].dropna()
            x, c = part[metric].to_numpy(float), part[context_col].astype(str).to_numpy()
            rng = np.random.default_rng(seed + 7000 + 1000 * m_i + g_i)
            draws = _eta_draws(x, c, rng, n_resamples) if len(set(c)) > 1 else np.array([])
            est[group] = (eta_squared(x, c), draws)
            lo, hi = _ci(draws)
            rows.append({"metric": f"{metric} between-context share", "base_metric": metric,
                         "group": group, "n": int(x.size), "estimate": est[group][0],
                         "ci_low": lo, "ci_high": hi, "statistic": "context_share",
                         "effect_kind": "share_difference", "reference": reference,
                         "effect_size": np.nan, "p_value": np.nan,
                         "ratio_low": np.nan, "ratio_high": np.nan})
            if group != reference:
                ref_est, ref_draws = est[reference]
                rows[-1]["effect_size"] = est[group][0] - ref_est
                if draws.size and ref_draws.size:  # independent resamples of the two groups
                    rows[-1]["ratio_low"], rows[-1]["ratio_high"] = _ci(draws - ref_draws)
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    return out.reindex(columns=SPREAD_COLUMNS)


def with_spread(means: pd.DataFrame, *parts: pd.DataFrame) -> pd.DataFrame:
    """The means table with the spread (and context) rows under it, ``statistic`` set, and
    Holm's correction recomputed over every p-value of the stacked table."""
    first = means.assign(statistic="mean", base_metric=means["metric"])
    out = pd.concat([first, *[p for p in parts if len(p)]], ignore_index=True)
    out["p_holm"] = holm(out["p_value"].to_numpy(dtype=float))
    return out


def _p_words(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def spread_lines(comparison: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The spread and between-context results in words, e.g. "llm text varies less in
    formality: spread ratio 0.58 [0.49, 0.69], p < 0.001". Spreads are listed when their
    Holm p is below ``alpha`` and the ratio's CI excludes 1 (the test compares mean absolute
    deviations, the ratio medians: a line needs both to agree); between-context shares when
    the CI of the difference from the reference excludes 0."""
    if comparison is None or "statistic" not in getattr(comparison, "columns", ()):
        return []
    lines: list[str] = []
    spread = comparison[(comparison["statistic"] == "spread") & comparison["p_holm"].notna()]
    for r in spread.sort_values("p_holm").itertuples():
        if r.p_holm < alpha and (r.ratio_low > 1 or r.ratio_high < 1):
            way = "less" if r.effect_size < 1 else "more"
            lines.append(f"{r.group} text varies {way} than {r.reference} in {r.base_metric}: "
                         f"spread ratio {r.effect_size:.2f} [{r.ratio_low:.2f}, "
                         f"{r.ratio_high:.2f}], {_p_words(r.p_holm)} (Holm)")
    share = comparison[comparison["statistic"] == "context_share"]
    ref_est = share[share["group"] == share["reference"]].set_index("base_metric")
    for r in share[share["group"] != share["reference"]].itertuples():
        if not (r.ratio_low > 0 or r.ratio_high < 0):
            continue
        ref = ref_est.loc[r.base_metric]
        way = "less" if r.effect_size < 0 else "more"
        lines.append(f"{r.group} {r.base_metric} moves {way} between contexts than "
                     f"{r.reference}: between-context share {r.estimate:.2f} [{r.ci_low:.2f}, "
                     f"{r.ci_high:.2f}] vs {ref['estimate']:.2f} [{ref['ci_low']:.2f}, "
                     f"{ref['ci_high']:.2f}], difference {r.effect_size:+.2f} "
                     f"[{r.ratio_low:+.2f}, {r.ratio_high:+.2f}]")
    return lines
