"""Experiment configs: YAML files validated by pydantic (``extra="forbid"``).

``load_config(path)`` returns a :class:`RunConfig` or raises :class:`ConfigError`
naming the file, the field (and YAML line where known) and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from artifactual.errors import ConfigError
from artifactual.generation.backends.openai import OpenAIOptions
from artifactual.generation.backends.vllm import EngineOptions
from artifactual.records import Sampling

__all__ = ["RunConfig", "RayOptions", "CostPer1k", "load_config", "parse_config", "section_of"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditOptions(_Strict):
    detectors: list[str] = Field(default_factory=lambda: ["role_flip"])
    group_by: str | None = "strategy"


class RayOptions(_Strict):
    """How ``generate --ray`` sizes its Ray actors (not part of the run's fingerprint, so a
    run may resume with other sizes). Each actor holds one engine and runs the scheduler on
    one shard of dialogues at a time."""

    actors: int = Field(1, ge=1)  # engines running at once
    # Units per shard: one shard is one scheduler run, so it must hold enough dialogues to
    # fill the engine's batch (vLLM's default max_num_seqs is 256). ``shards`` overrides.
    shard_size: int = Field(256, ge=1)
    shards: int | None = Field(None, ge=1)  # default: max(actors, ceil(units / shard_size))
    cpus_per_actor: float = Field(1.0, gt=0)
    # None: tensor_parallel_size * pipeline_parallel_size when the engine is a GPU build, else 0
    gpus_per_actor: float | None = Field(None, ge=0)
    max_restarts: int = Field(3, ge=-1)  # a dead actor is restarted (and its shard retried)


class CostPer1k(_Strict):
    """Price per 1,000 tokens, for the manifest's cost totals."""

    prompt: float = Field(0.0, ge=0)
    completion: float = Field(0.0, ge=0)
    currency: str = "USD"


class RunConfig(_Strict):
    name: str
    generator: str = "roleplay"
    model: str = "default"
    backend: Literal["vllm", "openai", "langchain"] = "vllm"
    engine: EngineOptions = Field(default_factory=EngineOptions)  # backend: vllm
    openai: OpenAIOptions = Field(default_factory=OpenAIOptions)  # backend: openai | langchain
    # one price for every model, or {model name: price}
    cost_per_1k: CostPer1k | dict[str, CostPer1k] | None = None
    sampling: Sampling = Field(default_factory=Sampling)
    strategies: list[str] = Field(default_factory=lambda: ["camel"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    prompts_dir: str | None = None
    # One section per generator, validated by that generator's ``Section`` model.
    roleplay: dict[str, Any] | None = None
    spp: dict[str, Any] | None = None
    self_instruct: dict[str, Any] | None = None
    labels: dict[str, Any] | None = None
    preferences: dict[str, Any] | None = None
    society: dict[str, Any] | None = None
    freeform: dict[str, Any] | None = None
    audit: AuditOptions = Field(default_factory=AuditOptions)
    ray: RayOptions = Field(default_factory=RayOptions)  # used only by ``generate --ray``
    # continuous: keep every dialogue's next request in flight on the engine (vLLM backend;
    # generators with shared state run in steps anyway); steps: one batched call per turn
    batching: Literal["continuous", "steps"] = "continuous"
    _section_obj: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _section(self) -> "RunConfig":
        from artifactual.generation.registry import available_generators, get_generator

        if self.generator not in available_generators():
            raise ValueError(f"unknown generator {self.generator!r}; use one of {available_generators()}")
        data = getattr(self, self.generator, None)
        if data is None:
            raise ValueError(f"generator {self.generator!r} needs a '{self.generator}:' section")
        try:
            self._section_obj = get_generator(self.generator).Section.model_validate(data)
        except ValidationError as exc:
            parts = [f"{self.generator}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            raise ValueError("; ".join(parts)) from None
        return self

    @property
    def section(self) -> Any:
        """The validated section of the chosen generator."""
        return self._section_obj

    def fingerprint_dict(self) -> dict[str, Any]:
        """The resolved config that decides a run's records (what the run store fingerprints):
        everything but how the work is scheduled (``ray`` sizing, ``batching``), so a run
        resumes with or without Ray, in either batching mode."""
        return self.model_dump(mode="json", exclude={"ray", "batching"})


def section_of(cfg: "RunConfig") -> Any:
    """The validated section of ``cfg``'s generator."""
    return cfg.section


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort YAML line of a field path, via the composed node tree."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(key)]
            if not match:
                break
            line = match[0][0].start_mark.line + 1
            node = match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_config(data: dict[str, Any], *, source: str = "<config>", text: str | None = None) -> RunConfig:
    """Validate a config dict; errors name the field, line and fix."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(text, loc) if text else None
            where = f"line {line}, " if line else ""
            problems.append(f"{where}{field}: {err['msg']}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems), where=source,
                          fix="correct the fields above (see configs/quickstart.yaml for a working example)"
                          ) from None


def load_config(path: str | Path) -> RunConfig:
    """Load and validate a YAML config file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config file not found", where=str(p), fix="pass the path of a YAML config")
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise ConfigError(f"YAML syntax error: {exc}", where=where, fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("a config must be a YAML mapping", where=str(p), fix="start with 'name: ...'")
    return parse_config(data, source=str(p), text=text)
