"""Label classifier and bias amplification.

An encoder (default: the embedded MiniLM) with mean pooling and a linear head is fine-tuned
to predict one label per item. The same items are trained once with their human label and
once with their LLM label; both models are scored on a held-out human test split (accuracy,
macro-F1) and for amplification (:func:`artifactual.training.metrics.amplification`).

One label per item and side: ``aggregate: majority`` takes the unique majority of the
item's labels (items without one on either side are left out and counted), ``sample``
draws one annotator's label per item (seeded by ``split_seed``). Test labels are always
the human unique majority.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from artifactual.errors import ConfigError, InputError
from artifactual.training.common import (ClassifierSection, Progress, TrainConfig, quiet_hf,
                                         require_size, resolve_path, seed_everything, split_indices)
from artifactual.training.metrics import accuracy, amplification, macro_f1
from artifactual.training.mixing import Mix
from artifactual.training.run import RunResult, Timer, fit

__all__ = ["PooledEncoder", "Tokenized", "LabelTask", "load_task", "train_mix", "METRICS"]

#: Headline metrics (columns of the per-seed table) in reporting order.
METRICS = ["accuracy", "macro_f1", "minority_recall", "majority_share_delta_vs_train",
           "majority_share_delta_vs_test", "js_vs_train", "js_vs_test"]


class PooledEncoder(torch.nn.Module):
    """A Hugging Face encoder, mean pooling over tokens, dropout and a linear head."""

    def __init__(self, name_or_path: str, n_out: int, dropout: float = 0.1,
                 train_layers: int | None = None) -> None:
        from transformers import AutoModel

        super().__init__()
        with quiet_hf():
            self.encoder = AutoModel.from_pretrained(name_or_path)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_out)
        if train_layers is not None:
            self.freeze_below(train_layers)

    def freeze_below(self, train_layers: int) -> None:
        """Train only the top ``train_layers`` transformer layers (and the head)."""
        layers = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if layers is None:
            layers = getattr(self.encoder, "layers", None)
        if layers is None:
            raise ConfigError(f"train_layers is not supported for {type(self.encoder).__name__}",
                              fix="leave train_layers unset (fine-tune every layer)")
        keep = {id(p) for layer in list(layers)[len(layers) - train_layers:]
                for p in layer.parameters()} if train_layers else set()
        for p in self.encoder.parameters():
            p.requires_grad_(id(p) in keep)

    def forward(self, input_ids: Any, attention_mask: Any, **kw: Any) -> Any:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              **kw).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    def save(self, path: Path, tokenizer: Any, meta: dict[str, Any]) -> None:
        """Encoder + tokenizer (Hugging Face layout), ``head.pt`` and ``head.json``."""
        path.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(path)
        tokenizer.save_pretrained(path)
        torch.save(self.head.state_dict(), path / "head.pt")
        (path / "head.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


@dataclass
class Tokenized:
    """Texts (or text pairs) tokenized on first use, truncated, padded per batch."""

    tokenizer: Any
    texts: list[str]
    max_length: int
    pairs: list[str] | None = None
    _cache: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    def ids(self, rows: np.ndarray | list[int]) -> list[list[int]]:
        """Token ids of these rows (tokenizing the ones not seen yet in one call)."""
        new = sorted({int(i) for i in rows} - self._cache.keys())
        if new:
            first = [self.texts[i] for i in new]
            if self.pairs is None:
                enc = self.tokenizer(first, truncation=True, max_length=self.max_length)
            else:
                enc = self.tokenizer(first, [self.pairs[i] for i in new],
                                     truncation="longest_first", max_length=self.max_length)
            self._cache.update(zip(new, (list(x) for x in enc["input_ids"])))
        return [self._cache[int(i)] for i in rows]

    def batch(self, rows: np.ndarray | list[int]) -> dict[str, Any]:
        """Padded ``input_ids`` / ``attention_mask`` tensors for these rows."""
        feats = [{"input_ids": ids} for ids in self.ids(rows)]
        return dict(self.tokenizer.pad(feats, return_tensors="pt"))

    def scores(self, model: Any, rows: np.ndarray | list[int] | None = None,
               batch_size: int = 64) -> np.ndarray:
        """Model outputs for the rows (all by default), without gradients, as numpy."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        order = np.argsort([len(x) for x in self.ids(rows)], kind="stable")  # less padding
        out: list[Any] = [None] * len(rows)
        model.eval()
        with torch.no_grad():
            for s in range(0, len(rows), batch_size):
                part = order[s:s + batch_size]
                res = model(**self.batch(rows[part])).float().numpy()
                for j, r in zip(part, res):
                    out[j] = r
        return np.stack(out) if out else np.zeros((0,))


