"""Solo Performance Prompting logs (format ``"spp"``), one task per JSONL line.

The shape of the paper's ``simulation/spp_logic_grid_gpt4_200.jsonl``: the
transcript is ``raw_response[0].choices[0].message.content``; correctness is
``test_output_infos[0].correct``; the task is ``task_data.inputs``; ``model``,
``method``, ``temperature``, ``top_p`` and ``raw_response[0].usage`` fill the
provenance (``method`` is the strategy).

A transcript is parsed by :func:`parse_spp_transcript` (the SPP generator uses
it too)::

    Participants: AI Assistant (you); Detective; Florist      <- the speakers
    Detective: Let's analyze ...                               <- a turn
    AI Assistant (you): ...                                    <- "(you)" is the lead
      more text                                                <- same turn
    Finish collaboration!                                      <- ends the dialogue
    Final answer: 3                                            <- a turn of the lead

A line starts a turn when it begins with a listed persona and a colon. A persona
missing from the list is accepted when its label looks like a name (capitalised
words without digits, not a heading such as ``Note`` or ``Clue``), so table rows
(``House 1: ...``) and sentences ending in a colon stay inside the turn.

A transcript in which no persona turn parses (the persona format collapsed) gets
``meta["format_collapsed"] = True`` and ``meta["format_error"]``; one without a final
answer gets ``meta["format_error"] = "final answer missing"`` (the audit reports both
as format failures).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import Location, Reader, reader
from artifactual.readers.openai_messages import SpeakerBook, conversation_id
from artifactual.records import (Conversation, Outcome, Provenance, Sampling, Source, Speaker,
                                 Turn, Usage)

__all__ = ["SPPReader", "parse_spp_transcript", "LEAD"]

LEAD = "AI Assistant"  # the lead persona when no participant is marked "(you)"
_PARTICIPANTS = re.compile(r"^\W{0,4}participants\W{0,4}:\s*(?P<list>.*)$", re.IGNORECASE)
_FINAL = re.compile(r"^\W{0,4}final answer\W{0,4}:\s*(?P<answer>.*)$", re.IGNORECASE)
_FINISH = re.compile(r"^\W{0,4}finish collaboration\b", re.IGNORECASE)
_LABEL = re.compile(r"^[ \t]*[*_]{0,2}(?P<label>[^\n:*]{1,60}?)[*_]{0,2}[ \t]*:[*_]{0,2}"
                    r"(?:[ \t]+|$)")
_NAME_LIKE = re.compile(r"^[A-Z][A-Za-z'&.-]*(?: (?:[A-Z][A-Za-z'&.-]*|of|the|and|\(you\)))"
                        r"{0,4}$")
_YOU = re.compile(r"\s*\((?:you|me)\)\s*$", re.IGNORECASE)
_NOT_PERSONAS = {
    "note", "notes", "answer", "step", "example", "clue", "clues", "hint", "question", "q", "a",
    "result", "results", "summary", "conclusion", "explanation", "table", "solution", "task",
    "input", "output", "instruction", "option", "options", "choice", "choices", "reasoning",
    "update", "analysis", "remember", "therefore", "so", "now", "first", "next", "then",
    "finally", "also", "thus", "hence", "however", "yes", "no", "ok", "okay", "correct",
    "wrong", "assumption", "goal", "plan", "feedback", "response", "house", "person", "clarification",
}


def _clean(label: str) -> tuple[str, bool]:
    """``("AI Assistant", True)`` for ``"AI Assistant (you)"``; names without marks unchanged."""
    name = " ".join(label.split())
    lead = bool(_YOU.search(name))
    return _YOU.sub("", name).strip(" .,;"), lead


def _participants(text: str) -> list[tuple[str, bool]]:
    sep = ";" if ";" in text else ","
    out = [_clean(p) for p in text.split(sep)]
    return [(n, lead) for n, lead in out if n]


def parse_spp_transcript(text: str) -> tuple[list[Speaker], list[Turn], str | None, bool]:
    """Parse an SPP transcript into ``(speakers, turns, final_answer, parsed_ok)``.

    Speakers are the participants in listed order (the one marked ``(you)``, else
    ``AI Assistant``, has role ``assistant``; the others role ``persona``), then
    unlisted personas in order of appearance. Each turn's meta holds its first
    line number (``line``, 1-based); the final answer is a last turn of the lead
    with ``meta["final_answer"] = True``. ``parsed_ok`` is True when a participants
    list, at least one persona turn and a final answer were found. Never raises.
    """
    lines = (text or "").splitlines()
    listed: list[tuple[str, bool]] = []
    start = 0
    for n, line in enumerate(lines):
        m = _PARTICIPANTS.match(line)
        if m:
            listed, start = _participants(m.group("list")), n + 1
            break
    lead = next((name for name, is_lead in listed if is_lead), LEAD)
    book = SpeakerBook()
    for name, _ in listed:
        book.add(name, "assistant" if name == lead else "persona")
    known = {name.casefold(): name for name in book.speakers}
    turns: list[Turn] = []
    current: tuple[str, int, list[str]] | None = None
    final: str | None = None

    def close() -> None:
        if current is not None:
            turns.append(Turn(index=len(turns), speaker=current[0],
                              content="\n".join(current[2]).strip(), meta={"line": current[1]}))

    last = next((n for n in range(len(lines) - 1, start - 1, -1) if _FINAL.match(lines[n])), None)
    if last is not None:
        first = _FINAL.match(lines[last]).group("answer")  # type: ignore[union-attr]
        final = "\n".join([first, *lines[last + 1:]]).strip()
    for n in range(start, len(lines) if last is None else last):
        line = lines[n]
        if _FINISH.match(line):
            close()
            current = None
            continue
        speaker = _turn_speaker(line, known)
        if speaker is not None:
            close()
            name = book.add(speaker, "assistant" if speaker == lead else "persona")
            known.setdefault(name.casefold(), name)
            current = (name, n + 1, [line[_LABEL.match(line).end():]])  # type: ignore[union-attr]
        elif current is not None:
            current[2].append(line)
    close()
    n_persona_turns = len(turns)
    if final is not None:
        name = book.add(lead, "assistant")
        turns.append(Turn(index=len(turns), speaker=name, content=final,
                          meta={"final_answer": True}))
    return book.list(), turns, final, bool(listed) and n_persona_turns > 0 and final is not None


def _turn_speaker(line: str, known: dict[str, str]) -> str | None:
    """The persona that ``line`` starts a turn of, or None for a continuation line."""
    m = _LABEL.match(line)
    if m is None:
        return None
    name, _ = _clean(m.group("label"))
    if name.casefold() in known:
        return known[name.casefold()]
    if _NAME_LIKE.match(name) and name.casefold() not in _NOT_PERSONAS \
            and name.split()[0].casefold() not in _NOT_PERSONAS:
        return name
    return None


def _dig(obj: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, list) and len(obj) > key else None
        else:
            obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _provenance(obj: dict[str, Any]) -> Provenance:
    created = _dig(obj, "raw_response", 0, "created")
    when = (datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="seconds")
            if isinstance(created, int) and 0 <= created < 2 ** 33 else "unknown")
    usage = _dig(obj, "raw_response", 0, "usage") or {}
    sampling: dict[str, Any] = {k: obj[k] for k in ("temperature", "top_p")
                                if isinstance(obj.get(k), (int, float))
                                and not isinstance(obj.get(k), bool)}
    max_tokens = _dig(obj, "gpt_config", "max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        sampling["max_tokens"] = max_tokens
    tokens = [usage.get(k) if isinstance(usage, dict) else None
              for k in ("prompt_tokens", "completion_tokens")]
    return Provenance(
        generator="spp", strategy=str(obj["method"]) if isinstance(obj.get("method"), str) else None,
        model=str(obj.get("model") or _dig(obj, "raw_response", 0, "model") or "unknown"),
        backend="openai", sampling=Sampling(**sampling), created_at=when,
        usage=Usage(**{k: v for k, v in zip(("prompt_tokens", "completion_tokens"), tokens)
                       if isinstance(v, int) and not isinstance(v, bool)}))


@reader("spp")
class SPPReader(Reader):
    """SPP JSONL logs (raw_response + test_output_infos)."""

    def sniff(self, obj: Any) -> bool:
        return isinstance(obj, dict) and "kind" not in obj and "raw_response" in obj

    def parse(self, obj: Any, loc: Location) -> Conversation:
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object, got {type(obj).__name__}",
                             fix="each line of an SPP log is one task object")
        text = _dig(obj, "raw_response", 0, "choices", 0, "message", "content")
        if not isinstance(text, str):
            what = "an empty object" if not obj else "no transcript"
            raise InputError(f"{what}: raw_response[0].choices[0].message.content is missing "
                             "or not a string",
                             fix="drop this line, or re-run this task; other lines are read")
        speakers, turns, final, ok = parse_spp_transcript(text)
        correct = _dig(obj, "test_output_infos", 0, "correct")
        answer = final
        if answer is None:
            unwrapped = _dig(obj, "unwrapped_output", 0)
            answer = unwrapped if isinstance(unwrapped, str) and unwrapped.strip() else None
        finish = _dig(obj, "raw_response", 0, "choices", 0, "finish_reason")
        reason = ("finish_collaboration" if any(_FINISH.match(x) for x in text.splitlines())
                  else "final_answer" if final is not None
                  else "max_tokens" if finish == "length" else "no_final_answer")
        task = _dig(obj, "task_data", "inputs")
        meta = {k: obj[k] for k in ("idx", "task", "task_data_file") if k in obj
                and isinstance(obj[k], (str, int))}
        persona_turns = sum(not t.meta.get("final_answer") for t in turns)
        if not persona_turns:  # the persona format collapsed: nothing to audit
            meta.update(format_collapsed=True, format_error="SPP persona format collapsed: "
                        "no persona turn could be parsed")
        elif final is None:
            meta["format_error"] = "final answer missing"
        targets = _dig(obj, "task_data", "targets")
        if isinstance(targets, list):
            meta["targets"] = [str(t) for t in targets]
        return Conversation(
            id=conversation_id(obj, loc),
            task=task if isinstance(task, str) else None, speakers=speakers, turns=turns,
            termination_reason=reason,
            outcome=Outcome(answer=answer, correct=correct if isinstance(correct, bool) else None,
                            parsed=ok),
            source=Source(format="spp", path=str(loc.path), line=loc.line),
            provenance=_provenance(obj), meta=meta)
