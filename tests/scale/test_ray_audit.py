"""audit_ray: the Ray Data audit equals the plain audit; shards hold whole conversations."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from artifactual.analysis import audit
from artifactual.errors import AnalysisError
from artifactual.report import write_audit_dir
from artifactual.scale.audit_work import cut_shards

FIXTURES = Path(__file__).parents[1] / "fixtures"
# Several formats (CAMEL JSON + JSONL, OpenAI messages, SPP, ShareGPT, records-like CAMEL
# dialogues), bad lines in four files, camel/good twice (three duplicate ids), and more
# than 20 distinct tasks, so digression's null thresholds come from other tasks ("auto").
MIXED = [FIXTURES / p for p in (
    "camel/good", "camel/jsonl/allotment.jsonl", "openai/chats.jsonl",
    "spp/logic_grid_small.jsonl", "adherence/camel_dialogues.jsonl",
    "adherence/camel_heldout.jsonl", "sharegpt/lines.jsonl", "camel/good")]
TOL = 1e-6  # embeddings computed in other batches differ by float rounding only (fp32)


def _close(a: Any, b: Any, where: str = "summary") -> None:
    """Equal, except floats within TOL (None and NaN must match)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOL, (where, a, b)
    else:
        assert a == b and type(a) is type(b), (where, a, b)


def _frames_equal(ray: pd.DataFrame, plain: pd.DataFrame) -> None:
    floats = [c for c in plain.columns if pd.api.types.is_float_dtype(plain[c])]
    exact = [c for c in plain.columns if c not in floats]
    assert list(ray.columns) == list(plain.columns)
    pd.testing.assert_frame_equal(ray[exact], plain[exact])  # ids, flags, evidence, counts
    pd.testing.assert_frame_equal(ray[floats], plain[floats], check_exact=False, rtol=0,
                                  atol=TOL)


def test_cut_shards_keeps_conversations_whole() -> None:
    n_turns = [3, 0, 2, 5, 1, 4, 2]
    shards = cut_shards(n_turns, 3)
    assert [(s.conv_start, s.conv_stop) for s in shards] == [(0, 3), (3, 6), (6, 7)]
    assert [(s.turn_start, s.turn_stop) for s in shards] == [(0, 5), (5, 15), (15, 17)]
    for s in shards:  # each shard's turns are exactly its conversations' turns
        assert s.turn_stop - s.turn_start == sum(n_turns[s.conv_start:s.conv_stop])
    assert [s.index for s in shards] == [0, 1, 2]
    assert [len(cut_shards(n_turns, k)) for k in (1, 7, 100)] == [7, 1, 1]
    assert cut_shards([], 4) == []
    with pytest.raises(ValueError):
        cut_shards(n_turns, 0)


def test_only_digression_reads_other_conversations() -> None:
    from artifactual.analysis import available_detectors, registry

    scopes = {name: registry.detector_scope(name) for name in available_detectors()}
    assert scopes.pop("digression") == "corpus"  # null thresholds from other tasks
    assert set(scopes.values()) == {"conversation"}
    with pytest.raises(AnalysisError):
        registry.detector("bad_scope", scope="global")


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_ray_audit_equals_plain_audit(ray_local, tmp_path: Path, precision: str) -> None:
    from artifactual.scale.audit import RayTimings, audit_ray

    # bf16 too: the encoder batches texts of one word-piece length, so a text's vector
    # does not depend on the shard it is embedded in (it did by ~1e-3 with padded batches)
    # the detectors that read embeddings, the corpus-scoped digression among them
    dets = ["role_flip", "impersonation", "digression", "courtesy_loop", "content_repetition"]
    plain = audit(MIXED, compare_by="path", encoder_precision=precision, detectors=dets)
    seen: list[tuple[str, int, int | None]] = []
    timings = RayTimings()
    result = audit_ray(MIXED, actors=2, shard_size=8, quiet=True, compare_by="path",
                       progress=lambda *a: seen.append(a), timings=timings,
                       encoder_precision=precision, detectors=dets)

    assert len(timings.shard_seconds) == 5 and timings.actors == 2  # 34 conversations / 8
    pd.testing.assert_frame_equal(result.errors, plain.errors)  # bad lines + duplicates
    assert len(result.errors) == 16
    assert result.conversations["conversation_id"].str.endswith("~2").sum() == 3
    _frames_equal(result.turns, plain.turns)
    _frames_equal(result.conversations, plain.conversations)
    _frames_equal(result.comparison, plain.comparison)
    # the plain audit also counts what its lazy context parsed and embedded; the shards'
    # eager contexts are not counted
    assert result.summary.pop("text_models") == {"encoder_precision": precision}
    assert plain.summary.pop("text_models")["encoder_precision"] == precision
    _close(result.summary, plain.summary)
    evidence = result.turns.loc[result.turns["digression"], "evidence"]
    assert evidence.str.contains("of other tasks").all() and len(evidence) > 0  # auto null

    stages = {stage: (done, total) for stage, done, total in seen}
    assert stages == {"read": (12, 12), "parse": (5, 5), "detect": (6, 6)}
    paths = write_audit_dir(result, tmp_path / "out")
    assert paths["report"].stat().st_size > 0 and paths["comparison"].exists()


def test_failing_shards_raise_naming_their_files(ray_local) -> None:
    from artifactual.scale.audit import audit_ray

    bad = {"repetition_loop": {"threshold": 5.0}}  # the detector rejects it in each shard
    with pytest.raises(AnalysisError) as err:
        audit_ray(MIXED[:3], actors=1, shard_size=4, quiet=True,
                  detectors=["repetition_loop"], detector_params=bad)
    assert "2 of 2 shard(s) failed" in err.value.message
    assert "threshold must be in (0, 1]" in err.value.message
    assert "allotment.jsonl" in err.value.where and "chats.jsonl" in err.value.where


def _exit_on_chats(turns: pd.DataFrame, **_: Any) -> pd.DataFrame:
    """A detector whose worker process dies on any shard holding openai/chats.jsonl."""
    if turns["source_path"].astype(str).str.endswith("chats.jsonl").any():
        os._exit(3)  # a crash no Python handler sees (as an OOM kill or a segfault)
    return pd.DataFrame({"exit_test": False, "evidence": ""}, index=turns.index).astype(
        {"exit_test": bool, "evidence": object})


def test_a_shard_whose_worker_dies_is_named_and_the_others_finish(
        ray_local, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray.cloudpickle

    from artifactual.analysis import registry
    from artifactual.scale.audit import audit_ray

    monkeypatch.setattr(registry, "_DETECTORS", dict(registry._DETECTORS))
    registry.detector("exit_test")(_exit_on_chats)
    module = sys.modules[__name__]  # the workers cannot import this test module: ship it
    ray.cloudpickle.register_pickle_by_value(module)
    try:
        with pytest.raises(AnalysisError) as err:
            audit_ray(MIXED[:3], actors=1, shard_size=4, quiet=True, detectors=["exit_test"])
    finally:
        ray.cloudpickle.unregister_pickle_by_value(module)
    # shard 0: camel/good + allotment:1 finishes; shard 1: allotment:4 + chats dies
    assert "Ray gave up on 1 of 2 shard(s) (shards [1]" in err.value.message
    assert "the other 1 finished" in err.value.message
    assert err.value.where == f"{MIXED[1]}, {MIXED[2]}"
