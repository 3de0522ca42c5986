"""Are artifacts amplified by training? (``artifactual train`` with ``experiment: amplify``;
the paper's second-order question asked of this project's own pipeline.)

This module joins the layers that must not import each other, as :mod:`artifactual.judging`
does: the generator (the training data and the tuned models' role-play), the audit (the
flags that filter, and the artifact rates of each model's output) and
:mod:`artifactual.training.amplify` (the tuning and the held-out loss).

1. The training data: a role-play run made with the generator (e.g. ``make demo``'s
   ``runs/quickstart``), audited here with the configured detectors.
2. Two pools of chat examples (:mod:`artifactual.training.amplify_data`): **unfiltered**,
   every turn; and **filtered**, every turn of what ``artifactual filter`` keeps
   (:mod:`artifactual.curate`): conversations with a ``drop`` flag left out, those with a
   ``trim`` flag cut before their first flagged turn. Each tuned model gets the same number of examples
   (``n_train``, default the filtered pool's size), a seeded draw from its pool.
3. Per seed, a LoRA adapter is tuned on each pool; its loss on held-out human task
   dialogues is measured (and the untuned model's).
4. One vLLM engine with LoRA enabled serves the untuned model and every adapter: each
   generates role-play on the evaluation tasks (none of them in the training data) with
   the seed as its sampling seed, and the audit reads each output.
5. Per model (``base``, ``unfiltered``, ``filtered``): the share of conversations and of
   turns flagged per artifact and the human loss, as a mean with a Student-t 95% CI over
   seeds, and the per-seed contrasts (unfiltered - base, filtered - unfiltered, ...).

The output folder holds ``metrics.json`` (the summary and every setting), ``runs.parquet``
(one row per model and seed), ``losses.parquet`` (training losses),
``adapters/`` (the LoRA weights), ``generations/`` (each model's run directory) and
``audits/`` (their audits), and ``filtered/`` (the training data as ``artifactual filter``
left it, with its ``filter.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.errors import ConfigError, InputError
from artifactual.training.amplify import contrasts, nll, replay_settings, tune
from artifactual.curate.filter import filter_records
from artifactual.curate.rules import FilterRules
from artifactual.training.amplify_data import (encode, human_examples, load_conversations,
                                               roleplay_examples)
from artifactual.training.common import (AmplifySection, Progress, TrainConfig, quiet_hf,
                                         resolve_path, seed_everything)
from artifactual.training.metrics import summarise
from artifactual.training.models import causal_lm
from artifactual.training.run import TrainResult, environment, write_metrics

__all__ = ["run", "DATA_HINT"]

DATA_HINT = ("generate role-play first: `make demo` writes runs/quickstart, or "
             "`artifactual generate configs/quickstart.yaml --out runs/quickstart`")


def _eval_config(s: AmplifySection, model: str, seed: int, name: str, tasks_seen: set[str]) -> Any:
    from artifactual.config import parse_config

    data = json.loads(json.dumps(s.generate))
    engine = dict(data.get("engine") or {})
    engine["extra"] = {**(engine.get("extra") or {}), "enable_lora": True,
                       "max_lora_rank": s.lora_r, "max_loras": 1}
    data.update(name=name, model=model, backend="vllm", seeds=[seed], engine=engine)
    data.setdefault("generator", "roleplay")
    cfg = parse_config(data, source="amplify.generate")
    if cfg.generator != "roleplay":
        raise ConfigError("amplify.generate must be a role-play generation config",
                          where="amplify.generate", fix="set generator: roleplay and roleplay.tasks")
    seen = [t.task for t in cfg.section.tasks if t.task in tasks_seen]
    if seen:
        raise ConfigError(f"evaluation task also in the training data: {seen[0]!r}",
                          where="amplify.generate.roleplay.tasks",
                          fix="evaluate on tasks the models were not trained on")
    return cfg


def _audit_rates(run_dir: Path, out: Path, s: AmplifySection) -> dict[str, float]:
    from artifactual.analysis.audit import audit

    res = audit(run_dir, detectors=s.detectors, markers=s.markers, group_by=None)
    res.write(out)
    summ = res.summary
    row = {"n_conversations": summ.get("n_conversations"), "mean_turns": summ.get("mean_turns")}
    for m in s.metrics:
        row[f"{m}_rate"] = summ.get(f"{m}_rate")
        row[f"{m}_turn_rate"] = summ.get(f"{m}_message_rate")
    return {k: (float("nan") if v is None else float(v)) for k, v in row.items()}


def run(config: str | Path | dict | TrainConfig, out_dir: str | Path, save_model: bool = False,
        progress: Progress = None) -> TrainResult:
    """Run the amplification experiment of ``config`` (a training config with ``experiment:
    amplify``) into ``out_dir`` (module docstring). The adapters are always kept
    (``adapters/``), so ``save_model`` changes nothing."""
    from artifactual.training import load_train_config

    cfg = config if isinstance(config, TrainConfig) else load_train_config(config)
    if cfg.amplify is None:
        raise ConfigError("not an amplification config", fix="set experiment: amplify and an "
                          "amplify: section (configs/train_amplify.yaml)")
    from transformers import AutoTokenizer

    from artifactual.analysis.audit import audit
    from artifactual.assets import resolve_llm
    from artifactual.generation.backends.vllm import VLLMBackend
    from artifactual.generation.run import generate

    s: AmplifySection = cfg.amplify  # type: ignore[assignment]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = str(resolve_llm(s.model))
    data = resolve_path(s.train_data, cfg.base_dir, "role-play training data", DATA_HINT)
    human_path = resolve_path(s.human_data, cfg.base_dir, "human dialogues")
    convs = load_conversations(data)
    word_limit, window = replay_settings(data, s)
    trained = audit(data, detectors=s.detectors, markers=s.markers, group_by=None)
    trained.write(out / "audits" / "training-data")
    filtered = filter_records(data, out / "audits" / "training-data", out / "filtered",
                              FilterRules(drop=s.drop, trim=s.trim))
    pools = {"unfiltered": roleplay_examples(convs, word_limit=word_limit, history_window=window),
             "filtered": roleplay_examples(
                 load_conversations(*[out / "filtered" / f for f in filtered.summary["outputs"]]),
                 word_limit=word_limit, history_window=window)}
    n = s.n_train or len(pools["filtered"])
    for arm, pool in pools.items():
        if len(pool) < n:
            raise InputError(f"dataset too small: the {arm} pool has {len(pool)} examples, "
                             f"n_train is {n}", where=str(data),
                             fix="lower amplify.n_train or generate more role-play")
    eval_cfgs = {seed: _eval_config(s, model_path, seed, "amplify-eval", {c.task for c in convs})
                 for seed in cfg.seeds}
    filter_info = {"filter": filtered.summary, "conversations": len(convs),
                   "examples": {arm: len(pool) for arm, pool in pools.items()}, "n_train": n}

    with quiet_hf():
        tok = AutoTokenizer.from_pretrained(model_path)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    encoded = {arm: [encode(tok, ex, s.max_length) for ex in pool] for arm, pool in pools.items()}
    human = [encode(tok, ex, s.max_length) for ex in
             human_examples(human_path, s.n_human, cfg.split_seed)]
    seed_everything(cfg.split_seed, cfg.threads)
    base_loss = nll(causal_lm(model_path, "full"), human, pad)
    rows: list[dict[str, Any]] = []
    losses: list[pd.DataFrame] = []
    adapters: dict[tuple[str, int], Path] = {}
    for seed in cfg.seeds:  # every adapter is tuned before the engine starts
        rows.append({"condition": "base", "seed": seed, "human_loss": base_loss})
        for arm in ("unfiltered", "filtered"):
            model, curve = tune(model_path, s, cfg, encoded[arm], n, seed, pad, progress,
                                    f"train: {arm} seed {seed}")
            path = out / "adapters" / f"{arm}-seed{seed}"
            model.save_pretrained(path)
            adapters[(arm, seed)] = path
            rows.append({"condition": arm, "seed": seed, "human_loss": nll(model, human, pad),
                         "train_loss_final": curve[-1] if curve else float("nan")})
            losses.append(pd.DataFrame({"condition": arm, "seed": seed,
                                        "step": np.arange(1, len(curve) + 1), "loss": curve}))
            del model
    engine = VLLMBackend(model_path, eval_cfgs[cfg.seeds[0]].engine)
    try:
        for i, row in enumerate(rows):
            arm, seed = row["condition"], row["seed"]
            backend = engine if arm == "base" else engine.with_adapter(
                f"{arm}-seed{seed}", adapters[(arm, seed)])
            run_dir = out / "generations" / f"{arm}-seed{seed}"
            generate(eval_cfgs[seed], run_dir, backend=backend)
            row.update(_audit_rates(run_dir, out / "audits" / f"{arm}-seed{seed}", s))
            if progress:
                progress("generate: models", i + 1, len(rows))
    finally:
        engine.close()
    runs = pd.DataFrame(rows)
    metrics = [c for c in runs.columns if c.endswith("_rate")] + ["mean_turns", "human_loss"]
    summary = summarise(runs, metrics, pair=("unfiltered", "filtered"))
    summary["contrasts"] = contrasts(runs, metrics)
    runs.to_parquet(out / "runs.parquet", index=False)
    if losses:
        pd.concat(losses, ignore_index=True).to_parquet(out / "losses.parquet", index=False)
    result = {"name": cfg.name, "experiment": "amplify", "base": "amplify", "seeds": cfg.seeds,
              "n_train": n, "data": {"train_data": str(data), "human_data": str(human_path),
                                     "n_human_examples": len(human), **filter_info},
              "summary": summary,
              "environment": environment(), "config": cfg.model_dump(mode="json")}
    return write_metrics(out, result, runs)
