"""Free-form texts: an LLM counterpart for every text of a human corpus, paired for comparison.

The corpus is JSONL or CSV with an id, a text and (optionally) the prompt the human answered
(field names: ``id_field``, ``text_field``, ``prompt_field``). Modes:

- ``answer``: answer the human's prompt (rows without a prompt are input errors);
- ``rewrite``: rewrite the human text, keeping its meaning;
- ``continue``: continue from the first ``prefix_tokens`` *whitespace-separated* tokens of the
  human text (no model tokenizer, so the prefix is the same on every backend).

Records (both halves of every pair are in the run directory):

- one human ``Text`` per row: id ``human:<id>``, ``origin: human``, ``source_id: <id>``,
  ``provenance: None``;
- one LLM ``Text`` per row x strategy x seed: id ``llm:<strategy>:s<seed>:<id>``,
  ``origin: llm``, ``source_id: <id>``, full provenance.

Pairs are keyed by ``source_id`` on both sides, as ``compare --kind text`` expects.

Continue-mode convention: ``text`` holds the *whole* text, prefix included, on both sides, and
``meta["prefix"]`` holds the shared prefix verbatim, so ``text.startswith(meta["prefix"])``
always holds and ``text[len(meta["prefix"]):]`` is the continuation alone (the human's own
continuation, or the model's). An answer that repeats the prefix has the repeat removed
(``meta["repeated_prefix"] = True``).

Length matching (``length_match: true``): the target is ``length_ratio`` x the human text's
word count (its continuation's, in continue mode); it is passed to the template as
``target_words`` and sets ``max_tokens = ceil(target_words x tokens_per_word x length_margin)``,
never above ``sampling.max_tokens``, and ``min_tokens = floor(target_words x tokens_per_word x
min_share)``, so a small model cannot stop after a few words. Without it, ``target_words``
is None and ``max_tokens`` is ``sampling.max_tokens``. The run's manifest records the
median LLM/human word ratio per strategy (:func:`run_totals`, ``length_ratio``).

Bad rows (missing or repeated id, empty text, no prompt in answer mode, too short to continue)
go to ``errors.jsonl`` with file:line and the fix; the other rows run.
"""

from __future__ import annotations

import math
import re
import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from artifactual.agents.base import derive_seed
from artifactual.agents.templates import Strategy, load_strategy
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.generation.registry import RecordContext
from artifactual.generation.tasks import (InputProblem, OneShot, RowProblem, make_provenance, read_rows,
                                          strategy_names)
from artifactual.records import Text

__all__ = ["Section", "HumanText", "FreeformUnit", "split_prefix", "word_count", "build", "records",
           "record_ids", "human_id", "llm_id", "run_totals"]

Mode = Literal["answer", "rewrite", "continue"]
_WORD = re.compile(r"\S+")


