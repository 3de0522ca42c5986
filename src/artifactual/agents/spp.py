"""Solo Performance Prompting: one model plays several personas in one generation.

This module is the single source of truth for the SPP transcript format, used by
the generator (``generation/spp.py``) and by readers alike. It depends only on
:mod:`artifactual.records` and :mod:`artifactual.agents.templates`, never on
generation or analysis, so ``readers/spp.py`` can import it.

A transcript looks like::

    Participants: AI Assistant (you); Historian; Cartographer
    Start collaboration!
    Historian: ...
    AI Assistant (you): ...
    Finish collaboration!
    Final answer: ...

:func:`parse_spp` tolerates markdown bold around names, a participant block with
one ``- Name: profile`` line per persona, turns that span several lines, speakers
missing from the participant list (kept, and reported in ``problems``) and a
missing ``Final answer`` (``parsed_ok`` is then False).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from artifactual.agents.templates import Strategy
from artifactual.records import Conversation, Outcome, Speaker, Turn

__all__ = ["SPPTranscript", "parse_spp", "parse_spp_transcript", "build_messages",
           "transcript_to_conversation", "ASSISTANT_NAME", "is_persona_strategy"]

ASSISTANT_NAME = "AI Assistant"
_FINAL = re.compile(r"^[ \t>*_#]*final[ \t]+answer[ \t*_]*[:：][ \t*_]*", re.I | re.M)
_PARTICIPANTS = re.compile(r"^[ \t*_#]*participants?[ \t*_]*[:：][ \t*_]*(.*)$", re.I | re.M)
_TURN = re.compile(r"^[ \t]*[*_]{0,2}([A-Za-z][^:*\n]{0,60}?)[ \t]*[*_]{0,2}[ \t]*[:：][*_]{0,2}[ \t]*(.*)$")
_BULLET = re.compile(r"^[ \t]*(?:[-*•]|\d+[.)])[ \t]+(.*)$")
_MARKER = re.compile(r"^[ \t*_#]*(start|finish|end|begin)[ \t]+(the[ \t]+)?collaboration\b.*$", re.I)
_YOU = re.compile(r"\s*\((?:you|me|yourself)\)\s*$", re.I)
_CONNECTORS = {"of", "the", "and", "in", "on", "for", "de", "to", "a", "an", "&"}
#: Labels that start lines like ``Note: ...`` inside a turn; never taken for a speaker.
_NOT_SPEAKERS = {
    "note", "notes", "step", "clue", "clues", "hint", "answer", "question", "q", "a", "input",
    "output", "example", "task", "solution", "therefore", "conclusion", "summary", "result",
    "reasoning", "explanation", "final answer", "participants", "participant", "option",
    "choice", "house", "thought", "thoughts", "plan", "feedback", "suggestion", "story",
    "instruction", "response", "warning", "important", "update", "draft", "revision",
}


@dataclass
class SPPTranscript:
    """One parsed SPP output. ``parsed_ok`` is True when a non-empty final answer was found."""

    speakers: list[Speaker]
    turns: list[Turn]
    final_answer: str | None
    parsed_ok: bool
    participants: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    body: str = ""  # the text before the final answer


def _clean_name(raw: str) -> tuple[str, bool]:
    """Display name without markup or a ``(you)`` tag; the flag says the tag was there."""
    name = raw.strip().strip("*_`\"'").strip()
    you = bool(_YOU.search(name))
    return _YOU.sub("", name).strip().rstrip(".").strip(), you


def _split_profile(item: str) -> tuple[str, str | None]:
    """``Name (profile)`` or ``Name: profile`` or ``Name - profile`` -> (name, profile)."""
    item = item.strip()
    m = re.match(r"^(.*?)\s*:\s*(.+)$", item) or re.match(r"^(.*?)\s+[-–—]\s+(.+)$", item)
    if m:
        return m.group(1), m.group(2).strip()
    m = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", item)
    if m and not _YOU.search(item):
        return m.group(1), m.group(2).strip()
    return item, None


def _split_items(inline: str) -> list[str]:
    """Split an inline participant list on ';' (or on commas outside parentheses and 'and')."""
    if ";" in inline:
        items = inline.split(";")
    else:
        items = re.split(r",(?![^()]*\))", inline)
        if len(items) == 1:
            items = re.split(r"\s+and\s+", inline)
    return [re.sub(r"^\s*and\s+", "", x).strip() for x in items if x.strip()]


def _participants(text: str) -> tuple[list[tuple[str, str | None, bool]], int]:
    """Declared personas (name, profile, is_you) and the offset where the dialogue starts."""
    m = _PARTICIPANTS.search(text)
    if not m:
        return [], 0
    pos = m.end()
    inline = m.group(1).strip()
    if inline:
        items = _split_items(inline)
    else:  # a block: one "- Name: profile" line per persona
        items = []
        lines = text[pos:].split("\n")
        consumed = len(lines[0])
        for line in lines[1:]:
            b = _BULLET.match(line)
            if b:
                items.append(b.group(1))
            elif line.strip() or items:
                break
            consumed += 1 + len(line)
        pos += consumed
    out: list[tuple[str, str | None, bool]] = []
    for item in items:
        raw_name, profile = _split_profile(item)
        name, you = _clean_name(raw_name)
        if name:
            out.append((name, profile, you))
    return out, pos


def _speaker_like(name: str) -> bool:
    """A plausible persona name: 1-5 title-case words, no digits, not a common line label."""
    if name.lower() in _NOT_SPEAKERS or any(ch.isdigit() for ch in name):
        return False
    words = name.split()
    if not 1 <= len(words) <= 5 or not re.fullmatch(r"[A-Za-z][A-Za-z.'&\- ]*", name):
        return False
    return all(w[0].isupper() or w.lower() in _CONNECTORS for w in words)


def parse_spp(text: str) -> SPPTranscript:
    """Parse one SPP output into speakers, turns and the final answer (never raises)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    problems: list[str] = []
    finals = list(_FINAL.finditer(text))
    answer = text[finals[-1].end():].strip() if finals else None
    body_end = finals[-1].start() if finals else len(text)
    if not finals:
        problems.append("no 'Final answer:' line")
    elif not answer:
        problems.append("the 'Final answer:' line is empty")
    declared, start = _participants(text[:body_end])
    if not declared:
        problems.append("no participant list")
    known = {n.lower(): n for n, _, _ in declared}
    you = {n for n, _, y in declared if y}
    turns: list[Turn] = []
    current: list[str] | None = None  # the lines of the open turn
    unlisted: list[str] = []

    def close() -> None:
        if turns and current is not None:
            turns[-1].content = "\n".join(current).strip()

    for offset, line in _lines(text, start, body_end):
        marker = _MARKER.match(line)
        if marker:
            if marker.group(1).lower() in ("finish", "end"):  # text after it belongs to no persona
                close()
                current = None
            continue
        m = _TURN.match(line)
        name = _clean_name(m.group(1))[0] if m else ""
        if m and (name.lower() in known or _speaker_like(name)):
            if _YOU.search(m.group(1).strip().strip("*_")):
                you.add(known.get(name.lower(), name))
            listed = name.lower() in known
            if not listed and name not in unlisted:
                unlisted.append(name)
                problems.append(f"speaker {name!r} is not in the participant list")
            close()
            turns.append(Turn(index=len(turns), speaker=known.get(name.lower(), name), content="",
                              meta={"line": offset, "listed": listed}))
            current = [m.group(2)]
        elif current is not None:
            current.append(line)
    close()
    speakers = [Speaker(name=n, role=_role(n, you), persona=p) for n, p, _ in declared]
    speakers += [Speaker(name=n, role=_role(n, you)) for n in unlisted]
    if declared and not turns:
        problems.append("no persona turns")
    return SPPTranscript(speakers=speakers, turns=turns, final_answer=answer or None,
                         parsed_ok=bool(answer), participants=[n for n, _, _ in declared],
                         unlisted=unlisted, problems=problems, body=text[:body_end].strip())


