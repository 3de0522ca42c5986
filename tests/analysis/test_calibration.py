"""Judge-calibrated statistics on synthetic judgments whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artifactual.analysis.stats.calibration import (allocate, calibrate, judgments_frame,
                                                    offline_strata, stratified_sample)
from artifactual.records import Judgment


def population(n_flagged: int, n_unflagged: int, n_na: int = 0) -> pd.Series:
    labels = ["flagged"] * n_flagged + ["unflagged"] * n_unflagged + ["not_applicable"] * n_na
    return pd.Series(labels, index=[f"c{i}" for i in range(len(labels))], dtype=object)


def truth_for(strata: pd.Series, rates: dict[str, float], seed: int = 7) -> pd.Series:
    """A fixed judge answer per conversation, positive at the given rate per stratum."""
    rng = np.random.default_rng(seed)
    out = pd.Series(False, index=strata.index, dtype=object)
    for s, r in rates.items():
        ids = strata.index[strata.values == s]
        k = int(round(r * len(ids)))
        out[rng.choice(ids, size=k, replace=False)] = True
    return out


def test_allocate_spreads_evenly_and_caps_small_strata():
    assert allocate({"flagged": 3, "unflagged": 100, "not_applicable": 0}, 10) == \
        {"flagged": 3, "unflagged": 7, "not_applicable": 0}
    assert allocate({"flagged": 50, "unflagged": 50, "not_applicable": 5}, 21) == \
        {"flagged": 8, "unflagged": 8, "not_applicable": 5}
    assert allocate({"flagged": 3, "unflagged": 4, "not_applicable": 0}, 100) == \
        {"flagged": 3, "unflagged": 4, "not_applicable": 0}
    assert sum(allocate({"flagged": 0, "unflagged": 0, "not_applicable": 0}, 5).values()) == 0


def test_stratified_sample_is_seeded_and_stratified():
    strata = population(30, 270)
    a = stratified_sample(strata, 20, seed=1, key="digression")
    assert a == stratified_sample(strata, 20, seed=1, key="digression")
    assert a != stratified_sample(strata, 20, seed=2, key="digression")
    assert a != stratified_sample(strata, 20, seed=1, key="role_adherence")
    assert len(set(a)) == 20
    assert (strata[a] == "flagged").sum() == 10  # 10 of 30 flagged, not 2 as a simple draw
    assert a == [i for i in strata.index if i in set(a)]  # table order
    assert stratified_sample(strata, None) == list(strata.index)
    assert stratified_sample(strata, 10_000) == list(strata.index)


def test_census_gives_the_exact_answers():
    strata = population(10, 30, 5)
    truth = truth_for(strata, {"flagged": 0.7, "unflagged": 0.1, "not_applicable": 0.4})
    out = calibrate(strata, truth)
    assert out["precision"]["estimate"] == pytest.approx(0.7)
    assert out["recall"]["estimate"] == pytest.approx(7 / (7 + 3))
    assert out["prevalence"]["estimate"] == pytest.approx((7 + 3 + 2) / 45)
    for key in ("precision", "recall", "prevalence"):  # nothing left unjudged
        assert out[key]["ci_low"] == pytest.approx(out[key]["estimate"])
        assert out[key]["ci_high"] == pytest.approx(out[key]["estimate"])
    assert out["prevalence"]["se"] == 0.0
    assert out["confusion"] == {"tp": 7, "fp": 3, "fn": 3, "tn": 27}
    assert out["offline_rate"] == pytest.approx(10 / 40)


def test_recall_reweights_the_unflagged_stratum():
    strata = population(20, 980)
    flagged = list(strata.index[:10])  # 5 of 10 judged positive
    unflagged = list(strata.index[20:40])  # 1 of 20 judged positive
    verdicts = pd.Series([True] * 5 + [False] * 5 + [True] + [False] * 19,
                         index=flagged + unflagged, dtype=object)
    out = calibrate(strata, verdicts)
    # 20 flagged x 0.5 found, of 20 x 0.5 + 980 x 0.05 = 59 in the corpus
    assert out["recall"]["estimate"] == pytest.approx(10 / 59)
    assert out["recall"]["estimate"] < 5 / 6  # what the raw sample counts would say
    assert out["precision"]["estimate"] == pytest.approx(0.5)
    assert out["prevalence"]["estimate"] == pytest.approx(59 / 1000)
    assert out["recall"]["ci_low"] < 10 / 59 < out["recall"]["ci_high"]
    assert out["confusion"] == {"tp": 5, "fp": 5, "fn": 1, "tn": 19}


def test_estimates_are_unbiased_and_intervals_cover():
    strata = population(100, 1900)
    rates = {"flagged": 0.6, "unflagged": 0.03}
    truth = truth_for(strata, rates)
    true_prev = truth.sum() / len(truth)
    true_prec = truth[strata == "flagged"].mean()
    true_rec = truth[strata == "flagged"].sum() / truth.sum()
    prev, covered = [], {"prevalence": 0, "precision": 0, "recall": 0}
    widths: dict[str, list[float]] = {k: [] for k in covered}
    reps = 300
    for rep in range(reps):
        ids = stratified_sample(strata, 80, seed=rep, key="digression")
        out = calibrate(strata, truth[ids], seed=rep, draws=2000)
        prev.append(out["prevalence"]["estimate"])
        for key, true in (("prevalence", true_prev), ("precision", true_prec), ("recall", true_rec)):
            est = out[key]
            covered[key] += est["ci_low"] <= true <= est["ci_high"]
            widths[key].append(est["ci_high"] - est["ci_low"])
    assert np.mean(prev) == pytest.approx(true_prev, abs=0.006)
    assert covered["prevalence"] / reps >= 0.9
    assert covered["precision"] / reps >= 0.9
    assert covered["recall"] / reps >= 0.9
    # informative, not [0, 1]: measured means 0.10, 0.23 and 0.63 at this sample size
    assert np.mean(widths["prevalence"]) < 0.15 and np.mean(widths["precision"]) < 0.3
    assert np.mean(widths["recall"]) < 0.75


def test_error_rows_are_counted_never_read_as_no():
    strata = population(10, 10)
    verdicts = pd.Series([True, True, False, None, None] + [False, True, False, None, False],
                         index=list(strata.index[:5]) + list(strata.index[10:15]), dtype=object)
    out = calibrate(strata, verdicts)
    clean = calibrate(strata, verdicts.dropna())
    assert out["n_errors"] == 3 and out["n_sampled"] == 10 and out["n_judged"] == 7
    assert out["strata"]["flagged"] == {"size": 10, "sampled": 5, "judged": 3, "errors": 2,
                                        "judge_positive": 2}
    for key in ("prevalence", "precision", "recall"):
        assert out[key] == clean[key]
    assert out["precision"]["estimate"] == pytest.approx(2 / 3)


def test_no_positive_in_a_sample_still_has_an_upper_bound():
    strata = population(0, 500)
    verdicts = pd.Series(False, index=strata.index[:40], dtype=object)
    out = calibrate(strata, verdicts)
    assert out["prevalence"]["estimate"] == 0.0
    assert out["prevalence"]["ci_low"] == 0.0 and 0.005 < out["prevalence"]["ci_high"] < 0.15
    assert out["precision"] is None and out["recall"] is None
    assert any("precision is undefined" in n for n in out["notes"])
    assert any("recall is undefined" in n for n in out["notes"])


def test_a_stratum_nobody_judged_nulls_what_needs_it():
    strata = population(5, 50)
    out = calibrate(strata, pd.Series([True], index=[strata.index[0]], dtype=object))
    assert out["precision"]["estimate"] == 1.0
    assert out["prevalence"] is None and out["recall"] is None
    assert any("unflagged" in n for n in out["notes"])


def test_offline_strata_read_flags_nulls_and_not_applicable():
    conv = pd.DataFrame({"conversation_id": ["a", "b", "c", "d"],
                         "digression": pd.array([True, False, None, True], dtype="boolean"),
                         "role_flip": [False, False, False, False]})
    strata, reason = offline_strata(conv, "digression")
    assert reason is None and list(strata) == ["flagged", "unflagged", "not_applicable", "flagged"]
    strata, reason = offline_strata(conv, "role_flip", {"role_flip": "no role markers in this corpus"})
    assert reason == "no role markers in this corpus" and set(strata) == {"not_applicable"}
    strata, reason = offline_strata(conv, "role_adherence")
    assert "did not run" in reason and set(strata) == {"not_applicable"}
    strata, reason = offline_strata(conv, "digression", {"digression_rate": "no task statement"})
    assert reason == "no task statement"
    out = calibrate(strata, pd.Series([True, False], index=["a", "b"], dtype=object), reason=reason)
    assert out["precision"] is None and out["recall"] is None
    assert out["prevalence"]["estimate"] == pytest.approx(0.5)  # one stratum, 1 of 2
    assert out["notes"][0] == "no task statement"


def test_judgments_frame_keeps_error_rows():
    rows = [Judgment(id="a::digression", conversation_id="a", artifact="digression", verdict=True),
            Judgment(id="b::digression", conversation_id="b", artifact="digression",
                     error="no JSON object in the answer")]
    frame = judgments_frame(rows)
    assert list(frame["verdict"]) == [True, None] and frame["error"].iloc[1].startswith("no JSON")
