"""Role-play generation: in-process continuous batching vs clients of a vLLM OpenAI server.

One run measures, on the same model (the embedded SmolLM2-135M) and the same dialogues:

* the engine ceiling: fixed-length chats in one batch, and one at a time;
* in-process continuous batching (the ``vllm`` backend, as ``generate`` runs it), with
  vLLM's prefix caching on and off;
* a local vLLM OpenAI server started here (stopped by PID), sent the dialogues through the
  project's ``openai`` backend: CAMEL-style (each dialogue a client that sends its next
  message as soon as its reply lands) at 16, 32 and 64 requests in flight, and as
  ``generate`` sends them today (one batch of requests per scheduler step).

Each in-process engine runs in its own child process, so none shares memory or threads
with another or with the server. The in-process run also times where its wall clock goes
(engine steps, request preparation = chat template + tokenisation, the rest of the loop).
Prints tok/s, dialogues/min and the ratios; target: in-process >= 1.3x the best server row.

    .venv/bin/python benchmarks/roleplay_vs_server.py [--dialogues 64] [--max-messages 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from roleplay_throughput import config, fixed_chats, run_requests, size_args  # noqa: E402
from vllm_server import LocalServer, cpu_flags  # noqa: E402


def _timed(obj, name: str, totals: dict[str, float]) -> None:
    """Wrap ``obj.name`` so that its calls' seconds add up in ``totals[name]``."""
    inner = getattr(obj, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0

    setattr(obj, name, wrapper)


def _dialogue_figures(sessions, tokens: int, seconds: float) -> dict:
    return {"tok_s": tokens / seconds, "dialogues_min": len(sessions) / seconds * 60, "seconds": seconds,
            "completion_tokens": tokens, "turns": sum(len(s.turns) for s in sessions)}


def child_inproc(args) -> dict:
    """In this process: one engine; the ceiling (when asked) and a continuous-batching run."""
    from artifactual.assets import llm_dir
    from artifactual.generation import roleplay
    from artifactual.generation.backends.vllm import EngineOptions, VLLMBackend
    from artifactual.generation.scheduler import Scheduler

    extra = {"enable_prefix_caching": args.prefix == "on"}
    backend = VLLMBackend(str(llm_dir()), EngineOptions(dtype="bfloat16", max_model_len=2048,
                                                        kv_cache_gib=2, extra=extra))
    t0 = time.perf_counter()
    backend.llm
    out: dict = {"engine_start_s": time.perf_counter() - t0,
                 "engine_core": type(backend.llm.llm_engine.engine_core).__name__}
    run_requests(backend, fixed_chats(4, 8), batched=True)  # warm-up
    if args.ceiling:
        tb, sb = run_requests(backend, fixed_chats(args.dialogues, args.fixed_tokens), batched=True)
        ts, ss = run_requests(backend, fixed_chats(args.single, args.fixed_tokens), batched=False)
        out.update(ceiling_batched_tok_s=tb / sb, ceiling_single_tok_s=ts / ss)
    cfg = config(args.dialogues, args.max_messages, args.max_tokens)
    sessions = roleplay.build(cfg, cfg.section)
    totals: dict[str, float] = {}
    for name in ("poll", "submit", "_prompt_len"):
        _timed(backend, name, totals)
    sched = Scheduler(backend, continuous=True)
    t0 = time.perf_counter()
    asyncio.run(sched.run(sessions))
    seconds = time.perf_counter() - t0
    tokens = sum(s.completion_tokens for s in sched.stats)
    out["continuous"] = _dialogue_figures(sessions, tokens, seconds)
    out["continuous"].update(
        engine_steps=len(sched.stats), mean_in_flight=sum(s.active for s in sched.stats) / max(1, len(sched.stats)),
        share_engine_step=totals.get("poll", 0) / seconds,
        share_prepare=totals.get("submit", 0) / seconds,  # chat template, tokenisation, enqueue
        share_prompt_len=totals.get("_prompt_len", 0) / seconds,  # of which: the length check
        share_other=max(0.0, 1 - (totals.get("poll", 0) + totals.get("submit", 0)) / seconds))
    backend.close()
    return out


def run_child(args, prefix: str, ceiling: bool, layout: str | None) -> dict:
    """Run :func:`child_inproc` in a fresh interpreter; its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        path = fh.name
    cmd = [sys.executable, __file__, "--_child", path, "--prefix", prefix, "--dialogues", str(args.dialogues),
           "--max-messages", str(args.max_messages), "--max-tokens", str(args.max_tokens),
           "--fixed-tokens", str(args.fixed_tokens), "--single", str(args.single)] + (["--ceiling"] if ceiling else [])
    env = dict(os.environ)
    if layout is not None:
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = layout
    log = Path(args.logs) / f"inproc-prefix-{prefix}{'-core-inproc' if layout == '0' else ''}.log"
    with open(log, "w") as fh:
        rc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise SystemExit(f"in-process child failed ({rc}); see {log}")
    return json.loads(Path(path).read_text())


async def _clients(backend, sessions, concurrency: int) -> int:
    """CAMEL-style: every dialogue its own client loop, ``concurrency`` requests in flight
    at most, over one shared HTTP client; completion tokens."""
    from openai import AsyncOpenAI

    sem = asyncio.Semaphore(concurrency)
    o = backend.options
    tokens = 0
    async with AsyncOpenAI(base_url=o.base_url, api_key="EMPTY", timeout=o.timeout_s, max_retries=0) as client:
        async def one(d) -> None:
            nonlocal tokens
            while not d.done:
                req = d.next_request()
                async with sem:
                    r = await backend._send(client, req)  # the backend's own request + retry path
                d.apply(r)
                tokens += r.completion_tokens

        await asyncio.gather(*(one(d) for d in sessions))
    return tokens


def server_rows(args) -> dict:
    """The server's rows: CAMEL-style clients at each concurrency, and ``generate``'s steps."""
    from artifactual.assets import llm_dir
    from artifactual.generation import roleplay
    from artifactual.generation.backends.openai import OpenAIBackend, OpenAIOptions
    from artifactual.generation.scheduler import Scheduler

    rows: dict = {}
    server = LocalServer(str(llm_dir()), Path(args.logs) / "server.log", prefix_caching=True)
    t0 = time.perf_counter()
    with server:
        rows["server_start_s"] = time.perf_counter() - t0
        cfg = config(args.dialogues, args.max_messages, args.max_tokens)

        def backend(c: int) -> OpenAIBackend:
            return OpenAIBackend(server.served_name, OpenAIOptions(base_url=server.base_url, api_key_env=None,
                                                                   concurrency=c, timeout_s=600))

        asyncio.run(backend(4).chat(fixed_chats(4, 8)))  # warm-up
        for c in args.concurrency:
            sessions = roleplay.build(cfg, cfg.section)
            t0 = time.perf_counter()
            tokens = asyncio.run(_clients(backend(c), sessions, c))
            rows[f"clients_c{c}"] = _dialogue_figures(sessions, tokens, time.perf_counter() - t0)
        sessions = roleplay.build(cfg, cfg.section)
        sched = Scheduler(backend(max(args.concurrency)))
        t0 = time.perf_counter()
        asyncio.run(sched.run(sessions))
        rows[f"steps_c{max(args.concurrency)}"] = _dialogue_figures(
            sessions, sum(s.completion_tokens for s in sched.stats), time.perf_counter() - t0)
    return rows


def report(args, on: dict, off: dict | None, mp: dict | None, server: dict) -> dict:
    print(f"CPU: {cpu_flags()}")
    print(f"{args.dialogues} role-play dialogues (camel), max {args.max_messages} messages, "
          f"max {args.max_tokens} tokens a reply; vllm backend's engine client: {on['engine_core']}")
    ceiling = on["ceiling_batched_tok_s"]
    print(f"engine ceiling: {args.dialogues} fixed {args.fixed_tokens}-token chats in one batch "
          f"{ceiling:.1f} tok/s; one at a time {on['ceiling_single_tok_s']:.1f} tok/s")
    rows = {"in-process continuous, prefix cache on": on["continuous"]}
    if off:
        rows["in-process continuous, prefix cache off"] = off["continuous"]
    if mp:
        rows["in-process continuous, engine core in-process"] = mp["continuous"]
    for c in args.concurrency:
        rows[f"server, {c} CAMEL-style clients"] = server[f"clients_c{c}"]
    top = max(args.concurrency)
    rows[f"server, generate's steps ({top} in flight)"] = server[f"steps_c{top}"]
    best_name, best = max(((k, v) for k, v in rows.items() if k.startswith("server")), key=lambda kv: kv[1]["tok_s"])
    for name, r in rows.items():
        print(f"  {name:<48} {r['tok_s']:7.1f} tok/s {r['dialogues_min']:7.1f} dialogues/min "
              f"({r['turns']} turns, {r['seconds']:.0f} s) = {r['tok_s'] / ceiling:.0%} of the ceiling")
    ratio = on["continuous"]["tok_s"] / best["tok_s"]
    print(f"in-process continuous / best server row ({best_name}): {ratio:.2f}x tok/s, "
          f"{on['continuous']['dialogues_min'] / best['dialogues_min']:.2f}x dialogues/min (target >= 1.3x)")
    if off:
        print(f"prefix caching on / off (in-process): {on['continuous']['tok_s'] / off['continuous']['tok_s']:.2f}x")
    c = on["continuous"]
    print(f"in-process wall clock: engine steps {c['share_engine_step']:.0%}, request preparation "
          f"{c['share_prepare']:.0%} (length check {c['share_prompt_len']:.0%}), rest of the loop "
          f"{c['share_other']:.0%}; {c['engine_steps']} steps, {c['mean_in_flight']:.1f} requests in flight on average")
    return {"cpu": cpu_flags(), "ceiling": {k: on[k] for k in ("ceiling_batched_tok_s", "ceiling_single_tok_s")},
            "rows": rows, "ratio_vs_best_server": ratio, "best_server": best_name, "server_start_s": server["server_start_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_args(ap)
    ap.add_argument("--single", type=int, default=8, help="fixed chats sent one at a time for the ceiling")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--no-prefix-off", action="store_true", help="skip the prefix-caching-off run")
    ap.add_argument("--also-inproc-core", action="store_true",
                    help="also run continuous batching with vLLM's engine core in this process "
                         "(VLLM_ENABLE_V1_MULTIPROCESSING=0)")
    ap.add_argument("--logs", default=None, help="directory for the engine and server logs")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", default="on", choices=["on", "off"], help=argparse.SUPPRESS)
    ap.add_argument("--ceiling", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        Path(args._child).write_text(json.dumps(child_inproc(args)))
        return
    args.logs = args.logs or tempfile.mkdtemp(prefix="roleplay-vs-server-")
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    on = run_child(args, "on", ceiling=True, layout=None)
    off = None if args.no_prefix_off else run_child(args, "off", ceiling=False, layout=None)
    mp = run_child(args, "on", ceiling=False, layout="0") if args.also_inproc_core else None
    server = server_rows(args)
    figures = report(args, on, off, mp, server)
    print(f"logs: {args.logs}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
