"""Training metrics, splits and configs on hand-built inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from artifactual.errors import ConfigError, InputError
from artifactual.training.common import load_train_config, split_indices
from artifactual.training.metrics import (accuracy, amplification, macro_f1, mean_ci,
                                          per_class_recall, shares, summarise)
from artifactual.training.instruct import rouge_l


def test_accuracy_and_macro_f1_by_hand() -> None:
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0]
    assert accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    # F1 per class: 0 -> tp1 fp1 fn1 = 0.5; 1 -> tp2 fp1 fn0 = 0.8; 2 -> tp0 = 0
    assert macro_f1(y_true, y_pred) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert macro_f1(["a", "b"], ["a", "b"]) == 1.0
    assert per_class_recall(y_true, y_pred) == {0: 0.5, 1: 1.0, 2: 0.0}
    with pytest.raises(InputError, match="one prediction per item"):
        accuracy([0, 1], [0])


def test_amplification_by_hand() -> None:
    y_train = [0] * 6 + [1] * 4          # majority 0 at 60 %
    y_pred = [0] * 9 + [1]               # the model predicts 0 for 90 %
    y_test = [0] * 7 + [1] * 3           # humans: 0 at 70 %
    out = amplification(y_pred, y_train, y_test, labels=[0, 1])
    assert out["majority_share_delta_vs_train"] == pytest.approx(0.9 - 0.6)
    assert out["majority_share_delta_vs_test"] == pytest.approx(0.9 - 0.7)

    def js(p: np.ndarray, q: np.ndarray) -> float:
        m = (p + q) / 2
        return 0.5 * stats.entropy(p, m, base=2) + 0.5 * stats.entropy(q, m, base=2)

    assert out["js_vs_train"] == pytest.approx(js(np.array([.9, .1]), np.array([.6, .4])))
    assert out["js_vs_test"] == pytest.approx(js(np.array([.9, .1]), np.array([.7, .3])))
    # the test minority label 1 sits at positions 7..9; only the last one is predicted 1
    assert out["minority_recall"] == pytest.approx(1 / 3)
    assert shares(y_pred, [0, 1]).tolist() == [0.9, 0.1]


def test_no_amplification_when_predictions_match() -> None:
    y = [0, 1, 2, 2, 1, 0, 0]
    out = amplification(y, y, y, labels=[0, 1, 2])
    assert out["majority_share_delta_vs_train"] == 0.0
    assert out["js_vs_test"] == pytest.approx(0.0, abs=1e-12)
    assert out["minority_recall"] == 1.0


def test_mean_ci_is_student_t() -> None:
    out = mean_ci([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert out["mean"] == 2.0
    assert out["ci_low"] == pytest.approx(2.0 - half)
    assert out["ci_high"] == pytest.approx(2.0 + half)
    assert math.isnan(mean_ci([0.5])["ci_low"])
    assert mean_ci([float("nan"), 1.0])["n"] == 1


def test_summarise_pairs_the_gap_by_seed() -> None:
    runs = pd.DataFrame({"condition": ["human"] * 3 + ["llm"] * 3, "seed": [0, 1, 2] * 2,
                         "accuracy": [0.80, 0.70, 0.90, 0.70, 0.60, 0.75]})
    out = summarise(runs, ["accuracy"])
    assert out["groups"]["human"]["accuracy"]["mean"] == pytest.approx(0.8)
    gap = out["gap"]["metrics"]["accuracy"]
    assert gap["values"] == pytest.approx([0.10, 0.10, 0.15])
    assert gap["mean"] == pytest.approx(0.35 / 3)
    assert gap["relative"] == pytest.approx(-(0.35 / 3) / 0.8)


def test_split_keeps_groups_apart() -> None:
    groups = [f"g{i // 3}" for i in range(30)]  # ten groups of three
    train, test = split_indices(groups, n_test=7, seed=0)
    assert len(test) == 7
    assert not {groups[i] for i in train} & {groups[i] for i in test}
    assert len(set(train) | set(test)) <= 30
    again = split_indices(groups, n_test=7, seed=0)
    assert np.array_equal(again[1], test)


def test_rouge_l_by_hand() -> None:
    # LCS 2 of 2 predicted and 4 reference tokens: P 1, R 0.5, F 2/3
    assert rouge_l(["the cat", "the cat sat"], ["the cat sat on", "the cat sat"]) == \
        pytest.approx([2 / 3, 1.0])


def test_config_errors_name_the_field(tmp_path) -> None:
    with pytest.raises(ConfigError, match="needs a 'reward:' section"):
        load_train_config({"name": "x", "experiment": "reward"})
    with pytest.raises(ConfigError, match="classifier.n_trian"):
        load_train_config({"name": "x", "experiment": "classifier", "classifier": {
            "data": {"path": "x.csv"}, "n_trian": 5, "n_train": 5, "n_test": 5}})
    with pytest.raises(ConfigError, match="llm_fractions"):
        load_train_config({"name": "x", "experiment": "mixing", "mixing": {
            "base": "classifier", "llm_fractions": [0, 1.5]},
            "classifier": {"data": {"path": "x.csv"}, "n_train": 5, "n_test": 5}})
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "absent.yaml")
