"""Terminal output that reads at 80 columns and in a non-TTY log (CI, ``make demo > log``).

* :func:`grid` lays out a plain-text table whose first column names the rows (metrics)
  and whose other columns are groups. Nothing is ever cut: when the columns do not fit
  the width, the groups are split over several blocks, each repeating the row names.
* :func:`summary_table` and :func:`comparison_table` render an audit summary and a
  comparison (audit ``--compare-by``, ``compare --kind``) that way: metrics as rows,
  groups as columns, estimates with their 95% CI and the Holm-corrected p on their own
  rows. Metrics that do not apply are not rows; :func:`not_applicable_lines` lists them
  with the reason.
* :func:`progress` reports ``(description, done, total)``: a live bar on a terminal,
  periodic plain lines otherwise.
* :func:`engine_output` sends what engines print (vLLM and Triton INFO/WARNING logs, load
  bars) to a log file, so the terminal shows only this program's own lines.

Only cli.py uses this module; library functions return data and never print.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

__all__ = ["terminal_width", "grid", "summary_table", "comparison_table", "not_applicable_lines",
           "fmt_number", "fmt_p", "progress", "engine_output", "route_exit_output", "Progress"]

Progress = Callable[[str, int, int], None]
GAP = 2  # spaces between columns
SIGNIFICANT = 0.05


def terminal_width(default: int = 80) -> int:
    """``COLUMNS`` when set, else the terminal's width, else ``default`` (never below 40)."""
    try:
        width = int(os.environ.get("COLUMNS", "")) if os.environ.get("COLUMNS") else \
            shutil.get_terminal_size((default, 24)).columns
    except ValueError:
        width = default
    return max(40, width)


def fmt_number(v: Any) -> str:
    """A value for a cell: ``-`` when missing; 2 decimals below 10, fewer above."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        a = abs(v)
        if a >= 1000:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}" if a >= 0.01 or a == 0 else f"{v:.3f}"
    return str(v)


def fmt_p(p: Any) -> str:
    """A p-value: ``<0.001`` at the floor, 3 decimals otherwise, ``*`` below 0.05."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return text + (" *" if p < SIGNIFICANT else "")


def _block(headers: Sequence[Sequence[str]], rows: Sequence[Sequence[str]], widths: list[int],
           cols: list[int]) -> list[str]:
    lines = []
    depth = max(len(headers[c]) for c in [0, *cols])
    for level in range(depth):
        cells = [(headers[0][level] if level < len(headers[0]) else "").ljust(widths[0])]
        cells += [(headers[c][level] if level < len(headers[c]) else "").ljust(widths[c])
                  for c in cols]
        lines.append((" " * GAP).join(cells).rstrip())
    lines.append((" " * GAP).join("-" * widths[c] for c in [0, *cols]))
    for row in rows:
        if len(row) == 1:  # a section line (a metric name) spans the block
            lines.append(row[0])
            continue
        cells = [row[0].ljust(widths[0])] + [row[c].ljust(widths[c]) for c in cols]
        lines.append((" " * GAP).join(cells).rstrip())
    return lines


def grid(headers: Sequence[str | Sequence[str]], rows: Sequence[Sequence[str]], *,
         width: int | None = None, title: str | None = None) -> str:
    """A plain table: ``headers[0]`` over the row names, the others over the groups (a header
    may be several lines: a sequence of strings). A row of one cell is a section line.
    Groups that do not fit ``width`` continue in further blocks below."""
    width = width or terminal_width()
    heads = [[h] if isinstance(h, str) else list(h) for h in headers]
    n = len(heads)
    widths = [max([len(x) for x in heads[c]] + [len(r[c]) for r in rows if len(r) > 1] or [0])
              for c in range(n)]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for c in range(1, n):
        if blocks[-1] and used + GAP + widths[c] > width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(c)
        used += GAP + widths[c]
    out = textwrap.wrap(title, width) if title else []
    for i, cols in enumerate(blocks):
        if i:
            out.append("")
        out += _block(heads, rows, widths, cols)
    return "\n".join(out)


# -- audit summary ------------------------------------------------------------------------
_COUNTS = [("n_conversations", "conversations"), ("n_audited", "audited"), ("n_turns", "turns"),
           ("mean_turns", "turns per conversation")]
_SKIP = {"group_by", "groups", "termination_reasons", "not_applicable", "not_run", "markers",
         "detectors",
         "n_applicable", "judge", "n_errors", "n_skipped_records", "compare_by"}


