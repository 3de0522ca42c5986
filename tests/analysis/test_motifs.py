"""Motif counting against the brute-force reference, profiles and corpus comparison."""

from __future__ import annotations

import random
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms import isomorphism as iso

from artifactual.analysis.corpora.motifs import (MOTIF_PREFIX, compare_motifs, count_motifs,
                                         count_motifs_bruteforce, motif_columns, motif_graph,
                                         motif_table, same_counts)


def _random_graph(rng: random.Random, n: int, p: float, labels: str) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for u in range(n):
        for v in range(n):
            if u != v and rng.random() < p:
                g.add_edge(u, v, label=rng.choice(labels))
    return g


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_bruteforce_on_random_labelled_graphs(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        g = _random_graph(rng, rng.randint(0, 9), rng.choice([0.1, 0.25, 0.5]),
                          rng.choice(["A", "AB", "ABC"]))
        fast, brute = count_motifs(g), count_motifs_bruteforce(g)
        assert same_counts(fast, brute), (nx.to_dict_of_dicts(g), fast)
        assert sum(fast.values()) == sum(n for _, n in brute)


def test_forward_graphs_like_discourse_graphs() -> None:
    rng = random.Random(7)
    labels = ["Temporal", "Contingency", "Comparison", "Expansion", "Entity", "Continuation"]
    for _ in range(10):
        n = rng.randint(10, 25)
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        for u in range(n - 1):
            g.add_edge(u, u + 1, label=rng.choice(labels))
            for v in range(u + 2, min(n, u + 5)):
                if rng.random() < 0.2:
                    g.add_edge(u, v, label="Entity")
        assert same_counts(count_motifs(g), count_motifs_bruteforce(g))


def test_names_are_canonical_and_round_trip() -> None:
    path = nx.DiGraph([(5, 6, {"label": "A"}), (6, 7, {"label": "B"})])
    other = nx.DiGraph([(1, 2, {"label": "B"}), (0, 1, {"label": "A"})])  # same shape
    (name,) = count_motifs(path)
    assert count_motifs(other) == Counter({name: 1})
    match = iso.categorical_edge_match("label", None)
    assert nx.is_isomorphic(motif_graph(name), path, edge_match=match)
    flipped = nx.DiGraph([(5, 6, {"label": "B"}), (6, 7, {"label": "A"})])
    assert set(count_motifs(flipped)) != {name}  # labels matter
    tri = nx.DiGraph([(0, 1, {"label": "A"}), (1, 2, {"label": "A"}), (0, 2, {"label": "A"})])
    assert sum(count_motifs(tri).values()) == 1  # a triangle is counted once


def test_same_counts_detects_a_difference() -> None:
    g = _random_graph(random.Random(3), 8, 0.4, "AB")
    fast = count_motifs(g)
    brute = count_motifs_bruteforce(g)
    key = next(iter(fast))
    assert not same_counts(Counter({**fast, key: fast[key] + 1}), brute)
    assert not same_counts(Counter({k: v for k, v in fast.items() if k != key}), brute)


def test_long_path_without_triples() -> None:
    n = 5000  # C(n, 3) ~ 2e10 triples: only neighbour pairs are ever looked at
    g = nx.DiGraph()
    nx.add_path(g, range(n), label="Continuation")
    counts = count_motifs(g)
    assert counts == Counter({"0>1:Continuation,1>2:Continuation": n - 2})


def test_motif_table_normalises_by_edges() -> None:
    g1 = nx.DiGraph([(0, 1, {"label": "A"}), (1, 2, {"label": "A"}), (2, 3, {"label": "A"})])
    g2 = nx.DiGraph()
    g2.add_node(0)
    table = motif_table([g1, g2], index=["x", "y"])
    assert list(table.index) == ["x", "y"]
    col = MOTIF_PREFIX + "0>1:A,1>2:A"
    assert motif_columns(table) == [col]
    assert table.loc["x", col] == pytest.approx(2 / 3) and table.loc["x", "n_edges"] == 3
    assert np.isnan(table.loc["y", col]) and table.loc["y", "n_edges"] == 0


def _corpus(rng: random.Random, n: int, extra: str) -> list[nx.DiGraph]:
    out = []
    for _ in range(n):
        g = nx.DiGraph()
        nx.add_path(g, range(12), label="Continuation")
        for u in range(10):
            if rng.random() < 0.5:
                g.add_edge(u, u + 2, label=extra)
        out.append(g)
    return out


def test_compare_motifs_between_corpora() -> None:
    rng = random.Random(0)
    graphs = _corpus(rng, 30, "Entity") + _corpus(rng, 30, "Temporal")
    table = motif_table(graphs)
    table["group"] = ["human"] * 30 + ["llm"] * 30
    res = compare_motifs(table, "group", reference="human", n_resamples=2000)
    row = res.divergence.iloc[0]
    assert row["group"] == "llm" and row["reference"] == "human"
    assert 0.1 < row["js_divergence"] <= 1.0
    assert row["ci_low"] <= row["js_divergence"] <= row["ci_high"]
    per = res.per_motif[res.per_motif["group"] == "llm"]
    assert set(per["metric"]) == set(motif_columns(table))
    entity = per[per["metric"].str.contains("Entity")]
    assert (entity["difference"] < 0).all() and (entity["diff_ci_high"] < 0).all()
    assert (entity["p_holm"] < 0.05).all()
    same = motif_table(_corpus(rng, 20, "Entity") + _corpus(rng, 20, "Entity"))
    same["group"] = ["a"] * 20 + ["b"] * 20
    near = compare_motifs(same, "group", n_resamples=300).divergence.iloc[0]
    assert near["js_divergence"] < row["js_divergence"] / 10
