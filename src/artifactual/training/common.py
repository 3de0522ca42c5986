"""Shared pieces of the training layer: seeding, config models and data splits (the
metrics are in :mod:`.metrics`).

Every experiment is "train on a set built from a human pool and an LLM pool, evaluate on
held-out human data"; the training sets are drawn by :mod:`.mixing` and trained by
:func:`artifactual.training.run.fit`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from artifactual.errors import ConfigError, InputError

__all__ = ["Progress", "seed_everything", "quiet_hf", "TrainSettings", "LabelData",
           "ClassifierSection", "PreferenceData", "RewardSection", "InstructSection",
           "MixingSection", "TrainConfig", "load_train_config", "resolve_path", "split_indices",
           "require_size"]

Progress = Callable[[str, int, int], None] | None


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed python, numpy and torch; deterministic torch kernels; optionally fix the threads."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)


@contextmanager
def quiet_hf() -> Iterator[None]:
    """Silence transformers' loading bars and warnings for the block (library code never prints)."""
    import transformers.utils.logging as hf_logging

    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


# ----------------------------------------------------------------------------- configs
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainSettings(_Strict):
    """Optimisation: AdamW with linear warm-up and decay, gradient clipping at ``clip``."""

    epochs: int = Field(2, ge=1)
    batch_size: int = Field(16, ge=1)
    lr: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup: float = Field(0.1, ge=0, lt=1)
    clip: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)


class LabelData(_Strict):
    """A wide label CSV (human and LLM label lists per item) or Label records."""

    path: str
    format: Literal["auto", "wide", "records"] = "auto"
    human_col: str = "human_annots"
    model_col: str = "model_annots"
    text_col: str = "text"
    id_col: str | None = None


class _EncoderSection(_Strict):
    """Shared by the encoder experiments (classifier, reward)."""

    encoder: str = "default"
    n_train: int = Field(..., ge=2)
    n_test: int = Field(..., ge=2)
    train_layers: int | None = Field(None, ge=0)  # None: all; k: only the top k layers
    dropout: float = Field(0.1, ge=0, lt=1)
    train: TrainSettings = Field(default_factory=TrainSettings)


class ClassifierSection(_EncoderSection):
    data: LabelData
    aggregate: Literal["majority", "sample"] = "majority"
    max_length: int = Field(64, ge=8)


class PreferenceData(_Strict):
    """CoBBLEr rankings, MT-Bench judgments, two aligned pair CSVs, or Preference records."""

    format: Literal["cobbler", "mtbench", "pair_csv", "records"]
    path: str | None = None
    human_path: str | None = None
    llm_path: str | None = None
    human_judge: str = "human"
    llm_judge: str = "gpt4"
    group_col: str | None = None

    @model_validator(mode="after")
    def _paths(self) -> "PreferenceData":
        if self.format == "pair_csv" and not (self.human_path and self.llm_path):
            raise ValueError("format pair_csv needs human_path and llm_path")
        if self.format != "pair_csv" and not self.path:
            raise ValueError(f"format {self.format} needs path")
        return self


class RewardSection(_EncoderSection):
    data: PreferenceData
    max_length: int = Field(128, ge=16)


class InstructSection(_Strict):
    human_data: str
    llm_data: str
    model: str = "default"
    method: Literal["lora", "full"] = "lora"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_targets: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    n_train: int = Field(..., ge=2)
    n_test: int = Field(..., ge=1)
    max_length: int = Field(192, ge=16)
    max_new_tokens: int = Field(64, ge=1)
    eval_batch_size: int = Field(8, ge=1)
    evaluate_base: bool = True
    train: TrainSettings = Field(default_factory=lambda: TrainSettings(lr=2e-4, batch_size=8))


class AmplifySection(_Strict):
    """``experiment: amplify``: tune the model on generated role-play, unfiltered and
    filtered by the audit's flags (the same number of examples), let each tuned model
    generate role-play on new tasks, audit it, and compare with the untuned model."""

    train_data: str  # a role-play run directory (or its records JSONL)
    human_data: str  # held-out human task dialogues, OpenAI-messages JSONL
    model: str = "default"
    detectors: list[str] = Field(default_factory=lambda: [
        "role_flip", "role_flip_unmarked", "courtesy_loop", "content_repetition"])
    markers: dict[str, list[str]] | None = None  # as audit --markers; default: inferred
    drop: list[str] = Field(default_factory=lambda: ["role_flip", "role_flip_unmarked"])
    trim: list[str] = Field(default_factory=lambda: ["courtesy_loop"])
    n_train: int | None = Field(None, ge=2)  # examples per model (default: the filtered set's size)
    n_human: int = Field(48, ge=1)  # human assistant turns (with their history) for the loss
    word_limit: int | None = None  # prompt replay; default: the run's manifest, else 50
    history_window: int | None = None
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_targets: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    max_length: int = Field(512, ge=32)
    train: TrainSettings = Field(default_factory=lambda: TrainSettings(lr=5e-4, batch_size=8,
                                                                       epochs=2))
    metrics: list[str] = Field(default_factory=lambda: [
        "role_flip_unmarked", "courtesy_loop", "courtesy_only", "content_repetition"])
    generate: dict[str, Any]  # the evaluation's generation config (tasks not trained on)


