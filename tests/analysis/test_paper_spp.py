"""Paper check: digression in the SPP GPT-4 logic-grid logs goes with wrong answers.

The paper's GPT-4 judge found 53.0% accuracy for digressive conversations vs 72.4% for
the others. Our offline detector runs with its documented defaults (no tuning on these
logs); the test asserts the direction and prints the figures (run with ``-s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from artifactual.analysis import audit

SPP = Path("llm-artifacts") / "simulation" / "spp_logic_grid_gpt4_200.jsonl"


@pytest.fixture(scope="module")
def spp_audit(shared_data: Path):
    path = shared_data / SPP
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return audit(path, detectors=("digression",), compare_by="digression")


def test_digressive_conversations_are_less_accurate(spp_audit) -> None:
    conv = spp_audit.conversations
    known = conv[conv["correct"].notna()]
    assert len(known) >= 190  # 200 logs, a few unreadable or without a verdict
    correct = known["correct"].astype(bool)
    digressive = known["digression"].astype(bool)
    acc_dig, acc_not = correct[digressive].mean(), correct[~digressive].mean()
    auc = roc_auc_score(~correct, known["drift_mean"])
    turn_rate = spp_audit.turns["digression"].mean()
    print(f"\nSPP GPT-4 logic grid: {len(known)} conversations, overall accuracy "
          f"{correct.mean():.3f}; digressive {int(digressive.sum())} "
          f"({digressive.mean():.1%}), off-task turns {turn_rate:.1%}\n"
          f"accuracy digressive {acc_dig:.3f} vs not {acc_not:.3f} "
          f"(paper's GPT-4 judge: 0.530 vs 0.724)\n"
          f"AUC of the drift score for a wrong answer: {auc:.3f}")
    assert 0 < digressive.sum() < len(known)
    assert acc_dig < acc_not
    assert auc > 0.5


def test_comparison_reports_accuracy_by_digression(spp_audit) -> None:
    comp = spp_audit.comparison
    acc = comp[comp["metric"] == "correct"].set_index("group")
    conv = spp_audit.conversations
    for flag in ("True", "False"):
        part = conv[conv["digression"].astype(str) == flag]["correct"].dropna()
        assert acc.loc[flag, "estimate"] == pytest.approx(part.astype(bool).mean())
        assert acc.loc[flag, "ci_low"] <= acc.loc[flag, "estimate"] <= acc.loc[flag, "ci_high"]
    tested = acc[acc["effect_kind"] == "cohens_h"].dropna(subset=["p_value"])
    cols = ["n", "estimate", "ci_low", "ci_high", "effect_size", "p_value", "p_holm"]
    print(f"\naccuracy by digression:\n{acc[cols]}")
    assert len(tested) == 1
