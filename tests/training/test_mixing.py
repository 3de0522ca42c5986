"""Mixing: the sampler hits the requested ratios exactly; a real tiny sweep writes its curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.errors import InputError
from artifactual.training import train
from artifactual.training.mixing import mix_counts, sample_mix

FRACTIONS = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("n", [4, 8, 20, 40, 100])
def test_paired_sampler_hits_the_ratio_exactly(n: int) -> None:
    for fraction in FRACTIONS:
        mix = sample_mix(n, fraction, np.random.default_rng(3), n_human_pool=150)
        assert mix.n == n
        assert len(mix.llm) == n * fraction  # exact: n * fraction is whole for these n
        assert mix.llm_fraction == fraction
        assert not set(mix.human) & set(mix.llm)  # one annotation per item
        assert all(0 <= i < 150 for i in np.concatenate([mix.human, mix.llm]))
    # the same generator state gives the same items at every fraction: only labels change
    items = {frozenset(np.concatenate([m.human, m.llm]).tolist()) for m in
             (sample_mix(n, f, np.random.default_rng(3), 150) for f in FRACTIONS)}
    assert len(items) == 1


def test_unpaired_sampler_and_rounding() -> None:
    mix = sample_mix(10, 0.75, np.random.default_rng(0), n_human_pool=5, n_llm_pool=9)
    assert (len(mix.human), len(mix.llm)) == mix_counts(10, 0.75) == (2, 8)
    assert len(set(mix.human)) == 2 and len(set(mix.llm)) == 8 and max(mix.llm) < 9
    assert mix_counts(6, 0.25) == (4, 2)  # 1.5 rounds half up
    assert mix_counts(7, 0.5) == (3, 4)
    with pytest.raises(InputError, match="dataset too small: 5 LLM training items"):
        sample_mix(10, 0.75, np.random.default_rng(0), n_human_pool=50, n_llm_pool=5)
    with pytest.raises(InputError, match="dataset too small"):
        sample_mix(10, 0.5, np.random.default_rng(0), n_human_pool=9)


def test_tiny_classifier_sweep_writes_the_curve(tmp_path: Path) -> None:
    rows = []
    for i in range(30):
        odd = i % 2 == 1
        rows.append({"text": f"{'thunder and hail' if odd else 'sunshine and tea'} {i}",
                     "human_annots": json.dumps(["storm" if odd else "fair"] * 3),
                     "model_annots": json.dumps(["fair"] * 3)})
    data = tmp_path / "weather.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    cfg = {"name": "tiny-mix", "experiment": "mixing", "seeds": [0, 1, 2], "threads": 1,
           "mixing": {"base": "classifier", "llm_fractions": [0, 0.5, 1], "n_train": 8},
           "classifier": {"data": {"path": str(data)}, "n_train": 20, "n_test": 8,
                          "max_length": 16, "train": {"epochs": 1, "batch_size": 8}}}
    result = train(cfg, tmp_path / "out")
    runs = result.runs
    assert len(runs) == 9
    assert (runs["n_llm"] == runs["llm_fraction"] * 8).all() and (runs["n_train"] == 8).all()
    curve = pd.read_parquet(tmp_path / "out" / "mixing_curve.parquet")
    acc = curve[curve["metric"] == "accuracy"].set_index("llm_fraction")
    assert list(acc.index) == [0.0, 0.5, 1.0] and (acc["n"] == 3).all()
    for fraction, part in runs.groupby("llm_fraction"):
        assert acc.loc[fraction, "mean"] == pytest.approx(part["accuracy"].mean())
    assert (tmp_path / "out" / "mixing_curve.png").stat().st_size > 1000
    gap = result.metrics["summary"]["gap"]
    assert gap["definition"].startswith("llm=0 minus llm=1")
