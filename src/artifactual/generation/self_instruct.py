"""Self-Instruct: bootstrap new instructions from seed tasks with the model itself.

The run has ``n`` *slots*; each slot is a unit that proposes instructions until one passes
the filters, asks whether it is a classification task (guided Yes/No), and writes one
instance (label first for classification tasks). Every proposal prompt holds up to 8
in-context instructions: 6 seeds and 2 from the machine pool (fewer while it is small).
At most ``round_size`` slots propose at once (slot k starts when slot k - round_size is
done), so the machine pool grows round by round, as in the original recipe.

Filters, in order: empty, non-ASCII or punctuation start, too short / too long, blocked
keywords (image, graph, file, draw, ...), then ROUGE-L F1 (``rouge-score``) above
``rouge_threshold`` with anything in the pool (seeds + accepted). Each record's ``meta``
holds its most similar pool item and score, the rejected proposals and the context used.

Resume: the slots of one (strategy, seed) share a pool, so they count as done only
together (``record_ids``); an unfinished group replays from the request cache (identical
prompts, identical answers) and the store skips records it already holds.
"""

from __future__ import annotations

import random
import re
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rouge_score import rouge_scorer, tokenizers

from artifactual.agents.base import derive_seed
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.errors import ConfigError
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import (InputProblem, RowProblem, make_provenance, read_rows,
                                          strategy_names)
from artifactual.records import Instruction, Usage

__all__ = ["Section", "Seed", "RougePool", "Bootstrap", "Slot", "load_seeds", "check_instruction",
           "parse_proposal", "parse_instance", "build", "records", "record_ids", "BLOCKED_WORDS"]

STEP_SYNCHRONOUS = True  # scheduled in steps, never continuously: the pool grows round by round

BLOCKED_WORDS = ["image", "images", "graph", "graphs", "picture", "pictures", "photo", "photos", "file",
                 "files", "map", "maps", "draw", "plot", "go to", "video", "audio", "flowchart", "diagram"]


class Section(BaseModel):
    """``self_instruct:`` seeds, target size and filters."""

    model_config = ConfigDict(extra="forbid")

    seeds: str = "builtin"  # or a JSONL file in the Self-Instruct seed format
    n: int = Field(..., ge=1, description="instructions to generate per strategy x seed")
    round_size: int = Field(4, ge=1)
    n_seed_examples: int = Field(6, ge=1)
    n_machine_examples: int = Field(2, ge=0)
    rouge_threshold: float = Field(0.7, gt=0, le=1)
    min_words: int = Field(3, ge=1)
    max_words: int = Field(150, ge=1)
    blocked_words: list[str] = Field(default_factory=lambda: list(BLOCKED_WORDS))
    max_attempts: int = Field(8, ge=1)  # proposals per slot before it gives up
    identify_classification: bool = True


class Seed(BaseModel):
    id: str
    instruction: str
    input: str = ""
    output: str = ""
    is_classification: bool = False


def load_seeds(spec: str) -> tuple[list[Seed], list[RowProblem]]:
    """Seed tasks from ``builtin`` (shipped with the package) or a Self-Instruct JSONL file."""
    path = files("artifactual") / "data" / "seed_tasks.jsonl" if spec == "builtin" else spec
    rows, problems = read_rows(str(path))
    seeds: list[Seed] = []
    for line, row in rows:
        text = str(row.get("instruction") or "").strip()
        if not text:
            problems.append(RowProblem(f"{path}:{line}", "no instruction", "give each seed an 'instruction'"))
            continue
        inst = (row.get("instances") or [{}])[0]
        seeds.append(Seed(id=str(row.get("id", f"seed_{line}")), instruction=text,
                          input=str(inst.get("input") or ""), output=str(inst.get("output") or ""),
                          is_classification=bool(row.get("is_classification", False))))
    return seeds, problems


class RougePool:
    """Texts compared by ROUGE-L F1; ``most_similar`` finds the closest one."""

    def __init__(self, texts: list[str] = ()):
        self._scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        self._tok = tokenizers.DefaultTokenizer(use_stemmer=False)
        self.items: list[tuple[str, int]] = []
        for t in texts:
            self.add(t)

    def add(self, text: str) -> None:
        self.items.append((text, len(self._tok.tokenize(text))))

    def most_similar(self, text: str) -> tuple[str | None, float]:
        """The pool item with the highest ROUGE-L F1 against ``text``, and that score."""
        n = len(self._tok.tokenize(text))
        best, best_score = None, 0.0
        for item, m in self.items:
            if n + m == 0 or 2 * min(n, m) / (n + m) <= best_score:  # F1 cannot beat the best
                continue
            score = self._scorer.score(item, text)["rougeL"].fmeasure
            if score > best_score or best is None:
                best, best_score = item, score
        return best, best_score


