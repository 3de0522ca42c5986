"""Discourse graphs from spaCy parses (CPU, no downloaded discourse parser).

* **Units** are sentences, split further where a clause-level connective opens a clause:
  a subordinate clause (``mark``/``advmod`` on an ``advcl`` verb), a coordinated clause
  (``cc`` before a ``conj`` verb) or a connective after a semicolon. A clause in the
  middle of another leaves the outer clause as two units.
* **Relation edges** come from :data:`CONNECTIVES`, a lexicon of English explicit
  connectives written for this project, mapped to the four top-level PDTB-3 senses.
  Ambiguous connectives (since, while, as, when, then, so, once, after ...) are
  resolved from the parse (see :func:`_sense`). A subordinate or coordinated clause is
  related to the unit holding its head clause; a sentence-initial or medial adverbial
  connective relates its unit to the unit before it.
* **Entity edges** join a unit to the latest earlier unit that shares a noun-chunk head
  lemma (a chain per lemma; ``entity_mode="all"`` joins every earlier sharer), and a unit
  with a third-person pronoun to the nearest earlier unit of the same or the previous
  sentence that names something.
* **Continuation** joins adjacent units that have no other edge.

Every edge points forward in the text (earlier unit -> later unit); its ``label`` is one
of :data:`EDGE_LABELS`. A pair holds one edge: relation before Entity before Continuation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from artifactual.analysis.corpora.bounds import bounded_map, head_chain, is_root, tick
from artifactual.analysis.corpora.connectives import (_COORDINATORS, _INITIAL_ONLY, _MAX_WORDS, _MODALS,
                                                _PRONOUNS_3P, _STATIVE, _SUBORDINATORS, CONNECTIVES,
                                                EDGE_LABELS, SENSES, C, P, T)

__all__ = ["SENSES", "EDGE_LABELS", "CONNECTIVES", "Connective", "find_connectives",
           "discourse_graph", "discourse_graphs", "graph_stats", "parse_texts", "DISABLE"]

ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class Connective:
    """One explicit connective found in a doc (token offsets are doc-level)."""

    text: str          # lexicon entry, lowercase
    sense: str         # one of SENSES
    start: int         # first token
    end: int           # one past the last token
    kind: str          # "subordinating" | "coordinating" | "adverbial"
    clause: int        # token that heads the clause it opens (-1: none)
    head: int          # token of the clause it relates to (-1: the previous unit)


# --------------------------------------------------------------------------- parsing

#: spaCy components left out: NER only (noun-chunk and hedge matching need lemmas).
DISABLE = ("ner",)


def parse_texts(texts: Sequence[str], *, batch_size: int = 64,
                progress: ProgressFn | None = None) -> list[Any]:
    """Docs for ``texts`` in order, via the shared pipeline (:func:`.text.parse`): one
    ``nlp.pipe`` pass over the distinct texts, in batches, with :data:`DISABLE` off."""
    from artifactual.analysis.text import parse

    return parse(["" if t is None else str(t) for t in texts], batch_size=batch_size,
                 disable=DISABLE, progress=progress)


# --------------------------------------------------------------------------- connectives

def _verbal(tok: Any) -> bool:
    return tok.pos_ in ("VERB", "AUX")


def _has_child(tok: Any, pred: Callable[[Any], bool]) -> bool:
    return any(pred(c) for c in tok.children)


def _perfect(verb: Any) -> bool:
    return verb.tag_ == "VBN" and _has_child(verb, lambda c: c.lemma_ == "have" and c.dep_ == "aux")


def _progressive(verb: Any) -> bool:
    return verb.tag_ == "VBG"


def _sense(word: str, toks: Any, clause: Any | None) -> str | None:
    """Resolve an ambiguous connective from the parse; None when it is not a connective."""
    first = toks[0]
    main = clause.head if clause is not None and not is_root(clause) else None
    if word == "since":
        if clause is None:
            return T  # "since 2010", "since then"
        if _perfect(clause) or (main is not None and _perfect(main)):
            return T
        return C
    if word == "while":
        return T if clause is not None and _progressive(clause) else P
    if word == "as":
        if clause is None:
            return None  # "as a teacher": a preposition
        if clause.lemma_ in _STATIVE:
            return C
        return T
    if word == "when":
        if clause is None:
            return None
        modal = main is not None and _has_child(main, lambda c: c.lower_ in _MODALS)
        return C if modal and clause.tag_ in ("VBZ", "VBP") else T
    if word == "then":
        sent = first.sent
        return C if any(t.lower_ == "if" for t in sent if t.i < first.i) else T
    if word == "so":
        if first.dep_ == "advmod" and first.head.pos_ in ("ADJ", "ADV"):
            return None  # "so good": an intensifier
        return C
    if word == "once":
        return T if clause is not None else None
    return None


def _clause_of(toks: Any) -> Any | None:
    """The verb heading the clause a subordinating connective opens, if any."""
    first, last = toks[0], toks[-1]
    for tok in toks:
        if tok.dep_ == "mark" and _verbal(tok.head):
            verb = tok.head
            for head in head_chain(verb):
                if verb.dep_ not in ("aux", "auxpass"):
                    break
                verb = head  # "since it was raining" with "since" on the auxiliary
            return verb
    if last.lower_ == "to" and last.dep_ == "aux" and _verbal(last.head):
        return last.head  # "in order to", "so as to"
    if first.dep_ == "advmod" and _verbal(first.head) and first.head.dep_ == "advcl":
        return first.head  # "when he arrived"
    for tok in toks:
        for c in tok.children:
            if c.i > last.i and _verbal(c) and c.dep_ in ("pcomp", "relcl", "acl"):
                return c  # "after leaving", "by the time he came"
    return None


def _governor(clause: Any) -> int:
    """The verb a subordinate clause depends on (-1 when there is none)."""
    for t in head_chain(clause):
        if _verbal(t):
            return t.i if t.i != clause.i else -1
    return -1


def _initial(toks: Any) -> bool:
    """At the start of its sentence (after quotes/brackets) or right after ; or :."""
    first = toks[0]
    for tok in reversed(first.sent[: first.i - first.sent.start]):
        if tok.is_punct and tok.text in ";:":
            return True
        if not (tok.is_punct or tok.is_space):
            return False
    return True


_ADV_DEPS = {"advmod", "npadvmod", "cc", "prep", "mark"}
_SUB_DEPS = {"advcl", "pcomp", "xcomp", "ccomp", "relcl", "acl", "conj"}


def _coordinating(word: str, toks: Any) -> Connective | None:
    first, last = toks[0], toks[-1]
    if not _verbal(first.head):
        return None
    conj = [c for c in first.head.children if c.dep_ == "conj" and c.i > last.i and _verbal(c)]
    if not conj:
        return None  # "salt and pepper": not clause coordination
    if word == "and" and not _has_child(conj[0], lambda c: c.dep_ in ("nsubj", "nsubjpass", "expl")):
        return None  # "sang and danced": one clause
    sense = CONNECTIVES[word]
    sense = _sense(word, toks, None) if sense == "?" else sense
    return None if sense is None else Connective(word, sense, first.i, last.i + 1,
                                                 "coordinating", conj[0].i, first.head.i)


def _classify(word: str, toks: Any) -> Connective | None:
    """A connective at ``toks`` or None (a preposition, an intensifier, NP coordination)."""
    first, last = toks[0], toks[-1]
    sense = CONNECTIVES[word]
    initial = _initial(toks)
    if word in _COORDINATORS and first.dep_ == "cc" and not initial:
        return _coordinating(word, toks)
    if word in _SUBORDINATORS:
        clause = _clause_of(toks)
        if clause is not None and clause.dep_ in _SUB_DEPS and not (
                clause.dep_ == "ccomp" and word in ("if", "when", "as")):
            sense = _sense(word, toks, clause) if sense == "?" else sense
            if sense is None:
                return None
            return Connective(word, sense, first.i, last.i + 1, "subordinating", clause.i,
                              _governor(clause))
        if word != "though":
            return None  # "after lunch", "since 2010", "as a rule", a question's "when"
    if sense == "?":
        sense = _sense(word, toks, None)
        if sense is None:
            return None
    followed_by_comma = last.i + 1 < len(last.doc) and last.nbor(1).text == ","
    if initial and (first.dep_ in _ADV_DEPS or len(toks) > 1 or followed_by_comma):
        return Connective(word, sense, first.i, last.i + 1, "adverbial", -1, -1)
    if word in _INITIAL_ONLY or initial:
        return None
    if first.dep_ in _ADV_DEPS and _verbal(first.head):
        verb = first.head
        opens = first.i > 0 and first.nbor(-1).text in ",;" and verb.i > last.i
        left = [c for c in verb.children if c.i < first.i and _verbal(c)
                and c.dep_ in ("conj", "ccomp", "parataxis", "advcl")]
        if opens and (verb.dep_ in ("conj", "ccomp", "parataxis", "advcl") or left):
            # ", so he left": the connective opens a clause of its own
            return Connective(word, sense, first.i, last.i + 1, "coordinating", verb.i,
                              left[-1].i if left else _governor(verb))
        return Connective(word, sense, first.i, last.i + 1, "adverbial", -1, -1)
    return None


def find_connectives(doc: Any) -> list[Connective]:
    """Every explicit connective in a parsed doc, longest match first, left to right."""
    out: list[Connective] = []
    words = [t.lower_ for t in doc]
    i = 0
    while i < len(doc):
        found = None
        for n in range(min(_MAX_WORDS, len(doc) - i), 0, -1):
            tick()
            key = " ".join(words[i:i + n])
            if key in CONNECTIVES and doc[i:i + n].sent == doc[i].sent:
                conn = _classify(key, doc[i:i + n])
                if conn is not None:
                    found = conn
                    break
        if found is not None:
            out.append(found)
            i = found.end
        else:
            i += 1
    return out


# --------------------------------------------------------------------------- graphs

def _units(doc: Any, conns: list[Connective]) -> list[tuple[int, int, int]]:
    """(start, end, sentence index) token spans of the discourse units."""
    cuts_by_sent: dict[int, set[int]] = {}
    sent_of = {}
    sents = list(doc.sents)
    for k, s in enumerate(sents):
        sent_of[s.start] = k
    for c in conns:
        sent = doc[c.start].sent
        cuts = cuts_by_sent.setdefault(sent.start, set())
        tick(len(sent))
        if c.kind == "subordinating":
            sub = list(doc[c.clause].subtree)
            lo, hi = min(sub[0].i, c.start), sub[-1].i + 1
            cuts.update((lo, hi))
        elif c.kind == "coordinating":
            cuts.update((c.start, doc[c.clause].right_edge.i + 1))
        elif c.start > sent.start and doc[c.start - 1].text in ";:":
            cuts.add(c.start)
    units: list[tuple[int, int, int]] = []
    for k, s in enumerate(sents):
        bounds = set()
        for b in cuts_by_sent.get(s.start, ()):
            while s.start < b < s.end and doc[b].is_punct and doc[b].text in ",;:":
                b += 1  # punctuation closes the unit before it
            if s.start < b < s.end:
                bounds.add(b)
        bounds = sorted(bounds)
        edges = [s.start, *bounds, s.end]
        for a, b in zip(edges, edges[1:]):
            tick(b - a)
            if all(t.is_punct or t.is_space for t in doc[a:b]):
                if units and units[-1][2] == k:
                    units[-1] = (units[-1][0], b, k)
                continue
            units.append((a, b, k))
    return [u for u in units if any(not (t.is_punct or t.is_space) for t in doc[u[0]:u[1]])]


def _add(g: nx.DiGraph, a: int, b: int, label: str, **attrs: Any) -> None:
    if a == b:
        return
    a, b = min(a, b), max(a, b)
    if not g.has_edge(a, b):
        g.add_edge(a, b, label=label, **attrs)


def discourse_graph(doc: Any, entity_mode: Literal["chain", "all"] = "chain",
                    connectives: list[Connective] | None = None) -> nx.DiGraph:
    """The discourse graph of one parsed doc (see the module docstring)."""
    conns = find_connectives(doc) if connectives is None else connectives
    spans = _units(doc, conns)
    g = nx.DiGraph()
    unit_of: dict[int, int] = {}
    for u, (a, b, k) in enumerate(spans):
        g.add_node(u, text=doc[a:b].text, sentence=k, start_char=doc[a].idx,
                   end_char=doc[b - 1].idx + len(doc[b - 1]))
        unit_of.update((i, u) for i in range(a, b))
    for c in conns:
        arg2 = unit_of.get(c.start)
        if arg2 is None:
            continue
        arg1 = unit_of.get(c.head) if c.head >= 0 else arg2 - 1
        if arg1 is not None and arg1 >= 0:
            _add(g, arg1, arg2, c.sense, connective=c.text, kind=c.kind)
    heads: list[set[str]] = [set() for _ in spans]
    for nc in doc.noun_chunks:
        u = unit_of.get(nc.root.i)
        if u is not None and nc.root.pos_ != "PRON":
            heads[u].add(nc.root.lemma_.lower())
    seen: dict[str, list[int]] = {}
    for u, lemmas in enumerate(heads):
        for lemma in sorted(lemmas):
            earlier = seen.setdefault(lemma, [])
            for v in (earlier[-1:] if entity_mode == "chain" else earlier):
                tick()
                _add(g, v, u, "Entity", shared=lemma)
            earlier.append(u)
    for u, (a, b, k) in enumerate(spans):
        if any(t.pos_ == "PRON" and t.lower_ in _PRONOUNS_3P for t in doc[a:b]):
            for v in range(u - 1, -1, -1):
                tick()
                if spans[v][2] < k - 1:
                    break
                if heads[v]:
                    _add(g, v, u, "Entity", shared="(pronoun)")
                    break
    for u in range(len(spans) - 1):
        if not g.has_edge(u, u + 1):
            g.add_edge(u, u + 1, label="Continuation")
    return g


def discourse_graphs(texts: Sequence[str] | Iterable[Any], *, batch_size: int = 64,
                     entity_mode: Literal["chain", "all"] = "chain",
                     progress: ProgressFn | None = None) -> list[nx.DiGraph]:
    """One graph per text (strings are parsed once with ``nlp.pipe``; docs are used as is)."""
    items = list(texts)
    if items and all(isinstance(t, str) for t in items):
        items = parse_texts(items, batch_size=batch_size, progress=progress)
    return bounded_map("discourse", items, lambda d: discourse_graph(d, entity_mode))


def graph_stats(g: nx.DiGraph) -> dict[str, float]:
    """Units, edges, and the share of each edge label (``edges_<Label>``) in one graph."""
    n_e = g.number_of_edges()
    counts = {lab: 0 for lab in EDGE_LABELS}
    for _, _, lab in g.edges(data="label"):
        counts[lab] = counts.get(lab, 0) + 1
    out: dict[str, float] = {"n_units": g.number_of_nodes(), "n_edges": n_e}
    out.update({f"edges_{lab}": (c / n_e if n_e else float("nan")) for lab, c in counts.items()})
    return out
