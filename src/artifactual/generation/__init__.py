"""Generation: agents + engines + scheduler + run store. Never imports analysis."""

from __future__ import annotations

from typing import Any

__all__ = ["generate", "GenerateResult"]


def __getattr__(name: str) -> Any:  # lazy, so config.py can import backend options
    if name in __all__:
        from artifactual.generation import run

        return getattr(run, name)
    raise AttributeError(name)
