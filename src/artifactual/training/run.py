"""``train(config, out_dir)``: run one training experiment and write its outputs.

Output directory::

    metrics.json        config, data summary, per-condition means with 95% CIs over seeds,
                        the human-minus-LLM gap (or the mixing curve), timing
    runs.parquet        one row per (condition, seed): metrics, losses, timing
    losses.parquet      the loss of every training step of every run
    <table>.parquet     per-run detail tables (predictions, label distributions, generations)
    metrics.png loss.png (+ label_distribution.png, mixing_curve.png)
    models/<condition>-seed<k>/   only with ``save_model``
"""

from __future__ import annotations

import importlib
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.training.common import (Progress, TrainConfig, TrainSettings, load_train_config,
                                         seed_everything)
from artifactual.training.metrics import summarise
from artifactual.training.mixing import (Mix, curve_table, fraction_label, plot_curve,
                                         save_png, sweep)

__all__ = ["train", "TrainResult", "experiment_module", "fit", "RunResult", "Timer"]

_MODULES = {"classifier": "classifier", "reward": "reward", "instruct": "instruct"}


@dataclass
class TrainResult:
    """What :func:`train` wrote: the output folder, metrics.json's content, the per-seed rows."""

    out_dir: Path
    metrics: dict[str, Any]
    runs: pd.DataFrame


