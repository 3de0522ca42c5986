"""Free-form texts and instruction data.

``texts`` (JSONL, JSON or CSV), one of two row shapes:

* ``text`` + ``origin`` (optional ``id``, ``source_id``/``pair_id``): one
  :class:`~artifactual.records.Text` per row;
* ``human_text`` + ``machine_text`` (optional ``id``): a human/machine pair, two Text
  records ``<id>:human`` and ``<id>:llm`` sharing ``source_id = <id>``.

``origin`` may be ``human`` or ``llm`` or a synonym (:func:`normalise_origin`: machine,
model, ai, generated, gpt-4, ...); the original spelling is kept in ``meta["origin_raw"]``.
A JSON row needs ``origin`` to be recognised automatically; pass ``format="texts"``
otherwise (rows without it then count as ``llm``).

``instructions`` (JSONL or JSON), also two shapes:

* Self-Instruct seed tasks: ``instruction`` + ``instances`` [{input, output}] (+ ``id``,
  ``name``, ``is_classification``): one :class:`~artifactual.records.Instruction` per
  instance (``<id>#<k>`` when there are several); origin defaults to ``human``;
* Alpaca-like: ``instruction``, ``input`` (optional), ``output``; origin defaults to
  ``llm``. An ``origin`` field overrides either default.

Every record's ``meta`` holds ``source_path`` and ``source_line`` (or ``source_item``); a
texts row's other scalar fields (e.g. ``domain``) are kept in ``meta`` too, for
``compare --kind text --context domain``.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artifactual.errors import InputError
from artifactual.readers.base import ErrorLog, Location, Reader, reader
from artifactual.records import Instruction, Record, Text

__all__ = ["TextsReader", "InstructionsReader", "normalise_origin", "csv_header"]

_HUMAN = {"human", "humans", "human-written", "human_written", "person", "people", "gold",
          "reference", "original", "author"}
_LLM = {"llm", "machine", "machine-generated", "machine_generated", "model", "ai",
        "generated", "synthetic", "bot", "assistant", "lm"}
_LLM_PREFIXES = ("gpt", "chatgpt", "llama", "claude", "mistral", "gemini", "qwen", "smollm",
                 "vicuna", "falcon", "palm", "text-davinci", "davinci")


def normalise_origin(value: Any, where: str = "") -> str:
    """``"human"`` or ``"llm"`` from an origin label; InputError for anything unknown."""
    v = str(value).strip().lower() if value is not None else ""
    if v in _HUMAN:
        return "human"
    if v in _LLM or v.startswith(_LLM_PREFIXES):
        return "llm"
    raise InputError(f"origin {value!r} is neither human nor an LLM", where=where or None,
                     fix="write origin as 'human' or 'llm' (or machine, model, gpt-4 ...)")


def _meta(loc: Location) -> dict[str, Any]:
    meta: dict[str, Any] = {"source_path": str(loc.path)}
    if loc.line is not None:
        meta["source_line"] = loc.line
    if loc.item is not None:
        meta["source_item"] = loc.item
    return meta


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{field!r} is {type(value).__name__}, not text",
                         fix=f"give {field!r} as a string")
    return value


_TEXT_FIELDS = {"id", "text", "origin", "source_id", "pair_id", "human_text", "machine_text"}


def _row_id(obj: dict[str, Any], loc: Location) -> str:
    raw = obj.get("id")
    return loc.default_id if raw in (None, "") else str(raw)


@reader("texts")
class TextsReader(Reader):
    """Free-form texts, single (text + origin) or paired (human_text + machine_text)."""

    suffixes = (".json", ".jsonl", ".csv")

    def sniff(self, obj: Any) -> bool:
        if not isinstance(obj, dict) or "kind" in obj:
            return False
        return ({"text", "origin"} <= obj.keys()) or ({"human_text", "machine_text"} <= obj.keys())

    def sniff_file(self, path: Path, first_obj: Any | None) -> bool:
        if path.suffix != ".csv":
            return super().sniff_file(path, first_obj)
        header = csv_header(path)
        return ({"text", "origin"} <= header) or ({"human_text", "machine_text"} <= header)

    def parse(self, obj: Any, loc: Location) -> list[Record]:
        if not isinstance(obj, dict):
            raise InputError(f"expected an object, got {type(obj).__name__}",
                             fix="give one object per row with text and origin")
        rid, meta = _row_id(obj, loc), _meta(loc)
        meta.update({k: v for k, v in obj.items() if k not in _TEXT_FIELDS
                     and isinstance(v, (str, int, float, bool)) and k not in meta})
        if "human_text" in obj or "machine_text" in obj:
            human = _text(obj.get("human_text"), "human_text")
            machine = _text(obj.get("machine_text"), "machine_text")
            return [Text(id=f"{rid}:human", text=human, origin="human", source_id=rid, meta=meta),
                    Text(id=f"{rid}:llm", text=machine, origin="llm", source_id=rid,
                         meta=dict(meta))]
        if "text" not in obj:
            raise InputError("the row has no 'text'",
                             fix="give 'text' (+ 'origin'), or 'human_text' and 'machine_text'")
        raw = obj.get("origin", "llm")
        origin = normalise_origin(raw)
        if str(raw) != origin:
            meta["origin_raw"] = raw
        source = obj.get("source_id", obj.get("pair_id"))
        return [Text(id=rid, text=_text(obj["text"], "text"), origin=origin,
                     source_id=None if source in (None, "") else str(source), meta=meta)]

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Record]:
        if path.suffix != ".csv":
            yield from super().read_file(path, log)
            return
        for loc, row in _csv_rows(path, log):
            try:
                yield from self.parse(row, loc)
            except InputError as exc:
                log.add(path=str(path), line=loc.line, record_id=_row_id(row, loc),
                        message=exc.message, fix=exc.fix or "")


def csv_header(path: Path) -> set[str]:
    """The column names of a CSV file (empty when it cannot be read)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return set(next(csv.reader(fh), []))
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()


