"""Compare configs: a YAML file naming a kind, its inputs (relative to a data folder) and options;
``run_compare_config`` runs it through :func:`artifactual.analysis.kinds.compare_kind`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from artifactual.analysis.kinds import Input, KindResult, ProgressFn, compare_kind
from artifactual.errors import ConfigError

__all__ = ["CompareConfig", "load_compare_config", "run_compare_config"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    group: str | None = None
    format: str | None = None
    relative_to: Literal["data", "cwd"] = "data"


class CompareConfig(BaseModel):
    """A ``compare`` config (YAML): kind, inputs relative to ``data_root``, options."""

    model_config = ConfigDict(extra="forbid")
    name: str = "compare"
    kind: Literal["text", "labels", "preferences", "instructions"]
    data_root: str | None = None
    inputs: list[_Spec | str] = Field(min_length=1)
    reference: str | None = None
    judges: list[str] | None = None
    context: str | None = None
    seed: int = 0


def load_compare_config(path: str | Path, data: str | Path | None = None
                        ) -> tuple[CompareConfig, list[Input]]:
    """The config and its inputs. Relative inputs resolve against ``data`` (e.g. the CLI's
    ``--data``), else ``data_root`` (tried from the working directory, then from the
    config's folder), else the config's folder; ``relative_to: cwd`` inputs against the
    working directory."""
    p = Path(path)
    try:
        cfg = CompareConfig.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc}", where=str(p),
                          fix="pass the path of a compare config") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"invalid compare config: {exc}", where=str(p),
                          fix="see configs/compare_labels.yaml for a working example") from None
    if data is not None:
        base = Path(data)
    elif cfg.data_root is not None:
        root = Path(cfg.data_root)
        base = root if root.is_absolute() or root.exists() else p.parent / root
    else:
        base = p.parent
    if not base.is_dir():
        raise ConfigError(f"the data folder {base} does not exist", where=str(p),
                          fix="pass --data DIR (e.g. ../shared/data, the paper's released files)")
    specs = [_Spec(path=s) if isinstance(s, str) else s for s in cfg.inputs]
    return cfg, [Input((base if s.relative_to == "data" else Path.cwd()) / s.path, s.group,
                       s.format) for s in specs]


def run_compare_config(path: str | Path, data: str | Path | None = None,
                       progress: ProgressFn | None = None) -> KindResult:
    """Run a compare config (see :func:`load_compare_config`)."""
    cfg, inputs = load_compare_config(path, data)
    return compare_kind(cfg.kind, inputs, reference=cfg.reference, judges=cfg.judges,
                        seed=cfg.seed, progress=progress, context=cfg.context)
