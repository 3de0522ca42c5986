"""``audit_ray(paths)``: the offline audit on Ray Data, with the single-process audit's results.

What runs where:

1. **read** (Ray tasks: ``map_batches`` over one dataset row per input file). Each file
   is read with the ordinary readers into its turns and conversations tables and its
   read events (:mod:`.audit_work`). Paths expand on the driver as
   :func:`artifactual.readers.read` expands them: a file; a directory's known files; a
   run directory's ``records.jsonl``. A run directory of ``generate --ray`` also holds
   ``parts/shard-*/records.jsonl``; those are not read, because the merged
   ``records.jsonl`` is complete and reading both would count every record twice.
2. **driver**: replays the files' events in input order (duplicate ids renamed and
   errors listed exactly as :func:`artifactual.analysis.audit.audit` does), joins the
   tables, finds the format failures and where each detector applies (inferred role
   markers included: :func:`artifactual.analysis.audit.prepare`, which needs the whole
   corpus), and cuts the tables into shards of whole conversations
   (:func:`.audit_work.cut_shards`). The shards get the plan with that applicability,
   so each runs every detector on the same conversations as the plain audit.
3. **shards** (a pool of ``actors`` Ray actors, one CPU each: ``map_batches`` with a
   callable class, one shard per call). Each actor loads spaCy and MiniLM once; per
   shard it parses and embeds the shard's turns and task statements once and runs the
   conversation-scope detectors (:func:`artifactual.analysis.registry.detector_scope`).
4. **driver**: the corpus-scope detectors (``digression``, whose null thresholds compare
   each turn with *other* conversations' tasks) run over the whole turns table from the
   embeddings the shards shipped back (nothing is encoded twice). The summary, the
   conversation flags and the comparison come from the plain audit's own code
   (:func:`artifactual.analysis.audit.finish_audit`).

**Same results.** Ids, errors, row order, flags, evidence, counts, rates and the
comparison equal the plain audit's. Scores computed from MiniLM embeddings
(``task_similarity``, ``centroid_similarity``, ``drift``, their means, and the
comparison rows of ``*_mean`` metrics) may differ by float rounding only: a shard embeds
its texts in other batches than one process does. On the test corpus (34 conversations,
5 shards) they differ by at most 2e-7; tests/scale/test_ray_audit.py asserts 1e-6.

**Failures.** Reading errors land in ``errors`` as in the plain audit. A shard whose
detector raises does not stop the others; when all have run, an AnalysisError names the
failed shards' files and the first error. A shard whose worker keeps dying (a crash, an
out-of-memory kill) is given up after two restarts while the other shards go on; an
AnalysisError then names its files and says how many shards finished.

``progress(stage, done, total)``: ``"read"`` per input file read, ``"parse"`` per shard
parsed and embedded, ``"detect"`` per shard detected and then per corpus-scope detector
(total = shards + corpus-scope detectors). ``quiet`` hides Ray's progress bars and logs.

On a cluster (``address``) every node must read the input paths at the same location (a
shared file system), as with any Ray Data reader. Detectors registered outside
artifactual reach the workers only when their module is importable there.
"""

from __future__ import annotations

import inspect
import logging
import math
import pickle
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analysis.audit import (AuditPlan, AuditResult, IdClaims, ProgressFn,
                                        finish_audit, plan_audit, prepare, run_detectors)
from artifactual.analysis.inputs import input_fingerprints
from artifactual.analysis.registry import detector_needs, detector_scope, get_detector
from artifactual.analysis.tables import to_frames
from artifactual.analysis.text import TextContext, task_texts, turn_texts
from artifactual.errors import AnalysisError
from artifactual.readers import ErrorLog, read
from artifactual.readers.base import input_files  # the plain reader's own path expansion
from artifactual.scale.audit_work import (FileRead, Shard, ShardAuditor, ShardResult,
                                          cut_shards, read_batch)
from artifactual.scale.cluster import init_ray

__all__ = ["audit_ray", "RayTimings"]

_SHARDS_PER_ACTOR = 4  # default cut: about this many shards per actor (load balance)
_MAX_SHARD = 1000      # default cut: at most this many conversations per shard
_MAX_READ_BLOCKS = 200
_RETRIES = 2           # actor restarts / task retries before Ray gives up on a shard


def _map_batches(ds: Any, fn: Any, caps: Mapping[str, int], **kwargs: Any) -> Any:
    """``ds.map_batches(fn, **kwargs)`` with ``caps`` on Ray's retries (by default Ray
    retries a dying worker forever, so a shard that kills its worker would never end).
    Ray 2.60 deprecates passing them as remote args and a later Ray drops them; there
    Ray's own defaults hold."""
    params = inspect.signature(type(ds).map_batches).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        kwargs.update(caps)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map_batches(fn, **kwargs)


