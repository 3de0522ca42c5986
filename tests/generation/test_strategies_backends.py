"""What the enforcing strategies ask of each backend, without an engine: cache keys, the vLLM
server's extra body fields, and a clear error from a LangChain provider that cannot do it."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from artifactual.errors import BackendError
from artifactual.generation.backends.base import ChatRequest, request_key
from artifactual.generation.backends.langchain import LangChainBackend
from artifactual.generation.backends.openai import OpenAIBackend, OpenAIOptions, vllm_extra_body

MSGS = [{"role": "user", "content": "Start."}, {"role": "assistant", "content": "Instruction:"}]


def test_cache_keys_change_with_the_constraint_and_stay_put_without_one():
    plain = ChatRequest(messages=MSGS)
    assert request_key("m", plain) == request_key("m", ChatRequest(messages=MSGS, guided_regex=None))
    keys = {request_key("m", r) for r in (plain, ChatRequest(messages=MSGS, continue_final=True),
                                          ChatRequest(messages=MSGS, guided_regex="Solution: .*"))}
    assert len(keys) == 3


def test_the_openai_backend_sends_vllm_fields_for_prefix_and_regex():
    backend = OpenAIBackend("m", OpenAIOptions(api_key_env=None, extra_body={"top_k": 5}))
    body = backend._body(ChatRequest(messages=MSGS, continue_final=True, guided_regex="Solution: .+"))
    assert body["extra_body"] == {"top_k": 5, "continue_final_message": True,
                                  "add_generation_prompt": False,
                                  "structured_outputs": {"regex": "Solution: .+"}}
    assert body["messages"][-1] == {"role": "assistant", "content": "Instruction:"}
    assert "extra_body" not in OpenAIBackend("m", OpenAIOptions(api_key_env=None))._body(
        ChatRequest(messages=MSGS[:1]))
    assert vllm_extra_body(ChatRequest(messages=MSGS, guided_choice=["a"])) == {
        "structured_outputs": {"choice": ["a"]}}


def test_langchain_chatopenai_gets_the_same_fields():
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="m", base_url="http://127.0.0.1:9/v1", api_key="EMPTY",
                       extra_body={"top_k": 5})
    kw = LangChainBackend(model)._kwargs(ChatRequest(messages=MSGS, continue_final=True))
    assert kw["extra_body"] == {"top_k": 5, "continue_final_message": True,
                                "add_generation_prompt": False}


def test_a_provider_that_cannot_continue_a_message_is_a_clear_error():
    backend = LangChainBackend(FakeListChatModel(responses=["ok"]), "fake")
    with pytest.raises(BackendError, match="cannot do a response prefix") as err:
        asyncio.run(backend.chat([ChatRequest(messages=MSGS, continue_final=True)]))
    assert "backend vllm" in str(err.value)
    with pytest.raises(BackendError, match="constrained decoding"):
        asyncio.run(LangChainBackend(FakeListChatModel(responses=["ok"]), "fake", prefill=True).chat(
            [ChatRequest(messages=MSGS[:1], guided_regex="x+")]))
    # with prefill=True the final AI message goes to the provider as it is
    out = asyncio.run(LangChainBackend(FakeListChatModel(responses=["ok"]), "fake", prefill=True).chat(
        [ChatRequest(messages=MSGS, continue_final=True)]))
    assert out[0].text == "ok"
