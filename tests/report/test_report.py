"""report.html: content checked against a real audit, rebuilt from files, rendered in Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.analysis import audit
from artifactual.analysis.tables import TURN_COLUMNS
from artifactual.errors import InputError
from artifactual.records import (Conversation, Outcome, Provenance, Speaker, Turn,
                                 record_to_json)
from artifactual.report import (load_audit_dir, render_report, report_from_dir,
                                write_audit_dir, write_report)

CAMEL = Path(__file__).parents[1] / "fixtures" / "camel"
CHROMIUM = Path("/usr/bin/chromium")
CHEAP = ("role_flip", "impersonation", "repetition_loop")  # no spaCy, no MiniLM
TASKS = ["Plan raised beds for a small vegetable garden",
         "Write a short poem about bees gathering honey",
         "Design a rainwater tank for a garden shed"]
HOSTILE = 'Solution: <script>alert("x")</script> & <b>bold</b>'


def _conversation(i: int, strategy: str) -> Conversation:
    """A 6-turn dialogue; later turns drift away from the task by ``i % 4`` words per turn."""
    task = TASKS[i % 3]
    words = task.split()
    turns = []
    for k in range(6):
        kept = " ".join(words[:max(0, len(words) - k * (i % 4))])
        text = (f"Instruction: {kept} and the weather." if k % 2 == 0
                else f"Solution: {kept} then rest. Next request.")
        if i == 4 and k == 2:
            text = HOSTILE  # a user turn with the assistant marker: a role flip
        turns.append(Turn(index=k, speaker="Grower" if k % 2 == 0 else "Helper", content=text))
    return Conversation(
        id=f"run-{i}", task=task, turns=turns,
        termination_reason=["<CAMEL_TASK_DONE>", "max_turns_reached", "token_limit"][i % 3],
        speakers=[Speaker(name="Grower", role="user"), Speaker(name="Helper", role="assistant")],
        outcome=Outcome(correct=bool(i % 2)),
        provenance=Provenance(generator="roleplay", strategy=strategy, model="tiny",
                              backend="vllm", seed=i))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    convs = [_conversation(i, ["camel", "camel-minimal"][i % 2]) for i in range(10)]
    (root / "records.jsonl").write_text("".join(record_to_json(c) + "\n" for c in convs))
    return root


@pytest.fixture(scope="module")
def result(run_dir: Path):
    return audit([CAMEL / "good", CAMEL / "bad", run_dir], detectors=CHEAP)


class _Tables(HTMLParser):
    """Cell texts of every ``<table id=...>``: {id: [[cell, ...], ...]} (header rows too)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.row_attrs: dict[str, list[dict[str, str | None]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or "?"
            self.tables[self._table], self.row_attrs[self._table] = [], []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
            self.row_attrs[self._table].append(dict(attrs))
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def _svgs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"',
                                                    html)]


