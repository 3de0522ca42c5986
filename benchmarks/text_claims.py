"""The paper's four claims about free-form LLM text, checked on a paired human/LLM set.

Used by ``benchmarks/text_audit.py --set hc3 --compare``. The claims and the metrics that
stand for them were fixed before the set was run:

==========================  ==============================================================
more formal                 ``formality`` (Heylighen & Dewaele F-score): LLM mean higher
flatter discourse           discourse graph: ``edges_Continuation`` share higher (units
                            chained rather than related), ``connectives_per_100w`` lower
less varied                 spread ratio (MAD LLM / MAD human) below 1 for ``formality``,
                            ``mean_sentence_length``, ``flesch_reading_ease``, ``mtld``
uniform across contexts     between-context share (eta-squared over domains) lower for
                            the LLM, for the same four metrics (pooled set only)
==========================  ==============================================================

A claim row is "yes" when its test says so at Holm p < 0.05 (means; spreads also need
the ratio's CI to exclude 1) or when the CI of the share difference excludes 0 (contexts),
"opposite" when it is significant the other way, "no difference" otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CLAIMS = [("more formal", "formality", "mean", "higher"),
          ("flatter discourse", "edges_Continuation", "mean", "higher"),
          ("flatter discourse", "connectives_per_100w", "mean", "lower"),
          *[("less varied", m, "spread", "lower")
            for m in ("formality", "mean_sentence_length", "flesch_reading_ease", "mtld")],
          *[("uniform across contexts", m, "context_share", "lower")
            for m in ("formality", "mean_sentence_length", "flesch_reading_ease", "mtld")]]


def _ci(lo: float, hi: float) -> str:
    return f"[{lo:.2f}, {hi:.2f}]"


def claim_rows(comp: pd.DataFrame, scope: str, llm: str = "llm") -> list[dict]:
    """One row per claim metric found in ``comp`` (a stacked means/spread table)."""
    rows = []
    for claim, metric, stat, want in CLAIMS:
        part = comp[(comp["statistic"] == stat) & (comp["base_metric"] == metric)]
        if part.empty:
            continue
        ref = part[part["group"] == part["reference"]].iloc[0]
        row = part[part["group"] == llm].iloc[0]
        if stat == "context_share":
            sig = row["ratio_low"] > 0 or row["ratio_high"] < 0
            effect = f"diff {row['effect_size']:+.2f} {_ci(row['ratio_low'], row['ratio_high'])}"
            p = "CI"
            lower = row["effect_size"] < 0
        else:
            sig = row["p_holm"] < 0.05 and (stat == "mean" or row["ratio_low"] > 1
                                            or row["ratio_high"] < 1)
            p = "<0.001" if row["p_holm"] < 0.001 else f"{row['p_holm']:.3f}"
            if stat == "spread":
                effect = (f"ratio {row['effect_size']:.2f} "
                          f"{_ci(row['ratio_low'], row['ratio_high'])}")
                lower = row["effect_size"] < 1
            else:
                effect = f"d {row['effect_size']:+.2f}"
                lower = row["estimate"] < ref["estimate"]
        agrees = lower == (want == "lower")
        verdict = ("yes" if agrees else "opposite") if sig else "no difference"
        rows.append({"scope": scope, "claim": claim, "metric": metric, "statistic": stat,
                     "human": f"{ref['estimate']:.2f} {_ci(ref['ci_low'], ref['ci_high'])}",
                     "llm": f"{row['estimate']:.2f} {_ci(row['ci_low'], row['ci_high'])}",
                     "effect": effect, "p_holm": p, "verdict": verdict,
                     "n_pairs": int(min(ref["n"], row["n"]))})
    return rows


def run_claims(pairs: Path, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Claim rows for each domain of ``pairs`` and for the pooled set (with contexts)."""
    from artifactual.analysis.corpora.style import STYLE_COLUMNS
    from artifactual.analysis.kinds import compare_kind
    from artifactual.analysis.stats.compare import compare
    from artifactual.analysis.stats.spread import compare_spread, with_spread

    result = compare_kind("text", [pairs], context="domain", seed=seed)
    table = result.tables["texts"]
    metrics = [*STYLE_COLUMNS, "n_units",
               *[c for c in table.columns if c.startswith("edges_")]]
    rows = []
    for domain, sub in table.groupby("context"):
        means = compare(sub, metrics, "group", reference="human", seed=seed,
                        paired_by="source_id")
        spread = compare_spread(sub, metrics, "group", "human", seed=seed,
                                paired_by="source_id")
        rows += claim_rows(with_spread(means, spread), str(domain))
    rows += claim_rows(result.comparison, "pooled")
    return pd.DataFrame(rows), result.summary
