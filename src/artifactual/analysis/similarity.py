"""Cheap surface similarity between two texts, for repetition checks.

:func:`text_similarity` is the cosine between bag-of-n-gram count vectors
(word unigrams and bigrams by default) after lower-casing and dropping
punctuation. It is linear in the text length, symmetric, 1.0 for texts with the
same words in the same order, and 0.0 when either text has no words. It measures
wording, not meaning: use the MiniLM encoder for paraphrases.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["words", "ngram_counts", "text_similarity", "Profile"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|<[A-Z_]+>")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words, ``<TOKENS>`` kept whole)."""
    return [w.lower() for w in _WORD.findall(text or "")]


def ngram_counts(tokens: list[str], max_n: int = 2) -> Counter[tuple[str, ...]]:
    """Counts of every 1..``max_n``-gram of ``tokens``."""
    counts: Counter[tuple[str, ...]] = Counter()
    for n in range(1, max_n + 1):
        counts.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return counts


class Profile:
    """A text's n-gram counts and their norm, computed once for many comparisons."""

    __slots__ = ("counts", "norm")

    def __init__(self, text: str, max_n: int = 2) -> None:
        self.counts = ngram_counts(words(text), max_n)
        self.norm = math.sqrt(sum(v * v for v in self.counts.values()))

    def similarity(self, other: "Profile") -> float:
        """Cosine similarity in [0, 1]; 0.0 when either text has no words."""
        if not self.norm or not other.norm:
            return 0.0
        small, large = ((self.counts, other.counts) if len(self.counts) <= len(other.counts)
                        else (other.counts, self.counts))
        dot = sum(v * large.get(k, 0) for k, v in small.items())
        return min(1.0, dot / (self.norm * other.norm))


def text_similarity(a: str, b: str, max_n: int = 2) -> float:
    """Cosine similarity in [0, 1] of the two texts' 1..``max_n``-gram counts."""
    return Profile(a, max_n).similarity(Profile(b, max_n))
