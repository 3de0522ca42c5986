"""What every generator's records need besides the unit (:class:`RecordContext`), and the
generators by name (:mod:`artifactual.generators`, re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artifactual.generators import GENERATOR_MODULES, available_generators, get_generator

__all__ = ["GENERATOR_MODULES", "get_generator", "available_generators", "RecordContext"]


@dataclass(frozen=True)
class RecordContext:
    """What every record's provenance needs besides the unit itself."""

    model: str  # display name of the model
    backend: str
    engine: dict[str, Any]

    @property
    def engine_version(self) -> str | None:
        return self.engine.get("engine_version")
