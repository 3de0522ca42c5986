"""The command line: a thin typer layer that parses options, calls the library, prints."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from artifactual import console as render
from artifactual.cli_audit import (judge_config, markers_option, print_comparison,
                                   print_findings, print_judge, print_summary)
from artifactual.cli_curate import register as register_curate
from artifactual.cli_train import register as register_train
from artifactual.cli_io import console, err_console, fail as _fail, progress as _progress, say, show as _show
from artifactual.errors import ArtifactualError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Generate synthetic LLM data and audit it for artifacts.")
models_app = typer.Typer(no_args_is_help=True, help="Embedded default models.")
app.add_typer(models_app, name="models")
runs_app = typer.Typer(no_args_is_help=True, help="Inspect run directories.")
app.add_typer(runs_app, name="runs")
register_curate(app)  # filter, export
register_train(app)  # train


@contextmanager
def _engine_output(log: Path, verbose: bool) -> Iterator:
    """Engine logs (vLLM, Triton) go to ``log`` unless ``verbose``; a failure names it."""
    try:
        with render.engine_output(log, [console, err_console], verbose=verbose):
            yield
    except BaseException:
        if not verbose and log.is_file() and log.stat().st_size:
            err_console.print(f"engine messages: {log} (or run again with --verbose)",
                              markup=False, highlight=False)
        raise


@app.command()
def generate(config: Path = typer.Argument(..., help="YAML experiment config"),
             out: Path = typer.Option(..., "--out", "-o", help="run directory (resumed when it exists)"),
             ray: bool = typer.Option(False, "--ray", help="shard the dialogues across Ray actors, "
                                      "one engine each (pip install 'artifactual[ray]')"),
             address: Optional[str] = typer.Option(
                 None, "--address", metavar="ADDR",
                 help="Ray cluster to join (HOST:6379, ray://HOST:10001 or auto); default: a "
                      "local runtime; implies --ray"),
             actors: Optional[int] = typer.Option(None, "--actors", min=1,
                                                  help="Ray actors (engines); default: ray.actors"),
             quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
             verbose: bool = typer.Option(False, "--verbose", "-v",
                                          help="show the engine's own logs (default: OUT/engine.log)")
             ) -> None:
    """Generate the records of CONFIG into OUT; resume when OUT exists."""
    import artifactual

    try:
        with _progress(quiet) as progress, _engine_output(out / "engine.log", verbose):
            result = artifactual.generate(config, out, progress=progress, ray=ray,
                                          address=address, actors=actors, quiet=quiet)
    except ArtifactualError as exc:
        _fail(exc)
    rate = result.rate
    unfinished = (f", {result.n_unfinished} unfinished: not all their records were written "
                  "(failed requests are in errors.jsonl)" if result.n_unfinished else "")
    console.print(f"{result.n_total} dialogues in {out} ({result.n_new - result.n_unfinished} "
                  f"generated{unfinished}, {result.n_skipped} already done); "
                  f"{result.completion_tokens} new tokens, {rate:.0f} tok/s")
    if not verbose:
        render.route_exit_output(out / "engine.log")  # the engine's shutdown messages


@app.command()
def audit(paths: list[Path] = typer.Argument(..., help="log files, folders or run directories"),
          out: Path = typer.Option(..., "--out", "-o", help="folder for tables and summary.json"),
          format: Optional[str] = typer.Option(None, "--format", help="input format (default: detect)"),
          group_by: Optional[str] = typer.Option("strategy", "--group-by", help="column to group by"),
          kind: str = typer.Option("conversations", "--kind",
                                   help="conversations | text | labels | preferences | instructions"),
          speaker_pattern: Optional[str] = typer.Option(
              None, "--speaker-pattern", metavar="REGEX",
              help="plain transcripts: regex with a named group 'speaker' matched at each line's "
                   "start (default: 'Name: text' lines)"),
          column: Optional[str] = typer.Option(
              None, "--column", metavar="NAME",
              help="datasets (Parquet, Arrow, JSONL): the column holding each row's chat "
                   "(default: messages / conversations, or the one list-of-messages column)"),
          task_field: Optional[str] = typer.Option(
              None, "--task-field", metavar="NAME",
              help="OpenAI / ShareGPT / dataset records: the field holding the task statement "
                   "(default: task, metadata.task, goal, instruction, or a system message "
                   "stating it; dotted names read nested fields)"),
          detectors: Optional[str] = typer.Option(
              None, "--detectors", metavar="A,B,C",
              help="comma-separated detector names, or all (default: those measured at "
                   "precision >= 0.8 on every labelled source; the summary's not_run says why "
                   "each other is off)"),
          compare_by: Optional[str] = typer.Option(
              None, "--compare-by", metavar="COL",
              help="compare groups: a conversations column (e.g. strategy) or 'path' (one "
                   "group per input path); writes comparison.parquet/.json"),
          reference: Optional[str] = typer.Option(
              None, "--reference", help="reference group for --compare-by (default: the first)"),
          ray: bool = typer.Option(False, "--ray", help="read, parse and detect as Ray Data "
                                   "map_batches over shards (pip install 'artifactual[ray]')"),
          address: Optional[str] = typer.Option(
              None, "--address", metavar="ADDR",
              help="Ray cluster to join (HOST:6379, ray://HOST:10001 or auto); default: a local "
                   "runtime; implies --ray"),
          actors: Optional[int] = typer.Option(None, "--actors", min=1,
                                               help="Ray actors (default: the cluster's CPUs)"),
          judge: Optional[Path] = typer.Option(
              None, "--judge", metavar="CONFIG",
              help="also ask an LLM judge (a judge config such as configs/judge.yaml); written to "
                   "judgments.jsonl and summary.json 'judge', beside the offline flags"),
          judge_sample: Optional[int] = typer.Option(
              None, "--judge-sample", min=1, metavar="N",
              help="with --judge: judge N conversations per artifact, stratified by the offline "
                   "flags, and estimate the flags' precision and recall (default: judge all)"),
          judge_taxonomy: bool = typer.Option(
              False, "--judge-taxonomy",
              help="with --judge: also ask the 14 failure modes of Cemri et al. 2025 (MAST), "
                   "and score the detectors that evidence each against the judge"),
          markers: Optional[str] = typer.Option(
              None, "--markers", metavar="JSON|FILE",
              help="role-flip markers instead of inferring them: JSON (or a .json file) with "
                   "user_markers, assistant_markers, done_tokens"),
          precision: Optional[str] = typer.Option(
              None, "--encoder-precision", metavar="auto|fp32|bf16",
              help="MiniLM's precision (default: $ARTIFACTUAL_ENCODER_PRECISION, else auto: "
                   "bf16 on CPUs with native bfloat16, else fp32)"),
          details: bool = typer.Option(False, "--details", help="print the full per-metric "
                                       "tables and diagnostics instead of the findings"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars")) -> None:
    """Audit conversation logs offline; write turns/conversations/errors tables and summary.json."""
    given_markers = markers_option(markers)
    judge_cfg = judge_config(judge, judge_sample, judge_taxonomy)
    if judge_cfg is not None and kind != "conversations":
        _fail(ArtifactualError(f"--judge reads conversations, not --kind {kind}",
                               fix="drop --judge, or audit conversations"))
    if kind != "conversations":  # texts, labels, preferences, instructions
        _run_kind(kind, [str(p) for p in paths], out, quiet, reference=reference,
                  details=details)
        return
    import pandas as pd

    import artifactual
    from artifactual.report import write_audit_dir

    try:
        with _progress(quiet) as progress:
            names = None if detectors is None else [d.strip() for d in detectors.split(",")
                                                         if d.strip()]
            if judge_cfg is not None and names is None:  # what the judge is asked about runs too
                from artifactual.analysis.registry import available_detectors, default_detectors
                names = list(dict.fromkeys([*default_detectors(), *(
                    a for a in judge_cfg.artifacts if a in available_detectors())]))
            scale = dict(ray=True, address=address, actors=actors, quiet=quiet) if ray or address else {}
            result = artifactual.audit([str(p) for p in paths], format=format, group_by=group_by,
                                       progress=progress, speaker_pattern=speaker_pattern,
                                       column=column, task_field=task_field,
                                       detectors=names, compare_by=compare_by,
                                       reference=reference, markers=given_markers,
                                       encoder_precision=precision, **scale)
        write_audit_dir(result, out)
    except ArtifactualError as exc:
        _fail(exc)
    if details:
        print_summary(result.summary)
        if result.comparison is not None:
            print_comparison(result.comparison)
    else:
        print_findings(result, out)
    if len(result.errors):
        err_console.print(f"[yellow]{len(result.errors)} input problem(s)[/yellow]; see {out / 'errors.parquet'}")
        for row in result.errors.head(5).itertuples():
            err_console.print(f"  {row.path}:{'' if pd.isna(row.line) else row.line} {row.message}")
    if judge_cfg is not None:
        from artifactual.judging import judge_audit

        try:
            with _progress(quiet) as progress:
                section = judge_audit(result, judge_cfg, out, sample=judge_sample, progress=progress)
        except ArtifactualError as exc:
            err_console.print(f"the offline audit is written to {out}; the judge failed")
            _fail(exc)
        print_judge(section)
    if details:
        console.print(f"wrote {out}")


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _run_kind(kind: str, paths: list[str], out: Path, quiet: bool, compare: bool = False,
              reference: Optional[str] = None, judges: Optional[list[str]] = None,
              config: Optional[Path] = None, data: Optional[Path] = None,
              context: Optional[str] = None, details: bool = False) -> None:
    """``audit --kind`` / ``compare``: run, write, print the significant contrasts (the
    estimates table with ``details``) and the spread findings in words."""
    from artifactual.analysis import kinds
    from artifactual.analysis.stats.compare_config import run_compare_config
    from artifactual.report import write_audit_dir

    try:
        with _progress(quiet) as progress:
            if config is not None:
                result = run_compare_config(config, data, progress=progress)
            elif compare:
                result = kinds.compare_kind(kind, paths, reference=reference, judges=judges,
                                            progress=progress, context=context)
            else:
                result = kinds.audit_kind(kind, paths, reference=reference, judges=judges,
                                          progress=progress)
        write_audit_dir(result, out)
    except ArtifactualError as exc:
        _fail(exc)
    if details or "p_holm" not in result.comparison:
        _estimates_table(result, out)
    else:
        from artifactual import console_findings as short

        width = render.terminal_width()
        groups = result.comparison.groupby("group", sort=False)["n"].max()
        say(short.wrap(f"{result.kind}: " + ", ".join(f"{g} (n={n})" for g, n in groups.items())
                        + ".", width, hang=""))
        say(short.contrast_lines(result.comparison, width))
    ratios = (getattr(result, "summary", None) or {}).get("length_ratio") or {}
    if ratios:
        ref = result.summary.get("reference")
        console.print(f"length ratio (words / {ref}'s words, median over pairs): "
                      + ", ".join(f"{g} {r:.2f}" for g, r in ratios.items()),
                      markup=False, highlight=False)
    for line in (getattr(result, "summary", None) or {}).get("spread_findings") or []:
        console.print(line, markup=False, highlight=False)  # spread in words (stats.spread)
    if len(result.errors):
        err_console.print(f"[yellow]{len(result.errors)} input problem(s)[/yellow]; see "
                          f"{out / 'errors.parquet'}")
    console.print(f"wrote {out}" + ("" if details else "; every metric's estimates: --details"))


def _estimates_table(result, out: Path) -> None:
    shown = 40
    title = f"{result.kind}: estimates with 95% CIs" + (
        " (effect and Holm-corrected p against the reference; * p < 0.05)"
        if "p_holm" in result.comparison else "")
    _show(render.comparison_table(result.comparison, width=render.terminal_width(), title=title,
                                  max_metrics=shown))
    n_metrics = result.comparison["metric"].nunique() if len(result.comparison) else 0
    if n_metrics > shown:
        console.print(f"... {n_metrics - shown} more metrics in {out / 'comparison.parquet'}",
                      markup=False, highlight=False)


@app.command()
def compare(paths: Optional[list[str]] = typer.Argument(
                None, help="inputs, one group each: PATH or NAME=PATH"),
            kind: Optional[str] = typer.Option(
                None, "--kind", help="text | labels | preferences | instructions"),
            out: Path = typer.Option(..., "--out", "-o", help="folder for tables and summary.json"),
            config: Optional[Path] = typer.Option(
                None, "--config", "-c", help="a compare config (configs/compare_*.yaml)"),
            data: Optional[Path] = typer.Option(
                None, "--data", help="base folder of the config's inputs (e.g. ../shared/data)"),
            reference: Optional[str] = typer.Option(
                None, "--reference", help="reference group (default: human)"),
            judge: Optional[list[str]] = typer.Option(
                None, "--judge", help="preferences: keep only this judge (repeatable)"),
            context: Optional[str] = typer.Option(
                None, "--context", help="text: a field naming each text's context (e.g. domain);"
                " adds each group's between-context variance share"),
            details: bool = typer.Option(False, "--details", help="print every metric's "
                                         "estimates, CIs and p, not only the significant ones"),
            quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars")) -> None:
    """Compare human and LLM data of one kind: estimates, CIs, effect sizes, Holm p-values."""
    if config is None and (kind is None or not paths):
        err_console.print("[red]error:[/red] give --kind and input paths, or --config FILE")
        raise typer.Exit(2)
    _run_kind(kind or "", list(paths or []), out, quiet, compare=True, reference=reference,
              judges=judge, config=config, data=data, context=context, details=details)


@app.command()
def reproduce(data: Path = typer.Option(..., "--data", help="folder holding llm-artifacts/ "
                                                            "(e.g. ../shared/data)"),
              notes: bool = typer.Option(True, "--notes/--no-notes", help="list row notes")) -> None:
    """Recompute the paper's figures from its released files; exit 1 on any mismatch."""
    from artifactual.analysis.reproduce import format_table, mismatches
    from artifactual.analysis.reproduce import reproduce as recompute

    try:
        table = recompute(data)
    except ArtifactualError as exc:
        _fail(exc)
    typer.echo(format_table(table, notes=notes))
    bad = mismatches(table)
    if len(bad):
        err_console.print(f"[red]{len(bad)} figure(s) do not match the paper[/red]")
        raise typer.Exit(1)
    typer.echo(f"\nall {int(table['ok'].map(lambda v: v is True).sum())} checked figures match")


