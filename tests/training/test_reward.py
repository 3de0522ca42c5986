"""Reward model: a real tiny Bradley-Terry job on pairs where humans like the kind answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.errors import InputError
from artifactual.training import train
from artifactual.training.common import load_train_config
from artifactual.training.reward import judge_table, load_task

TOPICS = ["the bus schedule", "a pasta recipe", "my tax form", "the printer", "a math exam",
          "the garden hose", "a job interview", "the wifi router", "a birthday gift",
          "the train ticket", "my sore back", "a dog's diet"]
KIND = "Happy to help with {t}! Here is a clear, friendly step-by-step answer for you."
RUDE = "Ugh, {t} again? Figure it out yourself, this is a stupid question."


def pair_files(folder: Path, n: int = 40, llm_inverted: bool = True) -> tuple[Path, Path]:
    """Human and LLM pair CSVs of the same pairs; humans prefer the kind answer."""
    rng = np.random.default_rng(7)
    rows_h, rows_l = [], []
    for i in range(n):
        topic = f"{TOPICS[i % len(TOPICS)]} (case {i})"
        kind_first = bool(rng.integers(2))
        a, b = (KIND, RUDE) if kind_first else (RUDE, KIND)
        human = 0 if kind_first else 1
        pair = {"output1": a.format(t=topic), "output2": b.format(t=topic)}
        rows_h.append({**pair, "target": human})
        rows_l.append({**pair, "target": 1 - human if llm_inverted else human})
    hp, lp = folder / "human.csv", folder / "llm.csv"
    pd.DataFrame(rows_h).to_csv(hp, index=False)
    pd.DataFrame(rows_l).to_csv(lp, index=False)
    return hp, lp


def tiny_config(hp: Path, lp: Path, **over: object) -> dict:
    section = {"data": {"format": "pair_csv", "human_path": str(hp), "llm_path": str(lp),
                        "llm_judge": "model"},
               "n_train": 24, "n_test": 16, "max_length": 40,
               "train": {"epochs": 3, "batch_size": 8, "lr": 2e-4, "warmup": 0.0}}
    section.update(over)
    return {"name": "tiny-reward", "experiment": "reward", "seeds": [0], "threads": 1,
            "reward": section}


def test_reward_model_learns_human_preferences(tmp_path: Path) -> None:
    hp, lp = pair_files(tmp_path)
    result = train(tiny_config(hp, lp), tmp_path / "out")
    runs = result.runs.set_index("condition")
    assert runs.loc["human", "accuracy"] > 0.75  # chance is 0.5
    assert runs.loc["llm", "accuracy"] < runs.loc["human", "accuracy"]
    assert runs.loc["llm", "llm_judge_accuracy"] > runs.loc["human", "llm_judge_accuracy"]
    losses = pd.read_parquet(tmp_path / "out" / "losses.parquet")
    h = losses[losses["condition"] == "human"]["loss"].to_numpy()
    assert h[-2:].mean() < h[:2].mean()
    gap = result.metrics["summary"]["gap"]["metrics"]["accuracy"]
    assert gap["mean"] == pytest.approx(runs.loc["human", "accuracy"] - runs.loc["llm", "accuracy"])
    preds = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert set(preds["condition"]) == {"human", "llm"} and len(preds) == 32


def test_mismatched_pair_ids_and_missing_judges(tmp_path: Path) -> None:
    hp, lp = pair_files(tmp_path, n=10)
    short = tmp_path / "short.csv"
    pd.read_csv(lp).head(7).to_csv(short, index=False)
    with pytest.raises(InputError, match="mismatched pair ids: the human file has 10"):
        load_task(load_train_config(tiny_config(hp, short, n_train=2, n_test=2)))
    other = tmp_path / "other.csv"
    frame = pd.read_csv(lp)
    frame.loc[3, "output1"] = "a different response"
    frame.to_csv(other, index=False)
    with pytest.raises(InputError, match="mismatched pair ids: 1 ids name different texts"):
        load_task(load_train_config(tiny_config(hp, other, n_train=2, n_test=2)))
    both = pd.DataFrame({"id": ["1", "1"], "prompt": "", "a": "x", "b": "y",
                         "choice": ["a", "b"], "judge": ["human", "human"], "order": "original"})
    with pytest.raises(InputError, match="no preferences by the LLM judge 'gpt4'"):
        judge_table(both, "human", "gpt4")
    with pytest.raises(InputError, match="dataset too small"):
        load_task(load_train_config(tiny_config(hp, lp, n_train=20, n_test=5)))


def test_judge_table_votes_and_keeps_ties() -> None:
    frame = pd.DataFrame({"id": ["p", "p", "p", "q", "q", "q"], "prompt": "", "a": "x", "b": "y",
                          "choice": ["a", "a", "b", "a", "b", "tie"],
                          "judge": ["human", "human", "gpt4", "human", "human", "gpt4"],
                          "order": "original"})
    table = judge_table(frame, "human", "gpt4").set_index("id")
    assert table.loc["p", "human"] == "a" and table.loc["p", "llm"] == "b"
    assert table.loc["q", "human"] == "tie" and table.loc["q", "llm"] == "tie"


def test_cobbler_pairs_align_across_judges(shared_data: Path) -> None:
    cfg = load_train_config({"name": "c", "experiment": "reward", "threads": 1, "reward": {
        "data": {"format": "cobbler", "path": str(shared_data / "llm-artifacts" / "preference"
                                                  / "cobbler")},
        "n_train": 100, "n_test": 100}})
    task = load_task(cfg)
    assert task.info["n_pairs"] == 5250 and task.info["n_unmatched_ids"] == 0
    assert 0.6 < task.info["pool_human_llm_agreement"] < 0.8  # the paper: 66.9 % with ties
    assert not set(task.test["group"]) & set(task.pool["group"])
