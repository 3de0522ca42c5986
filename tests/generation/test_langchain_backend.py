"""The langchain backend (ChatOpenAI on the real local vLLM server), and record shapes
that are identical across the vllm, openai and langchain backends."""

from __future__ import annotations

import asyncio
import json

import pytest

from artifactual.config import parse_config
from artifactual.errors import BackendError
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.backends.langchain import LangChainBackend, to_langchain_messages
from artifactual.generation.run import generate
from artifactual.records import Sampling, record_from_json


def test_any_chat_model_instance_usage_and_per_request_errors(vllm_server):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model=vllm_server.model, base_url=vllm_server.base_url, api_key=vllm_server.key,
                       max_retries=0)
    backend = LangChainBackend(model, concurrency=2)  # passed programmatically
    assert backend.model == vllm_server.model
    reqs = [ChatRequest(messages=[{"role": "system", "content": "You are terse."},
                                  {"role": "user", "content": f"Name a river, number {i}."}],
                        sampling=Sampling(max_tokens=10, seed=i)) for i in range(2)]
    choice = ChatRequest(messages=[{"role": "user", "content": "Pick a letter."}], guided_choice=["Q", "Z"],
                         sampling=Sampling(max_tokens=4, seed=1))
    too_long = ChatRequest(messages=[{"role": "user", "content": "word " * 3000}], sampling=Sampling(max_tokens=4))
    bad_role = ChatRequest(messages=[{"role": "tool", "content": "x"}])
    out = asyncio.run(backend.chat(reqs + [too_long, choice, bad_role]))
    assert len(out) == 5
    assert all(r.ok and r.text and r.prompt_tokens > 0 and r.completion_tokens > 0 for r in out[:2])
    assert out[0].finish_reason in ("stop", "length")
    assert out[2].error and out[2].finish_reason == "context_full"
    assert out[3].ok and out[3].text in ("Q", "Z")
    assert out[4].error and "role 'tool'" in out[4].error
    assert backend.stats == {"requests": 5, "errors": 2}
    assert vllm_server.key not in json.dumps(backend.info())


def test_rejects_what_is_not_a_chat_model():
    with pytest.raises(BackendError, match="not a langchain_core BaseChatModel"):
        LangChainBackend(object())
    with pytest.raises(ValueError, match="expected system, user or assistant"):
        to_langchain_messages([{"role": "robot", "content": "hi"}])


def _shape(value):
    """The structure of a JSON value: keys of objects, element shape of lists, leaf kinds."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _turn_free(rec: dict) -> dict:
    """A record's shape with one turn (turn counts and None-or-number leaves vary by wording)."""
    rec = dict(rec, turns=rec["turns"][:1])
    rec["provenance"] = dict(rec["provenance"], created_at="t")
    for turn in rec["turns"]:
        turn["meta"] = {k: "leaf" for k in turn["meta"]}
    return rec


def test_three_backends_write_identical_record_shapes(engine, vllm_server, api_key_env, tmp_path,
                                                      assert_key_absent):
    base = {
        "name": "shapes", "model": "default",
        "openai": {"base_url": vllm_server.base_url, "api_key_env": api_key_env},
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 24},
        "strategies": ["camel-minimal"], "seeds": [7],
        "roleplay": {"tasks": [{"assistant_role": "Baker", "user_role": "Cafe Owner",
                                "task": "Plan a weekly bread menu."}], "max_messages": 2, "word_limit": 15},
    }
    shapes, backends = {}, {}
    for kind in ("vllm", "openai", "langchain"):
        cfg = parse_config(dict(base, backend=kind))
        generate(cfg, tmp_path / kind, backend=engine if kind == "vllm" else None)
        lines = (tmp_path / kind / "records.jsonl").read_text().splitlines()
        assert len(lines) == 1
        rec = json.loads(lines[0])
        assert rec["turns"] and rec["termination_reason"] != "backend_error", rec
        record_from_json(rec)  # valid for the data model
        backends[kind] = rec["provenance"]["backend"]
        shapes[kind] = _shape(_turn_free(rec))
        manifest = json.loads((tmp_path / kind / "manifest.json").read_text())
        assert set(manifest["usage"]) == {"smollm2-135m-instruct"}
    assert backends == {"vllm": "vllm", "openai": "openai", "langchain": "langchain"}
    assert shapes["openai"] == shapes["vllm"]
    assert shapes["langchain"] == shapes["vllm"]
    assert_key_absent(tmp_path / "openai")
    assert_key_absent(tmp_path / "langchain")
