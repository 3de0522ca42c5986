"""The role-play generator: config section -> sessions -> records with provenance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from artifactual.agents.roleplay import RolePlaySession, RolePlayTask
from artifactual.agents.templates import load_strategy
from artifactual.agents.termination import Termination
from artifactual.generation.registry import RecordContext
from artifactual.records import Conversation, Provenance

__all__ = ["Section", "RolePlayTaskSpec", "build", "records"]


class RolePlayTaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assistant_role: str
    user_role: str
    task: str


class Section(BaseModel):
    """``roleplay:`` tasks are explicit triples and/or the product
    assistant_roles x user_roles x task_list."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[RolePlayTaskSpec] = Field(default_factory=list)
    assistant_roles: list[str] = Field(default_factory=list)
    user_roles: list[str] = Field(default_factory=list)
    task_list: list[str] = Field(default_factory=list)
    specify_task: bool = True
    word_limit: int = Field(50, ge=1)
    max_messages: int = Field(40, ge=2)
    max_user_without_instruction: int = Field(3, ge=1)
    repetition_threshold: float = Field(0.9, gt=0, le=1)
    history_window: int | None = Field(None, ge=2)
    user_markers: list[str] = Field(default_factory=lambda: ["Instruction:"])
    done_token: str = "<CAMEL_TASK_DONE>"

    @model_validator(mode="after")
    def _has_tasks(self) -> "Section":
        product = (self.assistant_roles, self.user_roles, self.task_list)
        if any(product) and not all(product):
            raise ValueError("assistant_roles, user_roles and task_list must all be given for a product")
        if not self.tasks and not all(product):
            raise ValueError("give tasks (assistant_role, user_role, task triples) or "
                             "assistant_roles x user_roles x task_list")
        return self

    def expand(self) -> list[RolePlayTaskSpec]:
        """Every task: the explicit triples first, then the product."""
        out = list(self.tasks)
        out += [RolePlayTaskSpec(assistant_role=a, user_role=u, task=t)
                for a in self.assistant_roles for u in self.user_roles for t in self.task_list]
        return out


def build(cfg, section: Section) -> list[RolePlaySession]:
    """Every dialogue of the run: strategies x seeds x tasks, with stable ids."""
    term = dict(max_msgs=section.max_messages, user_no_instruction=section.max_user_without_instruction,
                user_markers=tuple(section.user_markers), done_token=section.done_token,
                repetition_threshold=section.repetition_threshold)
    sessions = []
    for strategy_name in cfg.strategies:
        strategy = load_strategy(strategy_name, cfg.prompts_dir)
        for seed in cfg.seeds:
            for i, spec in enumerate(section.expand()):
                sessions.append(RolePlaySession(
                    id=f"{strategy_name}-s{seed}-{i:04d}",
                    task=RolePlayTask(spec.assistant_role, spec.user_role, spec.task),
                    strategy=strategy, sampling=cfg.sampling, seed=seed,
                    termination=Termination.camel(**term), specify=section.specify_task,
                    word_limit=section.word_limit, history_window=section.history_window))
    return sessions


def records(session: RolePlaySession, cfg, ctx: RecordContext) -> list[Conversation]:
    """The finished session as a record with full provenance."""
    conv = session.to_conversation()
    conv.provenance = Provenance(
        generator="roleplay", strategy=session.strategy.name,
        strategy_sha256=session.strategy.sha256, model=ctx.model, backend=ctx.backend,
        sampling=cfg.sampling.model_copy(update={"seed": session.seed}), seed=session.seed,
        engine_version=ctx.engine_version, usage=session.usage)
    return [conv]
