"""Continuous batching: the same records as step-by-step scheduling, a fuller engine."""

from __future__ import annotations

import asyncio
import json

import pytest

from artifactual.config import parse_config
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.run import generate
from artifactual.generation.scheduler import Scheduler
from artifactual.records import Sampling, Usage

TASKS = [{"assistant_role": "Gardener", "user_role": "Homeowner", "task": "Plan a small herb bed."},
         {"assistant_role": "Baker", "user_role": "Student", "task": "Bake a simple loaf of bread."},
         {"assistant_role": "Cyclist", "user_role": "Commuter", "task": "Choose a safe route to work."}]


def _config(batching: str):
    return parse_config({
        "name": "cont", "model": "default", "batching": batching,
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 40},
        "strategies": ["camel", "camel-minimal"], "seeds": [0],
        "roleplay": {"tasks": TASKS, "max_messages": 4, "word_limit": 20}})


def _content(run) -> dict[str, tuple]:
    out = {}
    for line in (run / "records.jsonl").read_text().splitlines():
        r = json.loads(line)
        out[r["id"]] = (r["specified_task"], [(t["speaker"], t["content"], t["meta"]["completion_tokens"])
                                               for t in r["turns"]], r["termination_reason"],
                        r["provenance"]["usage"])
    return out


def test_continuous_batching_writes_the_records_of_step_scheduling(engine, tmp_path):
    steps = generate(_config("steps"), tmp_path / "steps", backend=engine)
    cont = generate(_config("continuous"), tmp_path / "cont", backend=engine)
    assert steps.n_new == cont.n_new == 6
    assert _content(tmp_path / "cont") == _content(tmp_path / "steps")  # same seeds, same texts
    # continuous: all six first requests queued together, then one entry per engine step in
    # which some request finished (more entries than turns-per-dialogue steps)
    assert cont.steps[0].active == 6 and len(cont.steps) > len(steps.steps)
    assert sum(s.sent for s in cont.steps) == sum(s.sent for s in steps.steps)
    assert engine.llm.llm_engine.has_unfinished_requests() is False
    # the fingerprint ignores the batching mode: a continuous run resumes a steps run
    again = generate(_config("continuous"), tmp_path / "steps", backend=engine)
    assert again.n_new == 0 and again.n_skipped == 6


class _Breaks:
    """A dialogue whose second result makes it raise (a bug in a generator)."""

    def __init__(self, i: int):
        self.id, self.done, self.usage, self.n = f"b{i}", False, Usage(), 0

    def next_request(self) -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": f"Count to {self.n + 3}."}],
                           sampling=Sampling(max_tokens=8 + 8 * int(self.id[1:]), seed=self.n))

    def apply(self, result: ChatResult) -> None:
        self.n += 1
        if self.n == 2:
            raise ValueError("generator bug")


def test_a_failure_mid_run_leaves_no_request_behind_on_the_shared_engine(engine):
    with pytest.raises(ValueError, match="generator bug"):
        asyncio.run(Scheduler(engine, continuous=True).run([_Breaks(i) for i in range(4)]))
    assert not engine.llm.llm_engine.has_unfinished_requests()
    # the next step-mode batch on the same engine gets exactly its own results
    reqs = [ChatRequest(messages=[{"role": "user", "content": "Name a colour."}],
                        sampling=Sampling(max_tokens=6, seed=i)) for i in range(3)]
    out = asyncio.run(engine.chat(reqs))
    assert len(out) == 3 and all(r.ok for r in out)