def _metric_keys(summary: Mapping[str, Any]) -> list[str]:
    """Summary keys that hold a number (rates and means), in the summary's order."""
    counts = {k for k, _ in _COUNTS}
    return [k for k, v in summary.items() if k not in _SKIP and k not in counts
            and isinstance(v, (int, float)) and not isinstance(v, bool)]


def _label(key: str) -> str:
    return key[:-5] if key.endswith("_rate") and not key.endswith("_message_rate") else key


def summary_table(summary: Mapping[str, Any], *, width: int | None = None,
                  message_rates: bool = False) -> str:
    """The audit summary, metrics as rows and ``all`` + each group as columns. Rates are
    shares of audited conversations (``*_message_rate`` only with ``message_rates``);
    metrics that are None everywhere (not applicable) are left out."""
    groups = [("all", summary)] + sorted((summary.get("groups") or {}).items())
    keys = [k for k in _metric_keys(summary) if message_rates or not k.endswith("_message_rate")]
    rows: list[list[str]] = []
    for key, label in _COUNTS:
        if any(g.get(key) is not None for _, g in groups):
            rows.append([label, *[fmt_number(g.get(key)) for _, g in groups]])
    rows += [[_label(k), *[fmt_number(g.get(k)) for _, g in groups]] for k in keys]
    title = "Audit summary (rates: share of audited conversations with the flag)"
    return grid(["metric", *[name for name, _ in groups]], rows, width=width, title=title)


