"""Role adherence without markers (detector ``"role_adherence"``): speech acts from the parse.

Each sentence of a turn (spaCy, shared :class:`.text.TextContext`) gets speech acts. A
leading label such as ``Solution:``, ``Input:`` or ``Step 2:`` is skipped, so markers
neither help nor hurt.

* **directive**: an imperative (the first word, after ``please`` / adverbs, is a verb in
  base form, tag ``VB``, with no subject; ``Let's`` / ``let us`` proposals excluded), a
  modal addressed to the listener (``you should / must / need to / have to``), or
  ``I want / need / would like you to ...``. A directive is *addressed* when it says
  ``please``, names the speaker as beneficiary (``me``, ``us``, ``my``, ``our``) or uses
  a verb of asking (tell, give, provide, send, share, show, explain, describe, clarify,
  confirm, specify, let ... know);
* **question**: ends with ``?``, opens with a wh-word, or inverts subject and auxiliary
  (``Can you ...``, ``Do you ...``);
* **answer** (solution content): a declarative sentence (a finite verb with a subject)
  of at least four words, plus each fenced code block and each list item of the turn;
* **acknowledgement**: a short sentence (at most eight words) of thanks or assent
  (thanks, ok, great, sure, welcome, glad, got it, sounds good, noted ...).

**Profiles.** A speaker whose declared role is ``user`` is a *director*; ``assistant`` is
a *solver* (``profile="declared"`` or ``"auto"``). Any other speaker, or every speaker
with ``profile="learned"``, gets the profile that dominates its own turns in the
conversation (director when its directives + questions outnumber its answers), if it
has at least ``min_turns`` turns; with fewer, its turns are not judged.

**Asking for information is not instructing.** Each directive or question is also sorted
by what it asks for:

* **information request** (``request`` acts): a question ("Which area would you like?",
  "Could you tell me your budget?"), a directive whose verb asks for information
  (tell, give, provide, send, share, confirm, specify, clarify, let ... know: "Please
  provide the article list"), or a first-person need ("I need the file names", "I would
  like to know ..."). Task-oriented dialogues, human ones above all, are full of these;
* **hand-back** (``handback`` acts): an imperative addressed to the other party (with
  ``please``, ``me`` / ``us``, ``now``, ``next``, ``yourself``: "Now implement the parser",
  "Please stir the sauce for me") whose verb neither asks for information nor only
  coordinates (choose, select, note, wait ...), a second-person clause with
  a task verb ("Now you write the function", "You should implement ...", "I want you to
  build ...", "Your task is to ..."), a line-leading ``Instruction:`` label, or a request
  whose content words mostly restate the conversation's task statement (the solver
  issuing the task back: "Please provide a list of 500 products that sell best ...").
  Unaddressed imperatives ("Preheat the oven.") are neutral: how-to answers are written
  that way.

**Violations** (column ``role_adherence_violation``):

* a director turn delivers solution content (>= 1 answer) with no directive, question or
  need statement, unless the other party's previous turn asked for information (then
  the answer is the information asked for, not the solution);
* a solver turn hands the task back: >= 1 hand-back act and more hand-backs than answers,
  or an ``Instruction:`` label. Information requests never count.

**Applicability** (``requires=("declared_roles",)``): in an audit, a conversation with a
declared user and a declared assistant (the roles fix who directs and who solves);
others get None. Called directly, profiles are learned as described above.

Output columns: ``role_adherence_violation`` (bool), ``directive_acts``,
``question_acts``, ``answer_acts``, ``acknowledgement_acts``, ``request_acts``,
``handback_acts`` (int, per turn) and
``evidence`` (the profile, the act counts and the sentence that contradicts it).
:func:`adherence_agreement` compares this detector with the paper's marker rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from artifactual.analysis.stats.compare import cohen_kappa
from artifactual.analysis.registry import detector
from artifactual.analysis.detectors.roles import Markers, detect_role_flips
from artifactual.analysis.text import TextContext, context_for
from artifactual.errors import AnalysisError

__all__ = ["Acts", "speech_acts", "detect_role_adherence", "adherence_agreement", "ACT_COLUMNS"]

ACT_COLUMNS = ("directive_acts", "question_acts", "answer_acts", "acknowledgement_acts",
               "request_acts", "handback_acts")
_ACT_ATTRS = ("directive", "question", "answer", "acknowledgement", "request", "handback")
# Verbs of work a solver should do itself; an imperative of one, addressed to the other
# party, hands the task back (asking verbs such as tell/provide ask for information).
TASK_VERBS = frozenset("""
analyse analyze build calculate code compile compose compute create debug design develop
draft edit estimate evaluate fix generate implement outline plan prepare produce program
refactor research revise rewrite solve summarise summarize test translate write""".split())
_NEEDS = {"need", "want", "like", "require", "looking", "wonder", "wondering"}
_INSTRUCTION_LABEL = re.compile(r"^[ \t>]*[*_]{0,2}Instruction[*_]{0,2}[ \t]*:", re.MULTILINE)
# Imperatives that coordinate rather than hand work over ("Please choose a date").
_COORDINATION = frozenset("""choose select pick decide note wait consider keep remember feel
refer see hold let ask contact call visit enjoy excuse forgive""".split())
_HANDING_CUES = frozenset({"now", "next", "yourself", "turn"})
_OVERLAP = 0.6  # share of a request's content words found in the task statement
_MIN_OVERLAP_WORDS = 4
_WH = {"WDT", "WP", "WP$", "WRB"}
_SUBJ = {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"}
_MODALS = {"should", "must", "need", "have", "ought", "'ll", "will"}
_WANT = {"want", "need", "like", "require"}
_ASKING = {"tell", "give", "provide", "send", "share", "show", "explain", "describe",
           "clarify", "confirm", "specify", "let"}
_BENEFICIARY = {"me", "us", "my", "our"}
# The small tagger often reads a capitalised verb after a label ("Instruction: List ...")
# as a noun; a sentence opening with one of these, with no subject, is an imperative too.
_COMMAND_VERBS = frozenset("""
add analyse analyze apply ask book build buy calculate call check choose clean close combine
compare compute confirm consider convert count create decide define delete describe design
determine develop draft drop estimate evaluate explain find fix generate give identify
implement include install list load look make measure move name open order outline pick plan
plot prepare provide put read recommend record remove replace research review run save select
send set share show sort specify start stop suggest summarise summarize tell test translate
try update use verify write""".split())
_REQUEST_MODALS = {"can", "could", "would", "will"}
_ACK = re.compile(r"\b(thanks?|thank you|ok(ay)?|great|sure|welcome|glad|noted|understood|"
                  r"got it|sounds good|perfect|excellent|awesome|no problem|appreciate\w*|"
                  r"agreed?|alright|cheers|done|complete[d]?|finished)\b", re.IGNORECASE)
_FENCE = re.compile(r"```.*?(```|$)", re.DOTALL)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*\u2022]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
_SNIPPET = 120


@dataclass
class Acts:
    """Speech-act counts of one turn and the first sentence of each act (for evidence)."""

    directive: int = 0
    addressed: int = 0
    question: int = 0
    answer: int = 0
    acknowledgement: int = 0
    request: int = 0
    handback: int = 0
    instruction_label: bool = False
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, *acts: str, text: str) -> None:
        """Count one more of each of ``acts``; the first ``text`` of an act is its example."""
        for act in acts:
            setattr(self, act, getattr(self, act) + 1)
            self.examples.setdefault(act, text)


def _body(sent: Any) -> list[Any]:
    """The sentence's tokens after a leading ``Label:`` (1-3 words) and punctuation."""
    toks = [t for t in sent if not t.is_space]
    for k, tok in enumerate(toks[:4]):
        if tok.text == ":" and 1 <= k <= 3 and toks[0].text[:1].isupper() and all(
                t.is_alpha or t.like_num for t in toks[:k]):
            toks = toks[k + 1:]
            break
    while toks and (toks[0].is_punct or toks[0].is_space):
        toks = toks[1:]
    return toks


