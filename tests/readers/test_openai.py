"""OpenAI chat ``messages`` JSONL reader: speakers, content rendering, bad lines."""

from __future__ import annotations

from pathlib import Path

from artifactual.readers import ErrorLog, read

CHATS = Path(__file__).parents[1] / "fixtures" / "openai" / "chats.jsonl"


def _read() -> tuple[dict, ErrorLog]:
    log = ErrorLog()
    return {c.id: c for c in read(CHATS, errors=log)}, log


def test_detected_with_ids_and_sources() -> None:
    convs, _ = _read()
    assert list(convs) == ["potluck", "chats:5", "chats:9"]
    assert [c.source.line for c in convs.values()] == [1, 5, 9]
    assert all(c.source.format == "openai" and c.source.path == str(CHATS)
               for c in convs.values())
    assert convs["potluck"].meta == {"model": "demo-model"}


def test_names_tell_apart_speakers_sharing_a_role_and_system_is_a_speaker() -> None:
    conv = _read()[0]["potluck"]
    assert [(s.name, s.role) for s in conv.speakers] == [
        ("system", "system"), ("Alice", "user"), ("Bob", "user"), ("assistant", "assistant")]
    assert [t.speaker for t in conv.turns] == ["system", "Alice", "Bob", "assistant", "Alice"]
    assert conv.turns[0].content.startswith("You help a book club")
    assert [t.index for t in conv.turns] == list(range(5))


def test_parts_tool_calls_and_roles() -> None:
    conv = _read()[0]["chats:5"]
    assert [(s.name, s.role) for s in conv.speakers] == [
        ("developer", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool")]
    texts = [t.content for t in conv.turns]
    assert texts[0] == "Answer briefly."
    assert texts[1] == "Convert 5 km to miles.\n[image_url]"
    assert texts[2] == '[tool call] convert({"km": 5})'
    assert conv.turns[3].meta["tool_call_id"] == "c1"


def test_one_name_with_two_roles_stays_two_speakers() -> None:
    conv = _read()[0]["chats:9"]
    assert [(s.name, s.role) for s in conv.speakers] == [("Dana", "user"),
                                                         ("Dana (assistant)", "assistant")]


def test_bad_lines_become_errors_with_clear_messages() -> None:
    _, log = _read()
    by_line = {e.line: e for e in log}
    assert sorted(by_line) == [2, 3, 4, 6, 8]
    assert "truncated" in by_line[2].message
    assert "empty conversation" in by_line[3].message
    assert by_line[4].message == "messages[1] has no 'role'"
    assert "got list" in by_line[6].message
    assert "'messages' is str" in by_line[8].message
    assert all(e.fix and e.path == str(CHATS) for e in log)
    assert by_line[4].record_id == "chats:4"


def test_forced_format_on_a_camel_file_reports_each_item() -> None:
    camel = Path(__file__).parents[1] / "fixtures" / "camel" / "good" / "garden_clean.json"
    log = ErrorLog()
    assert list(read(camel, format="openai", errors=log)) == []
    assert len(log) == 1 and "no 'messages' list" in log[0].message
