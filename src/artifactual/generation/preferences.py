"""The pairwise-preference generator: a model judges (prompt, response A, response B).

Every pair is judged in both orders. Each order is one ``Preference`` record: ``order``
``original`` shows (a, b) as given; ``swapped`` shows b first, and its record stores the
responses as shown (``a`` = the original b), so ``choice`` always names a shown position.
A consistent judge picks ``a`` in one order and ``b`` in the other (or ties twice). The
answer is held to "A" / "B" / "tie" with guided choice; an answer outside that set becomes
a record with ``choice: null`` and a row in ``errors.jsonl``.

Record ids are ``<pair id>::<order>`` (``<pair id>::<strategy>::s<seed>::<order>`` in a sweep),
because the run store keys records by id; the pair id is the text before the first ``::``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from artifactual.agents.base import derive_seed
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import (InputProblem, OneShot, RowProblem, make_provenance, model_label,
                                          read_rows, strategy_names)
from artifactual.records import Preference

__all__ = ["Section", "PairUnit", "build", "records", "parse_choice"]

Order = Literal["original", "swapped"]


class Section(BaseModel):
    """``preferences:`` the pairs file, its columns, and the judging options."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(..., description="CSV or JSONL file of (prompt, a, b) pairs")
    prompt_field: str | None = "prompt"  # None: pairs without a prompt
    a_field: str = "a"
    b_field: str = "b"
    id_field: str | None = None  # default: the 0-based data row number
    ties: bool = True
    orders: list[Order] = Field(default_factory=lambda: ["original", "swapped"], min_length=1)
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    guided: bool = True


def parse_choice(answer: str, ties: bool = True) -> Literal["a", "b", "tie"] | None:
    """"A" / "B" / "tie" (with light decoration such as "Response A." or "**B**") -> a | b | tie."""
    text = (answer or "").strip().strip("\"'`*.:! ").lower()
    text = text.removeprefix("response ").removeprefix("answer: ").strip()
    if text in ("a", "b"):
        return text  # type: ignore[return-value]
    if ties and text in ("tie", "a tie", "equal", "both"):
        return "tie"
    return None


class PairUnit(OneShot):
    """One pair shown in one order."""

    def __init__(self, id: str, request: ChatRequest, *, prompt: str, first: str, second: str,
                 order: Order, judge: str, ties: bool, strategy: Strategy, seed: int):
        super().__init__(id, request)
        self.prompt, self.first, self.second, self.order = prompt, first, second, order
        self.judge, self.ties, self.strategy, self.seed = judge, ties, strategy, seed
        self.choice: Literal["a", "b", "tie"] | None = None

    def check(self, result: ChatResult) -> str | None:
        self.choice = parse_choice(result.text, self.ties)
        if self.choice is None:
            allowed = ["A", "B"] + (["tie"] if self.ties else [])
            return f"unparseable judgment {result.text.strip()[:200]!r} for {self.id}: not one of {allowed}"
        return None


def _pairs(section: Section) -> tuple[list[tuple[str, str, str, str]], list[RowProblem]]:
    rows, problems = read_rows(section.data)
    need = [f for f in (section.prompt_field, section.a_field, section.b_field, section.id_field) if f]
    pairs: list[tuple[str, str, str, str]] = []
    for index, (line, row) in enumerate(rows):
        missing = [f for f in need if f not in row]
        if missing:
            problems.append(RowProblem(f"{section.data}:{line}", f"missing field(s) {missing}",
                                       "set preferences.prompt_field / a_field / b_field / id_field"))
            continue
        pair_id = str(row[section.id_field]) if section.id_field else str(index)
        prompt = str(row[section.prompt_field]) if section.prompt_field else ""
        pairs.append((pair_id, prompt, str(row[section.a_field]), str(row[section.b_field])))
    stop = section.offset + section.limit if section.limit is not None else None
    return pairs[section.offset:stop], problems


def build(cfg, section: Section) -> list[OneShot]:
    """Units: strategies x seeds x pairs x orders."""
    pairs, problems = _pairs(section)
    names = strategy_names(cfg, "pairwise-judge")
    sweep = len(names) * len(cfg.seeds) > 1
    judge = model_label(cfg)
    choices = ["A", "B"] + (["tie"] if section.ties else [])
    units: list[OneShot] = [InputProblem(p) for p in problems]
    for name in names:
        strategy = load_strategy(name, cfg.prompts_dir)
        system = strategy.render("system")
        for seed in cfg.seeds:
            for pair_id, prompt, a, b in pairs:
                for order in section.orders:
                    first, second = (a, b) if order == "original" else (b, a)
                    uid = f"{pair_id}::{name}::s{seed}::{order}" if sweep else f"{pair_id}::{order}"
                    user = strategy.render("prompt", prompt=prompt, first=first, second=second,
                                           ties=section.ties)
                    sampling = cfg.sampling.model_copy(update={"seed": derive_seed(seed, uid, 0)})
                    request = ChatRequest(messages=[{"role": "system", "content": system},
                                                    {"role": "user", "content": user}],
                                          sampling=sampling, tag=uid,
                                          guided_choice=choices if section.guided else None)
                    units.append(PairUnit(uid, request, prompt=prompt, first=first, second=second,
                                          order=order, judge=judge, ties=section.ties,
                                          strategy=strategy, seed=seed))
    return units


def records(unit: OneShot, cfg, ctx: RecordContext) -> list[Preference]:
    """One Preference per answered judgment (``choice`` None when unparseable)."""
    if not isinstance(unit, PairUnit) or not unit.answered:
        return []
    return [Preference(id=unit.id, pair_id=unit.id.rsplit("::", 1)[0], prompt=unit.prompt, a=unit.first, b=unit.second, choice=unit.choice,
                       judge=unit.judge, order=unit.order,
                       provenance=make_provenance("preferences", cfg, ctx, seed=unit.seed,
                                                  usage=unit.usage, strategy=unit.strategy))]
