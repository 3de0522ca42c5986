"""Discourse graphs on the real spaCy pipeline: connectives, units, labelled edges."""

from __future__ import annotations

import networkx as nx
import pytest

from artifactual.analysis.corpora.discourse import (EDGE_LABELS, SENSES, discourse_graph,
                                            discourse_graphs, find_connectives, graph_stats,
                                            parse_texts)

CASES = [
    ("When he arrived, we left.", [("when", "Temporal")]),
    ("Since you asked, I will explain.", [("since", "Contingency")]),
    ("I have been happy since I moved here.", [("since", "Temporal")]),
    ("We stayed inside, since it was raining.", [("since", "Contingency")]),
    ("While I like tea, my sister prefers coffee.", [("while", "Comparison")]),
    ("While walking home, he saw a fox.", [("while", "Temporal")]),
    ("I stayed home as I was tired.", [("as", "Contingency")]),
    ("If you heat ice, it melts.", [("if", "Contingency")]),
    ("He was tired, so he left.", [("so", "Contingency")]),
    ("We won the match, but the coach was angry.", [("but", "Comparison")]),
    ("Although it rained, we played outside.", [("although", "Comparison")]),
    ("The dog barked and the cat ran away.", [("and", "Expansion")]),
    ("For example, cats sleep a lot.", [("for example", "Expansion")]),
    ("However, the plan failed.", [("however", "Comparison")]),
    # not discourse connectives: an intensifier, NP coordination, prepositions, a question
    ("The soup is so hot.", []),
    ("Salt and pepper are spices.", []),
    ("He left after lunch.", []),
    ("When will it arrive?", []),
    ("He called me once.", []),
]


@pytest.fixture(scope="module")
def docs() -> dict[str, object]:
    texts = [t for t, _ in CASES]
    return dict(zip(texts, parse_texts(texts)))


@pytest.mark.parametrize("text, expected", CASES)
def test_connective_senses(docs, text: str, expected: list[tuple[str, str]]) -> None:
    found = [(c.text, c.sense) for c in find_connectives(docs[text])]
    assert found == expected
    assert all(c.sense in SENSES for c in find_connectives(docs[text]))


def _edges(g: nx.DiGraph) -> dict[tuple[int, int], str]:
    return {(a, b): d["label"] for a, b, d in g.edges(data=True)}


def test_units_split_at_clause_connectives() -> None:
    (doc,) = parse_texts(["When he arrived, we left because it was late."])
    g = discourse_graph(doc)
    assert [g.nodes[u]["text"] for u in g] == ["When he arrived,", "we left",
                                                "because it was late."]
    assert _edges(g) == {(0, 1): "Temporal", (1, 2): "Contingency"}
    assert g.edges[1, 2]["connective"] == "because"


def test_entity_continuation_and_adverbial_edges() -> None:
    text = ("The garden was small. Maria planted tomatoes in the garden. She watered them daily. "
            "Rain fell all week. However, the harvest failed.")
    g = discourse_graph(parse_texts([text])[0])
    edges = _edges(g)
    assert edges[(0, 1)] == "Entity" and g.edges[0, 1]["shared"] == "garden"
    assert edges[(1, 2)] == "Entity" and g.edges[1, 2]["shared"] == "(pronoun)"
    assert edges[(2, 3)] == "Continuation"  # nothing shared, no connective
    assert edges[(3, 4)] == "Comparison" and g.edges[3, 4]["connective"] == "however"
    assert all(a < b for a, b in edges)  # every edge points forward
    assert set(edges.values()) <= set(EDGE_LABELS)


def test_entity_mode_chain_vs_all() -> None:
    text = "The lamp is old. I fixed the lamp yesterday. Today the lamp works."
    doc = parse_texts([text])[0]
    chain, every = discourse_graph(doc), discourse_graph(doc, entity_mode="all")
    assert _edges(chain) == {(0, 1): "Entity", (1, 2): "Entity"}
    assert _edges(every) == {(0, 1): "Entity", (1, 2): "Entity", (0, 2): "Entity"}


def test_graphs_are_connected_and_stats_sum_to_one() -> None:
    texts = ["We missed the bus, so we walked home. It rained. Still, the walk was nice "
             "because we talked the whole way, and nobody minded the puddles.",
             "One sentence only.", ""]
    graphs = discourse_graphs(texts)
    assert len(graphs) == 3
    g = graphs[0]
    assert g.number_of_nodes() >= 5 and nx.is_weakly_connected(g)
    for u in range(g.number_of_nodes() - 1):
        assert g.has_edge(u, u + 1)  # adjacent units always joined
    stats = graph_stats(g)
    assert stats["n_units"] == g.number_of_nodes()
    assert sum(stats[f"edges_{lab}"] for lab in EDGE_LABELS) == pytest.approx(1.0)
    assert graphs[1].number_of_nodes() == 1 and graphs[1].number_of_edges() == 0
    assert graphs[2].number_of_nodes() == 0
    assert graph_stats(graphs[2])["n_edges"] == 0
