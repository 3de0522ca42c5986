"""The sentence encoder the audit shares: loading it once, its numeric precision, and
batched encoding of distinct texts.

The default encoder is the embedded all-MiniLM-L6-v2 (:func:`artifactual.assets.encoder_dir`);
vectors are L2-normalised, so a dot product is the cosine similarity. MiniLM reads the
first 256 word pieces of a text.

**Precision.** ``"fp32"`` runs the model as trained. ``"bf16"`` runs its matrix products
under ``torch.autocast`` in bfloat16 (layer norms, softmax and the pooling stay in
float32), which is about 1.8x faster on CPUs with native bfloat16 instructions
(``avx512_bf16`` or ``amx_bf16``) and changes each vector by a cosine of at most about
4e-5 against fp32 (``benchmarks/audit_throughput.py`` measures it, and the flags that
change). ``"auto"`` (the default) picks bf16 where the CPU has those instructions and
fp32 elsewhere: on a CPU without them bf16 is emulated and slower. The precision is
chosen by the ``precision`` argument, else the environment variable
``ARTIFACTUAL_ENCODER_PRECISION``, else ``"auto"``; the audit records the one it used in
``summary.json`` (``text_models``).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from artifactual.errors import AnalysisError

__all__ = ["PRECISIONS", "PRECISION_ENV", "load_encoder", "native_bf16", "resolve_precision",
           "embed", "unique"]

PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_ENV = "ARTIFACTUAL_ENCODER_PRECISION"
ProgressFn = Callable[[str, int, "int | None"], None]
_EMBED_CHUNK = 512  # texts per progress report while encoding
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@lru_cache(maxsize=2)
def load_encoder(name_or_path: str | None = None, device: str | None = None) -> Any:
    """A SentenceTransformer on the embedded MiniLM (or ``name_or_path``), loaded once."""
    import transformers.utils.logging as hf_logging
    from sentence_transformers import SentenceTransformer

    from artifactual.assets import resolve_encoder

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code never prints
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return SentenceTransformer(resolve_encoder(name_or_path), device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


@lru_cache(maxsize=1)
def native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when this CPU advertises native bfloat16 arithmetic (Linux cpuinfo flags)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def resolve_precision(precision: str | None = None) -> str:
    """``"fp32"`` or ``"bf16"``: ``precision``, else $ARTIFACTUAL_ENCODER_PRECISION, else
    ``"auto"`` (bf16 where :func:`native_bf16`)."""
    given = precision or os.environ.get(PRECISION_ENV) or "auto"
    value = given.strip().lower()
    if value not in PRECISIONS:
        source = "precision" if precision else PRECISION_ENV
        raise AnalysisError(f"unknown encoder precision {given!r} (from {source})",
                            fix=f"use one of {', '.join(PRECISIONS)}")
    if value == "auto":
        return "bf16" if native_bf16() else "fp32"
    return value


def unique(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order, and each input's position among them."""
    seen: dict[str, int] = {}
    where = np.fromiter((seen.setdefault(t, len(seen)) for t in texts), dtype=np.int64,
                        count=len(texts))
    return list(seen), where


def _encode(model: Any, texts: list[str], batch_size: int, precision: str) -> np.ndarray:
    kwargs = dict(batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                  show_progress_bar=False)
    if precision != "bf16":
        return model.encode(texts, **kwargs)
    import torch

    device = getattr(model, "device", None)
    with torch.autocast(getattr(device, "type", "cpu"), dtype=torch.bfloat16):
        return np.asarray(model.encode(texts, **kwargs), dtype=np.float32)


def embed(texts: Sequence[str], *, batch_size: int = 64, encoder: str | None = None,
          precision: str | None = None, progress: ProgressFn | None = None) -> np.ndarray:
    """L2-normalised vectors for ``texts`` (n x 384, float32), each distinct text once,
    at ``precision`` (module docstring)."""
    distinct, where = unique(texts)
    if not distinct:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_encoder(encoder)
    chosen = resolve_precision(precision)
    # Sorted by length over all texts, so every batch pads little (the encoder sorts only
    # within one call, and we call it per chunk to report progress).
    order = np.argsort([len(t) for t in distinct], kind="stable")
    dim = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension  # renamed in sentence-transformers 6
    vectors = np.empty((len(distinct), dim()), dtype=np.float32)
    for start in range(0, len(distinct), _EMBED_CHUNK):
        rows = order[start:start + _EMBED_CHUNK]
        vectors[rows] = _encode(model, [distinct[i] for i in rows], batch_size, chosen)
        if progress is not None:
            progress("embed", start + len(rows), len(distinct))
    return vectors[where]
