"""Hypothesis-generated garbage into every reader: it never crashes, every bad line becomes
an error row naming that line, and a good item in the same file is still read."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifactual.readers import ErrorLog, available_formats, read
from artifactual.records import Conversation, Speaker, Turn, record_to_json

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
GOOD_TRACE, OTHER_TRACE = "f" * 32, "0" * 32


def _attr(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


GOOD: dict[str, Any] = {
    "openai": {"id": "good", "messages": [{"role": "system", "content": "Be kind."},
                                          {"role": "user", "name": "Ann", "content": "Hi there"},
                                          {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}]},
    "sharegpt": {"id": "good", "conversations": [{"from": "human", "value": "Hi there"},
                                                 {"from": "gpt", "value": "Hello"}]},
    "camel": {"id": "good", "role_1": "Cook_ASSISTANT", "role_2": "Host_USER", "original_task": "Dinner",
              "message_1": {"role_name": "Host", "role_type": "USER", "content": "Instruction: cook"},
              "message_2": {"role_name": "Cook", "role_type": "ASSISTANT", "content": "Solution: done"}},
    "records": json.loads(record_to_json(Conversation(
        id="good", speakers=[Speaker(name="Ann", role="user")],
        turns=[Turn(index=0, speaker="Ann", content="Hi there")]))),
    "spp": {"idx": 0, "raw_response": [{"choices": [{"finish_reason": "stop", "message": {
        "content": "Participants: AI Assistant (you); Cook\nCook: Salt.\nAI Assistant (you): Yes.\n"
                   "Final answer: soup"}}]}], "test_output_infos": [{"correct": True}],
        "model": "m", "method": "spp", "task_data": {"inputs": "Q?", "targets": ["soup"]}},
    "autogen": [{"content": "Plan the meeting.", "role": "user", "name": "Chair"},
                {"content": "Agenda: one item. TERMINATE", "role": "user", "name": "Planner"}],
    "otel": {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": GOOD_TRACE, "spanId": "s1", "startTimeUnixNano": "5", "attributes": [
            _attr("gen_ai.agent.name", "helper"),
            _attr("gen_ai.input.messages", [{"role": "user", "parts": [{"type": "text", "content": "Hi there"}]}]),
            _attr("gen_ai.output.messages", [{"role": "assistant",
                                              "parts": [{"type": "text", "content": "Hello"}]}])]}]}]}]},
}
KEYS = ["messages", "role", "content", "name", "conversations", "from", "value", "raw_response",
        "choices", "message", "test_output_infos", "correct", "resourceSpans", "scopeSpans", "spans",
        "attributes", "key", "stringValue", "traceId", "spanId", "parentSpanId", "parts", "type",
        "text", "id", "kind", "role_type", "message_1", "gen_ai.input.messages", "tool_calls"]
LEAVES = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
          | st.floats(allow_nan=False) | st.text(max_size=20) | st.sampled_from(KEYS))
JSON_VALUES = st.recursive(
    LEAVES | st.builds(json.dumps, st.lists(st.dictionaries(st.sampled_from(KEYS), LEAVES), max_size=3)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5),
    max_leaves=25)


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, (*prefix, k))


@st.composite
def mutants(draw: st.DrawFn, good: Any) -> Any:
    """The good item with one subtree replaced by garbage or deleted."""
    obj = copy.deepcopy(good)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        paths = list(_paths(obj))
        strings = [p for p in paths if isinstance(_at(obj, p), str)]
        path = draw(st.sampled_from(strings if strings and draw(st.booleans()) else paths))
        if not path:
            return draw(JSON_VALUES)
        parent = _at(obj, path[:-1])
        action = draw(st.sampled_from(["replace", "delete", "text"]))
        if action == "delete":
            del parent[path[-1]]
        else:  # strings often hold JSON (OTel attributes): give them broken or odd JSON text
            parent[path[-1]] = draw(JSON_VALUES if action == "replace" else
                                    st.text(max_size=20) | st.builds(json.dumps, JSON_VALUES))
    return obj


def _at(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _lines(fmt: str, items: list[Any]) -> list[str]:
    out = [json.dumps(x) for x in items]
    if fmt == "otel":  # garbage must not join the good trace; it may still hold valid spans
        out = [x.replace(GOOD_TRACE, OTHER_TRACE) for x in out]
    return out


def _read_lines(fmt: str, lines: list[str]) -> tuple[list[Conversation], ErrorLog]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "garbage.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = ErrorLog()
        recs = list(read(path, format=fmt, errors=log))
    return [r for r in recs if isinstance(r, Conversation)], log


def _shape(conv: Conversation) -> list[tuple[str, str]]:
    return [(t.speaker, t.content) for t in conv.turns]


JSON_FORMATS = [f for f in available_formats() if f not in ("transcript", "chatdev")]


@pytest.mark.parametrize("fmt", sorted(GOOD))
def test_good_sample_reads_cleanly(fmt: str) -> None:
    convs, log = _read_lines(fmt, [json.dumps(GOOD[fmt])])
    assert len(log) == 0 and len(convs) == 1 and convs[0].turns


@pytest.mark.parametrize("fmt", JSON_FORMATS)
def test_garbage_lines_never_crash_and_good_line_is_read(fmt: str) -> None:
    """Formats with a sample in GOOD get the full check; any other registered format
    (its author's own tests cover its records) is checked for crashes and clear errors."""
    good = GOOD.get(fmt)
    good_shape = _shape(_read_lines(fmt, [json.dumps(good)])[0][0]) if good else None
    items_st = JSON_VALUES | mutants(good) if good else JSON_VALUES

    @SETTINGS
    @given(st.lists(items_st, min_size=1, max_size=6), st.lists(st.text(max_size=30), max_size=2))
    def check(items: list[Any], raw: list[str]) -> None:
        lines = [*([json.dumps(good)] if good else []), *_lines(fmt, items),
                 *(r.replace("\n", " ").replace("\r", " ") for r in raw)]
        convs, log = _read_lines(fmt, lines)
        assert all(e.message and e.fix for e in log)
        if good is None:
            return
        assert any(c.source.line == 1 and _shape(c) == good_shape for c in convs)
        covered = {c.source.line for c in convs} | {e.line for e in log}
        nonblank = {n for n, x in enumerate(lines, 1) if x.strip()}
        if fmt != "otel":  # an export may hold only non-GenAI spans, or join another line's trace
            assert nonblank <= covered, f"lines {sorted(nonblank - covered)} vanished"

    check()


@SETTINGS
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                        max_size=60), max_size=12),
       st.binary(max_size=40), st.sampled_from(["", r"^(?P<speaker>\w+)\s*[:>]\s*"]))