def _has_subject(verb: Any, body: set[int]) -> bool:
    return any(c.dep_ in _SUBJ and c.i in body for c in verb.children)


def _imperative(toks: list[Any], body: set[int]) -> Any:
    """The imperative verb opening the sentence, or None."""
    lead = [t for t in toks if not (t.lower_ == "please" or t.tag_ in ("RB", "UH") or t.is_punct)]
    if not lead:
        return None
    verb = lead[0]
    if _has_subject(verb, body):
        return None
    if verb.tag_ != "VB" and not (verb.lower_ in _COMMAND_VERBS and verb.tag_ in
                                  ("VBP", "NN", "NNP", "NNS") and verb.text[:1].isupper()):
        return None
    return None if _proposal(lead) else verb


def _you_modal(toks: list[Any]) -> str:
    """``"modal"`` for "you should/must/need to ...", ``"want"`` for "I want you to ...",
    else ''."""
    words = [t.lower_ for t in toks]
    for i, w in enumerate(words[:-1]):
        if w == "you" and words[i + 1] in _MODALS:
            return "modal"
        if w in ("i", "we") and i + 2 < len(words) and words[i + 1] in _WANT and \
                "you" in words[i + 2:i + 5]:
            return "want"
    return ""


def _proposal(toks: list[Any]) -> bool:
    """``Let's ...`` / ``Let us ...``: a proposal to act together (neither order nor answer)."""
    return len(toks) > 1 and toks[0].lower_ == "let" and toks[1].lower_ in ("'s", "\u2019s", "us")


