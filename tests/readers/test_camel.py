"""CAMEL and project-records readers: parsing, ordering, ids, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactual.errors import InputError
from artifactual.readers import ERROR_COLUMNS, ErrorLog, available_formats, read
from artifactual.records import Conversation, Provenance, Speaker, Turn, record_to_json

CAMEL = Path(__file__).parents[1] / "fixtures" / "camel"


def test_reads_a_directory_sorted_with_ids_and_sources() -> None:
    convs = list(read(CAMEL / "good"))
    assert [c.id for c in convs] == ["beekeeper_numeric", "garden_clean", "garden_flips"]
    for c in convs:
        assert c.source is not None and c.source.format == "camel"
        assert c.source.line is None and c.source.path.endswith(f"{c.id}.json")


def test_fields_speakers_and_role_suffixes() -> None:
    clean = next(read(CAMEL / "good" / "garden_clean.json"))
    assert clean.task == "Plan a shade garden"
    assert clean.specified_task.startswith("Design a shade-tolerant border")
    assert clean.termination_reason == "<CAMEL_TASK_DONE>"
    assert [(s.name, s.role) for s in clean.speakers] == [("Botanist", "assistant"),
                                                          ("Gardener", "user")]
    assert [t.speaker for t in clean.turns[:2]] == ["Gardener", "Botanist"]
    assert clean.role_of("Gardener") == "user"
    plain = next(read(CAMEL / "good" / "garden_flips.json"))  # names without suffixes
    assert {s.name: s.role for s in plain.speakers} == {"Botanist": "assistant",
                                                        "Gardener": "user"}
    assert next(read(CAMEL / "good" / "beekeeper_numeric.json")).termination_reason is None


def test_messages_are_ordered_numerically() -> None:
    bee = next(read(CAMEL / "good" / "beekeeper_numeric.json"))
    keys = [t.meta["key"] for t in bee.turns]
    assert keys == [f"message_{n}" for n in range(1, 12)]  # message_10 after message_9
    assert [t.index for t in bee.turns] == list(range(11))
    assert "step 9" in bee.turns[8].content and "step 10" in bee.turns[9].content
    assert "<CAMEL_TASK_DONE>" in bee.turns[10].content


def test_bad_files_give_one_clear_error_each_and_good_files_are_read() -> None:
    log = ErrorLog()
    convs = list(read(CAMEL / "bad", errors=log))
    assert [c.id for c in convs] == ["good_orchard"]
    by_file = {Path(e.path).name: e for e in log}
    assert sorted(by_file) == ["empty_dialogue.json", "missing_content.json",
                               "missing_role_type.json", "truncated.json"]
    assert len(log) == 4
    assert "truncated" in by_file["truncated.json"].message
    assert by_file["truncated.json"].line is not None
    assert "empty dialogue" in by_file["empty_dialogue.json"].message
    assert "message_1" in by_file["missing_role_type.json"].message
    assert "'role_type'" in by_file["missing_role_type.json"].message
    assert "message_2" in by_file["missing_content.json"].message
    assert "'content'" in by_file["missing_content.json"].message
    assert all(e.fix for e in log)
    assert by_file["empty_dialogue.json"].record_id == "empty_dialogue"


def test_without_a_log_the_first_bad_item_raises() -> None:
    with pytest.raises(InputError) as info:
        list(read(CAMEL / "bad"))
    assert "empty_dialogue.json" in str(info.value)
    assert info.value.fix


def test_jsonl_line_numbers_in_ids_sources_and_errors() -> None:
    log = ErrorLog()
    convs = list(read(CAMEL / "jsonl" / "allotment.jsonl", errors=log))
    assert [c.id for c in convs] == ["mulch-1", "allotment:4"]
    assert [c.source.line for c in convs] == [1, 4]
    assert [e.line for e in log] == [2, 3, 5]
    assert "empty dialogue" in log[1].message and log[1].record_id == "allotment:3"
    assert "'content'" in log[2].message
    frame = log.to_frame()
    assert list(frame.columns) == list(ERROR_COLUMNS) and len(frame) == 3


def test_error_log_frame_has_columns_when_empty() -> None:
    frame = ErrorLog().to_frame()
    assert list(frame.columns) == ["path", "line", "record_id", "message", "fix"]
    assert frame.empty


def test_unknown_format_names_the_file_and_lists_formats(tmp_path: Path) -> None:
    odd = tmp_path / "weather.json"
    odd.write_text(json.dumps({"temperature": 12}))
    with pytest.raises(InputError) as info:
        list(read(odd))
    assert "weather.json" in str(info.value)
    for name in ("camel", "records"):
        assert name in str(info.value)
    with pytest.raises(InputError) as info:
        read(odd, format="nonesuch")
    assert "nonesuch" in str(info.value) and "camel" in str(info.value)
    assert {"camel", "records"} <= set(available_formats())


def test_missing_path_raises_at_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "absent")


def test_explicit_format_skips_sniffing(tmp_path: Path) -> None:
    src = (CAMEL / "good" / "garden_clean.json").read_text()
    (tmp_path / "dialogue.json").write_text(src)
    assert next(read(tmp_path / "dialogue.json", format="camel")).id == "dialogue"


def _conv(i: int) -> Conversation:
    return Conversation(
        id=f"run-{i}", task="Water the seedlings",
        speakers=[Speaker(name="Grower", role="user"), Speaker(name="Helper", role="assistant")],
        turns=[Turn(index=0, speaker="Grower", content="Instruction: water them\nInput: None"),
               Turn(index=1, speaker="Helper", content="Solution: twice a week. Next request.")],
        provenance=Provenance(generator="roleplay", strategy="camel", model="tiny",
                              backend="vllm"))


def test_run_directory_reads_only_records_and_sets_source(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"config": {}}))
    lines = [record_to_json(_conv(0)), '{"kind": "conversation", "id": 5', "",
             json.dumps({"kind": "conversation", "turns": []}), record_to_json(_conv(1))]
    (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    log = ErrorLog()
    convs = list(read(run, errors=log))
    assert [c.id for c in convs] == ["run-0", "run-1"]
    assert convs[1].source.format == "records" and convs[1].source.line == 5
    assert convs[0].provenance.strategy == "camel"
    assert [e.line for e in log] == [2, 4]
    assert "id" in log[1].message  # the missing field is named
    # a parent directory of run directories reads each of them
    assert [c.id for c in read(tmp_path, errors=ErrorLog())] == ["run-0", "run-1"]


def test_json_list_and_jsonl_inside_a_json_file(tmp_path: Path) -> None:
    one = json.loads((CAMEL / "good" / "garden_clean.json").read_text())
    (tmp_path / "many.json").write_text(json.dumps([one, one]))
    assert [c.id for c in read(tmp_path / "many.json")] == ["many#1", "many#2"]
    (tmp_path / "lines.json").write_text(json.dumps(one) + "\n" + json.dumps(one) + "\n")
    convs = list(read(tmp_path / "lines.json"))
    assert [c.id for c in convs] == ["lines:1", "lines:2"] and convs[1].source.line == 2
