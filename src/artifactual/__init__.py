"""artifactual: generate synthetic LLM data and track its artifacts from generation through use.

Public API: :func:`generate` (config -> run directory) and :func:`audit`
(logs -> per-turn findings, per-conversation metrics, summary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["generate", "audit", "load_config", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from artifactual.analysis.audit import AuditResult
    from artifactual.generation.run import GenerateResult


def generate(config: Any, out: Any, *, ray: bool = False, address: str | None = None,
             actors: int | None = None, quiet: bool = False, **kwargs: Any) -> "GenerateResult":
    """Run a generation config (path or RunConfig) into the run directory ``out``.

    ``ray=True`` shards the dialogues across Ray actors (:mod:`artifactual.scale.generate`):
    ``address`` joins a cluster (default: a local runtime), ``actors`` overrides
    ``ray.actors`` of the config. Needs ``pip install 'artifactual[ray]'``.
    """
    from artifactual.config import RunConfig, load_config

    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if actors is not None:
        cfg = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"actors": actors})})
    if ray or address:
        from artifactual.scale.generate import generate_ray

        return generate_ray(cfg, out, address=address, quiet=quiet, **kwargs)
    from artifactual.generation.run import generate as _generate

    return _generate(cfg, out, **kwargs)


def audit(paths: Any, *, ray: bool = False, **kwargs: Any) -> "AuditResult":
    """Audit conversation logs or run directories offline; see :mod:`artifactual.analysis.audit`.

    ``ray=True`` (or an ``address=``) runs it on Ray Data with the same results
    (:func:`artifactual.scale.audit.audit_ray`: also ``actors``, ``shard_size``, ``quiet``).
    """
    if ray or kwargs.get("address"):
        from artifactual.scale.audit import audit_ray

        return audit_ray(paths, **kwargs)
    from artifactual.analysis.audit import audit as _audit

    return _audit(paths, **kwargs)


def load_config(path: Any):
    """Load and validate a YAML experiment config."""
    from artifactual.config import load_config as _load

    return _load(path)