@dataclass
class RayTimings:
    """Where one :func:`audit_ray` call spent its time, in seconds (pass ``timings=``)."""

    init_s: float = 0.0      # attach to / start the Ray runtime
    read_s: float = 0.0      # read stage (Ray tasks), first row to last file
    tables_s: float = 0.0    # driver: events replayed, tables joined, shards cut
    shards_s: float = 0.0    # shard stage wall time, actor start-up included
    corpus_s: float = 0.0    # driver: corpus-scope detectors
    finish_s: float = 0.0    # driver: summary, conversation flags, comparison
    total_s: float = 0.0
    actors: int = 0
    shard_size: int = 0
    shard_seconds: list[float] = field(default_factory=list)  # each shard, in its actor
    actor_init_seconds: list[float] = field(default_factory=list)  # each actor's start


def audit_ray(paths: str | Path | Iterable[str | Path], *, address: str | None = None,
              actors: int | None = None, shard_size: int | None = None, quiet: bool = False,
              progress: ProgressFn | None = None, timings: RayTimings | None = None,
              **options: Any) -> AuditResult:
    """:func:`artifactual.analysis.audit.audit` on Ray Data (module docstring).

    ``options`` are the plain audit's keywords (``detectors``, ``markers``, ``format``,
    ``group_by``, ``compare_by``, ``reference``, ``seed``, ``detector_params``,
    ``speaker_pattern``, ``column``, ``encoder_precision``, ``task_field``), with its
    meanings and defaults: both resolve them with
    :func:`artifactual.analysis.plan.plan_audit`. ``address`` joins a Ray cluster
    (default: a local runtime, see :func:`.cluster.init_ray`); ``actors`` sizes the actor
    pool (default: the cluster's CPUs; never more than shards); ``shard_size`` is
    conversations per shard (default: about four shards per actor, at most 1,000
    conversations each). ``timings``, if given, is filled in.
    """
    t_start = time.perf_counter()
    times = timings if timings is not None else RayTimings()
    plan = plan_audit(**options)
    corpus = [n for n in plan.detectors if detector_scope(n) == "corpus"]
    local = [n for n in plan.detectors if n not in corpus]
    for name in corpus:
        if "docs" in detector_needs(name):
            raise AnalysisError(f"corpus-scope detector {name!r} needs parsed docs, which a "
                                "sharded audit cannot ship back",
                                fix="give it needs=('embeddings',) or use the plain audit")
    if actors is not None and actors < 1:
        raise AnalysisError(f"actors must be >= 1, got {actors}", fix="pass e.g. --actors 2")
    if shard_size is not None and shard_size < 1:
        raise AnalysisError(f"shard_size must be >= 1, got {shard_size}",
                            fix="pass a number of conversations per shard, e.g. 200")
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files = _input_files(paths, plan)
    t0 = time.perf_counter()
    with _ray_data_logs(quiet):
        ray = init_ray(address, quiet=quiet)
        times.init_s, t0 = time.perf_counter() - t0, time.perf_counter()
        reads = _read_stage(ray, files, plan, progress)
        times.read_s, t0 = time.perf_counter() - t0, time.perf_counter()
        log = ErrorLog()
        turns, conversations, skipped = _join(reads, [origin for origin, _ in files], log)
        formats = prepare(plan, turns, conversations)  # applicability travels in the plan
        n_actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = shard_size or max(1, min(_MAX_SHARD, math.ceil(
            len(conversations) / (_SHARDS_PER_ACTOR * n_actors))))
        shards = cut_shards(conversations["n_turns"].tolist(), size)
        times.actors, times.shard_size = min(n_actors, len(shards)), size
        times.tables_s, t0 = time.perf_counter() - t0, time.perf_counter()
        needs = {need for n in plan.detectors for need in detector_needs(n)}
        ship = any("embeddings" in detector_needs(n) for n in corpus)
        results = _shard_stage(ray, shards, turns, conversations, plan, local, needs, ship,
                               times.actors, len(corpus), progress)
    times.shard_seconds = [r.seconds for r in results]
    times.actor_init_seconds = [r.actor_init_s for r in results if r.actor_init_s is not None]
    frames = _merge(results, local, turns, plan)
    times.shards_s, t0 = time.perf_counter() - t0, time.perf_counter()
    ctx = _corpus_context(turns, conversations, results) if ship and len(turns) else None
    step = None if progress is None else (
        lambda stage, i, n: progress(stage, len(shards) + i, len(shards) + n))
    frames.update(run_detectors(plan, turns, ctx, names=corpus, progress=step))
    times.corpus_s, t0 = time.perf_counter() - t0, time.perf_counter()
    result = finish_audit(plan, turns, conversations, frames, log, skipped, formats)
    result.summary["text_models"] = {"encoder_precision": plan.precision}
    result.summary["inputs"] = input_fingerprints(paths)
    times.finish_s = time.perf_counter() - t0
    times.total_s = time.perf_counter() - t_start
    return result