def test_report_content_matches_the_audit(result) -> None:
    html = render_report(result, title="Garden <audit> & co")
    assert "<title>Garden &lt;audit&gt; &amp; co</title>" in html
    assert "Garden <audit>" not in html
    # self-contained: nothing fetched from anywhere
    assert not re.search(r'(?:src|href)="(?!data:|#)', html) and "<link" not in html
    assert "@import" not in html and "url(" not in html
    tables = _tables(html).tables
    s = result.summary

    # no comparison table: one row per metric, one "estimate [lo, hi] n=N" cell per group
    head, *body = tables["metrics-table"]
    assert head == ["metric", "(all)", *sorted(s["groups"])]
    cells = {(r[0], g): re.fullmatch(r"(\S+) \[(\S+), (\S+)\] n=(\d+)", c)
             for r in body for g, c in zip(head[1:], r[1:])}
    for group, stats in [("(all)", s), *s["groups"].items()]:
        est, lo, hi, n = cells[("role_flip_rate", group)].groups()
        assert est == f"{stats['role_flip_rate']:.3f}" and int(n) == stats["n_conversations"]
        assert float(lo) <= float(est) <= float(hi)
    acc = result.conversations["correct"].dropna()
    assert cells[("accuracy", "(all)")].group(1) == f"{acc.mean():.3f}"

    term = tables["termination-table"]
    header = term[0]
    assert header[:2] == ["reason", "(all)"] and sorted(header[2:]) == sorted(s["groups"])
    counts = {r[0]: int(r[1].split()[0]) for r in term[1:-1]}
    assert counts == s["termination_reasons"]
    assert term[-1][1] == str(s["n_conversations"])

    flag_cols = [c for c in result.turns.columns
                 if c not in TURN_COLUMNS and pd.api.types.is_bool_dtype(result.turns[c])]
    assert {"role_flip", "interruption", "impersonation", "repetition"} <= set(flag_cols)
    flagged = result.turns[result.turns[flag_cols].any(axis=1)]
    rows = tables["flagged"][1:]
    assert len(rows) == len(flagged) > 0
    assert {(r[0].split()[0], int(r[1])) for r in rows} == set(
        zip(flagged["conversation_id"], flagged["turn_index"]))
    hostile = [r for r in rows if r[0].startswith("run-4") and r[1] == "2"]
    assert hostile and "role_flip" in hostile[0][3] and HOSTILE in hostile[0][5]
    assert '<script>alert("x")' not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html

    assert len(tables["errors-table"]) - 1 == len(result.errors) > 0
    assert "No per-turn similarity-to-task column" in html and "drift-table" not in tables
    figures = _svgs(html)
    assert len(figures) == 3 and all(b"<svg" in f and b"</svg>" in f for f in figures)


def test_comparison_table_and_drift_curves(run_dir: Path) -> None:
    res = audit(run_dir, detectors=("role_flip", "digression"), compare_by="strategy")
    assert res.comparison is not None
    html = render_report(res)
    tables = _tables(html).tables

    metrics = tables["metrics-table"]
    assert metrics[0][-4:] == ["effect size", "kind", "p", "p (Holm)"]
    assert len(metrics) - 1 == len(res.comparison)
    comp = res.comparison.set_index(["metric", "group"])
    for row in metrics[1:]:
        group = row[1].replace(" reference", "")
        want = comp.loc[(row[0], group)]
        assert row[3] == f"{want['estimate']:.3f}"
        assert ("reference" in row[1]) == (group == want["reference"])
        assert row[8] == ("—" if np.isnan(want["p_holm"]) else f"{want['p_holm']:.3f}")

    # the digression detector's per-conversation drift score ranks the curves
    drift = res.conversations.set_index("conversation_id")["drift_mean"].sort_values(
        ascending=False, kind="mergesort")
    rows = tables["drift-table"][1:]
    most = [r for r in rows if r[0] == "most"]
    least = [r for r in rows if r[0] == "least"]
    assert len(most) == len(least) == 5
    assert [r[1] for r in most] == list(drift.index[:5])
    assert [r[1] for r in least] == list(drift.index[::-1][:5])
    assert float(most[0][2]) == pytest.approx(drift.iloc[0], abs=1e-3)
    assert float(most[0][2]) > float(least[0][2])
    assert tables["drift-table"][0][3] == "digression"
    # 3 metric plots (rates, scores, counts), drift, termination
    assert "task_similarity" in html and "drift_mean" in html and len(_svgs(html)) == 5


def test_write_and_rebuild_from_dir(run_dir: Path, tmp_path: Path) -> None:
    result = audit([CAMEL / "good", run_dir], detectors=CHEAP, compare_by="strategy")
    paths = write_audit_dir(result, tmp_path / "out")
    assert "From the comparison table" in paths["report"].read_text(encoding="utf-8")
    page = paths["report"].read_text(encoding="utf-8")
    assert paths["report"].name == "report.html" and page == render_report(result)
    again = report_from_dir(tmp_path / "out", path=tmp_path / "again.html")
    assert again.read_text(encoding="utf-8") == page
    loaded = load_audit_dir(tmp_path / "out")
    assert loaded.summary == result.summary and len(loaded.turns) == len(result.turns)
    assert len(loaded.comparison) == len(result.comparison)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}")
    with pytest.raises(InputError) as info:
        report_from_dir(tmp_path / "half")
    assert "turns.parquet" in str(info.value) and "audit --out" in str(info.value)


