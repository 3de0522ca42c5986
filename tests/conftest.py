"""Shared fixtures: one real vLLM engine on the embedded model per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ARTIFACTUAL_SHARED_DATA", ROOT.parent / "shared" / "data"))

# The engine every test shares: small caps so subprocess engines fit beside it.
ENGINE_OPTIONS = dict(dtype="bfloat16", max_model_len=2048, kv_cache_gib=2)


@pytest.fixture(scope="session")
def model_dir() -> str:
    from artifactual.assets import llm_dir

    return str(llm_dir())


@pytest.fixture(scope="session")
def engine(model_dir):
    """The real in-process vLLM engine on SmolLM2-135M-Instruct (started once, ~30 s)."""
    from artifactual.generation.backends.vllm import EngineOptions, VLLMBackend

    backend = VLLMBackend(model_dir, EngineOptions(**ENGINE_OPTIONS))
    backend.llm  # start now, so the first test does not pay for it inside its own time
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (the paper's released files); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the paper's released data is only on project machines")
    return SHARED_DATA
