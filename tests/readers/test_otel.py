"""OpenTelemetry GenAI spans (OTLP/JSON): grouping, ordering, history de-duplication."""

from __future__ import annotations

import json
from pathlib import Path

from artifactual.readers import ErrorLog, read
from artifactual.readers.otel import any_value

DIR = Path(__file__).parents[1] / "fixtures" / "otel"


def _read(name: str) -> tuple[dict, ErrorLog]:
    log = ErrorLog()
    return {c.id: c for c in read(DIR / name, errors=log)}, log


def test_any_value_decodes_otlp_json() -> None:
    assert any_value({"stringValue": "x"}) == "x"
    assert any_value({"intValue": "42"}) == 42
    assert any_value({"doubleValue": 0.5}) == 0.5
    assert any_value({"arrayValue": {"values": [{"boolValue": True}]}}) == [True]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"intValue": 1}}]}}) == {"k": 1}


def test_spans_grouped_by_conversation_id_across_traces_in_time_order() -> None:
    convs, _ = _read("agents.json")
    assert sorted(convs) == ["c" * 32, "picnic-1"]
    conv = convs["picnic-1"]
    assert [(t.speaker, t.content) for t in conv.turns] == [
        ("system", "You plan outings."),
        ("user", "Plan a picnic for six people."),
        ("planner", "Pick a shady park near the river."),
        ("user", "What about food?"),
        ("planner", '[tool call] weather({"city":"Porto"})'),
        ("tool", "sunny, 24C"),
        ("planner", "Bring sandwiches, fruit and lemonade."),
        ("user", "Critic, any concerns?"),
        ("critic", "Sandwiches are fine; add water for the heat."),
    ]
    assert [t.index for t in conv.turns] == list(range(9))
    assert conv.meta["trace_ids"] == ["a" * 32, "b" * 32] and conv.meta["model"] == "demo-chat"
    assert conv.turns[2].meta == {"role": "assistant", "span_id": "a002", "side": "output",
                                  "finish_reason": "stop"}
    # the agent span around the chat spans is skipped: its "Done planning." is not read twice
    assert all("Done planning" not in t.content for t in conv.turns)
    assert {s.name: s.role for s in conv.speakers}["critic"] == "assistant"
    assert conv.source.format == "otel" and conv.source.path == str(DIR / "agents.json")


def test_older_prompt_completion_attributes_json_and_flattened() -> None:
    conv = _read("agents.json")[0]["c" * 32]
    assert [(t.speaker, t.content) for t in conv.turns] == [
        ("user", "Name a prime."), ("assistant", "7"), ("user", "Another?"), ("assistant", "11")]


def test_a_span_with_broken_messages_is_an_error_and_the_rest_is_read() -> None:
    _, log = _read("agents.json")
    assert len(log) == 1
    err = log[0]
    assert err.record_id == "c003" and "gen_ai.input.messages is not valid JSON" in err.message
    assert err.fix


def test_collector_jsonl_groups_lines_dedups_spans_and_keeps_real_repeats() -> None:
    convs, log = _read("collector.jsonl")
    conv = convs["d" * 32]
    assert conv.source.line == 1
    assert [(t.speaker, t.content) for t in conv.turns] == [
        ("user", "Hello there"), ("assistant", "Hi! How can I help?"),
        ("user", "Hello there"), ("assistant", "Hi! How can I help?")]
    assert [(e.line, e.message) for e in log] == [
        (2, "not an OTLP/JSON trace export: no 'resourceSpans'"),
        (3, "resourceSpans[0].scopeSpans[1] has no 'spans' list")]


def test_export_without_genai_messages_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "http_only.json"
    span = {"traceId": "e" * 32, "spanId": "e1", "name": "GET /",
            "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]}
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    log = ErrorLog()
    assert list(read(path, errors=log)) == []
    assert len(log) == 1 and "no GenAI spans with messages" in log[0].message
