"""Plain-text transcripts (format ``"transcript"``): ``Name: text`` lines, ``.txt`` files.

A line that matches the speaker pattern starts a turn of that speaker; the rest
of the line and every following line up to the next speaker line are its text
(multi-line turns). The pattern is a regular expression with a named group
``speaker``, matched at the start of each line; the turn's text starts where the
match ends. The default, :data:`DEFAULT_SPEAKER_PATTERN`, accepts a capitalised
label of up to 41 characters followed by a colon and a space or the line's end
(``Alice:``, ``AI Assistant:``, ``Dr. O'Neil:``). Pass another with
``options={"speaker_pattern": ...}`` (``audit --speaker-pattern``), e.g.
``^\\[[0-9:]+\\] (?P<speaker>[^:]+): `` for ``[12:03] Alice: hi``.

A file holds one conversation, or several separated by a line of ``---``, ``===``
or ``***`` that is followed by a speaker line. Text before the first speaker
line is kept as ``meta["preamble"]``. Speakers named like a role (``User``,
``Human``, ``AI User``; ``Assistant``, ``AI Assistant``, ``AI``, ``Bot``;
``System``) get that role; the others role ``participant``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import ErrorLog, Reader, read_head, reader
from artifactual.readers.openai_messages import SpeakerBook
from artifactual.records import Conversation, Source, Turn

__all__ = ["TranscriptReader", "DEFAULT_SPEAKER_PATTERN", "compile_speaker_pattern",
           "parse_transcript"]

DEFAULT_SPEAKER_PATTERN = r"^(?P<speaker>[A-Z][\w .'()-]{0,40}?)[ \t]*:(?:[ \t]+|$)"
_SEPARATOR = re.compile(r"^\s*(?:-{3,}|={3,}|\*{3,})\s*$")
_ROLES = {"user": "user", "human": "user", "ai user": "user", "assistant": "assistant",
          "ai assistant": "assistant", "ai": "assistant", "bot": "assistant",
          "chatbot": "assistant", "system": "system"}
_SNIFF_BYTES = 65536
_FIX_PATTERN = "pass a regex with a named group, e.g. --speaker-pattern '^(?P<speaker>\\w+): '"


def compile_speaker_pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str]:
    """Compile a speaker regex; InputError when it is invalid or has no ``speaker`` group."""
    if pattern is None:
        pattern = DEFAULT_SPEAKER_PATTERN
    try:
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(str(pattern))
    except re.error as exc:
        raise InputError(f"invalid speaker pattern {pattern!r}: {exc}", fix=_FIX_PATTERN) from None
    if "speaker" not in rx.groupindex:
        raise InputError(f"speaker pattern {rx.pattern!r} has no named group 'speaker'",
                         fix=_FIX_PATTERN)
    return rx


def _speaker_at(rx: re.Pattern[str], line: str) -> tuple[str, int] | None:
    m = rx.match(line)
    if m is None or not (m.group("speaker") or "").strip():
        return None
    return " ".join(m.group("speaker").split()), m.end()


def _segments(lines: list[str], rx: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` line ranges (0-based, end exclusive) of the conversations."""
    start = 0
    for n, line in enumerate(lines):
        if not _SEPARATOR.match(line):
            continue
        m = n + 1
        while m < len(lines) and not lines[m].strip():
            m += 1
        if m == len(lines) or _speaker_at(rx, lines[m]) is not None:
            yield start, n
            start = n + 1
    yield start, len(lines)


def parse_transcript(lines: list[str], rx: re.Pattern[str],
                     first_line: int = 1) -> tuple[list[Turn], SpeakerBook, str]:
    """Turns, speakers and preamble of one conversation's lines (``first_line`` = 1-based
    number of ``lines[0]`` in its file, stored as each turn's ``meta["line"]``)."""
    book = SpeakerBook()
    pending: list[tuple[str, int, list[str]]] = []  # speaker, line number, text lines
    preamble: list[str] = []
    for n, line in enumerate(lines):
        hit = _speaker_at(rx, line)
        if hit is None:
            (pending[-1][2] if pending else preamble).append(line)
            continue
        name, end = hit
        speaker = book.add(name, _ROLES.get(name.casefold(), "participant"))
        pending.append((speaker, first_line + n, [line[end:]]))
    turns = [Turn(index=i, speaker=who, content="\n".join(text).strip(), meta={"line": at})
             for i, (who, at, text) in enumerate(pending)]
    return turns, book, "\n".join(preamble).strip()


@reader("transcript")
class TranscriptReader(Reader):
    """Plain ``Name: text`` transcripts (``.txt``); see the module docstring."""

    suffixes = (".txt",)

    def __init__(self, speaker_pattern: str | re.Pattern[str] | None = None) -> None:
        self.pattern = compile_speaker_pattern(speaker_pattern)

    def with_options(self, **options: Any) -> "TranscriptReader":
        pattern = options.get("speaker_pattern")
        return self if pattern is None else TranscriptReader(pattern)

    def sniff_file(self, path: Path, first_obj: Any | None) -> bool:
        if first_obj is not None:
            return False
        head = read_head(path, _SNIFF_BYTES)
        if head is None:
            return False
        stripped = head.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                json.loads(stripped.splitlines()[0])
                return False  # JSON, not a transcript
            except ValueError:
                pass
        return any(_speaker_at(self.pattern, line) for line in head.splitlines())

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Conversation]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            log.add(path=str(path), message=f"cannot read file: {exc}",
                    fix="check that the file exists, is readable and is UTF-8 text")
            return
        if not text.strip():
            log.add(path=str(path), message="the file is empty",
                    fix="drop it, or write the transcript as 'Name: text' lines")
            return
        lines = text.splitlines()
        segments = list(_segments(lines, self.pattern))
        for start, end in segments:
            if not any(x.strip() for x in lines[start:end]):
                continue
            turns, book, preamble = parse_transcript(lines[start:end], self.pattern, start + 1)
            first = next(n for n in range(start, end) if lines[n].strip()) + 1
            line = first if len(segments) > 1 else None
            if not turns:
                log.add(path=str(path), line=first,
                        message=f"no speaker lines: no line matches the speaker pattern "
                                f"{self.pattern.pattern!r}",
                        fix="write turns as 'Name: text' lines, or pass --speaker-pattern "
                            "with a regex that has a named group 'speaker'")
                continue
            yield Conversation(
                id=f"{path.stem}:{line}" if line is not None else path.stem,
                speakers=book.list(), turns=turns,
                source=Source(format="transcript", path=str(path), line=line),
                meta={"preamble": preamble} if preamble else {})
