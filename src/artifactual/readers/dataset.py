"""Datasets in hub shapes (format ``"dataset"``): Parquet, Arrow and JSONL tables of chats.

One row is one conversation. Its chat is a list column, either in OpenAI shape
(``[{"role", "content", "name"?}, ...]``, read as by the ``openai`` reader) or in ShareGPT
shape (``[{"from", "value"}, ...]``, read as by the ``sharegpt`` reader).

* ``.parquet`` files are streamed in row batches with pyarrow (only the chat column and
  the scalar columns are read), so a multi-GB file is never loaded whole;
* ``.arrow`` files (the ``data-*.arrow`` shards of a ``datasets.save_to_disk`` folder, an
  Arrow IPC stream, or an Arrow IPC/Feather file) are read batch by batch the same way;
  a ``save_to_disk`` folder given as the path reads its shards;
* ``.json`` / ``.jsonl`` rows are read by this reader only when a column is named.

The chat column is ``messages``, ``conversations`` or ``conversation`` when exactly one
of them exists, else the one list-of-struct column whose items have ``role``/``content``
or ``from``/``value``. When several qualify (``chosen`` and ``rejected`` of a preference
set) the file is an error listing them: name one with ``options={"column": ...}``
(``audit --column``). ``id`` (or ``conversation_id``) names the conversation, else
``<stem>:<row>``; other scalar columns go to ``meta``. ``source.line`` is the 1-based row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import ErrorLog, Location, Reader, reader
from artifactual.readers.openai_messages import OpenAIMessagesReader
from artifactual.readers.sharegpt import ShareGPTReader
from artifactual.readers.task_field import check_task_field, task_statement
from artifactual.records import Conversation

__all__ = ["DatasetReader", "chat_columns", "BATCH_ROWS"]

BATCH_ROWS = 1024
NAMED = ("messages", "conversations", "conversation")
_OPENAI, _SHAREGPT = OpenAIMessagesReader(), ShareGPTReader()
_TABLE_SUFFIXES = (".parquet", ".arrow")


def _item_fields(dtype: Any) -> set[str] | None:
    """Field names of a list<struct> Arrow type, else None."""
    import pyarrow as pa

    if (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and pa.types.is_struct(
            dtype.value_type):
        return {f.name for f in dtype.value_type}
    return None


def chat_columns(schema: Any) -> list[str]:
    """Columns of an Arrow schema that hold chats: the conventional names first; else
    every list<struct> column whose items look like messages or ShareGPT turns."""
    fields = {f.name: _item_fields(f.type) for f in schema}
    named = [n for n in NAMED if n in fields and fields[n] is not None]
    if named:
        return named
    return [n for n, items in fields.items() if items is not None
            and ({"role", "content"} <= items or {"from", "value"} <= items)]


def _open_batches(path: Path, columns: list[str] | None) -> tuple[Any, Iterator[Any]]:
    """``(schema, batches)`` of a Parquet or Arrow file, read lazily."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        return schema, (pf.iter_batches(batch_size=BATCH_ROWS, columns=columns)
                        if columns is not None else iter(()))
    source = pa.memory_map(str(path))
    try:
        stream = pa.ipc.open_stream(source)
        return stream.schema, (b.select(columns) for b in stream) if columns else iter(())
    except pa.ArrowInvalid:
        source.seek(0)
        file = pa.ipc.open_file(source)
        batches = (file.get_batch(i).select(columns) for i in range(file.num_record_batches))
        return file.schema, batches if columns else iter(())


def _schema_error(path: Path, cols: list[str], wanted: str | None, schema: Any) -> str | None:
    if wanted is not None:
        if wanted not in schema.names:
            return f"no column {wanted!r} (columns: {', '.join(schema.names)})"
        if _item_fields(schema.field(wanted).type) is None:
            return f"column {wanted!r} is {schema.field(wanted).type}, not a list of messages"
        return None
    if not cols:
        return f"no chat column: none of {', '.join(NAMED)} and no list of messages"
    if len(cols) > 1:
        return f"several chat columns: {', '.join(cols)}"
    return None


