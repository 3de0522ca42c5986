"""``generate --ray``: shards on Ray actors equal the single-process run; a killed worker
loses nothing. Real vLLM engines on the embedded model, Ray in local mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from artifactual.config import RunConfig, load_config
from artifactual.generation.registry import get_generator
from artifactual.generation.run import generate
from artifactual.scale.generate import assign_shards

# 4 short dialogues; the engine settings match the shared `engine` fixture (same numerics)
CONFIG = {
    "name": "ray-check", "model": "default",
    "engine": {"dtype": "bfloat16", "max_model_len": 2048, "kv_cache_gib": 1},
    "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 32},
    "strategies": ["camel", "camel-minimal"], "seeds": [0],
    "roleplay": {"max_messages": 4, "word_limit": 15, "specify_task": False,
                 "assistant_roles": ["Carpenter"], "user_roles": ["Homeowner"],
                 "task_list": ["Build a small bookshelf.", "Fix a squeaky door."]},
    "ray": {"actors": 2, "shards": 2},
}
VOLATILE = ("created_at", "latency", "latency_s", "cached")  # when and how a turn was served


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _strip(obj):
    """A record without wall-clock fields (timestamps, latencies)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _records(run: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in _lines(run / "records.jsonl")]
    assert len(rows) == len({r["id"] for r in rows}), "duplicate records"
    return {r["id"]: _strip(r) for r in rows}


@pytest.fixture(scope="module")
def cfg_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("raycfg") / "ray.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


@pytest.fixture(scope="module")
def reference(engine, cfg_path, tmp_path_factory) -> dict[str, dict]:
    """The single-process run of the same config and seeds, on the shared engine."""
    out = tmp_path_factory.mktemp("ray-ref")
    generate(load_config(cfg_path), out, backend=engine)
    return _records(out)


def test_shards_keep_groups_together_and_deal_round_robin():
    cfg = RunConfig.model_validate({
        "name": "si", "generator": "self_instruct", "strategies": ["self-instruct"],
        "seeds": [0, 1, 2], "self_instruct": {"n": 3}})
    gen = get_generator("self_instruct")
    units = [u for u in gen.build(cfg, cfg.section) if not getattr(u, "input_problem", None)]
    shards = assign_shards(units, gen, 2)
    assert sorted(i for s in shards for i in s) == sorted(u.id for u in units)
    for s in shards:  # a seed's pool never straddles two shards
        assert all(gen.shard_key(next(u for u in units if u.id == i)) in
                   {i.rsplit("-", 1)[0] for i in s} for i in s)
    assert [len(s) for s in shards] == [6, 3]  # groups s0, s2 | s1
    plain = assign_shards(units, object(), 4)  # no shard_key: one unit per group
    assert [len(s) for s in plain] == [3, 2, 2, 2]


@pytest.mark.slow
def test_two_shards_on_ray_equal_the_single_process_run(ray_local, cfg_path, reference, tmp_path):
    from artifactual.scale.generate import generate_ray

    seen: list[tuple[int, int]] = []
    result = generate_ray(load_config(cfg_path), tmp_path, quiet=True,
                          progress=lambda _d, done, total: seen.append((done, total)))
    assert result.n_new == 4 and seen[-1] == (4, 4)
    parts = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert parts == ["shard-00000", "shard-00001"]
    assert all(_lines(tmp_path / "parts" / p / "records.jsonl") for p in parts)
    assert _records(tmp_path) == reference  # same texts, token counts and seeds
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["ray"]["shards"] == 2
    assert manifest["n_records"] == 4


def _cli(cfg: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "artifactual.cli", "generate", str(cfg), "--out", str(out),
            "--ray", "--quiet", *extra]


def _shard_state(part: Path) -> tuple[str | None, int | None, int]:
    """(manifest status, last worker pid, cached requests) of one shard directory."""
    import sqlite3

    try:
        m = json.loads((part / "manifest.json").read_text())
        status, pid = m.get("status"), m["workers"][-1]["pid"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, IndexError):
        return None, None, 0
    try:
        db = sqlite3.connect(f"file:{part / 'cache.sqlite'}?mode=ro", uri=True, timeout=1)
        cached = int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        db.close()
    except sqlite3.Error:
        cached = 0
    return status, pid, cached


@pytest.mark.slow
def test_killed_worker_then_resume_loses_and_duplicates_nothing(cfg_path, reference, tmp_path):
    """One actor runs the two shards in turn. Once the first shard is complete and the
    second has answered requests but finished no dialogue, SIGKILL the worker: Ray restarts
    it and retries the second shard, which replays from its cache; the first shard's
    finished dialogues are never generated again."""
    out = tmp_path / "run"
    proc = subprocess.Popen(_cli(cfg_path, out, "--actors", "1"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    killed = done = None
    before: list[str] = []
    try:
        while proc.poll() is None and killed is None:
            parts = sorted((out / "parts").glob("shard-*")) if (out / "parts").exists() else []
            states = {p: _shard_state(p) for p in parts}
            done = next((p for p, st in states.items() if st[0] == "complete"), None)
            busy = next((p for p, st in states.items() if st[0] == "running" and st[2] > 0
                         and not _lines(p / "records.jsonl")), None)
            if done is not None and busy is not None:
                before = _lines(done / "records.jsonl")
                os.kill(states[busy][1], signal.SIGKILL)
                killed = busy
            time.sleep(0.05)
        _, err = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert killed is not None, f"the run ended before a worker could be killed: {err[-2000:]}"
    # Ray restarts the actor and retries the shard; if it gave up, a resume finishes the run
    if proc.returncode != 0:
        again = subprocess.run(_cli(cfg_path, out, "--actors", "1"), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr[-3000:]
    assert _records(out) == reference  # nothing lost, nothing duplicated, same texts
    assert _lines(done / "records.jsonl") == before, "a finished shard was generated again"
    assert len(json.loads((done / "manifest.json").read_text())["workers"]) == 1
    assert len(json.loads((killed / "manifest.json").read_text())["workers"]) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    stats = {s["shard"]: s for s in manifest["sessions"][-1]["ray"]["shard_stats"]}
    retried = stats[int(killed.name.split("-")[1])]
    assert retried["requests_cached"] > 0  # the dead worker's answers were not asked again

    resumed = subprocess.run(_cli(cfg_path, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "0 generated, 4 already done" in resumed.stdout.replace("\n", " ")
    assert _records(out) == reference
