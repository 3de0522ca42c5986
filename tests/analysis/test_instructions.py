"""Instruction audit: ROUGE-L against rouge-score, each flag on a crafted record, diversity."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from rouge_score import rouge_scorer

from artifactual.analysis.corpora.instructions import (FLAG_COLUMNS, audit_instructions,
                                               flag_instructions, instructions_frame,
                                               lcs_length, nearest_instructions, rouge_l,
                                               rouge_tokens, verb_noun_pairs)
from artifactual.readers import read
from artifactual.records import Instruction


def test_rouge_l_equals_rouge_score() -> None:
    rng = random.Random(0)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    vocab = "write a poem about the sea list three tips give me short story".split()
    for _ in range(300):
        a = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 70)))
        b = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 70)))
        ref = scorer.score(a, b)["rougeL"]
        p, r, f = rouge_l(rouge_tokens(a), rouge_tokens(b))
        assert (p, r, f) == pytest.approx((ref.precision, ref.recall, ref.fmeasure), abs=1e-12)
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert rouge_l([], ["x"]) == (0.0, 0.0, 0.0)


def test_nearest_is_exact_and_skips_same_task() -> None:
    rng = random.Random(1)
    vocab = "write list give explain the a of poem story tips code sea".split()
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 12))) for _ in range(60)]
    groups = [i % 2 for i in range(60)]
    tasks = [i // 4 for i in range(60)]  # four texts per task
    best, arg = nearest_instructions(texts, groups, tasks)
    toks = [rouge_tokens(t) for t in texts]
    for i in range(60):
        others = [j for j in range(60) if groups[j] == groups[i] and tasks[j] != tasks[i]]
        expect = max(rouge_l(toks[i], toks[j])[2] for j in others)
        assert best[i] == pytest.approx(expect)
        assert arg[i] in others and rouge_l(toks[i], toks[arg[i]])[2] == pytest.approx(expect)


def _rec(i: str, instruction: str, output: str, input: str = "", origin: str = "llm",
         **meta) -> Instruction:
    return Instruction(id=i, instruction=instruction, input=input, output=output, origin=origin,
                       meta=meta)


CRAFTED = [
    _rec("clean", "Give three tips for staying healthy.",
         "Eat vegetables, sleep eight hours and walk every day."),
    _rec("empty", "Name a famous painter.", "   "),
    _rec("short", "Describe your favourite city in detail.", "Paris"),
    _rec("label", "Classify the sentiment of the review.", "Positive", "I loved it.",
         is_classification=True),
    _rec("noinput", "Summarize the following paragraph in one sentence.",
         "The paragraph explains how tides work."),
    _rec("inline", "Summarize the following paragraph: Tides rise and fall twice a day "
                   "because of the moon.", "The moon causes two tides a day."),
    _rec("restate", "Write a haiku about autumn leaves.", "Write a haiku about autumn leaves."),
    _rec("refuse", "Tell me a joke about cats.",
         "As an AI language model, I cannot tell jokes about animals."),
    _rec("idiom", "Describe a rainy morning.", "I can't help but smile when rain taps the window."),
    _rec("cut", "Explain how a bicycle works.", "A bicycle turns pedal force into motion through the"),
    _rec("fence", "Write Python code to add two numbers.", "```python\ndef add(a, b):\n    return a + b"),
    _rec("length", "Describe the ocean.", "The ocean is vast.", finish_reason="length"),
    _rec("spanish", "Describe the weather today.",
         "El tiempo hoy es muy bueno y hace sol en la ciudad, con una temperatura de veinte "
         "grados y sin nubes en el cielo."),
    _rec("translate", "Translate into Spanish: the weather is very good today and the sky "
                      "is clear.", "El tiempo es muy bueno hoy y el cielo esta despejado."),
    _rec("dup1", "Write a short poem about the sea at night.", "Waves hum under stars."),
    _rec("dup2", "Write a short poem about the sea at dawn.", "Light spills on the water."),
]
EXPECT = {"empty": "empty_output", "short": "short_output", "noinput": "missing_input",
          "restate": "restates_instruction", "refuse": "refusal", "cut": "truncated_output",
          "fence": "truncated_output", "length": "truncated_output", "spanish": "non_english",
          "dup1": "near_duplicate", "dup2": "near_duplicate"}


@pytest.fixture(scope="module")
def flagged() -> pd.DataFrame:
    frame = instructions_frame(CRAFTED)
    return pd.concat([frame, flag_instructions(frame)], axis=1).set_index("id")


@pytest.mark.parametrize("rid", [r.id for r in CRAFTED])
def test_each_flag_fires_only_where_crafted(flagged: pd.DataFrame, rid: str) -> None:
    row = flagged.loc[rid]
    fired = {c for c in FLAG_COLUMNS if row[c]}
    assert fired == ({EXPECT[rid]} if rid in EXPECT else set()), row["evidence"]
    assert bool(row["evidence"]) == bool(fired)
    for c in fired:
        assert c in row["evidence"]


def test_duplicate_evidence_names_the_other(flagged: pd.DataFrame) -> None:
    assert flagged.loc["dup1", "most_similar"] == "dup2"
    assert "'dup2'" in flagged.loc["dup1", "evidence"]
    assert flagged.loc["dup1", "max_rouge_l"] >= 0.7


def test_verb_noun_pairs() -> None:
    pairs = verb_noun_pairs(["Write a poem about the sea.", "Give me three tips for sleep.",
                             "What is the capital of France?", ""])
    assert pairs.iloc[0].tolist() == ["write", "poem"]
    assert pairs.iloc[1].tolist() == ["give", "tip"]
    assert pairs.iloc[2].isna().all() and pairs.iloc[3].isna().all()


def test_audit_two_groups() -> None:
    human = [_rec(f"h{i}", f"Write a poem about {w}.", f"A calm poem about {w} and light.",
                  origin="human") for i, w in enumerate(["rivers", "owls", "snow", "bread"])]
    llm = [_rec(f"m{i}", "Write a poem about the sea.", "As an AI, I cannot write poems.")
           for i in range(4)]
    audit = audit_instructions(human + llm)
    rates = audit.rates.set_index(["metric", "group"])
    assert rates.loc[("refusal", "llm"), "estimate"] == 1.0
    assert rates.loc[("refusal", "human"), "estimate"] == 0.0
    assert rates.loc[("near_duplicate", "llm"), "estimate"] == 1.0
    assert np.isfinite(rates.loc[("refusal", "llm"), "p_holm"])
    div = audit.diversity.set_index("group")
    assert div.loc["llm", "unique_pairs"] == 1 and div.loc["human", "unique_pairs"] == 1
    assert audit.summary["n_records"] == 8
    assert set(audit.similarity["group"]) == {"human", "llm"}


def test_seed_tasks(shared_data) -> None:
    recs = list(read(shared_data / "self-instruct" / "seed_tasks.jsonl"))
    assert len(recs) == 175 and all(r.origin == "human" for r in recs)
    audit = audit_instructions(recs)
    assert audit.summary["n_tasks"] == 175
    assert audit.records["empty_output"].sum() == 0
    assert audit.diversity.iloc[0]["unique_verbs"] > 40
