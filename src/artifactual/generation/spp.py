"""The Solo Performance Prompting generator: one request per task x strategy x seed.

Each output is parsed (:mod:`artifactual.agents.spp`) into a Conversation whose speakers
are the personas and whose ``outcome`` holds the final answer, the parse flag and the task
scorer's verdict. Strategies: ``spp``, ``spp-profile``, ``spp-fixed``, ``standard``, ``cot``
(or any template with the macros ``format``, ``system`` and ``prompt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from artifactual.agents.base import derive_seed
from artifactual.agents.spp import build_messages, is_persona_strategy, transcript_to_conversation
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import (InputProblem, OneShot, TaskItem, get_task_set, load_tasks,
                                         make_provenance, strategy_names)
from artifactual.records import Conversation, Source

__all__ = ["Section", "SPPUnit", "build", "records"]


class Section(BaseModel):
    """``spp:`` which task set, from which file, and how much of it."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["logic_grid", "trivia_creative_writing", "codenames"] = "logic_grid"
    data: str = Field(..., description="JSONL (or CSV) file of task rows")
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    answer_hint: str | None = None  # overrides the task set's hint


class SPPUnit(OneShot):
    """One task under one strategy and seed."""

    def __init__(self, id: str, item: TaskItem, strategy: Strategy, seed: int, request: ChatRequest,
                 task: str, path: str):
        super().__init__(id, request)
        self.item, self.strategy, self.seed, self.task, self.path = item, strategy, seed, task, path


def build(cfg, section: Section) -> list[OneShot]:
    """Every unit of the run: strategies x seeds x task items, with stable ids."""
    items, problems = load_tasks(section.task, section.data, limit=section.limit, offset=section.offset)
    hint = section.answer_hint if section.answer_hint is not None else get_task_set(section.task).answer_hint
    units: list[OneShot] = [InputProblem(p) for p in problems]
    for name in strategy_names(cfg, "spp"):
        strategy = load_strategy(name, cfg.prompts_dir)
        is_persona_strategy(strategy)  # fail early when the template lacks the ``format`` macro
        for seed in cfg.seeds:
            for item in items:
                uid = f"{name}-s{seed}-{section.task}-{item.id}"
                sampling = cfg.sampling.model_copy(update={"seed": derive_seed(seed, uid, 0)})
                request = ChatRequest(messages=build_messages(strategy, item.question, hint),
                                      sampling=sampling, tag=uid)
                units.append(SPPUnit(uid, item, strategy, seed, request, section.task, section.data))
    return units


def records(unit: OneShot, cfg, ctx: RecordContext) -> list[Conversation]:
    """The parsed, scored output; a backend failure writes nothing (retried on resume)."""
    if not isinstance(unit, SPPUnit) or not unit.answered:
        return []
    conv = transcript_to_conversation(unit.id, unit.result.text, personas=is_persona_strategy(unit.strategy))
    conv.task = unit.item.question
    if conv.outcome.parsed:
        correct, score = get_task_set(unit.task).score(unit.item.target, conv.outcome.answer)
    else:
        correct, score = False, 0.0
    conv.outcome.correct, conv.outcome.score = correct, score
    conv.source = Source(format=f"task:{unit.task}", path=str(Path(unit.path)), line=unit.item.line)
    conv.meta.update(task_set=unit.task, task_id=unit.item.id, target=unit.item.target,
                     finish_reason=unit.result.finish_reason)
    conv.provenance = make_provenance("spp", cfg, ctx, seed=unit.seed, usage=unit.usage,
                                      strategy=unit.strategy)
    return [conv]
