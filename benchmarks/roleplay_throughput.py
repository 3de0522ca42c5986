"""Role-play throughput: the scheduler vs a one-dialogue-at-a-time loop, on one engine.

In the same run it measures the engine's raw ceiling: fixed-length chats, N in one
batch vs one at a time. It prints both rates, the scheduler's ratio in both batching
modes (steps: one batched call per turn; continuous: each dialogue's next request
queued as soon as its reply lands), and each ratio as a share of the ceiling
(target: >= 80%).

    .venv/bin/python benchmarks/roleplay_throughput.py [--dialogues 64] [--max-messages 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


def fixed_chats(n: int, tokens: int):
    from artifactual.generation.backends.base import ChatRequest
    from artifactual.records import Sampling

    topics = ["tides", "volcanoes", "bread", "bees", "glaciers", "comets", "maps", "clocks"]
    return [ChatRequest(messages=[{"role": "user", "content": f"Tell me about {topics[i % 8]} (#{i})."}],
                        sampling=Sampling(temperature=0.7, max_tokens=tokens, min_tokens=tokens, seed=i))
            for i in range(n)]


def run_requests(backend, requests, batched: bool) -> tuple[int, float]:
    t0 = time.perf_counter()
    if batched:
        results = asyncio.run(backend.chat(requests))
    else:
        results = [asyncio.run(backend.chat([r]))[0] for r in requests]
    seconds = time.perf_counter() - t0
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return sum(r.completion_tokens for r in results), seconds


def run_dialogues(backend, cfg, together: bool, continuous: bool = False) -> tuple[int, float, int]:
    from artifactual.generation import roleplay
    from artifactual.generation.scheduler import Scheduler

    sessions = roleplay.build(cfg, cfg.section)
    t0 = time.perf_counter()
    if together:
        sched = Scheduler(backend, continuous=continuous)
        asyncio.run(sched.run(sessions))
        steps = sched.stats
    else:
        steps = []
        for s in sessions:
            sched = Scheduler(backend)
            asyncio.run(sched.run([s]))
            steps += sched.stats
    seconds = time.perf_counter() - t0
    turns = sum(len(s.turns) for s in sessions)
    return sum(st.completion_tokens for st in steps), seconds, turns


def config(n: int, max_messages: int, max_tokens: int):
    from artifactual.config import parse_config

    roles = ["Chemist", "Carpenter", "Poet", "Nurse", "Pilot", "Baker", "Lawyer", "Farmer"]
    tasks = ["Plan a small community event.", "Write a short safety checklist.",
             "Design a beginner's weekly practice plan.", "Summarise a tricky topic for a child."]
    triples = [{"assistant_role": roles[i % 8], "user_role": roles[(i * 3 + 1) % 8] + " Student",
                "task": tasks[i % 4]} for i in range(n)]
    return parse_config({
        "name": "bench", "strategies": ["camel"], "seeds": [0],
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": max_tokens},
        "roleplay": {"tasks": triples, "max_messages": max_messages, "specify_task": False},
    })


def size_args(ap: argparse.ArgumentParser) -> None:
    """The workload options both role-play benchmarks take."""
    ap.add_argument("--dialogues", type=int, default=64)
    ap.add_argument("--max-messages", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--fixed-tokens", type=int, default=48)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_args(ap)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    from artifactual.assets import llm_dir
    from artifactual.generation.backends.vllm import EngineOptions, VLLMBackend

    backend = VLLMBackend(str(llm_dir()), EngineOptions(dtype=args.dtype, max_model_len=2048, kv_cache_gib=2))
    backend.llm
    run_requests(backend, fixed_chats(4, 8), batched=True)  # warm-up

    reqs = fixed_chats(args.dialogues, args.fixed_tokens)
    tb, sb = run_requests(backend, reqs, batched=True)
    ts, ss = run_requests(backend, reqs, batched=False)
    ceiling = (tb / sb) / (ts / ss)
    print(f"engine ceiling: {args.dialogues} fixed {args.fixed_tokens}-token chats: batched {tb / sb:.1f} tok/s,"
          f" one at a time {ts / ss:.1f} tok/s -> {ceiling:.2f}x")

    cfg = config(args.dialogues, args.max_messages, args.max_tokens)
    dt, ds, dturns = run_dialogues(backend, cfg, together=True)
    ct, cs, cturns = run_dialogues(backend, cfg, together=True, continuous=True)
    ot, os_, oturns = run_dialogues(backend, cfg, together=False)
    seq = ot / os_
    figures = {"ceiling_batched_tok_s": tb / sb, "ceiling_single_tok_s": ts / ss, "ceiling_ratio": ceiling,
               "sequential_tok_s": seq}
    print(f"role-play: {args.dialogues} dialogues, max {args.max_messages} messages; one dialogue at a "
          f"time {seq:.1f} tok/s ({oturns} turns, {os_:.0f} s)")
    for mode, (tok, sec, turns) in (("steps", (dt, ds, dturns)), ("continuous", (ct, cs, cturns))):
        ratio = (tok / sec) / seq
        print(f"  scheduler, {mode:<10} {tok / sec:6.1f} tok/s ({turns} turns, {sec:.0f} s) -> {ratio:.2f}x "
              f"the sequential loop = {ratio / ceiling:.0%} of the engine ceiling (target >= 80%)")
        figures.update({f"{mode}_tok_s": tok / sec, f"{mode}_ratio": ratio,
                        f"{mode}_share_of_ceiling": ratio / ceiling})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    backend.close()


if __name__ == "__main__":
    main()
