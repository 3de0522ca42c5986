"""Speaker impersonation: lines attributed to another participant or a foreign role label."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis import get_detector, run_detector
from artifactual.analysis.detectors.impersonation import find_impersonation
from artifactual.analysis.tables import to_frames
from artifactual.readers import ErrorLog, read

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _turns(rows: list[tuple[str, str, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["conversation_id", "speaker", "role", "content"])


def test_another_speakers_name_or_a_foreign_role_label_is_flagged() -> None:
    turns = _turns([
        ("c1", "Botanist", "assistant", "Solution: water twice a week.\nGardener: Thanks, and the roses?"),
        ("c1", "Gardener", "user", "Instruction: list three shade plants.\nInput: None"),
        ("c1", "Botanist", "assistant", "Hostas, ferns and astilbe.\n**AI User:** Great, next?"),
        ("c1", "Botanist", "assistant", "AI Assistant: my own label is fine.\nAssistant: so is this."),
        ("c2", "Gardener", "user", "Botanist: someone from another conversation is not a speaker here"),
        ("c2", "Gardener", "user", "Note: ordinary labels are fine.\nThe ratio is 3:2."),
    ])
    out = run_detector("impersonation", turns, with_names=True)
    assert out["impersonation"].tolist() == [True, False, True, False, False, False]
    assert out["impersonated"].tolist() == ["Gardener", "", "AI User", "", "", ""]
    assert out.loc[0, "evidence"] == "Gardener: Thanks, and the roses?"
    assert out.loc[2, "evidence"] == "**AI User:** Great, next?"
    assert out.loc[1, "evidence"] == ""


def test_camel_markers_and_the_speakers_own_generic_labels_are_ignored() -> None:
    assert find_impersonation("Instruction: do it\nInput: x\nSolution: y", "Cook", "user",
                              ["Cook", "Host"]) is None
    assert find_impersonation("User: I asked this", "user", "user", ["user", "assistant"]) is None
    assert find_impersonation("Human: hi", "Ann", "user", ["Ann", "Bob"]) is None
    assert find_impersonation("Human: hi", "Bob", "assistant", ["Ann", "Bob"]) == ("Human", "Human: hi")
    assert find_impersonation("  bob : hi", "Ann", "user", ["Ann", "Bob"]) == ("Bob", "bob : hi")
    assert find_impersonation("Detective (you): hm", "Florist", "persona",
                              ["Florist", "Detective"]) == ("Detective", "Detective (you): hm")
    assert find_impersonation("Input: data", "Ann", "user", ["Ann", "Input"]) is None


def test_labels_and_ignore_are_configurable() -> None:
    turns = _turns([("c", "Agent", "assistant", "Customer: where is my parcel?\nSolution: wait")])
    assert not run_detector("impersonation", turns)["impersonation"].iloc[0]
    out = run_detector("impersonation", turns, labels={"Customer": "user"}, ignore=())
    assert out["impersonation"].iloc[0] and out["evidence"].iloc[0].startswith("Customer:")


def test_on_read_conversations_from_several_formats() -> None:
    log = ErrorLog()
    convs = [*read(FIXTURES / "openai" / "chats.jsonl", errors=log),
             *read(FIXTURES / "sharegpt" / "mixed.json", errors=log)]
    turns, _ = to_frames(convs)
    out = get_detector("impersonation")(turns, with_names=True)
    hits = turns.loc[out["impersonation"], ["conversation_id", "speaker"]]
    assert hits.values.tolist() == [["potluck", "assistant"], ["sg-2", "assistant"]]
    assert out.loc[out["impersonation"], "impersonated"].tolist() == ["User", "Human"]
    assert out.loc[out["impersonation"], "evidence"].tolist() == [
        "User: I'll bake brownies!", "Human: I prefer parrots."]


def test_missing_columns_fail_clearly() -> None:
    with pytest.raises(Exception, match="lacks column"):
        run_detector("impersonation", pd.DataFrame({"content": ["x"]}))
