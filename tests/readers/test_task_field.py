"""Task statements beside the chat: top-level fields, a named field, a system message that
states the task; and digression applies to such a corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactual.analysis import audit
from artifactual.errors import InputError
from artifactual.readers import ErrorLog, read
from artifactual.readers.task_field import system_task

TASKS = Path(__file__).parents[1] / "fixtures" / "recall" / "tasks.jsonl"


def _tasks(path: Path = TASKS, **options: object) -> dict[str, str | None]:
    return {c.id: c.task for c in read(path, errors=ErrorLog(), options=options)}


def test_openai_records_take_their_task_from_the_known_fields_and_a_system_message() -> None:
    got = _tasks()
    assert got == {"top": "Book a table for two in Lisbon on Friday.",
                   "meta": "Find a vegetarian restaurant near the station.",
                   "goal": "The user wants to rent a car in Porto for three days.",
                   "instr": "Summarise the attached article in three sentences.",
                   "system": "plan a three-day trip to Kyoto for a family.",
                   "persona": None, "custom": None}


def test_a_named_field_wins_and_may_be_nested() -> None:
    got = _tasks(task_field="objective.text")
    assert got["custom"] == "Compare three laptops under 800 euros for a student."
    assert got["top"] is None  # the named field only (its system message aside)
    assert got["system"] == "plan a three-day trip to Kyoto for a family."
    with pytest.raises(InputError, match="invalid task field"):
        _tasks(task_field="  ")


def test_sharegpt_and_dataset_rows_read_the_task_too(tmp_path: Path) -> None:
    share = tmp_path / "share.jsonl"
    share.write_text(json.dumps({"id": "s", "goal": "Fix the failing unit test.",
                                 "conversations": [{"from": "human", "value": "It fails."},
                                                   {"from": "gpt", "value": "Show me."}]}) + "\n")
    assert _tasks(share) == {"s": "Fix the failing unit test."}
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "d", "meta": {"objective": "Draft a cover letter."},
                                "chat": [{"role": "user", "content": "Help."},
                                         {"role": "assistant", "content": "Sure."}]}) + "\n")
    got = {c.id: c.task for c in read(rows, format="dataset", errors=ErrorLog(),
                                      options={"column": "chat", "task_field": "meta.objective"})}
    assert got == {"d": "Draft a cover letter."}


def test_system_task_needs_a_label_and_words() -> None:
    assert system_task("Your task is to write a haiku about rain.") == "write a haiku about rain."
    assert system_task("You are a helpful assistant.") is None
    assert system_task("Goal: x") is None  # too short to be a task


def test_digression_applies_to_records_with_a_task_field() -> None:
    result = audit(TASKS, detectors=["digression"])
    assert "digression" not in result.summary["not_applicable"]
    assert result.summary["n_applicable"]["digression"] >= 5
    named = audit(TASKS, detectors=["digression"], task_field="objective.text")
    assert named.conversations.set_index("conversation_id").loc["custom", "task"].startswith("Compare")
