"""Real human/LLM text pairs from the paper's CoBBLEr release, as ``Text`` JSONL files.

Each of the 50 CoBBLEr instructions holds a human reference answer and 15 models'
outputs (``../shared/data/llm-artifacts/preference/cobbler/human.json``; the outputs are
the same in every evaluator's file). This writes

    OUT/human.jsonl   50 Text records, origin human, source_id = the instruction key
    OUT/llm.jsonl     one Text record per model output, origin llm, same source_id,
                      meta.model = the model

so that ``artifactual compare --kind text OUT/human.jsonl OUT/llm.jsonl --out DIR`` runs
the paired comparison (LLM outputs of one instruction are averaged per metric before
pairing). Outputs that are empty after stripping whitespace are left out and counted.

    .venv/bin/python benchmarks/cobbler_texts.py --out runs/cobbler_texts [--models gpt4,chatgpt]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COBBLER = Path("llm-artifacts") / "preference" / "cobbler" / "human.json"


def load_pairs(data: Path = DEFAULT_DATA, models: set[str] | None = None
               ) -> tuple[list[dict], list[dict], int]:
    """(human rows, llm rows, outputs skipped as empty) from the CoBBLEr release."""
    path = data / COBBLER
    if not path.exists():
        raise SystemExit(f"{path} is absent: pass --data pointing at the paper's released data "
                         "(shared/data, see its README)")
    examples = json.loads(path.read_text())
    human, llm, skipped = [], [], 0
    for key, ex in examples.items():
        if not key.startswith("example_"):
            continue
        human.append({"kind": "text", "id": f"human:{key}", "text": ex["reference"].strip(),
                      "origin": "human", "source_id": key})
        for r in ex["rankings"]:
            if models and r["model"] not in models:
                continue
            text = (r.get("output") or "").strip()
            if not text:
                skipped += 1
                continue
            llm.append({"kind": "text", "id": f"{r['model']}:{key}", "text": text,
                        "origin": "llm", "source_id": key, "meta": {"model": r["model"]}})
    return human, llm, skipped


def write_pairs(out: Path, data: Path = DEFAULT_DATA, models: set[str] | None = None
                ) -> tuple[Path, Path, int]:
    """Write ``human.jsonl`` and ``llm.jsonl`` under ``out``; returns both paths and skips."""
    human, llm, skipped = load_pairs(data, models)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "human.jsonl", out / "llm.jsonl"
    for p, rows in zip(paths, (human, llm)):
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return paths[0], paths[1], skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--models", default="", help="comma-separated model names (default: all)")
    a = ap.parse_args(argv)
    models = {m for m in a.models.split(",") if m} or None
    h, l, skipped = write_pairs(a.out, a.data, models)
    n_h, n_l = (sum(1 for _ in open(p)) for p in (h, l))
    print(f"wrote {h} ({n_h} human) and {l} ({n_l} llm); {skipped} empty outputs left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
