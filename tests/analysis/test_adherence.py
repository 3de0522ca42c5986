"""Role adherence without markers: speech acts from the real spaCy parse; agreement with the
paper's marker rule on CAMEL-format dialogues."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis.detectors.adherence import (adherence_agreement, detect_role_adherence,
                                            speech_acts)
from artifactual.analysis.tables import to_frames
from artifactual.analysis.text import parse
from artifactual.errors import AnalysisError
from artifactual.readers import read
from artifactual.records import Conversation, Speaker, Turn

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize("text, expected", [
    ("Please write a function that sorts a list.", (1, 1, 0, 0, 0)),
    ("Instruction: Name a peat-free base for the mix.\nInput: None", (1, 0, 0, 0, 0)),
    ("Instruction: Tell me how warm your greenhouse stays at night.", (1, 1, 0, 0, 0)),
    ("You should install the package first.", (1, 0, 0, 0, 0)),
    ("I need you to summarize the report.", (1, 1, 0, 0, 0)),
    ("What is the capital of France?", (0, 0, 1, 0, 0)),
    ("Could you send the error message?", (1, 1, 1, 0, 0)),
    ("The pianist must live in House 1.", (0, 0, 0, 1, 0)),
    ("Here is the code:\n```python\nprint(1)\n```", (0, 0, 0, 2, 0)),
    ("- bark fines\n- perlite", (0, 0, 0, 2, 0)),
    ("Let's use the fourth clue.", (0, 0, 0, 0, 0)),
    ("Thank you so much, that is really helpful.", (0, 0, 0, 0, 1)),
])
def test_speech_acts(text: str, expected: tuple[int, ...]) -> None:
    acts = speech_acts(parse([text])[0])
    assert (acts.directive, acts.addressed, acts.question, acts.answer,
            acts.acknowledgement) == expected


def _turns(messages: list[tuple[str, str]], roles: dict[str, str]) -> pd.DataFrame:
    conv = Conversation(id="c", speakers=[Speaker(name=n, role=r) for n, r in roles.items()],
                        turns=[Turn(index=i, speaker=s, content=c)
                               for i, (s, c) in enumerate(messages)])
    return to_frames([conv])[0]


def test_declared_roles_information_requests_are_not_violations() -> None:
    turns = _turns([
        ("Owner", "Suggest a price for the seeded rye."),
        ("Baker", "Please tell me how much you pay for rye flour."),
        ("Owner", "The rye flour costs two pounds per kilogram at the mill."),
        ("Baker", "A price of four pounds fifty keeps a healthy margin. Next request."),
        ("Owner", "The seeded rye sells best on Saturdays at the market."),
        ("Baker", "Now you write the price labels for the shelf yourself."),
        ("Owner", "Great, thank you."),
    ], {"Owner": "user", "Baker": "assistant"})
    out = detect_role_adherence(turns)
    # 1 asks for information (fine), 2 answers it (fine); 4 delivers content unasked;
    # 5 hands the work back
    assert out["role_adherence_violation"].tolist() == [False, False, False, False, True, True,
                                                        False]
    assert out.loc[1, "request_acts"] == 1 and out.loc[1, "handback_acts"] == 0
    assert out.loc[4, "evidence"].startswith("director delivers solution content")
    assert out.loc[5, "evidence"].startswith("solver hands the task back")
    assert "Now you write the price labels" in out.loc[5, "evidence"]


def test_profiles_are_learned_for_speakers_without_user_or_assistant_role() -> None:
    messages = [
        ("Chef", "Chop the onions finely."), ("Cook", "The onions are chopped and soft now."),
        ("Chef", "Add the garlic after two minutes."), ("Cook", "The garlic smells sweet now."),
        ("Chef", "The sauce needs twenty minutes on a low heat."),
        ("Cook", "Please stir the sauce for me while I set the table."),
    ]
    turns = _turns(messages, {"Chef": "persona", "Cook": "persona"})
    learned = detect_role_adherence(turns)
    # Chef: 2 directives > 1 answer -> director; Cook: 2 answers > 1 directive -> solver
    assert learned["role_adherence_violation"].tolist() == [False, False, False, False, True,
                                                            True]
    assert not detect_role_adherence(turns, profile="declared")["role_adherence_violation"].any()
    assert not detect_role_adherence(turns, min_turns=4)["role_adherence_violation"].any()
    with pytest.raises(AnalysisError, match="unknown profile"):
        detect_role_adherence(turns, profile="guess")


def test_agreement_counts_match_both_detectors() -> None:
    turns = _turns([
        ("U", "Instruction: List three ferns for shade.\nInput: None"),
        ("A", "Solution: Hart's tongue, lady fern and soft shield fern grow well in shade."),
        ("U", "Solution: The soil in my garden is heavy clay and stays wet."),
        ("A", "Instruction: Tell me how much light the bed gets.\nInput: None"),
        ("U", "It gets two hours of sun in the evening and it stays damp."),
        ("A", "Solution: Lady fern copes with damp clay best. Next request."),
    ], {"U": "user", "A": "assistant"})
    # marker rule: flips at 2 and 3, interruption at 4; adherence: violations at 2 and 3
    # (turn 4 answers the information turn 3 asked for, so it is not a violation)
    r = adherence_agreement(turns)
    assert r["n"] == 6
    assert r["confusion"].to_numpy().tolist() == [[4, 0], [0, 2]]
    assert r["agreement"] == 1.0
    assert r["precision"] == 1.0 and r["recall"] == 1.0
    assert r["kappa"] == pytest.approx(1.0)


def test_agreement_with_the_marker_rule_on_held_out_camel_dialogues() -> None:
    """camel_heldout.jsonl was written after the act rules were fixed; the camel fixtures of
    the foundation issue and camel_dialogues.jsonl were used while writing them."""
    figures = {}
    for name, path in [("held-out", FIXTURES / "adherence" / "camel_heldout.jsonl"),
                       ("development", FIXTURES / "adherence" / "camel_dialogues.jsonl"),
                       ("foundation", FIXTURES / "camel" / "good")]:
        turns, _ = to_frames(read(path))
        figures[name] = r = adherence_agreement(turns)
        print(f"{name}: n={r['n']} agreement={r['agreement']:.3f} kappa={r['kappa']:.3f} "
              f"precision={r['precision']} recall={r['recall']}\n{r['confusion']}")
    held = figures["held-out"]
    assert held["n"] == 48
    assert held["agreement"] >= 0.85 and held["kappa"] >= 0.6
