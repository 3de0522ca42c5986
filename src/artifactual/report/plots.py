"""Report figures: matplotlib (Agg backend) rendered to SVG ``data:`` URIs.

Each figure is its own SVG document embedded as ``<img src="data:image/svg+xml;base64,...">``,
so figures need no network, fonts (text is drawn as paths) or scripts, and the ids inside
one SVG cannot clash with another's. Output is deterministic: no date metadata and a fixed
hash salt. Every function returns ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = ["figure_uri", "metric_bars", "drift_curves", "termination_bars"]

_STYLE = {"svg.fonttype": "path", "svg.hashsalt": "artifactual-report", "font.size": 9,
          "axes.spines.top": False, "axes.spines.right": False}
_COLORS = plt.get_cmap("tab10").colors
_MAX_LABEL = 28


def _short(text: object, limit: int = _MAX_LABEL) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def figure_uri(fig: Figure) -> str:
    """Render ``fig`` as SVG and return a ``data:image/svg+xml;base64,`` URI; closes ``fig``."""
    buf = io.BytesIO()
    with plt.rc_context(_STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(n: int, ncols: int = 3, cell: tuple[float, float] = (3.6, 2.6)
          ) -> tuple[Figure, list]:
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell[0] * ncols, cell[1] * nrows),
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def metric_bars(table: pd.DataFrame, max_metrics: int = 12, unit_axis: bool = False
                ) -> str | None:
    """Small multiples: per metric, one bar per group with its CI as error bars.

    ``table`` has columns ``metric``, ``group``, ``estimate``, ``ci_low``, ``ci_high``
    (NaN CI bounds draw no error bar). Pass metrics of one kind: ``unit_axis`` (rates)
    fixes every axis to 0..1; otherwise each axis fits its own values.
    """
    if table.empty:
        return None
    if table["group"].nunique() == 1:
        return _single_group_bars(table, unit_axis)
    metrics = list(dict.fromkeys(table["metric"]))[:max_metrics]
    palette = {g: _COLORS[i % len(_COLORS)] for i, g in enumerate(dict.fromkeys(table["group"]))}
    with plt.rc_context(_STYLE):
        fig, axes = _grid(len(metrics))
        for ax, metric in zip(axes, metrics):
            part = table[table["metric"] == metric]
            est = part["estimate"].astype(float).to_numpy()
            lo = part["ci_low"].astype(float).to_numpy()
            hi = part["ci_high"].astype(float).to_numpy()
            err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)]).clip(min=0)
            x = np.arange(len(part))
            colors = [palette[g] for g in part["group"]]
            ax.bar(x, np.nan_to_num(est), color=colors, alpha=0.85)
            ax.errorbar(x, est, yerr=err, fmt="o", color="#222", markersize=3, capsize=4,
                        elinewidth=1)  # the dot shows an estimate of 0 too
            ax.set_xticks(x, [_short(g, 14) for g in part["group"]], rotation=20, ha="right")
            ax.set_title(_short(metric, 40))
            if unit_axis:
                ax.set_ylim(0, 1.05)
            ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
    return figure_uri(fig)


def _single_group_bars(table: pd.DataFrame, unit_axis: bool) -> str:
    """One group: the metrics (of one kind) as horizontal bars on one axis with CIs."""
    est = table["estimate"].astype(float).to_numpy()
    lo = table["ci_low"].astype(float).to_numpy()
    hi = table["ci_high"].astype(float).to_numpy()
    err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)]).clip(min=0)
    y = np.arange(len(table))
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.3 * len(table)))
        ax.barh(y, np.nan_to_num(est), color=_COLORS[0], alpha=0.85)
        ax.errorbar(est, y, xerr=err, fmt="o", color="#222", markersize=3, capsize=3,
                    elinewidth=1)
        ax.set_yticks(y, [_short(m, 40) for m in table["metric"]])
        ax.invert_yaxis()
        top = 1.0 if unit_axis else np.nanmax(np.concatenate([est, hi, [1e-9]]))
        ax.set_xlim(min(0.0, float(np.nanmin(np.concatenate([est, lo, [0.0]])))), top * 1.05)
        ax.set_xlabel(f"estimate with 95% CI: {_short(table['group'].iloc[0])}")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
    return figure_uri(fig)


def drift_curves(curves: Mapping[str, Sequence[tuple[str, pd.DataFrame]]],
                 y_label: str = "similarity to task") -> str | None:
    """One panel per label (e.g. "most drifting"), one line per conversation.

    ``curves`` maps a panel title to ``(conversation label, frame)`` pairs, each frame
    with columns ``turn_index`` and ``value``.
    """
    panels = [(title, lines) for title, lines in curves.items() if lines]
    if not panels:
        return None
    with plt.rc_context(_STYLE):
        fig, axes = _grid(len(panels), ncols=2, cell=(5.6, 3.4))
        lows, highs = [], []
        for ax, (title, lines) in zip(axes, panels):
            for i, (label, frame) in enumerate(lines):
                ax.plot(frame["turn_index"], frame["value"], marker="o", markersize=3,
                        linewidth=1.4, color=_COLORS[i % len(_COLORS)], label=_short(label, 40))
                lows.append(float(frame["value"].min()))
                highs.append(float(frame["value"].max()))
            ax.set_title(title)
            ax.set_xlabel("turn index")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(y_label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best", frameon=False)
        if lows:  # a shared y range, so the two panels compare at a glance
            pad = 0.05 * max(1e-6, max(highs) - min(lows))
            for ax in axes:
                ax.set_ylim(min(lows) - pad, max(highs) + pad)
        fig.tight_layout()
    return figure_uri(fig)


def termination_bars(counts: pd.DataFrame) -> str | None:
    """Horizontal bars of termination-reason shares; one bar colour per column (group).

    ``counts`` has one row per reason and one column of counts per group.
    """
    if counts.empty or counts.to_numpy().sum() == 0:
        return None
    shares = counts / counts.sum(axis=0).replace(0, np.nan)
    n_reasons, n_groups = shares.shape
    height = 0.8 / n_groups
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.35 * n_reasons * max(1, n_groups) ** 0.5))
        y = np.arange(n_reasons)
        for j, group in enumerate(shares.columns):
            ax.barh(y + (j - (n_groups - 1) / 2) * height, shares[group].fillna(0).to_numpy(),
                    height=height, color=_COLORS[j % len(_COLORS)], label=_short(group))
        ax.set_yticks(y, [_short(r, 40) for r in shares.index])
        ax.invert_yaxis()
        ax.set_xlabel("share of conversations")
        ax.set_xlim(0, 1)
        ax.grid(axis="x", alpha=0.3)
        if n_groups > 1:
            ax.legend(fontsize=7, frameon=False, loc="lower right")
        fig.tight_layout()
    return figure_uri(fig)
