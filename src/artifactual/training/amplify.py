"""Amplification: does tuning on artifact-laden dialogues raise artifacts, and does filtering
lower them? The training side of the experiment (``configs/amplify.yaml``).

Per seed, the embedded model is LoRA-tuned twice on generated role-play: on the filtered
conversations (a ``filter`` output directory) and on as many unfiltered ones, subsampled
(seeded) from the run the filter read. Each conversation is one chat example: its turns as
alternating user / assistant messages after the task as a system message, the loss on every
turn after the first. Each tuned model, and the untuned one, is scored by its mean token
loss on held-out human task dialogues (the same rendering), and saved merged (LoRA folded
into the weights) so that vLLM can load it as ``model:`` for generation.

What this module does not do: generate role-play with the tuned models and audit it. That
is the generation and analysis layers' work, chained by ``benchmarks/amplification.py``
(training never imports generation).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from artifactual.errors import InputError
from artifactual.records import Conversation
from artifactual.training.common import (TrainSettings, mean_ci, quiet_hf, seed_everything)

__all__ = ["AmplifyConfig", "load_amplify_config", "chat_messages", "chat_example",
           "load_dialogues", "tune", "dialogue_loss", "train_conditions"]

CONDITIONS = ("unfiltered", "filtered")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateSection(_Strict):
    """How each tuned model generates role-play on unseen tasks (benchmarks/amplification.py)."""

    config: str  # a generation config whose roleplay.tasks are not in the training run
    detectors: list[str] = ["role_flip", "role_flip_unmarked", "courtesy_loop",
                            "content_repetition", "digression"]
    markers: dict[str, Any] | None = None


class AmplifyConfig(_Strict):
    """``configs/amplify.yaml``: paths are relative to the config file's folder unless absolute."""

    name: str
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    unfiltered: str  # the generated run (a run directory)
    filtered: str  # `artifactual filter` of that run, with its audit
    heldout: str  # human task dialogues (any format a reader reads)
    n_train: int | None = Field(None, ge=2)  # default: every filtered conversation
    n_heldout: int = Field(50, ge=1)
    model: str = "default"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_targets: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    max_length: int = Field(384, ge=32)
    threads: int | None = 1
    train: TrainSettings = Field(default_factory=lambda: TrainSettings(lr=2e-4, batch_size=4,
                                                                       epochs=1, warmup=0.0))
    generate: GenerateSection | None = None
    base_dir: str = "."


def load_amplify_config(path: str | Path) -> AmplifyConfig:
    """The experiment config at ``path`` (``base_dir``: its folder)."""
    import yaml

    p = Path(path)
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    data.setdefault("base_dir", str(p.resolve().parent))
    return AmplifyConfig.model_validate(data)


def _path(cfg: AmplifyConfig, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else Path(cfg.base_dir) / p


def chat_messages(conv: Conversation) -> list[dict[str, str]]:
    """The task as a system message, then the turns alternating user / assistant (the
    first speaker is the user): the shape a chat model is tuned on."""
    first = conv.turns[0].speaker if conv.turns else None
    msgs = [{"role": "system", "content": conv.specified_task or conv.task}] \
        if (conv.specified_task or conv.task) else []
    for t in conv.turns:
        msgs.append({"role": "user" if t.speaker == first else "assistant", "content": t.content})
    return msgs


def chat_example(tok: Any, conv: Conversation, max_length: int) -> tuple[list[int], list[int]]:
    """(input_ids, labels) of one conversation; the system message and the first turn are
    context (label -100), every later turn is learnt. Cut to ``max_length`` tokens."""
    msgs = chat_messages(conv)
    n_context = 2 if msgs and msgs[0]["role"] == "system" else 1

    def ids(m: list[dict[str, str]]) -> list[int]:
        out = tok.apply_chat_template(m, tokenize=True, add_generation_prompt=False)
        out = out["input_ids"] if hasattr(out, "keys") else out
        return list(out)

    full = ids(msgs)
    context = len(ids(msgs[:n_context])) if len(msgs) > n_context else len(full)
    full = full[:max_length]
    return full, [-100] * min(context, len(full)) + full[context:]


def load_dialogues(path: Path, *, min_turns: int = 2) -> list[Conversation]:
    """Conversations of ``path`` with at least ``min_turns`` turns (a run, a filter output
    directory or any log a reader reads)."""
    from artifactual.curate.export import source_files
    from artifactual.readers import ErrorLog, read

    if not path.exists():
        raise InputError("no such file or directory", where=str(path),
                         fix="check the paths in the amplify config")
    files, _ = source_files(path)
    log = ErrorLog()
    out = [r for f in files for r in read(f, errors=log)
           if isinstance(r, Conversation) and len(r.turns) >= min_turns]
    if not out:
        raise InputError(f"no conversations of {min_turns}+ turns", where=str(path),
                         fix="generate or filter more role-play")
    return out


def _model(cfg: AmplifyConfig, lora: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from artifactual.assets import resolve_llm

    path = resolve_llm(cfg.model)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    with quiet_hf():
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.lora_targets), task_type="CAUSAL_LM"))
    return model, tok


