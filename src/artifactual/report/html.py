"""The self-contained HTML report of an audit (``report.html``).

:func:`render_report` takes anything shaped like an
:class:`~artifactual.analysis.audit.AuditResult` (``turns``, ``conversations``, ``errors``,
``summary`` and, when present, ``comparison``) and renders whatever it holds:

- Findings first (:mod:`artifactual.report.findings`): per applicable artifact its
  prevalence, examples and measured trust; detectors not applicable / not run; input problems;
- the corpus summary (every scalar key of ``summary``);
- the metrics-with-CIs table: ``comparison`` rows (metric, group, estimate, CI, effect
  size, p, Holm p) when present, else per-group rates and means of the conversation-level
  columns with seeded bootstrap 95% CIs;
- bar plots of those estimates with the CIs as error bars, one plot per kind of metric
  (rates on a fixed 0–1 axis, scores, counts), so no axis mixes scales;
- drift curves (per-turn similarity to the task by turn index) of the most and least
  drifting conversations, when the turns table has a similarity-to-task column;
- the termination-reason breakdown (table and bars);
- the flagged turns with their evidence, with a client-side filter (``#filter=text`` in
  the URL pre-fills it), and the unreadable inputs.

The page has no external resources: CSS, JS and SVG figures are inline. All content is
HTML-escaped (Jinja2 autoescape).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from artifactual.analysis.stats.compare import bootstrap_ci
from artifactual.analysis.stats.summary import NONE_KEY
from artifactual.analysis.tables import CONVERSATION_COLUMNS, TURN_COLUMNS
from artifactual.report import plots
from artifactual.report.findings import findings, turn_anchor

__all__ = ["render_report", "write_report"]

DEFAULT_TITLE = "artifactual audit report"
ALL_GROUP = "(all)"
MAX_FLAGGED = 2000   # flagged turns listed in the page (the rest are counted)
MAX_ERRORS = 500
MAX_CONTENT = 2000   # characters of a turn's content shown
MAX_PLOTTED = 18     # metrics drawn as bar plots (all are in the table)
N_DRIFT = 5          # conversations per drift panel
KINDS = (("rate", "Rates (share of conversations, 0–1)"), ("score", "Scores (means)"),
         ("count", "Counts and other magnitudes"))
_DRIFT_NAMES = ("drift_score", "drift")  # preferred conversation-level drift columns

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _num(x: Any, digits: int = 3) -> str:
    if _missing(x):
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.{digits}f}"


def _pval(x: Any) -> str:
    return "—" if _missing(x) else ("< 0.001" if float(x) < 0.001 else f"{float(x):.3f}")


def _pct(x: Any) -> str:
    return "—" if _missing(x) else f"{100 * float(x):.1f}%"


_ENV.filters.update(num=_num, pval=_pval, pct=_pct)


def _is_bool(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s.dtype)


def _is_score(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s.dtype)


def _groups(result: Any) -> tuple[str | None, pd.Series | None]:
    """The grouping column and each conversation's group value, or (None, None)."""
    summary, conv = result.summary or {}, result.conversations
    by = summary.get("group_by")
    if not summary.get("groups") or by not in conv.columns:
        return None, None
    return by, conv[by].astype("string").fillna(NONE_KEY)


# -- metrics ------------------------------------------------------------------------------

