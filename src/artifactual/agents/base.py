"""What the scheduler needs from any multi-step generator: a dialogue state machine."""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

from artifactual.chat import ChatRequest, ChatResult
from artifactual.records import Usage

__all__ = ["Dialogue", "derive_seed"]


def derive_seed(base: int, dialogue_id: str, step: int) -> int:
    """A per-request seed from the run seed, the dialogue id and the step number."""
    digest = hashlib.sha256(f"{base}:{dialogue_id}:{step}".encode()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1)


@runtime_checkable
class Dialogue(Protocol):
    """A dialogue exposes its next request, takes the result, and knows when it is done."""

    id: str
    done: bool
    usage: Usage

    def next_request(self) -> ChatRequest | None: ...

    def apply(self, result: ChatResult) -> None: ...
