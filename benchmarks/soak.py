"""Soak test for resume and faults (not part of ``make test``; about 10 minutes on 2 cores).

Both parts run ``artifactual generate`` as a real subprocess with the ``openai`` backend,
through a loopback proxy (benchmarks/fault_server.py) in front of a real local vLLM OpenAI
server, so the answers are the real model's and every call the run makes is logged.

**Kills.** ``kill -9`` the run at ``--kills`` seeded random points (during start-up, in
the middle of a scheduler step after a random number of answers, or just after a step's
answers reach the cache, each plus a random delay), resuming each time, then a last resume
to the end and one of the finished run. Checks: every dialogue is present exactly once; the records on
disk at each kill are a byte-identical prefix of the final file; no request whose answer
was in the run's cache (cache.sqlite) when a process started was sent by that process;
the final cache holds exactly the requests answered; the manifest counts the resumes.

**Faults.** A fresh run against the proxy answering 429, 500 (echoing the API key), a
stall past the client's timeout or a dropped connection on ``--fault-rate`` of calls.
Checks: the run completes; every request that failed beyond the retry cap is a record
with ``termination_reason: backend_error`` and an errors.jsonl row (none dropped); the
backend's retry and error counters equal the faults the proxy served; the distinctive
API key appears in no file of the run directory and not in the generate logs.

    .venv/bin/python benchmarks/soak.py [--kills 10] [--seed 0] [--out /tmp/soak]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_server import FAULTS, FaultServer  # noqa: E402
from vllm_server import LocalServer, cpu_flags  # noqa: E402

KEY_ENV = "ARTIFACTUAL_SOAK_API_KEY"
KEY = "sk-soak-DISTINCTIVE-9c41e7b2d0"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTUAL = str(Path(sys.executable).with_name("artifactual"))


def write_config(path: Path, base_url: str, *, seeds: int, max_messages: int, concurrency: int,
                 max_retries: int, timeout_s: float) -> Path:
    """A role-play config on the quickstart tasks, sent through the proxy at ``base_url``."""
    import yaml

    quick = yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text())
    cfg = {"name": path.stem, "generator": "roleplay", "model": "default", "backend": "openai",
           "openai": {"base_url": base_url, "api_key_env": KEY_ENV, "concurrency": concurrency,
                      "max_retries": max_retries, "timeout_s": timeout_s, "backoff_base_s": 0.05,
                      "backoff_max_s": 0.5},
           "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 48},
           "seeds": list(range(seeds)), "strategies": ["camel"],
           "roleplay": {"specify_task": False, "word_limit": 30, "max_messages": max_messages,
                        "history_window": 8, "tasks": quick["roleplay"]["tasks"]}}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def dialogue_ids(config: Path) -> list[str]:
    from artifactual.config import load_config
    from artifactual.generation import roleplay

    cfg = load_config(config)
    return [s.id for s in roleplay.build(cfg, cfg.section)]


def spawn(config: Path, out: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, **{KEY_ENV: KEY}, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    fh = open(log, "ab")
    try:
        return subprocess.Popen([ARTIFACTUAL, "generate", str(config), "--out", str(out), "-q"], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        fh.close()


def cache_keys(out: Path) -> set[str]:
    path = out / "cache.sqlite"
    if not path.exists():
        return set()
    db = sqlite3.connect(str(path))
    try:
        return {k for (k,) in db.execute("SELECT key FROM results")}
    finally:
        db.close()


def complete_prefix(path: Path) -> bytes:
    """The complete (newline-ended) lines of ``path``: what a resume keeps byte for byte."""
    data = path.read_bytes() if path.exists() else b""
    return data[:data.rfind(b"\n") + 1]


def read_records(out: Path) -> list[dict]:
    text = (out / "records.jsonl").read_text(encoding="utf-8") if (out / "records.jsonl").exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def cache_size(out: Path) -> int:
    try:
        db = sqlite3.connect(str(out / "cache.sqlite"), timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def kill_point(rng: random.Random, step_size: int) -> tuple[str, int, float]:
    """(kind, answered requests to wait for, then seconds). Kinds: ``start-up`` (no answer
    yet), ``mid-step`` (some of a step's answers in, none cached: the step is lost) and
    ``after-step`` (just after a step's answers reached the cache: records may be mid-write)."""
    r = rng.random()
    if r < 0.2:
        return "start-up", 0, rng.uniform(0.5, 4.0)
    if r < 0.6:
        return "mid-step", rng.randint(1, step_size), rng.uniform(0.0, 0.5)
    return "after-step", 0, rng.uniform(0.0, 1.5)


def wait_for_point(proc, proxy: FaultServer, out: Path, session: int, kind: str, answers: int,
                   cached_before: int) -> None:
    """Block until the kill point is reached (or the process has exited)."""
    while proc.poll() is None:
        if kind == "start-up":
            return
        if kind == "mid-step" and sum(c.session == session and c.outcome == "ok"
                                      for c in list(proxy.calls)) >= answers:
            return
        if kind == "after-step" and cache_size(out) > cached_before:
            return
        time.sleep(0.05)


def soak_kills(args, proxy: FaultServer, work: Path) -> dict:
    seeds, n_tasks = args.kill_seeds, 8
    config = write_config(work / "kills.yaml", proxy.base_url, seeds=seeds, max_messages=args.max_messages,
                          concurrency=seeds * n_tasks, max_retries=5, timeout_s=600)
    out, log = work / "kills-run", work / "kills-generate.log"
    ids = dialogue_ids(config)
    rng = random.Random(args.seed)
    snapshots: list[bytes] = []
    sent_again = 0
    points = []
    k = 0
    while True:  # kill at seeded random points until --kills kills, then resume to the end
        proxy.session = k
        before = cache_keys(out)
        proc = spawn(config, out, log)
        if len(points) < args.kills:
            kind, answers, delay = kill_point(rng, len(ids))
            wait_for_point(proc, proxy, out, k, kind, answers, len(before))
            time.sleep(delay)
            finished = proc.poll() is not None
            if not finished:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            snapshots.append(complete_prefix(out / "records.jsonl"))
            points.append({"kind": kind, "after_answers": answers, "delay_s": round(delay, 2), "exited_first": finished,
                           "records_on_disk": snapshots[-1].count(b"\n"), "cached": len(cache_keys(out))})
        else:
            finished = True
            if proc.wait() != 0:
                raise SystemExit(f"the final resume failed ({proc.returncode}); see {log}")
        sent_again += sum(c.session == k and c.key in before for c in list(proxy.calls))
        k += 1
        if finished:
            break

    # one more resume of the finished run: nothing may be sent
    proxy.session = k
    n_calls = len(proxy.calls)
    if spawn(config, out, log).wait() != 0:
        raise SystemExit(f"resuming the finished run failed; see {log}")
    final = (out / "records.jsonl").read_bytes()
    recs = read_records(out)
    counts = Counter(r["id"] for r in recs)
    ok_keys = {c.key for c in proxy.calls if c.outcome == "ok"}
    manifest = json.loads((out / "manifest.json").read_text())
    last = (manifest.get("sessions") or [{}])[-1]  # the resume that ran to the end
    return {
        "dialogues": len(ids), "records": len(recs),
        "missing": sorted(set(ids) - set(counts)), "duplicated": sorted(i for i, n in counts.items() if n > 1),
        "kills": sum(not p["exited_first"] for p in points), "points": points, "processes": k + 1,
        "prefixes_byte_identical": sum(final.startswith(s) for s in snapshots), "prefixes": len(snapshots),
        "calls": len(proxy.calls), "distinct_requests": len({c.key for c in proxy.calls}),
        "cached_requests_sent_again": sent_again,
        "calls_after_finish": len(proxy.calls) - n_calls,
        "cache_entries": len(cache_keys(out)), "cache_equals_answered": cache_keys(out) == ok_keys,
        "resumes_in_manifest": len(manifest.get("resumed_at", [])),
        "last_resume_counters": {k: last.get(k) for k in ("requests_sent", "requests_cached",
                                                          "dialogues_generated", "dialogues_skipped")},
        "status": manifest.get("status"),
    }


def key_leaks(paths: list[Path]) -> list[str]:
    """Files (recursively) that contain the API key."""
    leaks = []
    for root in paths:
        files = [root] if root.is_file() else [p for p in sorted(root.rglob("*")) if p.is_file()]
        leaks += [str(p) for p in files if KEY.encode() in p.read_bytes()]
    return leaks


def soak_faults(args, proxy: FaultServer, work: Path) -> dict:
    config = write_config(work / "faults.yaml", proxy.base_url, seeds=args.fault_seeds,
                          max_messages=args.fault_messages, concurrency=8, max_retries=args.max_retries,
                          timeout_s=args.timeout_s)
    out, log = work / "faults-run", work / "faults-generate.log"
    ids = dialogue_ids(config)
    t0 = time.perf_counter()
    rc = spawn(config, out, log).wait()
    seconds = time.perf_counter() - t0
    recs = read_records(out)
    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines() if x.strip()] \
        if (out / "errors.jsonl").exists() else []
    by_key: dict[str, list[str]] = {}
    for c in proxy.calls:
        by_key.setdefault(c.key, []).append(c.outcome)
    gave_up = [k for k, outs in by_key.items() if "ok" not in outs]
    failed = [r for r in recs if r.get("termination_reason") == "backend_error"]
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    stats = (manifest.get("sessions") or [{}])[-1].get("backend_stats", {})
    served = Counter(c.outcome for c in proxy.calls)
    return {
        "rc": rc, "status": manifest.get("status"), "seconds": round(seconds, 1),
        "dialogues": len(ids), "records": len(recs), "distinct_ids": len({r["id"] for r in recs}),
        "missing": sorted(set(ids) - {r["id"] for r in recs}),
        "calls": len(proxy.calls), "faults": {f: served.get(f, 0) for f in FAULTS}, "ok": served.get("ok", 0),
        "fault_share": round(sum(served.get(f, 0) for f in FAULTS) / max(1, len(proxy.calls)), 3),
        "requests_gave_up": len(gave_up), "max_attempts_seen": max(map(len, by_key.values()), default=0),
        "backend_error_records": len(failed), "error_rows": len(errors),
        "error_rows_match_records": sorted(e["record_id"] for e in errors) == sorted(r["id"] for r in failed),
        "backend_stats": stats,
        "retries_plus_errors_equal_faults": stats.get("retries", -1) + stats.get("errors", -1)
        == sum(served.get(f, 0) for f in FAULTS),
        "key_leaks": key_leaks([out, log, work / "kills-run", work / "kills-generate.log"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kill-seeds", type=int, default=3, help="kills: dialogues = 8 tasks x this")
    ap.add_argument("--max-messages", type=int, default=10, help="kills: messages per dialogue")
    ap.add_argument("--fault-rate", type=float, default=0.3)
    ap.add_argument("--fault-seeds", type=int, default=3, help="faults: dialogues = 8 tasks x this")
    ap.add_argument("--fault-messages", type=int, default=4)
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--timeout-s", type=float, default=30.0, help="client timeout (a stall lasts 1.2x)")
    ap.add_argument("--out", default="/tmp/artifactual-soak", help="work directory (emptied first)")
    ap.add_argument("--json", help="also write the counts to this file")
    args = ap.parse_args()

    import logging

    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    work = Path(args.out)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from artifactual.assets import llm_dir

    print(f"CPU: {cpu_flags()}")
    report: dict = {}
    with LocalServer(str(llm_dir()), work / "server.log") as server:
        with FaultServer(server.base_url, key=KEY, rate=0.0, seed=args.seed) as proxy:
            report["kills"] = soak_kills(args, proxy, work)
        with FaultServer(server.base_url, key=KEY, rate=args.fault_rate, seed=args.seed,
                         stall_s=args.timeout_s * 1.2) as proxy:
            report["faults"] = soak_faults(args, proxy, work)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def print_report(report: dict) -> None:
    k, f = report["kills"], report["faults"]
    print(f"kills: {k['kills']} kill -9 at {len(k['points'])} points, {k['processes']} generate processes in all "
          f"with the resume to the end and one of the finished run (status {k['status']}, "
          f"{k['resumes_in_manifest']} resumes in the manifest)")
    for i, p in enumerate(k["points"]):
        when = f"{p['kind']}" + (f" ({p['after_answers']} answers)" if p["after_answers"] else "")
        print(f"  point {i}: {when} + {p['delay_s']} s -> {p['records_on_disk']} records, {p['cached']} cached"
              + (" (had exited)" if p["exited_first"] else ""))
    print(f"  dialogues {k['dialogues']}, records {k['records']}, missing {len(k['missing'])}, "
          f"duplicated {len(k['duplicated'])}")
    print(f"  record prefixes byte-identical at the end: {k['prefixes_byte_identical']}/{k['prefixes']}")
    print(f"  calls {k['calls']} for {k['distinct_requests']} distinct requests ({k['calls'] - k['distinct_requests']} "
          f"lost in flight or answered but not yet cached at a kill); cached requests sent again: "
          f"{k['cached_requests_sent_again']}; calls after the run finished: {k['calls_after_finish']}")
    print(f"  cache entries {k['cache_entries']} = requests answered: {k['cache_equals_answered']}; "
          f"last resume: {k['last_resume_counters']}")
    print(f"faults: rc {f['rc']}, status {f['status']}, {f['seconds']} s; dialogues {f['dialogues']}, records "
          f"{f['records']} ({f['distinct_ids']} distinct), missing {len(f['missing'])}")
    print(f"  calls {f['calls']}: ok {f['ok']}, faults {f['faults']} = {f['fault_share']:.0%}")
    print(f"  requests that failed past the retry cap {f['requests_gave_up']} (most attempts on one request: "
          f"{f['max_attempts_seen']}); backend_error records {f['backend_error_records']}, error rows "
          f"{f['error_rows']}, rows match records: {f['error_rows_match_records']}")
    print(f"  backend counters {f['backend_stats']}; retries + errors = faults served: "
          f"{f['retries_plus_errors_equal_faults']}")
    print(f"  API key found in: {f['key_leaks'] or 'nothing'} (run dirs, manifests, records, caches, logs)")


if __name__ == "__main__":
    main()
