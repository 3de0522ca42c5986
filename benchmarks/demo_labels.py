"""Score `make demo`'s audit against the labelled demo dialogues (issue 20's check).

    .venv/bin/python benchmarks/demo_labels.py [--shared ../shared] [--records FILE]

Audits the records file of the 16 labelled `make demo` dialogues
(``../shared/labels/smollm2_quickstart_records.jsonl``, or ``--records``) exactly as
`make demo` does (its markers and detectors, read from the Makefile) and prints, per gold
label, how many labelled turns the audit finds and how many of its flags are labelled:
role flips (``role_flip`` or ``role_flip_unmarked``), courtesy turns (``courtesy_only``),
courtesy loops (``courtesy_loop`` against runs of >= 3 labelled courtesy turns). Exits 0;
skips with a message when the labels are absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_options() -> tuple[dict, list[str]]:
    """The markers and detectors `make demo` passes to the audit (from the Makefile)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    markers = json.loads(re.search(r"^DEMO_MARKERS := (.+)$", text, re.M).group(1))
    detectors = re.search(r"^DEMO_DETECTORS := (.+)$", text, re.M).group(1).split(",")
    return markers, detectors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--records", help="records file (default: the labelled demo records)")
    args = ap.parse_args(argv)
    labels = Path(args.shared) / "labels" / "smollm2_quickstart.json"
    records = Path(args.records or Path(args.shared) / "labels" / "smollm2_quickstart_records.jsonl")
    if not labels.exists() or not records.exists():
        print(f"skipped: {labels} or {records} not found")
        return 0
    import artifactual
    from artifactual.analysis.validity.gold import courtesy_runs

    markers, detectors = demo_options()
    result = artifactual.audit(str(records), markers=markers, detectors=detectors)
    gold: dict[tuple[str, int], dict] = {}
    for conv in json.loads(labels.read_text(encoding="utf-8")):
        ordered = sorted(conv["turns"], key=lambda t: t["index"])
        loops = courtesy_runs([bool(t["courtesy"]) for t in ordered])
        for t, loop in zip(ordered, loops):
            gold[(conv["id"], int(t["index"]))] = {**t, "courtesy_loop": loop}
    turns = result.turns

    def flagged(row, cols: list[str]) -> bool:
        return any(c in turns.columns and str(row[c]) not in ("<NA>", "nan", "None")
                   and bool(row[c]) for c in cols)

    print(f"make demo's audit ({', '.join(detectors)}) of {records.name}: "
          f"{len(result.conversations)} conversations, {len(turns)} turns")
    for label, cols in (("role_flip", ["role_flip", "role_flip_unmarked"]),
                        ("courtesy", ["courtesy_only"]), ("courtesy_loop", ["courtesy_loop"])):
        pos = hit = flags = right = 0
        for _, row in turns.iterrows():
            g = gold.get((str(row["conversation_id"]), int(row["turn_index"])))
            if g is None:
                continue
            f = flagged(row, cols)
            pos += bool(g[label])
            hit += bool(g[label]) and f
            flags += f
            right += f and bool(g[label])
        rec = f"{hit / pos:.2f}" if pos else "—"
        prec = f"{right / flags:.2f}" if flags else "—"
        print(f"  {label:14s} found {hit} of {pos} labelled turns (recall {rec}); "
              f"{right} of {flags} flags labelled (precision {prec}) via {' or '.join(cols)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
