"""The false alarms of issue 20, each on a real-shaped example that the code before it got
wrong: values taken as role markers, a lost CAMEL done token, an answer restating its
instruction counted as repetition, a phase's sub-task counted as digression (real spaCy
and MiniLM)."""

from __future__ import annotations

import pandas as pd

from artifactual.analysis import audit, run_detector
from artifactual.analysis.detectors.digression import detect_digression
from artifactual.analysis.detectors.markers import infer_markers, is_value, turn_candidates
from artifactual.analysis.tables import CONVERSATION_COLUMNS, to_frames
from artifactual.records import Conversation, Speaker, Turn


def _conv(cid: str, texts: list[str], task: str = "Solve the differential equation.",
          speakers: tuple[str, str] = ("AI User", "AI Assistant")) -> Conversation:
    return Conversation(
        id=cid, task=task,
        speakers=[Speaker(name=speakers[0], role="user"), Speaker(name=speakers[1], role="assistant")],
        turns=[Turn(index=i, speaker=speakers[i % 2], content=t) for i, t in enumerate(texts)])


def _camel_with_none_inputs() -> list[Conversation]:
    """Five CAMEL-convention dialogues whose AI user writes its input on its own line,
    'Input:' then 'None' (as GPT-3.5 often does); one answer names a return type None."""
    convs = []
    for k in range(5):
        texts = []
        for step in range(3):
            texts.append(f"Instruction: Write step {step + 1} of the parser for file {k}.\nInput:\nNone")
            answer = f"Solution&Action: Step {step + 1} reads the header and splits the fields."
            if k == 0 and step == 1:
                answer += "\nReturn Type: None\nThe function only prints the fields."
            texts.append(answer + "\nNext request.")
        convs.append(_conv(f"d{k}", texts, task="Write a CSV parser."))
    return convs


def test_values_are_never_markers_and_markers_match_where_labels_stand() -> None:
    assert is_value("None") and is_value("N/A") and is_value("42") and not is_value("Next request")
    labels, _ = turn_candidates("Instruction: do it.\nInput:\nNone")
    assert "None" not in labels and "Instruction:" in labels
    turns, _ = to_frames(_camel_with_none_inputs())
    found = infer_markers(turns)
    assert found.markers is not None
    assert "None" not in found.markers.user_markers
    flips = run_detector("role_flip", turns, markers=found.markers)
    assert not flips["role_flip"].any()  # "Return Type: None" in an answer is no flip


def test_a_small_camel_corpus_keeps_its_done_token() -> None:
    base = ["Instruction: Name a peat-free base for the potting mix.\nInput: None",
            "Solution: Use composted bark fines as the base. Next request.",
            "Instruction: Add drainage to the mix.\nInput: None",
            "Solution: Add one part perlite to three parts bark. Next request."]
    convs = [_conv("done", base + ["<CAMEL_TASK_DONE>"]),
             _conv("thanks", base + ["Thank you so much, that is really helpful."]),
             _conv("plain1", base), _conv("plain2", base)]
    turns, _ = to_frames(convs)
    found = infer_markers(turns)
    assert found.markers is not None and "<CAMEL_TASK_DONE>" in found.markers.done_tokens
    out = run_detector("role_flip", turns, markers=found.markers)
    per_conv = out["interruption"].groupby(turns["conversation_id"]).any()
    assert per_conv.to_dict() == {"done": False, "thanks": True, "plain1": False, "plain2": False}


def test_an_answer_restating_its_instruction_or_quoting_code_is_not_repetition() -> None:
    restate = _conv("r", [
        "Instruction: Substitute the initial condition y(0) = 2 into the general solution "
        "y = C e^{3x} to find the constant C.\nInput: None",
        "Solution&Action: To find the constant C, we substitute the initial condition "
        "y(0) = 2 into the general solution y = C e^{3x}, which gives C = 2. Next request."])
    code = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))"
    review = Conversation(
        id="q", task="Write and test an add function.",
        speakers=[Speaker(name="Coder", role="assistant"), Speaker(name="Tester", role="assistant")],
        turns=[Turn(index=0, speaker="Coder", content=f"Here is the function:\n```python\n{code}\n```"),
               Turn(index=1, speaker="Tester", content=f"I ran the code below and it printed 5:\n```python\n{code}\n```")])
    again = _conv("a", ["Please list three shade-tolerant vegetables for a small garden bed.",
                        "Lettuce, spinach and kale all grow well with four hours of sun a day.",
                        "Please list three shade-tolerant vegetables for a small garden bed.",
                        "Chard also grows in partial shade."], task="Plan a garden.")
    turns, _ = to_frames([restate, review, again])
    out = run_detector("content_repetition", turns)
    assert out["content_repetition"].tolist() == [False] * 6 + [True, False]
    assert out["evidence"].iloc[6].startswith("AI User repeats its own turn 0")