def check_instruction(text: str, section: Section) -> str | None:
    """The first filter an instruction fails (``empty``, ``too_short``, ``keyword:draw``, ...)."""
    if not text:
        return "empty"
    if not text[0].isascii():
        return "non_ascii_start"
    if not text[0].isalnum():
        return "starts_with_punctuation"
    words = len(text.split())
    if words < section.min_words:
        return "too_short"
    if words > section.max_words:
        return "too_long"
    low = text.lower()
    for word in section.blocked_words:
        if re.search(rf"\b{re.escape(word.lower())}\b", low):
            return f"keyword:{word}"
    return None


def parse_proposal(text: str) -> str:
    """The first instruction in a model reply: the first line, without a "Task 9:" label."""
    label = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)?(?:\*\*)?(?:new\s+)?task(?:\s*\d+)?\s*(?:\*\*)?\s*[:.)-]\s*",
                       re.I)
    lines = [label.sub("", x.strip()).strip() for x in (text or "").split("\n")]
    lines = [x for x in lines if x and not x.endswith(":")] or [""]  # skip "Here is a task:" lines
    line = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", lines[0])
    line = re.split(r"\s+task\s*\d+\s*:", line, flags=re.I)[0]
    return " ".join(line.strip().strip("\"'`*").split())


def parse_instance(text: str, output_first: bool) -> dict[str, str] | None:
    """``{"input", "output"}`` from an instance reply, or None when it has no usable shape."""
    text = (text or "").strip()
    if output_first:
        text = re.sub(r"^(?:class\s+)?label\s*:\s*", "", text, flags=re.I)
        parts = re.split(r"^\s*input\s*:\s*", text, maxsplit=1, flags=re.I | re.M)
        if len(parts) < 2 or not parts[0].strip():
            return None
        body = re.split(r"^\s*(?:class\s+)?label\s*:", parts[1], flags=re.I | re.M)[0]
        return {"input": body.strip(), "output": parts[0].strip()}
    text = re.sub(r"^input\s*:\s*", "", text, flags=re.I)
    parts = re.split(r"^\s*output\s*:\s*", text, maxsplit=1, flags=re.I | re.M)
    if len(parts) < 2 or not parts[1].strip():
        return None
    out = re.split(r"^\s*(?:input|task)\s*:", parts[1], flags=re.I | re.M)[0]
    inp = parts[0].strip()
    return {"input": "" if inp.lower() in ("none", "none.", "n/a") else inp, "output": out.strip()}


class Bootstrap:
    """The shared state of one (strategy, seed) run: seeds, machine pool, slots."""

    def __init__(self, section: Section, seeds: list[Seed], strategy: Strategy, seed: int):
        self.section, self.seeds, self.strategy, self.seed = section, seeds, strategy, seed
        self.machine: list[str] = []
        self.pool = RougePool([s.instruction for s in seeds])
        self.slots: list[Slot] = []

    def may_start(self, k: int) -> bool:
        b = self.section.round_size
        return k < b or self.slots[k - b].done

    def context(self, rng: random.Random) -> list[str]:
        s = self.section
        picked = rng.sample([x.instruction for x in self.seeds], min(s.n_seed_examples, len(self.seeds)))
        picked += rng.sample(self.machine, min(s.n_machine_examples, len(self.machine)))
        rng.shuffle(picked)
        return picked

    def judge(self, text: str) -> tuple[str | None, str | None, float]:
        """(rejection reason or None, most similar pool item, its ROUGE-L F1)."""
        similar, score = self.pool.most_similar(text) if text else (None, 0.0)
        reason = check_instruction(text, self.section)
        if reason is None and score > self.section.rouge_threshold:
            reason = "too_similar"
        return reason, similar, score

    def accept(self, text: str) -> int:
        self.machine.append(text)
        self.pool.add(text)
        return len(self.machine) - 1


