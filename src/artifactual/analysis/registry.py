"""Detectors registered by name, so configs and the CLI can select them.

Shape contract (DESIGN.md, "Detector shape")::

    @detector("role_flip")
    def detect(turns: DataFrame, **params) -> DataFrame: ...

The result has one row per input turn with the same index as ``turns``, one
boolean or numeric column per finding, and an ``evidence`` column of str (empty
when nothing was found). Every parameter has a default. An empty ``turns`` frame
gives an empty result with the same columns. :func:`run_detector` checks this.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import pandas as pd

from artifactual.errors import AnalysisError

__all__ = ["Detector", "detector", "get_detector", "available_detectors", "run_detector"]


class Detector(Protocol):
    def __call__(self, turns: pd.DataFrame, **params: Any) -> pd.DataFrame: ...


_DETECTORS: dict[str, Detector] = {}


def detector(name: str) -> Callable[[Detector], Detector]:
    """Decorator: register ``detect(turns, **params) -> DataFrame`` under ``name``."""
    def register(fn: Detector) -> Detector:
        _DETECTORS[name] = fn
        fn.detector_name = name  # type: ignore[attr-defined]
        return fn
    return register


def available_detectors() -> list[str]:
    """Registered detector names, sorted."""
    return sorted(_DETECTORS)


def get_detector(name: str) -> Detector:
    """The detector registered as ``name``; AnalysisError listing the known names if none."""
    try:
        return _DETECTORS[name]
    except KeyError:
        known = ", ".join(available_detectors()) or "(none registered)"
        raise AnalysisError(f"unknown detector {name!r}",
                            fix=f"use one of: {known}") from None


def run_detector(name: str, turns: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """Run a registered detector and check the shape contract."""
    out = get_detector(name)(turns, **params)
    if not isinstance(out, pd.DataFrame):
        raise AnalysisError(f"detector {name!r} returned {type(out).__name__}, not a DataFrame",
                            fix="return one row per turn with an 'evidence' column")
    if not out.index.equals(turns.index):
        raise AnalysisError(f"detector {name!r} returned {len(out)} rows with another index "
                            f"than its {len(turns)} input turns",
                            fix="build the result with index=turns.index")
    if "evidence" not in out.columns:
        raise AnalysisError(f"detector {name!r} returned no 'evidence' column",
                            fix="add an 'evidence' str column ('' when nothing was found)")
    return out
