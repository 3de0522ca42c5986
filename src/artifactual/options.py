"""The engines' option types, as a config's ``engine:`` and ``openai:`` blocks hold them.

:class:`EngineOptions` is passed through to ``vllm.LLM`` (:mod:`artifactual.generation.backends.vllm`);
:class:`OpenAIOptions` configures the OpenAI-compatible and LangChain backends. They live
here, below both the config and the engines, so each can stand on them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["EngineOptions", "OpenAIOptions"]


class EngineOptions(BaseModel):
    """Engine settings passed through to ``vllm.LLM``."""

    model_config = ConfigDict(extra="forbid")

    dtype: str = "auto"
    max_model_len: int = 2048
    kv_cache_gib: float | None = 2.0  # CPU: VLLM_CPU_KVCACHE_SPACE
    gpu_memory_utilization: float | None = None  # GPU (or CPU fraction of the NUMA node)
    # None: eager on CPU (no CUDA graphs there), CUDA graphs on a GPU (faster decoding);
    # see generation.backends.vllm.resolve_enforce_eager.
    enforce_eager: bool | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    seed: int = 0
    max_num_seqs: int | None = None
    # None: off on vllm-cpu, whose seeded sampling crashes on a chunked (partial) prefill
    # ("CPU Generator does not use offset"); on by default elsewhere.
    chunked_prefill: bool | None = None
    extra: dict[str, Any] = {}


class OpenAIOptions(BaseModel):
    """The ``openai:`` block of a config (also used by the ``langchain`` backend's ChatOpenAI)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str | None = Field(
        "OPENAI_API_KEY", description="NAME of the environment variable holding the key; "
                                      "null for a server without auth")
    concurrency: int = Field(8, ge=1)
    max_retries: int = Field(5, ge=0)
    timeout_s: float = Field(60.0, gt=0)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    extra_body: dict[str, Any] = Field(default_factory=dict)  # sent with every request (e.g. top_k)

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {v!r}")
        if "@" in parts.netloc:
            raise ValueError("base_url must not hold credentials; put the key in the environment "
                             "variable named by api_key_env")
        return v
