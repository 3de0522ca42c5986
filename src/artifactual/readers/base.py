"""Reader registry, error collection and the shared file walker.

A reader is one module with one registered class::

    @reader("camel")
    class CamelReader(Reader):
        def sniff(self, obj) -> bool: ...          # does this first object look like mine?
        def parse(self, obj, loc) -> Record: ...   # one JSON object -> record(s); raise InputError

The walker opens each file, splits it into JSON objects (a ``.json`` file is one
object or a list of objects; a ``.jsonl`` file is one object per line), picks the
reader whose ``sniff`` accepts the first object, and calls ``parse`` on every
object. A reader for a non-JSON format overrides ``sniff_file`` and ``read_file``.

Bad input never stops the batch: every malformed file, line or record becomes a
:class:`ReadError` in an :class:`ErrorLog`, and reading goes on.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from artifactual.errors import InputError
from artifactual.records import Conversation, Record, Source, record_from_json

__all__ = ["ReadError", "ErrorLog", "Location", "Reader", "reader", "get_reader",
           "available_formats", "read", "iter_json", "explain_validation", "ERROR_COLUMNS", "input_files",
           "read_head"]

ERROR_COLUMNS: dict[str, str] = {"path": "string", "line": "Int64", "record_id": "string",
                                 "message": "string", "fix": "string"}
_JSON_SUFFIXES = (".json", ".jsonl")
RUN_RECORDS = "records.jsonl"


class ReadError(BaseModel):
    """One unreadable file, line or record: where it is, what is wrong, what to do."""

    path: str
    line: int | None = None
    record_id: str | None = None
    message: str
    fix: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def to_exception(self) -> InputError:
        """The same error as an :class:`InputError` (raised when no log is given)."""
        where = self.where + (f" (record {self.record_id})" if self.record_id else "")
        return InputError(self.message, where=where, fix=self.fix or None)


class ErrorLog:
    """A list-like collector of :class:`ReadError` s."""

    def __init__(self) -> None:
        self._items: list[ReadError] = []

    def add(self, error: ReadError | None = None, **fields: Any) -> ReadError:
        """Add a ReadError, given as one or as its fields (path, line, record_id, message, fix)."""
        err = error if error is not None else ReadError(**fields)
        self._items.append(err)
        return err

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns path, line, record_id, message, fix (also when empty)."""
        rows = [e.model_dump() for e in self._items]
        return pd.DataFrame(rows, columns=list(ERROR_COLUMNS)).astype(ERROR_COLUMNS)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ReadError]:
        return iter(self._items)

    def __getitem__(self, i: int) -> ReadError:
        return self._items[i]

    def __repr__(self) -> str:
        return f"ErrorLog({len(self._items)} errors)"


class _RaisingLog(ErrorLog):
    """Used when the caller passes no log: the first error is raised."""

    def add(self, error: ReadError | None = None, **fields: Any) -> ReadError:
        err = super().add(error, **fields)
        raise err.to_exception()


@dataclass(frozen=True)
class Location:
    """Where one JSON object came from: the file, its 1-based line (JSONL) or item (JSON list)."""

    path: Path
    line: int | None = None
    item: int | None = None

    @property
    def default_id(self) -> str:
        """``stem``, ``stem:line`` (JSONL) or ``stem#item`` (JSON list, 1-based)."""
        if self.line is not None:
            return f"{self.path.stem}:{self.line}"
        if self.item is not None:
            return f"{self.path.stem}#{self.item}"
        return self.path.stem


class Reader:
    """Base class: one input format. Subclasses set ``sniff`` and ``parse``."""

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = _JSON_SUFFIXES

    def sniff(self, obj: Any) -> bool:
        """True when a file whose first JSON object is ``obj`` is in this format."""
        return False

    def with_options(self, **options: Any) -> "Reader":
        """This reader configured with reader options (e.g. ``speaker_pattern``).

        Options a reader does not use are ignored, so one set of options can go to
        every reader during auto-detection; a bad value raises InputError at once.
        """
        return self

    def sniff_file(self, path: Path, first_obj: Any | None) -> bool:
        """True when ``path`` is in this format; override for non-JSON formats."""
        return first_obj is not None and self.sniff(first_obj)

    def parse(self, obj: Any, loc: Location) -> Record | Iterable[Record]:
        """Turn one JSON object into a record (or several); raise InputError when it is bad."""
        raise NotImplementedError

    def read_file(self, path: Path, log: ErrorLog) -> Iterator[Record]:
        """Read every object in ``path``; each bad one goes to ``log``."""
        for loc, obj in iter_json(path, log):
            try:
                out = self.parse(obj, loc)
            except InputError as exc:
                log.add(path=str(path), line=loc.line, record_id=_guess_id(obj, loc),
                        message=exc.message, fix=exc.fix or "")
                continue
            yield from ([out] if isinstance(out, BaseModel) else out)