def test_transcript_garbage_never_crashes(lines: list[str], blob: bytes, pattern: str) -> None:
    opts = {"speaker_pattern": pattern} if pattern else None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "a_garbage.txt").write_text("\n".join(lines), encoding="utf-8")
        (d / "b_blob.txt").write_bytes(blob)
        (d / "c_good.txt").write_text("Ann: Hi there\nBob: Hello\n  and welcome\n", encoding="utf-8")
        log = ErrorLog()
        convs = [c for c in read(d, format="transcript", errors=log, options=opts)
                 if isinstance(c, Conversation)]
        auto = list(read(d, errors=ErrorLog(), options=opts))  # sniffing must not crash either
    good = [c for c in convs if c.id == "c_good"]
    assert len(good) == 1 and _shape(good[0]) == [("Ann", "Hi there"), ("Bob", "Hello\n  and welcome")]
    assert any(getattr(c, "id", None) == "c_good" for c in auto)
    assert all(e.message and e.fix for e in log)


CHATDEV_LINES = ["[2023-06-10 21:00:47 INFO] System: **[chatting]**", "| **phase_name** | Coding |",
                 "| **chat_turn_limit** | x |", "[2023-06-10 21:00:47 INFO] Ann: **[Start Chat]**",
                 "[2023-06-10 21:00:47 INFO] Ann: **Bob<->Ann on : Coding, turn 0**",
                 "[2023-06-10 21:00:47 INFO] **[Seminar Conclusion]**:", "[You are Bob.", "]",
                 "<INFO> done", "[2023-06-10 21:00:47 INFO] **[Preprocessing]**", "**task_prompt**:"]


