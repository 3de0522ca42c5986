"""Style columns: hand-checked formulas, and the real pipeline on contrasting texts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from artifactual.analysis.corpora.style import (STYLE_COLUMNS, flesch_reading_ease, formality, mtld,
                                        style_table, syllables)


def test_mtld_by_hand() -> None:
    # "a a": TTR falls to 0.5 at every second token -> factors of 2 tokens, both ways
    assert mtld(["a"] * 8) == pytest.approx(2.0)
    # a b a: TTR 2/3 <= 0.72 closes a factor every 3 tokens; 6 tokens -> 2 factors
    assert mtld(["a", "b", "a", "a", "b", "a"]) == pytest.approx(3.0)
    # the TTR never falls below 1: lexicalrichness counts one factor, MTLD = word count
    assert mtld(["one", "two", "three"]) == pytest.approx(3.0)
    assert math.isnan(mtld([]))
    # a partial last factor: "a b c a" forward closes no factor (TTR 0.75 > 0.72), so it is
    # (1 - 0.75) / (1 - 0.72) of one; backwards the same -> 4 / 0.892857...
    assert mtld(["a", "b", "c", "a"]) == pytest.approx(4 / ((1 - 0.75) / (1 - 0.72)))


def test_formality_worked_count() -> None:
    """Heylighen & Dewaele's F-score on a worked count: 200 words with 50 nouns, 20
    adjectives, 25 prepositions, 15 articles, 20 pronouns, 40 verbs, 10 adverbs, 2
    interjections and 18 others (conjunctions, numerals, other determiners). As percentages:
    F = (25 + 10 + 12.5 + 7.5 - 10 - 20 - 5 - 1 + 100) / 2 = 59.5."""
    counts = [("NOUN", "river", 50), ("ADJ", "wide", 20), ("ADP", "of", 25), ("DET", "the", 15),
              ("PRON", "they", 20), ("VERB", "run", 40), ("ADV", "slowly", 10),
              ("INTJ", "oh", 2), ("CCONJ", "and", 10), ("NUM", "two", 5), ("DET", "this", 3)]
    pos = [p for p, _, n in counts for _ in range(n)]
    words = [w for _, w, n in counts for _ in range(n)]
    assert len(pos) == 200
    assert formality(pos, words) == pytest.approx(59.5)


def test_formality_by_hand() -> None:
    pos = ["NOUN", "ADJ", "ADP", "DET", "PRON", "VERB"]
    words = ["cat", "big", "on", "the", "it", "sat"]
    assert formality(pos, words) == pytest.approx((100 * (4 - 2) / 6 + 100) / 2)
    assert formality(["DET"], ["this"]) == pytest.approx(50.0)  # not an article
    assert math.isnan(formality([], []))


@pytest.mark.parametrize("word, n", [("cat", 1), ("table", 2), ("beautiful", 4),
                                     ("jumped", 1), ("wanted", 2), ("boxes", 2),
                                     ("makes", 1), ("readability", 5), ("", 0)])
def test_syllables(word: str, n: int) -> None:
    assert syllables(word) == n


def test_flesch_formula() -> None:
    assert flesch_reading_ease(100, 5, 150) == pytest.approx(206.835 - 1.015 * 20 - 84.6 * 1.5)
    assert math.isnan(flesch_reading_ease(0, 0, 0))


TEXTS = {
    "chatty": "I think I might come, but I'm not sure. Maybe I'll just stay home, I guess. "
              "We love you!",
    "formal": "The committee approved the annual budget of the department. Consequently, the "
              "allocation for research increases by ten percent in the next fiscal year.",
    "plain": "The cat sat on the mat.",
    "empty": "",
}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return style_table(list(TEXTS.values()), index=list(TEXTS))


def test_columns_and_counts(table: pd.DataFrame) -> None:
    assert list(table.columns) == STYLE_COLUMNS
    assert list(table.index) == list(TEXTS)
    assert table.loc["plain", "n_words"] == 6 and table.loc["plain", "n_sentences"] == 1
    assert table.loc["plain", "mean_sentence_length"] == 6
    assert table.loc["formal", "n_sentences"] == 2
    assert table.loc["plain", "n_chars"] == len(TEXTS["plain"])


def test_contrasts(table: pd.DataFrame) -> None:
    chatty, formal = table.loc["chatty"], table.loc["formal"]
    assert formal["formality"] > chatty["formality"] + 15
    assert chatty["hedges_per_100w"] > 10 and formal["hedges_per_100w"] == 0
    assert chatty["uncertainty_per_100w"] > 0 and formal["uncertainty_per_100w"] == 0
    assert chatty["first_singular_per_100w"] > 15 and formal["first_singular_per_100w"] == 0
    assert chatty["first_plural_per_100w"] > 0 and chatty["second_person_per_100w"] > 0
    assert chatty["sentiment_compound"] > 0.3  # "love"
    assert formal["flesch_reading_ease"] < table.loc["plain", "flesch_reading_ease"]
    assert formal["Contingency_connectives_per_100w"] > 0  # "consequently"
    assert chatty["Comparison_connectives_per_100w"] > 0  # "but"
    assert formal["connectives_per_100w"] == pytest.approx(
        sum(formal[f"{s}_connectives_per_100w"] for s in
            ("Temporal", "Contingency", "Comparison", "Expansion")))


def test_empty_text_gives_nan_rates(table: pd.DataFrame) -> None:
    empty = table.loc["empty"]
    assert empty["n_words"] == 0 and empty["n_sentences"] == 0
    for col in ("mean_sentence_length", "mtld", "formality", "hedges_per_100w",
                "flesch_reading_ease", "connectives_per_100w"):
        assert math.isnan(empty[col]), col


def test_parsed_docs_are_accepted() -> None:
    from artifactual.analysis.corpora.discourse import parse_texts

    docs = parse_texts([TEXTS["plain"]])
    again = style_table(docs)
    assert again.iloc[0]["n_words"] == 6
