"""SPP logs: the transcript parser, the reader on hand-written lines, and the paper's file."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from artifactual.readers import ErrorLog, read
from artifactual.readers.spp import parse_spp_transcript

SMALL = Path(__file__).parents[1] / "fixtures" / "spp" / "logic_grid_small.jsonl"
SPP_GPT4 = Path("llm-artifacts") / "simulation" / "spp_logic_grid_gpt4_200.jsonl"


def _small() -> tuple[dict, ErrorLog]:
    log = ErrorLog()
    return {c.source.line: c for c in read(SMALL, errors=log)}, log


def test_parser_personas_multiline_turns_and_final_answer() -> None:
    text = ("Participants: AI Assistant (you); Baker; Miller\n\n"
            "Baker: Flour first.\nThen water.\n"
            "Miller: Stone-ground is best.\n"
            "Step 1: sift it.\n"
            "AI Assistant (you): Agreed.\n\nFinish collaboration!\n\nFinal answer: bread")
    speakers, turns, final, ok = parse_spp_transcript(text)
    assert [(s.name, s.role) for s in speakers] == [
        ("AI Assistant", "assistant"), ("Baker", "persona"), ("Miller", "persona")]
    assert [(t.speaker, t.content) for t in turns] == [
        ("Baker", "Flour first.\nThen water."), ("Miller", "Stone-ground is best.\nStep 1: sift it."),
        ("AI Assistant", "Agreed."), ("AI Assistant", "bread")]
    assert [t.meta.get("line") for t in turns] == [3, 5, 7, None]
    assert turns[-1].meta["final_answer"] is True
    assert final == "bread" and ok is True


def test_parser_is_robust_to_missing_pieces() -> None:
    speakers, turns, final, ok = parse_spp_transcript(
        "Participants: AI Assistant (you); Baker\nBaker: hi\nCook: I was not listed.\n"
        "Note: still the cook.\nHouse 2: also the cook.")
    assert [s.name for s in speakers] == ["AI Assistant", "Baker", "Cook"]
    assert turns[-1].content == "I was not listed.\nNote: still the cook.\nHouse 2: also the cook."
    assert final is None and ok is False
    assert parse_spp_transcript("") == ([], [], None, False)
    speakers, turns, final, ok = parse_spp_transcript("Final answer: 4")
    assert final == "4" and ok is False and [t.speaker for t in turns] == ["AI Assistant"]


SPP_LINES = st.sampled_from([
    "Participants: AI Assistant (you); Baker", "Participants:", "Baker: knead", "Cook (you): hm",
    "Final answer: 7", "Final answer:", "Finish collaboration!", "**Baker**: bold", "", "House 1: x",
    "AI Assistant (you):", "Participants: ; ; (you)"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(SPP_LINES | st.text(max_size=40), max_size=14))
def test_parser_never_raises_on_garbage(lines: list[str]) -> None:
    speakers, turns, final, ok = parse_spp_transcript("\n".join(lines))
    assert {t.speaker for t in turns} <= {s.name for s in speakers}
    assert [t.index for t in turns] == list(range(len(turns)))
    assert len({s.name for s in speakers}) == len(speakers)
    assert not ok or (final is not None and len(turns) >= 2)


def test_reader_fields_outcome_and_provenance() -> None:
    convs, _ = _small()
    first = convs[1]
    assert first.id == "logic_grid_small:1" and first.source.format == "spp"
    assert first.task.startswith("Q: puzzle number 0")
    assert first.outcome.correct is True and first.outcome.answer == "2"
    assert first.outcome.parsed is True
    assert first.termination_reason == "finish_collaboration"
    assert "House 1: blue door\nHouse 2: red door" in first.turns[2].content
    prov = first.provenance
    assert (prov.generator, prov.strategy, prov.model) == ("spp", "spp", "demo-4")
    assert prov.usage.prompt_tokens == 900 and prov.sampling.max_tokens == 2000
    assert first.meta["targets"] == ["2"]


def test_reader_truncated_transcript_and_unlisted_persona() -> None:
    convs, _ = _small()
    cut = convs[2]
    assert cut.outcome.answer is None and cut.outcome.parsed is False
    assert cut.outcome.correct is False and cut.termination_reason == "max_tokens"
    assert [t.speaker for t in cut.turns] == ["Gardener", "Historian", "AI Assistant"]
    assert "Note: this persona was never listed." in cut.turns[1].content
    no_list = convs[7]
    assert no_list.outcome.answer == "house 3" and no_list.termination_reason == "final_answer"


def test_bad_lines_are_errors() -> None:
    _, log = _small()
    by_line = {e.line: e.message for e in log}
    assert sorted(by_line) == [3, 4, 5]
    assert by_line[3].startswith("an empty object")
    assert by_line[4].startswith("no transcript")
    assert "truncated" in by_line[5]


def test_paper_spp_gpt4_file_parses_every_nonempty_line(shared_data: Path) -> None:
    path = shared_data / SPP_GPT4
    lines = path.read_text(encoding="utf-8").splitlines()
    objs = {n: json.loads(x) for n, x in enumerate(lines, 1) if x.strip()}
    log = ErrorLog()
    convs = list(read(path, errors=log))
    readable = {n for n, o in objs.items() if o}
    assert {c.source.line for c in convs} == readable
    assert [e.line for e in log] == [n for n, o in objs.items() if not o]  # only empty objects
    assert all(c.outcome.parsed for c in convs)
    assert all(len({t.speaker for t in c.turns}) >= 2 for c in convs)
    expected = {n: o["test_output_infos"][0]["correct"] for n, o in objs.items() if o}
    assert {c.source.line: c.outcome.correct for c in convs} == expected
