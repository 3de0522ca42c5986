"""Preference audit: agreement with humans, position and length bias, and locality.

Works on a *preference frame* (columns ``id``, ``a``, ``b``, ``choice`` in
{"a", "b", "tie"}, ``judge``, ``order``; see :mod:`artifactual.readers.preferences`), or on
:class:`~artifactual.records.Preference` records via :func:`preferences_to_frame`.

Locality follows the paper: a surface cue prefers one response (0 = first, 1 = second,
2 = tie, coded as in the paper's files) and the Pearson r between the cue's code and the
judge's code is reported. Cues: per-sentence entailment (max over sentences), VADER
sentiment, a word lexicon, or the paper's P2C vote over emotion lexicons.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from artifactual.analysis.stats.compare import cohen_kappa
from artifactual.errors import AnalysisError
from artifactual.records import Preference

__all__ = ["CHOICE_CODE", "preferences_to_frame", "choice_codes", "agreement",
           "agreement_with", "position_bias", "length_bias", "locality", "preference_from_scores",
           "entailment_cue", "vader_cue", "lexicon_cue", "p2c_lexicon_cue", "infer_polarity",
           "audit_preferences", "PreferenceAudit"]

#: The paper's coding of a pairwise choice.
CHOICE_CODE = {"a": 0, "b": 1, "tie": 2}
_WORD = re.compile(r"[#\w][\w'#-]*")


def preferences_to_frame(records: Iterable[Preference]) -> pd.DataFrame:
    """A preference frame from Preference records; ``id`` is the pair id, shared by both orders."""
    rows = [{"id": r.pair_id or r.id, "prompt": r.prompt, "a": r.a, "b": r.b, "choice": r.choice,
             "judge": r.judge, "order": r.order} for r in records]
    return pd.DataFrame(rows, columns=["id", "prompt", "a", "b", "choice", "judge", "order"])


def choice_codes(choices: Iterable[Any]) -> np.ndarray:
    """Map "a"/"b"/"tie" to 0/1/2 (anything else becomes NaN)."""
    return np.array([CHOICE_CODE.get(c, np.nan) if isinstance(c, str) else np.nan
                     for c in choices], dtype=float)


def _need(frame: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise AnalysisError(f"the preference table lacks columns {missing}",
                            where=f"columns: {list(frame.columns)}",
                            fix="build it with artifactual.readers.preferences or "
                                "preferences_to_frame")


def agreement(x: Sequence[Any], y: Sequence[Any]) -> dict[str, float]:
    """Accuracy and Cohen's kappa of two aligned choice sequences (missing pairs dropped)."""
    pairs = [(a, b) for a, b in zip(x, y) if isinstance(a, str) and isinstance(b, str)]
    if not pairs:
        return {"n": 0, "accuracy": float("nan"), "kappa": float("nan")}
    a, b = zip(*pairs)
    acc = float(np.mean([p == q for p, q in pairs]))
    return {"n": len(pairs), "accuracy": acc, "kappa": cohen_kappa(a, b)}


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Choices by (id, order) x judge; the first judgment of a duplicate is kept."""
    _need(frame, ["id", "choice", "judge"])
    f = frame.assign(order=frame["order"] if "order" in frame else "original")
    f = f.drop_duplicates(["id", "order", "judge"], keep="first")
    return f.pivot(index=["id", "order"], columns="judge", values="choice")


def agreement_with(frame: pd.DataFrame, reference: str = "human") -> pd.DataFrame:
    """Per judge: agreement with the ``reference`` judge on the same (id, order) pairs."""
    wide = _wide(frame)
    if reference not in wide.columns:
        raise AnalysisError(f"no judgments by {reference!r}", where=f"judges: {list(wide)}",
                            fix="pass reference= with one of the listed judges")
    rows = []
    for judge in wide.columns:
        if judge == reference:
            continue
        res = agreement(wide[reference].tolist(), wide[judge].tolist())
        rows.append({"judge": judge, "reference": reference, **res})
    return pd.DataFrame(rows, columns=["judge", "reference", "n", "accuracy", "kappa"])


def position_bias(frame: pd.DataFrame) -> pd.DataFrame:
    """Per judge: first-position win rate (non-ties), tie rate and swap consistency.

    A swapped judgment (``order == "swapped"``) shows the same two responses in the other
    order; it is consistent when it picks the same response (or ties again).
    """
    _need(frame, ["id", "choice", "judge"])
    rows = []
    wide = _wide(frame)
    for judge, part in frame.groupby("judge", sort=True):
        ch = part["choice"]
        decided = ch.isin(["a", "b"])
        row = {"judge": judge, "n": int(ch.isin(["a", "b", "tie"]).sum()),
               "first_position_win_rate": float((ch[decided] == "a").mean())
               if decided.any() else float("nan"),
               "tie_rate": float((ch == "tie").mean()) if len(ch) else float("nan")}
        cons, n_sw = float("nan"), 0
        if "order" in frame and {"original", "swapped"} <= set(part["order"]):
            j = wide[judge].unstack("order")
            both = j[["original", "swapped"]].dropna()
            flip = {"a": "b", "b": "a", "tie": "tie"}
            n_sw = len(both)
            if n_sw:
                cons = float((both["original"].map(flip) == both["swapped"]).mean())
        rows.append({**row, "n_swapped_pairs": n_sw, "swap_consistency": cons})
    return pd.DataFrame(rows, columns=["judge", "n", "first_position_win_rate", "tie_rate",
                                       "n_swapped_pairs", "swap_consistency"])


def _length(text: Any, unit: str) -> int:
    s = text if isinstance(text, str) else ""
    return len(s.split()) if unit == "words" else len(s)


def length_bias(frame: pd.DataFrame, unit: str = "words") -> pd.DataFrame:
    """Per judge: how often the longer response wins (non-ties with unequal lengths)."""
    _need(frame, ["a", "b", "choice", "judge"])
    la = np.array([_length(t, unit) for t in frame["a"]])
    lb = np.array([_length(t, unit) for t in frame["b"]])
    ch = frame["choice"].to_numpy()
    usable = np.isin(ch, ["a", "b"]) & (la != lb)
    longer_won = np.where(la > lb, ch == "a", ch == "b")
    rows = []
    for judge in sorted(frame["judge"].unique()):
        m = usable & (frame["judge"].to_numpy() == judge)
        rows.append({"judge": judge, "n": int(m.sum()),
                     "longer_win_rate": float(longer_won[m].mean()) if m.any() else float("nan")})
    return pd.DataFrame(rows, columns=["judge", "n", "longer_win_rate"])


def locality(judge_codes: Sequence[float], cue_codes: Sequence[float]) -> dict[str, float]:
    """Pearson r (and p) between a judge's and a cue's 0/1/2 codes; NaN pairs dropped."""
    x = np.asarray(judge_codes, dtype=float)
    y = np.asarray(cue_codes, dtype=float)
    if x.shape != y.shape:
        raise AnalysisError(f"judge and cue codes differ in length ({x.size} vs {y.size})",
                            fix="compute the cue on the same rows as the judge's choices")
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3 or np.all(x[ok] == x[ok][0]) or np.all(y[ok] == y[ok][0]):
        return {"n": int(ok.sum()), "r": float("nan"), "p": float("nan")}
    res = stats.pearsonr(x[ok], y[ok])
    return {"n": int(ok.sum()), "r": float(res.statistic), "p": float(res.pvalue)}


def preference_from_scores(score_a: Sequence[float], score_b: Sequence[float]) -> np.ndarray:
    """0 where a scores higher, 1 where b does, 2 on equal scores, NaN where either is NaN."""
    a = np.asarray(score_a, dtype=float)
    b = np.asarray(score_b, dtype=float)
    out = np.select([a > b, a < b], [0.0, 1.0], 2.0)
    out[np.isnan(a) | np.isnan(b)] = np.nan
    return out


def entailment_cue(scores_a: Sequence[Sequence[float]],
                   scores_b: Sequence[Sequence[float]]) -> np.ndarray:
    """Prefer the response whose best sentence entails the reference most (max over sentences)."""
    def best(lists: Sequence[Sequence[float]]) -> np.ndarray:
        return np.array([max(s) if len(s) else np.nan for s in lists], dtype=float)

    return preference_from_scores(best(scores_a), best(scores_b))


def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_cue(a: Sequence[str], b: Sequence[str], mode: str = "compound") -> np.ndarray:
    """Prefer the more positive response (``compound``) or the more intense (``intensity``)."""
    if mode not in ("compound", "intensity"):
        raise AnalysisError(f"unknown VADER mode {mode!r}", fix="use 'compound' or 'intensity'")
    analyzer = _vader()
    sa = np.array([analyzer.polarity_scores(t)["compound"] for t in a])
    sb = np.array([analyzer.polarity_scores(t)["compound"] for t in b])
    if mode == "intensity":
        sa, sb = np.abs(sa), np.abs(sb)
    return preference_from_scores(sa, sb)


def _tokens(text: str, tokenize: Callable[[str], list[str]] | None, lowercase: bool) -> list[str]:
    toks = tokenize(text) if tokenize else _WORD.findall(text or "")
    return [t.lower() for t in toks] if lowercase else list(toks)


def _lexicon_values(text: str, lexicon: Mapping[str, float],
                    tokenize: Callable[[str], list[str]] | None, lowercase: bool) -> list[float]:
    return [lexicon[t] for t in set(_tokens(text, tokenize, lowercase)) if t in lexicon]


def lexicon_cue(a: Sequence[str], b: Sequence[str], lexicon: Mapping[str, float],
                tokenize: Callable[[str], list[str]] | None = None,
                lowercase: bool = True) -> np.ndarray:
    """Prefer the response holding the highest-scoring lexicon word (0 when none matches)."""
    def top(texts: Sequence[str]) -> np.ndarray:
        return np.array([max(_lexicon_values(t, lexicon, tokenize, lowercase), default=0.0)
                         for t in texts])

    return preference_from_scores(top(a), top(b))


_POSITIVE = (("joy", "max"), ("politeness", "max_pos"), ("sentiment", "max_pos"))
_NEGATIVE = (("anger", "max"), ("disgust", "max"), ("fear", "max"), ("offensive", "max"),
             ("sadness", "max"), ("politeness", "abs_min"), ("sentiment", "abs_min"))


def _reduce(values: list[float], how: str) -> float:
    if how == "max_pos":
        values = [v for v in values if v > 0]
    if how == "abs_min":
        return abs(min(values, default=0.0))
    return max(values, default=0.0)


def p2c_lexicon_cue(a: Sequence[str], b: Sequence[str], polarity: Sequence[str | None],
                    lexicons: Mapping[str, Mapping[str, float]],
                    tokenize: Callable[[str], list[str]] | None = None,
                    lowercase: bool = True) -> np.ndarray:
    """The paper's P2C rule: per pair, emotion lexicons vote for the stronger response.

    Positive pairs: joy, politeness (> 0), sentiment (> 0), each by the highest word score.
    Negative pairs: anger, disgust, fear, offensive, sadness (highest score), politeness and
    sentiment (magnitude of the lowest score). The result is the argmax of (votes for a,
    votes for b, ties), first on equal counts; other polarities give NaN. Word scores are
    rounded to 4 decimals as in the paper. Needs the eight Hummingbird lexicon names.
    """
    need = {name for name, _ in _POSITIVE + _NEGATIVE}
    if missing := need - set(lexicons):
        raise AnalysisError(f"lexicons {sorted(missing)} are missing",
                            fix="load the eight Hummingbird *_features.tsv files")
    rounded = {k: {w: round(float(v), 4) for w, v in lex.items()} for k, lex in lexicons.items()}
    out = np.full(len(a), np.nan)
    for i, (ta, tb, pol) in enumerate(zip(a, b, polarity)):
        rules = _POSITIVE if pol == "positive" else _NEGATIVE if pol == "negative" else None
        if rules is None:
            continue
        votes = [0, 0, 0]
        for name, how in rules:
            va = _reduce(_lexicon_values(ta, rounded[name], tokenize, lowercase), how)
            vb = _reduce(_lexicon_values(tb, rounded[name], tokenize, lowercase), how)
            votes[0 if va > vb else 1 if va < vb else 2] += 1
        out[i] = float(np.argmax(votes))
    return out


def infer_polarity(a: Sequence[str], b: Sequence[str], threshold: float = 0.05) -> list[str]:
    """Pair polarity from the mean VADER compound of both texts: positive/negative/neutral."""
    analyzer = _vader()
    out = []
    for ta, tb in zip(a, b):
        score = (analyzer.polarity_scores(ta)["compound"]
                 + analyzer.polarity_scores(tb)["compound"]) / 2
        out.append("positive" if score > threshold else "negative" if score < -threshold
                   else "neutral")
    return out


@dataclass
class PreferenceAudit:
    """Per-judge preference metrics and a summary dict."""

    summary: dict[str, Any]
    judges: pd.DataFrame


def audit_preferences(data: pd.DataFrame | Iterable[Preference], reference: str = "human",
                      cue: Sequence[float] | None = None, length_unit: str = "words"
                      ) -> PreferenceAudit:
    """Run every preference check; ``cue`` (0/1/2 per row) adds locality r per judge."""
    frame = data if isinstance(data, pd.DataFrame) else preferences_to_frame(data)
    if frame.empty:
        raise AnalysisError("the preference table is empty", fix="pass at least one judgment")
    judges = position_bias(frame).merge(
        length_bias(frame, length_unit).rename(columns={"n": "n_length"}), on="judge")
    if reference in set(frame["judge"]):
        agree = agreement_with(frame, reference).rename(
            columns={"n": "n_agreement", "accuracy": "agreement", "kappa": "agreement_kappa"})
        judges = judges.merge(agree.drop(columns="reference"), on="judge", how="left")
    if cue is not None:
        cue_arr = np.asarray(cue, dtype=float)
        if cue_arr.size != len(frame):
            raise AnalysisError(f"cue has {cue_arr.size} values for {len(frame)} rows",
                                fix="compute one cue value per row of the table")
        codes = choice_codes(frame["choice"])
        loc = []
        for judge in judges["judge"]:
            m = (frame["judge"] == judge).to_numpy()
            res = locality(codes[m], cue_arr[m])
            loc.append({"judge": judge, "locality_r": res["r"], "locality_p": res["p"]})
        judges = judges.merge(pd.DataFrame(loc), on="judge", how="left")
    summary = {"n_judgments": int(len(frame)), "n_pairs": int(frame["id"].nunique()),
               "judges": judges["judge"].tolist(), "reference": reference,
               "per_judge": judges.to_dict("records")}
    return PreferenceAudit(summary, judges)