def test_empty_audit_still_renders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    path = write_report(audit(tmp_path / "empty"), tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert "No metrics" in html and "No turn was flagged" in html
    assert "None: every input was read." in html and _svgs(html) == []


def test_analysis_does_not_import_report() -> None:
    code = ("import sys, artifactual.analysis; "
            "bad = [m for m in sys.modules if m.startswith('artifactual.report')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
    # nor lazily: the audit returns tables and the caller writes the report
    import artifactual.analysis

    folder = Path(artifactual.analysis.__file__).parent
    imports = re.compile(r"^\s*(from|import)\s+artifactual\.report\b", re.M)
    lazy = [str(p) for p in folder.rglob("*.py") if imports.search(p.read_text("utf-8"))]
    assert lazy == []


def _chromium(url: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
             *extra, url],
            capture_output=True, text=True, timeout=300, check=True,
            env={**os.environ, "HOME": profile})


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent "
                    "(install Debian's browser: apt-get install -y chromium)")
def test_renders_in_headless_chromium(result, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "report.html")
    dom = _chromium(f"{path.as_uri()}#filter=garden_flips", "--dump-dom").stdout
    assert 'data-ready="1"' in dom  # the inline script ran to its end
    rows = _tables(dom)
    flagged = rows.tables["flagged"][1:]
    shown = [r for r, a in zip(flagged, rows.row_attrs["flagged"][1:]) if "hidden" not in a]
    assert 0 < len(shown) < len(flagged)
    assert all("garden_flips" in " ".join(r) for r in shown)
    assert re.search(rf'id="flag-count">{len(shown)}<', dom)

    shot = tmp_path / "shot.png"
    _chromium(path.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    header, page = pixels[:40].mean(), pixels[200:].mean()
    assert header < 0.3 < 0.8 < page < 1.0  # dark header above a light, non-blank page


def _findings_html(html: str) -> str:
    return html[html.index('<section id="findings">'):html.index('<section id="summary">')]


def test_findings_lead_with_examples_and_trust(result, monkeypatch) -> None:
    html = render_report(result)
    body = html[html.index("<main>"):]
    assert re.search(r"<main>\s*<section id=\"findings\">", body)  # first section of the body
    part = _findings_html(html)
    conv = result.conversations[result.conversations["audited"]]
    for flag in ("role_flip", "interruption", "repetition"):
        k, n = int(conv[flag].sum()), len(conv)
        assert k > 0 and f'id="finding-{flag}"' in part
        block = part[part.index(f'id="finding-{flag}"'):]
        block = block[:block.index("</div>\n  </div>")]
        assert f"{k} of {n} conversations" in block and f"{100 * k / n:.1f}%" in block
        assert "<mark>" in block
        anchors = re.findall(r'href="#(turn-[^"]+)"', block)
        assert 1 <= len(anchors) <= 3
        for a in anchors:  # every example links to an existing flagged-turns row
            assert f'<tr id="{a}"' in html
    # the role flip is highlighted on the marker the evidence quotes, inside the turn
    assert "already. <mark>Solution:</mark> add one part" in part
    # the not-run detector and its reason are listed
    for name, why in result.summary["not_run"].items():
        assert f"<b>{name}</b> (not run): {why}" in part
    assert f"{len(result.errors)} unreadable files" in part
    # an example whose row is beyond the listed flagged turns gets no dead link
    import artifactual.report.html as report_html

    monkeypatch.setattr(report_html, "MAX_FLAGGED", 1)
    few = _findings_html(render_report(result))
    assert len(re.findall(r'href="#turn-', few)) <= 1 and "beyond the listed flagged" in few


def test_findings_trust_comes_from_the_validity_file(result, tmp_path: Path) -> None:
    fake = {"labelled": [{"set": "toyset", "flag": "role_flip", "level": "conversation", "n": 7,
                          "precision": {"value": 0.625, "low": 0.5, "high": 0.75},
                          "recall": {"value": 0.375, "low": 0.25, "high": 0.5}}],
            "injections": [], "human": []}
    path = tmp_path / "validity.json"
    path.write_text(json.dumps(fake))
    part = _findings_html(render_report(result, validity_path=path))
    flips = part[part.index('id="finding-role_flip"'):]
    assert "on labelled toyset (n=7) precision 0.62 [0.50, 0.75], recall 0.38" in flips[:3000]
    missing = _findings_html(render_report(result, validity_path=tmp_path / "absent.json"))
    assert "precision and recall not measured (absent.json not found)" in missing
    assert "precision 1.00" not in missing


def test_plots_keep_rates_apart_from_scores_and_counts(result) -> None:
    import copy

    res = copy.copy(result)
    res.conversations = result.conversations.assign(
        question_acts_mean=np.linspace(0.0, 8.0, len(result.conversations)))
    html = render_report(res)
    figs = re.findall(r'<figure class="metric-plot" data-kind="(\w+)" data-metrics="([^"]*)"',
                      html)
    kinds = {k: m.split() for k, m in figs}
    assert set(kinds) == {"rate", "score", "count"} and len(figs) == 3
    bools = {c for c in res.conversations.columns if pd.api.types.is_bool_dtype(
        res.conversations[c])}
    assert kinds["rate"] and all(m.removesuffix("_rate") in bools or m == "accuracy"
                                 for m in kinds["rate"])
    assert kinds["count"] == ["question_acts_mean"]
    assert "repetition_score_mean" in kinds["score"]
    assert not set(kinds["rate"]) & (set(kinds["count"]) | set(kinds["score"]))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent "
                    "(install Debian's browser: apt-get install -y chromium)")
