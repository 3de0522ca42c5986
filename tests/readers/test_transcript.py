"""Plain-text transcripts: speaker lines, multi-line turns, separators, custom patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactual.errors import InputError
from artifactual.readers import ErrorLog, read

DIR = Path(__file__).parents[1] / "fixtures" / "transcript"


def test_turns_multiline_and_separated_conversations() -> None:
    log = ErrorLog()
    convs = list(read(DIR / "standup.txt", errors=log))
    assert len(log) == 0
    assert [(c.id, c.source.line) for c in convs] == [("standup:1", 1), ("standup:15", 15)]
    first, second = convs
    assert first.meta["preamble"] == "Weekly stand-up, recorded by the team bot."
    assert [(s.name, s.role) for s in first.speakers] == [
        ("Priya", "participant"), ("Tom", "participant"), ("AI Assistant", "assistant")]
    assert first.turns[1].content == ("I finished the export job.\nIt now writes one file per day\n"
                                      "and retries on timeouts.")
    assert first.turns[2].content == "Summary so far: exports are done."
    assert "----\nThe rule above is inside Priya's turn" in first.turns[3].content
    assert [t.meta["line"] for t in first.turns] == [3, 4, 7, 8, 12]
    assert [t.speaker for t in second.turns] == ["Priya", "Dr. O'Neil", "Tom", "Priya"]
    assert all(c.source.format == "transcript" for c in convs)


def test_sniffing_skips_prose_and_json_content() -> None:
    log = ErrorLog()
    convs = list(read(DIR, errors=log))
    assert [c.id for c in convs] == ["standup:1", "standup:15"]
    assert sorted(Path(e.path).name for e in log) == ["bracketed.txt", "looks_like_json.txt",
                                                      "prose.txt"]
    assert all("unknown input format" in e.message for e in log)


def test_custom_speaker_pattern() -> None:
    pattern = r"^\[[0-9:]+\] (?P<speaker>[^:]+): "
    convs = list(read(DIR / "bracketed.txt", options={"speaker_pattern": pattern}))
    assert [(t.speaker, t.content) for t in convs[0].turns] == [
        ("Ana", "Shall we start?"),
        ("Luis", "Yes. First item: the budget.\n   The budget is still open."),
        ("Ana", "Then we wait.")]
    assert convs[0].id == "bracketed" and convs[0].source.line is None


def test_forced_format_reports_files_without_speaker_lines() -> None:
    log = ErrorLog()
    assert list(read(DIR / "prose.txt", format="transcript", errors=log)) == []
    assert len(log) == 1 and "no speaker lines" in log[0].message and log[0].line == 1


def test_invalid_patterns_fail_at_once() -> None:
    with pytest.raises(InputError, match="named group 'speaker'"):
        read(DIR, options={"speaker_pattern": r"^(\w+): "})
    with pytest.raises(InputError, match="invalid speaker pattern"):
        read(DIR, format="transcript", options={"speaker_pattern": "(?P<speaker>"})


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Zo\xeb: caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("  \n")
    log = ErrorLog()
    assert list(read(tmp_path, format="transcript", errors=log)) == []
    by_name = {Path(e.path).name: e.message for e in log}
    assert "cannot read file" in by_name["latin1.txt"] and by_name["empty.txt"] == "the file is empty"
