"""The report's Findings section: per applicable artifact, what it is, how common, examples
and how far to trust its detector (the measured validity from ``benchmarks/results``).

:func:`findings` returns plain data for the template; nothing here prints or renders HTML
(the template escapes every string, and the ``<mark>`` is placed by the template around
the ``mark`` part of each excerpt).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import binomtest

from artifactual.taxonomy import failure_modes, mode_of

__all__ = ["VALIDITY_JSON", "ARTIFACTS", "findings", "load_validity", "turn_anchor"]

#: The validity benchmark's results, read at render time (absent in an installed package).
VALIDITY_JSON = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "validity.json"

#: One sentence per artifact flag (conversation-level flag columns of an audit).
ARTIFACTS: dict[str, str] = {
    "role_flip": "A speaker writes with the other role's marker, e.g. the user turn answers "
                 "with \"Solution:\" as if it were the assistant.",
    "role_flip_unmarked": "A speaker does the other role's job without any marker: the "
                          "instructing side delivers the work or offers help, the working "
                          "side hands the task back.",
    "courtesy_only": "A turn adds nothing to the task: every sentence is thanks, praise, "
                     "agreement, a greeting, an offer of more help or a goodbye.",
    "interruption": "A turn lacks its role's expected marker, so the scripted exchange "
                    "breaks off (the role-play convention is not followed).",
    "impersonation": "A speaker writes lines for another participant, putting words in "
                     "its mouth inside its own turn.",
    "digression": "The conversation drifts off its task: a turn is about something else "
                  "than the task, its thread and the turn it follows.",
    "courtesy_loop": "The speakers trade thanks and pleasantries instead of working or "
                     "stopping (not a normal two- or three-turn closing).",
    "content_repetition": "A speaker repeats its own earlier turn almost verbatim (by "
                          "embedding similarity); quoting another speaker is not counted.",
    "repetition": "A speaker repeats its own previous turn (a repetition loop).",
    "role_adherence_violation": "A speaker's speech acts contradict its declared role, "
                                "e.g. the assistant gives instructions instead of answers.",
    "format_failure": "The conversation does not follow the expected format (malformed "
                      "turns or no final answer).",
}
N_EXAMPLES = 3
_CONTEXT = 90  # characters of content either side of the highlighted span
_QUOTED = re.compile(r'"(.+?)"(?=[\s:;,.)]|$)', re.S)
_AT_CHAR = re.compile(r"at char (\d+)")


def turn_anchor(conversation_id: Any, turn_index: Any) -> str:
    """The id of a row of the flagged-turns table (safe in an ``id`` and a ``#`` link)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(conversation_id))
    return f"turn-{safe}-{int(turn_index)}"


def load_validity(path: str | Path | None = None) -> tuple[dict | None, str]:
    """(the validity benchmark's JSON, or None, and a note saying where it came from)."""
    p = Path(path) if path is not None else VALIDITY_JSON
    if not p.is_file():
        return None, f"{p.name} not found"
    try:
        return json.loads(p.read_text(encoding="utf-8")), f"from {p.name}"
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"{p.name} unreadable: {exc}"


def _value(stat: Any) -> tuple[float | None, float | None, float | None]:
    if isinstance(stat, dict):
        return stat.get("value"), stat.get("low"), stat.get("high")
    return (stat if isinstance(stat, (int, float)) else None), None, None


def _trust(validity: dict | None, flag: str) -> list[dict[str, Any]]:
    """Measured precision/recall of ``flag``: per labelled set and for injected artifacts
    (conversation level preferred), plus its flag rate on human conversations."""
    if not validity:
        return []
    rows, seen = [], set()
    for source, key in (("labelled", "labelled"), ("injected", "injections")):
        for r in validity.get(key) or []:
            if r.get("flag") != flag or r.get("level") != "conversation":
                continue
            p, r_ = _value(r.get("precision")), _value(r.get("recall"))
            sig = (source, r.get("set"), r.get("tp"), r.get("fp"), r.get("fn"))
            if (p[0] is None and r_[0] is None) or sig in seen:
                continue
            seen.add(sig)
            where = f"labelled {r['set']}" if source == "labelled" else "injected artifacts"
            rows.append({"where": where, "n": r.get("n"), "precision": p, "recall": r_,
                         "human_rate": None, "tp": r.get("tp"), "fp": r.get("fp"),
                         "fn": r.get("fn")})
    human = [h for h in validity.get("human") or []
             if h.get("flag") == flag and _value(h.get("rate"))[0] is not None]
    for h in human:
        rows.append({"where": str(h["set"]), "n": h.get("n"),
                     "human_rate": _value(h["rate"])[0],
                     "precision": (None,) * 3, "recall": (None,) * 3})
    return rows


def _wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def _evidence_column(turns: pd.DataFrame, flag: str, hits: pd.Series) -> str | None:
    """The evidence column that explains ``flag``: the ``*_evidence`` column filled on
    most of its flagged turns, else the combined ``evidence``."""
    cols = [c for c in turns.columns if c.endswith("_evidence")]
    filled = {c: int(turns.loc[hits, c].fillna("").astype(str).str.len().gt(0).sum())
              for c in cols}
    best = max(cols, key=lambda c: (filled[c], c == f"{flag}_evidence"), default=None)
    if best is not None and filled[best]:
        return best
    return "evidence" if "evidence" in turns.columns else None


def _excerpt(content: str, evidence: str) -> dict[str, str]:
    """``before``/``mark``/``after`` of the turn around the span the evidence quotes, or,
    when it quotes none of it, the turn's start and the evidence (``mark_is_evidence``)."""
    at = _AT_CHAR.search(evidence)
    for quote in _QUOTED.findall(evidence):
        quote = re.sub(r"(\.\.\.|…)$", "", quote).strip()  # the evidence's own trim mark
        if len(quote) < 2:
            continue
        pattern = re.compile(r"\s+".join(map(re.escape, quote.split())))  # spacing may differ
        found = (pattern.match(content, int(at.group(1))) if at else None) or \
            pattern.search(content)
        if found:
            pos, stop = found.span()
            start, end = max(0, pos - _CONTEXT), min(len(content), stop + _CONTEXT)
            return {"before": ("…" if start else "") + content[start:pos],
                    "mark": content[pos:stop], "after": content[stop:end]
                    + ("…" if end < len(content) else ""), "evidence": ""}
    if evidence and evidence in content:
        pos = content.find(evidence)
        return {"before": content[max(0, pos - _CONTEXT):pos], "mark": evidence,
                "after": content[pos + len(evidence):pos + len(evidence) + _CONTEXT],
                "evidence": ""}
    short = content if len(content) <= 2 * _CONTEXT else content[:2 * _CONTEXT] + "…"
    return {"before": short, "mark": "", "after": "", "evidence": evidence}


def _examples(turns: pd.DataFrame, flag: str, k: int = N_EXAMPLES) -> list[dict[str, Any]]:
    if flag not in turns.columns or turns.empty:
        return []
    hits = turns[flag].fillna(False).astype(bool)
    col = _evidence_column(turns, flag, hits)
    out, used = [], set()
    for _, t in turns[hits].iterrows():  # one example per conversation, first flagged turn
        cid = str(t["conversation_id"])
        if cid in used:
            continue
        used.add(cid)
        ev = "" if col is None or pd.isna(t.get(col)) else str(t.get(col))
        content = "" if pd.isna(t.get("content")) else str(t.get("content"))
        out.append({"conversation_id": cid, "turn_index": int(t["turn_index"]),
                    "speaker": "" if pd.isna(t.get("speaker")) else str(t.get("speaker")),
                    "anchor": turn_anchor(cid, t["turn_index"]), **_excerpt(content, ev)})
        if len(out) == k:
            break
    return out


def _groups(comparison: Any, flag: str) -> list[dict[str, Any]]:
    if not isinstance(comparison, pd.DataFrame) or comparison.empty or \
            "metric" not in comparison.columns:
        return []
    part = comparison[comparison["metric"].isin([flag, f"{flag}_rate"])]
    rows = []
    for r in part.to_dict("records"):
        clean = {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                 for k, v in r.items()}
        clean["is_reference"] = (clean.get("reference") is not None
                                 and str(clean["reference"]) == str(clean["group"]))
        rows.append(clean)
    return rows


def findings(result: Any, validity_path: str | Path | None = None) -> dict[str, Any]:
    """Findings data: ``items`` (applicable artifacts, most prevalent first, each with the
    failure mode it evidences), ``absent`` (detectors not applicable or not run, with
    reasons), ``modes`` (the summary's ``failure_modes``) and the validity source note."""
    summary, conv, turns = dict(result.summary or {}), result.conversations, result.turns
    validity, validity_note = load_validity(validity_path)
    if "audited" in conv.columns:
        conv = conv[conv["audited"].fillna(False).astype(bool)]
    items = []
    for flag, what in ARTIFACTS.items():
        if flag not in conv.columns or summary.get(f"{flag}_rate", 0) is None:
            continue
        vals = conv[flag].dropna().astype(bool)
        if not len(vals):
            continue
        k, n = int(vals.sum()), int(len(vals))
        low, high = _wilson(k, n)
        items.append({"flag": flag, "what": what, "k": k, "n": n, "rate": k / n,
                      "ci_low": low, "ci_high": high,
                      "groups": _groups(getattr(result, "comparison", None), flag),
                      "examples": _examples(turns, flag), "trust": _trust(validity, flag),
                      "mode": mode_of(flag)})
    items.sort(key=lambda it: (-it["rate"], it["flag"]))
    absent = [("not applicable", name, str(why))
              for name, why in (summary.get("not_applicable") or {}).items()]
    absent += [("not run", name, str(why)) for name, why in (summary.get("not_run") or {}).items()]
    modes = summary.get("failure_modes") or failure_modes(conv)
    return {"items": items, "absent": absent, "validity_note": validity_note,
            "validity_found": validity is not None, "modes": modes}
