"""Instruction tuning on human-written vs LLM-generated instructions.

A causal LM (default: the embedded SmolLM2-135M-Instruct; any Hugging Face id on GPU) is
tuned with LoRA (``peft``) or fully, on ``n_train`` human instructions or on as many
LLM-generated ones. The loss covers only the response tokens. Both models answer the
held-out human instructions with greedy decoding and are scored as in the paper: ROUGE-L F1
(``rouge-score``, stemmed) and the cosine similarity of MiniLM embeddings to the reference.

Instructions come from a Self-Instruct seed file (``instruction`` + ``instances``: the first
instance is used) or from any :class:`~artifactual.records.Instruction` records (a JSONL
file or a run directory). Prompts use the tokenizer's chat template when it has one, else
a plain ``### Instruction / ### Input / ### Response`` layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from artifactual.errors import InputError
from artifactual.training.common import (InstructSection, Progress, TrainConfig, quiet_hf,
                                         require_size, resolve_path, seed_everything,
                                         split_indices)
from artifactual.training.models import causal_lm, pad_batch
from artifactual.training.mixing import Mix
from artifactual.training.run import RunResult, Timer, fit

__all__ = ["load_instructions", "InstructTask", "load_task", "train_mix", "evaluate",
           "evaluate_base", "rouge_l", "cosine", "METRICS"]

METRICS = ["rouge_l", "cosine", "output_words"]
GENERATE_HINT = ("create one with `artifactual generate configs/self_instruct.yaml --out "
                 "runs/self_instruct` (raise self_instruct.n to at least n_train) and point "
                 "instruct.llm_data at that run directory")


def load_instructions(path: Path) -> list[dict[str, str]]:
    """Instructions with a non-empty output, as dicts id/instruction/input/output/origin."""
    from artifactual.readers import base as readers
    from artifactual.records import Instruction

    out: list[dict[str, str]] = []
    first = None
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            line = next((ln for ln in fh if ln.strip()), "")
        try:
            first = json.loads(line) if line else None
        except ValueError:
            first = None
    if isinstance(first, dict) and "instances" in first:  # Self-Instruct seed format
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                inst = row["instances"][0]
                item = {"id": str(row.get("id", f"{path.stem}:{n}")),
                        "instruction": str(row["instruction"]).strip(),
                        "input": str(inst.get("input") or ""), "output": str(inst["output"]),
                        "origin": "human"}
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise InputError(f"bad seed task: {exc!r}", where=f"{path}:{n}",
                                 fix="each line needs instruction and instances[{input, output}]"
                                 ) from None
            if item["instruction"] and item["output"].strip():
                out.append(item)
        return out
    log = readers.ErrorLog()
    for rec in readers.read(path, errors=log):
        if isinstance(rec, Instruction) and rec.instruction.strip() and rec.output.strip():
            out.append({"id": rec.id, "instruction": rec.instruction.strip(), "input": rec.input,
                        "output": rec.output, "origin": rec.origin})
    return out


@dataclass
class InstructTask:
    human: list[dict[str, str]]
    llm: list[dict[str, str]]
    test: list[dict[str, str]]
    model: str
    tokenizer: Any
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_human_pool(self) -> int:
        return len(self.human)

    @property
    def n_llm_pool(self) -> int:
        return len(self.llm)


def load_task(cfg: TrainConfig) -> InstructTask:
    """Read both instruction sets and hold out ``n_test`` human instructions for evaluation."""
    from transformers import AutoTokenizer

    from artifactual.assets import resolve_llm

    s: InstructSection = cfg.instruct  # type: ignore[assignment]
    hpath = resolve_path(s.human_data, cfg.base_dir, "human instruction data")
    lpath = resolve_path(s.llm_data, cfg.base_dir, "LLM instruction data", hint=GENERATE_HINT)
    human, llm = load_instructions(hpath), load_instructions(lpath)
    for name, items, where in (("human", human, hpath), ("LLM-generated", llm, lpath)):
        if not items:
            raise InputError(f"missing labels: no {name} instructions with an output",
                             where=str(where), fix="give Instruction records or Self-Instruct "
                             "seed tasks" + ("" if name == "human" else "; " + GENERATE_HINT))
    require_size(len(human), s.n_train + s.n_test, "human instructions", str(hpath),
                 "lower instruct.n_train / n_test")
    train_idx, test_idx = split_indices([h["id"] for h in human], s.n_test, cfg.split_seed)
    test = [human[i] for i in test_idx]
    held = {t["instruction"].lower() for t in test}
    llm_kept = [x for x in llm if x["instruction"].lower() not in held]
    require_size(len(llm_kept), s.n_train, "LLM-generated instructions", str(lpath),
                 "lower instruct.n_train, or " + GENERATE_HINT)
    model = resolve_llm(s.model)
    tok = AutoTokenizer.from_pretrained(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    task = InstructTask([human[i] for i in train_idx], llm_kept, test, model, tok)
    task.info = {"human_data": str(hpath), "llm_data": str(lpath), "n_human": len(human),
                 "n_llm": len(llm), "n_llm_dropped_as_test_copies": len(llm) - len(llm_kept),
                 "n_test": len(test), "model": model, "method": s.method,
                 "mean_output_words": {"human": _words(task.human), "llm": _words(llm_kept),
                                       "test": _words(test)}}
    return task


def _words(items: list[dict[str, str]]) -> float:
    return float(np.mean([len(x["output"].split()) for x in items])) if items else float("nan")


def _prompt_ids(tok: Any, item: dict[str, str]) -> list[int]:
    user = item["instruction"] + (f"\n\n{item['input']}" if item["input"].strip() else "")
    if getattr(tok, "chat_template", None):
        ids = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=True,
                                      add_generation_prompt=True)
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    text = f"### Instruction:\n{item['instruction']}\n\n"
    if item["input"].strip():
        text += f"### Input:\n{item['input']}\n\n"
    return tok(text + "### Response:\n", add_special_tokens=True)["input_ids"]


def _example(tok: Any, item: dict[str, str], max_length: int) -> tuple[list[int], list[int]]:
    """(input_ids, labels): the prompt is masked with -100; the prompt is cut from the left."""
    prompt = _prompt_ids(tok, item)[-(max_length // 2):]
    answer = tok(item["output"].strip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    answer = answer[:max_length - len(prompt)]
    return prompt + answer, [-100] * len(prompt) + answer


def _load_model(task: InstructTask, s: InstructSection) -> Any:
    return causal_lm(task.model, s.method, r=s.lora_r, alpha=s.lora_alpha, dropout=s.lora_dropout,
                     targets=s.lora_targets)


def train_mix(task: InstructTask, mix: Mix, cfg: TrainConfig, seed: int,
              progress: Progress = None, desc: str = "instruct") -> RunResult:
    """Tune on human items ``mix.human`` plus LLM items ``mix.llm``; evaluate on the test set."""
    s: InstructSection = cfg.instruct  # type: ignore[assignment]
    seed_everything(seed, cfg.threads)
    items = [task.human[i] for i in mix.human] + [task.llm[i] for i in mix.llm]
    if len(items) < 2:
        raise InputError(f"dataset too small: {len(items)} training instructions", where=desc,
                         fix="raise instruct.n_train")
    examples = [_example(task.tokenizer, it, s.max_length) for it in items]
    model = _load_model(task, s)
    pad = task.tokenizer.pad_token_id
    seen = [0]

    def step(batch: np.ndarray) -> Any:
        seen[0] += len(batch)
        ids, labels, mask = pad_batch([examples[i] for i in batch], pad)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss

    with Timer() as t:
        losses = fit(model, len(items), step, s.train, seed, progress, desc)
    metrics, table = evaluate(model, task, s, progress, desc)

    def save(path: Path) -> None:
        model.save_pretrained(path)
        task.tokenizer.save_pretrained(path)

    return RunResult(metrics, losses, {"generations": table}, n_train=len(items),
                     samples=seen[0], seconds=t.seconds, save=save)


def evaluate_base(task: InstructTask, cfg: TrainConfig, progress: Progress = None) -> RunResult:
    """The untuned model on the same test set (a reference point for both conditions)."""
    from transformers import AutoModelForCausalLM

    seed_everything(cfg.split_seed, cfg.threads)
    with quiet_hf():
        model = AutoModelForCausalLM.from_pretrained(task.model, dtype=torch.float32)
    metrics, table = evaluate(model, task, cfg.instruct, progress, "base model")  # type: ignore[arg-type]
    return RunResult(metrics, [], {"generations": table})


def evaluate(model: Any, task: InstructTask, s: InstructSection, progress: Progress = None,
             desc: str = "instruct") -> tuple[dict[str, float], pd.DataFrame]:
    """Greedy answers to the test instructions; mean ROUGE-L F1 and MiniLM cosine."""
    tok = task.tokenizer
    prompts = [_prompt_ids(tok, it)[-s.max_length:] for it in task.test]
    outputs: list[str] = [""] * len(prompts)
    model.eval()
    n_batches = -(-len(prompts) // s.eval_batch_size)
    for b, start in enumerate(range(0, len(prompts), s.eval_batch_size)):
        part = prompts[start:start + s.eval_batch_size]
        width = max(len(p) for p in part)
        ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in part])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in part])
        with torch.no_grad():
            gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                 max_new_tokens=s.max_new_tokens, pad_token_id=tok.pad_token_id)
        for j, row in enumerate(gen[:, width:]):
            outputs[start + j] = tok.decode(row, skip_special_tokens=True).strip()
        if progress:
            progress(f"eval: {desc}", b + 1, n_batches)
    refs = [it["output"] for it in task.test]
    table = pd.DataFrame({"id": [it["id"] for it in task.test], "reference": refs,
                          "generated": outputs, "rouge_l": rouge_l(outputs, refs),
                          "cosine": cosine(outputs, refs),
                          "output_words": [len(o.split()) for o in outputs]})
    metrics = {m: float(table[m].mean()) for m in METRICS}
    return metrics, table


@lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(predictions: list[str], references: list[str]) -> list[float]:
    """ROUGE-L F1 of each prediction against its reference (rouge-score, stemmed)."""
    return [_scorer().score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)]


@lru_cache(maxsize=1)
def _encoder() -> Any:
    from sentence_transformers import SentenceTransformer

    from artifactual.assets import encoder_dir

    with quiet_hf():
        return SentenceTransformer(str(encoder_dir()), device="cpu")


def cosine(predictions: list[str], references: list[str]) -> list[float]:
    """Cosine similarity of MiniLM sentence embeddings, prediction vs reference."""
    if not predictions:
        return []
    emb = _encoder().encode(list(predictions) + list(references), normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
    n = len(predictions)
    return [float(x) for x in np.sum(emb[:n] * emb[n:], axis=1)]
