"""Motif counting: neighbour-pair growth + exact canonical codes vs brute force.

Both count the connected 3-node motifs of the same discourse graphs (spaCy parses of
long texts, tens of units each); the counts must be identical. Prints each method's time
and the speed ratio (target: >= 50x). Texts are built from a sentence bank written for
this benchmark (seeded), or, with ``--cobbler DIR``, are CoBBLEr model outputs joined per
instruction (the paper's released files).

    .venv/bin/python benchmarks/motif_counting.py [--texts 8] [--sentences 40] [--cobbler DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

BANK = [
    "The village council met on Monday to discuss the new bridge.",
    "Most residents wanted the bridge, but the farmers worried about the cost.",
    "When the river flooded last spring, the old bridge was closed for weeks.",
    "Children had to walk an extra hour to reach the school.",
    "The engineer said the new design would last fifty years.",
    "However, nobody knew where the money would come from.",
    "Since the grant had been rejected twice, the mayor proposed a local tax.",
    "The tax was unpopular, so the council delayed the vote.",
    "Meanwhile, volunteers repaired the old bridge with borrowed timber.",
    "It held through the summer, although it shook whenever a truck crossed.",
    "In addition, the school organised a boat for the youngest pupils.",
    "The boatman knew the river well because he had fished it for decades.",
    "He told the children stories about the floods of his youth.",
    "After the harvest, the farmers changed their minds about the tax.",
    "They had lost grain when the bridge was closed, and they wanted a safer route.",
    "For example, one family had to sell its cattle at a loss.",
    "The council finally approved the tax in October.",
    "Construction began before the first snow, while the river was low.",
    "If the winter stayed mild, the bridge would open in May.",
    "The engineer visited the site every week, and she checked every weld herself.",
    "Some residents still doubted that the project would finish on time.",
    "Nevertheless, the first span was in place by February.",
    "The newspaper printed a photograph of the span at sunrise.",
    "As the weeks passed, the doubters grew quieter.",
    "The bridge opened in June, and the whole village walked across it.",
    "Later, the old bridge became a footpath for cyclists.",
    "The boatman retired, but he still tells his stories at the school.",
    "Therefore, the village now has two bridges and one very proud engineer.",
]


def bank_texts(n_texts: int, n_sentences: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(BANK) for _ in range(n_sentences)) for _ in range(n_texts)]


def cobbler_texts(folder: Path, n_texts: int) -> list[str]:
    data = json.loads((folder / "gpt4.json").read_text(encoding="utf-8"))
    keys = [k for k in data if k != "evaluator"][:n_texts]
    return [" ".join(r["output"] for r in data[k]["rankings"][:6]) for k in keys]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=8)
    ap.add_argument("--sentences", type=int, default=40, help="sentences per bank text")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cobbler", type=Path, default=None,
                    help="CoBBLEr folder (e.g. ../shared/data/llm-artifacts/preference/cobbler)")
    args = ap.parse_args()

    from artifactual.analysis.corpora.discourse import discourse_graphs
    from artifactual.analysis.corpora.motifs import count_motifs, count_motifs_bruteforce, same_counts

    texts = (cobbler_texts(args.cobbler, args.texts) if args.cobbler
             else bank_texts(args.texts, args.sentences, args.seed))
    graphs = discourse_graphs(texts)
    nodes = [g.number_of_nodes() for g in graphs]
    edges = [g.number_of_edges() for g in graphs]
    print(f"{len(graphs)} discourse graphs: {min(nodes)}-{max(nodes)} units "
          f"(mean {sum(nodes) / len(nodes):.1f}), {min(edges)}-{max(edges)} edges")

    t0 = time.perf_counter()
    fast = [count_motifs(g) for g in graphs]
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    brute = [count_motifs_bruteforce(g) for g in graphs]
    t_brute = time.perf_counter() - t0

    same = all(same_counts(f, b) for f, b in zip(fast, brute))
    kinds = len({k for f in fast for k in f})
    total = sum(sum(f.values()) for f in fast)
    print(f"motifs: {total} connected triples in {kinds} classes; identical counts: {same}")
    print(f"neighbour pairs + canonical codes: {t_fast * 1000:9.1f} ms")
    print(f"brute force (C(n,3) + isomorphism): {t_brute * 1000:9.1f} ms")
    ratio = t_brute / t_fast if t_fast else float("inf")
    print(f"speed ratio: {ratio:.0f}x (target >= 50x) {'OK' if ratio >= 50 else 'BELOW TARGET'}")
    if not same:
        raise SystemExit("counts differ")


if __name__ == "__main__":
    main()
