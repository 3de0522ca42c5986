"""Scale-out on Ray Data: ``generate --ray`` and ``audit --ray``.

The only package that imports :mod:`ray` (the optional extra ``artifactual[ray]``).
Nothing else in artifactual imports this package at module level, so the core
install works without Ray.

- :func:`artifactual.scale.generate.generate_ray`: shards a run's dialogues across
  Ray actors, each holding one engine and running the same scheduler on its shard;
  records land in ``DIR/parts/shard-NNNNN/`` and are merged into ``DIR/records.jsonl``.
- :func:`artifactual.scale.audit.audit_ray`: reading, parsing and the detectors as
  ``ray.data`` ``map_batches``; summary and comparison from the merged tables.
- :func:`artifactual.scale.cluster.init_ray`: connect to a cluster or start a local one.
"""

__all__ = ["init_ray", "generate_ray", "audit_ray"]


def __getattr__(name: str):  # lazy: importing the package does not import ray
    if name == "init_ray":
        from artifactual.scale.cluster import init_ray
        return init_ray
    if name == "generate_ray":
        from artifactual.scale.generate import generate_ray
        return generate_ray
    if name == "audit_ray":
        from artifactual.scale.audit import audit_ray
        return audit_ray
    raise AttributeError(name)
