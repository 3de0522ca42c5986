"""The short, findings-first terminal form of ``audit`` and ``compare`` (the full tables are
``--details``; :mod:`artifactual.console` draws those).

Each function takes plain data (the summary dict, the audit's tables, the report's
finding items of :func:`artifactual.report.findings.findings`) and returns lines that fit
``width`` columns, so the CLI prints them and tests read them:

* :func:`headline`: what was read, what could not be audited and why;
* :func:`finding_lines`: per artifact that applies, most prevalent first, its prevalence
  with the 95% CI and n, the failure mode it evidences (:mod:`artifactual.taxonomy`)
  and how far to trust it (measured precision and recall, or "not measured");
* :func:`contrast_lines`: every contrast significant after Holm correction, one each, then
  how many others were tested;
* :func:`absent_lines`: what did not apply or was not run, with the reasons.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from artifactual.console import fmt_number

__all__ = ["headline", "finding_lines", "group_split", "trust_words", "contrast_lines",
           "absent_lines", "significant", "wrap"]

SIGNIFICANT = 0.05
_INDENT = "    "


def wrap(text: str, width: int, indent: str = "", hang: str = _INDENT) -> list[str]:
    """``text`` wrapped to ``width``: first line after ``indent``, the rest after
    ``indent + hang``; words are never cut."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + hang,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _count_words(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def headline(summary: Mapping[str, Any], conversations: Any, n_errors: int,
             width: int) -> list[str]:
    """What was read (conversations, turns, formats, speakers) and what was not audited."""
    n = int(summary.get("n_conversations") or 0)
    audited = summary.get("n_audited")
    mean = summary.get("mean_turns")
    parts = [f"Read {n} conversation{'s' if n != 1 else ''}, {summary.get('n_turns', 0)} turns"
             + (f" ({mean:.1f} per conversation)" if isinstance(mean, (int, float)) else "")]
    if conversations is not None and len(conversations):
        if "source_format" in conversations.columns:
            fmts = conversations["source_format"].dropna().astype(str).value_counts().to_dict()
            if fmts:
                parts.append(("format " if len(fmts) == 1 else "formats ")
                             + (next(iter(fmts)) if len(fmts) == 1 else _count_words(fmts)))
        if "n_speakers" in conversations.columns:
            sp = conversations["n_speakers"].dropna()
            if len(sp):
                lo, hi = int(sp.min()), int(sp.max())
                parts.append(f"{lo} speakers each" if lo == hi else f"{lo}-{hi} speakers")
    groups = summary.get("groups") or {}
    text = "; ".join(parts) + "."
    if groups and summary.get("group_by"):
        text += f" Groups by {summary['group_by']}: " + ", ".join(
            f"{g} {v.get('n_conversations', '?')}" for g, v in groups.items()) + "."
    if audited is not None and audited < n:
        why: dict[str, int] = {}
        if conversations is not None and "audited" in conversations.columns:
            bad = conversations[~conversations["audited"].astype("boolean").fillna(True)
                                .astype(bool)]
            col = "format_failure_reason" if "format_failure_reason" in bad.columns else None
            if col:
                why = bad[col].fillna("unknown").astype(str).value_counts().to_dict()
        text += (f" {n - audited} could not be audited (format failures"
                 + (f": {_count_words(why)}" if why else "") + f"); rates are over {audited}.")
    elif audited is not None:
        text += f" All {audited} audited."
    if n_errors:
        text += f" {n_errors} input problem(s): see errors.parquet."
    return wrap(text, width, hang="")


def trust_words(trust: Sequence[Mapping[str, Any]]) -> str:
    """The detector's measured precision and recall: pooled over the labelled sets (true
    and false positives and misses summed), with the lowest set's figure where there are
    several; else on injected artifacts; else ``not measured``."""
    labelled = [r for r in trust if str(r.get("where", "")).startswith("labelled")]
    rows = labelled or [r for r in trust if r.get("where") == "injected artifacts"]
    if not rows:
        return "precision and recall not measured"
    tp, fp, fn = (sum(int(r.get(k) or 0) for r in rows) for k in ("tp", "fp", "fn"))
    p = fmt_number(tp / (tp + fp)) if tp + fp else "-"
    r = fmt_number(tp / (tp + fn)) if tp + fn else "-"
    if not labelled:
        return f"precision {p}, recall {r} (injected artifacts only)"
    if len(rows) == 1:
        return f"precision {p}, recall {r} (1 labelled set)"

    def low(key: str) -> str:
        xs = [x[key][0] for x in rows if x.get(key) and x[key][0] is not None]
        return fmt_number(min(xs)) if xs else "-"

    return (f"precision {p}, recall {r} ({len(rows)} labelled sets; lowest "
            f"{low('precision')}, {low('recall')})")


def group_split(summary: Mapping[str, Any], flag: str, k: int, max_groups: int = 6) -> str:
    """``flag``'s ``k`` flagged conversations per group, in the headline's group order,
    joined by "+" ("4+2+2+1 by strategy"); empty when ``k`` is 0, without groups, with more
    than ``max_groups``, where a group's rate is unknown, or where the counts do not add up
    to ``k`` (group rates over other denominators: no split rather than a wrong one)."""
    groups, by = summary.get("groups") or {}, summary.get("group_by")
    if not k or not by or not 2 <= len(groups) <= max_groups:
        return ""
    counts = []
    for g in groups.values():
        rate, n = g.get(f"{flag}_rate"), g.get("n_audited", g.get("n_conversations"))
        if rate is None or n is None or (isinstance(rate, float) and math.isnan(rate)):
            return ""
        counts.append(round(rate * n))
    return f"{'+'.join(map(str, counts))} by {by}" if sum(counts) == k else ""


