"""The CLI reads at 80 columns in a non-TTY log. The default output is findings first and
short: every finding, every significant contrast, nothing cut. ``--details`` gives the full
tables, where no header or value is cut and metrics that do not apply are listed with
their reason. Progress shows as plain lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from artifactual.cli import app
from artifactual.console import comparison_table, engine_output, fmt_number, grid, progress
from artifactual.records import Conversation, Provenance, Speaker, Turn, record_to_json

WIDTH = 80
STRATEGIES = ["camel-minimal", "camel", "camel-prefix", "camel-constrained-long-name"]


N_PER_GROUP = 10


def _conv(i: int, strategy: str) -> Conversation:
    flip = i % 5 != 0 and strategy != "camel-prefix"  # 80% against 0%: a significant contrast
    user = ("Solution: I will just do it myself." if flip else
            f"Instruction: Write step {i} of the plan.\nInput: None")
    turns = [Turn(index=0, speaker="Shop Owner", content=user, meta={"role": "user"}),
             Turn(index=1, speaker="Data Analyst", content=f"Solution: Step {i} is done. Next request.",
                  meta={"role": "assistant"}),
             Turn(index=2, speaker="Shop Owner", content="Instruction: Summarise.\nInput: None",
                  meta={"role": "user"}),
             Turn(index=3, speaker="Data Analyst", content="Solution: Here is the summary. "
                  "Next request.", meta={"role": "assistant"})]
    return Conversation(id=f"{strategy}-{i}", task="Find the best-selling products.",
                        speakers=[Speaker(name="Shop Owner", role="user"),
                                  Speaker(name="Data Analyst", role="assistant")],
                        turns=turns, termination_reason="max_messages",
                        provenance=Provenance(generator="roleplay", strategy=strategy,
                                              model="m", backend="vllm"))


def _check_lines(text: str, width: int = WIDTH) -> list[str]:
    lines = text.splitlines()
    assert lines, "nothing printed"
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide
    assert not any("…" in line for line in lines), "a cell was cut"
    return lines


def _values(comp: pd.DataFrame) -> set[str]:
    out = set()
    for r in comp.to_dict("records"):
        for k in ("estimate", "ci_low", "ci_high"):
            if not (isinstance(r[k], float) and math.isnan(r[k])):
                out.add(fmt_number(r[k]))
    return out


def _audit(root: Path, name: str, width: int, *extra: str) -> tuple[str, Path]:
    out = root / name
    res = CliRunner().invoke(app, ["audit", str(root / "records.jsonl"), "--out", str(out), "-q",
                                   "--compare-by", "strategy", "--detectors",
                                   "role_flip,digression", *extra],
                             env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    return res.output, out


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("render")
    (root / "records.jsonl").write_text("".join(record_to_json(_conv(i, s)) + "\n"
                                                for s in STRATEGIES for i in range(N_PER_GROUP)))
    return root


@pytest.fixture(scope="module")
def audited(logs) -> tuple[str, Path]:
    return _audit(logs, "details", WIDTH, "--details")


@pytest.mark.parametrize("width", [80, 120])
def test_the_default_output_is_findings_first_short_and_leaves_nothing_significant_out(
        logs, width):
    output, out = _audit(logs, f"short{width}", width)
    lines = _check_lines(output, width)
    assert len(lines) <= 40, output
    summary = json.loads((out / "summary.json").read_text())
    comp = pd.read_parquet(out / "comparison.parquet")
    at = {key: next(i for i, line in enumerate(lines) if line.startswith(key))
          for key in ("Read ", "Findings", "Differences by strategy")}
    assert at["Read "] < at["Findings"] < at["Differences by strategy"]
    text = " ".join(line.strip() for line in lines)  # a wrapped entry read as one
    for flag in ("role_flip", "interruption", "digression"):  # every finding that applies
        rate = summary[f"{flag}_rate"]
        assert f"{flag} {100 * rate:.0f}% [" in text, flag
        # each finding's count split by group, in the headline's order
        split = [round(g[f"{flag}_rate"] * g["n_audited"]) for g in summary["groups"].values()]
        if sum(split):
            assert f"({'+'.join(map(str, split))} by strategy)" in text, flag
    assert "FM-1.2 disobey role specification" in text  # the failure mode role_flip evidences
    assert "trust: " in text
    hits = comp[comp["p_holm"] < 0.05]
    assert len(hits), "the fixture is built to have a significant contrast"
    for r in hits.itertuples():
        assert f"{r.metric}: {r.group} " in text, (r.metric, r.group)
    n_tested = int(comp["p_holm"].notna().sum())
    assert f"{n_tested - len(hits)} other contrasts tested" in text
    shown = set(hits["metric"])
    for diagnostic in ("task_similarity_mean", "centroid_similarity_mean", "prev_similarity_mean",
                       "mean_drift", "repetition_similarity_mean"):
        assert diagnostic in shown or diagnostic not in text  # behind --details
    assert "--details" in text
    # the detectors kept off for their measured precision share one "not run" entry
    off = [n for n, why in summary["not_run"].items() if why.startswith("off by default")]
    assert {"courtesy_loop", "content_repetition"} <= set(off)
    assert f"not run: {', '.join(off)}: off by default" in text
    assert "--detectors all runs them" in text


def test_the_audit_summary_and_comparison_fit_80_columns_uncut(audited):
    output, out = audited
    lines = _check_lines(output)
    comp = pd.read_parquet(out / "comparison.parquet")
    for name in STRATEGIES:  # every group header whole, on a line of its own block
        assert any(name in line.split() for line in lines), name
    for metric in set(comp["metric"]):
        assert metric in lines, metric  # each metric is a section line of its own
    cells = {c for line in lines for c in line.replace("[", " ").replace("]", " ")
             .replace(",", " ").split()}
    missing = {v for v in _values(comp) if v not in cells}
    assert not missing, missing
    assert "Comparison by strategy" in output


def test_metrics_that_do_not_apply_are_listed_with_the_reason_not_as_rows(audited):
    output, out = audited
    summary = json.loads((out / "summary.json").read_text())
    for name, why in (summary.get("not_applicable") or {}).items():
        assert f"not applicable: {name}: {why}" in output
    rows = {line.split()[0] for line in output.splitlines() if line.strip()}
    for key, value in summary.items():
        if key.endswith("_rate") and value is None:
            assert key[:-5] not in rows, key


def test_compare_kind_text_fits_80_columns(tmp_path: Path):
    texts = [("p1", "We missed the bus, so we walked home in the rain and talked the whole way.",
              "Missing the bus is frustrating. However, walking offers benefits. In conclusion, "
              "stay positive."),
             ("p2", "The bakery on our street closed. Nobody knows why; maybe the rent went up.",
              "The closure of a bakery can affect a community. Furthermore, it may be due to rent."),
             ("p3", "My grandmother grew tomatoes and gave them away when they ripened.",
              "Growing tomatoes is rewarding. Moreover, it allows individuals to enjoy produce.")]
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"id": f"{o}:{i}", "text": t, "origin": o, "source_id": i}) + "\n"
                            for i, h, m in texts for o, t in (("human", h), ("llm", m))))
    res = CliRunner().invoke(app, ["compare", "--kind", "text", str(path), "--out",
                                   str(tmp_path / "out"), "-q", "--details"],
                             env={"COLUMNS": str(WIDTH)})
    assert res.exit_code == 0, res.output
    lines = _check_lines(res.output)
    comp = pd.read_parquet(tmp_path / "out" / "comparison.parquet")
    short = CliRunner().invoke(app, ["compare", "--kind", "text", str(path), "--out",
                                     str(tmp_path / "short"), "-q"], env={"COLUMNS": str(WIDTH)})
    assert short.exit_code == 0, short.output
    short_text = " ".join(line.strip() for line in _check_lines(short.output))
    assert "Differences against human" in short_text
    for r in comp[comp["p_holm"] < 0.05].itertuples():
        assert f"{r.metric}: {r.group} " in short_text
    assert len(short.output.splitlines()) < len(lines)
    shown = list(dict.fromkeys(comp["metric"]))[:40]
    for metric in shown:
        assert metric in lines, metric
    for group in set(comp["group"]):
        assert any(group in line.split() for line in lines), group


def test_grid_splits_groups_into_blocks_rather_than_cutting():
    headers = ["metric", *[f"group-with-a-long-name-{i}" for i in range(5)]]
    rows = [["interruption", *["0.94" for _ in range(5)]], ["a section line"]]
    text = grid(headers, rows, width=WIDTH)
    lines = _check_lines(text)
    assert sum(line.startswith("interruption") for line in lines) >= 2  # repeated per block
    for h in headers[1:]:
        assert h in text


def test_comparison_cells_show_the_ci_and_holm_p():
    comp = pd.DataFrame([
        dict(metric="interruption", group="a", n=10, estimate=1.0, ci_low=1.0, ci_high=1.0,
             effect_size=float("nan"), effect_kind="cohens_h", p_value=float("nan"),
             p_holm=float("nan"), reference="a"),
        dict(metric="interruption", group="b", n=10, estimate=0.0, ci_low=0.0, ci_high=0.0,
             effect_size=-3.14, effect_kind="cohens_h", p_value=1e-5, p_holm=2e-5, reference="a")])
    text = comparison_table(comp, width=WIDTH)
    assert "[1.00, 1.00]" in text and "<0.001 *" in text and "-3.14 h" in text
    assert "(reference)" in text and "n=10" in text


def test_progress_in_a_non_tty_log_is_plain_periodic_lines(tmp_path: Path):
    log = tmp_path / "log.txt"
    with log.open("w") as fh:
        console = Console(file=fh, force_terminal=False, width=WIDTH)
        with progress(console, interval_s=3600) as update:
            for done in range(11):
                update("roleplay", done, 10)
    lines = log.read_text().splitlines()
    assert lines[0].startswith("roleplay: 0/10 (0%)") and lines[-1].startswith("roleplay: 10/10 (100%)")
    assert len(lines) == 2  # one at the start, one at the end: no live bar, no flood


def test_engine_output_goes_to_the_log_and_the_console_stays(capfd, tmp_path: Path):
    import os

    console = Console(file=None, force_terminal=False)
    with engine_output(tmp_path / "engine.log", [console]) as path:
        os.write(1, b"INFO engine chatter\n")
        os.write(2, b"WARNING triton chatter\n")
        console.print("ours")
    out, err = capfd.readouterr()
    assert "chatter" not in out + err and "ours" in out
    assert path.read_text() == "INFO engine chatter\nWARNING triton chatter\n"
