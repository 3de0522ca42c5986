"""Comparison statistics: hand-computed effect sizes, Holm, kappa, seeded bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from artifactual.analysis.stats.compare import (COMPARE_COLUMNS, bootstrap_ci, cliffs_delta, cohen_kappa,
                                          cohens_h, compare, holm, is_rate)
from artifactual.errors import AnalysisError


def test_cohens_h_by_hand() -> None:
    assert cohens_h(0.5, 0.5) == 0.0
    assert cohens_h(1.0, 0.0) == pytest.approx(math.pi)
    # 2*asin(sqrt(.75)) - 2*asin(sqrt(.25)) = 2*pi/3 - 2*pi/6 = pi/3
    assert cohens_h(0.75, 0.25) == pytest.approx(math.pi / 3)
    assert cohens_h(0.25, 0.75) == pytest.approx(-math.pi / 3)
    with pytest.raises(AnalysisError):
        cohens_h(1.5, 0.2)


def test_cliffs_delta_by_hand() -> None:
    assert cliffs_delta([1, 2, 3], [2]) == 0.0  # one greater, one equal, one less
    # x=[3,4], y=[1,2,5]: greater pairs 4, less pairs 2, of 6
    assert cliffs_delta([3, 4], [1, 2, 5]) == pytest.approx(1 / 3)
    assert cliffs_delta([5, 6], [1, 2]) == 1.0
    assert cliffs_delta([1, 2], [5, 6]) == -1.0
    assert math.isnan(cliffs_delta([], [1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=15),
       st.lists(st.integers(-5, 5), min_size=1, max_size=15))
def test_cliffs_delta_matches_all_pairs(x: list[int], y: list[int]) -> None:
    brute = sum((a > b) - (a < b) for a in x for b in y) / (len(x) * len(y))
    assert cliffs_delta(x, y) == pytest.approx(brute)


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = .02, .03, .06, .04 -> monotone .06
    out = holm([0.01, 0.04, 0.03, 0.005])
    assert out == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    mixed = holm([0.01, np.nan, 0.02])
    assert np.isnan(mixed[1])
    assert mixed[0] == pytest.approx(0.02) and mixed[2] == pytest.approx(0.02)
    assert np.isnan(holm([np.nan])).all()


def test_cohen_kappa_by_hand() -> None:
    # po = 3/4; pe = .5*.25 + .5*.75 = .5 -> kappa = .5
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx(0.5)
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))
    with pytest.raises(AnalysisError):
        cohen_kappa([1], [1, 2])


def test_is_rate() -> None:
    assert is_rate(pd.Series([True, False]))
    assert is_rate(pd.Series([True, None, False], dtype=object))
    assert not is_rate(pd.Series([0, 1, 1]))
    assert not is_rate(pd.Series([0.5, 1.0]))


def _frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "corpus": ["human"] * 40 + ["llm"] * 50,
        "length": np.r_[rng.normal(10, 2, 40), rng.normal(12, 2, 50)],
        "flagged": np.r_[rng.random(40) < 0.2, rng.random(50) < 0.6],
        "pair": list(range(40)) + list(range(50)),
    })


def test_compare_table_shape_and_reference() -> None:
    out = compare(_frame(), ["length", "flagged"], "corpus", n_resamples=500)
    assert list(out.columns) == COMPARE_COLUMNS
    assert len(out) == 4 and set(out["reference"]) == {"human"}
    ref = out[out["group"] == "human"]
    assert ref[["effect_size", "p_value", "p_holm"]].isna().all().all()
    assert (out["ci_low"] <= out["estimate"]).all() and (out["estimate"] <= out["ci_high"]).all()
    kinds = dict(zip(out["metric"], out["effect_kind"]))
    assert kinds == {"length": "cliffs_delta", "flagged": "cohens_h"}


def test_compare_rate_uses_fisher_and_cohens_h() -> None:
    f = _frame()
    out = compare(f, ["flagged"], "corpus", reference="human").set_index("group")
    h, m = f[f.corpus == "human"].flagged, f[f.corpus == "llm"].flagged
    table = [[h.sum(), (~h).sum()], [m.sum(), (~m).sum()]]
    assert out.loc["llm", "p_value"] == pytest.approx(stats.fisher_exact(table).pvalue)
    assert out.loc["llm", "effect_size"] == pytest.approx(cohens_h(m.mean(), h.mean()))
    assert out.loc["llm", "estimate"] == pytest.approx(m.mean())
    # a single test: Holm leaves it unchanged
    assert out.loc["llm", "p_holm"] == pytest.approx(out.loc["llm", "p_value"])


def test_compare_mean_effect_and_holm_across_table() -> None:
    f = _frame()
    out = compare(f, ["length", "flagged"], "corpus", n_resamples=500)
    llm = out[out.group == "llm"].set_index("metric")
    x, y = f[f.corpus == "llm"].length, f[f.corpus == "human"].length
    assert llm.loc["length", "effect_size"] == pytest.approx(cliffs_delta(x, y))
    assert llm["p_holm"].to_numpy() == pytest.approx(holm(llm["p_value"].to_numpy()))


def test_bootstrap_is_seeded() -> None:
    f = _frame()
    a = compare(f, ["length"], "corpus", seed=7, n_resamples=400)
    b = compare(f, ["length"], "corpus", seed=7, n_resamples=400)
    c = compare(f, ["length"], "corpus", seed=8, n_resamples=400)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a[["ci_low", "ci_high"]], c[["ci_low", "ci_high"]])
    x = f.length.to_numpy()
    assert bootstrap_ci(x, seed=1) == bootstrap_ci(x, seed=1)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_compare_paired_uses_wilcoxon() -> None:
    f = _frame()
    out = compare(f, ["length"], "corpus", paired_by="pair").set_index("group")
    h = f[f.corpus == "human"].set_index("pair").length
    m = f[f.corpus == "llm"].set_index("pair").length
    common = h.index.intersection(m.index)
    expected = stats.wilcoxon(m.loc[common] - h.loc[common]).pvalue
    assert out.loc["llm", "p_value"] == pytest.approx(expected)


def test_compare_errors() -> None:
    f = _frame()
    with pytest.raises(AnalysisError, match="not in the table"):
        compare(f, ["nope"], "corpus")
    with pytest.raises(AnalysisError, match="reference group"):
        compare(f, ["length"], "corpus", reference="martian")
    with pytest.raises(AnalysisError, match="not numeric"):
        compare(f.assign(text="abc"), ["text"], "corpus")


def test_single_observation_group_gives_no_p_value_instead_of_crashing():
    import numpy as np
    import pandas as pd

    from artifactual.analysis.stats.compare import compare

    frame = pd.DataFrame({"g": ["a", "a", "a", "b"], "x": [0.1, 0.2, 0.5, 0.3]})
    out = compare(frame, ["x"], "g", reference="a", seed=0, n_resamples=200)
    row = out[out["group"] == "b"].iloc[0]
    assert np.isnan(row["p_value"]) and row["n"] == 1
