"""The dataset card of an export: ``README.md`` with the YAML header the Hugging Face hub
reads, and ``card.json``, the figures it is written from.

Everything comes from files: the run's ``manifest.json`` (how the data was made), the
audit (each artifact's prevalence with the report's Wilson 95% CI and its detector's
measured precision and recall, both from :func:`artifactual.report.findings`; what did not
apply or run and why, from ``summary.json``) and the filter's ``filter.json`` (removed per
rule, prevalence after filtering).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

__all__ = ["card_data", "render_card", "write_card"]

_SMALL_MODELS = {"default", "smollm2-135m-instruct"}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _find_audit(source: Path, filtered: dict | None, audit_dir: str | Path | None) -> Path | None:
    for cand in (audit_dir, (filtered or {}).get("audit"),
                 source / "audit" if source.is_dir() else None):
        if cand is not None and (Path(cand) / "summary.json").is_file():
            return Path(cand)
    return None


def _manifest(source: Path, filtered: dict | None) -> dict | None:
    for cand in (source / "manifest.json" if source.is_dir() else None,
                 Path(filtered["source"]) / "manifest.json" if filtered else None):
        if cand is not None and cand.is_file():
            return json.loads(cand.read_text(encoding="utf-8"))
    return None


def _made(manifest: dict | None, result: Any) -> dict[str, Any]:
    if manifest is None:
        return {"generated_by_artifactual": False}
    cfg = manifest.get("config") or {}
    engine = manifest.get("engine") or {}
    usage = manifest.get("usage") or {}
    return {"generated_by_artifactual": True, "generator": cfg.get("generator"),
            "model": cfg.get("model"), "model_used": sorted(usage) or None,
            "backend": cfg.get("backend"), "engine_version": engine.get("engine_version"),
            "strategies": result.strategies or {s: [] for s in cfg.get("strategies") or []},
            "sampling": cfg.get("sampling"), "seeds": cfg.get("seeds"),
            "tokens": {"prompt": sum(u.get("prompt_tokens", 0) for u in usage.values()),
                       "completion": sum(u.get("completion_tokens", 0) for u in usage.values())},
            "created_at": manifest.get("created_at"), "finished_at": manifest.get("finished_at"),
            "artifactual_version": (manifest.get("versions") or {}).get("artifactual"),
            "run_fingerprint": manifest.get("fingerprint")}


def _trust_text(trust: list[dict[str, Any]]) -> str:
    parts = []
    for t in trust:
        if t.get("human_rate") is not None:
            continue
        p, r = t["precision"], t["recall"]
        parts.append(f"P {_num(p[0])}, R {_num(r[0])} ({t['where']}, n={t.get('n')})")
    return "; ".join(parts) or "not measured"


def _audit(audit_dir: Path | None) -> dict[str, Any] | None:
    if audit_dir is None:
        return None
    from artifactual.report.findings import findings
    from artifactual.report.load import load_audit_dir

    result = load_audit_dir(audit_dir)
    found = findings(result)
    items = [{"flag": it["flag"], "what": it["what"], "k": it["k"], "n": it["n"],
              "rate": it["rate"], "ci_low": it["ci_low"], "ci_high": it["ci_high"],
              "trust": [{"where": t["where"], "n": t.get("n"), "precision": t["precision"][0],
                         "recall": t["recall"][0], "human_rate": t.get("human_rate")}
                        for t in it["trust"]],
              "trust_text": _trust_text(it["trust"])} for it in found["items"]]
    return {"dir": str(audit_dir), "n_conversations": result.summary.get("n_conversations"),
            "items": items, "absent": [list(a) for a in found["absent"]],
            "validity": found["validity_note"]}


def card_data(*, source: Path, files: list[Path], filtered: dict | None,
              audit_dir: str | Path | None, license: str | None, to: str,
              result: Any, name: str | None = None) -> dict[str, Any]:
    """The card's figures (module docstring)."""
    manifest = _manifest(source, filtered)
    made = _made(manifest, result)
    audit = _audit(_find_audit(source, filtered, audit_dir))
    cfg = (manifest or {}).get("config") or {}
    filt = None if filtered is None else {
        k: filtered.get(k) for k in ("rules", "n_records", "n_kept", "n_removed", "n_trimmed",
                                     "removed_by_rule", "matched_by_rule", "prevalence_method",
                                     "prevalence_after")}
    return {"name": name or cfg.get("name") or source.name, "license": license,
            "format": to, "n_rows": result.n_rows, "n_turns": result.n_turns,
            "sources": [str(f) for f in files], "read_errors": result.read_errors,
            "made": made, "audit": audit, "filter": filt}


def _header(d: dict[str, Any]) -> str:
    n = d["n_rows"]
    size = "n<1K" if n < 1_000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" \
        if n < 100_000 else "100K<n<1M" if n < 1_000_000 else "n>1M"
    path = "data/train.jsonl" if d["format"] == "jsonl" else "data/train-*.parquet"
    head = {"license": d["license"] or "other", "language": ["en"],
            "task_categories": ["text-generation"], "tags": ["synthetic", "artifactual"],
            "pretty_name": d["name"], "size_categories": [size],
            "configs": [{"config_name": "default",
                         "data_files": [{"split": "train", "path": path}]}]}
    return "---\n" + yaml.safe_dump(head, sort_keys=False) + "---\n"