class Slot:
    """One instruction of the run: propose until accepted, classify, write an instance."""

    def __init__(self, id: str, k: int, boot: Bootstrap, sampling):
        self.id, self.k, self.boot, self.sampling = id, k, boot, sampling
        self.phase = "wait"
        self.usage = Usage()
        self.step = 0
        self.attempts = 0
        self.rejected: list[dict[str, Any]] = []
        self.context: list[str] = []
        self.instruction: str | None = None
        self.similar: tuple[str | None, float] = (None, 0.0)
        self.accepted_rank: int | None = None
        self.is_classification: bool | None = None
        self.instance: dict[str, str] | None = None
        self.raw: dict[str, str] = {}
        self.error: str | None = None

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def _request(self, prompt: str, **extra: Any) -> ChatRequest:
        seed = derive_seed(self.boot.seed, self.id, self.step)
        sampling = self.sampling.model_copy(update={"seed": seed, **extra.pop("sampling", {})})
        return ChatRequest(messages=[{"role": "user", "content": prompt}], sampling=sampling,
                           tag=self.id, **extra)

    def next_request(self) -> ChatRequest | None:
        if self.phase == "wait":
            if not self.boot.may_start(self.k):
                return None  # wait this step
            self.phase = "propose"
        st = self.boot.strategy
        if self.phase == "propose":
            rng = random.Random(derive_seed(self.boot.seed, f"{self.id}/context", self.attempts))
            self.context = self.boot.context(rng)
            return self._request(st.render("propose", examples=self.context))
        if self.phase == "classify":
            return self._request(st.render("classify", instruction=self.instruction),
                                 guided_choice=["Yes", "No"], sampling={"max_tokens": 4})
        if self.phase == "instances":
            macro = "instances_output_first" if self.is_classification else "instances"
            return self._request(st.render(macro, instruction=self.instruction))
        return None

    def apply(self, result: ChatResult) -> None:
        if self.phase == "wait":
            return  # an idle step: nothing to take
        self.step += 1
        self.usage.add(result.prompt_tokens, result.completion_tokens)
        if not result.ok:  # give up in this session; a resumed run retries (failures are not cached)
            self.error, self.phase = result.error, "done"
            return
        self.raw[self.phase] = result.text
        if self.phase == "propose":
            self._propose(parse_proposal(result.text))
        elif self.phase == "classify":
            self.is_classification = result.text.strip().lower().startswith("yes")
            self.phase = "instances"
        elif self.phase == "instances":
            self.instance = parse_instance(result.text, bool(self.is_classification))
            self.phase = "done"

    def _propose(self, text: str) -> None:
        self.attempts += 1
        reason, similar, score = self.boot.judge(text)
        if reason is None:
            self.instruction, self.similar = text, (similar, score)
            self.accepted_rank = self.boot.accept(text)
            self.phase = "classify" if self.boot.section.identify_classification else "instances"
            self.is_classification = False if self.phase == "instances" else None
            return
        self.rejected.append({"text": text, "reason": reason, "most_similar": similar,
                              "rouge_l": round(score, 4)})
        if self.attempts >= self.boot.section.max_attempts:
            self.error, self.phase = f"no proposal passed the filters in {self.attempts} attempts", "done"


def build(cfg, section: Section) -> list[Slot | InputProblem]:
    """n slots per strategy x seed, each group sharing one pool."""
    seeds, problems = load_seeds(section.seeds)
    if not seeds:
        raise ConfigError("no usable seed tasks", where=section.seeds,
                          fix="give a JSONL file with an 'instruction' per line, or seeds: builtin")
    units: list[Slot | InputProblem] = [InputProblem(p) for p in problems]
    for name in strategy_names(cfg, "self-instruct"):
        strategy = load_strategy(name, cfg.prompts_dir)
        for seed in cfg.seeds:
            boot = Bootstrap(section, seeds, strategy, seed)
            boot.slots = [Slot(f"{name}-s{seed}-{k:05d}", k, boot, cfg.sampling) for k in range(section.n)]
            units += boot.slots
    return units


def record_ids(unit: Slot | InputProblem) -> list[str]:
    """A slot is done only when its whole group is (the group replays together)."""
    return [s.id for s in unit.boot.slots] if isinstance(unit, Slot) else [unit.id]


def shard_key(unit: Slot | InputProblem) -> str:
    """The slots of one (strategy, seed) share a pool: they run in one Ray shard."""
    return unit.id.rsplit("-", 1)[0] if isinstance(unit, Slot) else unit.id


def records(unit: Slot | InputProblem, cfg, ctx: RecordContext) -> list[Instruction]:
    """The accepted instruction with its instance; nothing when the slot gave up or failed."""
    if not isinstance(unit, Slot) or unit.instruction is None or unit.error:
        return []
    inst = unit.instance or {"input": "", "output": ""}
    similar, score = unit.similar
    return [Instruction(
        id=unit.id, instruction=unit.instruction, input=inst["input"], output=inst["output"], origin="llm",
        provenance=make_provenance("self_instruct", cfg, ctx, seed=unit.boot.seed, usage=unit.usage,
                                   strategy=unit.boot.strategy),
        meta={"most_similar": similar, "rouge_l": round(score, 4), "is_classification": unit.is_classification,
              "instance_parsed": unit.instance is not None, "attempts": unit.attempts,
              "accepted_rank": unit.accepted_rank, "rejected": unit.rejected, "context": unit.context,
              "raw": unit.raw})]