class Section(BaseModel):
    """``freeform:`` the human corpus, the mode and how to match its length."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(..., description="JSONL or CSV human corpus")
    mode: Mode = "answer"
    id_field: str = "id"
    text_field: str = "text"
    prompt_field: str = "prompt"
    prefix_tokens: int = Field(12, ge=1)  # continue mode: whitespace tokens of shared prefix
    length_match: bool = True
    length_ratio: float = Field(1.0, gt=0)
    tokens_per_word: float = Field(1.4, gt=0)  # rough model tokens per English word
    length_margin: float = Field(1.5, ge=1.0)  # headroom on max_tokens above the target
    min_share: float = Field(0.9, ge=0, le=1.0)  # min_tokens: this share of the target's tokens
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)


class HumanText(BaseModel):
    """One usable row of the corpus."""

    id: str
    text: str
    prompt: str | None
    line: int
    prefix: str | None = None  # continue mode


def word_count(text: str) -> int:
    return len(_WORD.findall(text or ""))


def split_prefix(text: str, n: int) -> tuple[str, str] | None:
    """(first ``n`` whitespace tokens verbatim, the rest); None when nothing would remain."""
    words = list(_WORD.finditer(text))
    if len(words) <= n:
        return None
    end = words[n - 1].end()
    return text[:end], text[end:]


def human_id(source_id: str) -> str:
    return f"human:{source_id}"


def llm_id(strategy: str, seed: int, source_id: str) -> str:
    return f"llm:{strategy}:s{seed}:{source_id}"


def _rows(section: Section) -> tuple[list[HumanText], list[RowProblem]]:
    rows, problems = read_rows(section.data)
    items: list[HumanText] = []
    seen: dict[str, int] = {}
    fields = f"freeform.id_field / text_field / prompt_field (now {section.id_field!r}, " \
             f"{section.text_field!r}, {section.prompt_field!r})"
    for line, row in rows:
        where = f"{section.data}:{line}"
        raw_id = row.get(section.id_field)
        if raw_id is None or not str(raw_id).strip():
            problems.append(RowProblem(where, f"missing or empty id field {section.id_field!r}",
                                       f"give every row a unique {section.id_field!r}, or set {fields}"))
            continue
        rid = str(raw_id).strip()
        if rid in seen:
            problems.append(RowProblem(where, f"id {rid!r} repeats line {seen[rid]}",
                                       "give every row a unique id"))
            continue
        text = row.get(section.text_field)
        if not isinstance(text, str) or not text.strip():
            problems.append(RowProblem(where, f"row {rid!r}: missing or empty text field "
                                              f"{section.text_field!r}",
                                       f"give the human text in {section.text_field!r}, or set {fields}"))
            continue
        prompt = row.get(section.prompt_field)
        prompt = str(prompt).strip() if prompt is not None and str(prompt).strip() else None
        prefix = None
        if section.mode == "answer" and prompt is None:
            problems.append(RowProblem(where, f"row {rid!r}: answer mode needs a prompt in "
                                              f"{section.prompt_field!r}",
                                       "add the prompt the human answered, or use mode rewrite/continue"))
            continue
        if section.mode == "continue":
            split = split_prefix(text, section.prefix_tokens)
            if split is None:
                problems.append(RowProblem(where, f"row {rid!r} has {word_count(text)} words; continue "
                                                  f"mode needs more than prefix_tokens="
                                                  f"{section.prefix_tokens}",
                                           "lower freeform.prefix_tokens or drop this row"))
                continue
            prefix = split[0]
        seen[rid] = line
        items.append(HumanText(id=rid, text=text, prompt=prompt, line=line, prefix=prefix))
    stop = section.offset + section.limit if section.limit is not None else None
    return items[section.offset:stop], problems


class FreeformUnit(OneShot):
    """One LLM counterpart of one human text (one strategy, one seed)."""

    def __init__(self, id: str, request: ChatRequest, *, human: HumanText, section: Section,
                 strategy: Strategy, seed: int, target_words: int | None):
        super().__init__(id, request)
        self.human, self.section, self.strategy, self.seed = human, section, strategy, seed
        self.target_words = target_words
        self.output = ""
        self.repeated_prefix = False

    def check(self, result: ChatResult) -> str | None:
        out = result.text.strip()
        prefix = self.human.prefix
        if prefix and out.startswith(prefix.strip()):
            out, self.repeated_prefix = out[len(prefix.strip()):].strip(), True
        self.output = out
        return None if out else f"empty answer for human text {self.human.id!r}"


def _target(section: Section, human: HumanText) -> int | None:
    if not section.length_match:
        return None
    body = human.text[len(human.prefix):] if human.prefix else human.text
    return max(1, round(word_count(body) * section.length_ratio))


def _token_limits(section: Section, target: int | None, sampling) -> dict[str, int | None]:
    """``max_tokens`` (and ``min_tokens``) for a target length in words (module docstring)."""
    if target is None:
        return {"max_tokens": sampling.max_tokens}
    tokens = target * section.tokens_per_word
    top = max(1, min(sampling.max_tokens, math.ceil(tokens * section.length_margin)))
    low = min(top, math.floor(tokens * section.min_share))
    return {"max_tokens": top, "min_tokens": max(low, sampling.min_tokens or 0) or None}


def run_totals(records: list) -> dict:
    """For the manifest: per strategy, the median over texts of LLM words / human words."""
    ratios: dict[str, list[float]] = {}
    for r in records:
        if isinstance(r, Text) and r.origin == "llm" and r.meta.get("human_words"):
            name = r.provenance.strategy if r.provenance else "llm"
            ratios.setdefault(name, []).append(r.meta["words"] / r.meta["human_words"])
    return {"length_ratio": {name: round(statistics.median(v), 4) for name, v in ratios.items()}}


def build(cfg, section: Section) -> list[OneShot | InputProblem]:
    """Units: strategies x seeds x human texts (default strategy ``freeform-<mode>``)."""
    items, problems = _rows(section)
    units: list[OneShot | InputProblem] = [InputProblem(p) for p in problems]
    for name in strategy_names(cfg, f"freeform-{section.mode}"):
        strategy = load_strategy(name, cfg.prompts_dir)
        for seed in cfg.seeds:
            for human in items:
                target = _target(section, human)
                variables = dict(mode=section.mode, question=human.prompt or "", text=human.text,
                                 prefix=human.prefix or "", target_words=target)
                system = strategy.render("system", **variables)
                messages = ([{"role": "system", "content": system}] if system else []) + [
                    {"role": "user", "content": strategy.render("prompt", **variables)}]
                limits = _token_limits(section, target, cfg.sampling)
                uid = llm_id(name, seed, human.id)
                sampling = cfg.sampling.model_copy(update={"seed": derive_seed(seed, uid, 0), **limits})
                request = ChatRequest(messages=messages, sampling=sampling, tag=uid)
                units.append(FreeformUnit(uid, request, human=human, section=section, strategy=strategy,
                                          seed=seed, target_words=target))
    return units


def record_ids(unit: OneShot | InputProblem) -> list[str]:
    """A unit is done when its LLM text and its human text are both stored."""
    if isinstance(unit, FreeformUnit):
        return [unit.id, human_id(unit.human.id)]
    return [unit.id]


def _human_record(unit: FreeformUnit) -> Text:
    h, s = unit.human, unit.section
    meta = {"mode": s.mode, "source_path": s.data, "source_line": h.line, "prompt": h.prompt,
            "words": word_count(h.text)}
    if h.prefix is not None:
        meta["prefix"] = h.prefix
    return Text(id=human_id(h.id), text=h.text, origin="human", source_id=h.id, provenance=None, meta=meta)


def records(unit: OneShot, cfg, ctx: RecordContext) -> list[Text]:
    """The human text (deduplicated by the store across a sweep) and its LLM counterpart."""
    if not isinstance(unit, FreeformUnit) or not unit.answered:
        return []
    h, s = unit.human, unit.section
    text = f"{h.prefix} {unit.output}" if h.prefix is not None else unit.output
    meta = {"mode": s.mode, "prompt": h.prompt, "target_words": unit.target_words,
            "max_tokens": unit.request.sampling.max_tokens,
            "min_tokens": unit.request.sampling.min_tokens, "human_words": word_count(h.text),
            "words": word_count(text), "finish_reason": unit.result.finish_reason if unit.result else None}
    if h.prefix is not None:
        meta.update(prefix=h.prefix, repeated_prefix=unit.repeated_prefix)
    prov = make_provenance("freeform", cfg, ctx, seed=unit.seed, usage=unit.usage, strategy=unit.strategy)
    prov.sampling = prov.sampling.model_copy(update={"max_tokens": unit.request.sampling.max_tokens,
                                                     "min_tokens": unit.request.sampling.min_tokens})
    llm = Text(id=unit.id, text=text, origin="llm", source_id=h.id, meta=meta, provenance=prov)
    return [_human_record(unit), llm]
