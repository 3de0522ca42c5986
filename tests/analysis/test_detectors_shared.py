"""One check suite over every registered detector (the shape contract in DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis import available_detectors, get_detector, run_detector
from artifactual.analysis.tables import empty_turns, to_frames
from artifactual.readers import ErrorLog, read

CAMEL = Path(__file__).parents[1] / "fixtures" / "camel"


@pytest.fixture(scope="module")
def corpus_turns() -> pd.DataFrame:
    """Every readable fixture dialogue, with a non-default index to catch index resets."""
    log = ErrorLog()
    convs = [c for d in ("good", "variants", "jsonl", "bad") for c in read(CAMEL / d, errors=log)]
    turns, _ = to_frames(convs)
    turns.index = pd.RangeIndex(1000, 1000 + len(turns), name="row")[::-1]
    return turns


def test_some_detectors_are_registered() -> None:
    assert "role_flip" in available_detectors()


@pytest.mark.parametrize("name", available_detectors())
def test_detector_shape_on_fixture_corpus(name: str, corpus_turns: pd.DataFrame) -> None:
    before = corpus_turns.copy()
    out = get_detector(name)(corpus_turns)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(corpus_turns.index)
    assert "evidence" in out.columns
    assert all(isinstance(v, str) for v in out["evidence"])
    findings = [c for c in out.columns if c != "evidence"]
    assert findings, "a detector reports at least one finding column"
    for c in findings:
        assert pd.api.types.is_bool_dtype(out[c]) or pd.api.types.is_numeric_dtype(out[c]), c
    pd.testing.assert_frame_equal(corpus_turns, before)  # input left unchanged
    run_detector(name, corpus_turns)  # the registry's own contract check agrees


@pytest.mark.parametrize("name", available_detectors())
def test_detector_on_empty_turns(name: str, corpus_turns: pd.DataFrame) -> None:
    empty = empty_turns()
    out = run_detector(name, empty)
    assert out.empty and out.index.equals(empty.index)
    full = get_detector(name)(corpus_turns)
    assert list(out.columns) == list(full.columns)