class MixingSection(_Strict):
    base: Literal["classifier", "reward", "instruct"]
    llm_fractions: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0],
                                       min_length=2)
    n_train: int | None = Field(None, ge=2)  # default: the base section's n_train

    @model_validator(mode="after")
    def _fractions(self) -> "MixingSection":
        if any(not 0.0 <= f <= 1.0 for f in self.llm_fractions):
            raise ValueError("llm_fractions must lie in [0, 1]")
        return self


class TrainConfig(_Strict):
    """A training experiment: ``experiment`` picks the section that is run."""

    name: str
    experiment: Literal["classifier", "reward", "instruct", "mixing", "amplify"]
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    split_seed: int = 0
    threads: int | None = Field(2, ge=1)
    classifier: ClassifierSection | None = None
    reward: RewardSection | None = None
    instruct: InstructSection | None = None
    mixing: MixingSection | None = None
    amplify: AmplifySection | None = None
    base_dir: str = "."  # where relative data paths are looked up besides the cwd

    @model_validator(mode="after")
    def _sections(self) -> "TrainConfig":
        base = self.mixing.base if self.experiment == "mixing" and self.mixing else self.experiment
        if self.experiment == "mixing" and self.mixing is None:
            raise ValueError("experiment 'mixing' needs a 'mixing:' section")
        if getattr(self, base) is None:
            raise ValueError(f"experiment {self.experiment!r} needs a '{base}:' section")
        return self

    @property
    def base(self) -> str:
        """The experiment whose data and model are trained (the mixing base for mixing)."""
        return self.mixing.base if self.experiment == "mixing" and self.mixing else self.experiment


def load_train_config(path: str | Path | dict[str, Any]) -> TrainConfig:
    """Load and validate a training YAML (or dict); ConfigError names the field and fix."""
    source = "<config>"
    if isinstance(path, dict):
        data = dict(path)
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("config file not found", where=str(p),
                              fix="pass the path of a YAML config, e.g. configs/train_classifier.yaml")
        source = str(p)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"YAML syntax error: {exc}", where=source, fix="fix the YAML") from None
        if not isinstance(data, dict):
            raise ConfigError("a config must be a YAML mapping", where=source,
                              fix="start with 'name: ...' and 'experiment: ...'")
        data.setdefault("base_dir", str(p.resolve().parent))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in e['loc']) or '(top level)'}: {e['msg']}"
                    for e in exc.errors()]
        raise ConfigError("invalid training config:\n  " + "\n  ".join(problems), where=source,
                          fix="correct the fields above (see configs/train_classifier.yaml)"
                          ) from None


def resolve_path(path: str, base_dir: str | Path, what: str, hint: str = "") -> Path:
    """``path`` as given (relative to the cwd), else relative to ``base_dir``; InputError if absent."""
    p = Path(path).expanduser()
    for candidate in (p, Path(base_dir) / p):
        if candidate.exists():
            return candidate.resolve()
    raise InputError(f"the {what} does not exist", where=str(p),
                     fix=hint or "check the path (relative paths are tried from the current "
                                 f"directory and from {base_dir})")


# ----------------------------------------------------------------------------- data
def require_size(have: int, need: int, what: str, where: str, fix: str) -> None:
    """InputError 'dataset too small' when ``have < need``."""
    if have < need:
        raise InputError(f"dataset too small: {have} {what}, the config needs {need}",
                         where=where, fix=fix)


def split_indices(groups: Sequence[Any], n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split items into (train, test) index arrays by group (no group on both sides).

    Whole groups are moved to the test side in a seeded order until it holds at least
    ``n_test`` items; the test side is then cut to exactly ``n_test``.
    """
    keys = pd.Series(list(groups)).astype(str).to_numpy()
    uniq = np.unique(keys)
    order = np.random.default_rng(seed).permutation(len(uniq))
    test_groups: set[str] = set()
    count = 0
    counts = pd.Series(keys).value_counts()
    for i in order:
        if count >= n_test:
            break
        test_groups.add(uniq[i])
        count += int(counts[uniq[i]])
    is_test = np.isin(keys, list(test_groups))
    test = np.flatnonzero(is_test)
    test = np.sort(np.random.default_rng(seed + 1).permutation(test)[:n_test])
    return np.flatnonzero(~is_test), test
