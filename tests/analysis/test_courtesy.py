"""Courtesy-only turns judged by what they add (sentence acts), and courtesy loops that
are not normal closings (real spaCy sentence recogniser and MiniLM)."""

from __future__ import annotations

import pytest

from artifactual.analysis import run_detector
from artifactual.analysis.detectors.acts import COURTESY_ACTS, classify_units
from artifactual.analysis.tables import to_frames
from artifactual.errors import AnalysisError
from artifactual.records import Conversation, Speaker, Turn

LONG_WINDED = ("Thank you for your feedback! I'm glad that the implemented functionality meets "
               "your requirements. If you have any more specific functionality you would like "
               "to implement, please let me know.")


def _conv(cid: str, texts: list[str]) -> Conversation:
    return Conversation(id=cid, task="Implement a timer.",
                        speakers=[Speaker(name="U", role="user"), Speaker(name="A", role="assistant")],
                        turns=[Turn(index=i, speaker="UA"[i % 2], content=t)
                               for i, t in enumerate(texts)])


def _detect(*convs: Conversation):
    turns, _ = to_frames(list(convs))
    return run_detector("courtesy_loop", turns)


def test_sentence_acts() -> None:
    units = classify_units([LONG_WINDED, "def f(x):\n    return x\n\nThanks!",
                            "```python\nprint(1)\n```\nNext request."])
    assert [u.act in COURTESY_ACTS for u in units[0]] == [True, True, True]
    assert units[1][0].act == "work"  # a code line is never courtesy
    assert [u.act for u in units[2]] == ["code", "marker"]


@pytest.mark.parametrize(("text", "courtesy"), [
    (LONG_WINDED, True),
    ("I'm glad to hear that your project has been a success, and I'm here to assist you with "
     "anything else. I'm always happy to help.", True),
    ("<CAMEL_TASK_DONE>", True),
    ("Thanks! Could you also add a pause button to the timer?", False),
    ("Thank you. The timer must count down from 25 minutes and beep at zero.", False),
    ("Great, I'm glad it works. Next, write the unit tests for the stop button.", False),
])
def test_courtesy_only_is_judged_by_what_a_turn_adds(text: str, courtesy: bool) -> None:
    out = _detect(_conv("c", ["Please implement the timer.", text]))
    assert bool(out["courtesy_only"].iloc[1]) is courtesy
    assert bool(out["evidence"].iloc[1]) is courtesy


def test_loops_and_closings() -> None:
    human_closing = _conv("h", ["I need a table for two at seven.", "Booked for seven.",
                                "Thank you.", "You're welcome, goodbye.", "Bye."])
    four_turn_closing = _conv("f", ["Is the shop open on Sunday?", "Yes, from ten to four.",
                                    "Thanks.", "Anything else I can help you with?",
                                    "No, that's all.", "Have a nice day."])
    trading = _conv("t", ["Write the timer.", "Here is the timer class with start and stop.",
                          LONG_WINDED, "You're very welcome! I'm always happy to help.",
                          "Thank you again for your kind support!"])
    after_done = _conv("d", ["Write the timer.", "Here is the timer class with start and stop.",
                             "<CAMEL_TASK_DONE>", "Thank you! It was a pleasure working with you.",
                             "Thank you too, it was great collaborating with you!"])
    out = _detect(human_closing, four_turn_closing, trading, after_done)
    loops = out["courtesy_loop"].tolist()
    assert loops[:11] == [False] * 11  # normal closings of three and four turns
    assert loops[11:16] == [False, False, True, True, True]
    assert "none of them a goodbye" in out["evidence"].iloc[13]
    assert loops[16:] == [False, False, True, True, True]
    assert "after the done token" in out["evidence"].iloc[19]


def test_bad_parameters() -> None:
    turns, _ = to_frames([_conv("c", ["Hi."])])
    with pytest.raises(AnalysisError, match="min_run"):
        run_detector("courtesy_loop", turns, min_run=1)


def test_a_goodbye_that_does_not_end_the_conversation_is_a_loop() -> None:
    goes_on = _conv("g", ["Write the timer.", "Here is the timer class with start and stop.",
                          "Thanks a lot!", "My pleasure, glad I could help.",
                          "Thank you, have a wonderful day.", "You too, goodbye!",
                          "Now add a pause button that keeps the remaining time."])
    out = _detect(goes_on)
    assert out["courtesy_loop"].tolist() == [False, False, True, True, True, True, False]
    assert "the conversation goes on" in out["evidence"].iloc[2]