def _fallback_metrics(result: Any, seed: int = 0) -> pd.DataFrame:
    """Per group (and overall): rate of each conversation flag, mean of each score."""
    conv = result.conversations
    extra = [c for c in conv.columns if c not in CONVERSATION_COLUMNS]
    metrics = [(f"{c}_rate", c) for c in extra if _is_bool(conv[c])]
    if "correct" in conv.columns and conv["correct"].notna().any():
        metrics.append(("accuracy", "correct"))
    metrics += [(c, c) for c in extra if _is_score(conv[c])]
    by, values = _groups(result)
    parts = [(ALL_GROUP, np.ones(len(conv), dtype=bool))]
    if values is not None:
        parts += [(g, (values == g).to_numpy()) for g in sorted(values.unique())]
    rows = []
    for m_i, (name, col) in enumerate(metrics):
        for group, mask in parts:
            vals = conv.loc[mask, col].dropna().astype(float).to_numpy()
            if not vals.size:
                continue
            lo, hi = bootstrap_ci(vals, seed=seed + m_i)  # same data, same CI in any group
            rows.append({"metric": name, "group": group, "n": int(vals.size),
                         "estimate": float(vals.mean()),
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["metric", "group", "n", "estimate", "ci_low", "ci_high"])


def _metrics(result: Any) -> dict[str, Any]:
    comp = getattr(result, "comparison", None)
    if isinstance(comp, pd.DataFrame) and not comp.empty and {"metric", "group", "estimate"
                                                                } <= set(comp.columns):
        table, source = comp.copy(), "comparison"
    else:
        table, source = _fallback_metrics(result), "summary"
    for col in ("n", "ci_low", "ci_high", "effect_size", "effect_kind", "p_value", "p_holm",
                "reference"):
        if col not in table.columns:
            table[col] = None
    table["group"] = table["group"].astype(str)
    rows = [{k: (None if _missing(v) else v) for k, v in r.items()}
            for r in table.to_dict("records")]
    previous = None
    for r in rows:
        r["is_reference"] = r["reference"] is not None and str(r["reference"]) == r["group"]
        r["block_start"], previous = r["metric"] != previous, r["metric"]
    groups = list(dict.fromkeys(table["group"]))
    wide = [{"metric": m, "cells": [next((r for r in rows if r["metric"] == m
                                          and r["group"] == g), None) for g in groups]}
            for m in dict.fromkeys(table["metric"])]
    bars = table[table["group"] != ALL_GROUP] if len(groups) > 1 else table
    n_metrics = table["metric"].nunique()
    kinds = {m: _kind(result.conversations, m, table[table["metric"] == m])
             for m in dict.fromkeys(table["metric"])}
    figures = []
    for kind, label in KINDS:  # one plot per kind, each on its own scale
        names = [m for m, k in kinds.items() if k == kind][:MAX_PLOTTED]
        part = bars[bars["metric"].isin(names)]
        fig = plots.metric_bars(part, max_metrics=MAX_PLOTTED, unit_axis=kind == "rate")
        if fig:
            figures.append({"kind": kind, "label": label, "metrics": names, "figure": fig})
    return {"source": source, "rows": rows, "groups": groups, "wide": wide,
            "figures": figures, "kinds": kinds,
            "n_plotted": sum(len(f["metrics"]) for f in figures), "n_metrics": n_metrics,
            "has_tests": source == "comparison"}


def _kind(conv: pd.DataFrame, metric: str, rows: pd.DataFrame) -> str:
    """``rate`` (share of conversations, 0-1), ``score`` (a mean within 0-1) or ``count``
    (a count or any other magnitude), from the metric's source column and its values."""
    col = next((c for c in (metric, metric.removesuffix("_rate")) if c in conv.columns), None)
    if metric in ("accuracy", "correct") or (col is not None and _is_bool(conv[col])):
        return "rate"
    if (col is not None and pd.api.types.is_integer_dtype(conv[col].dtype)) \
            or metric.startswith("n_") or "count" in metric or "acts" in metric:
        return "count"
    vals = rows[["estimate", "ci_low", "ci_high"]].astype(float).to_numpy().ravel()
    vals = vals[~np.isnan(vals)]
    return "score" if vals.size and vals.min() >= 0 and vals.max() <= 1 else "count"


# -- drift --------------------------------------------------------------------------------

def _similarity_column(turns: pd.DataFrame) -> str | None:
    """The per-turn similarity-to-task column, found by name (``task`` and ``sim``)."""
    for c in turns.columns:
        low = c.lower()
        if "task" in low and "sim" in low and _is_score(turns[c]) and turns[c].notna().any():
            return c
    return None


def _drift_scores(conv: pd.DataFrame, curves: pd.DataFrame, sim: str) -> tuple[pd.Series, str]:
    ranked = [c for c in _DRIFT_NAMES if c in conv.columns]
    ranked += [c for c in conv.columns if "drift" in c.lower() and c not in ranked]
    for c in ranked:
        if _is_score(conv[c]) and conv[c].notna().any():
            return conv.set_index("conversation_id")[c].astype(float).dropna(), c
    mean = curves.groupby("conversation_id")[sim].mean()
    return (1.0 - mean).dropna(), f"1 − mean {sim}"


def _drift(result: Any, k: int = N_DRIFT) -> dict[str, Any] | None:
    turns, conv = result.turns, result.conversations
    sim = _similarity_column(turns)
    if sim is None or "conversation_id" not in turns.columns:
        return None
    curves = turns[["conversation_id", "turn_index", sim]].dropna()
    scores, score_name = _drift_scores(conv, curves, sim)
    scores = scores[scores.index.isin(curves["conversation_id"])].sort_values(
        ascending=False, kind="mergesort")
    if scores.empty:
        return None
    n_most = min(k, math.ceil(len(scores) / 2))
    most = list(scores.index[:n_most])
    least = list(scores.index[n_most:][::-1][:k])

    def lines(ids: list) -> list[tuple[str, pd.DataFrame]]:
        out = []
        for cid in ids:
            part = curves[curves["conversation_id"] == cid].sort_values("turn_index")
            name = str(cid) if len(str(cid)) <= 24 else "…" + str(cid)[-23:]
            out.append((f"{name} ({scores[cid]:.2f})",
                        part.rename(columns={sim: "value"})[["turn_index", "value"]]))
        return out

    fig = plots.drift_curves({"most drifting": lines(most), "least drifting": lines(least)},
                             y_label=sim)
    info = conv.set_index("conversation_id")
    shown = ["digression", "n_turns", "correct", "termination_reason"]
    rows = []
    for kind, ids in (("most", most), ("least", least)):
        for cid in ids:
            row = {"kind": kind, "conversation_id": str(cid), "drift": float(scores[cid])}
            for c in shown:
                v = info.at[cid, c] if c in info.columns and cid in info.index else None
                row[c] = None if _missing(v) else v
            rows.append(row)
    return {"similarity_column": sim, "score_name": score_name, "figure": fig, "rows": rows,
            "columns": [c for c in shown if c in info.columns], "n_scored": int(len(scores))}


# -- termination, flagged turns, errors ------------------------------------------------------

def _termination(result: Any) -> dict[str, Any] | None:
    conv = result.conversations
    if conv.empty or "termination_reason" not in conv.columns:
        return None
    reasons = conv["termination_reason"].astype("string").fillna(NONE_KEY)
    counts = reasons.value_counts().rename(ALL_GROUP).to_frame()
    _, values = _groups(result)
    groups: list[str] = []
    if values is not None:
        groups = sorted(values.unique())
        by_group = pd.crosstab(reasons, values).reindex(index=counts.index, fill_value=0)
        counts = counts.join(by_group[groups])
    totals = counts.sum(axis=0)
    rows = [{"reason": str(reason),
             "cells": [(int(counts.at[reason, c]), counts.at[reason, c] / totals[c])
                       for c in counts.columns]} for reason in counts.index]
    figure = plots.termination_bars(counts[groups] if groups else counts)
    return {"columns": [str(c) for c in counts.columns], "rows": rows, "figure": figure,
            "totals": [int(t) for t in totals]}


def _clip(text: Any, limit: int) -> str:
    s = "" if _missing(text) else str(text)
    return s if len(s) <= limit else s[:limit] + f" … [{len(s) - limit} more characters]"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _flagged(turns: pd.DataFrame, limit: int = MAX_FLAGGED) -> dict[str, Any]:
    flags = [c for c in turns.columns if c not in TURN_COLUMNS and _is_bool(turns[c])]
    if not flags or turns.empty:
        return {"flags": flags, "rows": [], "total": 0, "counts": {}, "anchors": set()}
    hits = turns[flags].fillna(False).astype(bool)
    any_hit = hits.any(axis=1)
    chosen = turns[any_hit]
    rows = []
    for idx, t in chosen.head(limit).iterrows():
        names = [f for f in flags if hits.at[idx, f]]
        src = "" if _missing(t.get("source_path")) else str(t.get("source_path"))
        if src and not _missing(t.get("source_line")):
            src += f":{int(t['source_line'])}"
        src_name = src.replace("\\", "/").rsplit("/", 1)[-1]
        rows.append({"conversation_id": str(t["conversation_id"]),
                     "anchor": turn_anchor(t["conversation_id"], t["turn_index"]),
                     "turn_index": int(t["turn_index"]), "speaker": _clip(t.get("speaker"), 80),
                     "role": _clip(t.get("role"), 40), "flags": names,
                     "evidence": _clip(t.get("evidence"), MAX_CONTENT),
                     "preview": _short(" ".join(str(t.get("content") or "").split()), 100),
                     "content": _clip(t.get("content"), MAX_CONTENT), "source": src,
                     "source_name": src_name})
    counts = {f: int(hits[f].sum()) for f in flags}
    return {"flags": flags, "rows": rows, "total": int(any_hit.sum()), "counts": counts,
            "anchors": {r["anchor"] for r in rows}}


def _errors(errors: pd.DataFrame | None, limit: int = MAX_ERRORS) -> dict[str, Any]:
    if errors is None or errors.empty:
        return {"rows": [], "total": 0}
    rows = [{k: ("" if _missing(v) else (int(v) if k == "line" else str(v)))
             for k, v in r.items()} for r in errors.head(limit).to_dict("records")]
    return {"rows": rows, "total": int(len(errors))}


def _overview(summary: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    """(numeric summary values as cards, text settings such as detectors and grouping)."""
    cards = [(k, v) for k, v in summary.items()
             if (isinstance(v, (int, float)) and not isinstance(v, bool))
             or (v is None and k.endswith(("_rate", "_mean")))]
    notes = [(k, str(summary[k])) for k in ("group_by", "compare_by")
             if isinstance(summary.get(k), str) and (k != "group_by" or summary.get("groups"))]
    notes += [(k, v) for k, v in summary.items() if isinstance(v, str) and k not in dict(notes)
              and k not in ("group_by", "compare_by")]
    if summary.get("detectors"):
        notes.insert(0, ("detectors", ", ".join(map(str, summary["detectors"]))))
    notes += [(f"not applicable: {k}", str(why))  # rates None, with the reason
              for k, why in (summary.get("not_applicable") or {}).items()]
    notes += [(f"not run: {k}", str(why))  # off by default: measured precision below 0.8
              for k, why in (summary.get("not_run") or {}).items()]
    return cards, notes


# -- public API -----------------------------------------------------------------------------

def render_report(result: Any, title: str = DEFAULT_TITLE,
                  validity_path: str | Path | None = None) -> str:
    """The report of ``result`` (an AuditResult or alike) as one self-contained HTML page.

    ``validity_path`` is the validity benchmark's JSON (default: the repository's
    ``benchmarks/results/validity.json``; when absent, trust is shown as "not measured").
    """
    summary = dict(result.summary or {})
    context = {
        "title": title, "findings": findings(result, validity_path),
        "overview": _overview(summary)[0], "settings": _overview(summary)[1],
        "metrics": _metrics(result),
        "drift": _drift(result), "termination": _termination(result),
        "flagged": _flagged(result.turns, MAX_FLAGGED),
        "errors": _errors(getattr(result, "errors", None)),
        "group_by": _groups(result)[0], "max_flagged": MAX_FLAGGED,
    }
    return _ENV.get_template("report.html.j2").render(**context)


def write_report(result: Any, path: str | Path, title: str = DEFAULT_TITLE) -> Path:
    """Render ``result`` and write it to ``path`` (UTF-8); return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(result, title=title), encoding="utf-8")
    return out
