"""Validity metrics on known confusion matrices, gold loading, and scoring a real audit."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import artifactual
from artifactual.analysis.validity.gold import courtesy_runs, load_smollm2, load_spp_digression
from artifactual.analysis.validity.harness import injection_sets, load_conversations, rate_rows
from artifactual.analysis.validity.metrics import confusion, prf_with_ci, rate_with_ci
from artifactual.analysis.validity.score import GOLD_TO_FLAGS, collect, flag_columns

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
needs_shared = pytest.mark.skipif(not (SHARED / "labels").exists(),
                                  reason="../shared/labels (gold labels) not present")


def test_known_confusion_matrix():
    gold = [True, True, True, False, False, False, False, True]
    pred = [True, True, False, True, False, False, False, False]
    assert confusion(gold, pred) == (2, 1, 2, 3)
    m = prf_with_ci(gold, pred, n_boot=500, seed=1)
    assert m.precision.value == pytest.approx(2 / 3)
    assert m.recall.value == pytest.approx(0.5)
    assert m.f1.value == pytest.approx(4 / 7)
    assert (m.n, m.n_positive, m.n_flagged) == (8, 4, 3)
    for est in (m.precision, m.recall, m.f1):
        assert est.low <= est.value <= est.high


def test_perfect_and_undefined():
    m = prf_with_ci([True, False, True], [True, False, True])
    assert (m.precision.value, m.precision.low, m.precision.high) == (1.0, 1.0, 1.0)
    nothing = prf_with_ci([True, False], [False, False])
    assert nothing.precision.value is None and nothing.precision.low is None
    assert nothing.recall.value == 0.0
    no_pos = prf_with_ci([False, False], [True, False])
    assert no_pos.recall.value is None and no_pos.precision.value == 0.0


def test_cluster_bootstrap_is_seeded_and_wider_for_correlated_units():
    # 10 conversations of 10 turns: the detector is right on whole conversations or wrong on them
    gold = np.repeat([True] * 5 + [False] * 5, 10)
    pred = np.repeat([True, True, True, False, False, True, False, False, False, False], 10)
    clusters = np.repeat(np.arange(10), 10)
    a = prf_with_ci(gold, pred, clusters, n_boot=400, seed=7)
    b = prf_with_ci(gold, pred, clusters, n_boot=400, seed=7)
    flat = prf_with_ci(gold, pred, n_boot=400, seed=7)
    assert a == b
    assert a.precision.value == flat.precision.value == pytest.approx(0.75)
    assert (a.precision.high - a.precision.low) > (flat.precision.high - flat.precision.low)
    with pytest.raises(ValueError):
        prf_with_ci([True], [True, False])


def test_rate_ci_is_wilson():
    est = rate_with_ci(0, 150)
    assert est.value == 0.0 and est.low == pytest.approx(0.0, abs=1e-12)
    assert est.high == pytest.approx(3.8416 / (150 + 3.8416), rel=1e-3)
    assert rate_with_ci(0, 0).value is None


def test_courtesy_runs():
    assert courtesy_runs([True, True, False, True, True, True, False]) == [
        False, False, False, True, True, True, False]


def _result(turn_flag: list, conv_flag: list) -> SimpleNamespace:
    turns = pd.DataFrame({"conversation_id": pd.array(["a", "a", "b", "b"], dtype="string"),
                          "turn_index": [0, 1, 0, 1],
                          "impersonation": pd.array(turn_flag, dtype="boolean")})
    convs = pd.DataFrame({"conversation_id": pd.array(["a", "b"], dtype="string"),
                          "impersonation": pd.array(conv_flag, dtype="boolean")})
    return SimpleNamespace(turns=turns, conversations=convs,
                           summary={"impersonation_rate": 0.5, "not_applicable": {}})


def test_missing_values_mean_not_applicable():
    from artifactual.analysis.validity.gold import GoldSet

    gold = GoldSet("toy", [], ("impersonation",), {"a": frozenset({"impersonation"}),
                                                   "b": frozenset()},
                   {"a": {0: frozenset(), 1: frozenset({"impersonation"})},
                    "b": {0: frozenset(), 1: frozenset()}})
    units = {u.level: u for u in collect(_result([False, True, None, None], [True, None]), gold)}
    assert units["turn"].gold.tolist() == [False, True] and units["turn"].pred.tolist() == [
        False, True]
    assert units["turn"].n_not_applicable == 2 and units["conversation"].n_not_applicable == 1
    res = _result([False, True, False, False], [True, False])
    res.summary = {"impersonation_rate": None,
                   "not_applicable": {"impersonation": "no second speaker"}}
    rows = rate_rows("toy", res)
    assert rows[0]["reason"] == "no second speaker" and rows[0]["verdict"] == "PASS"


@needs_shared
def test_shared_labels_load_with_the_readme_counts():
    spp = load_spp_digression(SHARED)
    assert len(spp.conversations) == 60
    assert sum("off_task" in v for v in spp.conversations.values()) == 0
    assert sum("off_task_loose" in v for v in spp.conversations.values()) == 7
    smol = load_smollm2(SHARED)
    counts = {label: sum(label in s for per in smol.turns.values() for s in per.values())
              for label in ("role_flip", "off_task", "courtesy", "impersonation", "repetition",
                            "malformed")}
    assert counts == {"role_flip": 25, "off_task": 25, "courtesy": 15, "impersonation": 1,
                      "repetition": 39, "malformed": 59}
    assert sum(len(per) for per in smol.turns.values()) == 74


def test_scoring_a_real_audit_of_injected_impersonation(tmp_path):
    camel = load_conversations(ROOT / "benchmarks" / "data" / "camel" / "clean.jsonl")
    (gold,) = [g for g in injection_sets({"camel_clean": camel}, [], tmp_path, seed=0)
               if g.meta["artifact"] == "impersonation"]
    result = artifactual.audit([str(p) for p in gold.paths])
    turn_flags, conv_flags = flag_columns(result.turns, result.conversations)
    units = collect(result, gold)
    produced = {u.flag for u in units}
    assert produced == {f for f in GOLD_TO_FLAGS["impersonation"] if f in turn_flags + conv_flags}
    turn = next(u for u in units if u.level == "turn")
    assert len(turn.gold) + turn.n_not_applicable == len(result.turns)
    assert int(turn.gold.sum()) == len(camel)  # one injected turn per dialogue
    conv = next(u for u in units if u.level == "conversation")
    assert conv.gold.all() and len(conv.gold) + conv.n_not_applicable == len(camel)


def test_local_labelled_sets_line_up_with_their_logs():
    from artifactual.analysis.validity.gold import load_turn_labels
    from artifactual.readers import ErrorLog, read

    data = Path(__file__).parents[2] / "benchmarks" / "data"
    for logs, labels in (("agents/autogen.jsonl", "agents/autogen.labels.json"),
                         ("agents/roleplay.jsonl", "agents/roleplay.labels.json"),
                         ("smollm2/dev_roleplay_records.jsonl", "smollm2/dev_roleplay.labels.json")):
        gold = load_turn_labels("s", [data / logs], data / labels, ("role_flip", "courtesy"))
        convs = {c.id: c for c in read(data / logs, errors=ErrorLog())}
        assert set(gold.conversations) <= set(convs)
        for cid, per in gold.turns.items():
            assert sorted(per) == [t.index for t in convs[cid].turns], (logs, cid)
        assert sum("role_flip" in s for per in gold.turns.values() for s in per.values()) > 0
