"""AI-society enumeration (CAMEL's recipe): the model proposes roles and tasks, then role-plays.

Per run seed, the model lists ``n_assistant_roles`` assistant roles and ``n_user_roles``
user roles, then ``n_tasks`` tasks for every (assistant, user) pair; every (pair, task)
then runs as a role-play session (:mod:`artifactual.agents.roleplay`) under each strategy.

The units are the role-plays themselves, built up front. While the lists are not known a
unit *carries* one pending enumeration request (one carrier per list and step, chosen in
unit order) or waits (its next request is None for that step). A list shorter
than asked for is asked again with a new seed (``max_enumeration_attempts``); units left
without a role or task end with ``termination_reason: enumeration_short``. Enumeration
requests do not depend on the carrier, so a resumed run replays them from the cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from artifactual.agents.base import derive_seed
from artifactual.agents.roleplay import RolePlaySession, RolePlayTask
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.agents.termination import Termination
from artifactual.generation import roleplay
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import make_provenance
from artifactual.records import Conversation, Sampling, Usage

__all__ = ["Section", "SocietyPlan", "SocietySession", "parse_list", "build", "records"]

STEP_SYNCHRONOUS = True  # scheduled in steps, never continuously: units wait for the shared plan

Key = tuple[Any, ...]  # ("assistant",) | ("user",) | ("tasks", i, j)


class Section(roleplay.Section):
    """``society:`` sizes of the enumeration, plus every role-play option of ``roleplay:``."""

    n_assistant_roles: int = Field(2, ge=1)
    n_user_roles: int = Field(2, ge=1)
    n_tasks: int = Field(1, ge=1, description="tasks per (assistant, user) pair")
    template: str = "society"
    max_enumeration_attempts: int = Field(3, ge=1)
    enumeration_max_tokens: int = Field(160, ge=8)

    @model_validator(mode="after")
    def _has_tasks(self) -> "Section":  # replaces roleplay's check: the model writes the tasks
        if self.tasks or self.assistant_roles or self.user_roles or self.task_list:
            raise ValueError("society enumerates its own roles and tasks: remove tasks, assistant_roles, "
                             "user_roles and task_list (or use generator: roleplay)")
        return self


_ITEM = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•])\s*(.+)$")


def parse_list(text: str, max_words: int) -> list[str]:
    """Items of a numbered or bulleted list (else its non-empty lines), cleaned and deduplicated."""
    lines = [x.strip().strip("*").strip() for x in (text or "").split("\n")]
    lines = [x for x in lines if x and not x.endswith(":")]  # drop headers such as "Task 1:"
    found = [m.group(1) for m in map(_ITEM.match, lines) if m]
    out: list[str] = []
    for raw in found or lines:
        item = re.sub(r"^task\s*\d+\s*[:.)-]\s*", "", raw.replace("**", "").strip(), flags=re.I)
        item = item.strip("*\"'`").strip()
        if max_words <= 6:  # a role: drop a description after ':' or ' - '
            item = re.split(r"\s*:\s*|\s+[-–—]\s+|\s*\(", item)[0].strip()
        item = item.rstrip(".;,").strip()
        if item and len(item.split()) <= max_words and item.lower() not in {x.lower() for x in out}:
            out.append(item)
    return out


@dataclass
class _List:
    """One list the model is asked for, until it has ``need`` items or runs out of attempts."""

    prompt: str
    need: int
    max_words: int
    items: list[str] = field(default_factory=list)
    attempts: int = 0
    resolved: bool = False
    carrier: str | None = None
    raw: list[str] = field(default_factory=list)
    error: str | None = None


class SocietyPlan:
    """The roles and tasks of one run seed, shared by all its units."""

    def __init__(self, section: Section, template: Strategy, seed: int, sampling: Sampling):
        self.section, self.template, self.seed, self.sampling = section, template, seed, sampling
        s = section
        self.lists: dict[Key, _List] = {
            ("assistant",): _List(template.render("assistant_roles", n=s.n_assistant_roles), s.n_assistant_roles, 6),
            ("user",): _List(template.render("user_roles", n=s.n_user_roles), s.n_user_roles, 6),
        }

    def get(self, key: Key) -> _List | None:
        """The list under ``key``; a pair's task list exists once both role lists are done."""
        if key[0] == "tasks" and key not in self.lists:
            a, u = self.items(("assistant",)), self.items(("user",))
            if a is None or u is None:
                return None
            prompt = self.template.render("tasks", assistant_role=a[key[1]], user_role=u[key[2]],
                                          n=self.section.n_tasks)
            self.lists[key] = _List(prompt, self.section.n_tasks, 60)
        return self.lists[key]

    def items(self, key: Key) -> list[str] | None:
        lst = self.lists.get(key)
        return lst.items if lst is not None and lst.resolved else None

    def claim(self, key: Key, unit_id: str) -> ChatRequest | None:
        """The pending request for ``key`` if this unit may carry it this step."""
        lst = self.get(key)
        if lst is None or lst.resolved or lst.carrier not in (None, unit_id):
            return None
        lst.carrier = unit_id
        sampling = self.sampling.model_copy(update={
            "seed": derive_seed(self.seed, "society/" + "/".join(map(str, key)), lst.attempts),
            "max_tokens": self.section.enumeration_max_tokens})
        return ChatRequest(messages=[{"role": "user", "content": lst.prompt}], sampling=sampling,
                           tag=f"society:{key}")

    def offer(self, key: Key, result: ChatResult) -> None:
        """Take the carried answer: add its new items, or retry, or give up."""
        lst = self.lists[key]
        lst.carrier = None
        lst.attempts += 1
        if not result.ok:
            lst.error, lst.resolved = result.error, True
            return
        lst.raw.append(result.text)
        for item in parse_list(result.text, lst.max_words):
            if len(lst.items) < lst.need and item.lower() not in {x.lower() for x in lst.items}:
                lst.items.append(item)
        lst.resolved = len(lst.items) >= lst.need or lst.attempts >= self.section.max_enumeration_attempts

    def summary(self) -> dict[str, Any]:
        return {"assistant_roles": self.items(("assistant",)), "user_roles": self.items(("user",)),
                "template": self.template.name, "template_sha256": self.template.sha256,
                "raw": {"/".join(map(str, k)): v.raw for k, v in self.lists.items()}}


