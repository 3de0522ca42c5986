"""The audit's default set follows the measured figures (issue 20): a detector runs by default
only where every labelled source measured its precision at 0.8 or more; the others say why
they are off, and ``all`` runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactual.analysis.registry import (LEGACY, available_detectors, default_detectors,
                                           off_by_default, resolve_detectors)
from artifactual.errors import AnalysisError

VALIDITY = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "validity.json"
#: the flag each detector is measured by in validity.json
FLAG_OF = {"role_flip": "role_flip", "impersonation": "impersonation",
           "courtesy_loop": ("courtesy_only", "courtesy_loop"), "digression": "digression",
           "content_repetition": "content_repetition", "role_flip_unmarked": "role_flip_unmarked",
           "role_adherence": "role_adherence_violation"}


def _lowest_precision(rows: list[dict], flags: tuple[str, ...]) -> float | None:
    """The lowest precision over the labelled sources, per flag at the turn level where the
    source is labelled per turn, else at the conversation level; None when never flagged."""
    lowest = None
    for flag in flags:
        by_source: dict[str, dict] = {}
        for r in rows:
            if r["flag"] == flag and r["n_flagged"]:
                if r["level"] == "turn" or r["set"] not in by_source:
                    by_source[r["set"]] = r
        for r in by_source.values():
            p = r["precision"]["value"]
            lowest = p if lowest is None else min(lowest, p)
    return lowest


def test_the_default_set_is_what_reached_precision_0_8_on_every_labelled_source() -> None:
    rows = json.loads(VALIDITY.read_text("utf-8"))["labelled"]
    assert set(FLAG_OF) == set(available_detectors()) - set(LEGACY)
    defaults = set(default_detectors())
    for name, flags in FLAG_OF.items():
        flags = (flags,) if isinstance(flags, str) else flags
        lowest = _lowest_precision(rows, flags)
        assert lowest is not None, f"{name} was never measured"
        assert (name in defaults) == (lowest >= 0.8), (name, lowest)
    off = off_by_default()
    for name in set(available_detectors()) - defaults - set(LEGACY):
        assert "precision" in off[name] and "--detectors" in off[name], name


def test_all_runs_every_detector_but_the_legacy_ones_and_unknown_names_fail() -> None:
    every = resolve_detectors(["all"])
    assert set(every) == set(available_detectors()) - set(LEGACY)
    assert resolve_detectors(["role_flip", "all"])[0] == "role_flip"  # order kept, no repeats
    assert len(resolve_detectors(["role_flip", "all"])) == len(every)
    assert resolve_detectors(None) == default_detectors()
    with pytest.raises(AnalysisError, match="unknown detector 'courtesy'"):
        resolve_detectors(["courtesy"])