_READERS: dict[str, Reader] = {}
R = TypeVar("R", bound=type[Reader])


def reader(name: str) -> Callable[[R], R]:
    """Class decorator: register a :class:`Reader` subclass under a format name."""
    def register(cls: R) -> R:
        cls.name = name
        _READERS[name] = cls()
        return cls
    return register


_LOADED = False


def _load_builtin_readers() -> None:
    """Import every module of this package once, so each registers its reader."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    pkg = importlib.import_module("artifactual.readers")
    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_") and mod.name != "base":
            importlib.import_module(f"artifactual.readers.{mod.name}")


def available_formats() -> list[str]:
    """Names of all registered formats, in sniffing order."""
    _load_builtin_readers()
    return list(_READERS)


def get_reader(name: str) -> Reader:
    """The registered reader for ``name``; InputError listing the known formats if unknown."""
    _load_builtin_readers()
    if name not in _READERS:
        raise InputError(f"unknown input format {name!r}",
                         fix=f"use one of: {', '.join(_READERS)}")
    return _READERS[name]


def _guess_id(obj: Any, loc: Location) -> str:
    if isinstance(obj, dict) and obj.get("id") not in (None, ""):
        return str(obj["id"])
    return loc.default_id


def _json_error(path: Path, text: str, exc: json.JSONDecodeError, line: int | None) -> ReadError:
    truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
    at = f"column {exc.colno}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
    what = ("the file is empty" if not text.strip() else
            f"the JSON ends early at {at} (truncated?)" if truncated else
            f"invalid JSON at {at}: {exc.msg}")
    return ReadError(path=str(path), line=line if line is not None else exc.lineno,
                     message=what,
                     fix="re-export or re-download this file; other files are still read")


def _too_deep(path: Path, line: int | None) -> ReadError:
    return ReadError(path=str(path), line=line, message="the JSON is nested too deeply to read",
                     fix="flatten or drop this item; other items are still read")


def iter_json(path: Path, log: ErrorLog) -> Iterator[tuple[Location, Any]]:
    """Yield ``(Location, object)`` for each JSON object in a .json or .jsonl file.

    A ``.jsonl`` file is streamed line by line; a ``.json`` file is one object, a
    list of objects, or (if it holds several objects, one per line) read as JSONL.
    """
    try:
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8-sig") as fh:
                yield from _iter_lines(path, fh, log)
            return
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        log.add(path=str(path), message=f"cannot read file: {exc}",
                fix="check that the file exists, is readable and is UTF-8 text")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):  # several objects: JSONL in a .json file
            yield from _iter_lines(path, text.splitlines(), log)
        else:
            log.add(_json_error(path, text, exc, None))
        return
    except RecursionError:
        log.add(_too_deep(path, None))
        return
    if isinstance(data, list):
        for i, obj in enumerate(data, 1):
            yield Location(path, item=i), obj
    else:
        yield Location(path), data


def _iter_lines(path: Path, lines: Iterable[str], log: ErrorLog) -> Iterator[tuple[Location, Any]]:
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            log.add(_json_error(path, raw, exc, n))
            continue
        except RecursionError:
            log.add(_too_deep(path, n))
            continue
        yield Location(path, line=n), obj


def _detect(path: Path, log: ErrorLog, readers: list[Reader] | None = None) -> Reader | None:
    """The reader whose sniff accepts the file's first object; None (and a ReadError) if none."""
    readers = list(_READERS.values()) if readers is None else readers
    if path.name == RUN_RECORDS and "records" in _READERS:
        return _READERS["records"]
    first: Any | None = None
    line: int | None = None
    if path.suffix in _JSON_SUFFIXES:
        for loc, obj in iter_json(path, ErrorLog()):  # errors are reported when read for real
            first, line = obj, loc.line
            break
        if first is None:
            return None  # nothing parseable: the real read reports why (or file is empty)
    for r in readers:
        if path.suffix in r.suffixes and r.sniff_file(path, first):
            return r
    log.add(path=str(path), line=line,
            message="unknown input format: no reader recognises this file",
            fix=f"pass format= one of: {', '.join(_READERS)}")
    return None