def _lines(text: str, start: int, end: int):
    """(1-based line number, line) for the lines of ``text[start:end]``."""
    first = text.count("\n", 0, start) + 1
    for i, line in enumerate(text[start:end].split("\n")):
        yield first + i, line


def _role(name: str, you: set[str]) -> str:
    return "assistant" if name in you or name.lower() == ASSISTANT_NAME.lower() else "persona"


def parse_spp_transcript(text: str) -> tuple[list[Speaker], list[Turn], str | None, bool]:
    """``(speakers, turns, final_answer, parsed_ok)`` of one SPP output; see :func:`parse_spp`."""
    t = parse_spp(text)
    return t.speakers, t.turns, t.final_answer, t.parsed_ok


# -- prompts and output --------------------------------------------------------------------
def is_persona_strategy(strategy: Strategy) -> bool:
    """True when the strategy asks for a multi-persona transcript (its ``format`` macro)."""
    return strategy.render("format").strip().lower() == "personas"


def build_messages(strategy: Strategy, question: str, answer_hint: str = "") -> list[dict[str, str]]:
    """Chat messages for one task under a strategy (macros ``system`` and ``prompt``)."""
    system = strategy.render("system")
    user = strategy.render("prompt", question=question.strip(), answer_hint=answer_hint.strip())
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def transcript_to_conversation(id: str, text: str, *, personas: bool = True) -> Conversation:
    """A parsed output as a Conversation (provenance and correctness are added by the caller).

    With ``personas=False`` (standard / chain-of-thought strategies) the text before the
    final answer is one turn by the AI Assistant.
    """
    t = parse_spp(text)
    meta: dict = {"raw_output": text}
    if personas:
        speakers, turns, problems = t.speakers, t.turns, t.problems
        meta.update(participants=t.participants, unlisted_speakers=t.unlisted)
    else:
        speakers = [Speaker(name=ASSISTANT_NAME, role="assistant")]
        turns = [Turn(index=0, speaker=ASSISTANT_NAME, content=t.body)] if t.body else []
        problems = [p for p in t.problems if "Final answer" in p]
    meta["parse_problems"] = problems
    return Conversation(
        id=id, speakers=speakers, turns=turns,
        termination_reason="final_answer" if t.parsed_ok else "no_final_answer",
        outcome=Outcome(answer=t.final_answer, parsed=t.parsed_ok), meta=meta)
