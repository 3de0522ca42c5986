"""The data model shared by every layer: generation, readers, analysis, training.

Records are pydantic v2 models serialised as one JSON object per line. Every
generated record carries a :class:`Provenance`. Nothing else is shared by all
layers; generation and analysis both depend on this module and never on each other.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Speaker", "Turn", "Source", "Outcome", "Sampling", "Usage", "Provenance",
    "Conversation", "Instruction", "Label", "Preference", "Text", "Judgment", "Record",
    "record_from_json", "record_to_json", "sha256_text", "utc_now",
]


def sha256_text(text: str) -> str:
    """Hex sha256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_now() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Speaker(_Model):
    name: str
    role: str = "assistant"  # "user" | "assistant" | "system" | persona label
    persona: str | None = None


class Turn(_Model):
    index: int
    speaker: str
    content: str
    meta: dict[str, Any] = Field(default_factory=dict)  # tokens, finish_reason, latency


class Source(_Model):
    format: str
    path: str | None = None
    line: int | None = None


class Outcome(_Model):
    answer: str | None = None
    correct: bool | None = None
    parsed: bool | None = None
    score: float | None = None


class Sampling(_Model):
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    seed: int | None = None
    min_tokens: int | None = None  # fixed-length generation (benchmarks)


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += int(prompt or 0)
        self.completion_tokens += int(completion or 0)


class Provenance(_Model):
    generator: str
    strategy: str | None = None  # template name
    strategy_sha256: str | None = None
    model: str
    backend: str
    sampling: Sampling = Field(default_factory=Sampling)
    engine_version: str | None = None
    created_at: str = Field(default_factory=utc_now)
    usage: Usage = Field(default_factory=Usage)
    seed: int | None = None


class Conversation(_Model):
    kind: Literal["conversation"] = "conversation"
    id: str
    task: str | None = None
    specified_task: str | None = None
    speakers: list[Speaker] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    termination_reason: str | None = None
    outcome: Outcome | None = None
    source: Source | None = None
    provenance: Provenance | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def role_of(self, speaker_name: str) -> str | None:
        """The declared role of a speaker, or None when unknown."""
        for s in self.speakers:
            if s.name == speaker_name:
                return s.role
        return None


class Instruction(_Model):
    kind: Literal["instruction"] = "instruction"
    id: str
    instruction: str
    input: str = ""
    output: str = ""
    origin: Literal["human", "llm"] = "llm"
    provenance: Provenance | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Label(_Model):
    kind: Literal["label"] = "label"
    item_id: str
    text: str = ""
    annotator: str
    label: str | int | float | None
    label_set: list[Any] = Field(default_factory=list)
    dataset: str | None = None
    provenance: Provenance | None = None


class Preference(_Model):
    kind: Literal["preference"] = "preference"
    id: str
    prompt: str
    a: str
    b: str
    choice: Literal["a", "b", "tie"] | None = None
    judge: str
    order: Literal["original", "swapped"] = "original"
    pair_id: str | None = None  # shared by the original and swapped judgments of one pair
    provenance: Provenance | None = None


class Text(_Model):
    kind: Literal["text"] = "text"
    id: str
    text: str
    origin: Literal["human", "llm"] = "llm"
    source_id: str | None = None
    provenance: Provenance | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Judgment(_Model):
    """An LLM judge's answer on whether one artifact occurs in one conversation.

    ``verdict`` is None when the answer could not be used (``error`` says why; ``raw``
    keeps the text): an error row, never a silent "no". The evidence is the turn the judge
    cites and its quote; ``quote_found`` says whether that quote is in that turn.
    """

    kind: Literal["judgment"] = "judgment"
    id: str  # "<conversation_id>::<artifact>"
    conversation_id: str
    artifact: str
    verdict: bool | None = None
    evidence_turn: int | None = None
    evidence_quote: str | None = None
    quote_found: bool | None = None
    raw: str = ""
    error: str | None = None
    provenance: Provenance | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


Record = Union[Conversation, Instruction, Label, Preference, Text, Judgment]
_RECORD = TypeAdapter(Record)
_BY_KIND = {"conversation": Conversation, "instruction": Instruction, "label": Label,
            "preference": Preference, "text": Text, "judgment": Judgment}


def record_from_json(line: str | dict) -> Record:
    """Parse one record (a JSON line or a dict), dispatching on its ``kind``."""
    data = json.loads(line) if isinstance(line, str) else line
    kind = data.get("kind", "conversation")
    cls = _BY_KIND.get(kind)
    if cls is None:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {sorted(_BY_KIND)}")
    return cls.model_validate(data)


def record_to_json(record: Record) -> str:
    """One compact JSON line (no trailing newline)."""
    return record.model_dump_json(exclude_none=False)
