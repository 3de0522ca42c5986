"""Mixing curves: the same training size, a growing share of LLM-annotated data.

A training set is two index arrays (:class:`Mix`): items taken with their human annotation
and items taken with their LLM annotation. Paired experiments (labels, preferences) draw
both from one pool of items, disjointly; unpaired ones (instructions) from two pools.
:func:`sample_mix` hits the requested fraction exactly (``round-half-up(n * fraction)``).

:func:`sweep` trains one model per (condition, seed): each condition is an LLM fraction,
and the training set is drawn with :func:`~artifactual.training.common.sample_mix`
from a generator seeded by ``(split_seed, seed)``. So, for one seed, every fraction uses
the same items (paired data) or nested prefixes of the same draws (two pools): only the
annotation source changes along the curve. Human-vs-LLM training is the sweep over
fractions 0 and 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.errors import ConfigError, InputError
from artifactual.training.common import Progress, TrainConfig, require_size
from artifactual.training.metrics import mean_ci

__all__ = ["Mix", "mix_counts", "sample_mix", "sweep", "fraction_label", "curve_table",
           "plot_curve", "save_png"]

@dataclass(frozen=True)
class Mix:
    """A training set: indices taken with human annotations and with LLM annotations."""

    human: np.ndarray
    llm: np.ndarray

    @property
    def n(self) -> int:
        return int(len(self.human) + len(self.llm))

    @property
    def llm_fraction(self) -> float:
        return len(self.llm) / self.n if self.n else float("nan")

    def labelled(self, human: np.ndarray, llm: np.ndarray, where: str,
                 fix: str) -> tuple[np.ndarray, np.ndarray]:
        """Paired pool: (rows, annotations), human ones for ``self.human``, LLM ones after."""
        rows = np.concatenate([self.human, self.llm]).astype(int)
        if len(rows) < 2:
            raise InputError(f"dataset too small: {len(rows)} training items", where=where, fix=fix)
        return rows, np.concatenate([human[self.human], llm[self.llm]]).astype(int)


def mix_counts(n: int, llm_fraction: float) -> tuple[int, int]:
    """(human, llm) item counts for a training set of ``n``: llm = round-half-up(n * fraction)."""
    if not 0.0 <= llm_fraction <= 1.0:
        raise ConfigError(f"llm fraction {llm_fraction} is outside [0, 1]",
                          fix="use fractions such as 0, 0.25, 0.5, 0.75, 1")
    n_llm = int(math.floor(n * llm_fraction + 0.5 + 1e-9))
    return n - n_llm, n_llm


def sample_mix(n: int, llm_fraction: float, rng: np.random.Generator, n_human_pool: int,
               n_llm_pool: int | None = None) -> Mix:
    """Draw a training set of exactly ``n`` items with the requested LLM fraction.

    ``n_llm_pool=None`` means paired: one pool of items, each annotated by both sides;
    the two index arrays are then disjoint draws from that pool.
    """
    n_human, n_llm = mix_counts(n, llm_fraction)
    if n_llm_pool is None:
        require_size(n_human_pool, n, "training items", "training pool",
                     "lower n_train or use a larger dataset")
        chosen = rng.permutation(n_human_pool)[:n]
        return Mix(np.sort(chosen[:n_human]), np.sort(chosen[n_human:]))
    require_size(n_human_pool, n_human, "human training items", "human pool",
                 "lower n_train or give more human data")
    require_size(n_llm_pool, n_llm, "LLM training items", "LLM pool",
                 "lower n_train or generate more LLM data")
    return Mix(np.sort(rng.permutation(n_human_pool)[:n_human]),
               np.sort(rng.permutation(n_llm_pool)[:n_llm]))


OnResult = Callable[[str, float, int, Mix, Any], None] | None


def fraction_label(fraction: float) -> str:
    """Condition name of an LLM fraction: ``llm=0.25``."""
    return f"llm={fraction:g}"


def sweep(cfg: TrainConfig, task: Any, module: Any, conditions: Sequence[tuple[str, float]],
          n_train: int, progress: Progress = None, on_result: OnResult = None
          ) -> list[dict[str, Any]]:
    """Train and evaluate one model per condition and seed; one row of results per run.

    ``module`` is an experiment module (``train_mix``); ``task`` its loaded task.
    ``on_result(condition, fraction, seed, mix, result)`` sees each finished run.
    """
    rows: list[dict[str, Any]] = []
    total = len(conditions) * len(cfg.seeds)
    if progress:
        progress("runs", 0, total)
    for name, fraction in conditions:
        for seed in cfg.seeds:
            rng = np.random.default_rng([cfg.split_seed, seed])
            mix = sample_mix(n_train, fraction, rng, task.n_human_pool, task.n_llm_pool)
            res = module.train_mix(task, mix, cfg, seed, progress, f"{name} seed {seed}")
            rows.append({"condition": name, "llm_fraction": float(fraction), "seed": seed,
                         "n_train": mix.n, "n_human": len(mix.human), "n_llm": len(mix.llm),
                         **res.metrics,
                         "loss_first": res.losses[0] if res.losses else float("nan"),
                         "loss_last": res.losses[-1] if res.losses else float("nan"),
                         "train_seconds": res.seconds, "samples_per_s": res.samples_per_s})
            if on_result:
                on_result(name, fraction, seed, mix, res)
            if progress:
                progress("runs", len(rows), total)
    return rows


def curve_table(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (LLM fraction, metric): mean, 95% t-CI over seeds, n."""
    out = []
    for fraction, part in runs.groupby("llm_fraction", sort=True):
        for m in metrics:
            if m in part:
                ci = mean_ci(part[m].tolist())
                out.append({"llm_fraction": float(fraction), "metric": m, "mean": ci["mean"],
                            "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "n": ci["n"]})
    return pd.DataFrame(out, columns=["llm_fraction", "metric", "mean", "ci_low", "ci_high", "n"])


def plot_curve(curve: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Metric means (with CI bands) against the LLM fraction; one panel per metric (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(dict.fromkeys(curve["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.0), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        part = curve[curve["metric"] == m].sort_values("llm_fraction")
        x = part["llm_fraction"].to_numpy()
        ax.plot(x, part["mean"], marker="o", color="tab:blue")
        lo, hi = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        ok = ~(np.isnan(lo) | np.isnan(hi))
        ax.fill_between(x[ok], lo[ok], hi[ok], alpha=0.25, color="tab:blue", linewidth=0)
        ax.set_xlabel("LLM-annotated share of training data")
        ax.set_title(m, fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_png(fig, path)


def save_png(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG (no software/time metadata) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
