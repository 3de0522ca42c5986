"""Metrics of the training layer: accuracy, per-class recall, macro-F1, label shares and
their amplification, means with t intervals, and the per-condition summary of runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from artifactual.errors import InputError

__all__ = ["accuracy", "macro_f1", "per_class_recall", "shares", "amplification", "mean_ci",
           "summarise"]


def accuracy(y_true: Sequence[Any], y_pred: Sequence[Any]) -> float:
    """Share of exact matches (NaN when empty)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise InputError(f"{t.size} true labels but {p.size} predictions",
                         fix="pass one prediction per item")
    return float(np.mean(t == p)) if t.size else float("nan")


def per_class_recall(y_true: Sequence[Any], y_pred: Sequence[Any],
                     labels: Sequence[Any] | None = None) -> dict[Any, float]:
    """Recall of each label present in ``y_true`` (or of each of ``labels``; NaN if absent)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    labels = list(labels) if labels is not None else sorted(set(t.tolist()), key=repr)
    return {k: float(np.mean(p[t == k] == k)) if np.any(t == k) else float("nan") for k in labels}


def macro_f1(y_true: Sequence[Any], y_pred: Sequence[Any],
             labels: Sequence[Any] | None = None) -> float:
    """Unweighted mean F1 over ``labels`` (default: every label in truth or predictions)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    labels = list(labels) if labels is not None else sorted(set(t.tolist()) | set(p.tolist()), key=repr)
    if not labels:
        return float("nan")
    scores = []
    for k in labels:
        tp = float(np.sum((t == k) & (p == k)))
        fp = float(np.sum((t != k) & (p == k)))
        fn = float(np.sum((t == k) & (p != k)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def shares(values: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """Share of each of ``labels`` among ``values`` (zeros when empty)."""
    v = np.asarray(values)
    counts = np.array([np.sum(v == k) for k in labels], dtype=float)
    return counts / counts.sum() if counts.sum() else counts


def amplification(y_pred: Sequence[Any], y_train: Sequence[Any], y_test: Sequence[Any],
                  labels: Sequence[Any]) -> dict[str, float]:
    """Does the model exaggerate its training distribution? Compares predicted label shares
    with the training labels' and with the human test labels'.

    * ``majority_share_delta_vs_train``: predicted share of the training majority class minus
      its training share (> 0: the majority is amplified);
    * ``majority_share_delta_vs_test``: the same for the human-test majority class;
    * ``js_vs_train`` / ``js_vs_test``: Jensen-Shannon divergence, base 2, in [0, 1];
    * ``minority_recall``: mean recall over every test label except the test majority class.
    """
    from artifactual.analysis.corpora.labels import distribution_shift

    pred = shares(y_pred, labels)
    out: dict[str, float] = {}
    for name, ref in (("train", shares(y_train, labels)), ("test", shares(y_test, labels))):
        dist = pd.DataFrame({"human": ref, "model": pred}, index=list(labels))
        s = distribution_shift(dist)
        out[f"majority_share_delta_vs_{name}"] = s["majority_share_delta"]
        out[f"js_vs_{name}"] = s["js_divergence"]
    test_major = labels[int(np.argmax(shares(y_test, labels)))]
    recalls = per_class_recall(y_test, y_pred, [k for k in labels if k != test_major])
    present = [r for r in recalls.values() if not math.isnan(r)]
    out["minority_recall"] = float(np.mean(present)) if present else float("nan")
    return out


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Mean with a Student-t CI over seeds (a single value has no interval: NaN bounds)."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if x.size == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0,
                "values": []}
    mean = float(x.mean())
    if x.size < 2:
        lo = hi = float("nan")
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
        lo, hi = mean - half, mean + half
    return {"mean": mean, "ci_low": lo, "ci_high": hi, "n": int(x.size),
            "values": [float(v) for v in x]}


def summarise(runs: pd.DataFrame, metrics: Sequence[str], by: str = "condition",
              pair: tuple[str, str] | None = ("human", "llm")) -> dict[str, Any]:
    """Per group (and metric) mean with a t-CI over seeds; with ``pair``, the per-seed gap
    ``pair[0] - pair[1]`` (matched on seed) with its own CI and the relative gap."""
    out: dict[str, Any] = {"by": by, "groups": {}, "ci": "95% Student-t over seeds"}
    for group, part in runs.groupby(by, sort=False):
        out["groups"][str(group)] = {m: mean_ci(part[m].tolist()) for m in metrics if m in part}
    if pair and all(g in set(runs[by].astype(str)) for g in pair):
        a = runs[runs[by].astype(str) == pair[0]].set_index("seed")
        b = runs[runs[by].astype(str) == pair[1]].set_index("seed")
        seeds = a.index.intersection(b.index)
        gap = {}
        for m in metrics:
            if m in a and m in b:
                diff = (a.loc[seeds, m] - b.loc[seeds, m]).tolist()
                entry = mean_ci(diff)
                base = float(a.loc[seeds, m].mean())
                entry["relative"] = -entry["mean"] / base if base else float("nan")
                gap[m] = entry
        out["gap"] = {"definition": f"{pair[0]} minus {pair[1]}, per seed; relative = "
                      f"({pair[1]} - {pair[0]}) / {pair[0]}", "metrics": gap}
    return out