@SETTINGS
@given(st.lists(st.sampled_from(CHATDEV_LINES) | st.text(max_size=40), max_size=25))
def test_chatdev_garbage_never_crashes(lines: list[str]) -> None:
    """ChatDev-like lines in any order: conversations or error rows (with a line and a fix),
    and the real log beside them is still read whole."""
    real = Path(__file__).parents[1] / "fixtures" / "chatdev" / "space_invasion_2023-10.log"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "a_garbage.log").write_text("\n".join(["[2023-06-10 21:00:47 INFO] **[Preprocessing]**",
                                                    *lines]), encoding="utf-8")
        (d / "b_real.log").write_bytes(real.read_bytes())
        log = ErrorLog()
        convs = [c for c in read(d, format="chatdev", errors=log) if isinstance(c, Conversation)]
    assert [c.meta["phase"] for c in convs if c.source.path.endswith("b_real.log")] == [
        "DemandAnalysis", "LanguageChoose", "Coding", "CodeReviewComment"]
    assert all(e.message and e.fix for e in log)
    assert all(c.turns for c in convs)


MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string()), ("name", pa.string())])


@SETTINGS
@given(st.lists(st.none() | st.lists(st.none() | st.fixed_dictionaries(
    {"role": st.none() | st.sampled_from(["user", "assistant", "", " ", "tool"]) | st.text(max_size=5),
     "content": st.none() | st.text(max_size=10), "name": st.none() | st.text(max_size=5)}),
    max_size=4), min_size=1, max_size=8), st.binary(max_size=60))
def test_dataset_garbage_rows_never_crash(chats: list[Any], blob: bytes) -> None:
    """Parquet rows with odd chats: each row is a conversation or an error row naming its
    row number; a broken file beside it is one error."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        table = pa.table({"id": [f"r{i}" for i in range(len(chats))],
                          "messages": pa.array(chats, type=pa.list_(MESSAGE))})
        pq.write_table(table, d / "a.parquet")
        (d / "b.parquet").write_bytes(blob)
        log = ErrorLog()
        convs = list(read(d, format="dataset", errors=log))
    assert all(e.message and e.fix for e in log)
    rows = {c.source.line for c in convs} | {e.line for e in log if e.path.endswith("a.parquet")}
    assert rows == set(range(1, len(chats) + 1))
    assert sum(e.path.endswith("b.parquet") for e in log) == 1


OTEL_KEYS = ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
             "gen_ai.prompt", "gen_ai.completion", "gen_ai.prompt.0.content",
             "gen_ai.completion.0.tool_calls.0.name", "gen_ai.agent.name", "gen_ai.conversation.id"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(OTEL_KEYS),
                          st.text(max_size=20) | st.builds(json.dumps, JSON_VALUES) | JSON_VALUES),
                min_size=1, max_size=4))
def test_otel_garbage_attribute_values(pairs: list[tuple[str, Any]]) -> None:
    """GenAI attributes holding broken JSON, odd shapes or odd types: an error row or a
    conversation for the bad span, and the good span is still read."""
    bad = copy.deepcopy(GOOD["otel"])
    span = bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"] = [a for a in span["attributes"] if a["key"] not in dict(pairs)]
    span["attributes"] += [{"key": k, "value": {"stringValue": v} if isinstance(v, str) else v}
                           for k, v in pairs]
    convs, log = _read_lines("otel", [json.dumps(GOOD["otel"]), *_lines("otel", [bad])])
    assert any(c.id == GOOD_TRACE and c.source.line == 1 for c in convs)
    assert all(e.message and e.fix for e in log)