def _question(toks: list[Any], body: set[int]) -> bool:
    if toks[-1].text == "?":
        return True
    first = toks[0]
    if first.tag_ in _WH and len(toks) > 2:
        return True
    if first.tag_ not in ("MD", "VBP", "VBZ", "VBD") or first.dep_ not in ("aux", "ROOT"):
        return False  # subject-auxiliary inversion: "Can you ...", "Is it ..."
    verb = first if first.dep_ == "ROOT" else first.head
    return any(c.dep_ in _SUBJ and c.i > first.i and c.i in body for c in verb.children)


def _declarative(toks: list[Any], body: set[int]) -> bool:
    """A finite main-clause verb of the body with a subject, and at least four words."""
    if sum(t.is_alpha or t.like_num for t in toks) < 4:
        return False
    tops = {t.i for t in toks if t.head.i not in body or t.head.i == t.i}
    tops |= {t.i for t in toks if t.dep_ == "conj" and t.head.i in tops}
    return any(t.dep_ in _SUBJ and t.head.i in tops and t.head.pos_ in ("VERB", "AUX")
               for t in toks)


def _request(toks: list[Any]) -> bool:
    """An indirect request: "Can / Could / Would / Will you ...?"."""
    return len(toks) > 2 and toks[0].lower_ in _REQUEST_MODALS and toks[1].lower_ == "you"


def _content_words(toks: list[Any]) -> set[str]:
    return {t.lower_ for t in toks if t.is_alpha and not t.is_stop and len(t) > 2}


def _restates(toks: list[Any], task: set[str]) -> bool:
    """The sentence's content words are mostly the task statement's."""
    words = _content_words(toks)
    return len(words) >= _MIN_OVERLAP_WORDS and len(words & task) >= _OVERLAP * len(words)


def _second_person_task(toks: list[Any]) -> bool:
    """"(Now) you write ...", "you should / need to implement ...", "your task is to ..."."""
    words = [t.lower_ for t in toks]
    for i, tok in enumerate(toks):
        if tok.lower_ == "you" and tok.dep_ in _SUBJ and tok.head.lower_ in TASK_VERBS:
            return True
        if tok.lower_ == "you" and any(w in TASK_VERBS for w in words[i + 1:i + 5]) and \
                i + 1 < len(words) and words[i + 1] in _MODALS | {"to"}:
            return True
    return words[:2] in (["your", "task"], ["your", "job"], ["your", "next"])


def _first_person_need(toks: list[Any]) -> bool:
    """"I need / want / would like ... / I'm looking for ..." (not "I want you to ...")."""
    words = [t.lower_ for t in toks]
    return bool(words) and words[0] in ("i", "we") and any(
        w in _NEEDS for w in words[1:4]) and "you" not in words[1:6]


