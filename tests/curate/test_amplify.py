"""The amplification experiment's training side at a tiny size (plumbing, not the result):
filtered vs unfiltered role-play of the embedded model, LoRA, held-out human dialogues."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

from artifactual.curate import FilterRules, filter_records
from artifactual.training.amplify import (AmplifyConfig, chat_example, load_dialogues,
                                          train_conditions)

pytest.importorskip("peft")
ROOT = Path(__file__).resolve().parents[2]


def test_training_side_runs_and_scores_every_model(audited_run, tmp_path):
    run, audit_dir = audited_run
    filter_records(run, audit_dir, tmp_path / "clean", FilterRules(drop=["role_flip_unmarked"]))
    cfg = AmplifyConfig(name="tiny", seeds=[0], unfiltered=str(run),
                        filtered=str(tmp_path / "clean"),
                        heldout=str(ROOT / "benchmarks/data/human/task_oriented.jsonl"),
                        n_train=2, n_heldout=2, max_length=96,
                        train={"epochs": 1, "batch_size": 2, "lr": 1e-3, "warmup": 0.0,
                               "max_steps": 1})
    metrics = train_conditions(cfg, tmp_path / "out")
    assert metrics["n_train"] == 2 and metrics["n_heldout"] == 2
    losses = {c: metrics["heldout_loss"][c]["mean"] for c in ("untuned", "unfiltered", "filtered")}
    assert all(math.isfinite(v) and v > 0 for v in losses.values())
    assert losses["filtered"] != losses["untuned"]  # the tuned weights were saved and differ
    saved = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "models" / "filtered-seed0")
    assert not any("lora" in n for n, _ in saved.named_parameters())  # merged for vLLM
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["seeds"] == [0]


def test_chat_example_learns_every_turn_after_the_first(audited_run):
    from transformers import AutoTokenizer

    from artifactual.assets import resolve_llm

    run, _ = audited_run
    conv = load_dialogues(run)[0]
    tok = AutoTokenizer.from_pretrained(resolve_llm("default"))
    ids, labels = chat_example(tok, conv, 4096)
    learnt = tok.decode([t for t in labels if t != -100])
    assert conv.turns[0].content not in learnt
    assert all(t.content.strip()[:20] in learnt for t in conv.turns[1:])
    assert len(ids) == len(labels)
