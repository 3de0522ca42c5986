"""Self-Instruct: filters (ROUGE-L, length, keywords), parsers, seeds, and a real bootstrap run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from artifactual.agents.templates import load_strategy
from artifactual.config import parse_config
from artifactual.generation.run import generate
from artifactual.generation.self_instruct import (Bootstrap, RougePool, Section, check_instruction, load_seeds,
                                                  parse_instance, parse_proposal)
from artifactual.records import record_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
SECTION = Section(n=4)


def test_rouge_pool_finds_the_most_similar_item():
    pool = RougePool(["Write a poem about the sea.", "Translate the sentence into French.",
                      "List three uses of baking soda."])
    item, score = pool.most_similar("Write a short poem about the sea.")
    assert item == "Write a poem about the sea." and score == pytest.approx(12 / 13)
    item, score = pool.most_similar("Translate the sentence into French.")
    assert item == "Translate the sentence into French." and score == 1.0
    item, score = pool.most_similar("Explain how vaccines train the immune system.")
    assert score < 0.3
    assert RougePool().most_similar("anything") == (None, 0.0)


def test_rouge_threshold_rejects_near_copies_only():
    seeds = [s for s in load_seeds("builtin")[0]][:6]
    boot = Bootstrap(SECTION, seeds, load_strategy("self-instruct"), 0)
    copy = seeds[0].instruction.replace("weekend", "summer")
    reason, similar, score = boot.judge(copy)
    assert reason == "too_similar" and similar == seeds[0].instruction and score > 0.7
    reason, similar, score = boot.judge("Explain how vaccines train the immune system to fight infections.")
    assert reason is None and score <= 0.7
    boot.accept("Explain how vaccines train the immune system to fight infections.")
    reason, similar, _ = boot.judge("Explain how vaccines train the immune system to fight disease.")
    assert reason == "too_similar" and similar.startswith("Explain how vaccines")  # accepted items count


@pytest.mark.parametrize("text,reason", [
    ("", "empty"),
    ("Hi there", "too_short"),
    ("word " * 151, "too_long"),
    ("- List three rivers in Africa.", "starts_with_punctuation"),
    ("¿Qué hora es en Madrid ahora?", "non_ascii_start"),
    ("Draw a map of your neighbourhood.", "keyword:map"),
    ("Describe the image below in detail.", "keyword:image"),
    ("Plot the data as a bar chart.", "keyword:plot"),
    ("Summarize the file in two sentences.", "keyword:file"),
    ("Name three rivers in Africa.", None),
    ("Explain why the mapping between keys and values matters.", None),  # "map" only as a whole word
])
def test_length_and_keyword_filters(text, reason):
    assert check_instruction(text.strip() if text.strip() else text, SECTION) == reason


def test_parse_proposal_and_instances():
    assert parse_proposal("Task 9: Name three rivers in Africa.\nTask 10: Something else") == \
        "Name three rivers in Africa."
    assert parse_proposal("Here is a new task:\n\n1. Give two synonyms for happy.") == "Give two synonyms for happy."
    assert parse_proposal("**Task 9:** Write a limerick about cats. Task 10: more") == "Write a limerick about cats."
    assert parse_proposal("") == ""
    assert parse_instance("Input: 5 km\nOutput: 3.1 miles", False) == {"input": "5 km", "output": "3.1 miles"}
    assert parse_instance("None\nOutput: Rise and Crust", False) == {"input": "", "output": "Rise and Crust"}
    assert parse_instance("just some words", False) is None
    assert parse_instance("Class label: positive\nInput: I loved it.", True) == \
        {"input": "I loved it.", "output": "positive"}
    assert parse_instance("negative\nInput: Cold soup.\nClass label: positive", True) == \
        {"input": "Cold soup.", "output": "negative"}
    assert parse_instance("Input: no label first", True) is None


def test_seeds_builtin_and_user_file():
    seeds, problems = load_seeds("builtin")
    assert len(seeds) >= 20 and not problems
    assert len({s.instruction for s in seeds}) == len(seeds)
    assert any(s.is_classification for s in seeds) and any(not s.is_classification for s in seeds)
    assert all(check_instruction(s.instruction, Section(n=1)) is None for s in seeds)
    user, problems = load_seeds(str(FIXTURES / "seeds_small.jsonl"))
    assert len(user) == 4 and [p.where for p in problems] == [f"{FIXTURES / 'seeds_small.jsonl'}:5"]


def test_context_holds_six_seeds_and_up_to_two_machine_items():
    seeds = load_seeds("builtin")[0]
    boot = Bootstrap(SECTION, seeds, load_strategy("self-instruct"), 0)
    seed_texts = {s.instruction for s in seeds}
    ctx = boot.context(random.Random(1))
    assert len(ctx) == 6 and set(ctx) <= seed_texts
    boot.accept("Name a fruit that is yellow.")
    ctx = boot.context(random.Random(1))
    assert len(ctx) == 7 and "Name a fruit that is yellow." in ctx
    for t in ("Give an example of a mammal that swims.", "Spell the word necessary backwards."):
        boot.accept(t)
    ctx = boot.context(random.Random(2))
    assert len(ctx) == 8 and len(set(ctx) - seed_texts) == 2


def si_config(**over):
    data = {"name": "si-test", "generator": "self_instruct", "model": "default",
            "sampling": {"temperature": 0.9, "top_p": 0.95, "max_tokens": 40}, "seeds": [0],
            "self_instruct": {"n": 5, "round_size": 2, "max_attempts": 4}}
    data.update(over)
    return parse_config(data)


def test_self_instruct_run_filters_and_provenance(engine, tmp_path):
    cfg = si_config()
    res = generate(cfg, tmp_path / "run", backend=engine)
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert res.n_total == 5 and 1 <= len(recs) <= 5 and len(res.steps) >= 4  # rounds, not one batch
    assert len({r.id for r in recs}) == len(recs)
    # a slot that gave up writes nothing; the slots of one pool count as done together
    assert res.n_unfinished == (5 if len(recs) < 5 else 0)
    seeds = [s.instruction for s in load_seeds("builtin")[0]]
    accepted = sorted(recs, key=lambda r: r.meta["accepted_rank"])
    for n, r in enumerate(accepted):
        m, p = r.meta, r.provenance
        assert r.origin == "llm" and check_instruction(r.instruction, Section(n=1)) is None
        earlier = seeds + [x.instruction for x in accepted[:n]]
        # the recorded most-similar item and score are those of the pool at acceptance time
        assert m["most_similar"] in earlier and m["rouge_l"] <= 0.7
        item, score = RougePool(earlier).most_similar(r.instruction)
        assert m["rouge_l"] == pytest.approx(round(score, 4)) and m["most_similar"] == item
        assert isinstance(m["is_classification"], bool) and m["attempts"] == len(m["rejected"]) + 1
        assert all(x["reason"] for x in m["rejected"])
        machine = [c for c in m["context"] if c not in seeds]
        assert 6 <= len(m["context"]) <= 8 and len(machine) <= 2
        assert set(machine) <= {x.instruction for x in accepted}
        assert p.generator == "self_instruct" and p.strategy == "self-instruct" and p.seed == 0
        assert p.usage.completion_tokens > 0 and p.engine_version.startswith("vllm")
        if m["instance_parsed"]:
            assert r.output
    errors = [json.loads(x) for x in (tmp_path / "run" / "errors.jsonl").read_text().splitlines()]
    assert not errors
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["n_records"] == len(recs)
