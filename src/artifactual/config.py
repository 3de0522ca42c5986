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
from artifactual.generators import available_generators, get_generator
from artifactual.options import EngineOptions, OpenAIOptions
from artifactual.records import Sampling

__all__ = ["RunConfig", "RayOptions", "CostPer1k", "load_config", "parse_config", "section_of",
           "JudgeConfig", "JUDGE_ARTIFACTS", "load_judge_config"]


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


def _invalid(exc: ValidationError, source: str, text: str | None, example: str) -> ConfigError:
    """A ConfigError listing each field problem with its YAML line where known."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(text, loc) if text else None
        where = f"line {line}, " if line else ""
        problems.append(f"{where}{field}: {err['msg']}")
    return ConfigError("invalid config:\n  " + "\n  ".join(problems), where=source,
                       fix=f"correct the fields above (see {example} for a working example)")


def parse_config(data: dict[str, Any], *, source: str = "<config>", text: str | None = None) -> RunConfig:
    """Validate a config dict; errors name the field, line and fix."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, source, text, "configs/quickstart.yaml") from None


def _read_mapping(path: str | Path, start: str) -> tuple[dict[str, Any], str]:
    """A YAML file's top-level mapping and its text; ``start`` hints at a first line."""
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
        raise ConfigError("a config must be a YAML mapping", where=str(p), fix=f"start with '{start}'")
    return data, text


def load_config(path: str | Path) -> RunConfig:
    """Load and validate a YAML config file."""
    data, text = _read_mapping(path, "name: ...")
    return parse_config(data, source=str(path), text=text)


# What the optional LLM judge can be asked about (one prompt template each:
# agents/prompts/judge-<artifact>.j2).
JUDGE_ARTIFACTS = ("digression", "role_adherence", "role_flip", "impersonation", "courtesy_loop")


def _judge_sampling() -> Sampling:
    return Sampling(temperature=0.0, top_p=1.0, max_tokens=200, seed=0)


class JudgeConfig(_Strict):
    """``audit --judge CONFIG``: which model judges which artifacts, and how.

    ``model: default`` is the embedded model (a local path for ``vllm``, its served name
    for an OpenAI-compatible server). ``seed`` seeds the stratified sample of
    ``--judge-sample``; ``sampling.seed`` seeds the judge's decoding.
    """

    model: str = "default"
    backend: Literal["vllm", "openai", "langchain"] = "vllm"
    engine: EngineOptions = Field(default_factory=EngineOptions)  # backend: vllm
    openai: OpenAIOptions = Field(default_factory=OpenAIOptions)  # backend: openai | langchain
    sampling: Sampling = Field(default_factory=_judge_sampling)
    seed: int = 0
    artifacts: list[Literal[JUDGE_ARTIFACTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["digression", "role_adherence"], min_length=1)
    structured: bool = True  # constrain answers to the JSON schema where the backend can
    taxonomy: bool = False  # also ask the 14 MAST failure modes (artifactual/taxonomy.py)
    max_turns: int = Field(40, ge=1)  # turns shown to the judge (the first ones)
    max_turn_chars: int = Field(600, ge=20)  # longer turns are cut, marked "[...]"
    prompts_dir: str | None = None  # judge-<artifact>.j2 files here replace the built-in ones

    @model_validator(mode="after")
    def _unique(self) -> "JudgeConfig":
        if len(set(self.artifacts)) != len(self.artifacts):
            raise ValueError("artifacts lists a name twice")
        return self


def load_judge_config(path: str | Path) -> JudgeConfig:
    """Load and validate a judge config (YAML); errors name the field, line and fix."""
    data, text = _read_mapping(path, "backend: ...")
    try:
        return JudgeConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, str(path), text, "configs/judge.yaml") from None