@models_app.command("prepare")
def models_prepare(quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Prepare the embedded default models (idempotent)."""
    from artifactual.assets import prepare_all

    try:
        paths = prepare_all(progress=None if quiet else (lambda msg: err_console.print(msg)))
    except ArtifactualError as exc:
        _fail(exc)
    console.print_json(json.dumps(paths))


@runs_app.command("show")
def runs_show(run_dir: Path = typer.Argument(..., help="a run directory (generate --out)"),
              as_json: bool = typer.Option(False, "--json", help="print the totals as JSON")) -> None:
    """Print a run's totals: records, status, tokens per model, cost, sessions."""
    from artifactual.generation.run import run_summary

    try:
        info = run_summary(run_dir)
    except ArtifactualError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps(info))
        return
    console.print(f"[bold]{info['name']}[/bold] ({info['generator']}, backend {info['backend']}, "
                  f"model {info['model']}) in {info['dir']}")
    console.print(f"status {info['status']}; {info['n_records']} records, {info['n_errors']} errors; "
                  f"created {info['created_at']}, finished {_fmt(info['finished_at'])}")
    cost = info["cost"] or {}
    rows = []
    for model, u in sorted(info["usage"].items()):
        c = (cost.get("per_model") or {}).get(model)
        rows.append([model, str(u.get("prompt_tokens", 0)), str(u.get("completion_tokens", 0)),
                     f"{c['total']:.6f} {cost.get('currency') or ''}".strip() if c else "-"])
    width = render.terminal_width()
    _show(render.grid(["model", "prompt tokens", "completion tokens", "cost"], rows, width=width,
                      title="Tokens per model"))
    if cost:
        console.print(f"total cost: {cost.get('total', 0):.6f} {cost.get('currency') or ''}".rstrip()
                      + (f" (no price for {', '.join(cost['unpriced'])})" if cost.get("unpriced") else ""))
    keys = [("dialogues_generated", "generated"), ("dialogues_skipped", "skipped"),
            ("requests_sent", "requests sent"), ("requests_cached", "requests cached"),
            ("completion_tokens", "new tokens"), ("seconds", "seconds")]
    sessions = info["sessions"]
    rows = [["backend", *[str(x.get("backend", "-")) for x in sessions]]]
    rows += [[label, *[render.fmt_number(x.get(k)) for x in sessions]] for k, label in keys]
    rows.append(["retries", *[render.fmt_number((x.get("backend_stats") or {}).get("retries"))
                              for x in sessions]])
    _show(render.grid(["session", *[f"#{i}" for i in range(len(sessions))]], rows, width=width,
                      title="Sessions (one per generate call)"))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
