"""Generators by name: the table configs look them up in (a config names its generator;
the module is imported only when asked for). A generator is a module with three things:

- ``Section``: the pydantic model of its config section (``cfg.<name>``);
- ``build(cfg, section) -> list[Dialogue]``: the units of work, with stable ids;
- ``records(unit, cfg, ctx) -> list[Record]``: a finished unit as records with provenance
  (``ctx``: :class:`artifactual.generation.registry.RecordContext`);
- optionally ``record_ids(unit) -> list[str]`` when a unit writes several records
  (default: ``[unit.id]``); a unit counts as done when all of them are stored;
- optionally ``shard_key(unit) -> str`` when units share state (a pool, a plan): units
  with equal keys run in one shard under ``generate --ray`` (default: ``unit.id``);
- optionally ``STEP_SYNCHRONOUS = True`` when units wait for each other (their next
  request may be None): the scheduler then runs them in steps, never continuously.

Register a new generator by adding its module path below; configs refer to it by name.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from artifactual.errors import ConfigError

__all__ = ["GENERATOR_MODULES", "get_generator", "available_generators"]

GENERATOR_MODULES: dict[str, str] = {
    "roleplay": "artifactual.generation.roleplay",
    "spp": "artifactual.generation.spp",
    "self_instruct": "artifactual.generation.self_instruct",
    "labels": "artifactual.generation.labels",
    "preferences": "artifactual.generation.preferences",
    "society": "artifactual.generation.society",
    "freeform": "artifactual.generation.freeform",
}


def available_generators() -> list[str]:
    return sorted(GENERATOR_MODULES)


def get_generator(name: str) -> ModuleType:
    """The generator module registered under ``name``."""
    path = GENERATOR_MODULES.get(name)
    if path is None:
        raise ConfigError(f"unknown generator {name!r}", fix=f"use one of {available_generators()}")
    return importlib.import_module(path)
