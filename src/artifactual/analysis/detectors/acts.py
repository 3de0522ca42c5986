"""What each sentence of a turn does: a small dialogue-act classifier on MiniLM vectors.

Used by ``courtesy_loop`` (is anything in the turn moving the task?) and
``role_flip_unmarked`` (does the turn do the other role's job?).

**Units.** A turn is cut into units: a fenced code block (```...```) is one unit of act
``code``; the rest is cut at line breaks and then into sentences by spaCy's statistical
sentence recogniser (``senter``; with the tagger, so each sentence's **mood** is known:
``imperative``, opening after "please", "now", "next" ... with a base-form verb;
``you_should``, "your task is to ...", "you should / must / need to / have to ..." ("You
have $9" informs); ``question``
(a "?" or a request such as "Could you ..."); or none: :func:`mood`). A unit that is only a role
marker or done token (``Next request.``, ``<CAMEL_TASK_DONE>``, ``TERMINATE``) or an
empty label (``Input: None``) is
``marker``: it neither moves the task nor counts as courtesy. A sentence's leading
interjections ("Yeah,", "Hey", "Ok so") are set aside when four or more words remain
(:func:`core`): "Yeah, he must be a good quarterback" is judged as a statement.

**Acts.** Every other unit is embedded with the audit's encoder and compared with the
exemplar sentences of ``artifactual/data/acts.jsonl`` (written for this project, about
a dozen per act). Its act is the one whose ``k`` (3) nearest exemplars are closest on
average (a k-nearest-neighbour vote by mean cosine); the evidence names the nearest
exemplar. Acts:

* courtesy (:data:`COURTESY_ACTS`): ``thanks``, ``praise``, ``agree`` (agreement and
  acknowledgement, "I'm glad it meets your requirements"), ``greet`` (greetings and
  pleasantries), ``offer_help`` (offers of further help, "How can I help you today?"),
  ``farewell``, ``willing`` (restated willingness, "I'm here to help");
* ``directive``: tells the partner to do part of the task;
* ``ask_info``: asks the partner for information or a decision;
* ``work``: informs, states a need, delivers content;
* ``code`` and ``marker`` as above.

The vectors place a sentence near exemplars of its act, but also near exemplars of its
topic, so the mood decides what the vectors cannot (:func:`_resolve`):

* a unit is courtesy only when its nearest act is one, at a mean cosine of at least
  :data:`MIN_COURTESY` (0.35, chosen on the human dialogues of the development set and
  reported on every other source in docs/detectors.md), it has no number or code-like
  token (``=``, ``()``, ``{}``, a path), if a question it offers help or greets, and if
  an imperative it offers help, says goodbye, praises or thanks; otherwise it takes its
  nearest non-courtesy act;
* a non-courtesy unit in the imperative or "you should" mood is a ``directive``; a
  non-courtesy question is ``ask_info``; any other non-courtesy unit is ``work``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from artifactual.analysis.detectors.common import DONE_WORD
from artifactual.analysis.encoder import embed

__all__ = ["COURTESY_ACTS", "ACTS", "Unit", "split_units", "classify_units", "exemplars",
           "turn_acts", "LEAD_WORDS"]

COURTESY_ACTS = frozenset({"thanks", "praise", "agree", "greet", "offer_help", "farewell",
                           "willing"})
ACTS = (*sorted(COURTESY_ACTS), "directive", "ask_info", "work", "code", "marker")
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_DONE = re.compile(rf"^{DONE_WORD}[.!]?$")
_MARKERS = frozenset({"next request.", "next request", "terminate", "terminate.",
                      "camel_task_done", "<camel_task_done>"})
_CODEY = re.compile(r"[=<>{}\[\]|\\/#@$%^~]|\w\(|\d")
_K = 3
#: A courtesy act needs its k nearest exemplars at this mean cosine or closer: a
#: sentence far from every exemplar ("Yea but I don't know if Smith is a better
#: quarterback") is not placed by the vectors and counts as a statement.
MIN_COURTESY = 0.35


@dataclass(frozen=True)
class Unit:
    """One unit of a turn and its act."""

    text: str
    act: str
    score: float = float("nan")
    nearest: str = ""
    mood: str = ""

    @property
    def courtesy(self) -> bool:
        return self.act in COURTESY_ACTS


@lru_cache(maxsize=1)
def _senter() -> Any:
    import spacy

    from artifactual.assets import spacy_model

    nlp = spacy.load(spacy_model(), exclude=["parser", "lemmatizer", "ner"])
    nlp.enable_pipe("senter")
    return nlp


LEAD_WORDS = frozenset({"please", "now", "next", "then", "first", "firstly", "also", "so",
                        "and", "finally", "lastly", "ok", "okay", "great", "alright", "sure",
                        "kindly", "just", "second", "third"})
_OPENERS = frozenset({"yeah", "yes", "yea", "ya", "yep", "ok", "okay", "well", "hey", "hi",
                      "hello", "sure", "great", "wow", "oh", "ah", "right", "alright", "so",
                      "true", "indeed", "nice", "cool", "haha", "lol", "hmm", "no"})
_MODALS = frozenset({"should", "must", "need", "will", "have", "'ll"})
_TASK_NOUNS = frozenset({"task", "job", "goal", "assignment", "mission"})


def mood(sent: Any) -> str:
    """``"imperative"`` (opens, after "please", "now", "next" ..., with a base-form verb),
    ``"you_should"`` ("your task is to ...", a sentence opening "you should / must /
    need to ...", "I need / want you to ..."),
    ``"question"`` (ends with "?", or opens with "can / could / would / will you") or
    ``""``, from a tagged sentence span; a short leading label ("1. Engineer:") is skipped."""
    toks = list(sent)
    colon = next((k for k, t in enumerate(toks[:6]) if t.text == ":"), None)
    if colon is not None and colon + 1 < len(toks):  # "1. Engineer: Write ..." -> "Write ..."
        toks = toks[colon + 1:]
    toks = [t for t in toks if not (t.is_punct or t.is_space or t.like_num and len(t) <= 2)]
    if not toks:
        return ""
    if sent.text.rstrip().endswith("?"):
        return "question"
    words = [t.lower_ for t in toks]
    for a, b, c in zip(words, words[1:] + [""], words[2:] + ["", ""]):
        if a == "your" and b in _TASK_NOUNS and c in ("is", "will"):
            return "you_should"
        if a in ("need", "want") and b == "you" and c == "to":
            return "you_should"
    rest = [w for w in words if w not in LEAD_WORDS]
    if rest[:1] == ["you"] and rest[1:2] and rest[1] in _MODALS and (
            rest[1] != "have" or rest[2:3] == ["to"]):  # "you have to", not "you have $9"
        return "you_should"
    if rest[:1] and rest[0] in ("can", "could", "would", "will") and rest[1:2] == ["you"]:
        return "question"  # a request put as a question, with or without its "?"
    lead = next((t for t in toks if t.lower_ not in LEAD_WORDS), None)
    if lead is not None and lead.tag_ == "VB" and lead.lower_ not in ("be", "let", "have"):
        return "imperative"
    return ""


_VALUE_LINE = re.compile(r"^[A-Z][\w ]{0,20}:\s*(?:none|n/a|null|nothing|-)\.?$", re.I)


def _is_marker(text: str) -> bool:
    """A role marker, done token, or a label holding no value ("Input: None")."""
    flat = " ".join(text.split()).strip("*_ ")
    return flat.lower() in _MARKERS or bool(_DONE.match(flat) or _VALUE_LINE.match(flat))


_LABEL = re.compile(r"^[ \t>*_-]*[A-Z\u0400-\u042f][\w&/' -]{0,30}[*_]*:\s*")


def core(sent: Any) -> str:
    """The sentence without a leading role label ("Solution:", "Answer:") and its leading
    interjections and discourse openers ("Yeah,", "Hey", "Ok so"), when at least four
    words remain; else the whole sentence. "Yeah, he must be a good quarterback" is a
    statement, not agreement."""
    label = _LABEL.match(sent.text)
    if label and len(sent.text[label.end():].split()) >= 1:
        sent = sent.doc.char_span(sent.start_char + label.end(), sent.end_char,
                                  alignment_mode="expand") or sent
    toks = list(sent)
    k = 0
    while k < len(toks) and (toks[k].is_punct or toks[k].lower_ in _OPENERS
                             or toks[k].tag_ == "UH"):
        k += 1
    rest = toks[k:]
    if k and sum(t.is_alpha for t in rest) >= 4:
        return sent.doc[rest[0].i:sent.end].text.strip()
    return sent.text.strip()


def split_units(texts: list[str]) -> list[list[tuple[str, str | None, str, str]]]:
    """Per text: its units as ``(text, fixed act or None, mood, core)`` (module docstring)."""
    pieces: list[list[tuple[str, str | None]]] = []
    prose: list[str] = []
    where: list[tuple[int, int]] = []
    for i, text in enumerate(texts):
        units: list[tuple[str, str | None]] = []
        last = 0
        for m in [*_FENCE.finditer(text or ""), None]:
            chunk = (text or "")[last:m.start()] if m else (text or "")[last:]
            for line in chunk.splitlines():
                if line.strip():
                    units.append((line.strip(), "prose"))
            if m:
                units.append((m.group(0), "code"))
                last = m.end()
        out: list[tuple[str, str | None, str, str]] = []
        for unit, kind in units:
            if kind == "code":
                out.append((unit, "code", "", unit))
            elif _is_marker(unit):
                out.append((unit, "marker", "", unit))
            else:
                where.append((i, len(out)))
                out.append((unit, None, "", unit))
                prose.append(unit)
        pieces.append(out)
    if not prose:
        return pieces
    # sentences of each prose line, by spaCy's sentence recogniser
    expanded: dict[tuple[int, int], list[tuple[str, str | None, str, str]]] = {}
    for (i, k), doc in zip(where, _senter().pipe(prose, batch_size=256)):
        sents = [s for s in doc.sents if s.text.strip()]
        expanded[(i, k)] = [(s.text.strip(), "marker" if _is_marker(s.text) else None, mood(s),
                             core(s)) for s in sents]
    result = []
    for i, units in enumerate(pieces):
        flat: list[tuple[str, str | None, str, str]] = []
        for k, unit in enumerate(units):
            flat.extend(expanded.get((i, k), [unit]) if unit[1] is None else [unit])
        result.append(flat)
    return result


@lru_cache(maxsize=1)
def exemplars() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(acts, texts)`` of the exemplar sentences shipped in ``data/acts.jsonl``."""
    raw = resources.files("artifactual").joinpath("data/acts.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return tuple(r["act"] for r in rows), tuple(r["text"] for r in rows)


@lru_cache(maxsize=1)
def _act_columns() -> tuple[list[str], dict[str, np.ndarray]]:
    """The act names, sorted, and the exemplar rows of each."""
    acts = np.array(exemplars()[0])
    names = sorted(set(acts.tolist()))
    return names, {a: np.flatnonzero(acts == a) for a in names}


@lru_cache(maxsize=4)
def _exemplar_vectors(encoder: str | None, precision: str | None) -> np.ndarray:
    return embed(list(exemplars()[1]), encoder=encoder, precision=precision).astype(np.float32)


def classify_units(texts: list[str], *, encoder: str | None = None,
                   precision: str | None = None, until_work: bool = False) -> list[list[Unit]]:
    """Per text: its :class:`Unit` list, each with its act (module docstring).

    With ``until_work`` a text's sentences are classified in order only until the first one
    that is not courtesy (or a code block): enough to tell whether the turn is
    courtesy-only, at a fraction of the embedding. Questions are classified anyway (the
    next turn's courtesy depends on them); the other sentences after that point keep
    their mood and get the act ``""`` (not classified)."""
    split = split_units(["" if t is None else str(t) for t in texts])
    out = [[Unit(u, fixed or "", mood=m) for u, fixed, m, _ in units] for units in split]
    todo = [[(k, u, m, c) for k, (u, fixed, m, c) in enumerate(units) if fixed is None]
            for units in split]
    if not until_work:
        _classify([(i, *item) for i, items in enumerate(todo) for item in items], out,
                  encoder, precision)
        return out
    open_ = [i for i, units in enumerate(out) if todo[i] and all(u.act != "code" for u in units)]
    step = 0
    while open_:
        batch = [(i, *todo[i][step]) for i in open_]
        _classify(batch, out, encoder, precision)
        step += 1
        open_ = [i for i in open_ if step < len(todo[i])
                 and out[i][todo[i][step - 1][0]].act in COURTESY_ACTS]
    # questions are classified anyway: the next turn's courtesy depends on whether they ask
    _classify([(i, *item) for i, items in enumerate(todo) for item in items
               if item[2] == "question" and out[i][item[0]].act == ""], out, encoder, precision)
    return out


def _classify(items: list[tuple[int, int, str, str, str]], out: list[list[Unit]],
              encoder: str | None, precision: str | None) -> None:
    """Set the act of each ``(text, unit, sentence, mood, core)`` in ``out``."""
    if not items:
        return
    ex_texts = exemplars()[1]
    ex = _exemplar_vectors(encoder, precision)
    vecs = embed([c for *_, c in items], encoder=encoder, precision=precision).astype(np.float32)
    sims = vecs @ ex.T
    names, cols = _act_columns()
    scores = np.stack([np.sort(sims[:, cols[a]], axis=1)[:, -_K:].mean(axis=1) for a in names],
                      axis=1)
    for row, (i, k, text, m, c) in enumerate(items):
        order = np.argsort(-scores[row])
        act = _resolve([names[j] for j in order], c, m, float(scores[row, order[0]]))
        near = cols[act]
        j = int(near[np.argmax(sims[row, near])])
        out[i][k] = Unit(text, act, float(scores[row, names.index(act)]), ex_texts[j], m)


def _resolve(ranked: list[str], text: str, m: str, score: float = 1.0) -> str:
    """The act of a unit from the acts ranked by the vectors, the top act's ``score`` and
    the unit's mood: courtesy needs a score of at least :data:`MIN_COURTESY` and no
    code-like token; a question is courtesy only as an offer of help or a greeting
    ("Anything else?", "How are you?"), an imperative only as an offer of help, a farewell,
    praise or thanks ("Feel free to ask", "Enjoy!"). An imperative or "you should" that is
    not courtesy is a directive; a question that is not courtesy asks for information."""
    act = ranked[0]
    if act in COURTESY_ACTS and (score < MIN_COURTESY or _CODEY.search(text)
                                 or m == "question" and act not in ("offer_help", "greet")
                                 or m in ("imperative", "you_should")
                                 and act not in ("offer_help", "farewell", "praise", "thanks")):
        act = next(a for a in ranked if a not in COURTESY_ACTS)
    if act in COURTESY_ACTS:
        return act
    if m in ("imperative", "you_should"):
        return "directive"
    if m == "question":
        return "ask_info"
    return "work" if act in ("directive", "ask_info") else act


def turn_acts(texts: list[str], context: Any | None = None, *,
              until_work: bool = False) -> list[list[Unit]]:
    """:func:`classify_units` of ``texts`` with the context's encoder and precision; with a
    context, each distinct text is classified once per audit (shared by ``courtesy_loop``
    and ``role_flip_unmarked``) and the embedded sentences are counted in its stats.
    ``until_work`` (what ``courtesy_loop`` asks) may stop at a turn's first non-courtesy
    sentence; a later full request completes such a turn."""
    if context is None:
        return classify_units(texts, until_work=until_work)
    cache = context.derived.setdefault("acts", {})
    # a turn read only until its first non-courtesy sentence has units of act ""
    todo = list(dict.fromkeys(t for t in texts if t not in cache or not until_work
                              and any(u.act == "" for u in cache[t])))
    if todo:
        cache.update(zip(todo, classify_units(todo, encoder=context.encoder,
                                              precision=context.precision,
                                              until_work=until_work)))
        context.stats["embedded_sentences"] = context.stats.get("embedded_sentences", 0) + sum(
            1 for t in todo for u in cache[t] if u.act not in ("code", "marker", ""))
    return [cache[t] for t in texts]
