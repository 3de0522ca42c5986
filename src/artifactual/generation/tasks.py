"""Task sets for the generators, and the small work units they share.

Task sets (loader + question + scorer), by name:

- ``logic_grid``: BIG-bench logic-grid puzzles (``inputs``, ``targets``); correct iff the
  target house number appears in the answer and no other number from 1 to 10 does;
- ``trivia_creative_writing``: a story on ``topic`` that must mention the answers to
  ``questions`` (``answers``: one list of accepted aliases per question); score = share of
  questions whose answer is mentioned, correct iff all are;
- ``codenames``: pick the ``target_words`` linked to ``hint_word`` from ``word_list``;
  score = share of targets among the first n listed words, correct iff all are found.

Units: :class:`OneShot` (one request), :class:`InputProblem` (reports a bad input row to
``errors.jsonl`` through the run loop, is never scheduled and writes no record).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from artifactual.agents.templates import Strategy
from artifactual.errors import InputError
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.records import Provenance, Sampling, Usage

__all__ = ["TaskItem", "TaskSet", "TASK_SETS", "get_task_set", "load_tasks", "score_logic_grid",
           "score_trivia", "score_codenames", "read_rows", "OneShot", "InputProblem",
           "make_provenance", "RowProblem", "strategy_names", "model_label"]


# -- reading rows -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RowProblem:
    """A bad input row: where it is, what is wrong, what to do."""

    where: str
    message: str
    fix: str

    def text(self) -> str:
        return f"{self.where}: {self.message}. Fix: {self.fix}"


def read_rows(path: str | Path) -> tuple[list[tuple[int, dict[str, Any]]], list[RowProblem]]:
    """Rows of a JSONL or CSV file as (line number, dict); bad rows become problems."""
    p = Path(path)
    if not p.is_file():
        raise InputError("input file not found", where=str(p), fix="check the path in the config")
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[RowProblem] = []
    with p.open(encoding="utf-8", newline="") as fh:
        if p.suffix.lower() in (".csv", ".tsv"):
            reader = csv.DictReader(fh, delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
            reader.fieldnames  # reads the header, so line_num counts it
            start = reader.line_num + 1
            for raw in reader:
                line, start = start, reader.line_num + 1
                if None in raw or any(v is None for v in raw.values()):
                    problems.append(RowProblem(f"{p}:{line}", "wrong number of fields",
                                               "give every row the header's fields"))
                    continue
                rows.append((line, dict(raw)))
            return rows, problems
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(RowProblem(f"{p}:{n}", f"not valid JSON ({exc.msg})",
                                           "write one JSON object per line"))
                continue
            if not isinstance(data, dict):
                problems.append(RowProblem(f"{p}:{n}", "not a JSON object", "write one object per line"))
                continue
            rows.append((n, data))
    return rows, problems


# -- task sets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskItem:
    id: str
    question: str
    target: Any
    line: int
    data: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TaskSet:
    """How to turn a row into a question, and how to score an answer."""

    name: str
    answer_hint: str
    make: Callable[[dict[str, Any]], tuple[str, Any]]  # row -> (question, target); KeyError/ValueError
    score: Callable[[Any, str], tuple[bool, float]]  # (target, answer) -> (correct, score)
    needs: tuple[str, ...]


_NUMBER = re.compile(r"(?<![\d.])(10|[1-9])(?![\d])")


def score_logic_grid(target: Any, answer: str) -> tuple[bool, float]:
    """Correct iff the target number appears and no other number from 1 to 10 does."""
    found = set(_NUMBER.findall(answer or ""))
    ok = found == {str(target).strip()}
    return ok, float(ok)


def _norm(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip() + " "


def score_trivia(target: list[list[str]], answer: str) -> tuple[bool, float]:
    """Share of questions whose answer (any alias) is mentioned in the text."""
    text = _norm(answer)
    hits = [any(_norm(a) != "  " and _norm(a) in text for a in aliases) for aliases in target]
    share = sum(hits) / len(hits) if hits else 0.0
    return bool(hits) and all(hits), share


def score_codenames(target: dict[str, list[str]], answer: str) -> tuple[bool, float]:
    """Share of target words among the first n board words named in the answer."""
    board = {w.lower() for w in target["board"]}
    want = {w.lower() for w in target["targets"]}
    named: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z'\-]*", answer or ""):
        w = word.lower()
        if w in board and w not in named:
            named.append(w)
    guessed = set(named[:len(want)])
    share = len(guessed & want) / len(want) if want else 0.0
    return bool(want) and guessed == want, share


def _logic_grid(row: dict[str, Any]) -> tuple[str, Any]:
    targets = row["targets"]
    target = targets[0] if isinstance(targets, list) else targets
    question = re.sub(r"\n\s*A:\s*$", "", str(row["inputs"]).strip())
    return question, str(target).strip()


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    return [str(x) for x in value]


def _trivia(row: dict[str, Any]) -> tuple[str, Any]:
    questions = _as_list(row["questions"]) if not isinstance(row["questions"], list) else row["questions"]
    answers = [[str(a) for a in (x if isinstance(x, list) else [x])] for x in row["answers"]]
    if len(answers) != len(questions) or not questions:
        raise ValueError(f"{len(questions)} questions but {len(answers)} answer lists")
    listed = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    question = (f"Write a short, coherent story about {row['topic']}. The story must work in the "
                f"answers to these {len(questions)} questions:\n{listed}")
    return question, answers


def _codenames(row: dict[str, Any]) -> tuple[str, Any]:
    board, targets = _as_list(row["word_list"]), _as_list(row["target_words"])
    if not targets or not set(w.lower() for w in targets) <= set(w.lower() for w in board):
        raise ValueError("target_words must be a non-empty subset of word_list")
    question = (f"From this list of words, pick the {len(targets)} that are most closely linked "
                f"to the word \"{row['hint_word']}\": {', '.join(board)}.")
    return question, {"board": board, "targets": targets}


TASK_SETS: dict[str, TaskSet] = {
    "logic_grid": TaskSet("logic_grid", "Give the house number as the final answer.", _logic_grid,
                          score_logic_grid, ("inputs", "targets")),
    "trivia_creative_writing": TaskSet(
        "trivia_creative_writing", "Put the whole story after \"Final answer:\".", _trivia, score_trivia,
        ("topic", "questions", "answers")),
    "codenames": TaskSet("codenames", "Give the chosen words, separated by commas, as the final answer.",
                         _codenames, score_codenames, ("word_list", "hint_word", "target_words")),
}


def get_task_set(name: str) -> TaskSet:
    try:
        return TASK_SETS[name]
    except KeyError:
        raise InputError(f"unknown task set {name!r}", fix=f"use one of {sorted(TASK_SETS)}") from None


def load_tasks(name: str, path: str | Path, *, limit: int | None = None, offset: int = 0
               ) -> tuple[list[TaskItem], list[RowProblem]]:
    """Task items of ``path`` (rows ``offset`` to ``offset + limit``) and the bad rows."""
    ts = get_task_set(name)
    rows, problems = read_rows(path)
    rows = rows[offset:offset + limit if limit is not None else None]
    items: list[TaskItem] = []
    for line, row in rows:
        missing = [k for k in ts.needs if k not in row]
        if missing:
            problems.append(RowProblem(f"{path}:{line}", f"missing fields {missing}",
                                       f"a {name} row needs {list(ts.needs)}"))
            continue
        try:
            question, target = ts.make(row)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(RowProblem(f"{path}:{line}", f"unusable row ({exc})",
                                       f"check the fields {list(ts.needs)}"))
            continue
        item_id = str(row.get("idx", row.get("id", line - 1)))
        items.append(TaskItem(id=item_id, question=question, target=target, line=line, data=row))
    return items, problems


# -- units ------------------------------------------------------------------------------------
class OneShot:
    """A unit with exactly one request. ``check(result)`` may return a problem: the result is
    then marked failed, so the run loop logs it to ``errors.jsonl`` (the record is still written
    by the generator; the answer is kept on the unit)."""

    def __init__(self, id: str, request: ChatRequest):
        self.id = id
        self.request = request
        self.result: ChatResult | None = None
        self.problem: str | None = None
        self.usage = Usage()
        self.done = False

    def next_request(self) -> ChatRequest | None:
        return None if self.done else self.request

    def apply(self, result: ChatResult) -> None:
        self.done = True
        self.result = result
        self.usage.add(result.prompt_tokens, result.completion_tokens)
        if result.ok:
            self.problem = self.check(result)
            if self.problem:
                result.error = self.problem

    def check(self, result: ChatResult) -> str | None:
        return None

    @property
    def answered(self) -> bool:
        """True when the backend answered (a parse problem still counts as answered)."""
        return self.result is not None and (self.result.ok or self.problem is not None)


class InputProblem:
    """A bad input row. The run loop logs ``input_problem`` to ``errors.jsonl`` and never
    schedules the unit; it sends nothing and writes no record."""

    def __init__(self, problem: RowProblem):
        self.id = f"input:{problem.where}"
        self.row_problem = problem
        self.input_problem = {"where": problem.where, "error": problem.text(), "fix": problem.fix}
        self.usage = Usage()
        self.done = True
        self.result = None
        self.problem = problem.text()

    def next_request(self) -> None:
        return None

    def apply(self, result: ChatResult) -> None:  # pragma: no cover - never scheduled
        pass

    @property
    def answered(self) -> bool:
        return False


def make_provenance(generator: str, cfg, ctx, *, seed: int, usage: Usage,
                    strategy: Strategy | None = None) -> Provenance:
    """Provenance of one generated record."""
    return Provenance(
        generator=generator, strategy=strategy.name if strategy else None,
        strategy_sha256=strategy.sha256 if strategy else None, model=ctx.model, backend=ctx.backend,
        sampling=cfg.sampling.model_copy(update={"seed": seed}), seed=seed,
        engine_version=ctx.engine_version, usage=usage)


def strategy_names(cfg, default: str) -> list[str]:
    """The config's ``strategies`` when it sets them, else the generator's own template."""
    return list(cfg.strategies) if "strategies" in cfg.model_fields_set else [default]


def model_label(cfg) -> str:
    """The model's display name, as records name it (known before the engine starts)."""
    from artifactual.assets import DEFAULT_LLM

    return DEFAULT_LLM if cfg.model in ("default", DEFAULT_LLM) else cfg.model
