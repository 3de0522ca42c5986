"""ShareGPT reader: role mapping, extra speakers, JSON lists and JSONL, bad items."""

from __future__ import annotations

from pathlib import Path

from artifactual.readers import ErrorLog, read

DIR = Path(__file__).parents[1] / "fixtures" / "sharegpt"


def test_known_from_values_map_to_roles_and_top_level_system_is_a_turn() -> None:
    conv = next(c for c in read(DIR / "mixed.json", errors=ErrorLog()) if c.id == "sg-1")
    assert [(s.name, s.role) for s in conv.speakers] == [
        ("system", "system"), ("user", "user"), ("assistant", "assistant")]
    assert [t.speaker for t in conv.turns] == ["system", "user", "assistant", "user", "assistant"]
    assert conv.turns[0].content == "You are a patient tutor."
    assert conv.turns[1].meta["from"] == "human"
    assert conv.source.format == "sharegpt" and conv.source.line is None


def test_unknown_from_values_become_extra_speakers() -> None:
    conv = next(c for c in read(DIR / "mixed.json", errors=ErrorLog()) if c.id == "sg-2")
    assert [(s.name, s.role) for s in conv.speakers] == [
        ("user", "user"), ("Narrator", "narrator"), ("bing", "bing"), ("assistant", "assistant")]
    assert [t.speaker for t in conv.turns] == ["user", "Narrator", "bing", "assistant", "bing"]


def test_bad_items_are_errors_and_the_rest_is_read() -> None:
    log = ErrorLog()
    ids = [c.id for c in read(DIR, errors=log)]
    assert ids == ["lines:1", "lines:4", "sg-1", "sg-2"]  # files in sorted order
    got = {(Path(e.path).name, e.line, e.record_id): e.message for e in log}
    assert got == {
        ("lines.jsonl", 2, None): "the JSON ends early at column 60 (truncated?)",
        ("lines.jsonl", 3, "lines:3"): "empty conversation: 'conversations' is []",
        ("mixed.json", None, "sg-3"): "conversations[1] has no 'value'",
        ("mixed.json", None, "sg-4"): "conversations[0] has no 'from'",
        ("mixed.json", None, "mixed#5"): "expected a JSON object, got str",
    }
    assert all(e.fix for e in log)


def test_role_content_items_and_the_singular_key() -> None:
    conv = next(c for c in read(DIR / "lines.jsonl", errors=ErrorLog()) if c.id == "lines:4")
    assert [(t.speaker, t.content) for t in conv.turns] == [
        ("user", "Role/content items are fine too."), ("assistant", "Indeed.")]
