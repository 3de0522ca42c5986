"""Engines behind one protocol: ``async chat(list[ChatRequest]) -> list[ChatResult]``."""

from artifactual.generation.backends.base import Backend, ChatRequest, ChatResult, request_key

__all__ = ["Backend", "ChatRequest", "ChatResult", "request_key", "make_backend"]


def make_backend(kind: str, model: str, **options):
    """Build a backend by name (``vllm`` for now; more in later issues)."""
    if kind == "vllm":
        from artifactual.generation.backends.vllm import EngineOptions, VLLMBackend

        return VLLMBackend(model, EngineOptions(**options))
    from artifactual.errors import ConfigError

    raise ConfigError(f"unknown backend {kind!r}", fix="use one of: vllm")
