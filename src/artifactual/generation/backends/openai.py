"""OpenAI-compatible backend: ``AsyncOpenAI`` against any base URL.

Requests run concurrently (at most ``concurrency`` at once). A 429, a 5xx, a
timeout or a dropped connection is retried with exponential backoff and
jitter, up to ``max_retries`` times; any other failure, or the last retry,
becomes a :class:`ChatResult` with ``error`` set. The API key is read from the
environment variable *named* in the config and is scrubbed from every error
text, so it never reaches a record, a manifest or a log.

This module imports ``openai`` only when a request is sent, so configs can be
validated without it.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

from artifactual.errors import BackendError
from artifactual.generation.backends.base import ChatRequest, ChatResult, response_format
from artifactual.options import OpenAIOptions

__all__ = ["OpenAIOptions", "OpenAIBackend", "backoff_delay", "read_api_key", "scrub",
           "context_full", "vllm_extra_body", "NO_KEY"]

NO_KEY = "EMPTY"  # what servers without auth (a local vLLM) are sent
_RETRY_STATUS = {408, 409, 425, 429}
_CONTEXT_MARKERS = ("maximum context length", "context length", "max_model_len", "too long")


def read_api_key(env_name: str | None) -> str:
    """The key from the environment variable ``env_name`` (``NO_KEY`` when the name is null)."""
    if env_name is None:
        return NO_KEY
    value = os.environ.get(env_name)
    if not value:
        raise BackendError(f"environment variable {env_name} is not set", where="openai.api_key_env",
                           fix=f"export {env_name}=<your key>, or set openai.api_key_env: null "
                               "for a server without auth")
    return value


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    if secret and secret != NO_KEY and len(secret) >= 4:
        return text.replace(secret, "***")
    return text


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None,
                  retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential with equal jitter,
    capped at ``max_s``; a server's ``Retry-After`` raises the floor (within the cap)."""
    rng = rng or random
    span = min(max_s, base_s * (2 ** attempt))
    delay = span / 2 + rng.uniform(0, span / 2)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, max_s))
    return delay


def vllm_extra_body(req: ChatRequest) -> dict[str, Any]:
    """The request's decoding constraints as a vLLM OpenAI server's extra body fields:
    ``structured_outputs`` (choice or regex) and, for a response prefix,
    ``continue_final_message`` without a new generation prompt. Servers other than vLLM may
    reject or ignore these fields."""
    extra: dict[str, Any] = {}
    if req.guided_choice:
        extra["structured_outputs"] = {"choice": list(req.guided_choice)}
    elif req.guided_regex:
        extra["structured_outputs"] = {"regex": req.guided_regex}
    if req.continue_final:
        extra.update(continue_final_message=True, add_generation_prompt=False)
    return extra


def context_full(message: str) -> bool:
    """Whether a 400 error text says the prompt does not fit the model's context."""
    low = message.lower()
    return any(m in low for m in _CONTEXT_MARKERS)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server (vLLM, OpenAI, others)."""

    name = "openai"

    def __init__(self, model: str, options: OpenAIOptions | None = None, *, seed: int | None = None):
        self.model = model
        self.options = options or OpenAIOptions()
        self._key = read_api_key(self.options.api_key_env)
        self._rng = random.Random(seed)
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "errors": 0}

    def info(self) -> dict[str, Any]:
        """What provenance and the manifest record (never the key)."""
        import openai

        return {"backend": self.name, "model": self.model, "engine_version": f"openai=={openai.__version__}",
                "base_url": self.options.base_url, "api_key_env": self.options.api_key_env}

    def close(self) -> None:
        """Nothing to release: a client lives only for one ``chat`` call."""

    async def chat(self, requests: list[ChatRequest]) -> list[ChatResult]:
        """Send every request (bounded concurrency); one result per request, in order."""
        if not requests:
            return []
        from openai import AsyncOpenAI

        o = self.options
        sem = asyncio.Semaphore(o.concurrency)
        # the client is bound to this event loop (each generate() runs its own loop)
        async with AsyncOpenAI(base_url=o.base_url, api_key=self._key, timeout=o.timeout_s,
                               max_retries=0) as client:
            async def one(req: ChatRequest) -> ChatResult:
                async with sem:
                    return await self._send(client, req)

            return list(await asyncio.gather(*(one(r) for r in requests)))

    def _body(self, req: ChatRequest) -> dict[str, Any]:
        extra = dict(self.options.extra_body)
        extra.update(vllm_extra_body(req))
        s = req.sampling
        body: dict[str, Any] = dict(model=self.model, messages=req.messages, temperature=s.temperature,
                                    top_p=s.top_p, max_tokens=s.max_tokens)
        if s.seed is not None:
            body["seed"] = s.seed
        if req.json_schema is not None and not (req.guided_choice or req.guided_regex):
            body["response_format"] = response_format(req.json_schema)  # OpenAI's own field
        if extra:
            body["extra_body"] = extra
        return body

    async def _send(self, client: Any, req: ChatRequest) -> ChatResult:
        import openai

        body = self._body(req)
        attempt = 0
        self.stats["requests"] += 1
        while True:
            t0 = time.perf_counter()
            try:
                resp = await client.chat.completions.create(**body)
                return self._result(resp, time.perf_counter() - t0)
            except (openai.APIConnectionError, openai.APIStatusError) as exc:  # timeouts included
                status = getattr(exc, "status_code", None)
                retryable = status is None or status >= 500 or status in _RETRY_STATUS
                if not retryable or attempt >= self.options.max_retries:
                    return self._error(exc, status, attempt)
                delay = backoff_delay(attempt, self.options.backoff_base_s, self.options.backoff_max_s,
                                      self._rng, _retry_after(exc))
                attempt += 1
                self.stats["retries"] += 1
                await asyncio.sleep(delay)
            except Exception as exc:  # a malformed response, a client bug: an error row, not a crash
                return self._error(exc, None, attempt)

    def _result(self, resp: Any, latency: float) -> ChatResult:
        if not getattr(resp, "choices", None):
            self.stats["errors"] += 1
            return ChatResult(error="server returned no choices", latency_s=latency)
        choice = resp.choices[0]
        usage = getattr(resp, "usage", None)
        return ChatResult(text=choice.message.content or "",
                          prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                          completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                          finish_reason=choice.finish_reason, latency_s=latency)

    def _error(self, exc: Exception, status: int | None, attempt: int) -> ChatResult:
        self.stats["errors"] += 1
        where = f"HTTP {status}" if status is not None else type(exc).__name__
        tries = f" after {attempt + 1} attempt(s)" if attempt else ""
        message = scrub(f"{where}{tries}: {exc}", self._key)
        finish = "context_full" if status == 400 and context_full(message) else None
        return ChatResult(error=message, finish_reason=finish)
