"""``export_dataset``: conversations in the shape people train from, plus a dataset card.

Each conversation becomes one row: ``id``, ``messages`` (the OpenAI / Hugging Face chat
shape: a list of ``{"role", "content", "name"}``, ``role`` one of system / user /
assistant; a speaker with another role, e.g. an SPP persona, is an ``assistant`` and keeps
its ``name``), ``task``, ``specified_task``, ``strategy``, ``seed``, ``model``,
``termination_reason``. Records are streamed; rows are written in Parquet shards of
``shard_rows``.

``to``: ``parquet`` writes ``data/train-XXXXX-of-YYYYY.parquet``; ``hf`` writes the same
shards and ``datasets.save_to_disk`` into ``hf/`` (needs ``datasets``: the ``export``
extra); ``jsonl`` writes ``data/train.jsonl``. Every export has a ``README.md`` dataset card
(:mod:`.card`) and ``card.json``, the figures it was written from.

The source is a run directory, a ``filter`` output directory (the files its
``filter.json`` lists) or log files any reader reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from artifactual.errors import ArtifactualError, InputError
from artifactual.readers import ErrorLog, read
from artifactual.records import Conversation

__all__ = ["export_dataset", "ExportResult", "to_messages", "SCHEMA", "FORMATS"]

FORMATS = ("hf", "parquet", "jsonl")
_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string()), ("name", pa.string())])
SCHEMA = pa.schema([("id", pa.string()), ("messages", pa.list_(_MESSAGE)),
                    ("task", pa.string()), ("specified_task", pa.string()),
                    ("strategy", pa.string()), ("seed", pa.int64()), ("model", pa.string()),
                    ("termination_reason", pa.string())])
_CHAT_ROLES = {"system", "user", "assistant"}


@dataclass
class ExportResult:
    """What an export wrote and counted."""

    out_dir: Path
    files: list[Path]
    n_rows: int
    n_turns: int
    strategies: dict[str, list[str]] = field(default_factory=dict)  # name -> template sha256s
    read_errors: int = 0
    card: dict[str, Any] = field(default_factory=dict)


def to_messages(conv: Conversation) -> list[dict[str, str | None]]:
    """The conversation's turns as chat messages (module docstring)."""
    out = []
    for t in conv.turns:
        role = conv.role_of(t.speaker) or t.meta.get("role") or "assistant"
        out.append({"role": role if role in _CHAT_ROLES else "assistant",
                    "content": t.content, "name": t.speaker})
    return out


def _row(conv: Conversation) -> dict[str, Any]:
    prov = conv.provenance
    seed = None if prov is None else (prov.seed if prov.seed is not None else prov.sampling.seed)
    return {"id": conv.id, "messages": to_messages(conv), "task": conv.task,
            "specified_task": conv.specified_task,
            "strategy": prov.strategy if prov is not None else conv.meta.get("strategy"),
            "seed": seed, "model": prov.model if prov is not None else conv.meta.get("model"),
            "termination_reason": conv.termination_reason}


def source_files(source: Path) -> tuple[list[Path], dict[str, Any] | None]:
    """The files to export under ``source`` and its ``filter.json`` (None if unfiltered)."""
    fj = source / "filter.json" if source.is_dir() else None
    if fj is not None and fj.is_file():
        info = json.loads(fj.read_text(encoding="utf-8"))
        return [source / name for name in info.get("outputs") or []], info
    return [source], None


def _conversations(files: list[Path], log: ErrorLog) -> Iterator[Conversation]:
    for f in files:
        for rec in read(f, errors=log):
            if isinstance(rec, Conversation):
                yield rec


def export_dataset(source: str | Path, out_dir: str | Path, *, to: str = "parquet",
                   audit_dir: str | Path | None = None, license: str | None = None,
                   shard_rows: int = 10_000, name: str | None = None) -> ExportResult:
    """Export the conversations under ``source`` to ``out_dir`` (module docstring) and write
    the dataset card from the run's manifest, ``audit_dir`` (default: the filter's audit,
    or ``source/audit``) and the filter's ``filter.json``."""
    from artifactual.curate.card import write_card

    if to not in FORMATS:
        raise ArtifactualError(f"unknown export format {to!r}", fix=f"use one of: {', '.join(FORMATS)}")
    if to == "hf":
        try:
            import datasets  # noqa: F401
        except ImportError:
            raise ArtifactualError("--to hf needs the `datasets` package",
                                   fix="pip install 'artifactual[export]', or use --to parquet "
                                       "(datasets.load_dataset('parquet', ...) reads it)") from None
    src, out = Path(source), Path(out_dir)
    if not src.exists():
        raise InputError("no such file or directory", where=str(src),
                         fix="pass a run directory, a filter output directory or log files")
    files, filtered = source_files(src)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    log = ErrorLog()
    result = ExportResult(out_dir=out, files=[], n_rows=0, n_turns=0)
    strategies: dict[str, set[str]] = {}
    batch: list[dict[str, Any]] = []
    parts: list[Path] = []
    jsonl = (data / "train.jsonl").open("w", encoding="utf-8") if to == "jsonl" else None

    def flush() -> None:
        if batch and jsonl is None:
            part = data / f".part-{len(parts):05d}.parquet"
            pq.write_table(pa.Table.from_pylist(batch, schema=SCHEMA), part)
            parts.append(part)
        batch.clear()

    try:
        for conv in _conversations(files, log):
            row = _row(conv)
            result.n_rows += 1
            result.n_turns += len(conv.turns)
            if conv.provenance is not None and conv.provenance.strategy:
                strategies.setdefault(conv.provenance.strategy, set()).add(
                    conv.provenance.strategy_sha256 or "")
            if jsonl is not None:
                jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                batch.append(row)
                if len(batch) >= shard_rows:
                    flush()
        flush()
    finally:
        if jsonl is not None:
            jsonl.close()
    if jsonl is not None:
        result.files.append(data / "train.jsonl")
    for i, part in enumerate(parts):
        final = data / f"train-{i:05d}-of-{len(parts):05d}.parquet"
        part.rename(final)
        result.files.append(final)
    if to == "hf":
        import datasets

        datasets.disable_progress_bars()  # library functions do not print
        ds = datasets.Dataset.from_parquet([str(f) for f in result.files]) if result.files \
            else datasets.Dataset.from_list([], features=datasets.Features.from_arrow_schema(SCHEMA))
        ds.save_to_disk(str(out / "hf"))
        result.files.append(out / "hf")
    result.strategies = {k: sorted(v) for k, v in sorted(strategies.items())}
    result.read_errors = len(log)
    result.card = write_card(out, source=src, files=files, filtered=filtered,
                             audit_dir=audit_dir, license=license, to=to, result=result,
                             name=name)
    return result
