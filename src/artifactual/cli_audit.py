"""What ``artifactual audit`` reads from its options and prints: markers, the judge
config, the summary, the comparison and the judge's estimates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from artifactual import console as render
from artifactual.cli_io import console, err_console, fail as _fail, say, show as _show
from artifactual.errors import ArtifactualError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["judge_config", "markers_option", "print_judge", "print_not_applicable",
           "print_comparison", "print_summary", "print_findings"]


def judge_config(path: Optional[Path], sample: Optional[int], taxonomy: bool = False):
    """The judge config of ``--judge`` (checked before any audit work), or None;
    ``taxonomy`` (``--judge-taxonomy``) also asks the failure modes."""
    if path is None:
        for given, name in ((sample is not None, "--judge-sample"), (taxonomy, "--judge-taxonomy")):
            if given:
                _fail(ArtifactualError(f"{name} needs --judge", fix="add --judge configs/judge.yaml"))
        return None
    from artifactual.config import load_judge_config

    try:
        cfg = load_judge_config(path)
    except ArtifactualError as exc:
        _fail(exc)
    return cfg.model_copy(update={"taxonomy": True}) if taxonomy else cfg


def _ci(est: Optional[dict]) -> str:
    if est is None or est["ci_low"] is None:
        return ""
    return f"[{render.fmt_number(est['ci_low'])}, {render.fmt_number(est['ci_high'])}]"


def print_judge(section: dict) -> None:
    """The judge's estimates per artifact, beside the offline flag rate."""
    sample = section["sample"] or "all"
    rows: list[list[str]] = []
    for name, a in section["artifacts"].items():
        label = f"{name} {a['mode_label']}" if a.get("mode_label") else name
        rows.append([f"{label} ({a['n_judged']} judged)"])
        for measure, value, est in [("offline rate", a["offline_rate"], None),
                                    ("judge prevalence", None, a["prevalence"]),
                                    ("offline precision", None, a["precision"]),
                                    ("offline recall", None, a["recall"])]:
            value = est["estimate"] if est is not None else value
            rows.append([f"  {measure}", render.fmt_number(value), _ci(est) or "-"])
    _show(render.grid(["artifact", "estimate", "95% CI"], rows, width=render.terminal_width(),
                      title=f"LLM judge: {section['model']} ({section['backend']}), {sample} "
                            "conversation(s) per artifact"))
    for name, a in section["artifacts"].items():
        for note in a["notes"]:
            console.print(f"  [dim]{name}: {note}[/dim]")
    if section["n_errors"]:
        err_console.print(f"[yellow]{section['n_errors']} judge answer(s) unusable[/yellow]; "
                          f"see the error rows in {section['judgments']}")


def markers_option(value: Optional[str]) -> Optional[dict]:
    """``--markers``: inline JSON or a JSON file; None when not given."""
    if value is None:
        return None
    text = Path(value).read_text(encoding="utf-8") if Path(value).is_file() else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(ArtifactualError(f"--markers is neither a JSON file nor JSON: {exc}",
                               fix='pass e.g. \'{"assistant_markers": ["Solution&Action:"]}\''))
    if not isinstance(data, dict):
        _fail(ArtifactualError("--markers must be a JSON object",
                               fix="give user_markers, assistant_markers and done_tokens lists"))
    return data


def print_not_applicable(summary: dict) -> None:
    """Detectors that did not apply (rates None) and why; the format failures."""
    n, audited = summary.get("n_conversations"), summary.get("n_audited")
    if n is not None and audited is not None and audited < n:
        console.print(f"[yellow]{n - audited} of {n} conversation(s) could not be audited "
                      f"(format failures); rates are over the other {audited}[/yellow]")
    for line in render.termination_lines(summary):
        console.print(line, markup=False, highlight=False)
    for line in render.not_applicable_lines(summary):
        console.print(line, markup=False, highlight=False)
    mk = summary.get("markers") or {}
    if mk.get("used"):
        used = mk["used"]
        console.print(f"[dim]role markers ({mk.get('source')}): user {used['user_markers']}, "
                      f"assistant {used['assistant_markers']}, done {used['done_tokens']}[/dim]")


def print_comparison(comparison: pd.DataFrame) -> None:
    """The audit's group comparison: per metric, estimate, 95% CI, effect and Holm p."""
    by = comparison["group_by"].iloc[0] if len(comparison) else ""
    _show(render.comparison_table(comparison, width=render.terminal_width(),
                                  title=f"Comparison by {by} (effect and Holm-corrected p "
                                        "against the reference; * p < 0.05)"))


def print_summary(summary: dict) -> None:
    """Metrics that apply, as rows; then format failures, endings and what did not apply."""
    _show(render.summary_table(summary, width=render.terminal_width()))
    print_not_applicable(summary)


def print_findings(result, out: Path) -> None:
    """The short form: headline, findings (most prevalent first, with CI, failure mode and
    trust), the significant contrasts, what did not apply, and where the rest is."""
    from artifactual import console_findings as short
    from artifactual.report.findings import findings

    summary = result.summary
    width = render.terminal_width()
    say(short.headline(summary, result.conversations, len(result.errors), width))
    data = findings(result)
    modes = summary.get("failure_modes") or {}
    if data["items"]:
        say(["", *short.wrap("Findings: conversations flagged [95% CI]; failure mode "
                             "(MAST); measured trust", width, hang="")])
        say(short.finding_lines(data["items"], modes, width, summary))
    unseen = [m["mode"] for m in modes.get("modes") or [] if m.get("rate") is None]
    if unseen:
        say(short.wrap("Modes no detector here sees: " + ", ".join(
            [unseen[0], *[u.removeprefix("FM-") for u in unseen[1:]]])
                        + " (--judge-taxonomy asks a judge).", width, hang=""))
    if result.comparison is not None:
        comp = result.comparison
        by = str(comp["group_by"].iloc[0]) if len(comp) else summary.get("compare_by")
        say([""] + short.contrast_lines(comp, width, by=by))
    rest = short.absent_lines(summary, width) + render.termination_lines(summary)[:1]
    mk = summary.get("markers") or {}
    if mk.get("used"):
        used = mk["used"]
        rest += short.wrap(f"role markers ({mk.get('source')}): user {used['user_markers']}, "
                           f"assistant {used['assistant_markers']}, done "
                           f"{used['done_tokens']}", width)
    if rest:
        say([""] + rest)
    say(short.wrap(f"Written to {out} (report.html, summary.json, tables); full tables: "
                    "--details.", width, hang=""))
