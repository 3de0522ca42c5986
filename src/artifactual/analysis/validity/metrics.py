"""Precision, recall and F1 of a boolean flag against gold labels, with bootstrap 95% CIs.

Units are turns or conversations. At turn level the turns of one conversation are not
independent, so the bootstrap resamples whole *clusters* (conversations): pass their ids
as ``clusters``; at conversation level every unit is its own cluster. The percentile
interval comes from ``n_boot`` resamples drawn with a seeded :class:`numpy.random.Generator`.
A ratio whose denominator is zero (no flagged units for precision, no gold positives for
recall) is ``None``, and so are its interval bounds.

:func:`rate_with_ci` gives the share of units flagged with a Wilson 95% interval
(``scipy.stats.binomtest``), which stays informative at 0 of n, where a bootstrap
interval collapses to [0, 0].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

__all__ = ["Estimate", "PRF", "confusion", "ratios", "prf_with_ci", "rate_with_ci"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval; all three are None when undefined."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        """Plain JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 of one flag on one set of units, with the confusion counts."""

    precision: Estimate
    recall: Estimate
    f1: Estimate
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        """Number of units scored."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def n_positive(self) -> int:
        """Gold positives."""
        return self.tp + self.fn

    @property
    def n_flagged(self) -> int:
        """Units the detector flagged."""
        return self.tp + self.fp

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (estimates as {value, low, high})."""
        return {"precision": self.precision.as_dict(), "recall": self.recall.as_dict(),
                "f1": self.f1.as_dict(), "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "tn": self.tn, "n": self.n, "n_positive": self.n_positive,
                "n_flagged": self.n_flagged}


def confusion(gold: Sequence[bool] | np.ndarray, pred: Sequence[bool] | np.ndarray
              ) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of boolean predictions against boolean gold labels."""
    g = np.asarray(gold, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    if g.shape != p.shape:
        raise ValueError(f"gold has shape {g.shape} but predictions {p.shape}")
    return (int(np.sum(g & p)), int(np.sum(~g & p)), int(np.sum(g & ~p)), int(np.sum(~g & ~p)))


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(num), np.nan, dtype=float)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def ratios(tp: np.ndarray | int, fp: np.ndarray | int, fn: np.ndarray | int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 (NaN where undefined) from counts or arrays of counts."""
    tp_, fp_, fn_ = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    return _div(tp_, tp_ + fp_), _div(tp_, tp_ + fn_), _div(2 * tp_, 2 * tp_ + fp_ + fn_)


def _estimate(point: float, draws: np.ndarray) -> Estimate:
    if np.isnan(point):
        return Estimate(None)
    ok = draws[~np.isnan(draws)]
    if not len(ok):
        return Estimate(float(point))
    low, high = np.percentile(ok, [2.5, 97.5])
    return Estimate(float(point), float(low), float(high))


def prf_with_ci(gold: Sequence[bool] | np.ndarray, pred: Sequence[bool] | np.ndarray,
                clusters: Sequence[Any] | None = None, *, n_boot: int = 1000,
                seed: int = 0) -> PRF:
    """Precision/recall/F1 of ``pred`` against ``gold`` with cluster-bootstrap 95% CIs.

    ``clusters`` (one id per unit, e.g. its conversation) groups units that are resampled
    together; None makes every unit its own cluster.
    """
    g = np.asarray(gold, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    tp, fp, fn, tn = confusion(g, p)
    keys = np.arange(len(g)) if clusters is None else np.asarray(clusters, dtype=object)
    if len(keys) != len(g):
        raise ValueError(f"{len(keys)} cluster ids for {len(g)} units")
    if not len(g):
        return PRF(Estimate(None), Estimate(None), Estimate(None), 0, 0, 0, 0)
    _, cid = np.unique(keys.astype(str), return_inverse=True)
    n_c = int(cid.max()) + 1
    per = np.stack([np.bincount(cid, weights=(g & p), minlength=n_c),
                    np.bincount(cid, weights=(~g & p), minlength=n_c),
                    np.bincount(cid, weights=(g & ~p), minlength=n_c)])  # 3 x clusters
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_c, np.full(n_c, 1.0 / n_c), size=n_boot)  # n_boot x clusters
    boot = counts @ per.T  # n_boot x 3
    bp, br, bf = ratios(boot[:, 0], boot[:, 1], boot[:, 2])
    pp, pr, pf = ratios(tp, fp, fn)
    return PRF(_estimate(float(pp), bp), _estimate(float(pr), br), _estimate(float(pf), bf),
               tp, fp, fn, tn)


def rate_with_ci(k: int, n: int) -> Estimate:
    """Share ``k / n`` with a Wilson 95% interval; None when ``n`` is 0."""
    if n <= 0:
        return Estimate(None)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return Estimate(k / n, float(ci.low), float(ci.high))
