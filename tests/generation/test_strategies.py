"""Strategies that enforce the CAMEL convention: a response prefix and constrained decoding,
on the real embedded model, in both batching modes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from artifactual.agents.templates import PROMPTS_DIR, load_strategy
from artifactual.analysis.detectors.roles import classify_message
from artifactual.config import parse_config
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.run import generate
from artifactual.records import Sampling, sha256_text

TASKS = [{"assistant_role": "Gardener", "user_role": "Homeowner", "task": "Plan a small herb bed."},
         {"assistant_role": "Baker", "user_role": "Student", "task": "Bake a simple loaf of bread."}]
MARKERS = {"user": "Instruction:", "assistant": "Solution:"}


def _config(batching: str, strategy: str):
    return parse_config({
        "name": "enforced", "model": "default", "batching": batching,
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 32},
        "strategies": [strategy], "seeds": [0],
        "roleplay": {"tasks": TASKS, "max_messages": 4, "word_limit": 20}})


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(engine, tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    """{strategy: {batching mode: records}} for 2 dialogues of 4 messages each."""
    root = tmp_path_factory.mktemp("strategies")
    out: dict[str, dict[str, list[dict]]] = {}
    for strategy in ("camel-prefix", "camel-constrained"):
        for mode in ("steps", "continuous"):
            result = generate(_config(mode, strategy), root / f"{strategy}-{mode}", backend=engine)
            assert result.n_new == 2 and result.n_unfinished == 0
            out.setdefault(strategy, {})[mode] = _records(root / f"{strategy}-{mode}")
    return out


def _all(runs) -> list[dict]:
    return [r for modes in runs.values() for recs in modes.values() for r in recs]


def test_every_turn_starts_with_its_role_marker_so_none_is_an_interruption(runs):
    for rec in _all(runs):
        assert rec["turns"], rec["id"]
        for turn in rec["turns"]:
            role, text = turn["meta"]["role"], turn["content"]
            done = rec["provenance"]["strategy"] == "camel-constrained" and text == "<CAMEL_TASK_DONE>"
            assert text.startswith(MARKERS[role]) or done, (rec["id"], text)
            _, interruption, _ = classify_message(role, text)
            assert not interruption, (rec["id"], text)


def test_the_prefix_is_stored_in_the_turn_and_the_constraint_is_marked(runs):
    for rec in _all(runs):
        for turn in rec["turns"]:
            if rec["provenance"]["strategy"] == "camel-prefix":
                assert turn["meta"]["prefix"] == MARKERS[turn["meta"]["role"]]
                assert "constrained" not in turn["meta"]
            else:
                assert turn["meta"]["constrained"] is True and "prefix" not in turn["meta"]


def test_both_batching_modes_run_them_to_the_end(runs):
    # Not compared text for text: continuous batching composes the engine's batches
    # differently, and on bf16 CPU kernels that can tip a near-tie in sampling. The first
    # request of every dialogue is batched alike in both modes, so the specified tasks match.
    for strategy, modes in runs.items():
        steps, cont = ({r["id"]: r for r in modes[m]} for m in ("steps", "continuous"))
        assert set(steps) == set(cont), strategy
        for rid in steps:
            assert steps[rid]["specified_task"] == cont[rid]["specified_task"]
            assert cont[rid]["termination_reason"] and cont[rid]["turns"]


def test_a_mixed_batch_keeps_order_and_continues_only_the_prefixed_requests(engine):
    def req(content: str, prefix: str | None = None) -> ChatRequest:
        messages = [{"role": "user", "content": content}]
        if prefix:
            messages.append({"role": "assistant", "content": prefix})
        return ChatRequest(messages=messages, continue_final=bool(prefix),
                           sampling=Sampling(temperature=0.0, max_tokens=12, seed=1))

    plain = [req("Name a colour."), req("Name a fruit.")]
    prefixed = req("Name a colour.", prefix="Solution: The colour is")
    mixed = asyncio.run(engine.chat([plain[0], prefixed, plain[1]]))
    alone = asyncio.run(engine.chat(plain)) + asyncio.run(engine.chat([prefixed]))
    assert [r.text for r in mixed] == [alone[0].text, alone[2].text, alone[1].text]
    assert all(r.ok for r in mixed)
    assert mixed[0].text != mixed[1].text  # the prefix changed what the model wrote


def test_provenance_names_the_strategy_file_and_its_sha256(runs):
    for rec in _all(runs):
        name = rec["provenance"]["strategy"]
        text = (PROMPTS_DIR / f"{name}.j2").read_text(encoding="utf-8")
        assert rec["provenance"]["strategy_sha256"] == sha256_text(text)


def test_plain_strategies_define_no_enforcing_macros():
    for name in ("camel", "camel-minimal", "camel-terse"):
        s = load_strategy(name)
        assert not any(s.has(m) for m in ("user_prefix", "assistant_prefix", "user_regex",
                                          "assistant_regex"))
    assert load_strategy("camel-prefix").has("user_prefix")
    assert load_strategy("camel-constrained").has("assistant_regex")