def speech_acts(doc: Any, task: str | None = None) -> Acts:
    """The speech acts of one parsed turn (see the module docstring); ``task``, the
    conversation's task statement, marks requests that restate it as hand-backs."""
    acts = Acts()
    text = doc.text
    task_words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", task or "")}
    acts.instruction_label = bool(_INSTRUCTION_LABEL.search(text))
    blocks = len(_FENCE.findall(text))
    items = len(_LIST_ITEM.findall(_FENCE.sub("", text)))
    for _ in range(blocks + items):
        acts.add("answer", text="a code block" if blocks else "a list")
    for sent in doc.sents:
        toks = _body(sent)
        if not toks:
            continue
        body = {t.i for t in toks}
        snippet = " ".join(" ".join(t.text for t in toks).split())
        n_words = sum(t.is_alpha for t in toks)
        restated = bool(task_words) and _restates(toks, task_words)
        if n_words <= 8 and _ACK.search(snippet):
            acts.add("acknowledgement", text=snippet)
        elif _question(toks, body):
            asks = ("directive", "addressed") if _request(toks) else ()
            task_q = _request(toks) and any(t.lower_ in TASK_VERBS for t in toks[2:5])
            acts.add("question", *asks, "handback" if task_q or restated else "request",
                     text=snippet)
        elif _proposal(toks):
            continue
        elif (verb := _imperative(toks, body)) is not None or (modal := _you_modal(toks)):
            words = {t.lower_ for t in toks}
            addressed = "please" in words or bool(words & _BENEFICIARY) or (
                verb is not None and verb.lower_ in _ASKING) or (
                verb is None and modal == "want")
            lemma = verb.lower_ if verb is not None else ""
            asking = lemma in _ASKING
            handing = (verb is None and any(w in TASK_VERBS for w in words)) or (
                verb is not None and not asking and lemma not in _COORDINATION
                and bool(words & _HANDING_CUES | ({"please"} & words) | (words & _BENEFICIARY)))
            kind = "handback" if handing or (restated and not asking) or (
                restated and asking) else "request" if asking else ""
            acts.add("directive", *(("addressed",) if addressed else ()),
                     *((kind,) if kind else ()), text=snippet)
        elif _first_person_need(toks):
            acts.add("request", text=snippet)
        elif _second_person_task(toks):
            acts.add("directive", "handback", text=snippet)
        elif _declarative(toks, body):
            acts.add("answer", text=snippet)
    return acts


def _profile_of(acts: list[Acts]) -> str:
    direct = sum(a.directive + a.question + a.request for a in acts)
    return "director" if direct > sum(a.answer for a in acts) else "solver"


def _violation(profile: str, a: Acts, asked: bool) -> str:
    """Evidence text when ``a`` contradicts ``profile``, else ''; ``asked``: the other
    party's previous turn asked for information."""
    counts = (f"directives {a.directive} ({a.handback} hand-back, {a.request} information "
              f"requests), questions {a.question}, answers {a.answer}")
    if profile == "director" and a.answer >= 1 and a.directive + a.question + a.request == 0 \
            and not asked:
        return f"director delivers solution content ({counts}): \"{_cut(a.examples['answer'])}\""
    if profile == "solver" and a.instruction_label:
        return f"solver writes an Instruction: label ({counts})"
    if profile == "solver" and a.handback >= 1 and a.handback > a.answer:
        return f"solver hands the task back ({counts}): \"{_cut(a.examples['handback'])}\""
    return ""