def row_to_conversation(row: dict[str, Any], column: str, loc: Location,
                        task_field: str | None = None) -> Conversation:
    """One table row as a conversation, via the openai or sharegpt reader by item shape;
    the task statement as in :mod:`.task_field` (nested columns too)."""
    items = row.get(column)
    if not isinstance(items, list):
        raise InputError(f"column {column!r} is {'empty' if items is None else type(items).__name__}"
                         ", not a list of messages", fix="drop this row or fill its chat")
    first = next((x for x in items if isinstance(x, dict)), {})
    rest = {k: v for k, v in row.items() if k != column and isinstance(v, (str, int, bool))}
    if "id" not in rest and "conversation_id" in rest:
        rest["id"] = rest.pop("conversation_id")
    if "from" in first or "value" in first:
        conv = _SHAREGPT.parse({**rest, "conversations": items}, loc)
    else:
        conv = _OPENAI.parse({**rest, "messages": items}, loc)
    conv.source.format = "dataset"
    conv.meta["chat_column"] = column
    system = [t.content for t in conv.turns if t.meta.get("role") == "system"]
    conv.task = task_statement(row, system, task_field) or conv.task
    return conv


@reader("dataset")
class DatasetReader(Reader):
    """Parquet / Arrow / JSONL chat datasets; see the module docstring."""

    suffixes = (*_TABLE_SUFFIXES, ".json", ".jsonl")

    def __init__(self, column: str | None = None, task_field: str | None = None) -> None:
        self.column = column
        self.task_field = task_field

    def with_options(self, **options: Any) -> "DatasetReader":
        column = options.get("column")
        if column is not None and (not isinstance(column, str) or not column.strip()):
            raise InputError(f"invalid column {column!r}", fix="pass a column name, e.g. --column messages")
        field = check_task_field(options.get("task_field"))
        if column is None and field is None:
            return self
        return DatasetReader(column.strip() if column else self.column, field or self.task_field)

    def sniff(self, obj: Any) -> bool:
        return (self.column is not None and isinstance(obj, dict)
                and isinstance(obj.get(self.column), list))

    def sniff_file(self, path: Path, first_obj: Any | None) -> bool:
        if path.suffix not in _TABLE_SUFFIXES:
            return super().sniff_file(path, first_obj)
        try:
            schema, _ = _open_batches(path, None)
        except (OSError, ValueError):
            return False
        return self.column in schema.names if self.column else bool(chat_columns(schema))

    def parse(self, obj: Any, loc: Location) -> Conversation:
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object (one row), got {type(obj).__name__}",
                             fix="write one row object per line")
        return row_to_conversation(obj, self.column or "messages", loc, self.task_field)

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Conversation]:
        if path.suffix not in _TABLE_SUFFIXES:
            if self.column is None:
                log.add(path=str(path), message="a JSON dataset needs its chat column named",
                        fix="pass --column NAME (or read it as --format openai / sharegpt)")
                return
            yield from super().read_file(path, log)
            return
        try:
            schema, _ = _open_batches(path, None)
        except (OSError, ValueError) as exc:
            log.add(path=str(path), message=f"cannot read table: {exc}",
                    fix="check that the file is a complete Parquet / Arrow file")
            return
        cols = chat_columns(schema)
        problem = _schema_error(path, cols, self.column, schema)
        if problem is not None:
            log.add(path=str(path), message=problem,
                    fix=f"pass --column with one of: {', '.join(cols) or ', '.join(schema.names)}")
            return
        column = self.column or cols[0]
        task_cols = {(self.task_field or "").split(".")[0], "metadata"}
        keep = [f.name for f in schema if f.name == column or f.name in task_cols
                or _item_fields(f.type) is None
                and not str(f.type).startswith(("struct", "list", "large_list", "map"))]
        yield from self._rows(path, column, keep, log)

    def _rows(self, path: Path, column: str, keep: list[str],
              log: ErrorLog) -> Iterator[Conversation]:
        row = 0
        try:
            _, batches = _open_batches(path, keep)
            for batch in batches:
                for values in batch.to_pylist():
                    row += 1
                    loc = Location(path, line=row)
                    try:
                        yield row_to_conversation(values, column, loc, self.task_field)
                    except InputError as exc:
                        rid = values.get("id") or values.get("conversation_id")
                        log.add(path=str(path), line=row, record_id=str(rid or loc.default_id),
                                message=exc.message, fix=exc.fix or "")
        except (OSError, ValueError) as exc:  # a damaged page or batch: keep what was read
            log.add(path=str(path), line=row + 1, message=f"cannot read rows after {row}: {exc}",
                    fix="re-export or re-download this file; the rows before were read")

