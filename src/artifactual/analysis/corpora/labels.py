"""Task-label audit: human vs model labels on the same items (Das et al., 2024, task labels).

Input is a *wide* table, one row per item with a list of human labels and a list of model
labels (columns ``item_id``, ``human``, ``model``; other names can be passed), or
:class:`~artifactual.records.Label` records, turned wide by :func:`labels_to_wide`.

Definitions (the paper's):

* majority: every label with the maximum count; none when that count is 1;
* minority: every label with the minimum count; none when all counts are equal;
* a match: the human and model sets intersect (no match when either is none);
* per-item variation: the sample standard deviation (ddof=1) of numeric labels;
* label flips: human and model labels paired by position, as the paper does.

Agreement statistics use one label per item and side: the *unique majority* (a majority
set of exactly one label); items without one on either side are left out of Cohen's kappa.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analysis.stats.compare import cohen_kappa
from artifactual.errors import AnalysisError
from artifactual.records import Label

__all__ = ["majority", "minority", "sets_match", "unique_majority", "is_model_annotator",
           "labels_to_wide", "item_table", "flip_matrix", "label_distribution",
           "cohen_kappa_majority", "krippendorff_alpha", "distribution_shift", "audit_labels",
           "LabelAudit"]


def majority(labels: Sequence[Hashable]) -> list[Hashable] | None:
    """Every label with the maximum count, or None when that count is 1 (or no labels)."""
    counts = Counter(labels)
    if not counts:
        return None
    top = max(counts.values())
    return None if top == 1 else sorted((k for k, c in counts.items() if c == top), key=repr)


def minority(labels: Sequence[Hashable]) -> list[Hashable] | None:
    """Every label with the minimum count, or None when all counts are equal (or no labels)."""
    counts = Counter(labels)
    if not counts or len(set(counts.values())) == 1:
        return None
    low = min(counts.values())
    return sorted((k for k, c in counts.items() if c == low), key=repr)


def sets_match(a: Iterable[Hashable] | None, b: Iterable[Hashable] | None) -> bool:
    """True when both are given and share at least one label."""
    if a is None or b is None:
        return False
    return bool(set(a) & set(b))


def unique_majority(labels: Sequence[Hashable]) -> Hashable | None:
    """The single majority label, or None when the majority is empty or tied."""
    maj = majority(labels)
    return maj[0] if maj is not None and len(maj) == 1 else None


def is_model_annotator(label: Label) -> bool:
    """Default split: a model's label has provenance or an annotator like ``model#k``."""
    return label.provenance is not None or "#" in label.annotator


def labels_to_wide(records: Iterable[Label],
                   is_model: Callable[[Label], bool] = is_model_annotator) -> pd.DataFrame:
    """Group Label records by item: columns item_id, text, dataset, human, model (lists)."""
    items: dict[str, dict[str, Any]] = {}
    for rec in records:
        row = items.setdefault(rec.item_id, {"item_id": rec.item_id, "text": rec.text,
                                             "dataset": rec.dataset, "human": [], "model": []})
        if rec.label is None:
            continue
        row["model" if is_model(rec) else "human"].append(rec.label)
    return pd.DataFrame(list(items.values()),
                        columns=["item_id", "text", "dataset", "human", "model"])


def _std(labels: Sequence[Any]) -> float:
    try:
        x = np.asarray(labels, dtype=float)
    except (TypeError, ValueError):
        return float("nan")
    return float(np.std(x, ddof=1)) if x.size > 1 else float("nan")


def _lists(wide: pd.DataFrame, human: str, model: str) -> tuple[pd.Series, pd.Series]:
    for col in (human, model):
        if col not in wide.columns:
            raise AnalysisError(f"column {col!r} is missing from the label table",
                                where=f"columns: {list(wide.columns)}",
                                fix="pass human=/model= with the names of the label-list columns")
    out = []
    for col in (human, model):
        cells = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else None
                 for v in wide[col]]
        bad = [i for i, v in enumerate(cells) if v is None]
        if bad:
            raise AnalysisError(f"{len(bad)} cells of {col!r} are not label lists "
                                f"(first at row {bad[0]})",
                                fix="read the table with artifactual.readers.labels."
                                    "read_wide_labels")
        out.append(pd.Series(cells, dtype=object))
    return out[0], out[1]


