"""Controlled injection: one known artifact put into a copy of a clean conversation.

:func:`inject` takes a clean :class:`~artifactual.records.Conversation` and returns an
:class:`Injection`: the changed copy, the artifact, the gold label it stands for and the
indices of the injected turns (in the copy), or None when the conversation has no place for
that artifact (e.g. no user turn to flip). Everything random comes from the ``rng`` passed
in, so a seed reproduces the corpus (:func:`inject_corpus`).

Artifacts (each writes text composed in this module or moved within the corpus):

=========================  ========================  ======================================
artifact                   gold label                change
=========================  ========================  ======================================
``off_task``               ``off_task``              a turn replaced by a substantive turn of
                                                     an unrelated conversation (a donor) or
                                                     by a persona tangent
``role_flip_user_solves``  ``role_flip``             a user turn delivers the assistant's
                                                     next answer (as ``Solution:`` where the
                                                     corpus uses CAMEL markers)
``role_flip_assistant_     ``role_flip``             an assistant turn hands the work back /
instructs``                                          issues the user's next instruction
``impersonation``          ``impersonation``         an assistant turn goes on with a line
                                                     labelled as the other speaker
``courtesy_loop``          ``courtesy_loop``         4 inserted turns of thanks and farewell
``truncated``              ``malformed``             a turn cut mid-sentence, its meta
                                                     ``finish_reason`` set to ``length``
``repetition``             ``repetition``            a turn replaced by an earlier turn of the
                                                     same speaker
=========================  ========================  ======================================

Turns of roles other than user/assistant (e.g. SPP personas) are used where the artifact
does not need a user and an assistant: off-task, courtesy loop, truncation, repetition.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from artifactual.records import Conversation, Turn

__all__ = ["ARTIFACTS", "LABELS", "Injection", "inject", "inject_corpus", "turn_role"]

LABELS: dict[str, str] = {
    "off_task": "off_task", "role_flip_user_solves": "role_flip",
    "role_flip_assistant_instructs": "role_flip", "impersonation": "impersonation",
    "courtesy_loop": "courtesy_loop", "truncated": "malformed", "repetition": "repetition",
}
ARTIFACTS: tuple[str, ...] = tuple(LABELS)

_TANGENTS = (
    "By the way, I spent last weekend hiking along a ridge in the mountains, and the fog "
    "rolling over the valley at sunrise was the most beautiful thing I have seen all year.",
    "Speaking of which, my grandmother used to keep bees behind her cottage, and every August "
    "we would spin the honey in her kitchen until the whole house smelled of wax.",
    "Funny thing, I have been learning to play the cello in the evenings; my neighbours are "
    "patient people, although the cat still leaves the room whenever I practise scales.",
    "That reminds me of the football match on Sunday: our team was two goals down at half "
    "time and still won in the last minute, the whole stadium was on its feet.",
    "Off the top of my head, the best pizza I ever ate was in a tiny place in Naples where "
    "the owner refused to make anything except margherita.",
    "Incidentally, I just finished a novel about a lighthouse keeper on a remote island, and "
    "I cannot stop thinking about its ending.",
)
_COURTESY = (
    ("Thank you so much, this has been really helpful!", "You're very welcome, it was a "
     "pleasure working with you.", "Thanks again, I really appreciate it.", "Anytime! Goodbye "
     "and take care."),
    ("Great, thanks a lot!", "My pleasure, glad I could help.", "Thank you, have a wonderful "
     "day.", "You too, goodbye!"),
    ("Perfect, thank you!", "You're welcome! Thanks for your patience.", "No, thank you, that "
     "was great.", "Wonderful, bye for now!"),
)
_SOLVES = ("{text}", "Never mind, I have worked it out myself: {text}",
           "Let me answer that for you. {text}")
_INSTRUCTS = ("Now it is your turn. {text} Report back to me when you have done that.",
              "Your next task: {text} Let me know once it is finished.",
              "I need you to handle this part yourself: {text}")
_MARKER = re.compile(r"^\s*(Instruction|Input|Solution(&Action)?)\s*:\s*", re.MULTILINE)
_CAMEL_TAIL = re.compile(r"\s*(Next request\.?|<?CAMEL_TASK_DONE>?)\s*$")


@dataclass(frozen=True)
class Injection:
    """A conversation copy with one injected artifact at known turns."""

    conversation: Conversation
    artifact: str
    label: str
    turns: tuple[int, ...]
    base_id: str
    detail: str = ""


def turn_role(conv: Conversation, turn: Turn) -> str:
    """The turn's role: its speaker's declared role, else ``meta["role"]``, else ``""``."""
    role = conv.role_of(turn.speaker) or turn.meta.get("role") or ""
    return str(role).lower()


def _words(text: str) -> int:
    return len(text.split())


def _uses_markers(conv: Conversation) -> bool:
    return any("Instruction:" in t.content for t in conv.turns) and any(
        "Solution" in t.content for t in conv.turns)


def _plain(text: str) -> str:
    """Content without CAMEL markers and trailers, on one line."""
    text = _CAMEL_TAIL.sub("", _MARKER.sub("", text))
    return " ".join(text.split())


def _copy(conv: Conversation, turns: list[Turn], artifact: str) -> Conversation:
    renumbered = [t.model_copy(update={"index": i}) for i, t in enumerate(turns)]
    meta = {**conv.meta, "injected": artifact, "base_id": conv.id}
    return conv.model_copy(update={"id": f"{conv.id}#{artifact}", "turns": renumbered,
                                   "meta": meta})


def _replace(conv: Conversation, k: int, content: str, artifact: str, label: str,
             detail: str, meta: dict | None = None) -> Injection:
    turns = list(conv.turns)
    turns[k] = turns[k].model_copy(update={"content": content,
                                           "meta": {**turns[k].meta, **(meta or {})}})
    return Injection(_copy(conv, turns, artifact), artifact, label, (k,), conv.id, detail)


def _positions(conv: Conversation, role: str | None, min_words: int = 0,
               first: int = 1) -> list[int]:
    return [i for i, t in enumerate(conv.turns) if i >= first
            and (role is None or turn_role(conv, t) == role) and _words(t.content) >= min_words]


def _off_task(conv: Conversation, rng: random.Random, donors: Sequence[str]) -> Injection | None:
    spots = _positions(conv, None, min_words=3)
    if not spots:
        return None
    k = rng.choice(spots)
    use_donor = bool(donors) and rng.random() < 0.5
    text = rng.choice(donors) if use_donor else rng.choice(_TANGENTS)
    return _replace(conv, k, text, "off_task", "off_task", "donor turn" if use_donor else "tangent")


def _next_of(conv: Conversation, k: int, role: str) -> Turn | None:
    for t in conv.turns[k + 1:]:
        if turn_role(conv, t) == role:
            return t
    return None


def _user_solves(conv: Conversation, rng: random.Random) -> Injection | None:
    spots = [k for k in _positions(conv, "user", first=1)
             if (n := _next_of(conv, k, "assistant")) is not None and _words(_plain(n.content)) >= 4]
    if not spots:
        spots = [k for k in _positions(conv, "user", first=0)
                 if (n := _next_of(conv, k, "assistant")) is not None
                 and _words(_plain(n.content)) >= 4]
    if not spots:
        return None
    k = rng.choice(spots)
    answer = _plain(_next_of(conv, k, "assistant").content)  # type: ignore[union-attr]
    if _uses_markers(conv):
        text = f"Solution: {answer} Next request."
    else:
        text = rng.choice(_SOLVES).format(text=answer)
    return _replace(conv, k, text, "role_flip_user_solves", "role_flip", "user delivers answer")


def _assistant_instructs(conv: Conversation, rng: random.Random) -> Injection | None:
    spots = [k for k in _positions(conv, "assistant")
             if any(turn_role(conv, t) == "user" and _words(_plain(t.content)) >= 4
                    for t in conv.turns[:k])]
    if not spots:
        return None
    k = rng.choice(spots)
    request = next(t for t in reversed(conv.turns[:k]) if turn_role(conv, t) == "user"
                   and _words(_plain(t.content)) >= 4)
    ask = _plain(request.content)
    if _uses_markers(conv):
        text = f"Instruction: {ask}\nInput: None"
    else:
        text = rng.choice(_INSTRUCTS).format(text=ask)
    return _replace(conv, k, text, "role_flip_assistant_instructs", "role_flip",
                    "assistant issues the user's instruction")


def _label(name: str, role: str) -> str:
    if name.lower() in ("user", "assistant", "human", "ai"):
        return "User" if role == "user" else "Assistant"
    return name


def _impersonation(conv: Conversation, rng: random.Random) -> Injection | None:
    spots = [k for k in _positions(conv, "assistant", min_words=3)
             if (n := _next_of(conv, k, "user")) is not None and _words(_plain(n.content)) >= 3]
    if not spots:
        return None
    k = rng.choice(spots)
    other = _next_of(conv, k, "user")
    assert other is not None
    line = f"{_label(other.speaker, 'user')}: {_plain(other.content)}"
    text = conv.turns[k].content.rstrip() + "\n\n" + line
    return _replace(conv, k, text, "impersonation", "impersonation", "continues as the user")


def _courtesy(conv: Conversation, rng: random.Random) -> Injection | None:
    if len(conv.turns) < 2:
        return None
    k = rng.randint(2, len(conv.turns)) if len(conv.turns) > 2 else len(conv.turns)
    a, b = conv.turns[k - 2].speaker, conv.turns[k - 1].speaker
    if a == b:
        b = next((t.speaker for t in conv.turns if t.speaker != a), a)
    phrases = rng.choice(_COURTESY)
    new = [Turn(index=0, speaker=(b if i % 2 == 0 else a), content=p,
                meta={"role": turn_role(conv, conv.turns[k - 1 - (i % 2 == 1)])})
           for i, p in enumerate(phrases)]
    turns = list(conv.turns[:k]) + new + list(conv.turns[k:])
    idx = tuple(range(k, k + len(new)))
    return Injection(_copy(conv, turns, "courtesy_loop"), "courtesy_loop", "courtesy_loop", idx,
                     conv.id, f"{len(new)} turns inserted at {k}")


def _truncated(conv: Conversation, rng: random.Random) -> Injection | None:
    spots = _positions(conv, None, min_words=12, first=1)
    if not spots:
        return None
    k = rng.choice(spots)
    words = conv.turns[k].content.split(" ")
    cut = max(4, int(len(words) * rng.uniform(0.4, 0.7)))
    text = " ".join(words[:cut]).rstrip(" .!?;:,\n")
    return _replace(conv, k, text, "truncated", "malformed", f"cut after {cut} words",
                    meta={"finish_reason": "length"})


def _repetition(conv: Conversation, rng: random.Random) -> Injection | None:
    pairs = [(j, k) for k in range(2, len(conv.turns)) for j in range(k - 1)
             if conv.turns[j].speaker == conv.turns[k].speaker
             and _words(conv.turns[j].content) >= 8]
    if not pairs:
        return None
    j, k = rng.choice(pairs)
    return _replace(conv, k, conv.turns[j].content, "repetition", "repetition",
                    f"copy of turn {j}")


def inject(conv: Conversation, artifact: str, rng: random.Random,
           donors: Sequence[str] = ()) -> Injection | None:
    """One copy of ``conv`` with ``artifact`` injected (None: no place for it).

    ``donors`` are turns of unrelated conversations for ``off_task``.
    """
    if artifact == "off_task":
        return _off_task(conv, rng, donors)
    fns = {"role_flip_user_solves": _user_solves, "role_flip_assistant_instructs":
           _assistant_instructs, "impersonation": _impersonation, "courtesy_loop": _courtesy,
           "truncated": _truncated, "repetition": _repetition}
    if artifact not in fns:
        raise ValueError(f"unknown artifact {artifact!r}; expected one of {list(ARTIFACTS)}")
    return fns[artifact](conv, rng)


def inject_corpus(convs: Iterable[Conversation], artifact: str, *, seed: int = 0,
                  donors: Sequence[str] = ()) -> list[Injection]:
    """``artifact`` injected once into each conversation that has a place for it.

    Each conversation gets its own generator, seeded from ``seed``, the artifact and its
    position, so the result does not depend on which other conversations are present.
    """
    out: list[Injection] = []
    for i, conv in enumerate(convs):
        rng = random.Random(f"{seed}:{artifact}:{i}:{conv.id}")
        inj = inject(conv, artifact, rng, donors)
        if inj is not None:
            out.append(inj)
    return out
