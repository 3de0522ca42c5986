"""Task labels: n guided samples per item as Label records; unparseable answers are error rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from artifactual.config import parse_config
from artifactual.generation.labels import match_label
from artifactual.generation.run import generate
from artifactual.records import Label, record_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
LABELS = ["acceptable", "neutral", "unacceptable"]


def labels_config(**section):
    body = {"data": str(FIXTURES / "labels.csv"), "id_field": "id", "label_set": LABELS, "n": 3,
            "task": "How socially acceptable is the action?"}
    body.update(section)
    return parse_config({"name": "labels-test", "generator": "labels", "model": "default",
                         "sampling": {"temperature": 1.0, "top_p": 1.0, "max_tokens": 8}, "seeds": [0],
                         "labels": body})


def _read(run: Path, name: str) -> list[dict]:
    p = run / name
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def test_match_label():
    assert match_label("neutral", LABELS) == "neutral"
    assert match_label(" Unacceptable.", LABELS) == "unacceptable"
    assert match_label("acceptable, I think", LABELS) == "acceptable"
    assert match_label("It is unacceptable to me", LABELS) == "unacceptable"  # not "acceptable"
    assert match_label("acceptable or neutral", LABELS) == "acceptable"  # a leading label wins
    assert match_label("both neutral and unacceptable", LABELS) is None
    assert match_label("no idea", LABELS) is None
    assert match_label("2", [0, 1, 2]) == 2 and match_label("1.0", [0.0, 1.0]) == 1.0
    assert match_label("10", [0, 1]) is None


def test_guided_labels_run(engine, tmp_path):
    res = generate(labels_config(), tmp_path / "run", backend=engine)
    assert res.n_total == 12 and res.steps[0].active == 12  # every unit in flight at once
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert all(isinstance(r, Label) for r in recs) and len(recs) == 12
    assert Counter(r.item_id for r in recs) == {f"act-{i}": 3 for i in range(1, 5)}
    assert {r.annotator for r in recs} == {f"smollm2-135m-instruct#{k}" for k in range(3)}
    texts = {row.split(",", 1)[0]: row.split(",", 1)[1] for row in
             (FIXTURES / "labels.csv").read_text().splitlines()[1:]}
    for r in recs:
        assert r.label in LABELS  # guided choice keeps every answer in the label set
        assert r.label_set == LABELS and r.dataset == "labels" and r.text == texts[r.item_id]
        p = r.provenance
        assert p.generator == "labels" and p.strategy == "label-annotator" and len(p.strategy_sha256) == 64
        assert p.model == "smollm2-135m-instruct" and p.usage.completion_tokens > 0 and p.seed == 0
    assert not _read(tmp_path / "run", "errors.jsonl")


def test_unparseable_answers_are_error_rows(engine, tmp_path):
    # unguided, one token: no answer can spell a label, so every sample is an error row
    cfg = labels_config(guided=False, n=2, limit=2, label_set=["agree-strongly-zz", "disagree-strongly-zz"])
    cfg.sampling.max_tokens = 1
    generate(cfg, tmp_path / "run", backend=engine)
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert len(recs) == 4 and all(r.label is None for r in recs)
    errors = _read(tmp_path / "run", "errors.jsonl")
    assert sorted(e["record_id"] for e in errors) == sorted(f"{r.item_id}::{r.annotator}" for r in recs)
    assert all("unparseable label" in e["error"] for e in errors)


def test_bad_rows_are_reported_and_good_items_labelled(engine, tmp_path):
    cfg = labels_config(data=str(FIXTURES / "labels_bad.jsonl"), n=1)
    generate(cfg, tmp_path / "run", backend=engine)
    recs = _read(tmp_path / "run", "records.jsonl")
    assert [r["item_id"] for r in recs] == ["ok-1"] and recs[0]["label"] in LABELS
    errors = _read(tmp_path / "run", "errors.jsonl")
    lines = sorted(int(e["record_id"].rsplit(":", 1)[1]) for e in errors)
    assert lines == [2, 3] and all(e["record_id"].startswith("input:") for e in errors)


def test_csv_rows_are_numbered_by_file_line(tmp_path):
    from artifactual.generation.tasks import read_rows

    p = tmp_path / "items.csv"
    p.write_text('id,text\n1,a\n2,"two\nlines"\n3,d\n')
    rows, problems = read_rows(p)
    assert [line for line, _ in rows] == [2, 3, 5] and not problems