@dataclass
class LabelTask:
    """Training pool (each item with a human and an LLM label index) and human test split."""

    classes: list[Any]
    pool_ids: list[str]
    pool_texts: list[str]
    human: np.ndarray
    llm: np.ndarray
    test_ids: list[str]
    test_texts: list[str]
    test_y: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    encoder: str = ""
    tokenizer: Any = None
    pool_tok: Tokenized | None = None
    test_tok: Tokenized | None = None

    @property
    def n_human_pool(self) -> int:
        return len(self.pool_ids)

    n_llm_pool = None  # paired: both labels come from the same items


def _read_wide(section: ClassifierSection, base_dir: str) -> tuple[pd.DataFrame, str]:
    from artifactual.analysis.corpora.labels import labels_to_wide
    from artifactual.readers import base as readers
    from artifactual.readers.labels import read_wide_labels
    from artifactual.records import Label

    d = section.data
    path = resolve_path(d.path, base_dir, "label data")
    fmt = d.format if d.format != "auto" else ("wide" if path.suffix == ".csv" else "records")
    if fmt == "wide":
        table, errors = read_wide_labels(path, d.human_col, d.model_col, d.text_col, d.id_col)
        return table, str(path)
    log = readers.ErrorLog()
    records = [r for r in readers.read(path, errors=log) if isinstance(r, Label)]
    if not records:
        raise InputError("missing labels: no Label records found", where=str(path),
                         fix="point data.path at Label records or a wide CSV (format: wide)")
    return labels_to_wide(records), str(path)


