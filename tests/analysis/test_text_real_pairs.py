"""compare --kind text on real human/LLM pairs (the paper's CoBBLEr release), end to end."""

from __future__ import annotations

import sys
from pathlib import Path

from artifactual.analysis.kinds import compare_kind

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from cobbler_texts import write_pairs  # noqa: E402


def test_real_pairs_compare_paired_and_complete(shared_data, tmp_path) -> None:
    human, llm, skipped = write_pairs(tmp_path, shared_data, models={"gpt4", "chatgpt", "vicuna"})
    result = compare_kind("text", [human, llm])
    s = result.summary
    assert s["paired_by"] == "source_id" and s["reference"] == "human"
    assert s["n_texts"] == 50 + 150 - skipped
    assert s["n_stage_errors"] == 0 and result.errors.empty
    means = result.comparison[result.comparison["statistic"] == "mean"]
    comp = means.set_index(["metric", "group"])
    # every metric has an effect size and a Holm p for the LLM group; the LLM answers'
    # sentences are longer than the terse human references' (a property of this release)
    llm_rows = comp.xs("llm", level="group")
    assert llm_rows["p_holm"].notna().all() and llm_rows["effect_size"].notna().all()
    # every spread is tested; its ratio is NaN only where the reference's MAD is 0
    spread = result.comparison[result.comparison["statistic"] == "spread"]
    llm_spread = spread[spread["group"] == "llm"].set_index("base_metric")
    ref_spread = spread[spread["group"] == "human"].set_index("base_metric")
    assert llm_spread["p_holm"].notna().all()
    assert (llm_spread["effect_size"].isna() == (ref_spread["estimate"] == 0)).all()
    assert llm_rows.loc["mean_sentence_length", "estimate"] > \
        comp.loc[("mean_sentence_length", "human"), "estimate"]
