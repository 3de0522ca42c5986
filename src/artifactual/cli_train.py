"""``artifactual train``: run a training config (or the amplification experiment) and print
its mean [95% CI] table. Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer

from artifactual import console as render
from artifactual.cli_io import console, fail as _fail, progress as _progress, show as _show
from artifactual.errors import ArtifactualError

__all__ = ["register"]


def train(config: Path = typer.Argument(..., help="training config (configs/train_*.yaml)"),
          out: Path = typer.Option(..., "--out", "-o", help="output folder"),
          save_model: bool = typer.Option(False, "--save-model", help="also write each model"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars")) -> None:
    """Train on human vs LLM data (or a mixing sweep); write metrics.json, Parquet, plots."""
    from artifactual.training import load_train_config
    from artifactual.training import train as run_training

    try:
        cfg = load_train_config(config)
        runner = run_training
        if cfg.experiment == "amplify":  # trains, generates and audits
            from artifactual.amplification import run as runner
        with _progress(quiet) as bar:
            # one bar per kind: runs, epochs, steps, eval (descs are 'kind: run name')
            progress = None if bar is None else (
                lambda desc, done, total: bar(desc.split(":")[0], done, total))
            result = runner(cfg, out, save_model=save_model, progress=progress)
    except ArtifactualError as exc:
        _fail(exc)
    summary = result.metrics["summary"]
    groups = list(summary["groups"])
    gap = (summary.get("gap") or {}).get("metrics") or {}
    cols = [*groups, *(["gap (first - last)"] if gap else [])]
    rows: list[list[str]] = []
    for m in summary["groups"][groups[0]]:
        stats = [summary["groups"][g][m] for g in groups] + ([gap.get(m)] if gap else [])
        rows.append([m])
        rows.append(["  mean", *[render.fmt_number(x["mean"]) if x else "-" for x in stats]])
        rows.append(["  95% CI", *[f"[{render.fmt_number(x['ci_low'])}, {render.fmt_number(x['ci_high'])}]"
                                   if x else "-" for x in stats]])
    _show(render.grid(["metric", *cols], rows, width=render.terminal_width(),
                      title=f"{result.metrics['name']}: mean [95% CI] over "
                            f"{len(result.metrics['seeds'])} seeds"))
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to ``app``."""
    app.command("train")(train)
