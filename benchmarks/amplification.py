"""Are artifacts amplified by training? (issue 23, section 3)

    python benchmarks/amplification.py configs/amplify.yaml --out runs/amplify [--seeds 0,1,2]

1. :func:`artifactual.training.amplify.train_conditions`: per seed, LoRA on the filtered
   role-play and on as many unfiltered conversations; held-out human dialogue loss of each
   tuned model and the untuned one; merged models saved.
2. Each model (untuned, and every tuned one) generates role-play on unseen tasks
   (``generate.config``, ``model:`` set to the saved model), one engine at a time.
3. Each generation is audited with ``generate.detectors``; per condition, each artifact's
   rate is given as a mean with a 95% Student-t CI over seeds (the untuned model: one run).

Writes ``OUT/amplification.json`` and prints the table side by side. Nothing here is timed
or asserted: the result is reported whatever it is.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd


def _fmt(ci: dict) -> str:
    if not ci or ci.get("n", 0) == 0:
        return "n/a"
    if math.isnan(ci["ci_low"]):
        return f"{ci['mean']:.3f}"
    return f"{ci['mean']:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}]"


def main() -> None:
    from artifactual import audit, generate
    from artifactual.config import load_config
    from artifactual.training.amplify import load_amplify_config, train_conditions
    from artifactual.training.common import mean_ci

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", help="comma-separated seeds (default: the config's)")
    args = ap.parse_args()
    cfg = load_amplify_config(args.config)
    if args.seeds:
        cfg = cfg.model_copy(update={"seeds": [int(s) for s in args.seeds.split(",")]})
    if cfg.generate is None:
        raise SystemExit("the config has no generate: section")
    out = Path(args.out)
    metrics = train_conditions(cfg, out)
    runs = pd.read_parquet(out / "runs.parquet")
    gen_cfg = load_config(Path(cfg.base_dir) / cfg.generate.config)
    rows = []
    for r in runs.to_dict("records"):
        seed = None if r["condition"] == "untuned" else int(r["seed"])  # NaN-padded column
        tag = r["condition"] if seed is None else f"{r['condition']}-seed{seed}"
        run_dir = out / "generated" / tag
        model = cfg.model if r["condition"] == "untuned" else str(Path(r["model"]).resolve())
        generate(gen_cfg.model_copy(update={"model": model}), run_dir, quiet=True)
        result = audit(run_dir, detectors=cfg.generate.detectors, markers=cfg.generate.markers)
        result.write(run_dir / "audit")
        rates = {f"{d}_rate": result.summary.get(f"{d}_rate") for d in cfg.generate.detectors}
        rows.append({"condition": r["condition"], "seed": seed,
                     "heldout_loss": r["heldout_loss"], **rates})
    table = pd.DataFrame(rows)
    table.to_parquet(out / "amplification.parquet", index=False)
    cols = [c for c in table.columns if c.endswith("_rate") or c == "heldout_loss"]
    summary = {cond: {c: mean_ci([v for v in part[c].tolist() if v is not None]) for c in cols}
               for cond, part in table.groupby("condition", sort=False)}
    (out / "amplification.json").write_text(json.dumps(
        {"config": cfg.model_dump(), "train": metrics, "by_condition": summary,
         "ci": "95% Student-t over seeds"}, indent=2, default=str) + "\n", encoding="utf-8")
    conds = list(summary)
    width = max(len(c) for c in cols) + 2
    print("metric".ljust(width) + "".join(c.ljust(30) for c in conds))
    for c in cols:
        print(c.ljust(width) + "".join(_fmt(summary[k][c]).ljust(30) for k in conds))
    print(f"wrote {out / 'amplification.json'}")


if __name__ == "__main__":
    main()
