"""The one backend protocol every engine implements.

``async def chat(requests: list[ChatRequest]) -> list[ChatResult]``: one result
per request, in order. A failure is a result with ``error`` set, never a None. The
request and result types live in :mod:`artifactual.chat` (agents build them too) and
are re-exported here.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from artifactual.chat import ChatRequest, ChatResult, request_key, response_format

__all__ = ["ChatRequest", "ChatResult", "Backend", "request_key", "response_format"]


@runtime_checkable
class Backend(Protocol):
    """An engine. ``name`` is the backend kind, ``model`` the served model id."""

    name: str
    model: str

    async def chat(self, requests: list[ChatRequest]) -> list[ChatResult]: ...

    def info(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
