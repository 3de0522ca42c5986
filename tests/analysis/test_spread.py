"""Spread and between-context statistics (analysis.stats.spread): known answers on
synthetic data, error rates under the null, and the text comparison with real spaCy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from artifactual.analysis.kinds import compare_kind
from artifactual.analysis.stats.compare import compare
from artifactual.analysis.stats.spread import (compare_spread, context_share, eta_squared, mad,
                                               spread_lines, with_spread)
from artifactual.cli import app
from artifactual.errors import AnalysisError


def _two(x: np.ndarray, y: np.ndarray, pairs: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame({"v": np.r_[x, y], "group": ["human"] * x.size + ["llm"] * y.size})
    if pairs:
        frame["pair"] = np.r_[np.arange(x.size), np.arange(y.size)]
    return frame


def _both(frame: pd.DataFrame, paired: bool = False) -> pd.DataFrame:
    by = "pair" if paired else None
    return with_spread(compare(frame, ["v"], "group", "human", paired_by=by, n_resamples=999),
                       compare_spread(frame, ["v"], "group", "human", paired_by=by))


def test_mad_estimates_the_sd_of_normal_data() -> None:
    x = np.random.default_rng(1).normal(0, 3.0, 20000)
    assert mad(x) == pytest.approx(3.0, rel=0.03)


def test_equal_means_different_spreads() -> None:
    rng = np.random.default_rng(7)
    out = _both(_two(rng.normal(10, 2.0, 300), rng.normal(10, 1.0, 300)))
    llm = out[out["group"] == "llm"].set_index("statistic")
    assert llm.loc["spread", "effect_size"] == pytest.approx(0.5, abs=0.08)
    assert llm.loc["spread", "ratio_low"] < 0.5 < llm.loc["spread", "ratio_high"] < 1
    assert llm.loc["spread", "p_holm"] < 0.001
    assert llm.loc["mean", "p_holm"] > 0.05
    lines = spread_lines(out)
    assert len(lines) == 1 and lines[0].startswith("llm text varies less than human in v")


def test_different_means_equal_spreads() -> None:
    rng = np.random.default_rng(8)
    out = _both(_two(rng.normal(10, 2.0, 300), rng.normal(12, 2.0, 300)))
    llm = out[out["group"] == "llm"].set_index("statistic")
    assert llm.loc["mean", "p_holm"] < 0.01  # permutation floor (999 resamples), Holm x2
    assert llm.loc["spread", "p_holm"] > 0.05
    assert llm.loc["spread", "ratio_low"] < 1 < llm.loc["spread", "ratio_high"]
    assert spread_lines(out) == []


def test_paired_spread_finds_a_narrower_partner() -> None:
    rng = np.random.default_rng(9)
    prompt = rng.normal(0, 1, 200)  # shared by both sides of a pair
    human = prompt + rng.normal(0, 2.0, 200)
    llm = 0.5 * prompt + rng.normal(0, 0.7, 200)
    out = _both(_two(human, llm, pairs=True), paired=True)
    llm_row = out[(out["group"] == "llm") & (out["statistic"] == "spread")].iloc[0]
    true_ratio = np.sqrt(0.25 + 0.49) / np.sqrt(1 + 4)
    assert llm_row["ratio_low"] < true_ratio < llm_row["ratio_high"]
    assert llm_row["p_holm"] < 0.001


@pytest.mark.parametrize("paired", [False, True])
def test_false_positive_rate_and_coverage_under_the_null(paired: bool) -> None:
    """200 simulated nulls (skewed data, same distribution in both groups): the spread test
    rejects at about 5% (binomial 99.9% band for 200 trials: 2..21) and the ratio's CI
    covers the true ratio 1 about 95% of the time."""
    rng = np.random.default_rng(2024)
    rejected = covered = 0
    for k in range(200):
        if paired:
            shared = rng.gamma(2.0, 1.0, 60)
            x, y = shared + rng.gamma(2.0, 1.0, 60), shared + rng.gamma(2.0, 1.0, 60)
        else:
            x, y = rng.gamma(2.0, 1.0, 60), rng.gamma(2.0, 1.0, 60)
        frame = _two(x, y, pairs=paired)
        row = compare_spread(frame, ["v"], "group", "human", seed=k, n_resamples=400,
                             paired_by="pair" if paired else None).iloc[1]
        rejected += row["p_value"] < 0.05
        covered += row["ratio_low"] <= 1 <= row["ratio_high"]
    assert 2 <= rejected <= 21
    assert 176 <= covered <= 200  # 95% of 200 is 190; 99.9% band about 176..200


def test_context_share_known_answer() -> None:
    """Human style moves with the context (context means 0, 2, 4, noise SD 1: true share
    (8/3) / (8/3 + 1) = 0.727); the LLM's does not (true share 0)."""
    rng = np.random.default_rng(11)
    ctx = np.repeat(["news", "story", "qa"], 150)
    human = np.repeat([0.0, 2.0, 4.0], 150) + rng.normal(0, 1, 450)
    llm = rng.normal(2.0, 1.0, 450)
    frame = pd.DataFrame({"v": np.r_[human, llm], "group": ["human"] * 450 + ["llm"] * 450,
                          "context": np.r_[ctx, ctx]})
    out = context_share(frame, ["v"], "group", "context", "human", n_resamples=1000)
    h, m = out.iloc[0], out.iloc[1]
    assert h["ci_low"] < 8 / 11 < h["ci_high"]
    assert m["estimate"] < 0.03 and m["ci_low"] < 2 / 449 + 0.01
    assert m["ratio_high"] < 0  # the difference llm - human excludes 0
    assert eta_squared(human, ctx) == pytest.approx(h["estimate"])
    lines = spread_lines(out.assign(p_holm=np.nan))
    assert lines and lines[0].startswith("llm v moves less between contexts than human")


