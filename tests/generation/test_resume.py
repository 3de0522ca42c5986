"""Resume after a hard kill: `generate` in a subprocess, kill -9 mid-run, resume, compare."""

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

from artifactual.config import load_config
from artifactual.generation.run import generate

CONFIG = {
    "name": "resume-check", "model": "default",
    "engine": {"dtype": "bfloat16", "max_model_len": 2048, "kv_cache_gib": 2},
    "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 40},
    "strategies": ["camel", "camel-minimal"], "seeds": [0, 1],
    "roleplay": {
        "max_messages": 10, "word_limit": 20, "specify_task": True,
        "assistant_roles": ["Carpenter", "Potter"], "user_roles": ["Homeowner"],
        "task_list": ["Build a small bookshelf.", "Make a set of four mugs."],
    },
}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _cli(cfg: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "artifactual.cli", "generate", str(cfg), "--out", str(out), "--quiet"]


@pytest.mark.slow
def test_kill_then_resume_loses_and_duplicates_nothing(engine, tmp_path):
    cfg_path = tmp_path / "resume.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG))
    # the reference: an uninterrupted run of the same config on the shared engine
    ref = generate(load_config(cfg_path), tmp_path / "ref", backend=engine)
    ref_ids = {json.loads(x)["id"] for x in _lines(tmp_path / "ref" / "records.jsonl")}
    assert len(ref_ids) == ref.n_total == 16

    out = tmp_path / "killed"
    records = out / "records.jsonl"
    proc = subprocess.Popen(_cli(cfg_path, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while proc.poll() is None and not _lines(records):
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the engine's worker processes die too
    finally:
        proc.wait()
    before = _lines(records)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert 0 < len(before) < 16, f"kill landed outside the run ({len(before)} records)"
    cached_before = _count_cache(out)

    resumed = subprocess.run(_cli(cfg_path, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _lines(records)
    ids = [json.loads(x)["id"] for x in after]
    assert len(ids) == len(set(ids)), "duplicated records after resume"
    assert set(ids) == ref_ids
    assert after[:len(before)] == before, "records written before the kill changed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed_at"]
    # requests answered before the kill were served from the cache, not sent again:
    # every unfinished dialogue had at least its first step cached
    session = manifest["sessions"][-1]
    assert session["dialogues_skipped"] == len(before)
    assert session["requests_cached"] >= 16 - len(before)
    assert _count_cache(out) >= cached_before > 0


def _count_cache(run: Path) -> int:
    import sqlite3

    db = sqlite3.connect(str(run / "cache.sqlite"))
    try:
        return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    finally:
        db.close()
