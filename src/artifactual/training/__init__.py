"""Second-order effects: train models on human vs LLM data and measure what is amplified.

* :mod:`~artifactual.training.classifier`: label classifier, bias amplification;
* :mod:`~artifactual.training.reward`: Bradley-Terry reward model on pairwise preferences;
* :mod:`~artifactual.training.instruct`: instruction tuning (LoRA or full), ROUGE-L + cosine;
* :mod:`~artifactual.training.mixing`: human:LLM mixing curves at a fixed training size;
* :mod:`~artifactual.training.amplify`: the training side of the amplification experiment
  (:mod:`artifactual.amplification` runs it: are artifacts amplified by tuning on generated
  role-play, and does filtering the audit's flags first lower them?)
* :func:`train`: run a training config (``configs/train_*.yaml``) into an output folder.

Torch and transformers are imported only when an experiment runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["train", "load_train_config", "TrainConfig", "TrainResult"]

if TYPE_CHECKING:  # pragma: no cover
    from artifactual.training.common import TrainConfig
    from artifactual.training.run import TrainResult


def train(config: Any, out_dir: Any, save_model: bool = False, progress: Any = None) -> "TrainResult":
    """Run a training config (path, dict or TrainConfig) into ``out_dir``; see :mod:`.run`."""
    from artifactual.training.common import TrainConfig, load_train_config
    from artifactual.training.run import train as _train

    cfg = config if isinstance(config, TrainConfig) else load_train_config(config)
    if cfg.experiment == "amplify":  # generates and audits too: above this layer
        from artifactual.errors import ConfigError

        raise ConfigError("experiment 'amplify' generates and audits as well as trains",
                          fix="run it with `artifactual train CONFIG` or "
                              "artifactual.amplification.run(config, out)")
    return _train(cfg, out_dir, save_model=save_model, progress=progress)


def load_train_config(path: Any) -> "TrainConfig":
    """Load and validate a training YAML (or dict)."""
    from artifactual.training.common import load_train_config as _load

    return _load(path)


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":
        from artifactual.training.common import TrainConfig

        return TrainConfig
    if name == "TrainResult":
        from artifactual.training.run import TrainResult

        return TrainResult
    raise AttributeError(name)
