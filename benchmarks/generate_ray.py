"""Role-play generation: single process vs ``generate --ray`` with 1 and 2 actors, one run.

Every variant generates the same dialogues (same config and seeds) into its own run
directory. Wall time includes engine start (each Ray actor starts its own engine);
the engine's start-up is also timed alone so the steady-state rate can be read off.
The last table is a simulation, on paper, of N workers from the measured per-shard
cost: ``T(N) = start + ceil(shards / N) * per_shard``, one engine per worker.

    .venv/bin/python benchmarks/generate_ray.py [--dialogues 16] [--shards N] [--max-messages 4] \
        2>/dev/null | grep -v -e INFO -e WARNING
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path


def config(n: int, max_messages: int, shards: int, actors: int):
    from artifactual.config import RunConfig

    roles = ["Carpenter", "Chef", "Gardener", "Plumber"]
    tasks = [f"Plan step {i + 1} of fixing up a small community hall." for i in range(max(1, n // 8))]
    return RunConfig.model_validate({
        "name": "bench-ray", "model": "default",
        "engine": {"dtype": "bfloat16", "max_model_len": 2048, "kv_cache_gib": 1},
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 48},
        "strategies": ["camel", "camel-minimal"], "seeds": [0],
        "roleplay": {"max_messages": max_messages, "word_limit": 20, "specify_task": False,
                     "assistant_roles": roles, "user_roles": ["Volunteer"],
                     "task_list": tasks},
        "ray": {"actors": actors, "shards": shards or None}})


def single(cfg, out: Path) -> dict:
    from artifactual.generation.run import generate, make_run_backend

    t0 = time.perf_counter()
    backend = make_run_backend(cfg)
    backend.llm
    start = time.perf_counter() - t0
    result = generate(cfg, out, backend=backend)
    wall = time.perf_counter() - t0
    backend.close()
    return {"variant": "single process", "wall_s": wall, "engine_start_s": start,
            "dialogues": result.n_new, "tokens": result.completion_tokens}


def on_ray(cfg, out: Path) -> dict:
    from artifactual.scale.generate import generate_ray

    t0 = time.perf_counter()
    result = generate_ray(cfg, out, quiet=True)
    wall = time.perf_counter() - t0
    stats = json.loads((out / "manifest.json").read_text())["sessions"][-1]["ray"]["shard_stats"]
    return {"variant": f"ray, {cfg.ray.actors} actor(s)", "wall_s": wall, "dialogues": result.n_new,
            "tokens": result.completion_tokens, "shard_s": [s["seconds"] for s in stats]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialogues", type=int, default=16)
    ap.add_argument("--shards", type=int, default=0,
                    help="shards (default: the config default, one per actor at this size)")
    ap.add_argument("--max-messages", type=int, default=4)
    args = ap.parse_args()
    from artifactual.scale.cluster import init_ray

    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    rows = [single(config(args.dialogues, args.max_messages, args.shards, 1), root / "single")]
    ray = init_ray(quiet=True)
    for actors in (1, 2):
        rows.append(on_ray(config(args.dialogues, args.max_messages, args.shards, actors),
                           root / f"ray{actors}"))
    ray.shutdown()
    base = rows[0]["wall_s"]
    print(f"{rows[0]['dialogues']} dialogues, engine start {rows[0]['engine_start_s']:.1f} s")
    print(f"{'variant':<22}{'shards':>7}{'wall s':>9}{'tokens':>8}{'tok/s':>8}{'vs single':>11}")
    for r in rows:
        print(f"{r['variant']:<22}{len(r.get('shard_s', [1])):>7}{r['wall_s']:>9.1f}{r['tokens']:>8}"
              f"{r['tokens'] / r['wall_s']:>8.1f}{base / r['wall_s']:>10.2f}x")
    one = rows[1]
    per_shard = sum(one["shard_s"]) / len(one["shard_s"])
    per_shard_units = args.dialogues / len(one["shard_s"])
    start = one["wall_s"] - sum(one["shard_s"])  # Ray + actor + engine start, merging
    print(f"\nmeasured (1 actor): per shard {per_shard:.1f} s "
          f"({per_shard_units:.0f} dialogues), fixed cost {start:.1f} s")
    print("simulation (one engine per worker, workers on separate machines/GPUs):")
    print(f"{'workers':>8}{'shards':>8}{'T(N) s':>9}{'dialogues/s':>13}{'speed-up':>10}")
    for shards in (4, 64):
        t1 = start + shards * per_shard
        for n in (1, 2, 4, 8, 16, 32):
            t = start + math.ceil(shards / n) * per_shard
            d = shards * per_shard_units
            print(f"{n:>8}{shards:>8}{t:>9.1f}{d / t:>13.2f}{t1 / t:>9.2f}x")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
