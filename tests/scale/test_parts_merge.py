"""The merged view of a sharded run: parts -> records.jsonl, without Ray."""

from __future__ import annotations

import json

from artifactual.generation.store import RunStore
from artifactual.records import Text

CONFIG = {"name": "merge-check"}


def _text(i: int) -> Text:
    return Text(id=f"t{i}", text=f"text number {i}", origin="llm")


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_parts_merge_once_in_shard_order_and_torn_lines_wait(tmp_path):
    root = RunStore(tmp_path, CONFIG)
    for shard, ids in ((0, [0, 2]), (1, [1, 3])):
        part = RunStore(root.part_dir(shard), CONFIG)
        part.append(_text(i) for i in ids)
        part.error(record_id=f"t{ids[0]}", error="boom")
        part.close()
    # a killed worker left a torn last line in shard 1
    with open(root.part_dir(1) / "records.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"id": "t5", "text": "half')
    assert root.merge_parts() == 4
    assert [json.loads(x)["id"] for x in _lines(tmp_path / "records.jsonl")] == ["t0", "t2", "t1", "t3"]
    assert root.merge_parts() == 0  # nothing new
    root.close()

    # the line is completed later (a retry rewrote it); a resume merges it, errors stay single
    with open(root.part_dir(1) / "records.jsonl", "a", encoding="utf-8") as fh:
        fh.write(' of it", "origin": "llm"}\n')
    again = RunStore(tmp_path, CONFIG)
    assert "t5" in again.done_ids
    assert len(_lines(tmp_path / "records.jsonl")) == 5
    errors = [json.loads(x)["record_id"] for x in _lines(tmp_path / "errors.jsonl")]
    assert sorted(errors) == ["t0", "t1"]
    again.close()
    third = RunStore(tmp_path, CONFIG)
    assert len(_lines(tmp_path / "errors.jsonl")) == 2 and len(third.done_ids) == 5
    third.close()


def test_a_record_already_in_the_view_is_not_merged_again(tmp_path):
    root = RunStore(tmp_path, CONFIG)
    root.append([_text(7)])  # written by a plain (non-Ray) resume
    part = RunStore(root.part_dir(0), CONFIG)
    part.append([_text(7), _text(8)])
    part.close()
    assert root.merge_parts() == 1
    ids = [json.loads(x)["id"] for x in _lines(tmp_path / "records.jsonl")]
    assert ids == ["t7", "t8"]
    root.close()