def load_task(cfg: TrainConfig) -> LabelTask:
    """Read the labels, pick one label per item and side, split off the human test items."""
    from transformers import AutoTokenizer

    from artifactual.analysis.corpora.labels import _sort_key, unique_majority
    from artifactual.assets import resolve_encoder

    section: ClassifierSection = cfg.classifier  # type: ignore[assignment]
    wide, where = _read_wide(section, cfg.base_dir)
    if wide.empty:
        raise InputError("the label data holds no items", where=where, fix="give a non-empty file")
    has_h = wide["human"].map(len) > 0
    has_m = wide["model"].map(len) > 0
    for side, ok in (("human", has_h), ("LLM", has_m)):
        if not ok.any():
            raise InputError(f"missing labels: no item has {side} labels", where=where,
                             fix="check human_col/model_col, or that LLM annotators are named "
                                 "like 'model#k' (or carry provenance) in Label records")
    hmaj = [unique_majority(x) for x in wide["human"]]
    rng = np.random.default_rng(cfg.split_seed)
    if section.aggregate == "majority":
        h_lab, m_lab = hmaj, [unique_majority(x) for x in wide["model"]]
    else:
        h_lab = [x[rng.integers(len(x))] if len(x) else None for x in wide["human"]]
        m_lab = [x[rng.integers(len(x))] if len(x) else None for x in wide["model"]]
    usable = np.array([a is not None and b is not None and t is not None
                       for a, b, t in zip(h_lab, m_lab, hmaj)])
    require_size(int(usable.sum()), section.n_train + section.n_test, "usable items", where,
                 "lower classifier.n_train / n_test (items need a human unique majority and "
                 "a label on both sides)")
    keep = np.flatnonzero(usable)
    train_rel, test_rel = split_indices(wide["item_id"].to_numpy()[keep], section.n_test,
                                        cfg.split_seed)
    train, test = keep[train_rel], keep[test_rel]
    classes = sorted({h_lab[i] for i in keep} | {m_lab[i] for i in keep} |
                     {hmaj[i] for i in keep}, key=_sort_key)
    code = {c: k for k, c in enumerate(classes)}
    texts = wide["text"].astype(str).tolist()
    ids = wide["item_id"].astype(str).tolist()
    encoder = resolve_encoder(section.encoder)
    tok = AutoTokenizer.from_pretrained(encoder)
    task = LabelTask(
        classes=[c.item() if isinstance(c, np.generic) else c for c in classes],
        pool_ids=[ids[i] for i in train], pool_texts=[texts[i] for i in train],
        human=np.array([code[h_lab[i]] for i in train]), llm=np.array([code[m_lab[i]] for i in train]),
        test_ids=[ids[i] for i in test], test_texts=[texts[i] for i in test],
        test_y=np.array([code[hmaj[i]] for i in test]), encoder=encoder, tokenizer=tok)
    task.pool_tok = Tokenized(tok, task.pool_texts, section.max_length)
    task.test_tok = Tokenized(tok, task.test_texts, section.max_length)
    task.info = {"data": where, "n_items": int(len(wide)), "n_usable": int(usable.sum()),
                 "n_left_out": int((~usable).sum()), "n_pool": len(train), "n_test": len(test),
                 "aggregate": section.aggregate, "classes": task.classes,
                 "pool_human_llm_agreement": float(np.mean(task.human == task.llm))}
    return task


def train_mix(task: LabelTask, mix: Mix, cfg: TrainConfig, seed: int, progress: Progress = None,
              desc: str = "classifier") -> RunResult:
    """Fine-tune on the mix (human labels for ``mix.human``, LLM labels for ``mix.llm``)."""
    section: ClassifierSection = cfg.classifier  # type: ignore[assignment]
    seed_everything(seed, cfg.threads)
    rows, y = mix.labelled(task.human, task.llm, desc, "raise classifier.n_train")
    model = PooledEncoder(task.encoder, len(task.classes), section.dropout, section.train_layers)
    target = torch.as_tensor(y)
    seen = [0]

    def step(batch: np.ndarray) -> Any:
        seen[0] += len(batch)
        logits = model(**task.pool_tok.batch(rows[batch]))
        return F.cross_entropy(logits, target[batch])

    with Timer() as t:
        losses = fit(model, len(rows), step, section.train, seed, progress, desc)
    pred = task.test_tok.scores(model).argmax(axis=1)
    labels = list(range(len(task.classes)))
    metrics = {"accuracy": accuracy(task.test_y, pred), "macro_f1": macro_f1(task.test_y, pred)}
    metrics.update(amplification(pred, y, task.test_y, labels))
    names = task.classes
    dist = pd.DataFrame({"label": [str(c) for c in names],
                         "train_share": np.bincount(y, minlength=len(names)) / len(y),
                         "pred_share": np.bincount(pred, minlength=len(names)) / len(pred),
                         "test_share": np.bincount(task.test_y, minlength=len(names))
                         / len(task.test_y)})
    preds = pd.DataFrame({"item_id": task.test_ids, "label": [str(names[i]) for i in task.test_y],
                          "predicted": [str(names[i]) for i in pred]})
    meta = {"classes": task.classes, "encoder": task.encoder, "seed": seed}
    return RunResult(metrics, losses, {"label_distribution": dist, "predictions": preds},
                     n_train=len(rows), samples=seen[0], seconds=t.seconds,
                     save=lambda p: model.save(p, task.tokenizer, meta))