@contextmanager
def _ray_data_logs(quiet: bool) -> Iterator[None]:
    """With ``quiet``, Ray Data's own log lines (execution started / finished) are held
    back for the duration; its warnings of errors still show."""
    logger = logging.getLogger("ray.data")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _input_files(paths: list[str | Path], plan: AuditPlan) -> list[tuple[str, str]]:
    """(input path as given, file to read) in reading order. A missing path, an unknown
    format or a bad reader option raises here, as the plain audit raises on reaching it."""
    out: list[tuple[str, str]] = []
    for p in paths:
        read(p, format=plan.format, errors=ErrorLog(), options=plan.options)  # checks only
        out.extend((str(p), str(f)) for f in input_files(Path(p)))
    return out


def _names(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _gather(ds: Any, key: str, tick: Callable[[int], None] | None
            ) -> tuple[dict[int, Any], str]:
    """Run ``ds``: ``{row[key]: unpickled row["result"]}`` as rows arrive (``tick(done)``
    after each), and why rows are missing, if any: a block whose worker kept dying is
    dropped (so the others still arrive) or the exception that stopped the run."""
    ds.context.max_errored_blocks = -1  # this dataset only; the caller names what is lost
    done: dict[int, Any] = {}
    try:
        for row in ds.iter_rows():
            done[int(row[key])] = pickle.loads(row["result"])
            if tick is not None:
                tick(len(done))
    except Exception as exc:  # noqa: BLE001 - the caller names what was lost
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return done, f"{type(exc).__name__}: {first}"
    return done, "its worker kept failing; Ray's log says why"


def _read_stage(ray: Any, files: list[tuple[str, str]], plan: AuditPlan,
                progress: ProgressFn | None) -> list[FileRead]:
    if not files:
        return []
    rows = [{"index": i, "path": f} for i, (_, f) in enumerate(files)]
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), _MAX_READ_BLOCKS))
    ds = _map_batches(ds, read_batch, {"max_retries": _RETRIES}, batch_size=None, num_cpus=1,
                      fn_kwargs={"format": plan.format, "options": plan.options})
    tick = None if progress is None else (lambda k: progress("read", k, len(files)))
    done, why = _gather(ds, "index", tick)
    missing = [f for i, (_, f) in enumerate(files) if i not in done]
    if missing:  # Ray gave up on them
        raise AnalysisError(f"Ray gave up reading {len(missing)} of {len(files)} file(s) "
                            f"({why}); the other {len(done)} were read", where=_names(missing),
                            fix="check the Ray cluster (memory, dead nodes) and that every "
                                "node sees the input paths; or audit without --ray")
    failed = [(files[i][1], r.failure) for i, r in sorted(done.items()) if r.failure]
    if failed:
        raise AnalysisError(f"reading failed for {len(failed)} of {len(files)} file(s): "
                            f"{failed[0][1]}", where=_names([f for f, _ in failed]),
                            fix="fix or leave out these files; the others were read")
    return [done[i] for i in range(len(files))]


def _join(reads: list[FileRead], origins: list[str],
          log: ErrorLog) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The audit's turns and conversations tables, ids claimed in input order."""
    ids = IdClaims(log)
    skipped = 0
    turn_parts: list[pd.DataFrame] = []
    conv_parts: list[pd.DataFrame] = []
    conv_origins: list[str] = []
    for fr, origin in zip(reads, origins):
        new_ids: list[str] = []
        for event in fr.events:
            if event[0] == "error":
                log.add(event[1])
            elif event[0] == "skip":
                skipped += 1
            else:
                new_ids.append(ids.claim(event[1], event[2]))
        if not new_ids:
            continue
        assert fr.turns is not None and fr.conversations is not None
        per_turn = np.repeat(np.array(new_ids, dtype=object),
                             fr.conversations["n_turns"].to_numpy())
        conv_parts.append(fr.conversations.assign(
            conversation_id=pd.array(new_ids, dtype="string")))
        turn_parts.append(fr.turns.assign(conversation_id=pd.array(per_turn, dtype="string")))
        conv_origins.extend([origin] * len(new_ids))
    turns, conversations = to_frames([])
    if conv_parts:
        turns = pd.concat(turn_parts, ignore_index=True)
        conversations = pd.concat(conv_parts, ignore_index=True)
    conversations["input_path"] = pd.array(conv_origins, dtype="string")
    return turns, conversations, skipped


