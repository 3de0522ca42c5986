"""Experiment configs: YAML files validated by pydantic (``extra="forbid"``).

``load_config(path)`` returns a :class:`RunConfig` or raises :class:`ConfigError`
naming the file, the field (and YAML line where known) and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from artifactual.errors import ConfigError
from artifactual.generation.backends.vllm import EngineOptions
from artifactual.records import Sampling

__all__ = ["RunConfig", "RolePlayConfig", "RolePlayTaskSpec", "load_config", "parse_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RolePlayTaskSpec(_Strict):
    assistant_role: str
    user_role: str
    task: str


class RolePlayConfig(_Strict):
    """Tasks: explicit triples, and/or the product assistant_roles x user_roles x task_list."""

    tasks: list[RolePlayTaskSpec] = Field(default_factory=list)
    assistant_roles: list[str] = Field(default_factory=list)
    user_roles: list[str] = Field(default_factory=list)
    task_list: list[str] = Field(default_factory=list)
    specify_task: bool = True
    word_limit: int = Field(50, ge=1)
    max_messages: int = Field(40, ge=2)
    max_user_without_instruction: int = Field(3, ge=1)
    repetition_threshold: float = Field(0.9, gt=0, le=1)
    history_window: int | None = Field(None, ge=2)
    user_markers: list[str] = Field(default_factory=lambda: ["Instruction:"])
    done_token: str = "<CAMEL_TASK_DONE>"

    @model_validator(mode="after")
    def _has_tasks(self) -> "RolePlayConfig":
        product = (self.assistant_roles, self.user_roles, self.task_list)
        if any(product) and not all(product):
            raise ValueError("assistant_roles, user_roles and task_list must all be given for a product")
        if not self.tasks and not all(product):
            raise ValueError("give tasks (assistant_role, user_role, task triples) or "
                             "assistant_roles x user_roles x task_list")
        return self

    def expand(self) -> list[RolePlayTaskSpec]:
        """Every task: the explicit triples first, then the product."""
        out = list(self.tasks)
        out += [RolePlayTaskSpec(assistant_role=a, user_role=u, task=t)
                for a in self.assistant_roles for u in self.user_roles for t in self.task_list]
        return out


class AuditOptions(_Strict):
    detectors: list[str] = Field(default_factory=lambda: ["role_flip"])
    group_by: str | None = "strategy"


class RunConfig(_Strict):
    name: str
    generator: Literal["roleplay"] = "roleplay"
    model: str = "default"
    backend: Literal["vllm"] = "vllm"
    engine: EngineOptions = Field(default_factory=EngineOptions)
    sampling: Sampling = Field(default_factory=Sampling)
    strategies: list[str] = Field(default_factory=lambda: ["camel"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    prompts_dir: str | None = None
    roleplay: RolePlayConfig | None = None
    audit: AuditOptions = Field(default_factory=AuditOptions)

    @model_validator(mode="after")
    def _section(self) -> "RunConfig":
        if self.generator == "roleplay" and self.roleplay is None:
            raise ValueError("generator 'roleplay' needs a 'roleplay:' section with tasks")
        return self


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
