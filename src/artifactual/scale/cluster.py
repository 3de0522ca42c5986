"""Connect to a Ray cluster, or start a local Ray runtime, with clear errors."""

from __future__ import annotations

import logging
import os
from typing import Any

from artifactual.errors import ConfigError

__all__ = ["import_ray", "init_ray"]


def import_ray() -> Any:
    """``import ray`` (with Ray Data), or a ConfigError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"Ray Data is not installed ({exc})",
                          fix="pip install 'artifactual[ray]' (it adds ray[data])") from exc
    return ray


def init_ray(address: str | None = None, *, num_cpus: int | None = None,
             quiet: bool = False) -> Any:
    """Return the ``ray`` module with a runtime attached.

    ``address`` (``"auto"``, ``"ray://host:10001"`` or ``"host:6379"``) joins a running
    cluster; without it a local runtime starts (``num_cpus`` caps it; default all cores).
    An already initialised runtime is reused. ``quiet`` hides Ray Data's progress bars and
    the workers' log lines.
    """
    ray = import_ray()
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = not quiet
    if ray.is_initialized():
        return ray
    if quiet:  # the raylet's and workers' C++ log lines, and ray.init's own notices
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=not quiet,
                                  logging_level=logging.ERROR if quiet else logging.INFO,
                                  ignore_reinit_error=True,
                                  # workers import artifactual from this install
                                  runtime_env={"env_vars": _worker_env()})
    if address:
        kwargs["address"] = address
    elif num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "local runtime"
        raise ConfigError(f"cannot start or reach Ray ({exc})", where=where,
                          fix="start a cluster with `ray start --head` and pass --address "
                              "HOST:6379 (or 'auto'), or leave --address out for a local "
                              "runtime") from exc
    return ray


def _worker_env() -> dict[str, str]:
    """Settings the workers need from the driver's environment (model cache location,
    vLLM CPU sizing), passed through when set."""
    keys = ("ARTIFACTUAL_CACHE", "ARTIFACTUAL_SHARED_DATA", "VLLM_CPU_KVCACHE_SPACE",
            "VLLM_CPU_OMP_THREADS_BIND", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return {k: os.environ[k] for k in keys if k in os.environ}