def _cut(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[:_SNIPPET - 3] + "..."


_DECLARED = {"user": "director", "assistant": "solver"}


def _asked(turns: pd.DataFrame, acts: list[Acts], key: list[tuple[str, str]]) -> list[bool]:
    """Per turn: the previous turn of its conversation (by ``turn_index``), by another
    speaker, asked a question or requested information."""
    order = (turns["turn_index"].tolist() if "turn_index" in turns.columns
             else list(range(len(turns))))
    by_conv: dict[str, list[int]] = {}
    for i, (cid, _) in enumerate(key):
        by_conv.setdefault(cid, []).append(i)
    out = [False] * len(turns)
    for rows in by_conv.values():
        rows.sort(key=lambda i: order[i])
        for prev, i in zip(rows, rows[1:]):
            a = acts[prev]
            out[i] = key[prev][1] != key[i][1] and (a.question + a.request) > 0
    return out


@detector("role_adherence", needs=("docs",), requires=("declared_roles",), default=False,
          off_reason="not run by default: measured precision 0.50-0.70 on labelled and "
                     "injected logs and 55% of human task dialogues flagged (docs/detectors.md); "
                     "run it with --detectors, or ask a judge (--judge)")
def detect_role_adherence(turns: pd.DataFrame, *, context: TextContext | None = None,
                          profile: Literal["auto", "declared", "learned"] = "auto",
                          min_turns: int = 2) -> pd.DataFrame:
    """Per turn: act counts, ``role_adherence_violation`` and ``evidence`` (module docstring)."""
    if profile not in ("auto", "declared", "learned"):
        raise AnalysisError(f"unknown profile {profile!r}",
                            fix='use "auto", "declared" or "learned"')
    if len(turns) == 0:
        cols = {c: pd.Series([], dtype="int64") for c in ACT_COLUMNS}
        return pd.DataFrame({"role_adherence_violation": pd.Series([], dtype=bool), **cols,
                             "evidence": pd.Series([], dtype=object)}, index=turns.index)
    missing = [c for c in ("conversation_id", "speaker", "content") if c not in turns.columns]
    if missing:
        raise AnalysisError(f"turns table lacks column(s) {', '.join(missing)}",
                            fix="build it with artifactual.analysis.tables.to_frames")
    ctx = context_for(turns, context, ("docs",))
    cids = turns["conversation_id"].astype(str).tolist()
    acts = [speech_acts(doc, ctx.tasks.get(cid)) for doc, cid in
            zip(ctx.docs_for(turns.index), cids)]
    roles = (turns["role"].astype("string").str.lower() if "role" in turns.columns
             else pd.Series(pd.NA, index=turns.index, dtype="string"))
    key = list(zip(turns["conversation_id"].astype(str), turns["speaker"].astype(str)))
    by_speaker: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(key):
        by_speaker.setdefault(k, []).append(i)
    profiles: list[str | None] = [None] * len(turns)
    for rows in by_speaker.values():
        declared = None if profile == "learned" else _DECLARED.get(str(roles.iloc[rows[0]]))
        if declared is None and profile != "declared" and len(rows) >= min_turns:
            declared = _profile_of([acts[i] for i in rows])
        for i in rows:
            profiles[i] = declared
    asked = _asked(turns, acts, key)
    evidence = [_violation(p, a, q) if p else "" for p, a, q in zip(profiles, acts, asked)]
    data: dict[str, Any] = {"role_adherence_violation": [bool(e) for e in evidence]}
    for col, attr in zip(ACT_COLUMNS, _ACT_ATTRS):
        data[col] = np.array([getattr(a, attr) for a in acts], dtype="int64")
    data["evidence"] = evidence
    return pd.DataFrame(data, index=turns.index).astype({"role_adherence_violation": bool,
                                                         "evidence": object})


def adherence_agreement(turns: pd.DataFrame, *, context: TextContext | None = None,
                        markers: Markers | Mapping[str, Any] | None = None,
                        profile: Literal["auto", "declared", "learned"] = "declared"
                        ) -> dict[str, Any]:
    """Agreement of ``role_adherence`` with the paper's marker rule (``role_flip``).

    Over the user and assistant turns: ``confusion`` (a 2x2 DataFrame, rows = marker
    rule flip, columns = adherence violation), ``n``, ``agreement`` (share of equal
    calls), Cohen's ``kappa``, and ``precision`` / ``recall`` of the adherence
    violations against the marker flips (None when undefined).
    """
    marker = detect_role_flips(turns, markers=markers)["role_flip"]
    ours = detect_role_adherence(turns, context=context, profile=profile)[
        "role_adherence_violation"]
    roles = (turns["role"].astype("string").str.lower() if "role" in turns.columns
             else pd.Series(pd.NA, index=turns.index, dtype="string"))
    keep = roles.isin(["user", "assistant"]).fillna(False).to_numpy(dtype=bool)
    a, b = marker[keep].astype(bool), ours[keep].astype(bool)
    confusion = pd.crosstab(pd.Categorical(a, categories=[False, True]),
                            pd.Categorical(b, categories=[False, True]), dropna=False)
    confusion.index.name, confusion.columns.name = "role_flip", "role_adherence_violation"
    n = int(keep.sum())
    both = int((a & b).sum())
    return {"confusion": confusion, "n": n,
            "agreement": float((a == b).mean()) if n else None,
            "kappa": cohen_kappa(list(a), list(b)) if n else None,
            "precision": both / int(b.sum()) if b.sum() else None,
            "recall": both / int(a.sum()) if a.sum() else None}