def test_a_turn_that_carries_out_its_phase_is_on_task() -> None:
    # a ChatDev environment phase: far from the run's task in words, on task for its phase
    conv = Conversation(
        id="env", task="Develop a simple countdown timer app with a start and a stop button.",
        speakers=[Speaker(name="CTO", role="user"), Speaker(name="Programmer", role="assistant")],
        turns=[Turn(index=0, speaker="Programmer", content=(
            "requirements.txt\n```\npygame==2.1.2\nnumpy==1.26.4\n```\nThese are the Python "
            "package dependencies with pinned versions for installing the environment."))],
        meta={"phase_prompt": "Write a requirements.txt file listing the Python packages and "
                              "versions needed to install the environment for the software."})
    turns, convs = to_frames([conv])
    assert convs.loc[0, "instruction"].startswith("Write a requirements.txt")
    tasks = {"env": conv.task}
    before = detect_digression(turns, tasks=tasks)
    assert bool(before.loc[0, "digression"])  # against the run's task alone it looks off-task
    after = detect_digression(turns, tasks=tasks, instructions={"env": convs.loc[0, "instruction"]})
    assert not bool(after.loc[0, "digression"])
    assert after.loc[0, "instruction_similarity"] > 0.2


def test_the_audit_measures_digression_against_the_phase_instruction(tmp_path) -> None:
    assert "instruction" in CONVERSATION_COLUMNS
    conv = Conversation(id="p", task="Develop a simple countdown timer app.",
                        speakers=[Speaker(name="CTO", role="user"),
                                  Speaker(name="Programmer", role="assistant")],
                        turns=[Turn(index=0, speaker="CTO", content="Please write the file."),
                               Turn(index=1, speaker="Programmer", content=(
                                   "requirements.txt lists pygame 2.1.2 and numpy 1.26.4 as "
                                   "pinned package dependencies for installing the environment."))],
                        meta={"phase_prompt": "Write a requirements.txt file listing the "
                                              "packages needed to install the environment."})
    path = tmp_path / "records.jsonl"
    path.write_text(conv.model_dump_json() + "\n", encoding="utf-8")
    result = audit(path, detectors=["digression"])
    assert pd.notna(result.turns.loc[1, "instruction_similarity"])
    assert not result.turns["digression"].fillna(False).any()


def test_a_service_proposing_the_same_booking_with_another_time_is_not_repeating_itself() -> None:
    """Shaped on Schema-Guided Dialogue: the system proposes a table at 11:15 am, the user
    asks for 11 am, the system proposes again with the new time. A true repeat (the same
    details, or fewer) is still found, and numbered list items are not details."""
    from artifactual.analysis import run_detector
    from artifactual.analysis.tables import to_frames
    from artifactual.records import Conversation, Speaker, Turn

    def conv(cid: str, texts: list[str]) -> Conversation:
        return Conversation(id=cid, task="Book a table for two in Redwood City.",
                            speakers=[Speaker(name="user", role="user"),
                                      Speaker(name="system", role="assistant")],
                            turns=[Turn(index=i, speaker=("user", "system")[i % 2], content=t)
                                   for i, t in enumerate(texts)])

    proposal = ("A table for 2 people at Rocknwraps And Kabobs in Redwood City, on March 13th "
                "at {} am. Is it correct?")
    update = conv("update", ["Book me a table for two at Rocknwraps And Kabobs.",
                             proposal.format("11:15"), "Make it 11 am instead.",
                             proposal.format("11")])
    again = conv("again", ["Book me a table for two at Rocknwraps And Kabobs.",
                           proposal.format("11:15"), "Hm, what did you say?",
                           proposal.format("11:15")])
    steps = "\n".join(f"{k}. You must provide the Output again, which is the task completed."
                      for k in range(1, 6))
    listed = conv("listed", ["List the steps.", steps, "And again?", steps + "\n6. You must "
                             "provide the Output again, which is the task completed.\n7"])
    turns, _ = to_frames([update, again, listed])
    out = run_detector("content_repetition", turns)
    assert out["content_repetition"].tolist() == [False] * 7 + [True] + [False] * 3 + [True]
    assert "repeats its own turn 1" in out["evidence"].iloc[7]
