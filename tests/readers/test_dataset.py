"""Hub-shaped datasets: Parquet, Arrow (IPC stream of save_to_disk, IPC file) and JSONL rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from artifactual.errors import InputError
from artifactual.readers import ErrorLog, read
from artifactual.readers import dataset as ds

DIR = Path(__file__).parents[1] / "fixtures" / "dataset"
# hand count of the four rows (tests/fixtures/dataset/README.md): id, turns, speakers
HAND = [("marketing", 4, ["Chairperson", "Chief_Marketing_Officer", "Product_Manager",
                          "Digital_Marketer"]),
        ("planner", 4, ["Admin", "Planner"]),
        ("chatdev-demand", 3, ["Chief Product Officer", "Chief Executive Officer"]),
        ("kitchen", 3, ["system", "user", "assistant"])]


def _shape(convs: list) -> list:
    return [(c.id, len(c.turns), [s.name for s in c.speakers]) for c in convs]


@pytest.mark.parametrize("name", ["chats.parquet", "chats_ipc_file.arrow", "saved",
                                  "saved/data-00000-of-00001.arrow"])
def test_messages_column_rows_match_hand_count(name: str) -> None:
    log = ErrorLog()
    convs = list(read(DIR / name, errors=log))  # auto-detected
    assert len(log) == 0
    assert _shape(convs) == HAND
    assert [c.source.line for c in convs] == [1, 2, 3, 4]
    assert {c.source.format for c in convs} == {"dataset"}
    assert convs[0].meta == {"origin": "ag2", "chat_column": "messages"}  # score (float) left out
    assert convs[2].speakers[0].role == "assistant" and convs[0].speakers[0].role == "user"


def test_sharegpt_column() -> None:
    convs = list(read(DIR / "sharegpt.parquet"))
    assert [(c.id, [t.speaker for t in c.turns]) for c in convs] == [
        ("sharegpt:1", ["user", "assistant"]), ("sharegpt:2", ["system", "user", "assistant"])]
    assert convs[1].turns[2].content == "Bonjour !"


def test_ambiguous_columns_need_column_option() -> None:
    log = ErrorLog()
    assert list(read(DIR / "pairs.parquet", errors=log)) == []
    assert log[0].message == "several chat columns: chosen, rejected"
    assert "--column" in log[0].fix
    chosen = list(read(DIR / "pairs.parquet", options={"column": "chosen"}))
    rejected = list(read(DIR / "pairs.parquet", format="dataset", options={"column": "rejected"}))
    assert [len(c.turns) for c in chosen] == [3, 3] and [len(c.turns) for c in rejected] == [1, 1]
    assert {c.meta["prompt"] for c in chosen} == {"chatdev-demand", "kitchen"}
    with pytest.raises(InputError, match="no column 'nope'"):
        list(read(DIR / "pairs.parquet", format="dataset", options={"column": "nope"}))


def test_streams_in_batches_and_bad_rows_are_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ds, "BATCH_ROWS", 3)
    rows = [{"id": f"r{i}", "messages": [{"role": "user", "content": f"hi {i}"}]} for i in range(7)]
    rows[4]["messages"] = None
    rows[5]["messages"] = [{"role": None, "content": "no role"}]
    path = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
    seen: list[int] = []
    real = ds._open_batches

    def counting(p, cols):  # record the size of each batch pyarrow hands over
        schema, batches = real(p, cols)
        return schema, (seen.append(b.num_rows) or b for b in batches)

    monkeypatch.setattr(ds, "_open_batches", counting)
    log = ErrorLog()
    convs = list(read(path, errors=log))
    assert [c.id for c in convs] == ["r0", "r1", "r2", "r3", "r6"]
    assert max(seen) <= 3 and sum(seen) == 7
    assert [(e.line, e.record_id) for e in log] == [(5, "r4"), (6, "r5")]
    assert all(e.fix for e in log)


def test_jsonl_rows_with_named_column(tmp_path: Path) -> None:
    path = tmp_path / "prefs.jsonl"
    row = {"prompt": "p", "chosen": [{"role": "user", "content": "a"}], "rejected": []}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (conv,) = read(path, options={"column": "chosen"})
    assert conv.source.format == "dataset" and conv.meta["prompt"] == "p"
    log = ErrorLog()
    assert list(read(path, format="dataset", errors=log)) == []
    assert "--column" in log[0].fix


def test_truncated_parquet_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    path.write_bytes((DIR / "chats.parquet").read_bytes()[:500])
    log = ErrorLog()
    assert list(read(path, format="dataset", errors=log)) == []
    assert "cannot read table" in log[0].message and log[0].fix