def item_table(wide: pd.DataFrame, human: str = "human", model: str = "model") -> pd.DataFrame:
    """One row per item: majority/minority sets and matches, std and all-identical flags."""
    h, m = _lists(wide, human, model)
    ids = wide["item_id"] if "item_id" in wide else wide.index.to_series()
    out = pd.DataFrame({"item_id": ids.to_numpy()})
    out["n_human"] = h.map(len).to_numpy()
    out["n_model"] = m.map(len).to_numpy()
    # list comprehensions, not Series.map: pandas would turn None into NaN
    out["human_majority"] = pd.Series([majority(x) for x in h], dtype=object).to_numpy()
    out["model_majority"] = pd.Series([majority(x) for x in m], dtype=object).to_numpy()
    out["human_minority"] = pd.Series([minority(x) for x in h], dtype=object).to_numpy()
    out["model_minority"] = pd.Series([minority(x) for x in m], dtype=object).to_numpy()
    out["majority_match"] = [sets_match(a, b) for a, b in
                             zip(out["human_majority"], out["model_majority"])]
    out["minority_match"] = [sets_match(a, b) for a, b in
                             zip(out["human_minority"], out["model_minority"])]
    out["human_std"] = h.map(_std).to_numpy()
    out["model_std"] = m.map(_std).to_numpy()
    out["human_identical"] = h.map(lambda x: len(x) > 0 and len(set(x)) == 1).to_numpy()
    out["model_identical"] = m.map(lambda x: len(x) > 0 and len(set(x)) == 1).to_numpy()
    return out


def flip_matrix(wide: pd.DataFrame, human: str = "human", model: str = "model",
                include_agreement: bool = False) -> pd.DataFrame:
    """Counts of (human label -> model label), labels paired by position within an item.

    Rows are human labels, columns model labels. The diagonal (no flip) is zero unless
    ``include_agreement``. Extra labels on the longer side of an item are not paired.
    """
    h, m = _lists(wide, human, model)
    pairs = Counter((a, b) for hl, ml in zip(h, m) for a, b in zip(hl, ml)
                    if include_agreement or a != b)
    labels = sorted({v for lst in (*h, *m) for v in lst}, key=_sort_key)
    mat = pd.DataFrame(0, index=pd.Index(labels, name="human"),
                       columns=pd.Index(labels, name="model"), dtype=int)
    for (a, b), c in pairs.items():
        mat.loc[a, b] = c
    return mat


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, float(v)) if isinstance(v, (int, float, np.number)) else (1, str(v))


def label_distribution(wide: pd.DataFrame, human: str = "human",
                       model: str = "model") -> pd.DataFrame:
    """Pooled label shares per side: index label, columns human, model (each sums to 1)."""
    h, m = _lists(wide, human, model)
    hc = Counter(v for lst in h for v in lst)
    mc = Counter(v for lst in m for v in lst)
    labels = sorted(set(hc) | set(mc), key=_sort_key)
    dist = pd.DataFrame({"human": [hc[k] for k in labels], "model": [mc[k] for k in labels]},
                        index=pd.Index(labels, name="label"), dtype=float)
    totals = dist.sum(axis=0).replace(0, np.nan)
    return dist / totals


def cohen_kappa_majority(wide: pd.DataFrame, human: str = "human",
                         model: str = "model") -> tuple[float, int]:
    """Cohen's kappa between per-item unique-majority labels; returns (kappa, items used)."""
    h, m = _lists(wide, human, model)
    pairs = [(a, b) for a, b in ((unique_majority(x), unique_majority(y)) for x, y in zip(h, m))
             if a is not None and b is not None]
    if len(pairs) < 2:
        return float("nan"), len(pairs)
    a, b = zip(*pairs)
    return cohen_kappa(a, b), len(pairs)


