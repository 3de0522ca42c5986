"""Length-matched free-form counterparts: min_tokens/max_tokens from the human text's length,
and the LLM/human word ratio in the manifest, on the real embedded model."""

from __future__ import annotations

import json
import math
from pathlib import Path

from artifactual.config import load_config
from artifactual.generation.freeform import build, run_totals, word_count
from artifactual.generation.run import generate
from artifactual.records import record_from_json

ROOT = Path(__file__).resolve().parents[2]


def _example(limit: int | None = None):
    cfg = load_config(ROOT / "configs" / "freeform.yaml")
    cfg.freeform["data"] = str(ROOT / cfg.freeform["data"])
    if limit is not None:
        cfg.freeform["limit"] = limit
    return type(cfg).model_validate(cfg.model_dump(exclude_unset=True))


def test_token_limits_follow_the_human_length():
    cfg = _example()
    s = cfg.section
    for unit in build(cfg, s):
        target = word_count(unit.human.text)
        assert unit.target_words == target
        sampling = unit.request.sampling
        assert sampling.max_tokens == min(cfg.sampling.max_tokens,
                                          math.ceil(target * s.tokens_per_word * s.length_margin))
        assert sampling.min_tokens == min(sampling.max_tokens,
                                          math.floor(target * s.tokens_per_word * s.min_share))


def test_the_example_config_matches_length_and_the_manifest_says_so(engine, tmp_path):
    run = tmp_path / "ff"
    generate(_example(limit=4), run, backend=engine)
    records = [record_from_json(x) for x in (run / "records.jsonl").read_text().splitlines()]
    llm = [r for r in records if r.origin == "llm"]
    assert len(llm) == 4
    for r in llm:  # the engine honoured min_tokens: no early stop
        assert r.provenance.usage.completion_tokens >= r.meta["min_tokens"]
        assert r.provenance.sampling.min_tokens == r.meta["min_tokens"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["length_ratio"] == run_totals(records)["length_ratio"]
    (ratio,) = manifest["length_ratio"].values()
    assert 0.8 <= ratio <= 1.25, ratio
