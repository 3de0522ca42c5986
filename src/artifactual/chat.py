"""The chat request and result that agents ask with and every engine answers with.

A :class:`ChatRequest` holds messages, sampling (with its per-request seed) and decoding
constraints; a :class:`ChatResult` holds the text, token counts, finish reason, or an
error (a failure is a result with ``error`` set, never a None). :func:`request_key` is
the stable hash the run cache files results under. Agents build requests and apply
results; the engines behind :mod:`artifactual.generation.backends` answer them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field

from artifactual.records import Sampling

__all__ = ["ChatRequest", "ChatResult", "request_key", "response_format"]


class ChatRequest(BaseModel):
    """Messages in OpenAI chat shape plus sampling (its ``seed`` is per request)."""

    messages: list[dict[str, str]]
    sampling: Sampling = Field(default_factory=Sampling)
    guided_choice: list[str] | None = None
    # constrained decoding: the reply must match this regex (vLLM structured outputs)
    guided_regex: str | None = None
    # response prefix: the last message is the assistant's reply begun; the engine continues
    # it (no new generation prompt), and the result text is the continuation only
    continue_final: bool = False
    # constrained decoding: the reply must be JSON matching this schema (vLLM structured
    # outputs; an OpenAI-compatible server's response_format)
    json_schema: dict[str, Any] | None = None
    tag: str | None = None  # who asked (dialogue id); not part of the cache key


class ChatResult(BaseModel):
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    latency_s: float | None = None
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def request_key(model: str, request: ChatRequest) -> str:
    """Stable hash of everything that determines a result (model, messages, sampling,
    decoding constraints)."""
    payload = {
        "model": model,
        "messages": request.messages,
        "sampling": request.sampling.model_dump(),
        "guided_choice": request.guided_choice,
    }
    if request.json_schema is not None:  # only when set: older cache keys stay valid
        payload["json_schema"] = request.json_schema
    # only when set, so the keys (and caches) of runs without them stay as they were
    if request.guided_regex is not None:
        payload["guided_regex"] = request.guided_regex
    if request.continue_final:
        payload["continue_final"] = True
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def response_format(schema: dict[str, Any], name: str = "answer") -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for JSON that matches ``schema``."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