def _csv_rows(path: Path, log: ErrorLog) -> Iterator[tuple[Location, dict[str, Any]]]:
    """(location, row) per CSV data row; unreadable files and rows go to ``log``."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        log.add(path=str(path), message=f"cannot read file: {exc}", fix="check the path")
        return
    with fh:
        rows = csv.DictReader(fh)
        start = 2
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                log.add(path=str(path), line=start, message=f"malformed CSV: {exc}",
                        fix="fix the quoting or encoding of this row; rows before it were read")
                return
            line, start = start, rows.line_num + 1
            if None in row or any(v is None for v in row.values()):
                log.add(path=str(path), line=line, message="wrong number of fields",
                        fix="give every row the header's fields")
                continue
            yield Location(path, line=line), row


@reader("instructions")
class InstructionsReader(Reader):
    """Self-Instruct seed tasks and Alpaca-like instruction/input/output rows."""

    def sniff(self, obj: Any) -> bool:
        return (isinstance(obj, dict) and "kind" not in obj
                and isinstance(obj.get("instruction"), str)
                and (isinstance(obj.get("instances"), list) or "output" in obj))

    def parse(self, obj: Any, loc: Location) -> list[Record]:
        if not isinstance(obj, dict) or not isinstance(obj.get("instruction"), str):
            raise InputError("the row has no 'instruction' text",
                             fix="give 'instruction' with 'instances' or with 'output'")
        rid, meta = _row_id(obj, loc), _meta(loc)
        for key in ("name", "is_classification"):
            if key in obj:
                meta[key] = obj[key]
        if "instances" in obj:
            pairs = obj["instances"]
            if not isinstance(pairs, list) or not pairs:
                raise InputError("'instances' is empty or not a list",
                                 fix="give instances as a list of {input, output}")
            default = "human"
        else:
            pairs, default = [{"input": obj.get("input", ""), "output": obj.get("output")}], "llm"
        origin = normalise_origin(obj.get("origin", default))
        out: list[Record] = []
        for k, inst in enumerate(pairs, 1):
            if not isinstance(inst, dict):
                raise InputError(f"instance {k} is not an object",
                                 fix="give each instance as {input, output}")
            inp = inst.get("input") or ""
            output = inst.get("output")
            output = "" if output is None else output
            if not isinstance(inp, str) or not isinstance(output, str):
                raise InputError(f"instance {k}: input/output must be text",
                                 fix="give input and output as strings")
            out.append(Instruction(id=rid if len(pairs) == 1 else f"{rid}#{k}",
                                   instruction=obj["instruction"], input=inp, output=output,
                                   origin=origin, meta=dict(meta)))
        return out
