"""Causal language models for the training layer: loading one (with a LoRA adapter) and
batching (ids, labels) rows for it. Torch and transformers are imported when called."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from artifactual.training.common import quiet_hf

__all__ = ["causal_lm", "pad_batch"]


def causal_lm(path: str | Path, method: str = "lora", *, r: int = 16, alpha: int = 32,
              dropout: float = 0.05, targets: Sequence[str] = ("q_proj", "v_proj")) -> Any:
    """A causal LM in fp32 from ``path``, wrapped with a LoRA adapter (``peft``) when
    ``method`` is ``lora``."""
    import torch
    from transformers import AutoModelForCausalLM

    with quiet_hf():
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                                 target_modules=list(targets),
                                                 task_type="CAUSAL_LM"))
    return model


def pad_batch(rows: Sequence[tuple[list[int], list[int]]], pad: int) -> tuple[Any, Any, Any]:
    """(input_ids, labels, attention_mask) tensors of (ids, labels) rows, right-padded."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([x + [pad] * (width - len(x)) for x, _ in rows])
    labels = torch.tensor([y + [-100] * (width - len(y)) for _, y in rows])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in rows])
    return ids, labels, mask