def krippendorff_alpha(label_lists: Iterable[Sequence[Any]], level: str = "nominal") -> float:
    """Krippendorff's alpha over items (coders = positions in each list; missing = NaN)."""
    import krippendorff

    lists = [list(x) for x in label_lists]
    width = max((len(x) for x in lists), default=0)
    if width < 2 or len(lists) < 2:
        return float("nan")
    values = sorted({v for x in lists for v in x}, key=_sort_key)
    if level == "nominal":
        code = {v: float(i) for i, v in enumerate(values)}
    else:
        try:
            code = {v: float(v) for v in values}
        except (TypeError, ValueError) as exc:
            raise AnalysisError(f"level {level!r} needs numeric labels: {exc}",
                                fix="use level='nominal' for categorical labels") from exc
    data = np.full((width, len(lists)), np.nan)
    for j, x in enumerate(lists):
        data[: len(x), j] = [code[v] for v in x]
    if len(values) < 2:
        return float("nan")
    try:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except ValueError:
        return float("nan")


def distribution_shift(dist: pd.DataFrame) -> dict[str, Any]:
    """JS divergence (base 2, in [0, 1]; the squared scipy distance) and majority-class delta.

    The majority class is the most frequent human label; the delta is model share minus
    human share of that class.
    """
    from scipy.spatial.distance import jensenshannon

    if dist.empty or dist["human"].isna().all() or dist["model"].isna().all():
        return {"js_divergence": float("nan"), "majority_class": None,
                "majority_share_human": float("nan"), "majority_share_model": float("nan"),
                "majority_share_delta": float("nan")}
    js = float(jensenshannon(dist["human"].to_numpy(), dist["model"].to_numpy(), base=2) ** 2)
    top = dist["human"].idxmax()
    h, m = float(dist.loc[top, "human"]), float(dist.loc[top, "model"])
    return {"js_divergence": js, "majority_class": _plain(top), "majority_share_human": h,
            "majority_share_model": m, "majority_share_delta": m - h}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class LabelAudit:
    """The label audit: a summary dict and its tables."""

    summary: dict[str, Any]
    items: pd.DataFrame
    flips: pd.DataFrame
    distribution: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def audit_labels(data: pd.DataFrame | Iterable[Label], human: str = "human", model: str = "model",
                 level: str = "nominal") -> LabelAudit:
    """Audit human vs model labels from a wide table or Label records.

    Summary keys: n_items, majority_match_rate, minority_match_rate, human/model
    identical_rate and mean_std, cohen_kappa (+ kappa_items), alpha_human, alpha_model,
    alpha_majority, and the :func:`distribution_shift` keys.
    """
    if isinstance(data, pd.DataFrame):
        wide = data
    else:
        wide, human, model = labels_to_wide(data), "human", "model"
    if len(wide) == 0:
        raise AnalysisError("the label table is empty", fix="pass at least one item")
    items = item_table(wide, human, model)
    dist = label_distribution(wide, human, model)
    kappa, k_items = cohen_kappa_majority(wide, human, model)
    maj = [(unique_majority(x), unique_majority(y)) for x, y in zip(wide[human], wide[model])]
    summary: dict[str, Any] = {
        "n_items": int(len(items)),
        "majority_match_rate": float(items["majority_match"].mean()),
        "minority_match_rate": float(items["minority_match"].mean()),
        "human_identical_rate": float(items["human_identical"].mean()),
        "model_identical_rate": float(items["model_identical"].mean()),
        "human_mean_std": float(items["human_std"].mean()),
        "model_mean_std": float(items["model_std"].mean()),
        "cohen_kappa": kappa, "kappa_items": k_items,
        "alpha_human": krippendorff_alpha(wide[human], level),
        "alpha_model": krippendorff_alpha(wide[model], level),
        # the two unique majorities as two coders; items lacking either are left out
        "alpha_majority": krippendorff_alpha(
            [[a, b] for a, b in maj if a is not None and b is not None], level),
    }
    summary.update(distribution_shift(dist))
    notes = ["cohen_kappa uses items where both sides have a unique majority label",
             "js_divergence is the squared Jensen-Shannon distance, base 2"]
    return LabelAudit(summary, items, flip_matrix(wide, human, model), dist, notes)

