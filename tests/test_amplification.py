"""The amplification experiment's plumbing (artifactual.amplification) at a size CI can afford: real LoRA tuning of the
embedded model on real generated role-play (benchmarks/data/smollm2), one LoRA-enabled vLLM
engine for the untuned model and both adapters, the real audit. Structure, not results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from artifactual.errors import ConfigError
from artifactual.amplification import run as train
from artifactual.training import load_train_config
from artifactual.training.amplify_data import human_examples, roleplay_examples

ROOT = Path(__file__).parents[1]
RECORDS = ROOT / "benchmarks" / "data" / "smollm2" / "dev_roleplay_records.jsonl"
HUMAN = ROOT / "benchmarks" / "data" / "human" / "task_oriented.jsonl"
TASKS = [{"assistant_role": "Mechanic", "user_role": "Cyclist",
          "task": "Write a monthly maintenance checklist for a road bike."}]


def _config(**over) -> dict:
    shipped = yaml.safe_load((ROOT / "configs" / "train_amplify.yaml").read_text())
    amp = shipped["amplify"]
    amp.update(train_data=str(RECORDS), human_data=str(HUMAN), n_train=6, n_human=4,
               max_length=256, markers=None, train={"epochs": 1, "batch_size": 3, "lr": 5e-4})
    amp["generate"].update(strategies=["camel-minimal"], sampling={"temperature": 0.7,
                           "top_p": 0.95, "max_tokens": 24})
    amp["generate"]["roleplay"].update(tasks=TASKS, max_messages=2, specify_task=False)
    amp["generate"]["engine"]["max_model_len"] = 1024
    amp.update(over)
    return {**shipped, "seeds": [0], "threads": 2, "amplify": amp}


def test_examples_replay_each_turns_prompt_and_the_filtered_pool_is_what_filter_keeps(tmp_path):
    from artifactual.analysis.audit import audit
    from artifactual.curate.filter import filter_records
    from artifactual.curate.rules import FilterRules
    from artifactual.training.amplify_data import load_conversations

    convs = load_conversations(RECORDS)
    res = audit(RECORDS, detectors=["role_flip_unmarked", "courtesy_loop"], group_by=None)
    res.write(tmp_path / "audit")
    done = filter_records(RECORDS, tmp_path / "audit", tmp_path / "kept",
                          FilterRules(drop=["role_flip_unmarked"], trim=["courtesy_loop"]))
    flagged = set(res.conversations.loc[res.conversations["role_flip_unmarked"]
                                        .astype("boolean").fillna(False).astype(bool),
                                        "conversation_id"])
    everything = roleplay_examples(convs, word_limit=40, history_window=6)
    kept = roleplay_examples(load_conversations(*[tmp_path / "kept" / f
                                                  for f in done.summary["outputs"]]),
                             word_limit=40, history_window=6)
    assert flagged and len(kept) < len(everything)
    assert len(everything) == sum(1 for c in convs for t in c.turns if t.content.strip())
    assert not {e.source.rsplit(":", 1)[0] for e in kept} & flagged
    ex = everything[1]  # the assistant's first reply: the prompt it was sent, then the turn
    conv = convs[0]
    assert ex.target == conv.turns[1].content and ex.messages[0]["role"] == "system"
    assert ex.messages[-1] == {"role": "user", "content": conv.turns[0].content}
    assert human_examples(HUMAN, 2, 0)[0].messages[0]["role"] == "user"


def test_evaluation_tasks_must_be_new():
    cfg = _config()
    cfg["amplify"]["generate"]["roleplay"]["tasks"] = [
        {"assistant_role": "Librarian", "user_role": "Graduate Student",
         "task": "Compile a reading list on the history of public libraries."}]
    with pytest.raises(ConfigError, match="evaluation task also in the training data"):
        train(load_train_config(cfg), "/nonexistent/never-written")


def test_amplify_runs_end_to_end_at_ci_size(tmp_path: Path):
    out = tmp_path / "amp"
    result = train(load_train_config(_config()), out)
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["condition"]) == ["base", "filtered", "unfiltered"]
    for col in ("role_flip_unmarked_rate", "courtesy_loop_turn_rate", "human_loss"):
        assert col in runs.columns
    assert runs["human_loss"].gt(0).all() and runs["human_loss"].nunique() == 3  # tuning moved it
    for arm in ("unfiltered", "filtered"):
        assert (out / "adapters" / f"{arm}-seed0" / "adapter_config.json").is_file()
        manifest = json.loads((out / "generations" / f"{arm}-seed0" / "manifest.json").read_text())
        assert manifest["engine"]["lora_adapter"]["name"] == f"{arm}-seed0"
        assert (out / "audits" / f"{arm}-seed0" / "summary.json").is_file()
    base = json.loads((out / "generations" / "base-seed0" / "manifest.json").read_text())
    assert "lora_adapter" not in base["engine"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 6 and metrics["experiment"] == "amplify"
    assert set(metrics["summary"]["groups"]) == {"base", "unfiltered", "filtered"}
    assert "unfiltered - base" in metrics["summary"]["contrasts"]
    info = result.metrics["data"]
    assert info["examples"]["filtered"] < info["examples"]["unfiltered"]
    assert (out / "filtered" / "filter.json").is_file()
    assert result.metrics["summary"]["groups"]["base"]["human_loss"]["n"] == 1


@pytest.mark.parametrize("name", ["train_amplify.yaml", "train_amplify_large.yaml"])
def test_the_shipped_configs_validate_with_eight_new_tasks(name):
    from artifactual.amplification import _eval_config
    from artifactual.config import load_config

    cfg = load_train_config(ROOT / "configs" / name)
    gen = _eval_config(cfg.amplify, "model", 0, "check", {"a task it was trained on"})
    assert len(gen.section.tasks) == 8 and gen.engine.extra["enable_lora"] is True
    assert gen.engine.extra["max_lora_rank"] == cfg.amplify.lora_r
    data = load_config(ROOT / "configs" / "amplify_data.yaml")  # the larger run's data
    trained = {t.task for t in data.section.tasks}
    assert not trained & {t.task for t in gen.section.tasks} and len(data.seeds) == 8
