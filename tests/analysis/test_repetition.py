"""Repetition loops: near-duplicates of the previous or the same speaker's turn; thank-you loops."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis import run_detector
from artifactual.analysis.detectors.repetition import is_courtesy
from artifactual.analysis.similarity import text_similarity
from artifactual.analysis.tables import to_frames
from artifactual.errors import AnalysisError
from artifactual.readers import ErrorLog, read

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _turns(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["conversation_id", "turn_index", "speaker", "content"])


def test_similarity_properties() -> None:
    assert text_similarity("The cat sat.", "the CAT sat") == pytest.approx(1.0)
    assert text_similarity("", "anything") == 0.0
    a, b = "we plant roses in spring", "we plant tulips in autumn"
    assert 0.0 < text_similarity(a, b) < 0.9
    assert text_similarity(a, b) == pytest.approx(text_similarity(b, a))
    assert text_similarity("sat the cat", "the cat sat") < 1.0  # word order counts


def test_near_duplicates_of_previous_and_same_speaker_turns() -> None:
    turns = _turns([
        ("c", 0, "Ann", "Please list the three tallest mountains in Europe."),
        ("c", 1, "Bob", "Elbrus, Dykh-Tau and Shkhara are the tallest."),
        ("c", 2, "Ann", "Please list the three tallest mountains in Europe!"),
        ("c", 3, "Bob", "Elbrus, Dykh-Tau and Shkhara are the tallest."),
        ("c", 4, "Ann", "Thanks. Now rivers: which is longest?"),
    ])
    out = run_detector("repetition_loop", turns)
    assert out["repetition"].tolist() == [False, False, True, True, False]
    assert math.isnan(out["repetition_score"].iloc[0])
    assert out["repetition_score"].iloc[2] == pytest.approx(1.0)
    assert out["evidence"].iloc[2].startswith("repeats Ann's previous turn (turn 0, similarity 1.00)")
    assert out["evidence"].iloc[3].startswith("repeats Bob's previous turn (turn 1")
    assert out["evidence"].iloc[4] == ""


def test_turn_order_and_conversations_are_respected() -> None:
    turns = _turns([("b", 1, "X", "same words here"), ("a", 0, "X", "same words here"),
                    ("b", 0, "Y", "something different entirely")])
    turns.index = [10, 11, 12]
    out = run_detector("repetition_loop", turns)
    assert out.index.tolist() == [10, 11, 12]
    assert out["repetition"].tolist() == [False, False, False]  # "a" is another conversation
    assert out["repetition_score"].loc[10] == pytest.approx(0.0)


def test_thank_you_loops() -> None:
    assert is_courtesy("Thank you so much! Have a great day.")
    assert is_courtesy("You're welcome! Let me know if you have any other questions.")
    assert not is_courtesy("Thanks. Now write a parser for the log file.")
    assert not is_courtesy("Great!")
    turns = _turns([
        ("c", 0, "U", "Instruction: sort the list."), ("c", 1, "A", "Solution: sorted(xs)."),
        ("c", 2, "U", "Thank you, that works!"),
        ("c", 3, "A", "You're welcome! Feel free to ask anything else."),
        ("c", 4, "U", "Thanks again, have a nice day."),
        ("c", 5, "A", "Glad I could help. Take care!"),
    ])
    out = run_detector("repetition_loop", turns)
    assert out["repetition"].tolist() == [False, False, False, False, True, True]
    assert out["evidence"].iloc[4].startswith("thank-you loop: 3 courtesy-only turns in a row")
    off = run_detector("repetition_loop", turns, thanks_run=0)
    assert not off["repetition"].any()


def test_on_read_conversations() -> None:
    log = ErrorLog()
    convs = [*read(FIXTURES / "transcript" / "standup.txt", errors=log),
             *read(FIXTURES / "sharegpt" / "mixed.json", errors=log)]
    turns, _ = to_frames(convs)
    out = run_detector("repetition_loop", turns)
    hits = turns.loc[out["repetition"], ["conversation_id", "speaker"]].values.tolist()
    assert hits == [["standup:15", "Priya"], ["sg-2", "bing"]]


def test_bad_threshold() -> None:
    with pytest.raises(AnalysisError, match="threshold"):
        run_detector("repetition_loop", _turns([]), threshold=0)
