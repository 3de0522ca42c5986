"""The training side of the amplification experiment (orchestrated by
:mod:`artifactual.amplification`, which joins generation, the audit and this module):
replaying a run's prompt settings, tuning a LoRA adapter on a seeded draw of chat
examples, the loss per target token on held-out dialogues, and the per-seed contrasts
between the models. Like the rest of ``training``, it reads records and tables only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.training.common import AmplifySection, Progress, TrainConfig, seed_everything
from artifactual.training.metrics import mean_ci
from artifactual.training.models import causal_lm, pad_batch
from artifactual.training.run import fit

__all__ = ["ARMS", "CONTRASTS", "replay_settings", "nll", "tune", "contrasts"]

ARMS = ("base", "unfiltered", "filtered")
CONTRASTS = (("unfiltered", "base"), ("filtered", "base"), ("filtered", "unfiltered"))


def replay_settings(data: Path, s: AmplifySection) -> tuple[int, int | None]:
    """word_limit and history_window for replaying prompts: the config's, else the run's."""
    rp: dict[str, Any] = {}
    manifest = data / "manifest.json" if data.is_dir() else None
    if manifest is not None and manifest.is_file():
        rp = (json.loads(manifest.read_text(encoding="utf-8")).get("config") or {}).get(
            "roleplay") or {}
    word_limit = s.word_limit or rp.get("word_limit") or 50
    window = s.history_window if s.history_window is not None else rp.get("history_window")
    return int(word_limit), window


def nll(model: Any, rows: list[tuple[list[int], list[int]]], pad: int, batch: int = 8) -> float:
    """Mean negative log-likelihood per target token."""
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            ids, labels, mask = pad_batch(rows[i:i + batch], pad)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     target.reshape(-1), ignore_index=-100,
                                                     reduction="sum")
            total += float(loss)
            count += int((target != -100).sum())
    return total / max(1, count)


def tune(model_path: str, s: AmplifySection, cfg: TrainConfig, pool: list[tuple[list[int], list[int]]],
          n: int, seed: int, pad: int, progress: Progress, desc: str) -> tuple[Any, list[float]]:
    """A LoRA adapter tuned on a seeded draw of ``n`` rows of ``pool``; its loss curve."""
    seed_everything(seed, cfg.threads)
    pick = sorted(np.random.default_rng(seed).choice(len(pool), size=n, replace=False).tolist())
    rows = [pool[i] for i in pick]
    model = causal_lm(model_path, "lora", r=s.lora_r, alpha=s.lora_alpha, dropout=s.lora_dropout,
                      targets=s.lora_targets)

    def step(batch: np.ndarray) -> Any:
        ids, labels, mask = pad_batch([rows[i] for i in batch], pad)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss

    return model, fit(model, n, step, s.train, seed, progress, desc)


def contrasts(runs: pd.DataFrame, metrics: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by = runs.set_index(["condition", "seed"])
    for a, b in CONTRASTS:
        seeds = sorted(set(runs.loc[runs.condition == a, "seed"]) & set(runs.loc[runs.condition == b, "seed"]))
        out[f"{a} - {b}"] = {m: mean_ci([by.loc[(a, x), m] - by.loc[(b, x), m] for x in seeds])
                             for m in metrics}
    return out
