"""The seeded injection harness: reproducible, indices recorded, each artifact does its change."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from artifactual.analysis.validity.harness import load_conversations, with_goal
from artifactual.analysis.validity.inject import ARTIFACTS, LABELS, inject, inject_corpus
from artifactual.records import Conversation, Speaker, Turn

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


@pytest.fixture(scope="module")
def camel() -> list[Conversation]:
    return load_conversations(DATA / "camel" / "clean.jsonl")


@pytest.fixture(scope="module")
def human() -> list[Conversation]:
    return [with_goal(c) for c in load_conversations(DATA / "human" / "task_oriented.jsonl")][:20]


def _dump(injs) -> list[str]:
    return [i.conversation.model_dump_json() + repr(i.turns) for i in injs]


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_same_seed_same_corpus_other_seed_differs(camel, human, artifact):
    donors = [t.content for c in human for t in c.turns if len(t.content.split()) >= 12]
    a = inject_corpus(camel + human, artifact, seed=3, donors=donors)
    b = inject_corpus(camel + human, artifact, seed=3, donors=donors)
    c = inject_corpus(camel + human, artifact, seed=4, donors=donors)
    assert a and _dump(a) == _dump(b)
    assert _dump(a) != _dump(c)


@pytest.mark.parametrize("artifact", [a for a in ARTIFACTS if a != "courtesy_loop"])
def test_only_the_recorded_turn_changes(camel, human, artifact):
    for inj in inject_corpus(camel + human, artifact, seed=0, donors=["x " * 20]):
        base = next(c for c in camel + human if c.id == inj.base_id)
        assert inj.label == LABELS[artifact] and len(inj.turns) == 1
        assert inj.conversation.id == f"{base.id}#{artifact}"
        assert len(inj.conversation.turns) == len(base.turns)
        changed = [i for i, (t, u) in enumerate(zip(base.turns, inj.conversation.turns))
                   if t.content != u.content]
        assert changed == list(inj.turns)


def test_courtesy_loop_inserts_four_turns_at_the_recorded_indices(camel):
    for inj in inject_corpus(camel, "courtesy_loop", seed=0):
        base = next(c for c in camel if c.id == inj.base_id)
        turns = inj.conversation.turns
        assert len(turns) == len(base.turns) + 4 and len(inj.turns) == 4
        kept = [t.content for i, t in enumerate(turns) if i not in inj.turns]
        assert kept == [t.content for t in base.turns]
        assert [t.index for t in turns] == list(range(len(turns)))
        loop = [turns[i] for i in inj.turns]
        assert all("thank" in t.content.lower() or "bye" in t.content.lower()
                   or "welcome" in t.content.lower() or "pleasure" in t.content.lower()
                   for t in loop)
        assert len({t.speaker for t in loop}) == 2


def test_role_flips_follow_the_corpus_convention(camel, human):
    rng = random.Random(0)
    solves = inject(camel[0], "role_flip_user_solves", rng)
    k = solves.turns[0]
    assert solves.conversation.role_of(solves.conversation.turns[k].speaker) == "user"
    assert solves.conversation.turns[k].content.startswith("Solution:")
    instructs = inject(camel[0], "role_flip_assistant_instructs", rng)
    k = instructs.turns[0]
    assert instructs.conversation.turns[k].content.startswith("Instruction:")
    assert instructs.conversation.role_of(instructs.conversation.turns[k].speaker) == "assistant"
    plain = inject(human[0], "role_flip_user_solves", rng)
    text = plain.conversation.turns[plain.turns[0]].content
    assert "Solution:" not in text
    nxt = next(t for t in human[0].turns[plain.turns[0] + 1:]
               if human[0].role_of(t.speaker) == "assistant")
    assert " ".join(nxt.content.split()) in text


def test_impersonation_writes_a_line_as_the_user(camel, human):
    inj = inject(human[0], "impersonation", random.Random(1))
    k = inj.turns[0]
    assert "\n\nUser: " in inj.conversation.turns[k].content
    assert inj.conversation.turns[k].content.startswith(human[0].turns[k].content.rstrip())
    inj = inject(camel[0], "impersonation", random.Random(1))
    user_name = next(s.name for s in camel[0].speakers if s.role == "user")
    assert f"\n\n{user_name}: " in inj.conversation.turns[inj.turns[0]].content


def test_truncation_cuts_mid_sentence_with_length_finish(human):
    for inj in inject_corpus(human, "truncated", seed=0):
        base = next(c for c in human if c.id == inj.base_id)
        k = inj.turns[0]
        turn = inj.conversation.turns[k]
        assert turn.meta["finish_reason"] == "length"
        assert len(turn.content) < len(base.turns[k].content)
        assert base.turns[k].content.startswith(turn.content)
        assert turn.content[-1] not in ".!?"


def test_repetition_copies_an_earlier_turn_of_the_same_speaker(human):
    for inj in inject_corpus(human, "repetition", seed=0):
        k = inj.turns[0]
        turns = inj.conversation.turns
        assert any(turns[j].content == turns[k].content and turns[j].speaker == turns[k].speaker
                   for j in range(k - 1))


def test_off_task_uses_a_donor_or_a_tangent(human):
    donors = ["We talked about the history of jazz in New Orleans and its brass bands."]
    kinds = {inject(c, "off_task", random.Random(i), donors).detail for i, c in enumerate(human)}
    assert kinds == {"donor turn", "tangent"}


def test_no_place_gives_none():
    lone = Conversation(id="solo", speakers=[Speaker(name="Detective", role="Detective")],
                        turns=[Turn(index=0, speaker="Detective", content="Clue one is key.")])
    for artifact in ("role_flip_user_solves", "role_flip_assistant_instructs", "impersonation",
                     "truncated", "repetition", "courtesy_loop"):
        assert inject(lone, artifact, random.Random(0)) is None
    with pytest.raises(ValueError, match="unknown artifact"):
        inject(lone, "sarcasm", random.Random(0))
