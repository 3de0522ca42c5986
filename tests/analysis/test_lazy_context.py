"""The lazy text context: each detector parses or embeds only the turns it reads, and
the flags equal those of the eager context that parses and embeds everything (real
spaCy and MiniLM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis import audit
from artifactual.analysis.detectors.courtesy import detect_courtesy_loops
from artifactual.analysis.detectors.repetition import detect_content_repetition
from artifactual.analysis.tables import to_frames
from artifactual.analysis.text import build_context, task_texts
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


def test_courtesy_loops_equal_with_a_lazy_and_an_eager_context_and_acts_are_shared() -> None:
    turns, _ = _frames([LOOP, LOOP[::-1]])
    turns = pd.concat([turns, _fixture_turns()], ignore_index=True)
    eager = build_context(turns, needs=("docs", "embeddings"))
    lazy = build_context(turns, lazy=True)
    expected = detect_courtesy_loops(turns, context=eager)
    got = detect_courtesy_loops(turns, context=lazy)
    pd.testing.assert_frame_equal(got, expected)
    assert expected["courtesy_only"].sum() >= 4
    assert lazy.stats["parsed"] == 0 and lazy.stats["tagged"] == 0  # no spaCy parse needed
    n = lazy.stats["embedded_sentences"]
    detect_courtesy_loops(turns, context=lazy)  # acts are classified once per text
    assert lazy.stats["embedded_sentences"] == n


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
    result = audit(FIXTURES / "camel" / "good", encoder_precision="fp32",
                   detectors=("role_flip", "digression", "courtesy_loop", "content_repetition"))
    tm = result.summary["text_models"]
    assert tm["encoder_precision"] == "fp32"
    assert tm["parsed"] == 0  # role_adherence, the one detector that needs parses, is off
    n_texts = result.turns["content"].nunique()
    n_tasks = len(set(task_texts(result.conversations).values()))
    assert 0 < tm["embedded"] <= n_texts + n_tasks
    assert tm["tagged"] == 0  # courtesy reads dialogue acts from vectors, not tags
    named = audit(FIXTURES / "camel" / "good", detectors=("role_flip",))
    assert named.summary["text_models"] == {"encoder_precision": named.summary[
        "text_models"]["encoder_precision"]}  # nothing needed text: no counts, no models


def test_a_lazy_context_reports_progress_per_request() -> None:
    turns, _ = _frames([LOOP])
    calls: list[tuple] = []
    ctx = build_context(turns, lazy=True, progress=lambda *c: calls.append(c))
    assert calls == []  # nothing computed up front
    ctx.docs_for(turns.index, level="tags")
    assert calls and calls[-1][0] == "parse" and calls[-1][1] == calls[-1][2]
    with pytest.raises(Exception, match="unknown parse level"):
        ctx.docs_for(turns.index, level="lemmas")


def test_courtesy_reads_only_the_sentences_it_needs_and_gives_the_full_answer() -> None:
    from artifactual.analysis.detectors.acts import classify_units, turn_acts
    from artifactual.analysis.detectors.courtesy import is_courtesy_only

    turns = _fixture_turns()
    texts = [str(t) for t in turns["content"]]
    full = classify_units(texts)
    ctx = build_context(turns, lazy=True)
    part = turn_acts(texts, ctx, until_work=True)
    assert [is_courtesy_only(u) for u in part] == [is_courtesy_only(u) for u in full]
    assert [[u.act for u in p if u.mood == "question"] for p in part] == [
        [u.act for u in f if u.mood == "question"] for f in full]
    n_part = ctx.stats["embedded_sentences"]
    assert 0 < n_part < sum(u.act not in ("code", "marker") for f in full for u in f)
    completed = turn_acts(texts, ctx)  # a full request completes the partial turns
    assert [[u.act for u in c] for c in completed] == [[u.act for u in f] for f in full]
