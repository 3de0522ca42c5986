"""AutoGen / AG2 group chats: N speakers from the names, checked against a hand count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactual.readers import ErrorLog, read

DIR = Path(__file__).parents[1] / "fixtures" / "autogen"
MARKETING = ["Chairperson", "Chief_Marketing_Officer", "Product_Manager", "Digital_Marketer"]


def test_group_chat_json_is_one_conversation_with_n_speakers() -> None:
    log = ErrorLog()
    convs = list(read(DIR / "groupchat_marketing.json", errors=log))  # auto-detected
    assert len(log) == 0 and len(convs) == 1
    conv = convs[0]
    assert conv.id == "groupchat_marketing" and conv.source.format == "autogen"
    assert [t.speaker for t in conv.turns] == MARKETING
    # every message says role "user": a role shared by all agents becomes "participant"
    assert [(s.name, s.role) for s in conv.speakers] == [(n, "participant") for n in MARKETING]
    assert {t.meta["role"] for t in conv.turns} == {"user"}
    assert conv.task.startswith("Let's get this meeting started.")
    assert conv.termination_reason == "TERMINATE"
    assert "As the Product_Manager, I'd like to present" in conv.turns[1].content


def test_jsonl_lists_and_chat_history_objects() -> None:
    log = ErrorLog()
    convs = list(read(DIR / "groupchats.jsonl", errors=log))
    assert len(log) == 0
    assert [(c.id, c.source.line, [t.speaker for t in c.turns]) for c in convs] == [
        ("groupchats:1", 1, ["Admin", "Planner", "Admin", "Planner"]),
        ("groupchats:2", 2, MARKETING)]
    assert [c.termination_reason for c in convs] == [None, "TERMINATE"]


def test_two_agent_history_keeps_roles_and_tool_turns(tmp_path: Path) -> None:
    history = {"chat_id": 7, "summary": "done", "chat_history": [
        {"content": "Price of NVDA?", "role": "assistant", "name": "user_proxy"},
        {"content": None, "role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_prices", "arguments": "{}"}}]},
        {"content": "/tmp/p.csv", "role": "tool", "name": "user_proxy",
         "tool_responses": [{"tool_call_id": "c1", "role": "tool", "content": "/tmp/p.csv"}]},
        {"content": "Saved. TERMINATE.", "role": "user", "name": "chatbot"}]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(history), encoding="utf-8")
    (conv,) = read(path)
    assert conv.id == "7" and conv.meta["summary"] == "done"
    assert [(s.name, s.role) for s in conv.speakers] == [
        ("user_proxy", "assistant"), ("assistant", "assistant"), ("user_proxy (tool)", "tool"),
        ("chatbot", "user")]
    assert conv.turns[1].content == "[tool call] get_prices({})"
    assert conv.termination_reason == "TERMINATE"


def test_bad_items_are_errors_and_good_ones_are_read(tmp_path: Path) -> None:
    good = json.loads((DIR / "groupchats.jsonl").read_text(encoding="utf-8").splitlines()[0])
    lines = [json.dumps(good), json.dumps([{"content": "x"}]), json.dumps({"chat_history": []}),
             json.dumps([good[0], 5])]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = ErrorLog()
    convs = list(read(path, format="autogen", errors=log))
    assert [c.source.line for c in convs] == [1]
    assert [(e.line, e.message) for e in log] == [
        (2, "messages[0] has no 'role'"), (3, "empty conversation: no messages"),
        (4, "messages[1] is int, not an object")]
    assert all(e.fix for e in log)


def test_audit_uses_all_speakers_of_the_group_chat(tmp_path: Path) -> None:
    """Impersonation checks every participant's name: a line labelled with another
    agent's name inside a turn is flagged (a controlled injection into the real chat)."""
    import artifactual

    msgs = json.loads((DIR / "groupchat_marketing.json").read_text(encoding="utf-8"))
    msgs[1]["content"] += "\nChairperson: Thank you all, the meeting is over."
    path = tmp_path / "injected.json"
    path.write_text(json.dumps(msgs), encoding="utf-8")
    result = artifactual.audit(path, detectors=["impersonation", "role_adherence"])
    assert result.conversations["n_speakers"].tolist() == [4]
    assert result.turns["speaker"].tolist() == MARKETING
    assert result.turns["impersonation"].tolist() == [False, True, False, False]
    assert "Chairperson:" in result.turns["evidence"][1]


def test_underscore_names_are_impersonation_labels() -> None:
    from artifactual.analysis.detectors.impersonation import find_impersonation

    assert find_impersonation("Sure.\nDigital_Marketer: three ideas", "Chief_Marketing_Officer",
                              "participant", MARKETING) is not None
    assert find_impersonation("**_Digital_Marketer_**: three ideas", "Chief_Marketing_Officer",
                              "participant", MARKETING) is not None  # emphasis around the name
    assert find_impersonation("Chief_Marketing_Officer: my own label", "Chief_Marketing_Officer",
                              "participant", MARKETING) is None
