"""The paper's role-flip rule: every branch, evidence, and configurable markers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis.detectors.roles import Markers, classify_message, detect_role_flips
from artifactual.analysis.tables import empty_turns, to_frames
from artifactual.errors import AnalysisError
from artifactual.readers import read
from artifactual.records import Conversation, Speaker, Turn

CAMEL = Path(__file__).parents[1] / "fixtures" / "camel"
ACTION = Markers(assistant_markers=["Solution:", "Solution&Action:"])


@pytest.mark.parametrize(("role", "content", "flip", "interrupt"), [
    ("user", "Instruction: prune it. Solution: I did it myself.", True, False),  # user flipped
    ("user", "Thanks, that is lovely.", False, True),                           # interruption
    ("user", "Instruction: water the ferns.\nInput: None", False, False),       # normal
    ("user", "<CAMEL_TASK_DONE>", False, False),                                # done token
    ("assistant", "Instruction: now you tell me the soil type.", True, False),  # flipped
    ("assistant", "You are welcome!", False, True),                             # interruption
    ("assistant", "Solution: dig it in. Next request.", False, False),          # normal
    ("assistant", "All done. <CAMEL_TASK_DONE>", False, False),                 # done token
    ("USER", "Solution: upper-case roles count too", True, False),
    ("system", "Solution: Instruction: anything", False, False),                # other role
    (None, "no declared role", False, False),
])
def test_every_branch(role: str | None, content: str, flip: bool, interrupt: bool) -> None:
    got_flip, got_interrupt, evidence = classify_message(role, content)
    assert (got_flip, got_interrupt) == (flip, interrupt)
    assert bool(evidence) == (flip or interrupt)


def test_evidence_names_the_marker_and_position() -> None:
    text = "I mixed the bark already. Solution: add one part perlite."
    _, _, evidence = classify_message("user", text)
    pos = text.index("Solution:")
    assert evidence.startswith(f'user turn contains "Solution:" at char {pos}: "')
    assert "bark already. Solution: add one part" in evidence
    _, _, evidence = classify_message("assistant", "Happy to help!")
    assert evidence == "assistant turn has none of Solution:/<CAMEL_TASK_DONE>"


def test_long_context_is_cut_with_ellipses() -> None:
    text = "x" * 100 + " Solution: " + "y" * 100
    _, _, evidence = classify_message("user", text)
    assert evidence.endswith('..."') and ': "...' in evidence


def test_fixture_dialogue_per_turn() -> None:
    turns, _ = to_frames(read(CAMEL / "good" / "garden_flips.json"))
    flags = detect_role_flips(turns)
    assert flags["role_flip"].tolist() == [False, False, True, True, False, False]
    assert flags["interruption"].tolist() == [False, False, False, False, True, True]
    assert flags["evidence"].iloc[2].startswith('user turn contains "Solution:"')
    assert flags["evidence"].iloc[3].startswith('assistant turn contains "Instruction:"')
    assert flags["evidence"].iloc[0] == ""


def test_custom_marker_solution_and_action() -> None:
    turns, _ = to_frames(read(CAMEL / "variants" / "forester_action.json"))
    default = detect_role_flips(turns)
    # "Solution&Action:" is not "Solution:": by default the assistant looks interrupted
    assert default["role_flip"].tolist() == [False] * 5
    assert default["interruption"].tolist() == [False, True, True, True, False]
    custom = detect_role_flips(turns, markers=ACTION)
    assert custom["role_flip"].tolist() == [False, False, True, False, False]
    assert custom["interruption"].tolist() == [False] * 5
    assert '"Solution&Action:" at char 0' in custom["evidence"].iloc[2]
    as_dict = detect_role_flips(turns, markers={"assistant_markers": ["Solution&Action:"]})
    assert as_dict["role_flip"].tolist() == custom["role_flip"].tolist()


def test_earliest_of_several_markers_is_reported() -> None:
    _, _, evidence = classify_message("user", "a Solution&Action: b Solution: c", ACTION)
    assert '"Solution&Action:" at char 2' in evidence


def test_bad_markers_and_missing_columns_are_clear_errors() -> None:
    with pytest.raises(AnalysisError, match="markers"):
        detect_role_flips(empty_turns(), markers={"user_markers": [""]})
    with pytest.raises(AnalysisError, match="content"):
        detect_role_flips(pd.DataFrame({"role": ["user"]}))


def test_empty_input_keeps_columns() -> None:
    out = detect_role_flips(empty_turns())
    assert list(out.columns) == ["role_flip", "interruption", "evidence"] and out.empty


def test_role_comes_from_turn_meta_when_both_speakers_share_a_name() -> None:
    conv = Conversation(id="same", speakers=[Speaker(name="AI", role="user"),
                                             Speaker(name="AI", role="assistant")],
                        turns=[Turn(index=0, speaker="AI", content="Instruction: go",
                                    meta={"role": "user"}),
                               Turn(index=1, speaker="AI", content="Instruction: you go",
                                    meta={"role": "assistant"})])
    turns, _ = to_frames([conv])
    assert turns["role"].tolist() == ["user", "assistant"]
    assert detect_role_flips(turns)["role_flip"].tolist() == [False, True]
