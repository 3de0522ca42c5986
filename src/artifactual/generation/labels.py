"""The task-label generator: n labels per item from the model, as a diverse annotator would.

Each item of a CSV or JSONL dataset is shown ``n`` times (one seed each) to the model,
answering as "a randomly chosen individual from a diverse group". The answer is held to
the label set with guided choice (vLLM structured outputs). Every sample is a ``Label``
record with annotator ``<model>#<k>``; an answer outside the label set becomes a Label
with ``label: null`` and a row in ``errors.jsonl``; a backend failure writes no record and
is retried on resume.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from artifactual.agents.base import derive_seed
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import (InputProblem, OneShot, RowProblem, make_provenance, model_label,
                                          read_rows, strategy_names)
from artifactual.records import Label

__all__ = ["Section", "LabelUnit", "build", "records", "match_label"]

Scalar = str | int | float


class Section(BaseModel):
    """``labels:`` the dataset, its label set and how many samples per item."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(..., description="CSV or JSONL file of items")
    text_field: str = "text"
    id_field: str | None = None  # default: the 0-based data row number
    label_set: list[Scalar] = Field(..., min_length=2)
    label_descriptions: dict[str, str] = Field(default_factory=dict)
    task: str = "Read the text and choose the label that fits it best."
    n: int = Field(5, ge=1)
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    dataset: str | None = None  # default: the file name without extension
    guided: bool = True  # constrain answers to the label set (guided choice)

    @model_validator(mode="after")
    def _distinct(self) -> "Section":
        names = [str(x) for x in self.label_set]
        if len(set(names)) != len(names):
            raise ValueError(f"label_set has repeated labels: {names}")
        unknown = set(self.label_descriptions) - set(names)
        if unknown:
            raise ValueError(f"label_descriptions names labels not in label_set: {sorted(unknown)}")
        return self


def match_label(answer: str, label_set: list[Scalar]) -> Scalar | None:
    """The label an answer names: an exact (case-insensitive) match, a leading label, or the
    only label mentioned as a whole word; None when it names none or several."""
    text = (answer or "").strip().strip("\"'`.*").strip()
    by_name = {str(x).lower(): x for x in label_set}
    if text.lower() in by_name:
        return by_name[text.lower()]
    for name in sorted(by_name, key=len, reverse=True):
        if re.match(rf"{re.escape(name)}(?![\w.])", text.lower()):
            return by_name[name]
    hits = [x for name, x in by_name.items() if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text.lower())]
    return hits[0] if len(hits) == 1 else None


class LabelUnit(OneShot):
    """One sample of one item."""

    def __init__(self, id: str, request: ChatRequest, *, item_id: str, text: str, annotator: str,
                 label_set: list[Scalar], dataset: str, strategy: Strategy, seed: int):
        super().__init__(id, request)
        self.item_id, self.text, self.annotator = item_id, text, annotator
        self.label_set, self.dataset, self.strategy, self.seed = label_set, dataset, strategy, seed
        self.label: Scalar | None = None

    def check(self, result: ChatResult) -> str | None:
        self.label = match_label(result.text, self.label_set)
        if self.label is None:
            return (f"unparseable label {result.text.strip()[:200]!r} for item {self.item_id}: not one of "
                    f"{[str(x) for x in self.label_set]}")
        return None


def _items(section: Section) -> tuple[list[tuple[str, str]], list[RowProblem]]:
    rows, problems = read_rows(section.data)
    items: list[tuple[str, str]] = []
    for index, (line, row) in enumerate(rows):
        if section.text_field not in row or (section.id_field and section.id_field not in row):
            need = [f for f in (section.text_field, section.id_field) if f]
            problems.append(RowProblem(f"{section.data}:{line}", f"missing field(s) {need}",
                                       "set labels.text_field / labels.id_field to this file's columns"))
            continue
        item_id = str(row[section.id_field]) if section.id_field else str(index)
        items.append((item_id, str(row[section.text_field])))
    stop = section.offset + section.limit if section.limit is not None else None
    return items[section.offset:stop], problems


def build(cfg, section: Section) -> list[OneShot]:
    """Units: strategies x seeds x items x n samples; annotator ``<model>#<k>`` with k unique
    per item across the sweep (strategy and seed are in provenance)."""
    items, problems = _items(section)
    dataset = section.dataset or Path(section.data).stem
    choices = [str(x) for x in section.label_set]
    model = model_label(cfg)
    units: list[OneShot] = [InputProblem(p) for p in problems]
    k0 = 0
    for name in strategy_names(cfg, "label-annotator"):
        strategy = load_strategy(name, cfg.prompts_dir)
        for seed in cfg.seeds:
            for item_id, text in items:
                prompt = strategy.render("prompt", text=text, labels=choices, task=section.task,
                                         descriptions=section.label_descriptions)
                messages = [{"role": "system", "content": strategy.render("system")},
                            {"role": "user", "content": prompt}]
                for j in range(section.n):
                    annotator = f"{model}#{k0 + j}"
                    uid = f"{item_id}::{annotator}"
                    sampling = cfg.sampling.model_copy(update={"seed": derive_seed(seed, uid, 0)})
                    request = ChatRequest(messages=messages, sampling=sampling, tag=uid,
                                          guided_choice=choices if section.guided else None)
                    units.append(LabelUnit(uid, request, item_id=item_id, text=text, annotator=annotator,
                                           label_set=list(section.label_set), dataset=dataset,
                                           strategy=strategy, seed=seed))
            k0 += section.n
    return units


def records(unit: OneShot, cfg, ctx: RecordContext) -> list[Label]:
    """One Label per answered sample (``label`` None when unparseable)."""
    if not isinstance(unit, LabelUnit) or not unit.answered:
        return []
    return [Label(item_id=unit.item_id, text=unit.text, annotator=unit.annotator, label=unit.label,
                  label_set=unit.label_set, dataset=unit.dataset,
                  provenance=make_provenance("labels", cfg, ctx, seed=unit.seed, usage=unit.usage,
                                             strategy=unit.strategy))]
