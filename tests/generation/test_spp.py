"""SPP: the transcript parser on hand-written outputs, the task scorers, and a real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactual.agents.spp import parse_spp, parse_spp_transcript, transcript_to_conversation
from artifactual.config import parse_config
from artifactual.generation.run import generate
from artifactual.generation.tasks import (get_task_set, load_tasks, score_codenames, score_logic_grid,
                                          score_trivia)
from artifactual.records import record_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"

GOOD = """Participants: AI Assistant (you); Botanist; **Chef**

Start collaboration!

Botanist: Basil needs warmth and six hours of sun.
Chef: Then the kitchen window
facing south works best.
**AI Assistant (you):** Agreed, the south window.
Finish collaboration!

Final answer: Put the basil on the south-facing kitchen window."""


def test_parser_reads_participants_turns_and_answer():
    t = parse_spp(GOOD)
    assert t.parsed_ok and t.final_answer == "Put the basil on the south-facing kitchen window."
    assert t.participants == ["AI Assistant", "Botanist", "Chef"]
    assert [(s.name, s.role) for s in t.speakers] == [("AI Assistant", "assistant"), ("Botanist", "persona"),
                                                      ("Chef", "persona")]
    assert [x.speaker for x in t.turns] == ["Botanist", "Chef", "AI Assistant"]
    assert t.turns[1].content == "Then the kitchen window\nfacing south works best."  # a turn spans lines
    assert t.turns[2].content == "Agreed, the south window."
    assert all(x.meta["listed"] for x in t.turns) and not t.problems and not t.unlisted
    assert [x.index for x in t.turns] == [0, 1, 2]
    speakers, turns, answer, ok = parse_spp_transcript(GOOD)
    assert (len(speakers), len(turns), answer, ok) == (3, 3, t.final_answer, True)


def test_text_after_finish_collaboration_belongs_to_no_turn():
    text = GOOD.replace("Finish collaboration!", "Finish collaboration!\nWe are done here.")
    assert [x.content for x in parse_spp(text).turns] == [x.content for x in parse_spp(GOOD).turns]


def test_parser_without_final_answer():
    t = parse_spp(GOOD.rsplit("Final answer", 1)[0])
    assert not t.parsed_ok and t.final_answer is None
    assert len(t.turns) == 3  # the dialogue is still parsed
    assert any("Final answer" in p for p in t.problems)
    empty = parse_spp(GOOD.rsplit(":", 1)[0] + ":   ")
    assert not empty.parsed_ok and any("empty" in p for p in empty.problems)


def test_parser_keeps_a_speaker_missing_from_the_participant_list():
    text = GOOD.replace("Chef: Then", "Gardener: Then")
    t = parse_spp(text)
    assert t.parsed_ok and t.unlisted == ["Gardener"]
    assert [x.speaker for x in t.turns] == ["Botanist", "Gardener", "AI Assistant"]
    assert t.turns[1].meta["listed"] is False
    assert "Gardener" in [s.name for s in t.speakers]
    assert any("'Gardener' is not in the participant list" in p for p in t.problems)


def test_parser_profile_block_and_label_lines_are_not_speakers():
    text = ("Participants:\n- AI Assistant (you): keeps notes\n- Historian: knows Roman history\n\n"
            "Historian: Caesar crossed the Rubicon in 49 BC.\nNote: this started a civil war.\n"
            "Step 2: check the year.\nAI Assistant (you): So the year is 49 BC.\n"
            "Final answer: 49 BC")
    t = parse_spp(text)
    assert [(s.name, s.persona) for s in t.speakers] == [("AI Assistant", "keeps notes"),
                                                         ("Historian", "knows Roman history")]
    assert [x.speaker for x in t.turns] == ["Historian", "AI Assistant"]
    assert "Note: this started a civil war." in t.turns[0].content and "Step 2" in t.turns[0].content
    assert t.final_answer == "49 BC" and not t.problems


def test_parser_without_participant_list_and_garbage():
    t = parse_spp("Detective: The flutist is in house 2.\nFinal answer: 2")
    assert t.parsed_ok and t.final_answer == "2" and t.unlisted == ["Detective"]
    assert any("no participant list" in p for p in t.problems)
    g = parse_spp("I cannot help with that, sorry.")
    assert (g.turns, g.speakers, g.final_answer, g.parsed_ok) == ([], [], None, False)
    assert parse_spp("").parsed_ok is False


def test_single_voice_conversation():
    conv = transcript_to_conversation("x", "Step one.\nStep two.\nFinal answer: 3", personas=False)
    assert [s.name for s in conv.speakers] == ["AI Assistant"]
    assert [t.content for t in conv.turns] == ["Step one.\nStep two."]
    assert conv.outcome.answer == "3" and conv.outcome.parsed and conv.termination_reason == "final_answer"


def test_logic_grid_scorer():
    assert score_logic_grid("2", "The cat lives in house 2.") == (True, 1.0)
    assert score_logic_grid("2", "House 2, not house 3.") == (False, 0.0)
    assert score_logic_grid("1", "It is house 10.") == (False, 0.0)
    assert score_logic_grid("10", "It is house 10.") == (True, 1.0)
    assert score_logic_grid("3", "the third house") == (False, 0.0)
    assert score_logic_grid("3", "House 3 (of 12 in total)") == (True, 1.0)  # 12 is not in 1-10


def test_trivia_and_codenames_scorers():
    target = [["Pacific", "Pacific Ocean"], ["Mars"], ["carbon dioxide", "CO2"]]
    assert score_trivia(target, "They sailed the Pacific toward Mars.") == (False, pytest.approx(2 / 3))
    assert score_trivia(target, "pacific, mars and CO2") == (True, 1.0)
    assert score_trivia(target, "Marsh land") == (False, 0.0)  # whole words only
    board = {"board": ["wave", "piano", "shark", "desk", "tide"], "targets": ["wave", "shark", "tide"]}
    assert score_codenames(board, "wave, shark, tide") == (True, 1.0)
    assert score_codenames(board, "wave, piano, shark, tide") == (False, pytest.approx(2 / 3))  # first 3
    assert score_codenames(board, "Waves and whales") == (False, 0.0)


def test_task_loaders_and_bad_rows():
    items, problems = load_tasks("logic_grid", FIXTURES / "logic_grid.jsonl")
    assert [i.id for i in items] == ["0", "1", "2"] and [i.target for i in items] == ["2", "3", "1"]
    assert not items[0].question.endswith("A:") and not problems
    trivia, _ = load_tasks("trivia_creative_writing", FIXTURES / "trivia.jsonl")
    assert "3 questions" in trivia[0].question and trivia[0].target[2] == ["carbon dioxide", "CO2"]
    codes, _ = load_tasks("codenames", FIXTURES / "codenames.jsonl", limit=1)
    assert len(codes) == 1 and "sea" in codes[0].question
    _, bad = load_tasks("logic_grid", FIXTURES / "logic_grid_bad.jsonl")
    assert [p.where.rsplit(":", 1)[1] for p in bad] == ["2", "3"]
    assert "not valid JSON" in bad[0].message and "targets" in bad[1].message


def test_paper_transcripts_parse_like_the_release(shared_data):
    rows = [json.loads(x) for x in (shared_data / "llm-artifacts/simulation/spp_logic_grid_gpt4_200.jsonl"
                                    ).read_text().splitlines()]
    rows = [r for r in rows if "raw_response" in r]
    assert len(rows) >= 199
    for r in rows:
        t = parse_spp(r["raw_response"][0]["choices"][0]["message"]["content"])
        assert t.parsed_ok == r["parsing_success_flag"][0]
        assert t.final_answer == r["unwrapped_output"][0].strip()
        assert t.turns and not t.unlisted
        ok, _ = get_task_set("logic_grid").score(r["task_data"]["targets"][0], t.final_answer)
        assert ok == r["test_output_infos"][0]["correct"], r["idx"]


def spp_config(**over):
    data = {"name": "spp-test", "generator": "spp", "model": "default",
            "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 48},
            "strategies": ["spp", "spp-profile", "spp-fixed", "standard", "cot"], "seeds": [0],
            "spp": {"task": "logic_grid", "data": str(FIXTURES / "logic_grid.jsonl"), "limit": 2}}
    data.update(over)
    return parse_config(data)


def test_spp_run_structure_provenance_and_scoring(engine, tmp_path):
    res = generate(spp_config(), tmp_path / "run", backend=engine)
    assert res.n_total == 10 and res.steps[0].active == 10  # every unit in flight at once
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert sorted(r.id for r in recs) == sorted(f"{s}-s0-logic_grid-{i}" for s in
                                               ("spp", "spp-profile", "spp-fixed", "standard", "cot")
                                               for i in (0, 1))
    targets = {"0": "2", "1": "3"}
    for r in recs:
        o, p = r.outcome, r.provenance
        assert o.parsed == (o.answer is not None)
        assert r.termination_reason == ("final_answer" if o.parsed else "no_final_answer")
        expect = score_logic_grid(targets[r.meta["task_id"]], o.answer) if o.parsed else (False, 0.0)
        assert (o.correct, o.score) == expect
        again = parse_spp(r.meta["raw_output"])  # the stored output re-parses to the same record
        assert again.final_answer == o.answer
        assert r.source.format == "task:logic_grid" and r.source.line == int(r.meta["task_id"]) + 1
        assert p.generator == "spp" and p.strategy == r.id.split("-s0-")[0] and len(p.strategy_sha256) == 64
        assert p.model == "smollm2-135m-instruct" and p.backend == "vllm" and p.engine_version.startswith("vllm")
        assert p.usage.prompt_tokens > 0 and p.sampling.max_tokens == 48 and p.seed == 0
        if p.strategy in ("standard", "cot"):
            assert [s.name for s in r.speakers] == ["AI Assistant"] and len(r.turns) <= 1
        else:
            assert [t.speaker for t in r.turns] == [t.speaker for t in again.turns]
    assert len({r.provenance.strategy_sha256 for r in recs}) == 5


def test_spp_bad_rows_become_error_rows_and_the_rest_runs(engine, tmp_path):
    cfg = spp_config(strategies=["standard"], spp={"task": "logic_grid",
                                                   "data": str(FIXTURES / "logic_grid_bad.jsonl")})
    generate(cfg, tmp_path / "run", backend=engine)
    recs = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in recs] == ["standard-s0-logic_grid-0"]
    errors = [json.loads(x) for x in (tmp_path / "run" / "errors.jsonl").read_text().splitlines()]
    where = sorted(e["record_id"] for e in errors)
    assert where == [f"input:{FIXTURES / 'logic_grid_bad.jsonl'}:{n}" for n in (2, 3)]
    assert all("Fix:" in e["error"] for e in errors)
