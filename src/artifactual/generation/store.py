"""The run directory: manifest, append-only records, request cache, errors.

::

    DIR/manifest.json    resolved config, versions, fingerprint, token totals
    DIR/records.jsonl    one line per finished record, appended and flushed per step
    DIR/cache.sqlite     request hash -> result (successful results only)
    DIR/errors.jsonl     one line per failed request or bad input
    DIR/parts/shard-NNNNN/   (``generate --ray``) one run directory per shard, same layout;
                         its records are merged into DIR/records.jsonl (the merged view)

After a hard kill, a torn last line of ``records.jsonl`` (no trailing newline)
is cut off on open; every complete line is kept byte-identical. Finished
records are skipped on resume and unfinished dialogues replay from the cache.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from artifactual.errors import RunStoreError
from artifactual.generation.backends.base import ChatResult
from artifactual.records import Record, record_from_json, record_to_json, sha256_text, utc_now

__all__ = ["RunStore", "ResultCache", "config_fingerprint"]


def config_fingerprint(config: dict[str, Any]) -> str:
    """sha256 of the resolved config (what decides the run's records)."""
    return sha256_text(json.dumps(config, sort_keys=True, ensure_ascii=False, default=str))


class ResultCache:
    """SQLite map from request hash to a successful :class:`ChatResult`."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(str(path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, ChatResult]:
        found: dict[str, ChatResult] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM results WHERE key IN ({marks})", chunk):
                found[key] = ChatResult.model_validate_json(value).model_copy(update={"cached": True})
        return found

    def put_many(self, items: Iterable[tuple[str, ChatResult]]) -> None:
        rows = [(k, r.model_dump_json(exclude={"cached"})) for k, r in items if r.ok]
        if rows:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class RunStore:
    """A run directory. Opening an existing one resumes it (same fingerprint required)."""

    def __init__(self, root: str | Path, config: dict[str, Any], *, versions: dict[str, Any] | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.records_path = self.root / "records.jsonl"
        self.errors_path = self.root / "errors.jsonl"
        self.manifest_path = self.root / "manifest.json"
        self.fingerprint = config_fingerprint(config)
        self.manifest = self._open_manifest(config, versions or {})
        self._repair_tail()
        self.done_ids = self._read_ids()
        self.cache = ResultCache(self.root / "cache.sqlite")
        self._records = open(self.records_path, "a", encoding="utf-8")
        self._errors = open(self.errors_path, "a", encoding="utf-8")
        self._part_offsets: dict[Path, int] = {}
        self.merge_parts()

    # -- opening ----------------------------------------------------------------
    def _open_manifest(self, config: dict[str, Any], versions: dict[str, Any]) -> dict[str, Any]:
        if self.manifest_path.exists():
            try:
                manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise RunStoreError(f"manifest is not valid JSON ({exc})", where=str(self.manifest_path),
                                    fix="restore it, or start a new run in another directory") from exc
            if manifest.get("fingerprint") != self.fingerprint:
                raise RunStoreError(
                    "this run directory was made with a different config",
                    where=str(self.manifest_path),
                    fix="use the original config to resume, or pass a new --out directory")
            manifest["resumed_at"] = manifest.get("resumed_at", []) + [utc_now()]
        else:
            manifest = {"fingerprint": self.fingerprint, "created_at": utc_now(), "config": config,
                        "versions": versions, "usage": {}, "status": "running"}
        self._write_manifest(manifest)
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.manifest_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def _repair_tail(self) -> None:
        """Cut a torn last line left by a hard kill; complete lines stay byte-identical."""
        if not self.records_path.exists():
            return
        with open(self.records_path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def _read_ids(self) -> set[str]:
        ids: set[str] = set()
        if self.records_path.exists():
            for n, line in enumerate(self.records_path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    ids.add(_record_id(json.loads(line)))
                except (json.JSONDecodeError, KeyError) as exc:
                    raise RunStoreError(f"line {n} is not a record ({exc})", where=str(self.records_path),
                                        fix="remove the broken line, then resume") from exc
        return ids

    # -- writing ----------------------------------------------------------------
    def append(self, records: Iterable[Record]) -> int:
        """Append finished records (skipping ids already present); flush and fsync."""
        lines = []
        for r in records:
            rid = _record_id(r.model_dump())
            if rid in self.done_ids:
                continue
            self.done_ids.add(rid)
            lines.append(record_to_json(r) + "\n")
        if lines:
            self._records.write("".join(lines))
            self._records.flush()
            os.fsync(self._records.fileno())
        return len(lines)

    def error(self, **fields: Any) -> None:
        """Log one failure to errors.jsonl."""
        self._errors.write(json.dumps({"at": utc_now(), **fields}, ensure_ascii=False, default=str) + "\n")
        self._errors.flush()

    def add_usage(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        u = self.manifest.setdefault("usage", {}).setdefault(model, {"prompt_tokens": 0, "completion_tokens": 0})
        u["prompt_tokens"] += int(prompt_tokens)
        u["completion_tokens"] += int(completion_tokens)

    def finish(self, **fields: Any) -> None:
        """Mark the run complete and write the manifest."""
        self.manifest.update(fields)
        self.manifest["status"] = "complete"
        self.manifest["finished_at"] = utc_now()
        self._write_manifest(self.manifest)

    def checkpoint(self) -> None:
        self._write_manifest(self.manifest)

    # -- shards (generate --ray) -------------------------------------------------
    @property
    def parts_dir(self) -> Path:
        return self.root / "parts"

    def part_dir(self, shard: int) -> Path:
        """The run directory of one shard."""
        return self.parts_dir / f"shard-{shard:05d}"

    def merge_parts(self) -> int:
        """Bring the shards' records into the merged view ``records.jsonl``.

        Appends every complete line of ``parts/shard-*/records.jsonl`` whose record id the
        view lacks (byte-identical; a torn line of a killed worker waits until it is
        complete), and each shard's new ``errors.jsonl`` lines to ``errors.jsonl`` (how far
        they were merged is kept in the manifest, so a resume does not repeat them).
        Returns the number of records added. Safe while workers are still writing.
        """
        if not self.parts_dir.is_dir():
            return 0
        added: list[str] = []
        merged = self.manifest.setdefault("parts_merged", {})
        for part in sorted(self.parts_dir.glob("shard-*")):
            path = part / "records.jsonl"
            chunk, self._part_offsets[path] = _complete_lines(path, self._part_offsets.get(path, 0))
            for line in chunk:
                try:
                    rid = _record_id(json.loads(line))
                except (json.JSONDecodeError, KeyError) as exc:
                    raise RunStoreError(f"a line is not a record ({exc})", where=str(path),
                                        fix="remove the broken line, then resume") from exc
                if rid not in self.done_ids:
                    self.done_ids.add(rid)
                    added.append(line)
            errors, offset = _complete_lines(part / "errors.jsonl", merged.get(part.name, 0))
            if errors:
                self._errors.write("".join(errors))
                self._errors.flush()
                merged[part.name] = offset
                self.checkpoint()
        if added:
            self._records.write("".join(added))
            self._records.flush()
            os.fsync(self._records.fileno())
        return len(added)

    def records(self) -> list[Record]:
        """Every record in the run, in file order."""
        with open(self.records_path, encoding="utf-8") as fh:
            return [record_from_json(line) for line in fh if line.strip()]

    def close(self) -> None:
        self._records.close()
        self._errors.close()
        self.cache.close()


def _complete_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """The complete (newline-ended) lines of ``path`` after byte ``offset``, and the offset
    just past them."""
    if not path.exists():
        return [], offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    lines = [ln.decode("utf-8") + "\n" for ln in data[:end].split(b"\n")[:-1] if ln.strip()]
    return lines, offset + end


def _record_id(data: dict[str, Any]) -> str:
    if "id" in data:
        return str(data["id"])
    return f"{data['item_id']}::{data['annotator']}"
