"""The judge's requests and answer parsing (no engine): what reaches the model, and how a
reply becomes a verdict with evidence or an error row."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from artifactual.cli import app
from artifactual.config import JudgeConfig, load_judge_config
from artifactual.errors import ConfigError
from artifactual.generation.backends.base import ChatRequest, ChatResult, request_key
from artifactual.generation.judge import (JUDGE_SCHEMA, judge_request, parse_answer, render_transcript,
                                          to_judgment)
from artifactual.records import Conversation, Provenance, Speaker, Turn

CONV = Conversation(
    id="garden", task="Plan a shady vegetable bed.",
    speakers=[Speaker(name="Homeowner", role="user"), Speaker(name="Gardener", role="assistant")],
    turns=[Turn(index=0, speaker="Homeowner", content="Instruction: list crops that like shade."),
           Turn(index=1, speaker="Gardener", content="Solution: lettuce, chard and  mint. " + "x" * 900),
           Turn(index=2, speaker="Homeowner", content="By the way, did you watch the match last night?")])
PROV = Provenance(generator="judge", model="m", backend="openai")


def test_request_shows_numbered_turns_roles_task_and_asks_for_json():
    cfg = JudgeConfig(max_turn_chars=80)
    req = judge_request(CONV, "digression", cfg)
    user = req.messages[1]["content"]
    assert "[0] Homeowner (user): Instruction: list crops" in user
    assert "[2] Homeowner (user): By the way" in user
    assert "lettuce, chard and mint." in user and "x" * 100 not in user and "[...]" in user
    assert "Plan a shady vegetable bed." in user and "digress" in user and '"occurs"' in user
    assert req.json_schema == JUDGE_SCHEMA and req.sampling == cfg.sampling
    other = judge_request(CONV, "role_adherence", cfg)
    assert other.messages[1]["content"] != user  # the question differs per artifact
    assert judge_request(CONV, "digression", cfg.model_copy(update={"structured": False})).json_schema is None
    short = render_transcript(CONV, max_turns=2)
    assert "[2]" not in short and "1 more turns not shown" in short


def test_schema_is_part_of_the_cache_key_only_when_set():
    base = ChatRequest(messages=[{"role": "user", "content": "hi"}])
    assert request_key("m", base) != request_key("m", base.model_copy(update={"json_schema": JUDGE_SCHEMA}))
    assert request_key("m", base) == request_key("m", ChatRequest(messages=[{"role": "user", "content": "hi"}]))


@pytest.mark.parametrize("text, occurs, repaired", [
    ('{"occurs": true, "turn": 2, "quote": "watch the match"}', True, False),
    ('Here you go:\n```json\n{"occurs": false, "turn": null, "quote": ""}\n```', False, False),
    ('{"occurs": true, "turn": 2, "quote": "did you watch the ma', True, True),
    ('{"occurs": true, "turn": 2, "quo', True, True),
])
def test_parse_answer_reads_exact_embedded_and_cut_off_json(text, occurs, repaired):
    obj, problem = parse_answer(text)
    assert problem is None and obj["occurs"] is occurs
    assert bool(obj.get("repaired")) is repaired


@pytest.mark.parametrize("text, problem", [
    ("Yes, turn 2 digresses.", "no JSON object"),
    ('{"', "could not be read"),
    ('{"turn": 2, "quote": "x"}', "no true/false 'occurs'"),
    ('{"occurs": "perhaps"}', "no true/false 'occurs'"),
])
def test_unusable_answers_are_error_rows_never_a_no(text, problem):
    j = to_judgment(CONV, "digression", ChatResult(text=text), PROV)
    assert j.verdict is None and problem in j.error and j.raw == text
    assert j.id == "garden::digression" and j.provenance == PROV


def test_failed_request_is_an_error_row():
    j = to_judgment(CONV, "digression", ChatResult(error="HTTP 500: boom"), PROV)
    assert j.verdict is None and j.error == "request failed: HTTP 500: boom"


def test_evidence_quote_is_checked_against_the_cited_turn():
    said = lambda turn, quote: to_judgment(  # noqa: E731
        CONV, "digression", ChatResult(text=f'{{"occurs": true, "turn": {turn}, "quote": "{quote}"}}'), PROV)
    hit = said(2, "Did you WATCH the  match")
    assert (hit.verdict, hit.evidence_turn, hit.quote_found) == (True, 2, True)
    assert said(1, "did you watch the match").quote_found is False  # right words, wrong turn
    assert said(7, "did you watch the match").quote_found is False  # no such turn
    assert said("null", "").quote_found is None and said("null", "").evidence_quote is None
    assert to_judgment(CONV, "digression", ChatResult(text='{"occurs": "yes", "turn": "[2]"}'),
                       PROV).evidence_turn == 2


def test_judge_config_rejects_unknown_fields_and_artifacts(tmp_path):
    path = tmp_path / "judge.yaml"
    path.write_text("backend: openai\nartifacts: [digression, vibes]\n")
    with pytest.raises(ConfigError, match=r"line 2, artifacts\.1"):
        load_judge_config(path)
    path.write_text("backend: openai\ntemperature: 0\n")
    with pytest.raises(ConfigError, match="temperature: Extra inputs"):
        load_judge_config(path)
    shipped = load_judge_config("configs/judge.yaml")
    assert shipped.artifacts == ["digression", "role_adherence"] and shipped.sampling.temperature == 0.0


def test_cli_judge_sample_needs_judge(tmp_path):
    out = CliRunner().invoke(app, ["audit", "tests/fixtures/camel/good", "--out", str(tmp_path),
                                   "--judge-sample", "3"])
    assert out.exit_code == 2 and "--judge-sample needs --judge" in out.output
    out = CliRunner().invoke(app, ["audit", "tests/fixtures/camel/good", "--out", str(tmp_path),
                                   "--judge-taxonomy"])
    assert out.exit_code == 2 and "--judge-taxonomy needs --judge" in out.output
    bad = tmp_path / "judge.yaml"
    bad.write_text("backend: nowhere\n")
    out = CliRunner().invoke(app, ["audit", "tests/fixtures/camel/good", "--out", str(tmp_path / "o"),
                                   "--judge", str(bad)])
    assert out.exit_code == 2 and "backend" in out.output
    assert not (tmp_path / "o").exists()  # checked before any audit work


def test_judge_reads_the_audit_tables_and_skips_format_failures():
    import pandas as pd

    from artifactual.analysis.tables import to_frames
    from artifactual.judging import _population, conversations_from_tables

    empty = Conversation(id="empty", task="Nothing to see.")
    broken = CONV.model_copy(update={"id": "broken"})
    turns, conversations = to_frames([CONV, empty, broken])
    conversations["format_failure"] = pd.array([False, False, True], dtype="boolean")
    population, excluded = _population(conversations)
    assert list(population["conversation_id"]) == ["garden"]
    assert excluded == {"no_turns": 1, "format_failure": 1}
    rebuilt = conversations_from_tables(turns, population)["garden"]
    assert rebuilt.task == CONV.task
    assert [(t.index, t.speaker, t.content) for t in rebuilt.turns] == \
        [(t.index, t.speaker, t.content) for t in CONV.turns]
    assert {s.name: s.role for s in rebuilt.speakers} == {"Homeowner": "user", "Gardener": "assistant"}
    assert render_transcript(rebuilt) == render_transcript(CONV)


def test_a_failure_mode_is_asked_in_the_projects_own_words():
    from artifactual.config import JudgeConfig
    from artifactual.generation.judge import judge_request
    from artifactual.records import Conversation, Speaker, Turn
    from artifactual.taxonomy import MODES

    conv = Conversation(id="c", task="Plan a picnic.", speakers=[Speaker(name="A", role="user")],
                        turns=[Turn(index=0, speaker="A", content="Let us plan it.")])
    for mode in MODES:
        user = judge_request(conv, mode.id, JudgeConfig()).messages[1]["content"]
        assert f"Does this failure occur: {mode.label}? {mode.definition}" in user
        assert "[0] A (user): Let us plan it." in user
    digression = judge_request(conv, "digression", JudgeConfig()).messages[1]["content"]
    assert "Does this failure occur" not in digression and "digress" in digression
