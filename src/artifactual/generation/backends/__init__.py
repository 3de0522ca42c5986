"""Engines behind one protocol: ``async chat(list[ChatRequest]) -> list[ChatResult]``."""

from artifactual.generation.backends.base import Backend, ChatRequest, ChatResult, request_key

__all__ = ["Backend", "ChatRequest", "ChatResult", "request_key", "make_backend", "BACKENDS"]


BACKENDS = ("vllm", "openai", "langchain")


def make_backend(kind: str, model: str, **options):
    """Build a backend by name; each module is imported only when its backend is asked for.

    ``vllm`` takes :class:`EngineOptions` fields; ``openai`` and ``langchain`` (ChatOpenAI)
    take :class:`OpenAIOptions` fields (the config's ``openai:`` block).
    """
    if kind == "vllm":
        from artifactual.generation.backends.vllm import EngineOptions, VLLMBackend

        return VLLMBackend(model, EngineOptions(**options))
    if kind == "openai":
        from artifactual.generation.backends.openai import OpenAIBackend, OpenAIOptions

        return OpenAIBackend(model, OpenAIOptions(**options))
    if kind == "langchain":
        from artifactual.generation.backends.langchain import LangChainBackend
        from artifactual.generation.backends.openai import OpenAIOptions

        return LangChainBackend.from_openai(model, OpenAIOptions(**options))
    from artifactual.errors import ConfigError

    raise ConfigError(f"unknown backend {kind!r}", fix=f"use one of: {', '.join(BACKENDS)}")
