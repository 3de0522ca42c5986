"""``artifactual filter`` and ``artifactual export``: act on an audit (:mod:`artifactual.curate`).
Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artifactual.cli_io import console, fail as _fail
from artifactual.errors import ArtifactualError

__all__ = ["register"]


def _split(values: Optional[list[str]]) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def filter_cmd(
    source: Path = typer.Argument(..., help="the audited run directory or log file(s)"),
    audit: Path = typer.Option(..., "--audit", help="the audit of SOURCE (artifactual audit --out)"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    drop: Optional[list[str]] = typer.Option(None, "--drop", help="conversation flags to drop, "
                                             "comma-separated (e.g. role_flip,impersonation)"),
    trim: Optional[list[str]] = typer.Option(None, "--trim", help="turn flags to cut before "
                                             "(e.g. courtesy_loop)"),
    drop_format_failures: bool = typer.Option(False, "--drop-format-failures",
                                              help="drop conversations that failed their format"),
    max_: Optional[list[str]] = typer.Option(None, "--max", help="COLUMN=NUMBER: drop a "
                                             "conversation whose score is above (repeatable)"),
    min_: Optional[list[str]] = typer.Option(None, "--min", help="COLUMN=NUMBER: drop a "
                                             "conversation whose score is below (repeatable)"),
    keep: bool = typer.Option(False, "--keep", help="inverse: keep only what the rules match"),
    rules_file: Optional[Path] = typer.Option(None, "--rules", help="YAML file of rules "
                                              "(keys drop, trim, drop_format_failures, max, min, keep)"),
) -> None:
    """Drop or trim what an audit flagged; kept records are written byte for byte."""
    from artifactual.curate import FilterRules, filter_records, load_rules, parse_bounds

    try:
        rules = FilterRules(drop=_split(drop), trim=_split(trim),
                            drop_format_failures=drop_format_failures,
                            max=parse_bounds(max_, "--max"), min=parse_bounds(min_, "--min"),
                            keep=keep)
        if rules_file is not None:
            rules = load_rules(rules_file).merged(rules)
        if rules.empty:
            raise ArtifactualError("no filter rule given",
                                   fix="add --drop, --trim, --drop-format-failures, --max, "
                                       "--min or --rules FILE")
        result = filter_records(source, audit, out, rules)
    except ArtifactualError as exc:
        _fail(exc)
    s = result.summary
    console.print(f"{s['n_records']} records: {s['n_kept']} kept ({s['n_trimmed']} trimmed), "
                  f"{s['n_removed']} removed", markup=False, highlight=False)
    for rule, n in s["removed_by_rule"].items():
        console.print(f"  {rule}: {n}", markup=False, highlight=False)
    console.print(f"wrote {out}", markup=False, highlight=False)


def export_cmd(
    source: Path = typer.Argument(..., help="a run directory, a filter output directory or logs"),
    to: str = typer.Option("parquet", "--to", help="hf | parquet | jsonl"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    audit: Optional[Path] = typer.Option(None, "--audit", help="the audit for the card "
                                         "(default: the filter's audit, or SOURCE/audit)"),
    license: Optional[str] = typer.Option(None, "--license", help="licence id for the card, "
                                          "e.g. apache-2.0, cc-by-4.0"),
    name: Optional[str] = typer.Option(None, "--name", help="dataset name (default: the run's)"),
    shard_rows: int = typer.Option(10_000, "--shard-rows", min=1, help="rows per Parquet shard"),
) -> None:
    """Export conversations (messages column, Parquet shards / datasets / JSONL) with a
    dataset card that documents how they were made and what the audit found."""
    from artifactual.curate.export import export_dataset

    try:
        result = export_dataset(source, out, to=to, audit_dir=audit, license=license,
                                shard_rows=shard_rows, name=name)
    except ArtifactualError as exc:
        _fail(exc)
    console.print(f"{result.n_rows} conversations -> {len(result.files)} file(s); card: "
                  f"{out / 'README.md'}", markup=False, highlight=False)
    if result.read_errors:
        console.print(f"{result.read_errors} unreadable record(s) left out", markup=False,
                      highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``filter`` and ``export`` to ``app``."""
    app.command("filter")(filter_cmd)
    app.command("export")(export_cmd)
