"""Label classifier: real tiny fine-tuning jobs of the embedded MiniLM on a separable set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from artifactual.errors import InputError
from artifactual.records import Label, record_to_json
from artifactual.training import train
from artifactual.training.classifier import load_task
from artifactual.training.common import load_train_config

CALM = ["sunny picnic in the park", "warm cocoa by the fire", "a gentle walk on the beach",
        "laughing with old friends", "a quiet garden full of roses", "fresh bread this morning"]
GRIM = ["a car crash on the highway", "the flood ruined every house", "a funeral in the rain",
        "the factory fire killed workers", "a violent robbery downtown", "war destroyed the city"]


def separable_csv(path: Path, n: int = 48, llm_majority: bool = True) -> Path:
    """Items whose human label is 1 for grim and 0 for calm texts; the LLM says 0 to almost all."""
    rows = []
    for i in range(n):
        grim = i % 2 == 1
        text = f"{(GRIM if grim else CALM)[i // 2 % 6]}, story number {i}"
        human = [1, 1, 1] if grim else [0, 0, 0]
        llm = [0, 0, 0] if llm_majority and i % 12 != 1 else human
        rows.append({"text": text, "human_annots": json.dumps(human),
                     "model_annots": json.dumps(llm)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def tiny_config(data: Path, **over: object) -> dict:
    section = {"data": {"path": str(data)}, "n_train": 24, "n_test": 16, "max_length": 24,
               "train": {"epochs": 4, "batch_size": 8, "lr": 2e-4, "warmup": 0.0}}
    section.update(over)
    return {"name": "tiny-classifier", "experiment": "classifier", "seeds": [0], "threads": 1,
            "classifier": section}


def test_separable_set_learns_and_llm_labels_amplify_the_majority(tmp_path: Path) -> None:
    data = separable_csv(tmp_path / "labels.csv")
    seen: list[str] = []
    result = train(tiny_config(data), tmp_path / "out",
                   progress=lambda desc, done, total: seen.append(desc.split(":")[0]))
    runs = result.runs.set_index("condition")
    human, llm = runs.loc["human"], runs.loc["llm"]
    assert human["accuracy"] > 0.75  # chance is 0.5 on the balanced test split
    losses = pd.read_parquet(tmp_path / "out" / "losses.parquet")
    h = losses[losses["condition"] == "human"]["loss"].to_numpy()
    assert h[-3:].mean() < h[:3].mean()  # the loss goes down
    # LLM labels are ~92 % class 0: its model predicts class 0 more often than humans say
    assert llm["majority_share_delta_vs_test"] > human["majority_share_delta_vs_test"]
    assert llm["minority_recall"] < human["minority_recall"]
    for name in ("metrics.json", "runs.parquet", "losses.parquet", "predictions.parquet",
                 "label_distribution.parquet", "metrics.png", "loss.png",
                 "label_distribution.png"):
        assert (tmp_path / "out" / name).is_file(), name
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["summary"]["groups"]["human"]["accuracy"]["mean"] == human["accuracy"]
    assert metrics["data"]["n_test"] == 16
    assert {"runs", "epochs", "steps"} <= set(seen)
    assert not (tmp_path / "out" / "models").exists()


def test_same_config_and_seed_give_the_same_metrics(tmp_path: Path) -> None:
    data = separable_csv(tmp_path / "labels.csv")
    cfg = tiny_config(data, n_train=8, n_test=8, train={"epochs": 1, "batch_size": 4})
    first = train(cfg, tmp_path / "a", save_model=True).runs
    second = train(cfg, tmp_path / "b").runs
    cols = ["accuracy", "macro_f1", "js_vs_test", "loss_first", "loss_last"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    saved = tmp_path / "a" / "models" / "human-seed0"
    assert (saved / "config.json").is_file() and (saved / "head.pt").is_file()


def test_label_records_are_read_and_split(tmp_path: Path) -> None:
    lines = []
    for i in range(12):
        for k in range(3):
            lines.append(Label(item_id=f"it{i}", text=f"text {i}", annotator=f"human_{k}",
                               label="yes" if i % 2 else "no"))
            lines.append(Label(item_id=f"it{i}", text=f"text {i}", annotator=f"chatgpt#{k}",
                               label="no"))
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(record_to_json(r) for r in lines) + "\n")
    cfg = load_train_config(tiny_config(path, n_train=6, n_test=4))
    task = load_task(cfg)
    assert task.classes == ["no", "yes"]
    assert len(task.test_ids) == 4 and not set(task.test_ids) & set(task.pool_ids)
    assert set(task.llm.tolist()) == {0}


def test_clear_errors_for_small_data_and_missing_labels(tmp_path: Path) -> None:
    data = separable_csv(tmp_path / "labels.csv", n=10)
    with pytest.raises(InputError, match="dataset too small"):
        load_task(load_train_config(tiny_config(data)))
    only_human = tmp_path / "human.jsonl"
    only_human.write_text("\n".join(record_to_json(Label(item_id=str(i), text="t", label=1,
                                                         annotator="human_0"))
                                    for i in range(5)) + "\n")
    with pytest.raises(InputError, match="missing labels: no item has LLM labels"):
        load_task(load_train_config(tiny_config(only_human, n_train=2, n_test=2)))
    with pytest.raises(InputError, match="does not exist"):
        load_task(load_train_config(tiny_config(tmp_path / "nope.csv")))


def test_cli_train_writes_outputs_and_prints_the_table(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from artifactual.cli import app

    separable_csv(tmp_path / "labels.csv", n=12)
    cfg = tiny_config(Path("labels.csv"), n_train=4, n_test=4, train={"epochs": 1})
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(cfg))  # data path relative to it
    res = CliRunner().invoke(app, ["train", str(tmp_path / "train.yaml"), "--out",
                                   str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "accuracy" in res.output and "human" in res.output
    assert "Loading weights" not in res.output  # --quiet: nothing but the table
    assert (tmp_path / "out" / "metrics.json").is_file()
    bad = CliRunner().invoke(app, ["train", str(tmp_path / "absent.yaml"), "--out",
                                   str(tmp_path / "x")])
    assert bad.exit_code == 2 and "config file not found" in bad.output