def _shard_files(conversations: pd.DataFrame, shard: Shard) -> list[str]:
    part = conversations.iloc[shard.conv_start:shard.conv_stop]
    paths = part["source_path"].dropna().unique().tolist()
    return paths or [f"conversations {part['conversation_id'].iloc[0]} .. "
                     f"{part['conversation_id'].iloc[-1]}"]


def _shard_stage(ray: Any, shards: list[Shard], turns: pd.DataFrame,
                 conversations: pd.DataFrame, plan: AuditPlan, local: list[str],
                 needs: set[str], ship: bool, actors: int, n_corpus: int,
                 progress: ProgressFn | None) -> list[ShardResult]:
    """Audit every shard in the actor pool; results in shard order."""
    if not shards:
        return []
    rows = [{"shard": s.index, "payload": pickle.dumps(
        (turns.iloc[s.turn_start:s.turn_stop].copy(),
         task_texts(conversations.iloc[s.conv_start:s.conv_stop])),
        protocol=pickle.HIGHEST_PROTOCOL)} for s in shards]
    functions = {name: get_detector(name) for name in local}
    ds = _map_batches(
        ray.data.from_items(rows, override_num_blocks=len(rows)), ShardAuditor,
        {"max_restarts": _RETRIES, "max_task_retries": _RETRIES}, batch_size=None,
        # one shard in flight per actor: a worker that dies takes only its own shard with it
        num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        fn_constructor_kwargs={"plan": plan, "local": local, "functions": functions,
                               "needs": sorted(needs), "ship": ship})

    def tick(k: int) -> None:
        if progress is not None:
            progress("parse", k, len(shards))
            progress("detect", k, len(shards) + n_corpus)

    done, why = _gather(ds, "shard", tick)
    lost = [s for s in shards if s.index not in done]
    if lost:  # Ray gave up on them
        files = sorted({f for s in lost for f in _shard_files(conversations, s)})
        raise AnalysisError(f"Ray gave up on {len(lost)} of {len(shards)} shard(s) "
                            f"(shards {[s.index for s in lost][:10]}: {why}); the other "
                            f"{len(done)} finished", where=_names(files),
                            fix="check the Ray cluster (memory, dead nodes), try a smaller "
                                "shard_size, or audit these files without --ray")
    failed = [s for s in shards if done[s.index].failure]
    if failed:
        first = done[failed[0].index]
        files = sorted({f for s in failed for f in _shard_files(conversations, s)})
        raise AnalysisError(f"{len(failed)} of {len(shards)} shard(s) failed "
                            f"(shards {[s.index for s in failed][:10]}; the others finished): "
                            f"{first.failure}", where=_names(files),
                            fix=first.fix or "fix the input or the detector parameters")
    return [done[s.index] for s in shards]


def _merge(results: list[ShardResult], names: list[str], turns: pd.DataFrame,
           plan: AuditPlan) -> dict[str, pd.DataFrame]:
    """Each conversation-scope detector's frame over all turns, in table order."""
    if not results:  # no conversations: the detectors' own empty frames
        return run_detectors(plan, turns, None, names=names)
    frames: dict[str, pd.DataFrame] = {}
    for name in names:
        parts = [r.frames[name] for r in results]
        parts = [f for f in parts if len(f)] or parts[:1]
        frame = pd.concat(parts) if len(parts) > 1 else parts[0]
        if not frame.index.equals(turns.index):
            raise AnalysisError(f"detector {name!r}: the shards returned {len(frame)} rows "
                                f"for {len(turns)} turns",
                                fix="report this as a bug in artifactual.scale")
        frame.index = turns.index
        frames[name] = frame
    return frames


def _corpus_context(turns: pd.DataFrame, conversations: pd.DataFrame,
                    results: list[ShardResult]) -> TextContext:
    """A text context over all turns from the shards' embeddings (none computed here)."""
    parts = [r.embeddings for r in results if r.embeddings is not None]
    emb = np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)
    vectors: dict[str, np.ndarray] = {}
    for r in results:
        vectors.update(r.task_embeddings)
    ctx = TextContext(index=turns.index, texts=turn_texts(turns), embeddings=emb,
                      tasks=task_texts(conversations), task_embeddings=vectors)
    if len(emb) != len(turns) or not ctx.covers(turns, ("embeddings",)):
        raise AnalysisError(f"the shards returned {len(emb)} embeddings for {len(turns)} turns",
                            fix="report this as a bug in artifactual.scale")
    return ctx
