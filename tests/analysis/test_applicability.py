"""Applicability: inferred role markers (variants), --markers override, None with reasons,
format failures (an all-collapsed SPP corpus), courtesy loops vs content repetition."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from artifactual.analysis import audit, run_detector
from artifactual.analysis.detectors.markers import infer_markers, turn_candidates
from artifactual.analysis.tables import to_frames
from artifactual.readers import read
from artifactual.records import Conversation, Speaker, Turn, record_to_json

FIX = Path(__file__).parents[1] / "fixtures" / "applicability"
RATES = ("role_flip_rate", "interruption_rate", "impersonation_rate",
         "role_adherence_violation_rate", "digression_rate", "courtesy_loop_rate",
         "content_repetition_rate")


@pytest.mark.parametrize("text, labels, done", [
    ("Instruction: Do it.\nInput: None", {"Instruction:", "Input:"}, set()),
    ("Solution&Action: Done so.\nNext request.", {"Solution&Action:", "Next request."}, set()),
    ("CAMEL_TASK_DONE", set(), {"CAMEL_TASK_DONE"}),
    ("All done. <CAMEL_TASK_DONE>", set(), {"<CAMEL_TASK_DONE>"}),
    ("We could plant beans: they fix nitrogen.", set(), set()),
])
def test_turn_candidates(text: str, labels: set[str], done: set[str]) -> None:
    assert turn_candidates(text) == (labels, done)


def test_variant_markers_are_inferred_and_used() -> None:
    result = audit(FIX / "camel_variants.jsonl", detectors=("role_flip",))
    s = result.summary
    assert s["markers"]["source"] == "inferred"
    used = s["markers"]["used"]
    assert used["user_markers"] == ["Input:", "Instruction:"]  # by share, then name
    assert set(used["assistant_markers"]) == {"Solution&Action:", "Next request."}
    assert set(used["done_tokens"]) == {"CAMEL_TASK_DONE", "<CAMEL_TASK_DONE>"}
    assert s["interruption_rate"] == 0.0  # not 100%: the variants are recognised
    assert s["role_flip_rate"] == pytest.approx(1 / 3)
    flips = result.turns[result.turns["role_flip"]]
    assert flips[["conversation_id", "turn_index"]].values.tolist() == [["fence", 2]]
    assert "Solution&Action:" in flips["evidence"].iloc[0]


def test_given_markers_override_inference(tmp_path: Path) -> None:
    given = {"user_markers": ["Instruction:"], "assistant_markers": ["Solution:"],
             "done_tokens": ["<CAMEL_TASK_DONE>"]}
    s = audit(FIX / "camel_variants.jsonl", detectors=("role_flip",), markers=given).summary
    assert s["markers"]["source"] == "given" and s["markers"]["used"]["assistant_markers"] == [
        "Solution:"]
    assert s["interruption_rate"] == 1.0  # the paper's markers miss the variants
    from artifactual.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(FIX / "camel_variants.jsonl"), "--out", str(out),
                                   "--detectors", "role_flip", "--quiet", "--markers",
                                   json.dumps(given)])
    assert res.exit_code == 0, res.output
    written = json.loads((out / "summary.json").read_text())
    assert written["markers"]["source"] == "given" and written["interruption_rate"] == 1.0


def test_human_dialogue_has_no_role_markers_and_no_violations() -> None:
    result = audit(FIX / "human_task.jsonl", detectors=("role_flip", "digression"))
    s = result.summary
    assert s["role_flip_rate"] is None and s["interruption_rate"] is None
    assert s["not_applicable"]["role_flip"] == "no role markers in this corpus"
    assert s["not_applicable"]["interruption"] == "no role markers in this corpus"
    assert s["markers"]["used"] is None and s["markers"]["inferred"]["convention"] is False
    assert s["n_applicable"]["digression"] == 3  # first user turns state the goal
    assert result.conversations["role_flip"].isna().all()
    # role adherence is off by default (measured precision < 0.8): None with its reason
    assert s["role_adherence_violation_rate"] is None
    assert "precision" in s["not_run"]["role_adherence"]
    default = audit(FIX / "human_task.jsonl").summary  # the default set: no digression
    assert default["digression_rate"] is None and "precision" in default["not_run"]["digression"]
    named = audit(FIX / "human_task.jsonl", detectors=["role_adherence"]).summary
    assert named["role_adherence_violation_rate"] == 0.0  # clarifying requests are not flips
    assert "role_adherence" not in named["not_run"]


def test_chitchat_has_no_task_so_digression_does_not_apply(tmp_path: Path) -> None:
    from artifactual.cli import app

    s = audit(FIX / "chitchat.jsonl", detectors=["all"]).summary
    assert s["digression_rate"] is None and s["mean_drift"] is None
    assert s["not_applicable"]["digression"] == "no task or goal statement in this corpus"
    res = CliRunner().invoke(app, ["audit", str(FIX / "chitchat.jsonl"), "--out",
                                   str(tmp_path / "o"), "--quiet", "--detectors", "all"])
    assert res.exit_code == 0, res.output
    assert "not applicable: digression: no task or goal statement" in res.output
    assert "not applicable: role_flip: no role markers in this corpus" in res.output


def test_all_collapsed_spp_corpus_reports_format_failures_and_no_rates() -> None:
    result = audit(FIX / "spp_collapsed.jsonl")
    s = result.summary
    assert s["n_conversations"] == 4 and s["n_audited"] == 0
    assert s["format_failure_rate"] == 1.0
    for key in RATES:
        assert s[key] is None, key
    for name in s["detectors"]:
        assert s["not_applicable"][name] == "no conversation could be audited (4 format failure(s))"
    conv = result.conversations
    assert conv["format_failure"].all() and not conv["audited"].any()
    assert conv["format_failure_reason"].str.contains("collapsed|no turns").all()


def _conv(cid: str, texts: list[str], finish: list[str] | None = None,
          termination: str | None = None) -> Conversation:
    return Conversation(
        id=cid, task="Plan a vegetable bed.", termination_reason=termination,
        speakers=[Speaker(name="U", role="user"), Speaker(name="A", role="assistant")],
        turns=[Turn(index=i, speaker="UA"[i % 2], content=t,
                    meta={"finish_reason": finish[i]} if finish else {})
               for i, t in enumerate(texts)])


def test_format_failures_reasons_and_denominators(tmp_path: Path) -> None:
    convs = [
        _conv("ok", ["Instruction: Pick a site.", "Solution: The sunny corner. Next request."]),
        _conv("cut", ["Instruction: Pick a site.", "Solution: The sunny corner by the"],
              finish=["stop", "length"]),
        _conv("blank", ["Instruction: Pick a site.", "   "]),
        _conv("end", ["Instruction: Pick a site.", "Solution: The sunny corner by the"],
              termination="max_tokens"),
        _conv("human", ["where shall we put it", "by the shed i think"]),  # no punctuation
        Conversation(id="none", task="Plan a vegetable bed."),
    ]
    (tmp_path / "records.jsonl").write_text("".join(record_to_json(c) + "\n" for c in convs))
    result = audit(tmp_path, detectors=("impersonation",))
    conv = result.conversations.set_index("conversation_id")
    assert not conv.loc["ok", "format_failure"] and not conv.loc["human", "format_failure"]
    assert "cut off at the token limit" in conv.loc["cut", "format_failure_reason"]
    assert conv.loc["blank", "format_failure_reason"] == "empty turn(s) at index 1"
    assert "cut off mid-sentence (termination_reason=max_tokens)" in conv.loc[
        "end", "format_failure_reason"]
    assert conv.loc["none", "format_failure_reason"] == "no turns could be parsed"
    assert conv["audited"].tolist() == [True, True, True, True, True, False]
    s = result.summary
    assert s["n_conversations"] == 6 and s["n_audited"] == 5
    assert s["format_failure_rate"] == pytest.approx(4 / 6)
    assert s["impersonation_rate"] == 0.0 and s["n_applicable"]["impersonation"] == 5
    assert pd.isna(conv.loc["none", "impersonation"])


def test_courtesy_loops_are_not_content_repetition() -> None:
    texts = ["Please write a short plan for a raised vegetable bed in a sunny garden.",
             "Build the bed from larch boards, fill it with compost and loam, and plant "
             "lettuce along the south edge.",
             "Thank you so much, that is wonderful!", "You're welcome! Happy to help.",
             "Thanks again, I really appreciate it!", "I'm always glad to help you.",
             "Now list three herbs that grow in partial shade next to the bed.",
             "Build the bed from larch boards, fill it with compost and loam, then plant "
             "lettuce along the south edge."]
    turns, _ = to_frames([_conv("c", texts)])
    loops = run_detector("courtesy_loop", turns)
    assert loops["courtesy_only"].tolist() == [False, False, True, True, True, True, False, False]
    assert loops["courtesy_loop"].tolist() == [False, False, True, True, True, True, False, False]
    assert loops["evidence"].iloc[2].startswith("courtesy loop (4 courtesy-only turns in a row, "
                                                "none of them a goodbye): turns 2-5")
    rep = run_detector("content_repetition", turns)
    assert rep["content_repetition"].tolist() == [False] * 7 + [True]
    assert rep["evidence"].iloc[7].startswith("A repeats its own turn 1 (cosine")
    twice, _ = to_frames([_conv("t", ["Thank you.", "Thank you.", "Thank you."])])
    assert not run_detector("content_repetition", twice)["content_repetition"].any()
    assert not run_detector("courtesy_loop", twice.iloc[:2])["courtesy_loop"].any()


def test_no_convention_without_enough_turns() -> None:
    turns, _ = to_frames(read(FIX / "chitchat.jsonl"))
    found = infer_markers(turns)
    assert found.markers is None and found.reason == "no role markers in this corpus"