def fit(model: Any, n_examples: int, step_loss: Callable[[np.ndarray], Any],
        settings: TrainSettings, seed: int, progress: Progress = None, desc: str = "train"
        ) -> list[float]:
    """Train ``model`` with AdamW; ``step_loss(batch_indices)`` returns the batch loss tensor.

    Batches are a seeded permutation per epoch. Reports ``epochs: desc`` and ``steps: desc``
    to ``progress``. Returns the loss of every step.
    """
    import torch

    rng = np.random.default_rng(seed)
    per_epoch = math.ceil(n_examples / settings.batch_size)
    total = per_epoch * settings.epochs
    if settings.max_steps:
        total = min(total, settings.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr)
    warm = int(settings.warmup * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / (warm + 1) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    losses: list[float] = []
    model.train()
    epochs = math.ceil(total / per_epoch)
    for epoch in range(epochs):
        order = rng.permutation(n_examples)
        for start in range(0, n_examples, settings.batch_size):
            if len(losses) >= total:
                break
            loss = step_loss(order[start:start + settings.batch_size])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, settings.clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if progress:
                progress(f"steps: {desc}", len(losses), total)
        if progress:
            progress(f"epochs: {desc}", epoch + 1, epochs)
    model.eval()
    return losses


@dataclass
class RunResult:
    """One trained-and-evaluated model: metrics, the loss curve and detail tables."""

    metrics: dict[str, float]
    losses: list[float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    n_train: int = 0
    samples: int = 0  # training examples processed (n_train x epochs, or steps x batch)
    seconds: float = 0.0  # training time, without evaluation
    save: Callable[[Path], None] | None = None  # writes the trained model to a directory

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds else float("nan")


class Timer:
    """``with Timer() as t: ...``; ``t.seconds`` afterwards."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def experiment_module(name: str) -> Any:
    """The module that loads and trains experiment ``name`` (classifier, reward, instruct)."""
    return importlib.import_module(f"artifactual.training.{_MODULES[name]}")


def clean_json(obj: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def train(config: str | Path | TrainConfig, out_dir: str | Path, save_model: bool = False,
          progress: Progress = None) -> TrainResult:
    """Run the experiment of a training config into ``out_dir`` (created if needed)."""
    cfg = config if isinstance(config, TrainConfig) else load_train_config(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = experiment_module(cfg.base)
    section = getattr(cfg, cfg.base)
    seed_everything(cfg.split_seed, cfg.threads)
    with Timer() as load_time:
        task = module.load_task(cfg)
    if cfg.experiment == "mixing":
        assert cfg.mixing is not None
        conditions = [(fraction_label(f), f) for f in cfg.mixing.llm_fractions]
        n_train = cfg.mixing.n_train or section.n_train
    else:
        conditions, n_train = [("human", 0.0), ("llm", 1.0)], section.n_train
    losses: list[pd.DataFrame] = []
    tables: dict[str, list[pd.DataFrame]] = {}

    def keep(name: str, fraction: float, seed: int, mix: Mix, res: RunResult) -> None:
        tag = {"condition": name, "llm_fraction": fraction, "seed": seed}
        losses.append(pd.DataFrame({**tag, "step": np.arange(1, len(res.losses) + 1),
                                    "loss": res.losses}))
        for tname, table in res.tables.items():
            tables.setdefault(tname, []).append(table.assign(**tag))
        if save_model and res.save is not None:
            res.save(out / "models" / f"{name.replace('=', '')}-seed{seed}")

    with Timer() as run_time:
        rows = sweep(cfg, task, module, conditions, n_train, progress, keep)
        base = None
        if cfg.experiment == "instruct" and cfg.instruct and cfg.instruct.evaluate_base:
            base = module.evaluate_base(task, cfg, progress)
            tables.setdefault("generations", []).append(
                base.tables["generations"].assign(condition="base", llm_fraction=float("nan"),
                                                  seed=cfg.split_seed))
    runs = pd.DataFrame(rows)
    metrics = list(module.METRICS)
    if cfg.experiment == "mixing":
        summary = summarise(runs, metrics, by="condition", pair=(conditions[0][0],
                                                                 conditions[-1][0]))
        curve = curve_table(runs, metrics)
        curve.to_parquet(out / "mixing_curve.parquet", index=False)
        plot_curve(curve, out / "mixing_curve.png", f"{cfg.name}: {cfg.base}, n={n_train}")
        summary["curve"] = curve.to_dict("records")
    else:
        summary = summarise(runs, metrics)
    if base is not None:
        summary["base_model"] = base.metrics
    runs.to_parquet(out / "runs.parquet", index=False)
    pd.concat(losses, ignore_index=True).to_parquet(out / "losses.parquet", index=False)
    for tname, parts in tables.items():
        pd.concat(parts, ignore_index=True).to_parquet(out / f"{tname}.parquet", index=False)
    _plots(cfg, out, runs, metrics, pd.concat(losses, ignore_index=True), tables)
    result = {"name": cfg.name, "experiment": cfg.experiment, "base": cfg.base,
              "seeds": cfg.seeds, "split_seed": cfg.split_seed, "n_train": n_train,
              "data": task.info, "summary": summary,
              "timing": {"load_seconds": load_time.seconds, "run_seconds": run_time.seconds,
                         "train_seconds": float(runs["train_seconds"].sum()),
                         "samples_per_s": float(runs["samples_per_s"].mean())},
              "environment": environment(), "config": cfg.model_dump(mode="json")}
    return write_metrics(out, result, runs)


def environment() -> dict[str, Any]:
    """Library versions, threads and device of a training run (metrics.json)."""
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "machine": platform.machine(), "python": platform.python_version()}


def write_metrics(out: Path, result: dict[str, Any], runs: pd.DataFrame) -> TrainResult:
    """``metrics.json`` (JSON-safe) into ``out``; the TrainResult."""
    result = clean_json(result)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return TrainResult(out, result, runs)


def _plots(cfg: TrainConfig, out: Path, runs: pd.DataFrame, metrics: list[str],
           losses: pd.DataFrame, tables: dict[str, list[pd.DataFrame]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = list(dict.fromkeys(runs["condition"]))
    shown = [m for m in metrics if m in runs]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.8 * len(shown), 3.0), squeeze=False)
    for ax, m in zip(axes[0], shown):
        means, errs = [], []
        for c in conds:
            s = summarise(runs[runs["condition"] == c], [m], pair=None)["groups"][c][m]
            means.append(s["mean"])
            errs.append(0.0 if math.isnan(s["ci_high"]) else s["ci_high"] - s["mean"])
        ax.bar(range(len(conds)), means, yerr=errs, capsize=3, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(conds)), conds, rotation=30, fontsize=8)
        ax.set_title(m, fontsize=9)
    fig.suptitle(f"{cfg.name}: mean over seeds, 95% CI", fontsize=10)
    save_png(fig, out / "metrics.png")

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for (cond, seed), part in losses.groupby(["condition", "seed"], sort=False):
        ax.plot(part["step"], part["loss"], alpha=0.7, linewidth=1,
                color=f"C{conds.index(cond) % 10}", label=cond if seed == cfg.seeds[0] else None)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    save_png(fig, out / "loss.png")

    if "label_distribution" in tables:
        dist = pd.concat(tables["label_distribution"], ignore_index=True)
        mean = dist.groupby(["condition", "label"], sort=False)[
            ["train_share", "pred_share", "test_share"]].mean().reset_index()
        labels = list(dict.fromkeys(mean["label"]))
        series = {"human test": mean[mean["condition"] == conds[0]]["test_share"].to_numpy()}
        for c in conds:
            part = mean[mean["condition"] == c]
            series[f"train ({c})"] = part["train_share"].to_numpy()
            series[f"predicted ({c})"] = part["pred_share"].to_numpy()
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(labels) * len(series) / 3, 3.2))
        width = 0.8 / len(series)
        for k, (name, vals) in enumerate(series.items()):
            ax.bar(np.arange(len(labels)) + k * width, vals, width, label=name)
        ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
        ax.set_xlabel("label")
        ax.set_ylabel("share")
        ax.legend(fontsize=7)
        save_png(fig, out / "label_distribution.png")