def finding_lines(items: Sequence[Mapping[str, Any]], modes: Mapping[str, Any] | None,
                  width: int, summary: Mapping[str, Any] | None = None) -> list[str]:
    """One entry per finding (the report's items, most prevalent first): prevalence
    [95% CI] (k of n, split by group where the audit grouped the conversations:
    :func:`group_split`), the failure mode, and the measured trust; wrapped to ``width``."""
    detectors = (modes or {}).get("detectors") or {}
    out: list[str] = []
    for it in items:
        name = str(it["flag"])
        split = group_split(summary or {}, name, it["k"])
        text = (f"{name} {_pct(it['rate'])} [{100 * it['ci_low']:.0f}-{_pct(it['ci_high'])}] "
                f"{it['k']}/{it['n']}" + (f" ({split})" if split else ""))
        mode = detectors.get(name) or {}
        if mode.get("mode"):
            text += (f"; {mode['mode']} {mode['label']}"
                     + (" (partly)" if mode.get("fit") == "partial" else ""))
        out += wrap(text, width, indent="  ")
        out += wrap(f"trust: {trust_words(it.get('trust') or [])}", width, indent=_INDENT)
    return out


def _effect(r: Mapping[str, Any]) -> str:
    e = r.get("effect_size")
    if e is None or (isinstance(e, float) and math.isnan(e)):
        return ""
    kind = str(r.get("effect_kind"))
    if kind == "mad_ratio":  # a spread row: the ratio of spreads with its own CI
        lo, hi = r.get("ratio_low"), r.get("ratio_high")
        ci = (f" [{lo:.2f}, {hi:.2f}]" if isinstance(lo, float) and not math.isnan(lo)
              and isinstance(hi, float) and not math.isnan(hi) else "")
        return f"spread ratio {e:.2f}{ci}, "
    label = {"cohens_h": "h", "cliffs_delta": "Cliff's delta", "cohens_d": "d",
             "share_difference": "share difference"}.get(kind, "effect")
    return f"{label} {e:+.2f}, "


def significant(comparison: Any) -> list[dict[str, Any]]:
    """Rows of ``comparison`` with a Holm-corrected p below 0.05, most significant first."""
    if comparison is None or not len(comparison) or "p_holm" not in comparison.columns:
        return []
    rows = [r for r in comparison.to_dict("records")
            if r.get("p_holm") is not None and not math.isnan(r["p_holm"])
            and r["p_holm"] < SIGNIFICANT]
    return sorted(rows, key=lambda r: (r["p_holm"], str(r["metric"]), str(r["group"])))


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p {p:.3f}"


def contrast_lines(comparison: Any, width: int, by: str | None = None) -> list[str]:
    """The significant contrasts, one each (group vs reference: the two estimates, the
    effect and p), then one line on how many others were tested and were not."""
    if comparison is None or not len(comparison) or "p_holm" not in comparison.columns:
        return []
    records = comparison.to_dict("records")
    ref = next((str(r["reference"]) for r in records if r.get("reference") is not None
                and not (isinstance(r["reference"], float) and math.isnan(r["reference"]))), None)
    est = {(str(r["metric"]), str(r["group"])): r.get("estimate") for r in records}
    tested = [r for r in records if r.get("p_holm") is not None
              and not (isinstance(r["p_holm"], float) and math.isnan(r["p_holm"]))]
    hits = significant(comparison)
    n_metrics = len({str(r["metric"]) for r in tested})
    n_groups = len({str(r["group"]) for r in tested})
    title = (f"Differences{f' by {by}' if by else ''} against {ref} "
             f"(Holm-corrected p < {SIGNIFICANT}):")
    out = wrap(title, width, hang="")
    for r in hits:
        m, g = str(r["metric"]), str(r["group"])
        text = (f"{m}: {g} {fmt_number(r.get('estimate'))} vs {fmt_number(est.get((m, ref)))} "
                f"({_effect(r)}{_p(r['p_holm'])})")
        out += wrap(text, width, indent="  ")
    rest = len(tested) - len(hits)
    shape = f"{n_metrics} metrics x {n_groups} group{'s' if n_groups != 1 else ''}"
    if not hits:
        out += wrap(f"  none: {len(tested)} contrasts tested ({shape}), none significant.",
                    width, hang=_INDENT)
    elif rest:
        out += wrap(f"  {rest} other contrast{'s' if rest != 1 else ''} tested ({shape} in "
                    "all) were not significant.", width, hang=_INDENT)
    return out


def absent_lines(summary: Mapping[str, Any], width: int) -> list[str]:
    """What did not apply, each with its reason, and what was not run (wrapped). The
    detectors kept off by default for their measured precision share one entry; their
    figures are in ``summary.json`` ``not_run`` and under ``--details``."""
    out: list[str] = []
    for name, why in (summary.get("not_applicable") or {}).items():
        out += wrap(f"not applicable: {name}: {why}", width)
    not_run = summary.get("not_run") or {}
    off = [n for n, why in not_run.items() if str(why).startswith("off by default")]
    if off:
        out += wrap(f"not run: {', '.join(off)}: off by default, measured below precision 0.8 "
                    "on a labelled source (summary.json not_run gives the figures); "
                    f"--detectors all runs {'them' if len(off) > 1 else 'it'}", width)
    for name, why in not_run.items():
        if name not in off:
            out += wrap(f"not run: {name}: {why}", width)
    return out
