"""Free-form text audit throughput per stage, beside bare ``nlp.pipe`` on the same texts;
and the human-vs-LLM comparison on the paper's real CoBBLEr pairs.

Texts: the 50 human reference answers and 750 model outputs of CoBBLEr
(``benchmarks/cobbler_texts.py``; needs ``../shared/data``). In one process, after
loading and warming up spaCy:

1. **bare**: one ``nlp.pipe`` pass over the texts with the text audit's pipeline
   (same disabled components, same batch size);
2. **audit**: :func:`artifactual.analysis.corpora.text_audit.text_table`: parse,
   connectives, style, discourse graph, motifs, every stage bounded.

Prints texts/s for each stage and in total, and the ratio audit / bare. With
``--compare`` it then runs ``compare --kind text`` on the pairs and prints the metrics
where human and LLM text differ (Holm p < 0.05), with effect sizes and direction.

``--set hc3`` uses the 300 HC3 human/ChatGPT pairs in ``benchmarks/data/hc3`` instead
(three domains: medicine, open_qa, wiki_csai; no ``../shared`` needed); its ``--compare``
prints the paper's four claims (:mod:`text_claims`) per domain and pooled, the pooled set
with the domain as context.

    .venv/bin/python benchmarks/text_audit.py [--n 800] [--compare] [--set cobbler|hc3]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cobbler_texts import DEFAULT_DATA, load_pairs, write_pairs  # noqa: E402

HC3 = Path(__file__).resolve().parent / "data" / "hc3" / "hc3_pairs.jsonl"


def _cpu() -> str:
    try:
        flags = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return platform.processor()
    isa = sorted({f for f in flags.split() if f.startswith(("avx512f", "avx2", "amx"))})
    model = next((ln.split(":", 1)[1].strip() for ln in flags.splitlines()
                  if ln.startswith("Model name")), "?")
    return f"{model}; {' '.join(isa)}"


def throughput(texts: list[str], batch_size: int = 64) -> dict[str, float]:
    """Seconds per stage of the text audit and of bare ``nlp.pipe`` on ``texts``."""
    import pandas as pd

    from artifactual.analysis.corpora.discourse import DISABLE
    from artifactual.analysis.corpora.text_audit import text_table
    from artifactual.analysis.text import load_nlp

    nlp = load_nlp(tuple(DISABLE))
    list(nlp.pipe(texts[:32], batch_size=batch_size))  # warm up

    def bare_pass() -> float:
        t0 = time.perf_counter()
        list(nlp.pipe(texts, batch_size=batch_size))
        return time.perf_counter() - t0

    ends: dict[str, float] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        if total is not None and done >= total:
            ends[stage] = time.perf_counter()

    frame = pd.DataFrame({"id": [f"t{i}" for i in range(len(texts))], "text": texts})
    bare = bare_pass()
    start = time.perf_counter()
    text_table(frame, batch_size=batch_size, progress=progress)
    total = time.perf_counter() - start
    bare = min(bare, bare_pass())  # before and after: the machine is shared and noisy
    out = {"bare_nlp_pipe": bare, "audit_total": total}
    prev = start
    for stage in ("parse", "connectives", "style", "discourse", "motifs"):
        if stage in ends:
            out[stage] = ends[stage] - prev
            prev = ends[stage]
    return out


def significant(data: Path, alpha: float = 0.05) -> "object":
    """``compare --kind text`` on the CoBBLEr pairs: rows with Holm p < alpha."""
    from artifactual.analysis.kinds import compare_kind

    with tempfile.TemporaryDirectory() as tmp:
        human, llm, _ = write_pairs(Path(tmp), data)
        result = compare_kind("text", [human, llm])
    comp = result.comparison
    rows = comp[(comp["group"] == "llm") & (comp["p_holm"] < alpha)].copy()
    ref = comp[comp["group"] == "human"].set_index("metric")["estimate"]
    rows["human"] = rows["metric"].map(ref)
    rows["direction"] = ["LLM higher" if e > h else "LLM lower"
                         for e, h in zip(rows["estimate"], rows["human"])]
    keep = ["metric", "human", "estimate", "effect_size", "p_holm", "direction"]
    paper = comp[(comp["group"] == "llm") & comp["metric"].isin(PAPER_METRICS)].copy()
    paper["human"] = paper["metric"].map(ref)
    paper["direction"] = ["LLM higher" if e > h else "LLM lower"
                          for e, h in zip(paper["estimate"], paper["human"])]
    return (rows[keep].rename(columns={"estimate": "llm"}),
            paper[keep].rename(columns={"estimate": "llm"}), result.summary)


#: The metrics behind the paper's claims (formality, style variety, discourse shape).
PAPER_METRICS = ("formality", "mtld", "mean_sentence_length", "connectives_per_100w", "n_units",
                 "edges_Continuation", "edges_Entity")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=800, help="texts to time (human first)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--compare", action="store_true", help="also print the paired comparison")
    ap.add_argument("--set", choices=("cobbler", "hc3"), default="cobbler",
                    help="the paired texts: CoBBLEr (../shared) or HC3 (benchmarks/data/hc3)")
    a = ap.parse_args(argv)
    if a.set == "hc3":
        import json

        rows = [json.loads(ln) for ln in HC3.read_text(encoding="utf-8").splitlines()]
        texts = [r[k] for k in ("human_text", "machine_text") for r in rows][: a.n]
    else:
        human, llm, _ = load_pairs(a.data)
        texts = [r["text"] for r in human + llm][: a.n]
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} real texts ({words:,} words) from {a.set}; CPU: {_cpu()}")
    t = throughput(texts)
    print(f"{'stage':<14}{'seconds':>9}{'texts/s':>10}")
    for stage in ("parse", "connectives", "style", "discourse", "motifs", "audit_total",
                  "bare_nlp_pipe"):
        if stage in t:
            print(f"{stage:<14}{t[stage]:>9.2f}{len(texts) / t[stage]:>10.1f}")
    print(f"ratio audit / bare nlp.pipe: {t['audit_total'] / t['bare_nlp_pipe']:.2f}x")
    if a.compare and a.set == "hc3":
        from text_claims import run_claims

        claims, summary = run_claims(HC3)
        print(f"\nHC3 human vs ChatGPT ({summary['n_texts']} texts, paired by question; "
              f"{summary['n_stage_errors']} stage errors): the paper's claims")
        print(claims.drop(columns="statistic").to_string(index=False))
        for line in summary.get("spread_findings", []):
            print("  " + line)
    elif a.compare:
        rows, paper, summary = significant(a.data)
        fmt = {"float_format": lambda v: f"{v:.3f}", "index": False}
        print(f"\nhuman vs LLM (paired by instruction, {summary['n_texts']} texts, "
              f"{summary['n_prefix_stripped']} with a shared opening stripped, "
              f"{summary['n_stage_errors']} stage errors): metrics with Holm p < 0.05")
        print(rows.to_string(**fmt))
        print("\nthe paper's metrics (formality, variety, discourse), whatever their p:")
        print(paper.to_string(**fmt))
        for d in summary.get("motif_js_divergence", []):
            print(f"motif JS divergence {d.get('group')} vs {d.get('reference')}: "
                  + ", ".join(f"{k}={v:.3f}" for k, v in d.items()
                              if isinstance(v, float)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
