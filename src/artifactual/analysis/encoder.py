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

**Batches.** A text's padded length depends on the text alone: its length in word
pieces rounded up to a multiple of 16, and each batch holds texts of one such length.
Under bf16 the padded length changes a text's vector by up to about 1.5e-3 (it changes
the matrix products' shapes and so their rounding), so with batches padded to their
longest text a text got other vectors in a sharded audit (``audit --ray``) than in one
pass over the corpus; now both give the same vectors. With sentence-transformers before
6 (no per-call tokenizer arguments) batches hold texts of one exact length instead,
which pads nothing but spends about twice the CPU time on small batches.
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
_PAD_MULTIPLE = 16  # word pieces: padded lengths are multiples of this
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


def _encode(model: Any, texts: list[str], batch_size: int, precision: str,
            pad_to: int = 1) -> np.ndarray:
    kwargs: dict[str, Any] = dict(batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
    if pad_to > 1:
        kwargs["processing_kwargs"] = {"text": {"pad_to_multiple_of": pad_to}}
    if precision != "bf16":
        return model.encode(texts, **kwargs)
    import torch

    device = getattr(model, "device", None)
    with torch.autocast(getattr(device, "type", "cpu"), dtype=torch.bfloat16):
        return np.asarray(model.encode(texts, **kwargs), dtype=np.float32)


def _pad_multiple(model: Any) -> int:
    """The padded lengths' step: :data:`_PAD_MULTIPLE` where the encoder takes per-call
    tokenizer arguments (sentence-transformers 6) and reads a multiple of it, else 1
    (batches of one exact length)."""
    first = model[0] if hasattr(model, "__getitem__") else None
    limit = getattr(model, "max_seq_length", None) or 0
    ok = hasattr(first, "processing_kwargs") and limit and limit % _PAD_MULTIPLE == 0
    return _PAD_MULTIPLE if ok else 1


def _batches(model: Any, texts: list[str], batch_size: int, multiple: int) -> list[np.ndarray]:
    """Positions of ``texts`` in batches of at most ``batch_size`` whose texts share one
    length in word pieces (as the encoder reads them: truncated, with its special tokens)
    rounded up to ``multiple``, shortest first. Each batch then pads to that length
    whatever else it holds, so a text's vector never depends on its batch (module
    docstring)."""
    limit = getattr(model, "max_seq_length", None) or 512
    ids = model.tokenizer(texts, add_special_tokens=True, truncation=True,
                          max_length=limit)["input_ids"]
    lengths = np.fromiter((-(-len(i) // multiple) * multiple for i in ids), dtype=np.int64,
                          count=len(texts))
    order = np.argsort(lengths, kind="stable")
    out: list[np.ndarray] = []
    for run in np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1):
        out.extend(run[i:i + batch_size] for i in range(0, len(run), batch_size))
    return out


def embed(texts: Sequence[str], *, batch_size: int = 64, encoder: str | None = None,
          precision: str | None = None, progress: ProgressFn | None = None) -> np.ndarray:
    """L2-normalised vectors for ``texts`` (n x 384, float32), each distinct text once,
    at ``precision`` (module docstring), in batches of one padded length."""
    distinct, where = unique(texts)
    if not distinct:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_encoder(encoder)
    chosen = resolve_precision(precision)
    dim = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension  # renamed in sentence-transformers 6
    vectors = np.empty((len(distinct), dim()), dtype=np.float32)
    multiple = _pad_multiple(model)
    done = reported = 0
    for rows in _batches(model, distinct, batch_size, multiple):
        vectors[rows] = _encode(model, [distinct[i] for i in rows], len(rows), chosen, multiple)
        done += len(rows)
        if progress is not None and (done - reported >= _EMBED_CHUNK or done == len(distinct)):
            progress("embed", done, len(distinct))
            reported = done
    return vectors[where]