def test_context_share_needs_two_contexts() -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0], "group": ["human", "llm"], "context": ["a", "a"]})
    with pytest.raises(AnalysisError, match="context"):
        context_share(frame, ["v"], "group", "context", "human")


HUMAN = [
    ("news", "The council voted late on Tuesday. Two members walked out, angry about the "
             "budget, and the mayor said she'd talk to them Friday."),
    ("news", "Floods closed the bridge again. Drivers waited for hours; some just gave up and "
             "went home."),
    ("news", "A fire at the old mill was put out by noon. Nobody was hurt, though the roof is "
             "gone and the owners don't know what they'll do."),
    ("story", "I found the key under the mat, where Dad always said he'd never leave it. "
              "Inside, the kitchen smelled of burnt toast."),
    ("story", "She ran. Past the church, past the bakery, past the dog that always barked. "
              "Then she stopped, because what was the point?"),
    ("story", "We played cards until the candle died. My brother cheated, obviously, and we "
              "laughed so hard the neighbours banged on the wall."),
]
LLM = [
    ("news", "The city council approved the proposed budget during Tuesday's session. "
             "Several members expressed concerns regarding the allocation of funds."),
    ("news", "Significant flooding resulted in the closure of the bridge. Authorities "
             "recommend that drivers utilize alternative routes."),
    ("news", "A fire occurred at the historic mill. Emergency services responded promptly, "
             "and no injuries were reported."),
    ("story", "The protagonist discovered the key beneath the doormat. Upon entering the "
              "residence, a distinct aroma of toast was noticeable."),
    ("story", "The young woman ran through the village. Eventually, she paused to reflect on "
              "the significance of her journey."),
    ("story", "The siblings engaged in a card game throughout the evening. Their laughter "
              "created a memorable and meaningful experience."),
]


@pytest.fixture(scope="module")
def domain_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spread") / "pairs.jsonl"
    rows = [{"id": f"p{i}", "domain": d, "human_text": h, "machine_text": m}
            for i, ((d, h), (_, m)) in enumerate(zip(HUMAN, LLM))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_compare_text_has_spread_and_context_rows(domain_file: Path, tmp_path: Path) -> None:
    result = compare_kind("text", [domain_file], context="domain")
    comp = result.comparison
    assert set(comp["statistic"]) == {"mean", "spread", "context_share"}
    spread = comp[(comp["statistic"] == "spread") & (comp["base_metric"] == "formality")]
    assert list(spread["group"]) == ["human", "llm"]
    llm = spread.iloc[1]
    assert llm["effect_size"] == pytest.approx(llm["estimate"] / spread.iloc[0]["estimate"])
    texts = result.tables["texts"]
    assert llm["estimate"] == pytest.approx(mad(texts[texts["group"] == "llm"]["formality"]))
    tested = comp["p_value"].notna()
    assert tested[comp["statistic"] == "spread"].any()
    assert comp.loc[tested, "p_holm"].ge(comp.loc[tested, "p_value"]).all()
    share = comp[comp["statistic"] == "context_share"]
    assert share["estimate"].dropna().between(0, 1).all() and share["estimate"].notna().any()
    assert result.summary["context"] == "domain"
    assert set(result.summary["spread"]) == {"human", "llm"}
    assert isinstance(result.summary["spread_findings"], list)
    from artifactual.report import write_audit_dir  # the caller writes the report

    paths = write_audit_dir(result, tmp_path / "out")
    assert "formality spread" in set(pd.read_parquet(paths["comparison"])["metric"])
    assert "formality spread" in paths["report"].read_text(encoding="utf-8")


def test_cli_compare_context(domain_file: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["compare", "--kind", "text", str(domain_file), "--context",
                                   "domain", "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    comp = pd.read_parquet(tmp_path / "o" / "comparison.parquet")
    assert "mean_sentence_length between-context share" in set(comp["metric"])
    for line in json.loads((tmp_path / "o" / "summary.json").read_text())["spread_findings"]:
        assert line in res.output.replace("\n", " ") or line[:40] in res.output
    bad = CliRunner().invoke(app, ["compare", "--kind", "text", str(domain_file), "--context",
                                   "genre", "--out", str(tmp_path / "b"), "-q"])
    assert bad.exit_code != 0 and "context" in bad.output


def test_audit_text_summary_has_spreads_without_tests(domain_file: Path) -> None:
    from artifactual.analysis.kinds import audit_kind

    result = audit_kind("text", [domain_file], context="domain")
    comp = result.comparison
    assert "p_holm" not in comp and "ratio_low" not in comp
    spread = comp[comp["statistic"] == "spread"]
    assert len(spread) and spread["estimate"].notna().any()
    assert result.summary["spread"]["llm"]["formality"] == pytest.approx(
        spread[(spread["group"] == "llm") & (spread["base_metric"] == "formality")
               ]["estimate"].iloc[0])
    assert "spread_findings" not in result.summary


def test_compare_config_passes_the_context(domain_file: Path, tmp_path: Path) -> None:
    from artifactual.analysis.stats.compare_config import run_compare_config

    cfg = tmp_path / "compare_text.yaml"
    cfg.write_text(f"kind: text\ninputs: [{domain_file.name}]\ncontext: domain\n",
                   encoding="utf-8")
    result = run_compare_config(cfg, data=domain_file.parent)
    assert result.summary["context"] == "domain"
    assert (result.comparison["statistic"] == "context_share").any()
