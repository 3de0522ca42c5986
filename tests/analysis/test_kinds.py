"""``audit --kind`` / ``compare --kind`` entry points, the text readers and compare configs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from artifactual.analysis.stats.compare_config import load_compare_config, run_compare_config
from artifactual.analysis.kinds import Input, audit_kind, compare_kind
from artifactual.cli import app
from artifactual.errors import ConfigError, InputError
from artifactual.readers import ErrorLog, read
from artifactual.records import Instruction, Text
from artifactual.report import write_audit_dir

ROOT = Path(__file__).parents[2]
PAIRS = [
    ("p1", "We missed the bus, so we walked home. It was raining and my shoes got soaked. "
           "Still, the walk was nice because we talked the whole way.",
     "Missing the bus can be frustrating. However, walking home offers benefits. "
     "Additionally, it provides exercise. In conclusion, it is important to stay positive."),
    ("p2", "The bakery on our street closed. Nobody knows why. I think the rent went up, but "
           "maybe the owner retired.",
     "The closure of a bakery can affect a community. Furthermore, it may be due to rent or "
     "retirement. Overall, it is essential to support local businesses."),
    ("p3", "My grandmother grew tomatoes. She watered them before breakfast, and when they "
           "ripened she gave them away.",
     "Growing tomatoes is rewarding. Moreover, it allows individuals to enjoy produce. "
     "Therefore, gardening is highly beneficial for everyone."),
    ("p4", "I tried to fix the sink. After an hour I gave up and called a plumber, who laughed "
           "at my wrench.",
     "Repairing a sink can be challenging. Moreover, it requires tools. Consequently, it is "
     "advisable to consult a plumber. In summary, safety comes first."),
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("texts")
    return _jsonl(d / "pairs.jsonl", [{"id": i, "human_text": h, "machine_text": m}
                                      for i, h, m in PAIRS])


def test_text_reader_shapes(tmp_path: Path, pairs_file: Path) -> None:
    recs = list(read(pairs_file))
    assert len(recs) == 8 and all(isinstance(r, Text) for r in recs)
    assert {r.id for r in recs if r.source_id == "p1"} == {"p1:human", "p1:llm"}
    csv = tmp_path / "texts.csv"
    csv.write_text('id,text,origin\na,"Hello there, friend.",human\nb,Hi.,GPT-4\n'
                   "c,Odd row,robot\nd,too,many,fields\n", encoding="utf-8")
    log = ErrorLog()
    got = list(read(csv, errors=log))
    assert [(r.id, r.origin) for r in got] == [("a", "human"), ("b", "llm")]
    assert got[1].meta["origin_raw"] == "GPT-4" and got[0].meta["source_line"] == 2
    assert [e.line for e in log] == [4, 5] and "robot" in log[0].message and log[0].fix


def test_instruction_reader_shapes(tmp_path: Path) -> None:
    seed = {"id": "seed_task_1", "name": "x", "instruction": "Add the numbers.",
            "instances": [{"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"}],
            "is_classification": False}
    alpaca = {"instruction": "Name a colour.", "input": "", "output": "Blue."}
    got = list(read(_jsonl(tmp_path / "s.jsonl", [seed])))
    got += list(read(_jsonl(tmp_path / "a.jsonl", [alpaca])))
    assert all(isinstance(r, Instruction) for r in got)
    assert [(r.id, r.origin, r.output) for r in got] == [
        ("seed_task_1#1", "human", "3"), ("seed_task_1#2", "human", "4"), ("a:1", "llm", "Blue.")]


def test_compare_text_pairs_is_paired(pairs_file: Path, tmp_path: Path) -> None:
    res = compare_kind("text", [pairs_file])
    assert res.summary["paired_by"] == "source_id" and res.summary["reference"] == "human"
    comp = res.comparison.set_index(["metric", "group"])
    assert comp.loc[("formality", "llm"), "estimate"] > comp.loc[("formality", "human"),
                                                                "estimate"]
    assert 0 < comp.loc[("first_singular_per_100w", "llm"), "p_value"] <= 1
    assert {"texts", "motif_divergence", "motif_comparison"} <= set(res.tables)
    assert res.tables["motif_divergence"].iloc[0]["js_divergence"] > 0
    paths = write_audit_dir(res, tmp_path / "out")
    assert json.loads(paths["summary"].read_text())["n_texts"] == 8
    assert pd.read_parquet(paths["texts"]).shape[0] == 8
    assert "<html" in paths["report"].read_text().lower()
    audit = audit_kind("text", [pairs_file])
    assert "p_holm" not in audit.comparison and "motif_divergence" not in audit.tables


def test_groups_from_names_and_unpaired(tmp_path: Path) -> None:
    a = _jsonl(tmp_path / "a.jsonl", [{"text": h, "origin": "human"} for _, h, _ in PAIRS])
    b = _jsonl(tmp_path / "b.jsonl", [{"text": m, "origin": "llm"} for _, _, m in PAIRS])
    res = compare_kind("text", [f"people={a}", Input(b, "bots")], reference="people")
    assert res.summary["paired_by"] is None
    assert set(res.comparison["group"]) == {"people", "bots"}


def test_labels_preferences_instructions(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text('text,human_annots,model_annots\n'
                      'a,"[1, 0, 1]","[1, 1, 1]"\nb,"[0, 0, 1]","[0, 0, 0]"\n'
                      'c,"[1, 1, 0]","[1, 1, 1]"\nd,"[0, 1]","[0, 0]"\nbad,"[1,",[1]\n',
                      encoding="utf-8")
    res = compare_kind("labels", [labels])
    comp = res.comparison.set_index(["metric", "group"])
    assert comp.loc[("identical", "model"), "estimate"] == 1.0
    assert comp.loc[("identical", "human"), "estimate"] == 0.0
    assert len(res.errors) == 1 and res.errors.iloc[0]["line"] == 6
    pref = tmp_path / "judge.csv"
    pref.write_text("output1,output2,target\nshort,a much longer answer,1\nx y z,q,0\n"
                    "same,same,2\n", encoding="utf-8")
    res = compare_kind("preferences", [f"human={pref}", f"gpt={pref}"])
    judges = res.tables["judges"].set_index("judge")
    assert judges.loc["gpt", "agreement"] == 1.0
    seeds = _jsonl(tmp_path / "seed.jsonl", [
        {"id": "s1", "instruction": "Write a poem about rivers.",
         "instances": [{"input": "", "output": "Rivers run softly to the sea."}]}])
    gen = _jsonl(tmp_path / "gen.jsonl", [
        {"instruction": "Write a poem about rivers today.", "output": "As an AI, I cannot."}])
    res = compare_kind("instructions", [seeds, gen])
    rates = res.comparison.set_index(["metric", "group"])
    assert rates.loc[("refusal", "llm"), "estimate"] == 1.0
    with pytest.raises(InputError):
        audit_kind("labels", [tmp_path / "missing.csv"])


def test_compare_config(tmp_path: Path, pairs_file: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kind: text\ndata_root: nowhere\ninputs:\n  - {path: pairs.jsonl}\n")
    with pytest.raises(ConfigError, match="--data"):
        load_compare_config(cfg)
    conf, inputs = load_compare_config(cfg, data=pairs_file.parent)
    assert conf.kind == "text" and inputs[0].path == pairs_file
    assert run_compare_config(cfg, data=pairs_file.parent).summary["n_texts"] == 8
    cfg.write_text("kind: text\ninputs: []\n")
    with pytest.raises(ConfigError):
        load_compare_config(cfg)


@pytest.mark.parametrize("name", ["compare_labels", "compare_preferences",
                                  "compare_instructions"])
def test_shipped_configs_validate(name: str, tmp_path: Path) -> None:
    conf, inputs = load_compare_config(ROOT / "configs" / f"{name}.yaml", data=tmp_path)
    assert inputs and all(isinstance(i.path, Path) for i in inputs)


def test_compare_labels_config_on_shared_data(shared_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", "--config", str(ROOT / "configs" /
                                                                 "compare_labels.yaml"),
                                      "--data", str(shared_data), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert round(100 * summary["model_identical_rate"], 1) == 95.7


def test_cli_audit_kind(pairs_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "--kind", "text", str(pairs_file), "--out",
                                      str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "texts.parquet").is_file() and (tmp_path / "report.html").is_file()
    bad = CliRunner().invoke(app, ["audit", "--kind", "poems", str(pairs_file), "--out",
                                   str(tmp_path), "-q"])
    assert bad.exit_code == 2 and "unknown kind" in bad.output
