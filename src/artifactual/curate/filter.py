"""``filter_records``: act on an audit's flags, streaming the audited records.

The audit's tables (conversation flags, per-turn flags, evidence) are read into memory;
the records are streamed line by line, so memory does not grow with the input file.

For each input file the output directory holds a file of the same name with the kept
records' lines, byte for byte, in their order. A trimmed run record (artifactual's own
format) is rewritten in place with its turns cut before the first flagged turn and
``termination_reason`` set to ``trimmed:<flag>``; a trimmed conversation of another
format is written to ``trimmed.jsonl`` as an artifactual record (its source format has
no general way to drop turns). A run directory's ``manifest.json`` is copied along, so
the output is a run that ``export`` and ``audit`` read.

``filter.json`` ``outputs`` lists the files holding kept records (what ``export`` reads).
``removed.jsonl`` has one line per removed or trimmed conversation (``id``, ``source``,
``action``, ``rule``, ``evidence``; ``cut`` for a trim) and ``filter.json`` the counts per
rule, the inputs' and the audit's fingerprints, and each flag's prevalence before and
after filtering, computed from the audit's flags over the kept conversations (turns
after a cut left out), with the report's own Wilson CIs (:func:`artifactual.report.findings`).

Before anything is written, the input files' fingerprints (size + sha256) must be among
the audit's ``summary.json`` ``inputs``; otherwise :class:`InputError` says which file
differs.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from artifactual.analysis.inputs import file_fingerprint
from artifactual.curate.audit_view import AuditView, load_view, prevalence
from artifactual.curate.rules import FilterRules, check_rules
from artifactual.errors import InputError
from artifactual.readers.base import RUN_RECORDS, input_files

__all__ = ["filter_records", "FilterResult", "Decision"]

FILTER_JSON = "filter.json"
REMOVED_JSONL = "removed.jsonl"
TRIMMED_JSONL = "trimmed.jsonl"


@dataclass
class Decision:
    """What happens to one audited conversation: ``action`` keep | remove | trim."""

    id: str
    action: str
    rule: str | None = None
    evidence: Any = None
    cut: int | None = None
    matched: list[str] = field(default_factory=list)


@dataclass
class FilterResult:
    """Counts and paths of one filter run (also written to ``filter.json``)."""

    summary: dict[str, Any]
    out_dir: Path


def _first_evidence(view: AuditView, cid: str, flag: str) -> dict[str, Any] | None:
    rows = view.flagged_turns(flag).get(cid)
    if rows is None:
        return None
    turn, text = rows
    return {"turn_index": turn, "evidence": text}


def _decide(view: AuditView, rules: FilterRules) -> dict[str, Decision]:
    """One decision per audited conversation (rule order in :class:`FilterRules`)."""
    conv = view.conversations
    out: dict[str, Decision] = {}
    for row in conv.to_dict("records"):
        cid = str(row["conversation_id"])
        matched: list[tuple[str, Any, int | None]] = []
        if rules.drop_format_failures and bool(row.get("format_failure") or False):
            matched.append(("drop:format_failure",
                            {"reason": row.get("format_failure_reason")}, None))
        for flag in rules.drop:
            if _true(row.get(flag)):
                matched.append((f"drop:{flag}", _first_evidence(view, cid, flag), None))
        for col, bound in rules.max.items():
            v = row.get(col)
            if v is not None and not pd.isna(v) and float(v) > bound:
                matched.append((f"max:{col}", {col: float(v), "max": bound}, None))
        for col, bound in rules.min.items():
            v = row.get(col)
            if v is not None and not pd.isna(v) and float(v) < bound:
                matched.append((f"min:{col}", {col: float(v), "min": bound}, None))
        for flag in rules.trim:
            ev = _first_evidence(view, cid, flag)
            if ev is not None:
                matched.append((f"trim:{flag}", ev, int(ev["turn_index"])))
        names = [m[0] for m in matched]
        if rules.keep:
            out[cid] = (Decision(cid, "keep", matched=names) if matched else
                        Decision(cid, "remove", "keep:unmatched", None, matched=names))
            continue
        if not matched:
            out[cid] = Decision(cid, "keep")
            continue
        drops = [m for m in matched if not m[0].startswith("trim:")]
        if drops:
            rule, ev, _ = drops[0]
            out[cid] = Decision(cid, "remove", rule, ev, matched=names)
            continue
        rule, ev, _ = min(matched, key=lambda m: m[2])  # the earliest flagged turn
        cut = min(m[2] for m in matched)
        first = view.first_turn.get(cid, 0)
        action = "remove" if cut <= first else "trim"  # nothing left before the cut
        out[cid] = Decision(cid, action, rule, ev, cut=cut, matched=names)
    return out


def _true(v: Any) -> bool:
    return v is not None and not pd.isna(v) and bool(v)


def _match_inputs(files: list[Path], audited: list[dict[str, Any]],
                  audit_dir: Path) -> dict[Path, str]:
    """Input file -> the path the audit recorded for it; InputError when one differs."""
    if not audited:
        raise InputError("the audit records no input fingerprints (summary.json has no "
                         "'inputs'), so it cannot be checked against these records",
                         where=str(audit_dir / "summary.json"),
                         fix="re-run the audit with this version: artifactual audit RECORDS "
                             "--out DIR")
    by_hash = {(a["sha256"], a["size"]): a["path"] for a in audited}
    out: dict[Path, str] = {}
    for f in files:
        fp = file_fingerprint(f)
        key = (fp["sha256"], fp["size"])
        if key not in by_hash:
            seen = "; ".join(f"{a['path']} ({a['size']} bytes, sha256 {a['sha256'][:12]})"
                             for a in audited)
            raise InputError(
                f"the audit was made of other inputs: {f} ({fp['size']} bytes, sha256 "
                f"{fp['sha256'][:12]}) is not among the files it read: {seen}",
                where=str(audit_dir / "summary.json"),
                fix="audit these records first (artifactual audit PATH --out DIR) and pass "
                    "that audit, or pass the records this audit was made of")
        out[f] = by_hash[key]
    return out


def _out_name(f: Path, root: Path) -> Path:
    if root.is_file():
        return Path(f.name)
    return f.relative_to(root)


def _trim_native(line: bytes, cut: int, rule: str) -> bytes:
    obj = json.loads(line)
    obj["turns"] = [t for t in obj.get("turns") or [] if int(t.get("index", 0)) < cut]
    obj["termination_reason"] = rule
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _trim_foreign(line: bytes, where: tuple[Path, int | None], fmt: str, cut: int,
                  rule: str) -> str:
    from artifactual.readers.base import Location, get_reader
    from artifactual.records import Conversation, record_to_json

    obj = json.loads(line)
    recs = get_reader(fmt).parse(obj, Location(where[0], line=where[1]))
    rec = recs if isinstance(recs, Conversation) else next(iter(recs))
    rec = rec.model_copy(update={"turns": [t for t in rec.turns if t.index < cut],
                                 "termination_reason": rule})
    return record_to_json(rec) + "\n"


def filter_records(source: str | Path, audit_dir: str | Path, out_dir: str | Path,
                   rules: FilterRules) -> FilterResult:
    """Filter the records under ``source`` (a run directory, a log file or a directory of
    them) by ``rules`` acting on the audit in ``audit_dir``; write to ``out_dir``
    (module docstring). Returns the summary also written to ``filter.json``."""
    src, audit_dir, out = Path(source), Path(audit_dir), Path(out_dir)
    if not src.exists():
        raise InputError("no such file or directory", where=str(src),
                         fix="pass the run directory or log file that was audited")
    view = load_view(audit_dir)
    check_rules(rules, view.conversations, view.turns)
    files = input_files(src)
    recorded = _match_inputs(files, view.summary.get("inputs") or [], audit_dir)
    decisions = _decide(view, rules)
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    for d in decisions.values():
        matched.update(d.matched)
    n_lines = n_kept = n_unaudited = 0
    outputs: list[str] = []
    trimmed_fh = None
    with (out / REMOVED_JSONL).open("w", encoding="utf-8") as removed:
        for f in files:
            rows = view.by_line(recorded[f])
            dest = out / _out_name(f, src)
            outputs.append(str(_out_name(f, src)))
            dest.parent.mkdir(parents=True, exist_ok=True)
            items = None
            if None in rows:  # a .json file holding one conversation: kept or not as a whole
                if len(rows[None]) > 1:
                    raise InputError(
                        f"{f} holds {len(rows[None])} conversations in one JSON document; "
                        "filter keeps or drops whole lines or files", where=str(f),
                        fix="convert it to JSONL (one conversation per line) and audit that")
                items = [(None, f.read_bytes())]
            with dest.open("wb") as w:
                for n, raw in (items if items is not None else _lines(f)):
                    if n is not None and not raw.strip():
                        continue
                    n_lines += 1
                    convs = rows.get(n)
                    if not convs:  # not a conversation the audit read: passed on, unless --keep
                        n_unaudited += 1
                        if not rules.keep:
                            w.write(raw)
                            n_kept += 1
                        continue
                    ds = [decisions[c] for c, _ in convs]
                    acts = {d.action for d in ds}
                    if acts == {"keep"}:
                        w.write(raw)
                        n_kept += 1
                        continue
                    if acts == {"trim"} and len(ds) == 1:
                        d, fmt = ds[0], convs[0][1]
                        if fmt == "records":
                            w.write(_trim_native(raw, d.cut, d.rule))
                        else:
                            if trimmed_fh is None:
                                trimmed_fh = (out / TRIMMED_JSONL).open("w", encoding="utf-8")
                            trimmed_fh.write(_trim_foreign(raw, (f, n), fmt, d.cut, d.rule))
                        n_kept += 1
                    for d in ds:
                        if d.action == "keep":  # shares its line with a removed one
                            d.action, d.rule = "remove", "shared_line"
                        counts[d.rule] += 1
                        removed.write(json.dumps({
                            "id": d.id, "source": {"path": recorded[f], "line": n},
                            "action": "trimmed" if d.action == "trim" and len(ds) == 1 else "removed",
                            "rule": d.rule, "evidence": d.evidence,
                            **({"cut": d.cut} if d.cut is not None else {})},
                            ensure_ascii=False, default=str) + "\n")
    if trimmed_fh is not None:
        trimmed_fh.close()
        outputs.append(TRIMMED_JSONL)
    if src.is_dir() and (src / RUN_RECORDS).is_file() and (src / "manifest.json").is_file():
        shutil.copyfile(src / "manifest.json", out / "manifest.json")
    summary = {
        "source": str(src), "audit": str(audit_dir), "rules": rules.model_dump(),
        "inputs": [file_fingerprint(f) for f in files],
        "audit_inputs": view.summary.get("inputs"),
        "outputs": outputs, "n_records": n_lines, "n_kept": n_kept,
        "n_removed": sum(1 for d in decisions.values() if d.action == "remove"),
        "n_trimmed": sum(1 for d in decisions.values() if d.action == "trim"),
        "n_unaudited": n_unaudited,
        "removed_by_rule": dict(sorted(counts.items())),
        "matched_by_rule": dict(sorted(matched.items())),
        "prevalence_method": "the audit's flags over the kept conversations (turns from a "
                             "trim's cut on left out); not a re-audit",
        "prevalence_before": prevalence(view),
        "prevalence_after": prevalence(view, decisions),
    }
    (out / FILTER_JSON).write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                   encoding="utf-8")
    return FilterResult(summary=summary, out_dir=out)


def _lines(path: Path):
    """``(line number, raw bytes)`` of every line, 1-based as the readers count them."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            yield n, raw if raw.endswith(b"\n") else raw + b"\n"
