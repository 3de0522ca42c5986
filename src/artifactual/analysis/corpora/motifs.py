"""Three-node discourse motifs: counting, profiles, and corpus comparison.

A motif is a weakly connected induced subgraph on 3 nodes, up to isomorphism that keeps
edge labels (and directions). :func:`count_motifs` never looks at all C(n, 3) triples:
every connected triple has a node adjacent to the other two, so it grows from each node's
neighbour pairs (O(sum of degree^2)); a triangle is kept only at its first node, so each
triple is counted once. The canonical form is exact, not a hash: the largest of the 3!
labelled adjacency codes of the triple, so two triples get the same name exactly when
they are isomorphic and no collision check is needed. Codes are memoised per ordered
labelling. Self-loops are ignored.

:func:`count_motifs_bruteforce` is the reference: every combination of 3 nodes, a
connectivity test, and ``nx.is_isomorphic`` against the classes found so far.

A motif's name lists its edges on canonical node numbers, e.g.
``"0>1:Continuation,1>2:Entity"``; :func:`motif_graph` turns a name back into a graph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations, permutations
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from networkx.algorithms import isomorphism as iso
from scipy.spatial.distance import jensenshannon

from artifactual.analysis.corpora.bounds import tick
from artifactual.analysis.stats.compare import compare
from artifactual.errors import AnalysisError

__all__ = ["count_motifs", "count_motifs_bruteforce", "motif_graph", "same_counts",
           "motif_profile", "motif_table", "motif_columns", "compare_motifs",
           "MotifComparison", "MOTIF_PREFIX", "total_counts"]

MOTIF_PREFIX = "motif:"
_PAIRS = ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
_PERMS = tuple(permutations(range(3)))
_NAMES: dict[tuple[str, ...], str] = {}


def _canonical(code: tuple[str, ...]) -> str:
    """The motif name of a labelled adjacency code over nodes (0, 1, 2) ('' = no edge)."""
    name = _NAMES.get(code)
    if name is None:
        lab = dict(zip(_PAIRS, code))
        best = max(tuple(lab[(p[i], p[j])] for i, j in _PAIRS) for p in _PERMS)
        name = ",".join(f"{i}>{j}:{x}" for (i, j), x in zip(_PAIRS, best) if x)
        _NAMES[code] = name
    return name


def count_motifs(g: nx.DiGraph, label: str = "label") -> Counter[str]:
    """Counts of every connected 3-node motif in ``g`` by name (see the module docstring)."""
    succ = g.succ if g.is_directed() else g.adj
    order = {v: i for i, v in enumerate(g)}
    nbrs = {v: set(succ[v]) | set(g.pred[v] if g.is_directed() else ()) for v in g}
    for v, ns in nbrs.items():
        ns.discard(v)

    def lab(u: Hashable, w: Hashable) -> str:
        d = succ[u].get(w)
        return "" if d is None else str(d.get(label, ""))

    counts: Counter[str] = Counter()
    for v in g:
        ranked = sorted(nbrs[v], key=order.__getitem__)
        for a, b in combinations(ranked, 2):
            tick()
            if b in nbrs[a] and order[v] > order[a]:
                continue  # a triangle: counted at its first node only
            code = (lab(v, a), lab(v, b), lab(a, v), lab(a, b), lab(b, v), lab(b, a))
            counts[_canonical(code)] += 1
    return counts


def count_motifs_bruteforce(g: nx.DiGraph, label: str = "label") -> list[tuple[nx.DiGraph, int]]:
    """Reference counter: all C(n, 3) triples, classes by ``nx.is_isomorphic``."""
    match = iso.categorical_edge_match(label, None)
    classes: list[list[Any]] = []
    for trio in combinations(g.nodes, 3):
        sub = g.subgraph(trio)
        connected = nx.is_weakly_connected(sub) if g.is_directed() else nx.is_connected(sub)
        if not connected:
            continue
        for cls in classes:
            if nx.is_isomorphic(cls[0], sub, edge_match=match):
                cls[1] += 1
                break
        else:
            classes.append([sub.copy(), 1])
    return [(rep, n) for rep, n in classes]


def motif_graph(name: str, label: str = "label") -> nx.DiGraph:
    """The 3-node labelled digraph a motif name describes."""
    g = nx.DiGraph()
    g.add_nodes_from(range(3))
    for part in filter(None, name.split(",")):
        pair, _, lab = part.partition(":")
        u, _, v = pair.partition(">")
        g.add_edge(int(u), int(v), **{label: lab})
    return g


def same_counts(fast: Counter[str] | dict[str, int],
                brute: list[tuple[nx.DiGraph, int]], label: str = "label") -> bool:
    """True when both counters agree class by class (matched by isomorphism)."""
    if len(fast) != len(brute):
        return False
    match = iso.categorical_edge_match(label, None)
    left = {name: motif_graph(name, label) for name in fast}
    for rep, n in brute:
        hits = [name for name, mg in left.items()
                if nx.is_isomorphic(nx.DiGraph(rep), mg, edge_match=match)]
        if len(hits) != 1 or fast[hits[0]] != n:
            return False
        del left[hits[0]]
    return not left


def motif_profile(g: nx.DiGraph, label: str = "label") -> dict[str, float]:
    """Motif counts divided by the number of edges (empty when the graph has no edge)."""
    n_e = g.number_of_edges()
    return {k: v / n_e for k, v in count_motifs(g, label).items()} if n_e else {}


def motif_table(graphs: Sequence[nx.DiGraph], index: Sequence[Any] | None = None,
                label: str = "label",
                counts: Sequence[Counter[str] | None] | None = None) -> pd.DataFrame:
    """One row per graph: ``n_edges`` and one ``motif:<name>`` column of count / |E|.

    A motif absent from a graph is 0; a graph without edges has NaN in every motif column.
    ``counts`` (one :func:`count_motifs` result per graph, or None where counting failed:
    NaN in every motif column) skips the counting here.
    """
    if counts is None:
        counts = [count_motifs(g, label) for g in graphs]
    failed = np.array([c is None for c in counts], dtype=bool)
    counts = [Counter() if c is None else c for c in counts]
    names = sorted({k for c in counts for k in c})
    n_e = np.array([g.number_of_edges() for g in graphs], dtype=float)
    data = np.array([[c.get(k, 0) for k in names] for c in counts], dtype=float)
    data = data.reshape(len(graphs), len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = data / n_e[:, None]
    norm[(n_e == 0) | failed] = np.nan
    out = pd.DataFrame(norm, columns=[MOTIF_PREFIX + k for k in names],
                       index=None if index is None else pd.Index(index))
    out.insert(0, "n_edges", n_e.astype("int64"))
    return out


def motif_columns(table: pd.DataFrame) -> list[str]:
    """The motif columns of a table (those named ``motif:...``)."""
    return [c for c in table.columns if str(c).startswith(MOTIF_PREFIX)]


@dataclass
class MotifComparison:
    """``divergence``: JS divergence per group vs the reference with a bootstrap CI;
    ``per_motif``: :func:`~artifactual.analysis.stats.compare.compare` rows plus the difference
    from the reference and its bootstrap CI."""

    divergence: pd.DataFrame
    per_motif: pd.DataFrame


def _pooled(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / total


def _js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.atleast_1d(jensenshannon(p, q, base=2, axis=-1) ** 2)


def _resample_weights(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def compare_motifs(table: pd.DataFrame, group_col: str, reference: str | None = None, *,
                   paired_by: str | None = None, seed: int = 0,
                   n_resamples: int = 1000) -> MotifComparison:
    """Compare motif distributions across the groups of ``table`` (from :func:`motif_table`
    plus a group column).

    The divergence pools each group's motif counts (profile x |E|) into one distribution
    and reports the squared base-2 Jensen-Shannon distance to the reference (0..1), with a
    percentile bootstrap CI over texts. Per motif, ``compare`` gives each group's mean
    normalised count with CI, Cliff's delta and Holm-corrected p-values (Wilcoxon when
    ``paired_by``); ``difference`` is group minus reference mean, with an unpaired
    bootstrap CI (``diff_ci_low``/``diff_ci_high``).
    """
    cols = motif_columns(table)
    if not cols:
        raise AnalysisError("the table has no motif columns", where=f"columns: {list(table.columns)}",
                            fix="build it with artifactual.analysis.corpora.motifs.motif_table")
    frame = table[table["n_edges"] > 0]
    groups = list(pd.unique(frame[group_col].dropna()))
    if len(groups) < 2:
        raise AnalysisError(f"need two groups with discourse edges in {group_col!r}, got {groups}",
                            fix="give texts of at least two corpora")
    ref = groups[0] if reference is None else reference
    rng = np.random.default_rng(seed)
    vals = {g: frame.loc[frame[group_col] == g, cols].fillna(0.0).to_numpy(float) for g in groups}
    edges = {g: frame.loc[frame[group_col] == g, "n_edges"].to_numpy(float) for g in groups}
    weights = {g: _resample_weights(len(vals[g]), n_resamples, rng) for g in groups}
    if ref not in vals:
        raise AnalysisError(f"reference {ref!r} is not a group", where=f"groups: {groups}",
                            fix="pick one of the listed groups")
    counts = {g: vals[g] * edges[g][:, None] for g in groups}
    ref_boot = _pooled(weights[ref] @ counts[ref])
    ref_mean_boot = weights[ref] @ vals[ref] / len(vals[ref])
    div_rows, diff_rows = [], []
    for g in groups:
        if g == ref:
            continue
        js = float(_js(_pooled(counts[g].sum(axis=0)), _pooled(counts[ref].sum(axis=0)))[0])
        boot = _js(_pooled(weights[g] @ counts[g]), ref_boot)
        div_rows.append({"group": g, "reference": ref, "n_texts": len(vals[g]),
                         "n_reference": len(vals[ref]), "js_divergence": js,
                         "ci_low": float(np.nanpercentile(boot, 2.5)),
                         "ci_high": float(np.nanpercentile(boot, 97.5))})
        diff = weights[g] @ vals[g] / len(vals[g]) - ref_mean_boot
        point = vals[g].mean(axis=0) - vals[ref].mean(axis=0)
        lo, hi = np.percentile(diff, [2.5, 97.5], axis=0)
        diff_rows += [{"metric": c, "group": g, "difference": float(d), "diff_ci_low": float(a),
                       "diff_ci_high": float(b)} for c, d, a, b in zip(cols, point, lo, hi)]
    filled = frame.assign(**{c: frame[c].fillna(0.0) for c in cols})
    per = compare(filled, cols, group_col, reference=ref, seed=seed,
                  n_resamples=n_resamples, paired_by=paired_by)
    per = per.merge(pd.DataFrame(diff_rows, columns=["metric", "group", "difference",
                                                     "diff_ci_low", "diff_ci_high"]),
                    on=["metric", "group"], how="left")
    return MotifComparison(pd.DataFrame(div_rows), per)


def total_counts(graphs: Iterable[nx.DiGraph], label: str = "label") -> Counter[str]:
    """Motif counts summed over many graphs."""
    out: Counter[str] = Counter()
    for g in graphs:
        out.update(count_motifs(g, label))
    return out
