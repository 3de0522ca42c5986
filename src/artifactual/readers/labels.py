"""Wide task-label tables: one row per item, human and model labels as list strings.

The paper's ``task_labels/mismatch_gpt3.csv`` has columns ``text``, ``human_annots``,
``model_annots`` (e.g. ``"[3.0, 4.0, 3.0]"``). :func:`read_wide_labels` returns a
DataFrame with ``item_id``, ``text``, ``human``, ``model`` (Python lists) plus any other
columns, and a list of errors (dicts: path, line, record_id, message, fix) for rows that
could not be read; the other rows are still loaded.
"""

from __future__ import annotations

import ast
import csv
import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from artifactual.errors import InputError
from artifactual.records import Label

__all__ = ["TableRead", "read_wide_labels", "parse_label_list", "wide_to_records", "error_row"]


class TableRead(NamedTuple):
    """A loaded table and the rows that could not be read."""

    frame: pd.DataFrame
    errors: list[dict[str, Any]]


def error_row(path: str | Path, line: int | None, message: str, fix: str,
              record_id: str | None = None) -> dict[str, Any]:
    """One error entry (the keys of the readers' errors table)."""
    return {"path": str(path), "line": line, "record_id": record_id, "message": message,
            "fix": fix}


def parse_label_list(cell: str) -> list[Any]:
    """Parse ``"[3.0, 4.0]"`` or ``"['a', 'b']"`` into a list of scalar labels."""
    text = (cell or "").strip()
    if not text:
        raise ValueError("the label list is empty")
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"not a list literal: {text[:60]!r}") from exc
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list, got {type(value).__name__}: {text[:60]!r}")
    for v in value:
        if not isinstance(v, (str, int, float, bool)):
            raise ValueError(f"label {v!r} is not a string or number")
    return list(value)


def read_wide_labels(path: str | Path, human_col: str = "human_annots",
                     model_col: str = "model_annots", text_col: str | None = "text",
                     id_col: str | None = None, delimiter: str = ",") -> TableRead:
    """Read a wide label CSV; ``item_id`` is ``id_col`` or the 0-based data row number."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot open the label table: {exc.strerror}", where=str(path),
                         fix="check the path") from exc
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [c for c in (human_col, model_col, text_col, id_col) if c and c not in header]
        if missing:
            raise InputError(f"columns {missing} are missing (header: {header})",
                             where=f"{path}:1",
                             fix="pass human_col=/model_col=/text_col=/id_col= for this file")
        start = reader.line_num + 1
        index = 0
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                errors.append(error_row(path, start, f"malformed CSV: {exc}",
                                        "fix the quoting of this row"))
                break
            line, start = start, reader.line_num + 1
            item_id = str(raw[id_col]) if id_col else str(index)
            index += 1
            if None in raw or any(v is None for v in raw.values()):
                errors.append(error_row(path, line, "wrong number of fields", "make every row "
                                        f"have the {len(header)} header fields", item_id))
                continue
            try:
                human = parse_label_list(raw[human_col])
                model = parse_label_list(raw[model_col])
            except ValueError as exc:
                errors.append(error_row(path, line, f"bad label list: {exc}",
                                        "write labels as a list literal, e.g. [1.0, 0.0]", item_id))
                continue
            row = {k: v for k, v in raw.items() if k not in (human_col, model_col)}
            row.update({"item_id": item_id, "text": raw[text_col] if text_col else "",
                        "human": human, "model": model})
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["item_id", "text", "human", "model"])
    lead = ["item_id", "text", "human", "model"]
    frame = frame[lead + [c for c in frame.columns if c not in lead]]
    for col in frame.columns[4:]:
        frame[col] = _maybe_numeric(frame[col])
    return TableRead(frame, errors)


def _maybe_numeric(col: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(col)
    except (ValueError, TypeError):
        return col


def wide_to_records(frame: pd.DataFrame, dataset: str | None = None, human: str = "human",
                    model: str = "model", model_name: str = "model") -> list[Label]:
    """Label records from a wide table: annotators ``human_<k>`` and ``<model_name>#<k>``."""
    out: list[Label] = []
    for rec in frame.to_dict("records"):
        item, text = str(rec["item_id"]), str(rec.get("text") or "")
        for k, v in enumerate(rec[human]):
            out.append(Label(item_id=item, text=text, annotator=f"human_{k}", label=v,
                             dataset=dataset))
        for k, v in enumerate(rec[model]):
            out.append(Label(item_id=item, text=text, annotator=f"{model_name}#{k}", label=v,
                             dataset=dataset))
    return out
