"""ChatDev run logs: one conversation per phase chat, checked against a hand count of real logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactual.errors import InputError
from artifactual.readers import ErrorLog, read
from artifactual.readers.chatdev import strip_role_prompt

DIR = Path(__file__).parents[1] / "fixtures" / "chatdev"
SPACE = DIR / "space_invasion_2023-10.log"
CPO, CEO, CTO = "Chief Product Officer", "Chief Executive Officer", "Chief Technology Officer"
# hand count (tests/fixtures/chatdev/README.md): phase, assistant, user, turn speakers, end
HAND = [("DemandAnalysis", CPO, CEO, [CPO, CEO, CPO], "<INFO> Application"),
        ("LanguageChoose", CTO, CEO, [CTO], "<INFO> Python"),
        ("Coding", "Programmer", CTO, ["Programmer"], "chat_turn_limit"),
        ("CodeReviewComment", "Code Reviewer", "Programmer", ["Code Reviewer"], "chat_turn_limit")]


def test_one_conversation_per_phase_matches_hand_count() -> None:
    log = ErrorLog()
    convs = list(read(SPACE, errors=log))  # auto-detected
    assert len(log) == 0
    got = [(c.meta["phase"], *[(s.name, s.role) for s in c.speakers], [t.speaker for t in c.turns],
            c.termination_reason) for c in convs]
    assert got == [(p, (a, "assistant"), (u, "user"), turns, end) for p, a, u, turns, end in HAND]
    assert {c.task for c in convs} == {"design a basic arcade game based on the classic space "
                                       "invaders game"}
    assert all(c.source.format == "chatdev" for c in convs)
    assert [c.meta["chat_turn_limit"] for c in convs] == [10, 10, 1, 1]
    assert len({c.id for c in convs}) == 4


def test_system_context_is_not_a_turn() -> None:
    convs = list(read(SPACE))
    speakers = {t.speaker for c in convs for t in c.turns}
    assert "System" not in speakers
    demand = convs[0]
    # the bracketed role prompts are personas, not turn text
    assert demand.turns[0].content.startswith("I think for this arcade game")
    assert demand.turns[2].content == "<INFO> Application"
    assert not any(t.content.startswith("[") for c in convs for t in c.turns)
    personas = {s.name: s.persona for s in demand.speakers}
    assert "You are Chief Product Officer." in personas[CPO]
    assert "You are Chief Executive Officer." in personas[CEO]
    assert demand.meta["phase_prompt"].startswith("ChatDev has made products in the following form")
    assert demand.meta["conclusion"] == "<INFO> Application"
    assert [t.meta["turn"] for t in demand.turns] == [0, 0, 1]


def test_log_without_parameter_tables_takes_roles_from_headers() -> None:
    log = ErrorLog()
    convs = list(read(DIR / "racing_2024-12_no_tables.log", errors=log))
    assert len(log) == 0
    assert [(c.meta["phase"], [(s.name, s.role) for s in c.speakers], len(c.turns)) for c in convs] == [
        ("Coding", [("Programmer", "assistant"), (CTO, "user")], 1),
        ("CodeReviewComment", [("Code Reviewer", "assistant"), ("Programmer", "user")], 1)]
    assert all(c.task is None for c in convs)  # no task_prompt in this layout


def test_other_layout_is_refused_by_name() -> None:
    log = ErrorLog()
    assert list(read(DIR / "calculator_2023-06_agenttech.log", errors=log)) == []
    assert len(log) == 1
    assert "unsupported layout" in log[0].message and "AgentTech" in log[0].message
    assert "ChatDev 1.x" in log[0].fix
    with pytest.raises(InputError, match="June 2023"):
        list(read(DIR / "calculator_2023-06_agenttech.log"))


def test_interrupted_phase_chat_is_an_error_row_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = SPACE.read_text(encoding="utf-8").splitlines()
    cut = next(i for i, x in enumerate(lines) if "on : LanguageChoose, turn 0" in x)
    path = tmp_path / "cut.log"  # LanguageChoose starts but the log ends before its reply
    path.write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    log = ErrorLog()
    convs = list(read(path, errors=log))
    assert [c.meta["phase"] for c in convs] == ["DemandAnalysis"]
    assert len(log) == 1 and log[0].line == 170 and "LanguageChoose has no turns" in log[0].message


def test_strip_role_prompt() -> None:
    assert strip_role_prompt("[You are A.\nHelp.]\n\nHello") == ("You are A.\nHelp.", "Hello")
    assert strip_role_prompt("[link] text\nmore") == (None, "[link] text\nmore")
    assert strip_role_prompt("plain") == (None, "plain")


def test_group_by_phase_in_audit() -> None:
    import artifactual

    result = artifactual.audit(SPACE, group_by="phase", detectors=["impersonation"])
    assert sorted(result.conversations["phase"]) == sorted(p for p, *_ in HAND)
    assert result.conversations["n_speakers"].tolist() == [2, 2, 2, 2]
    assert "System" not in set(result.turns["speaker"])