def termination_lines(summary: Mapping[str, Any]) -> list[str]:
    """``termination (group): reason n, ...`` per group (all first)."""
    groups = [("all", summary)] + sorted((summary.get("groups") or {}).items())
    out = []
    for name, g in groups:
        reasons = g.get("termination_reasons") or {}
        if reasons:
            out.append(f"ended ({name}): " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    return out


def not_applicable_lines(summary: Mapping[str, Any]) -> list[str]:
    """``not applicable: NAME: reason`` for each detector or flag in ``not_applicable``."""
    na = summary.get("not_applicable") or {}
    off = summary.get("not_run") or {}
    return ([f"not applicable: {name}: {why}" for name, why in na.items()]
            + [f"not run: {name}: {why}" for name, why in off.items()])


# -- comparisons ----------------------------------------------------------------------------
def _isnan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _ci(lo: Any, hi: Any) -> str:
    return "-" if _isnan(lo) or _isnan(hi) else f"[{fmt_number(lo)}, {fmt_number(hi)}]"


def comparison_table(comparison: Any, *, width: int | None = None, title: str | None = None,
                     max_metrics: int | None = None) -> str:
    """A comparison frame (columns metric, group, n, estimate, ci_low, ci_high and, when
    tested, effect_size, effect_kind, p_holm, reference) as one section per metric: the
    estimate, its 95% CI, the effect and the Holm p against the reference group."""
    records = comparison.to_dict("records") if hasattr(comparison, "to_dict") else list(comparison)
    groups = list(dict.fromkeys(str(r["group"]) for r in records))
    metrics = list(dict.fromkeys(str(r["metric"]) for r in records))
    if max_metrics is not None:
        metrics = metrics[:max_metrics]
    cell = {(str(r["metric"]), str(r["group"])): r for r in records}
    ref = next((str(r["reference"]) for r in records if not _isnan(r.get("reference"))), None)
    tested = any("p_holm" in r for r in records)
    sizes = {g: {cell[(m, g)].get("n") for m in metrics if (m, g) in cell} for g in groups}
    same_n = all(len(v) == 1 for v in sizes.values())
    headers: list[Any] = ["metric"]
    for g in groups:
        head = [g]
        if same_n:
            head.append(f"n={next(iter(sizes[g]))}")
        if g == ref:
            head.append("(reference)")
        headers.append(head)
    rows: list[list[str]] = []
    for m in metrics:
        rows.append([m])
        got = [cell.get((m, g), {}) for g in groups]
        rows.append(["  estimate", *[fmt_number(r.get("estimate")) for r in got]])
        rows.append(["  95% CI", *[_ci(r.get("ci_low"), r.get("ci_high")) for r in got]])
        if not same_n:
            rows.append(["  n", *[fmt_number(r.get("n")) for r in got]])
        if tested:
            rows.append(["  effect", *[_effect(r, g == ref) for r, g in zip(got, groups)]])
            rows.append(["  p (Holm)", *["ref" if g == ref else fmt_p(r.get("p_holm"))
                                         for r, g in zip(got, groups)]])
    return grid(headers, rows, width=width, title=title)


def _effect(r: Mapping[str, Any], is_ref: bool) -> str:
    if is_ref or _isnan(r.get("effect_size")):
        return "" if is_ref else "-"
    if str(r.get("effect_kind")) == "mad_ratio":  # a ratio of spreads, not a signed effect
        return f"{r['effect_size']:.2f}x spread"
    kind = {"cohens_h": "h", "cliffs_delta": "d"}.get(str(r.get("effect_kind")), "")
    return f"{r['effect_size']:+.2f}" + (f" {kind}" if kind else "")


# -- progress -------------------------------------------------------------------------------
@contextmanager
def progress(console: Any, *, quiet: bool = False, interval_s: float = 10.0) -> Iterator[Progress | None]:
    """A ``(description, done, total)`` callback: a rich bar when ``console`` is a terminal,
    else a plain line per description when its count moves (at most every ``interval_s``
    seconds, and at the end) and every ``interval_s`` seconds while it stands still."""
    if quiet:
        yield None
        return
    if console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, \
            TimeElapsedColumn

        bars = Bars(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)
        tasks: dict[str, int] = {}

        def update(desc: str, done: int, total: int) -> None:
            if desc not in tasks:
                tasks[desc] = bars.add_task(desc, total=total)
            bars.update(tasks[desc], completed=done, total=total)

        with bars:
            yield update
        return
    start = time.monotonic()
    last: dict[str, tuple[float, int, int]] = {}  # desc -> (printed at, done, total)
    lock = threading.Lock()

    def say(desc: str, done: int, total: int, now: float) -> None:
        last[desc] = (now, done, total)
        count = f"{done}/{total} ({100 * done / total:.0f}%)" if total else f"{done}"
        elapsed = int(now - start)
        console.print(f"{desc}: {count}, {elapsed // 60}:{elapsed % 60:02d} elapsed",
                      markup=False, highlight=False)

    def line(desc: str, done: int, total: int) -> None:
        now = time.monotonic()
        with lock:
            t, seen, _ = last.get(desc, (-math.inf, -1, total))
            finished = bool(total) and done >= total and seen < total
            if done != seen and (now - t >= interval_s or finished):
                say(desc, done, total, now)

    stop = threading.Event()

    def heartbeat() -> None:  # a line every interval even while the count stands still
        while not stop.wait(interval_s):
            now = time.monotonic()
            with lock:
                for desc, (t, done, total) in list(last.items()):
                    if now - t >= interval_s and not (total and done >= total):
                        say(desc, done, total, now)

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield line
    finally:
        stop.set()
        beat.join()


# -- engine output --------------------------------------------------------------------------
def _fd_backed(stream: Any, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


def route_exit_output(log_path: str | Path) -> None:
    """Send what this process writes to fds 1 and 2 from now on to ``log_path``: engines
    shut down at interpreter exit and log as they go, after the last line for the user."""
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except (OSError, ValueError):
            pass
    log = os.open(Path(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


@contextmanager
def engine_output(log_path: str | Path, consoles: Sequence[Any] = (), *,
                  verbose: bool = False) -> Iterator[Path | None]:
    """While inside, file descriptors 1 and 2 (this process and the engine processes it
    starts) write to ``log_path``; each rich console in ``consoles`` that wrote to one of
    them keeps writing to the terminal. ``verbose`` leaves everything where it is. Yields
    the log path (None when verbose)."""
    if verbose:
        yield None
        return
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for s in (sys.stdout, sys.stderr):
        s.flush()
    saved = {1: os.dup(1), 2: os.dup(2)}
    streams = {fd: os.fdopen(os.dup(saved[fd]), "w", buffering=1, encoding="utf-8") for fd in saved}
    moved = []
    for c in consoles:
        fd = 2 if c.stderr else 1
        if _fd_backed(c.file, fd):
            moved.append((c, getattr(c, "_file", None)))  # rich: None = sys.stdout/err when writing
            c.file = streams[fd]
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield path
    finally:
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except (OSError, ValueError):
                pass
        os.dup2(saved[1], 1)
        os.dup2(saved[2], 2)
        for c, old in moved:
            c.file = old
        for fd in saved:
            streams[fd].close()
            os.close(saved[fd])
        os.close(log)
