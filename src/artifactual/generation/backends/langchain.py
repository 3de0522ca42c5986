"""LangChain backend: wraps any ``langchain_core`` ``BaseChatModel``.

One scheduler step is one ``abatch`` call (``return_exceptions=True``, bounded by
``max_concurrency``); each request carries its own sampling and seed as call
kwargs, so results match what the cache key promises. A failed request becomes a
:class:`ChatResult` with ``error``. Token counts come from ``usage_metadata``.

Bring any provider programmatically::

    from artifactual.generation.backends.langchain import LangChainBackend
    artifactual.generate(cfg, "runs/x", backend=LangChainBackend(my_chat_model, "my-model"))

From a config (``backend: langchain``), :func:`chat_openai` builds
``langchain_openai.ChatOpenAI`` from the ``openai:`` block.
"""

from __future__ import annotations

from typing import Any, Callable

from artifactual.errors import BackendError
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.backends.openai import (OpenAIOptions, context_full, read_api_key, scrub,
                                                    vllm_extra_body)

__all__ = ["LangChainBackend", "chat_openai", "to_langchain_messages", "vllm_guided_choice"]

GuidedChoice = Callable[[Any, list[str]], dict[str, Any]]


def to_langchain_messages(messages: list[dict[str, str]]) -> list[Any]:
    """OpenAI-shaped ``{"role", "content"}`` dicts as langchain messages."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    out = []
    for i, m in enumerate(messages):
        cls = kinds.get(m.get("role", ""))
        if cls is None:
            raise ValueError(f"message {i} has role {m.get('role')!r}; expected system, user or assistant")
        out.append(cls(content=m.get("content", "")))
    return out


def vllm_guided_choice(chat_model: Any, choices: list[str]) -> dict[str, Any]:
    """Call kwargs asking a vLLM OpenAI server (through ChatOpenAI) for one of ``choices``."""
    body = dict(getattr(chat_model, "extra_body", None) or {})
    body["structured_outputs"] = {"choice": list(choices)}
    return {"extra_body": body}


def _secrets(chat_model: Any) -> list[str]:
    """Secret values held by the model (pydantic ``SecretStr`` fields), to scrub from errors."""
    from pydantic import SecretStr

    found = []
    for name in getattr(type(chat_model), "model_fields", {}):
        value = getattr(chat_model, name, None)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
    return found


class LangChainBackend:
    """A ``BaseChatModel`` behind the backend protocol.

    ``sampling_kwargs=False`` stops passing temperature, top_p, max_tokens and seed
    per call (for providers that reject them; the model's own settings apply).
    ``guided_choice`` maps a choice list to call kwargs; the default does so for
    ``ChatOpenAI`` (vLLM's ``structured_outputs``) and leaves other models unconstrained.

    Strategies that enforce the CAMEL convention need more: a regex constraint and a
    response prefix (the final AI message continued) are sent to ``ChatOpenAI`` as vLLM's
    extra body fields. Any other provider gets the final AI message as it is when
    ``prefill=True`` (providers that continue it, e.g. Anthropic's prefill); otherwise such
    a request raises :class:`BackendError` saying the backend cannot do it.
    """

    name = "langchain"

    def __init__(self, chat_model: Any, model: str | None = None, *, concurrency: int = 8,
                 sampling_kwargs: bool = True, guided_choice: GuidedChoice | None = None,
                 prefill: bool = False):
        from langchain_core.language_models import BaseChatModel

        if not isinstance(chat_model, BaseChatModel):
            raise BackendError(f"{type(chat_model).__name__} is not a langchain_core BaseChatModel",
                               fix="pass a chat model instance such as langchain_openai.ChatOpenAI(...)")
        self.chat_model = chat_model
        self.model = model or getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None) \
            or chat_model._llm_type
        self.concurrency = concurrency
        self.sampling_kwargs = sampling_kwargs
        if guided_choice is None and type(chat_model).__name__ == "ChatOpenAI":
            guided_choice = vllm_guided_choice
        self.guided_choice = guided_choice
        self.prefill = prefill
        self._vllm_server = type(chat_model).__name__ == "ChatOpenAI"
        self._secrets = _secrets(chat_model)
        self.stats: dict[str, int] = {"requests": 0, "errors": 0}

    @classmethod
    def from_openai(cls, model: str, options: OpenAIOptions | None = None) -> "LangChainBackend":
        """ChatOpenAI on an OpenAI-compatible server, configured by the ``openai:`` block."""
        options = options or OpenAIOptions()
        return cls(chat_openai(model, options), model, concurrency=options.concurrency)

    def info(self) -> dict[str, Any]:
        """Provider class and versions (never a key)."""
        from importlib.metadata import version

        return {"backend": self.name, "model": self.model,
                "engine_version": f"langchain-core=={version('langchain-core')}",
                "provider": type(self.chat_model).__name__}

    def close(self) -> None:
        """Nothing to release."""

    def _kwargs(self, req: ChatRequest) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.sampling_kwargs:
            s = req.sampling
            kw = dict(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens)
            if s.seed is not None:
                kw["seed"] = s.seed
        if req.guided_choice and self.guided_choice is not None:
            kw.update(self.guided_choice(self.chat_model, list(req.guided_choice)))
        if req.guided_regex or req.continue_final:
            kw.update(self._enforce(req, kw.get("extra_body")))
        return kw

    def _enforce(self, req: ChatRequest, extra_body: dict | None) -> dict[str, Any]:
        """Call kwargs for a regex constraint or a response prefix (see the class docstring)."""
        if self._vllm_server:
            body = dict(extra_body or getattr(self.chat_model, "extra_body", None) or {})
            body.update(vllm_extra_body(req.model_copy(update={"guided_choice": None})))
            return {"extra_body": body}
        what = "constrained decoding (a regex)" if req.guided_regex else "a response prefix"
        if req.guided_regex or not self.prefill:
            raise BackendError(
                f"the langchain backend cannot do {what} with {type(self.chat_model).__name__}",
                where=f"request {req.tag or ''}".strip(),
                fix="use backend vllm, or openai/langchain ChatOpenAI against a vLLM server; "
                    "pass prefill=True if this provider continues a final AI message; or choose "
                    "a strategy without a prefix or regex (e.g. camel)")
        return {}

    async def chat(self, requests: list[ChatRequest]) -> list[ChatResult]:
        """One ``abatch`` over every request; exceptions become error results."""
        import time

        from langchain_core.runnables import RunnableLambda

        if not requests:
            return []
        inputs: list[Any] = []
        for req in requests:
            try:
                inputs.append((to_langchain_messages(req.messages), self._kwargs(req)))
            except ValueError as exc:
                inputs.append(exc)

        async def call(item: Any) -> tuple[Any, float]:
            if isinstance(item, Exception):
                raise item
            t0 = time.perf_counter()
            msg = await self.chat_model.ainvoke(item[0], **item[1])
            return msg, time.perf_counter() - t0

        self.stats["requests"] += len(requests)
        outs = await RunnableLambda(call).abatch(inputs, config={"max_concurrency": self.concurrency},
                                                 return_exceptions=True)
        return [self._result(o) for o in outs]

    def _result(self, out: Any) -> ChatResult:
        if isinstance(out, BaseException):
            self.stats["errors"] += 1
            status = getattr(out, "status_code", None)
            text = f"{'HTTP ' + str(status) if status else type(out).__name__}: {out}"
            for secret in self._secrets:
                text = scrub(text, secret)
            finish = "context_full" if status == 400 and context_full(text) else None
            return ChatResult(error=text, finish_reason=finish)
        msg, latency = out
        usage = getattr(msg, "usage_metadata", None) or {}
        meta = getattr(msg, "response_metadata", None) or {}
        content = msg.content if isinstance(msg.content, str) else _join_blocks(msg.content)
        return ChatResult(text=content, prompt_tokens=int(usage.get("input_tokens", 0) or 0),
                          completion_tokens=int(usage.get("output_tokens", 0) or 0),
                          finish_reason=meta.get("finish_reason") or meta.get("stop_reason"),
                          latency_s=latency)


def _join_blocks(blocks: list[Any]) -> str:
    """Text of a content-block list (providers that answer in blocks)."""
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in blocks
                   if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text"))


def chat_openai(model: str, options: OpenAIOptions) -> Any:
    """``langchain_openai.ChatOpenAI`` for ``model`` on ``options.base_url``; the key comes
    from the environment variable named by ``options.api_key_env``. ChatOpenAI retries
    429/5xx/timeouts itself (``max_retries``, exponential backoff with jitter)."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - depends on install
        raise BackendError(f"langchain-openai is not importable ({exc})",
                           fix="pip install langchain-openai") from exc
    import httpx

    # A client of its own: langchain-openai otherwise shares one cached async client per
    # (base_url, timeout) across instances, and a client used in an event loop that has
    # since closed fails with "Event loop is closed" (two runs in one process).
    return ChatOpenAI(model=model, base_url=options.base_url, api_key=read_api_key(options.api_key_env),
                      timeout=options.timeout_s, max_retries=options.max_retries,
                      extra_body=dict(options.extra_body) or None,
                      http_async_client=httpx.AsyncClient(timeout=options.timeout_s))
