"""Digression and drift on real MiniLM embeddings; the audit's summary keys and comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from artifactual.analysis import audit
from artifactual.analysis.detectors.digression import detect_digression
from artifactual.analysis.tables import to_frames
from artifactual.analysis.encoder import PRECISION_ENV
from artifactual.analysis.text import build_context, embed, task_texts
from artifactual.cli import app
from artifactual.errors import AnalysisError
from artifactual.records import Conversation, Provenance, Speaker, Turn, record_to_json

TOMATO = [
    "Cherry tomatoes such as Sungold ripen with only four hours of sun on a balcony.",
    "A twenty litre pot gives tomato roots enough room on a narrow balcony.",
    "The football club signed a new striker for forty million euros last summer.",
    "Water the tomato pots every morning and feed them weekly once flowers appear.",
    "Thanks!",
]
# Twenty-four distinct tasks, for the corpus null (each conversation stays on its topic).
TOPICS = ["bake sourdough bread", "repair a bicycle puncture", "learn the guitar chords",
          "plan a rail trip in the Alps", "train a puppy to sit", "paint a bedroom wall",
          "brew green tea properly", "knit a wool scarf", "start a vegetable compost heap",
          "write a cover letter", "set up a home aquarium", "photograph the night sky",
          "change a car tyre", "make fresh pasta", "study for a chemistry exam",
          "build a wooden birdhouse", "organise a birthday party", "run a first marathon",
          "care for a bonsai tree", "fix a leaking tap", "learn basic Spanish phrases",
          "budget for a student term", "design a small logo", "grow herbs on a windowsill"]


def _conv(cid: str, turns: list[str], task: str | None, strategy: str = "a") -> Conversation:
    return Conversation(id=cid, task=task, speakers=[Speaker(name="U", role="user"),
                                                     Speaker(name="A", role="assistant")],
                        turns=[Turn(index=i, speaker="UA"[i % 2], content=c)
                               for i, c in enumerate(turns)],
                        provenance=Provenance(generator="test", strategy=strategy, model="m",
                                              backend="none"))


def _topic_conv(i: int, topic: str) -> Conversation:
    return _conv(f"t{i}", [f"Let us work out how to {topic} step by step.",
                           f"The first thing to know when you {topic} is to prepare well.",
                           f"After that, practise how to {topic} a little every day."],
                 task=f"Explain how to {topic}.", strategy="even" if i % 2 else "odd")


def test_off_topic_turn_is_flagged_with_its_similarities(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # fp32, the precision the expected flags were written for; the arithmetic is checked
    # to 1e-5 against vectors embedded in another batch (a text's vector does not depend
    # on its batch: test_encoder.py)
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    turns, convs = to_frames([_conv("c", TOMATO, "Grow tomatoes on a shaded balcony.")])
    out = detect_digression(turns, tasks=task_texts(convs))
    assert out["digression"].tolist() == [False, False, True, False, False]
    vecs = embed(TOMATO + ["Grow tomatoes on a shaded balcony."])
    np.testing.assert_allclose(out["task_similarity"], vecs[:5] @ vecs[5], atol=1e-5)
    centroid = vecs[:2].sum(axis=0)
    expected = float(vecs[2] @ centroid / np.linalg.norm(centroid))
    assert out.loc[2, "centroid_similarity"] == pytest.approx(expected, abs=1e-5)
    assert np.isnan(out.loc[0, "centroid_similarity"])
    np.testing.assert_allclose(out["drift"], 1.0 - out["task_similarity"])
    ev = out.loc[2, "evidence"]
    assert f"task similarity {out.loc[2, 'task_similarity']:.3f} <= 0.200 (fixed)" in ev
    assert f"centroid similarity {expected:.3f}" in ev and "over 2 earlier turn(s)" in ev
    assert (out.loc[out["digression"] == False, "evidence"] == "").all()  # noqa: E712
    assert out.loc[4, "task_similarity"] < 0.2  # "Thanks!" is off-task, but too short to flag


def test_without_a_task_the_first_turn_is_the_task() -> None:
    turns, _ = to_frames([_conv("c", TOMATO, None)])
    out = detect_digression(turns)
    assert np.isnan(out.loc[0, "task_similarity"]) and np.isnan(out.loc[0, "drift"])
    assert bool(out.loc[2, "digression"]) and not out.loc[[0, 1, 3], "digression"].any()


def test_corpus_null_adapts_the_threshold_per_turn() -> None:
    convs = [_topic_conv(i, t) for i, t in enumerate(TOPICS)]
    convs.append(_conv("tomato", TOMATO, "Grow tomatoes on a shaded balcony."))
    turns, table = to_frames(convs)
    ctx = build_context(turns, tasks=task_texts(table), needs=("embeddings",))
    auto = detect_digression(turns, context=ctx)
    fixed = detect_digression(turns, context=ctx, null="fixed")
    tomato = (turns["conversation_id"] == "tomato").to_numpy()
    assert auto.loc[tomato, "digression"].tolist() == [False, False, True, False, False]
    assert "q0.95 of other tasks" in auto.loc[tomato, "evidence"].iloc[2]
    pd.testing.assert_series_equal(auto["task_similarity"], fixed["task_similarity"])
    # with only 20 other tasks required but 24 present the null is used; with more
    # required than exist, every turn falls back to the fixed threshold
    fallback = detect_digression(turns, context=ctx, min_null_tasks=40)
    pd.testing.assert_frame_equal(fallback, fixed)


def test_conversation_management_is_never_a_digression() -> None:
    # far from the task and the thread, but about nothing: thanks, closings, offers of help
    closing = ["Thank you so much, I do not need anything else right now.",
               "You are welcome, is there anything else I can help you with today?",
               "No thanks, that is all. Have a great day and take care!"]
    turns, convs = to_frames([_conv("c", TOMATO[:2] + closing, "Grow tomatoes on a balcony.")])
    out = detect_digression(turns, tasks=task_texts(convs))
    assert (out.loc[2:, "task_similarity"] < 0.2).all()  # they would pass the similarity rule
    assert not out["digression"].any()
    from artifactual.analysis.detectors.digression import content_words

    assert [content_words(t) for t in closing] == [0, 0, 0]
    assert content_words(TOMATO[2]) >= 4  # the football turn is about something


def test_a_reply_to_the_previous_turn_is_on_the_thread() -> None:
    # the user's aside is off-task; the answer to it follows the aside, not the task
    turns_ = TOMATO[:2] + [TOMATO[2], "That striker scored forty goals for the club last season."]
    turns, convs = to_frames([_conv("c", turns_, "Grow tomatoes on a shaded balcony.")])
    out = detect_digression(turns, tasks=task_texts(convs))
    assert out.loc[3, "prev_similarity"] > 0.2
    assert out["digression"].tolist() == [False, False, True, False]
    assert "reply similarity" in out.loc[2, "evidence"]


def test_a_corpus_of_shared_vocabulary_does_not_raise_the_threshold() -> None:
    # 24 conversations on one kind of task: the null from the other tasks is high, but the
    # threshold is capped at the fixed one, so on-topic turns are not flagged
    convs = [_conv(f"p{i}", [f"Clue {i}: the person in house {i % 5 + 1} owns the red car.",
                             f"So house {i % 5 + 1} cannot hold the owner of the blue car.",
                             f"Then by clue {i}, the red car owner lives next to house {i % 4 + 1}."],
                   task=f"Solve logic grid puzzle {i} about five houses, cars and owners.")
             for i in range(24)]
    turns, table = to_frames(convs)
    out = detect_digression(turns, tasks=task_texts(table))
    assert not out["digression"].any()
    assert "fixed" not in " ".join(out["evidence"])  # nothing flagged, nothing to explain


def test_bad_parameters_and_columns_are_clear_errors() -> None:
    turns, _ = to_frames([_conv("c", TOMATO[:2], "Grow tomatoes.")])
    with pytest.raises(AnalysisError, match="unknown null"):
        detect_digression(turns, null="median")
    with pytest.raises(AnalysisError, match="null_quantile"):
        detect_digression(turns, null_quantile=1.5)
    with pytest.raises(AnalysisError, match="turn_index"):
        detect_digression(turns.drop(columns=["turn_index"]))


def test_audit_summary_and_comparison_by_strategy(tmp_path: Path) -> None:
    convs = [_topic_conv(i, t) for i, t in enumerate(TOPICS[:6])]
    convs.append(_conv("tomato", TOMATO, "Grow tomatoes on a shaded balcony.", strategy="odd"))
    (tmp_path / "records.jsonl").write_text("".join(record_to_json(c) + "\n" for c in convs))
    result = audit(tmp_path, detectors=("digression", "role_flip"), compare_by="strategy")
    s = result.summary
    conv = result.conversations.set_index("conversation_id")
    assert s["digression_rate"] == pytest.approx(conv["digression"].mean())
    assert conv.loc["tomato", "digression"] and conv.loc["tomato", "n_digression"] == 1
    per_conv = result.turns.groupby("conversation_id")["drift"].mean()
    assert s["mean_drift"] == pytest.approx(per_conv.mean())
    assert conv["drift_mean"].to_dict() == pytest.approx(per_conv.to_dict())
    for key in ("impersonation_rate", "role_adherence_violation_rate", "courtesy_loop_rate",
                "content_repetition_rate"):
        assert s[key] is None  # those detectors did not run
    assert s["group_by"] == "strategy" and sorted(s["groups"]) == ["even", "odd"]
    assert s["groups"]["odd"]["digression_rate"] == pytest.approx(1 / 4)
    comp = result.comparison
    ref = comp[(comp["metric"] == "digression") & (comp["group"] == "odd")].iloc[0]
    assert ref["n"] == 4 and ref["estimate"] == pytest.approx(0.25)
    assert ref["reference"] == "odd" and np.isnan(ref["effect_size"])  # first group seen
    row = comp[(comp["metric"] == "digression") & (comp["group"] == "even")].iloc[0]
    assert row["estimate"] == 0.0 and row["effect_kind"] == "cohens_h"
    assert row["effect_size"] == pytest.approx(-2 * np.arcsin(np.sqrt(0.25)))
    assert {"digression", "role_flip", "drift_mean", "n_turns"} <= set(comp["metric"])
    paths = result.write(tmp_path / "out")
    assert pd.read_parquet(paths["comparison"]).shape == comp.shape
    assert len(json.loads(paths["comparison_json"].read_text())) == len(comp)
    turns = pd.read_parquet(paths["turns"])
    assert {"task_similarity", "centroid_similarity", "drift", "digression"} <= set(turns.columns)


def test_compare_by_path_and_the_cli(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(record_to_json(_conv("tomato", TOMATO, "Grow tomatoes on a balcony.")) + "\n"
                 + record_to_json(_conv("tomato2", TOMATO[::-1], "Grow tomatoes.")) + "\n")
    b.write_text("".join(record_to_json(_topic_conv(i, t)) + "\n"
                         for i, t in enumerate(TOPICS[:3])))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(a), str(b), "--out", str(out), "-q",
                                   "--detectors", "digression,role_flip", "--compare-by", "path",
                                   "--reference", str(b)])
    assert res.exit_code == 0, res.output
    assert "Differences by input_path" in res.output
    comp = pd.read_parquet(out / "comparison.parquet")
    assert set(comp["group"]) == {str(a), str(b)} and set(comp["reference"]) == {str(b)}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["detectors"] == ["digression", "role_flip"]
    assert summary["groups"][str(a)]["digression_rate"] == 1.0
    bad = CliRunner().invoke(app, ["audit", str(a), "--out", str(out), "-q",
                                   "--detectors", "digression", "--compare-by", "colour"])
    assert bad.exit_code == 2 and "cannot compare by 'colour'" in bad.output
    single = CliRunner().invoke(app, ["audit", str(a), str(b), "--out", str(out), "-q",
                                      "--detectors", "role_flip", "--compare-by", "strategy"])
    assert single.exit_code == 2 and "fewer than two" in single.output
