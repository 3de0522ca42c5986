"""What an audit read: one fingerprint (path, size, sha256) per input file.

``summary.json`` ``inputs`` holds them, so that what acts on an audit later (``filter``,
``export``) can check that its records are the ones audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from artifactual.readers.base import input_files

__all__ = ["file_fingerprint", "input_fingerprints"]

_CHUNK = 1 << 20


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """``{"path", "size", "sha256"}`` of one file, read in 1 MiB chunks."""
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return {"path": str(p), "size": p.stat().st_size, "sha256": digest.hexdigest()}


def input_fingerprints(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The fingerprint of every file the readers read under ``paths`` (a run directory's
    records.jsonl, each file of a directory ...), in reading order; missing paths are
    left out (the readers report them)."""
    out: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        if path.exists():
            out.extend(file_fingerprint(f) for f in input_files(path))
    return out
