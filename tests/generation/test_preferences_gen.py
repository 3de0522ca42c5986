"""Pairwise preferences: both orders per pair, ties allowed, guided choice, provenance."""

from __future__ import annotations

import json
from pathlib import Path

from artifactual.config import parse_config
from artifactual.generation.preferences import parse_choice
from artifactual.generation.run import generate
from artifactual.records import Preference, record_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"


def prefs_config(**section):
    body = {"data": str(FIXTURES / "pairs.jsonl"), "id_field": "id"}
    body.update(section)
    return parse_config({"name": "prefs-test", "generator": "preferences", "model": "default",
                         "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 4}, "seeds": [0],
                         "preferences": body})


def test_parse_choice():
    assert parse_choice("A") == "a" and parse_choice(" b.") == "b" and parse_choice("**A**") == "a"
    assert parse_choice("Response B") == "b" and parse_choice("Tie") == "tie"
    assert parse_choice("tie", ties=False) is None
    assert parse_choice("A is better") is None and parse_choice("") is None


def test_both_orders_with_ties(engine, tmp_path):
    res = generate(prefs_config(), tmp_path / "run", backend=engine)
    assert res.n_total == 6 and res.steps[0].active == 6  # every unit in flight at once
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert all(isinstance(r, Preference) for r in recs)
    by_id = {r.id: r for r in recs}
    assert sorted(by_id) == sorted(f"{p}::{o}" for p in ("p1", "p2", "p3") for o in ("original", "swapped"))
    pairs = {json.loads(x)["id"]: json.loads(x) for x in (FIXTURES / "pairs.jsonl").read_text().splitlines()}
    for pid, row in pairs.items():
        orig, swap = by_id[f"{pid}::original"], by_id[f"{pid}::swapped"]
        assert (orig.order, swap.order) == ("original", "swapped")
        assert (orig.a, orig.b) == (row["a"], row["b"]) and (swap.a, swap.b) == (row["b"], row["a"])
        assert orig.prompt == swap.prompt == row["prompt"]
        assert orig.pair_id == swap.pair_id == pid
    # the analysis layer pairs both orders: swap consistency is measurable on these records
    from artifactual.analysis.corpora.preferences import position_bias, preferences_to_frame

    bias = position_bias(preferences_to_frame(recs)).iloc[0]
    assert bias["n_swapped_pairs"] == 3 and 0.0 <= bias["swap_consistency"] <= 1.0
    for r in recs:
        assert r.choice in ("a", "b", "tie") and r.judge == "smollm2-135m-instruct"
        p = r.provenance
        assert p.generator == "preferences" and p.strategy == "pairwise-judge" and p.usage.prompt_tokens > 0
    assert not (tmp_path / "run" / "errors.jsonl").read_text().strip()


def test_no_ties_and_one_order(engine, tmp_path):
    generate(prefs_config(ties=False, orders=["swapped"]), tmp_path / "run", backend=engine)
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert len(recs) == 3 and {r.order for r in recs} == {"swapped"}
    assert {r.choice for r in recs} <= {"a", "b"}  # guided to A/B only


def test_sweep_ids_stay_unique(tmp_path):
    from artifactual.generation.preferences import build

    cfg = prefs_config()
    cfg = cfg.model_copy(update={"seeds": [0, 1]})
    units = build(cfg, cfg.section)
    assert len({u.id for u in units}) == len(units) == 12
    assert "p1::pairwise-judge::s1::swapped" in {u.id for u in units}