def test_findings_fill_the_first_screen(result, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "report.html")
    dom = _chromium(path.as_uri(), "--dump-dom", "--window-size=1280,800").stdout
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d*)"', dom[dom.index("<body"):][:400]))
    assert attrs["ready"] == "1" and int(attrs["viewport-height"]) <= 800
    assert 0 < int(attrs["findings-top"]) < 200  # right under the title bar
    assert 0 < int(attrs["first-mark-top"]) < int(attrs["viewport-height"])  # an example shows
    shot = tmp_path / "first.png"
    _chromium(path.as_uri(), f"--screenshot={shot}", "--window-size=1280,800")
    import matplotlib.image as mpimg

    px = mpimg.imread(shot)[..., :3]
    mark = (np.abs(px - np.array([0xff, 0xe5, 0x8a]) / 255).max(axis=2) < 0.03)
    assert mark.sum() > 50  # the highlighted evidence is painted in the first screen


def test_findings_name_the_failure_mode_each_detector_evidences(result) -> None:
    part = _findings_html(render_report(result))
    block = part[part.index('id="finding-role_flip"'):]
    block = block[:block.index("</div>\n  </div>")]
    assert "Failure mode (MAST): <b>FM-1.2 disobey role specification</b>" in block
    modes = {m["mode"]: m for m in result.summary["failure_modes"]["modes"]}
    assert 'id="failure-modes"' in part
    fm12 = modes["FM-1.2"]
    conv = result.conversations[result.conversations["audited"]]
    either = conv[[c for c in ("role_flip", "impersonation", "role_flip_unmarked",
                               "role_adherence_violation") if c in conv.columns]]
    assert fm12["k"] == int(either.astype("boolean").fillna(False).any(axis=1).sum()) >= 1
    assert f"({fm12['k']} of {fm12['n']})" in part
    assert "no offline detector evidences it here" in part  # e.g. FM-3.3, asked of a judge