def _batch(tok: Any, rows: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
    import torch

    width = max(len(x) for x, _ in rows)
    pad = tok.pad_token_id
    return {"input_ids": torch.tensor([x + [pad] * (width - len(x)) for x, _ in rows]),
            "labels": torch.tensor([y + [-100] * (width - len(y)) for _, y in rows]),
            "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x))
                                            for x, _ in rows])}


def tune(convs: list[Conversation], cfg: AmplifyConfig, seed: int) -> tuple[Any, Any, list[float]]:
    """LoRA-tune the model on ``convs``; (model, tokenizer, per-step losses)."""
    from artifactual.training.run import fit

    seed_everything(seed, cfg.threads)
    model, tok = _model(cfg, lora=True)
    examples = [chat_example(tok, c, cfg.max_length) for c in convs]
    losses = fit(model, len(examples), lambda b: model(**_batch(tok, [examples[i] for i in b])).loss,
                 cfg.train, seed, None, "amplify")
    return model, tok, losses


def dialogue_loss(model: Any, tok: Any, convs: list[Conversation], max_length: int,
                  batch_size: int = 8) -> float:
    """Mean token loss (nats) over the learnt turns of ``convs`` (:func:`chat_example`)."""
    import torch

    examples = [chat_example(tok, c, max_length) for c in convs]
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            b = _batch(tok, examples[start:start + batch_size])
            logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
            labels = b["labels"][:, 1:]
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            keep = labels != -100
            picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            total += float(-(picked[keep]).sum())
            count += int(keep.sum())
    return total / count if count else math.nan


def train_conditions(cfg: AmplifyConfig, out: str | Path) -> dict[str, Any]:
    """Tune per seed on the unfiltered and the filtered set (equal sizes), score each tuned
    model and the untuned one on held-out human dialogues, save the merged models under
    ``out/models/<condition>-seed<k>``; write ``runs.parquet`` and ``metrics.json``."""
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    filtered = load_dialogues(_path(cfg, cfg.filtered))
    unfiltered = load_dialogues(_path(cfg, cfg.unfiltered))
    n = min(cfg.n_train or len(filtered), len(filtered), len(unfiltered))
    if n < 2:
        raise InputError(f"only {n} training conversations per condition",
                         where=cfg.filtered, fix="generate more role-play or filter less")
    held = load_dialogues(_path(cfg, cfg.heldout))[:cfg.n_heldout]
    base, tok = _model(cfg, lora=False)
    rows = [{"condition": "untuned", "seed": None, "n_train": 0,
             "heldout_loss": dialogue_loss(base, tok, held, cfg.max_length), "model": cfg.model}]
    del base
    for seed in cfg.seeds:
        rng = np.random.default_rng(seed)
        sets = {"unfiltered": [unfiltered[i] for i in sorted(rng.choice(len(unfiltered), n, replace=False))],
                "filtered": [filtered[i] for i in sorted(rng.choice(len(filtered), n, replace=False))]}
        for cond in CONDITIONS:
            model, tok, losses = tune(sets[cond], cfg, seed)
            path = out / "models" / f"{cond}-seed{seed}"
            merged = model.merge_and_unload()
            with quiet_hf():
                merged.save_pretrained(path)
            tok.save_pretrained(path)
            rows.append({"condition": cond, "seed": seed, "n_train": n,
                         "heldout_loss": dialogue_loss(merged, tok, held, cfg.max_length),
                         "final_train_loss": losses[-1] if losses else math.nan,
                         "model": str(path)})
    runs = pd.DataFrame(rows)
    runs.to_parquet(out / "runs.parquet", index=False)
    metrics = {"name": cfg.name, "n_train": n, "n_heldout": len(held), "seeds": cfg.seeds,
               "heldout_loss": {c: mean_ci(runs.loc[runs["condition"] == c, "heldout_loss"].tolist())
                                for c in ("untuned", *CONDITIONS)},
               "ci": "95% Student-t over seeds"}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
