"""The judge on the in-process vLLM engine: answers constrained to the JSON schema."""

from __future__ import annotations

import json

from artifactual.config import JudgeConfig
from artifactual.generation.judge import judge
from artifactual.readers import read


def test_engine_judge_answers_in_the_schema(engine):
    (conv,) = [c for c in read("tests/fixtures/camel/good/garden_flips.json")]
    cfg = JudgeConfig(artifacts=["role_flip", "digression"],
                      sampling={"temperature": 0.0, "max_tokens": 120, "seed": 0})
    rows = judge([(conv, "role_flip"), (conv, "digression")], engine, cfg)
    assert [j.artifact for j in rows] == ["role_flip", "digression"]
    for j in rows:
        assert j.error is None and isinstance(j.verdict, bool), j.raw
        answer = json.loads(j.raw)  # constrained decoding: exactly the schema's object
        assert set(answer) == {"occurs", "turn", "quote"} and len(answer["quote"]) <= 160
        assert j.provenance.backend == "vllm" and j.provenance.engine_version.startswith("vllm")
        assert j.provenance.usage.completion_tokens > 0 and j.meta["finish_reason"] == "stop"
