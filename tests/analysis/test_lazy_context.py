"""The lazy text context: each detector parses or embeds only the turns it reads, and
the flags equal those of the eager context that parses and embeds everything (real
spaCy and MiniLM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifactual.analysis import audit
from artifactual.analysis.detectors.courtesy import (COURTESY, COURTESY_CONTEXT,
                                                     detect_courtesy_loops, is_courtesy_only)
from artifactual.analysis.detectors.repetition import detect_content_repetition
from artifactual.analysis.tables import to_frames
from artifactual.analysis.text import build_context, parse, task_texts, tokens
from artifactual.readers import ErrorLog, read
from artifactual.records import Conversation, Speaker, Turn

FIXTURES = Path(__file__).parents[1] / "fixtures"
LOOP = ["Here is the watering plan: two litres per pot every morning before nine.",
        "Thank you so much, that is really helpful!", "You're welcome! Glad I could help.",
        "Thanks again, have a nice day!", "Bye, take care!",
        "Next, weigh 500 grams of flour and add 350 ml of water.",
        "Great job, Ada!", "Okay.", "CAMEL_TASK_DONE",
        "Thanks, but the soil is still too wet after 3 days."]


def _frames(contents: list[list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    convs = [Conversation(id=f"c{k}", task="Plan a balcony garden and a loaf of bread.",
                          speakers=[Speaker(name="U", role="user"),
                                    Speaker(name="A", role="assistant")],
                          turns=[Turn(index=i, speaker="UA"[i % 2], content=c)
                                 for i, c in enumerate(turns)])
             for k, turns in enumerate(contents)]
    return to_frames(convs)


def _fixture_turns() -> pd.DataFrame:
    convs = [c for sub in ("camel", "spp", "sharegpt", "openai", "autogen")
             for c in read(FIXTURES / sub, errors=ErrorLog()) if hasattr(c, "turns")]
    turns, _ = to_frames(convs)
    return turns


def test_courtesy_loops_equal_the_full_parse_and_tag_only_candidates() -> None:
    turns, _ = _frames([LOOP, LOOP[::-1]])
    turns = pd.concat([turns, _fixture_turns()], ignore_index=True)
    eager = build_context(turns, needs=("docs",))
    lazy = build_context(turns, lazy=True)
    expected = detect_courtesy_loops(turns, context=eager)
    got = detect_courtesy_loops(turns, context=lazy)
    pd.testing.assert_frame_equal(got, expected)
    assert expected["courtesy_loop"].sum() >= 3  # the planted loop is found either way
    assert lazy.stats["parsed"] == 0  # no dependency parse was needed
    assert 0 < lazy.stats["tagged"] < turns["content"].nunique() / 2


WORDS = sorted(COURTESY)[:25] + sorted(COURTESY_CONTEXT)[:25] + [
    "tomato", "balcony", "run", "quickly", "Ada", "Paris", "the", "you", "it", "is", "3",
    "500", "x=1", "CAMEL_TASK_DONE", "<DONE>", "!", ",", ".", "n't", "can't", "e-mail"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=45))
def test_a_turn_its_tokens_rule_out_is_never_courtesy_only_when_parsed(words) -> None:
    text = " ".join(words)
    parsed = parse([text])[0]
    if is_courtesy_only(parsed):
        assert is_courtesy_only(tokens([text])[0])  # so the tokens never drop a true turn


def test_content_repetition_embeds_only_turns_long_enough_to_compare() -> None:
    long = "Water the tomato pots every morning before nine with two litres each."
    turns, _ = _frames([[long, "Thanks!", long, "Okay, noted.", "Sure."]])
    lazy = build_context(turns, lazy=True)
    got = detect_content_repetition(turns, context=lazy)
    expected = detect_content_repetition(turns, context=build_context(turns))
    pd.testing.assert_frame_equal(got, expected, atol=1e-6)
    assert got["content_repetition"].tolist() == [False, False, True, False, False]
    assert lazy.stats["embedded"] == 1  # one distinct long text; the short ones never


def test_the_audit_reports_what_its_text_pipeline_did() -> None:
    result = audit(FIXTURES / "camel" / "good", encoder_precision="fp32")
    tm = result.summary["text_models"]
    assert tm["encoder_precision"] == "fp32"
    assert tm["parsed"] == 0  # role_adherence, the one detector that needs parses, is off
    n_texts = result.turns["content"].nunique()
    n_tasks = len(set(task_texts(result.conversations).values()))
    assert 0 < tm["embedded"] <= n_texts + n_tasks
    assert tm["tagged"] < n_texts
    named = audit(FIXTURES / "camel" / "good", detectors=("role_flip",))
    assert named.summary["text_models"] == {"encoder_precision": named.summary[
        "text_models"]["encoder_precision"]}  # nothing needed text: no counts, no models


def test_a_lazy_context_reports_progress_per_request() -> None:
    turns, _ = _frames([LOOP])
    calls: list[tuple] = []
    ctx = build_context(turns, lazy=True, progress=lambda *c: calls.append(c))
    assert calls == []  # nothing computed up front
    detect_courtesy_loops(turns, context=ctx)
    assert calls and calls[-1][0] == "parse" and calls[-1][1] == calls[-1][2]
    with pytest.raises(Exception, match="unknown parse level"):
        ctx.docs_for(turns.index, level="lemmas")
