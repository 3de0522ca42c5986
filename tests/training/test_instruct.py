"""Instruction tuning: a real tiny LoRA job on the embedded SmolLM2-135M, greedy evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from artifactual.errors import InputError
from artifactual.records import Instruction, record_to_json
from artifactual.training import train
from artifactual.training.common import load_train_config
from artifactual.training.instruct import cosine, load_instructions, load_task

WORDS = ["apple", "river", "candle", "orange", "window", "pepper", "garden", "silver"]


def human_seeds(path: Path) -> Path:
    """Self-Instruct seed format: one instance per task, written for this test."""
    rows = [{"id": f"seed_{i}", "name": f"echo_{w}", "instruction": "Repeat the word in capitals.",
             "instances": [{"input": w, "output": w.upper()}], "is_classification": False}
            for i, w in enumerate(WORDS)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def llm_records(path: Path, n: int = 6) -> Path:
    recs = [Instruction(id=f"gen_{i}", instruction=f"Name a colour that rhymes with {w}.",
                        output="I am not sure, maybe blue.", origin="llm")
            for i, w in enumerate(WORDS[:n])]
    path.write_text("\n".join(record_to_json(r) for r in recs) + "\n")
    return path


def tiny_config(human: Path, llm: Path, **over: object) -> dict:
    section = {"human_data": str(human), "llm_data": str(llm), "n_train": 4, "n_test": 2,
               "max_length": 64, "max_new_tokens": 6, "eval_batch_size": 2,
               "train": {"epochs": 3, "batch_size": 4, "lr": 2e-3, "warmup": 0.0}}
    section.update(over)
    return {"name": "tiny-instruct", "experiment": "instruct", "seeds": [0], "threads": 1,
            "instruct": section}


def test_lora_tuning_lowers_the_loss_and_scores_greedy_answers(tmp_path: Path) -> None:
    human, llm = human_seeds(tmp_path / "seeds.jsonl"), llm_records(tmp_path / "gen.jsonl")
    result = train(tiny_config(human, llm), tmp_path / "out", save_model=True)
    losses = pd.read_parquet(tmp_path / "out" / "losses.parquet")
    for cond in ("human", "llm"):
        curve = losses[losses["condition"] == cond]["loss"].to_numpy()
        assert len(curve) == 3 and curve[-1] < curve[0], cond  # one full batch, three steps
    gens = pd.read_parquet(tmp_path / "out" / "generations.parquet")
    assert set(gens["condition"]) == {"human", "llm", "base"}
    assert (gens["rouge_l"].between(0, 1)).all() and (gens["cosine"].between(-1, 1)).all()
    runs = result.runs.set_index("condition")
    assert runs.loc["human", "rouge_l"] == pytest.approx(
        gens[gens["condition"] == "human"]["rouge_l"].mean())
    assert "base_model" in result.metrics["summary"]
    assert (tmp_path / "out" / "models" / "human-seed0" / "adapter_config.json").is_file()


def test_instruction_sets_load_and_fail_clearly(tmp_path: Path) -> None:
    human = human_seeds(tmp_path / "seeds.jsonl")
    items = load_instructions(human)
    assert len(items) == 8 and items[0]["output"] == "APPLE" and items[0]["origin"] == "human"
    llm = load_instructions(llm_records(tmp_path / "gen.jsonl"))
    assert len(llm) == 6 and llm[0]["origin"] == "llm"
    with pytest.raises(InputError, match="artifactual generate configs/self_instruct.yaml"):
        load_task(load_train_config(tiny_config(human, tmp_path / "runs" / "missing")))
    with pytest.raises(InputError, match="dataset too small: 6 LLM-generated"):
        load_task(load_train_config(tiny_config(human, tmp_path / "gen.jsonl", n_train=7, n_test=1)))
    empty = tmp_path / "empty.jsonl"
    empty.write_text(record_to_json(Instruction(id="x", instruction="Say hi.", output="")) + "\n")
    with pytest.raises(InputError, match="missing labels: no LLM-generated instructions"):
        load_task(load_train_config(tiny_config(human, empty)))


def test_cosine_of_minilm_embeddings() -> None:
    same, other = cosine(["The cat sleeps on the mat.", "The cat sleeps on the mat."],
                         ["The cat sleeps on the mat.", "Quarterly tax filings are due soon."])
    assert same == pytest.approx(1.0, abs=1e-4)
    assert other < 0.5
