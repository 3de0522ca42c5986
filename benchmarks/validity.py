"""Detector validity: precision / recall / F1 of every conversation-detector flag.

    .venv/bin/python benchmarks/validity.py [--shared ../shared] [--bases 20]
        [--json benchmarks/results/validity.json] [--boot 1000] [--seed 0] [--quiet]

Prints three tables, each figure with a 95% CI and the issue's target beside it:

(a) labelled real logs (``../shared/labels``: 60 GPT-4 SPP transcripts with conversation-
    level digression labels; 16 SmolLM2 role-play dialogues labelled per turn), turn and
    conversation level; target precision >= 0.8;
(b) controlled injections into clean bases (human task-oriented and chit-chat dialogues,
    GPT-4 SPP transcripts read as clean, CAMEL-convention dialogues written for this
    project), pooled over the bases; targets precision >= 0.8 and recall >= 0.8. Turn
    level: the injected turns are the positives, every untouched turn a negative;
    conversation level: the injected copies are the positives, the same bases audited
    without injection the negatives;
(c) human dialogues (``benchmarks/data/human``): share of conversations flagged (Wilson
    CI); targets <= 2% for role flips (any detector) / interruption / impersonation / role
    adherence, <= 3% for courtesy loops, <= 5% for content repetition and for digression
    where a goal is stated.

The labelled sets of ``benchmarks/data`` (:data:`LOCAL_SETS`: SmolLM2 development role-play,
AutoGen, CAMEL-style/LangChain/CrewAI transcripts, human courtesy labels; rules in
``benchmarks/data/LABELLING.md``) are scored in (a), one row per source.

Flags are read from whatever the audit returns; gold labels map to flags in
:data:`artifactual.analysis.validity.score.GOLD_TO_FLAGS`. Sets under ``--shared`` are
skipped, with the reason printed, when that folder is absent. Audits use spaCy and MiniLM
only (no LLM); the defaults take a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"


def _fmt(est: dict[str, Any]) -> str:
    if est["value"] is None:
        return "   —              "
    if est["low"] is None:
        return f"{est['value']:.2f}             "
    return f"{est['value']:.2f} [{est['low']:.2f}, {est['high']:.2f}]"


def _prf_table(title: str, rows: list[dict[str, Any]], keys: list[str], recall: bool) -> str:
    head = [*keys, "flag", "level", "n", "pos", "flagged", "precision [95% CI]", "P>=.8",
            "recall [95% CI]", *(["R>=.8"] if recall else []), "F1"]
    lines = [title, "  ".join(head)]
    for r in sorted(rows, key=lambda r: tuple(str(r[k]) for k in (*keys, "flag", "level"))):
        if r["n"] == 0:
            lines.append("  ".join([*(str(r[k]) for k in keys), r["flag"], r["level"],
                                    f"not applicable: {r['not_applicable'] or 'no units'}"]))
            continue
        cells = [*(str(r[k]) for k in keys), r["flag"], r["level"], str(r["n"]),
                 str(r["n_positive"]), str(r["n_flagged"]), _fmt(r["precision"]),
                 r["precision_verdict"], _fmt(r["recall"]),
                 *([r["recall_verdict"]] if recall else []), _fmt(r["f1"])]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _rate_table(rows: list[dict[str, Any]]) -> str:
    lines = ["(c) human dialogues: share of conversations flagged (every flag here is a false "
             "positive for role flip / impersonation / role adherence)",
             "set  flag  n  flagged  rate [95% CI]  target  verdict"]
    for r in rows:
        if r["reason"] or r["n"] == 0:
            rate = f"not applicable: {r['reason'] or 'no conversations'}"
        else:
            rate = f"{r['flagged']}  {_fmt(r['rate'])}"
        target = "—" if r["target_max"] is None else f"<= {r['target_max']:.0%}"
        lines.append(f"{r['set']}  {r['flag']}  {r['n']}  {rate}  {target}  {r['verdict']}")
    return "\n".join(lines)


def _say(quiet: bool):
    def say(msg: str) -> None:
        if not quiet:
            print(f"[validity] {msg}", file=sys.stderr, flush=True)
    return say


#: The sets labelled here by benchmarks/data/LABELLING.md, one per source:
#: (name, data files, labels file, labels read, labels known false, description)
LOCAL_SETS = (
    ("smollm2_dev", ["smollm2/dev_roleplay_records.jsonl"], "smollm2/dev_roleplay.labels.json",
     ("role_flip", "courtesy", "courtesy_loop", "impersonation", "repetition", "off_task",
      "malformed"), (), "24 SmolLM2-135M role-play dialogues on new tasks and seeds"),
    ("autogen", ["agents/autogen.jsonl"], "agents/autogen.labels.json",
     ("role_flip", "courtesy", "courtesy_loop", "impersonation", "repetition", "off_task"), (),
     "26 AutoGen notebook transcripts (GPT-3.5/4), two-agent and group chats"),
    ("roleplay_frameworks", ["agents/roleplay.jsonl"], "agents/roleplay.labels.json",
     ("role_flip", "courtesy", "courtesy_loop", "impersonation", "repetition", "off_task"), (),
     "21 CAMEL-style / LangChain / CrewAI transcripts from research and cookbook repos"),
    ("human_dialogues", ["human/task_oriented.jsonl", "human/chitchat.jsonl"],
     "human/courtesy.labels.json", ("courtesy",),
     ("courtesy_loop", "role_flip", "impersonation"),
     "150 task-oriented + 60 chit-chat human dialogues; courtesy labelled per turn, normal "
     "closings are not loops, humans never flip roles or impersonate"),
)


def local_sets(G: Any) -> list[Any]:
    """The labelled sets of :data:`LOCAL_SETS` (all under benchmarks/data)."""
    return [G.load_turn_labels(name, [DATA / p for p in paths], DATA / labels, read, negatives=neg,
                               description=desc)
            for name, paths, labels, read, neg, desc in LOCAL_SETS]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build every set, audit it, score it; return the figures (JSON-ready)."""
    import artifactual
    from artifactual.analysis import available_detectors
    from artifactual.analysis.validity import gold as G
    from artifactual.analysis.validity import harness as H

    say = _say(args.quiet)
    t0 = time.perf_counter()
    skipped: list[str] = []
    shared = Path(args.shared)
    labelled: list[Any] = []
    spp_clean: list[Any] = []
    if (shared / G.SPP_LABELS).exists() and (shared / G.SPP_DATA).exists():
        spp = G.load_spp_digression(shared)
        labelled.append(spp)
        clean_ids = [c for c, labels in spp.conversations.items() if not labels]
        by_id = {c.id: c for c in H.load_conversations(shared / G.SPP_DATA)}
        spp_clean = [by_id[c] for c in clean_ids if c in by_id][: args.bases]
    else:
        skipped.append(f"spp_gpt4: {shared / G.SPP_LABELS} or its data not found")
    if (shared / G.SMOLLM2_LABELS).exists():
        labelled.append(G.load_smollm2(shared))
    else:
        skipped.append(f"smollm2_roleplay: {shared / G.SMOLLM2_LABELS} not found")
    labelled += local_sets(G)
    for s in skipped:
        say(f"skipped {s}")

    with tempfile.TemporaryDirectory(prefix="validity-") as tmp:
        scratch = Path(tmp)
        task = [H.with_goal(c) for c in H.load_conversations(DATA / "human" / "task_oriented.jsonl")]
        chat = H.load_conversations(DATA / "human" / "chitchat.jsonl")
        camel = H.load_conversations(DATA / "camel" / "clean.jsonl")
        human = {"human_task (goal stated)": H.write_records(task, scratch / "human_task.jsonl"),
                 "human_chat (no goal)": DATA / "human" / "chitchat.jsonl",
                 "camel_clean (synthetic, clean)": DATA / "camel" / "clean.jsonl"}
        bases = {"human_task": task[: args.bases], "human_chat": chat[: args.bases],
                 "spp_gpt4": spp_clean, "camel_clean": camel[: args.bases]}
        donors = H.donor_turns(chat[args.bases:])
        injected = H.injection_sets({k: v for k, v in bases.items() if v}, donors, scratch,
                                    seed=args.seed)

        # every detector is measured, also those kept out of the default set for low
        # precision (the legacy repetition_loop is measured through its two successors)
        names = [n for n in available_detectors() if n != "repetition_loop"]
        audit = functools.partial(artifactual.audit, detectors=names)
        results = [(g, H.audit_set(g, audit, say)) for g in labelled]
        rates: list[dict[str, Any]] = []
        clean: dict[str, Any] = {g.name: r for g, r in results if g.name == "spp_gpt4"}
        for name, path in human.items():
            say(f"audit {name}")
            clean[name.split(" ")[0]] = result = audit(str(path))
            rates += H.rate_rows(name, result)
        inj_results = [(g, H.audit_set(g, audit, say)) for g in injected]

    kw = {"n_boot": args.boot, "seed": args.seed}
    lab_units = H.score_units(results)
    inj_units = H.score_units(inj_results)
    inj_units += [u for g in injected if g.meta["family"] in clean
                  for u in H.clean_negatives(g, clean[g.meta["family"]])]
    artifact_of = {g.name: g.meta["artifact"] for g in injected}
    family_of = {g.name: g.meta["family"] for g in injected}
    out = {
        "command": " ".join(["python", "benchmarks/validity.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "seed": args.seed, "n_boot": args.boot, "bases_per_family": args.bases,
        "skipped": skipped,
        "targets": {"precision_min": 0.8, "recall_min_injections": 0.8,
                    "human_max": H.HUMAN_TARGETS},
        "gold_to_flags": {k: list(v) for k, v in __import__(
            "artifactual.analysis.validity.score", fromlist=["GOLD_TO_FLAGS"]).GOLD_TO_FLAGS.items()},
        "labelled": H.pooled_rows(lab_units, lambda u: (u.set_name, u.label, u.flag, u.level),
                                  ["set", "label", "flag", "level"], recall_target=False, **kw),
        "injections": H.pooled_rows(
            inj_units, lambda u: (artifact_of[u.set_name], u.label, u.flag, u.level),
            ["artifact", "label", "flag", "level"], recall_target=True, **kw),
        "injections_by_base": H.pooled_rows(
            inj_units, lambda u: (family_of[u.set_name], artifact_of[u.set_name], u.label,
                                  u.flag, u.level),
            ["base", "artifact", "label", "flag", "level"], recall_target=True, **kw),
        "human": rates,
        "n_injected_conversations": {g.name: len(g.conversations) for g in injected},
    }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def render(fig: dict[str, Any], by_base: bool = False) -> str:
    """The three tables as text."""
    parts = [_prf_table("(a) labelled real logs", fig["labelled"], ["set", "label"], False),
             _prf_table("(b) controlled injections, pooled over bases", fig["injections"],
                        ["artifact"], True)]
    if by_base:
        parts.append(_prf_table("(b') injections per base", fig["injections_by_base"],
                                ["base", "artifact"], True))
    parts.append(_rate_table(fig["human"]))
    parts.append(f"{fig['command']}  ({fig['seconds']} s, {fig['machine']['cpus']} CPUs)")
    return "\n\n".join(parts)


def _md_est(est: dict[str, Any]) -> str:
    if est["value"] is None:
        return "—"
    if est["low"] is None:
        return f"{est['value']:.2f}"
    return f"{est['value']:.2f} [{est['low']:.2f}–{est['high']:.2f}]"


def markdown(fig: dict[str, Any]) -> str:
    """The tables as Markdown (for docs/detectors.md)."""
    out: list[str] = []
    for title, rows, keys, rec in (("Labelled real logs", fig["labelled"], ["set", "label"], False),
                                   ("Injections (pooled over bases)", fig["injections"],
                                    ["artifact"], True)):
        out += [f"**{title}**", "",
                "| " + " | ".join([*keys, "flag", "level", "n", "pos", "flagged", "precision",
                                   "P≥0.8", "recall", *(["R≥0.8"] if rec else []), "F1"]) + " |",
                "|" + "---|" * (len(keys) + 9 + rec)]
        for r in sorted(rows, key=lambda r: tuple(str(r[k]) for k in (*keys, "flag", "level"))):
            if r["n"] == 0:
                continue
            out.append("| " + " | ".join([*(str(r[k]) for k in keys), f"`{r['flag']}`",
                                          r["level"], str(r["n"]), str(r["n_positive"]),
                                          str(r["n_flagged"]), _md_est(r["precision"]),
                                          r["precision_verdict"], _md_est(r["recall"]),
                                          *([r["recall_verdict"]] if rec else []),
                                          _md_est(r["f1"])]) + " |")
        out.append("")
    out += ["**Human dialogues and clean role-play: share of conversations flagged**", "",
            "| set | flag | n | flagged | rate [95% CI] | target | verdict |",
            "|---|---|---|---|---|---|---|"]
    for r in fig["human"]:
        na = r["reason"] or r["n"] == 0
        rate = f"n/a: {r['reason'] or 'none audited'}" if na else _md_est(r["rate"])
        target = "—" if r["target_max"] is None else f"≤ {r['target_max']:.0%}"
        out.append(f"| {r['set']} | `{r['flag']}` | {r['n']} | {'—' if na else r['flagged']} | "
                   f"{rate} | {target} | {r['verdict']} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print the tables, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"),
                    help="folder with labels/ and data/ (default ../shared)")
    ap.add_argument("--bases", type=int, default=20, help="clean bases per family to inject")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "validity.json"))
    ap.add_argument("--by-base", action="store_true", help="also print injections per base")
    ap.add_argument("--markdown", help="also write the tables as Markdown to this file")
    ap.add_argument("--from-json", help="render a previous run's JSON instead of running")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.from_json:
        fig = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
    else:
        fig = run(args)
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fig, indent=1) + "\n", encoding="utf-8")
    print(render(fig, args.by_base))
    if args.markdown:
        Path(args.markdown).write_text(markdown(fig), encoding="utf-8")
    if not args.from_json:
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