def render_card(d: dict[str, Any]) -> str:
    """``README.md`` text for the card data ``d``."""
    m, a, f = d["made"], d["audit"], d["filter"]
    out = [_header(d), f"# {d['name']}\n",
           f"{d['n_rows']} conversations ({d['n_turns']} turns), one per row: `messages` in "
           "the OpenAI / Hugging Face chat shape (`role`, `content`, `name`), with `id`, "
           "`task`, `strategy`, `seed`, `model`, `termination_reason`. Exported by "
           "artifactual.\n", "## How it was made\n"]
    if not m["generated_by_artifactual"]:
        out.append("Not generated by artifactual (no run manifest): conversation logs read "
                   f"from {', '.join(d['sources'])}.\n")
    else:
        out += [f"- generator: `{m['generator']}`; model: `{m['model']}` "
                f"({', '.join(m['model_used'] or [])}); backend `{m['backend']}`, "
                f"engine `{m['engine_version']}`",
                "- strategies (template sha256): " + ", ".join(
                    f"`{s}` ({', '.join(h[:12] for h in hs if h) or 'n/a'})"
                    for s, hs in m["strategies"].items()),
                f"- sampling: {json.dumps(m['sampling'])}; seeds: {m['seeds']}",
                f"- tokens: {m['tokens']['prompt']} prompt, {m['tokens']['completion']} "
                "completion",
                f"- generated {m['created_at']} to {m['finished_at']}; artifactual "
                f"{m['artifactual_version']}; run fingerprint `{m['run_fingerprint']}`\n"]
    out.append("## What the audit found\n")
    if a is None:
        out.append("No audit was given: artifacts unknown. Run `artifactual audit` and export "
                   "again with `--audit`.\n")
    else:
        out += [f"Audit `{a['dir']}` of {a['n_conversations']} conversations (before any "
                "filtering). Prevalence: share of audited conversations with at least one "
                "flagged turn, Wilson 95% CI. Detector trust: measured conversation-level "
                f"precision (P) and recall (R) ({a['validity']}).\n",
                "| artifact | conversations | prevalence | 95% CI | detector trust |",
                "|---|---|---|---|---|"]
        out += [f"| {it['flag']} | {it['k']}/{it['n']} | {_pct(it['rate'])} | "
                f"{_pct(it['ci_low'])} to {_pct(it['ci_high'])} | {it['trust_text']} |"
                for it in a["items"]]
        if a["absent"]:
            out += ["", "Did not apply or did not run:", ""]
            out += [f"- {name} ({kind}): {why}" for kind, name, why in a["absent"]]
        out.append("")
    out.append("## Filtering\n")
    if f is None:
        out.append("Not filtered: every audited conversation is included.\n")
    else:
        out += [f"Rules: `{json.dumps(f['rules'])}`. {f['n_records']} records read, "
                f"{f['n_kept']} kept ({f['n_trimmed']} trimmed), {f['n_removed']} removed.\n",
                "| rule | removed or trimmed |", "|---|---|"]
        out += [f"| {r} | {n} |" for r, n in f["removed_by_rule"].items()]
        out += ["", f"Prevalence after filtering ({f['prevalence_method']}):", "",
                "| artifact | conversations | prevalence | 95% CI |", "|---|---|---|---|"]
        out += [f"| {fl} | {p['k']}/{p['n']} | {_pct(p['rate'])} | {_pct(p['ci_low'])} to "
                f"{_pct(p['ci_high'])} |" for fl, p in f["prevalence_after"].items()]
        out.append("")
    out += ["## Licence\n", (f"`{d['license']}`, as given by the exporter.\n" if d["license"]
                             else "No licence was given (`--license`); the header says "
                                  "`other`.\n"), "## Limitations\n"]
    lims = []
    if m.get("generated_by_artifactual") and str(m.get("model")).lower() in _SMALL_MODELS:
        lims.append("Generated by SmolLM2-135M-Instruct, a 135M-parameter model: expect "
                    "shallow, repetitive and often off-task text; use it to test pipelines, "
                    "not to teach a model a skill.")
    if a is not None:
        weak = [it["flag"] for it in a["items"] if any(
            (t["recall"] is not None and t["recall"] < 0.5) or
            (t["precision"] is not None and t["precision"] < 0.8) for t in it["trust"])]
        untested = [it["flag"] for it in a["items"] if not any(
            t["precision"] is not None for t in it["trust"])]
        if weak:
            lims.append(f"Detectors measured below precision 0.8 or recall 0.5 on some set: "
                        f"{', '.join(weak)}; their prevalence may over- or under-count (a low "
                        "recall makes it a lower bound).")
        if untested:
            lims.append(f"No measured precision/recall for: {', '.join(untested)}.")
    lims.append("Prevalence comes from offline detectors, not human review; a 0% is an "
                "absence of flags, as good as the detector's recall.")
    out += [f"- {x}" for x in lims]
    return "\n".join(out) + "\n"


def write_card(out: Path, **kwargs: Any) -> dict[str, Any]:
    """Write ``README.md`` and ``card.json`` into ``out``; return the card data."""
    data = card_data(**kwargs)
    (out / "card.json").write_text(json.dumps(data, indent=2, default=str) + "\n",
                                   encoding="utf-8")
    (out / "README.md").write_text(render_card(data), encoding="utf-8")
    return data