class SocietySession:
    """A role-play over (assistant role i, user role j, task k) of a plan; enumerates first."""

    def __init__(self, id: str, index: tuple[int, int, int], plan: SocietyPlan, strategy: Strategy,
                 make_session):
        self.id, self.index, self.plan, self.strategy, self._make = id, index, plan, strategy, make_session
        self.seed = plan.seed
        self.usage = Usage()
        self.session: RolePlaySession | None = None
        self.termination_reason: str | None = None
        self.error: str | None = None
        self._carrying: Key | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done or (self.session is not None and self.session.done)

    def _needs(self) -> list[Key]:
        i, j, _ = self.index
        return [("assistant",), ("user",), ("tasks", i, j)]

    def next_request(self) -> ChatRequest | None:
        if self.session is not None:
            return self.session.next_request()
        waiting = False
        for key in self._needs():
            lst = self.plan.get(key)
            if lst is not None and lst.resolved:
                continue
            req = self.plan.claim(key, self.id) if lst is not None else None
            if req is not None:
                self._carrying = key
                return req
            waiting = True  # not askable yet, or another unit carries it this step
        return None if waiting else self._start()

    def _start(self) -> ChatRequest:
        i, j, k = self.index
        lists = [self.plan.lists.get(key) for key in self._needs()]
        failed = next((x.error for x in lists if x is not None and x.error), None)
        a, u, t = (x.items if x is not None else [] for x in lists)
        if failed or i >= len(a) or j >= len(u) or k >= len(t):
            self.termination_reason = "backend_error" if failed else "enumeration_short"
            self.error, self._done = failed, True
            return None
        self.session = self._make(self.id, RolePlayTask(a[i], u[j], t[k]))
        return self.session.next_request()

    def apply(self, result: ChatResult) -> None:
        if self._carrying is not None:
            self.usage.add(result.prompt_tokens, result.completion_tokens)
            self.plan.offer(self._carrying, result)
            self._carrying = None
        elif self.session is not None:
            self.session.apply(result)


def build(cfg, section: Section) -> list[SocietySession]:
    """Every (strategy, seed, assistant i, user j, task k) role-play; one plan per seed."""
    template = load_strategy(section.template, cfg.prompts_dir)
    term = dict(max_msgs=section.max_messages, user_no_instruction=section.max_user_without_instruction,
                user_markers=tuple(section.user_markers), done_token=section.done_token,
                repetition_threshold=section.repetition_threshold)
    strategies = [load_strategy(name, cfg.prompts_dir) for name in cfg.strategies]
    units: list[SocietySession] = []
    for seed in cfg.seeds:
        plan = SocietyPlan(section, template, seed, cfg.sampling)
        for strategy in strategies:
            def make(uid: str, task: RolePlayTask, strategy: Strategy = strategy, seed: int = seed):
                return RolePlaySession(uid, task, strategy, cfg.sampling, seed=seed,
                                       termination=Termination.camel(**term), specify=section.specify_task,
                                       word_limit=section.word_limit, history_window=section.history_window)
            for i in range(section.n_assistant_roles):
                for j in range(section.n_user_roles):
                    for k in range(section.n_tasks):
                        uid = f"{strategy.name}-s{seed}-a{i}-u{j}-t{k}"
                        units.append(SocietySession(uid, (i, j, k), plan, strategy, make))
    return units


def shard_key(unit: SocietySession) -> str:
    """The units of one run seed share a plan (roles, tasks): they run in one Ray shard."""
    return f"seed-{unit.plan.seed}"


def records(unit: SocietySession, cfg, ctx: RecordContext) -> list[Conversation]:
    """The finished role-play (or an empty one when enumeration fell short) with provenance;
    a backend failure during enumeration writes nothing (retried on resume)."""
    if unit.termination_reason == "backend_error":
        return []
    i, j, k = unit.index
    usage = unit.usage.model_copy()
    if unit.session is not None:
        conv = unit.session.to_conversation()
        usage.add(unit.session.usage.prompt_tokens, unit.session.usage.completion_tokens)
    else:
        conv = Conversation(id=unit.id, termination_reason=unit.termination_reason)
    society = unit.plan.summary()
    society.update(index={"assistant": i, "user": j, "task": k},
                   tasks=unit.plan.items(("tasks", i, j)))
    conv.meta["society"] = society
    conv.provenance = make_provenance("society", cfg, ctx, seed=unit.seed, usage=usage,
                                      strategy=unit.strategy)
    return [conv]
