"""Audit throughput with Ray Data (``audit_ray``) vs without (``audit``), side by side.

Writes N synthetic 10-turn conversations (the corpus of ``audit_throughput.py``, one
records JSONL file), then in one process:

1. **plain**: ``artifactual.audit(path)`` twice: *cold* (this process loads spaCy and
   MiniLM, as one CLI call does) and *warm* (models already loaded);
2. **ray**: a local Ray runtime (all cores) and ``audit_ray(path)`` with the default
   actor pool (one actor per CPU, each loading its own models: every call is cold).

Prints seconds, conversations/s and the ratios; the Ray run's stages; the measured
per-shard cost (seconds per shard of K conversations, inside an actor) and the fixed
overhead (Ray start, reading, actor start-up with model loading, scheduling); and a
model on paper of throughput with N workers:

    T(N) = overhead + ceil(shards / N) * per_shard + driver

where ``driver`` (reading, which is one task for one input file; events replayed,
tables, the corpus-scope ``digression`` null thresholds, summary and comparison) grows
with the corpus and not with N, and ``overhead`` (Ray start, worker and actor start-up
with model loading, scheduling) is fixed.

    .venv/bin/python benchmarks/audit_ray.py [--conversations 400] [--shard-size K]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

from audit_throughput import write_corpus  # same directory: the shared synthetic corpus

WORKERS = (1, 2, 4, 8, 16, 32)
BIG = 100_000  # conversations in the on-paper projection for a large corpus


def _model(overhead: float, per_shard: float, size: int, driver_per_conv: float,
           n_conv: int, workers: int) -> float:
    shards = math.ceil(n_conv / size)
    return overhead + math.ceil(shards / workers) * per_shard + driver_per_conv * n_conv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=400)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-size", type=int, default=None,
                    help="conversations per shard (default: audit_ray's own choice)")
    ap.add_argument("--actors", type=int, default=None)
    args = ap.parse_args()

    from artifactual.analysis import audit
    from artifactual.scale.audit import RayTimings, audit_ray
    from artifactual.scale.cluster import init_ray

    n = args.conversations
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        write_corpus(path, n, args.turns, args.seed)
        print(f"{n} conversations x {args.turns} turns, one records JSONL file")

        t0 = time.perf_counter()
        plain = audit(path)
        cold = time.perf_counter() - t0
        ends: dict[str, float] = {}
        t0 = time.perf_counter()
        audit(path, progress=lambda stage, done, total: ends.__setitem__(
            stage, time.perf_counter() - t0))
        warm = time.perf_counter() - t0

        t0 = time.perf_counter()
        ray = init_ray(quiet=True)
        init_s = time.perf_counter() - t0
        cpus = int(ray.cluster_resources().get("CPU", 1))
        tm = RayTimings()
        t0 = time.perf_counter()
        result = audit_ray(path, quiet=True, actors=args.actors, shard_size=args.shard_size,
                           timings=tm)
        ray_s = time.perf_counter() - t0
        ray.shutdown()

    flags = [c for c in plain.conversations.columns
             if plain.conversations[c].dtype == bool]
    same = result.conversations[flags].equals(plain.conversations[flags]) and \
        result.turns["evidence"].equals(plain.turns["evidence"])
    print(f"plain audit, cold: {cold:7.2f} s -> {n / cold:7.1f} conversations/s "
          f"(models loaded in this process)")
    print(f"plain audit, warm: {warm:7.2f} s -> {n / warm:7.1f} conversations/s")
    print(f"ray audit:         {ray_s:7.2f} s -> {n / ray_s:7.1f} conversations/s "
          f"({tm.actors} actors on {cpus} CPUs; + {init_s:.2f} s to start Ray)")
    print(f"ratio ray / plain: {ray_s / cold:.2f}x time of the cold audit, "
          f"{ray_s / warm:.2f}x of the warm one; flags and evidence equal: {same}")

    shards = len(tm.shard_seconds)
    per_shard = statistics.mean(tm.shard_seconds)
    first_load = max(tm.actor_init_seconds) if tm.actor_init_seconds else 0.0
    makespan = math.ceil(shards / tm.actors) * per_shard
    scheduling = max(0.0, tm.shards_s - makespan)
    read_linear = min(ends.get("read", 0.0), tm.read_s)  # reading itself, in one process
    driver = read_linear + tm.tables_s + tm.corpus_s + tm.finish_s
    overhead = init_s + (tm.read_s - read_linear) + scheduling
    print(f"ray stages: read {tm.read_s:.2f} s, tables+cut {tm.tables_s:.2f} s, shards "
          f"{tm.shards_s:.2f} s, corpus detectors {tm.corpus_s:.2f} s, summary+comparison "
          f"{tm.finish_s:.2f} s")
    print(f"per shard (K = {tm.shard_size} conversations, in an actor): mean {per_shard:.2f} s, "
          f"median {statistics.median(tm.shard_seconds):.2f} s, {shards} shards "
          f"-> {tm.shard_size / per_shard:.1f} conversations/s per actor")
    print(f"fixed Ray overhead: {overhead:.2f} s = Ray start {init_s:.2f} + read-task start-up "
          f"{tm.read_s - read_linear:.2f} + actor start-up and scheduling {scheduling:.2f} "
          f"(shard-stage wall time beyond ceil({shards}/{tm.actors}) mean shards; the slowest "
          f"actor's model load alone: {first_load:.2f})")
    print(f"serial steps: {driver:.2f} s ({1000 * driver / n:.2f} ms per conversation) = reading "
          f"{read_linear:.2f} (one file is one task; as timed in the warm plain audit) + driver "
          f"{driver - read_linear:.2f} (tables, digression null thresholds, summary, comparison)")
    print()
    per_conv = driver / n
    for n_conv in (n, BIG):
        print(f"on paper, {n_conv} conversations ({math.ceil(n_conv / tm.shard_size)} shards "
              f"of {tm.shard_size}): T(N) = {overhead:.1f} + ceil(shards/N) * {per_shard:.2f} "
              f"+ {per_conv * n_conv:.1f}")
        print("  workers   seconds   conversations/s   speed-up vs 1")
        base = _model(overhead, per_shard, tm.shard_size, per_conv, n_conv, 1)
        for w in WORKERS:
            t = _model(overhead, per_shard, tm.shard_size, per_conv, n_conv, w)
            print(f"  {w:>7} {t:>9.1f} {n_conv / t:>17.1f} {base / t:>15.2f}x")


if __name__ == "__main__":
    main()
