"""Speech acts of a turn from its spaCy parse, for role adherence (:mod:`.adherence`).

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Acts", "speech_acts", "TASK_VERBS"]

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