def read_head(path: Path, size: int = 65536) -> str | None:
    """The first ``size`` bytes of ``path`` as text (undecodable bytes replaced), for
    ``sniff_file`` of text formats; None when the file cannot be opened."""
    try:
        with path.open("rb") as fh:
            return fh.read(size).decode("utf-8-sig", errors="replace")
    except OSError:
        return None


def _saved_dataset(path: Path) -> list[Path]:
    """The Arrow shards of a ``datasets.save_to_disk`` folder (it has a ``state.json``)."""
    return sorted(path.glob("*.arrow")) if (path / "state.json").is_file() else []


def input_files(path: Path) -> list[Path]:
    """Files to read under ``path``: a run directory's records.jsonl, a saved dataset's
    Arrow shards, or each known file (and the run directories / saved datasets in it)."""
    if path.is_file():
        return [path]
    if (path / RUN_RECORDS).is_file():
        return [path / RUN_RECORDS]
    if shards := _saved_dataset(path):
        return shards
    suffixes = {s for r in _READERS.values() for s in r.suffixes}
    out: list[Path] = []
    for child in sorted(path.iterdir()):
        if child.is_file() and child.suffix in suffixes:
            out.append(child)
        elif child.is_dir() and (child / RUN_RECORDS).is_file():
            out.append(child / RUN_RECORDS)
        elif child.is_dir():
            out.extend(_saved_dataset(child))
    return out


def read(path: str | Path, *, format: str | None = None,
         errors: ErrorLog | None = None,
         options: Mapping[str, Any] | None = None) -> Iterator[Record]:
    """Read records from a file, a directory of files, or a run directory.

    ``format`` names a registered reader; by default each file is sniffed. Bad
    input goes to ``errors`` and reading goes on; without a log the first bad
    item raises :class:`InputError`. A missing path raises at once. ``options`` go to
    every reader's :meth:`Reader.with_options` (e.g. ``{"speaker_pattern": regex}``
    for plain transcripts); an invalid option raises at once.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", where=str(p),
                         fix="check the path; pass a file, a directory or a run directory")
    _load_builtin_readers()
    opts = dict(options or {})
    fixed = get_reader(format).with_options(**opts) if format is not None else None
    readers = [r.with_options(**opts) for r in _READERS.values()] if fixed is None else []
    log = errors if errors is not None else _RaisingLog()
    return _read(input_files(p), fixed, log, readers)


def _read(files: list[Path], fixed: Reader | None, log: ErrorLog,
          readers: list[Reader] | None = None) -> Iterator[Record]:
    for f in files:
        r = fixed if fixed is not None else _detect(f, log, readers)
        if r is not None:
            yield from r.read_file(f, log)
        elif f.suffix in _JSON_SUFFIXES:
            for _ in iter_json(f, log):  # report parse errors of an unparseable file
                pass


_KINDS = ("conversation", "instruction", "label", "preference", "text")


def explain_validation(exc: ValidationError, limit: int = 3) -> str:
    """A one-line summary of a pydantic ValidationError: which fields, what is wrong."""
    parts = [f"{'.'.join(str(x) for x in e['loc']) or '(record)'}: {e['msg']}"
             for e in exc.errors()[:limit]]
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


@reader("records")
class RecordsReader(Reader):
    """This project's own records (``records.jsonl`` of a run directory)."""

    def sniff(self, obj: Any) -> bool:
        return isinstance(obj, dict) and obj.get("kind") in _KINDS

    def parse(self, obj: Any, loc: Location) -> Record:
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object, got {type(obj).__name__}",
                             fix="each line of records.jsonl must be one record object")
        try:
            rec = record_from_json(obj)
        except ValidationError as exc:
            raise InputError(f"invalid {obj.get('kind', 'conversation')} record: "
                             f"{explain_validation(exc)}",
                             fix="repair or drop this line; records are written by "
                                 "artifactual.records.record_to_json") from None
        except ValueError as exc:
            raise InputError(str(exc), fix=f"set 'kind' to one of {', '.join(_KINDS)}") from None
        except TypeError:  # e.g. a list as 'kind'
            raise InputError(f"invalid record kind {obj.get('kind')!r}",
                             fix=f"set 'kind' to one of {', '.join(_KINDS)}") from None
        if isinstance(rec, Conversation) and rec.source is None:
            rec.source = Source(format="records", path=str(loc.path), line=loc.line)
        return rec
