"""ROUGE-L between instructions, as rouge-score computes it, and each instruction's
nearest other one (:func:`nearest_instructions`, for :mod:`.instructions`).

Tokens are rouge-score's default tokenizer (lowercase, alphanumeric, no stemming) and F1
is its formula; the LCS is bit-parallel (checked against rouge-score in the tests). The
nearest-neighbour search is exact but pruned: a bag-of-words bound on the LCS skips
pairs that cannot beat the best match found so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["rouge_tokens", "lcs_length", "rouge_l", "nearest_instructions"]


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rouge_score import tokenizers

    return tokenizers.DefaultTokenizer(use_stemmer=False)


def rouge_tokens(text: str) -> list[str]:
    """rouge-score's default tokens (lowercase, alphanumeric, no stemming)."""
    return _tokenizer().tokenize(text or "")


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (bit-parallel, Allison-Dix/Hyyro)."""
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def rouge_l(a: Sequence[str], b: Sequence[str]) -> tuple[float, float, float]:
    """ROUGE-L (precision of ``b`` against ``a``, recall, F1) on token lists, as rouge-score
    computes it (``RougeScorer(["rougeL"]).score(a_text, b_text)``)."""
    if not a or not b:
        return 0.0, 0.0, 0.0
    lcs = lcs_length(a, b)
    p, r = lcs / len(b), lcs / len(a)
    return p, r, (2 * p * r / (p + r) if lcs else 0.0)


def _rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    return rouge_l(a, b)[2]


def nearest_instructions(texts: Sequence[str], groups: Sequence[Any],
                         tasks: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per text: max ROUGE-L F1 to another text of the same group and another task, and
    that text's position (-1 when there is none)."""
    n = len(texts)
    toks = [rouge_tokens(t) for t in texts]
    best, arg = np.zeros(n), np.full(n, -1)
    if n < 2:
        return best, arg
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, ts in enumerate(toks):
        for w, c in Counter(ts).items():
            rows.append(i)
            cols.append(vocab.setdefault(w, len(vocab)))
            vals.append(c)
    counts = sparse.csr_matrix((vals, (rows, cols)), shape=(n, max(len(vocab), 1)))
    present = (counts > 0).astype(float)
    lens = np.array([len(t) for t in toks], dtype=float)
    groups_a, tasks_a = np.asarray(groups, dtype=object), np.asarray(tasks, dtype=object)
    cache: dict[tuple[int, int], float] = {}
    for lo in range(0, n, 256):
        block = slice(lo, min(n, lo + 256))
        # multiset overlap <= each side's counts on the other side's words; LCS <= overlap
        mine = (counts[block] @ present.T).toarray()
        theirs = (present[block] @ counts.T).toarray()
        for r, i in enumerate(range(block.start, block.stop)):
            bound = 2 * np.minimum(mine[r], theirs[r]) / np.maximum(lens + lens[i], 1)
            cand = np.flatnonzero((groups_a == groups_a[i]) & (tasks_a != tasks_a[i]))
            for j in cand[np.argsort(-bound[cand], kind="stable")]:
                if arg[i] >= 0 and bound[j] <= best[i]:
                    break
                key = (min(i, j), max(i, j))
                if key not in cache:
                    cache[key] = _rouge_l(toks[i], toks[j])
                if arg[i] < 0 or cache[key] > best[i]:
                    best[i], arg[i] = cache[key], j
    return best, arg
