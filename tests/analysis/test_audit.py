"""audit(): tables, summary numbers worked out by hand, grouping, errors, writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis import audit, available_detectors, detector, get_detector, registry
from artifactual.analysis.tables import CONVERSATION_COLUMNS, TURN_COLUMNS
from artifactual.errors import AnalysisError
from artifactual.records import (Conversation, Provenance, Speaker, Turn, record_to_json)

CAMEL = Path(__file__).parents[1] / "fixtures" / "camel"
SUMMARY_KEYS = {"n_conversations", "n_turns", "mean_turns", "role_flip_rate",
                "role_flip_message_rate", "interruption_rate", "interruption_message_rate",
                "termination_reasons", "group_by", "groups", "n_errors", "n_skipped_records",
                "detectors", "markers", "compare_by", "impersonation_rate",
                "role_adherence_violation_rate", "digression_rate", "mean_drift",
                "courtesy_loop_rate", "content_repetition_rate", "n_audited",
                "format_failure_rate", "not_applicable", "n_applicable", "not_run",
                "text_models", "inputs", "failure_modes"}
PER_GROUP = {"group_by", "groups", "n_errors", "compare_by", "n_skipped_records", "detectors",
             "markers", "not_applicable", "n_applicable", "not_run", "text_models", "inputs",
             "failure_modes"}


def test_summary_on_fixture_with_known_answers() -> None:
    # garden_clean: 6 messages, nothing flagged
    # garden_flips: 6 messages, 2 flipped (3 user, 4 assistant), 2 interruptions (5, 6)
    # beekeeper_numeric: 11 messages, 1 interruption (7, user)
    s = audit(CAMEL / "good", detectors=("role_flip",)).summary
    assert set(s) == SUMMARY_KEYS
    files = sorted((CAMEL / "good").iterdir())
    assert [i["path"] for i in s["inputs"]] == [str(f) for f in files if f.suffix in (".json", ".jsonl")]
    assert all(i["size"] == Path(i["path"]).stat().st_size and len(i["sha256"]) == 64
               for i in s["inputs"])
    assert s["n_conversations"] == 3 and s["n_turns"] == 23
    assert s["mean_turns"] == pytest.approx(23 / 3)
    assert s["role_flip_rate"] == pytest.approx(1 / 3)
    assert s["role_flip_message_rate"] == pytest.approx(2 / 23)
    assert s["interruption_rate"] == pytest.approx(2 / 3)
    assert s["interruption_message_rate"] == pytest.approx(3 / 23)
    assert s["termination_reasons"] == {"<CAMEL_TASK_DONE>": 1, "max_turns_reached": 1,
                                        "(none)": 1}
    assert s["groups"] == {} and s["n_errors"] == 0
    json.dumps(s)  # plain JSON values only


def test_conversation_and_turn_tables() -> None:
    result = audit(CAMEL / "good")
    assert list(result.turns.columns[:len(TURN_COLUMNS)]) == list(TURN_COLUMNS)
    assert {"role_flip", "interruption", "evidence"} <= set(result.turns.columns)
    assert list(result.conversations.columns[:len(CONVERSATION_COLUMNS)]) == list(
        CONVERSATION_COLUMNS)
    conv = result.conversations.set_index("conversation_id")
    assert conv.loc["garden_flips", "role_flip"]
    assert conv.loc["garden_flips", "n_flipped_messages"] == 2
    assert conv.loc["garden_flips", "n_interrupted_messages"] == 2
    assert not conv.loc["beekeeper_numeric", "role_flip"]
    assert conv.loc["beekeeper_numeric", "interruption"]
    assert conv.loc["garden_clean", "n_checked_messages"] == 6
    flags = [c for c in result.turns.columns if c not in TURN_COLUMNS
             and pd.api.types.is_bool_dtype(result.turns[c])]
    flagged = result.turns[flags].fillna(False).astype(bool).any(axis=1)
    assert (result.turns.loc[flagged, "evidence"] != "").all()
    assert (result.turns.loc[~flagged, "evidence"] == "").all()


def test_bad_input_is_listed_and_good_files_still_audited() -> None:
    result = audit([CAMEL / "bad", CAMEL / "jsonl"])
    assert result.conversations["conversation_id"].tolist() == ["good_orchard", "mulch-1",
                                                                "allotment:4"]
    assert list(result.errors.columns) == ["path", "line", "record_id", "message", "fix"]
    assert len(result.errors) == 7 and result.summary["n_errors"] == 7
    assert result.errors["line"].dropna().tolist()[-3:] == [2, 3, 5]


def test_markers_reach_the_detector() -> None:
    # one short transcript (2 assistant turns): too few turns to infer a convention
    default = audit(CAMEL / "variants").summary
    custom = audit(CAMEL / "variants",
                   markers={"assistant_markers": ["Solution:", "Solution&Action:"]}).summary
    assert default["role_flip_rate"] is None and default["interruption_rate"] is None
    assert default["not_applicable"]["role_flip"] == "no role markers in this corpus"
    assert default["markers"]["source"] == "inferred" and default["markers"]["used"] is None
    assert custom["role_flip_message_rate"] == pytest.approx(1 / 5)
    assert custom["interruption_rate"] == 0.0
    assert custom["markers"]["source"] == "given"
    assert custom["markers"]["used"]["assistant_markers"] == ["Solution:", "Solution&Action:"]
    assert "role_flip" not in custom["not_applicable"]


def _conversation(i: int, strategy: str | None, flip: bool) -> Conversation:
    user = "Solution: I will do it." if flip else "Instruction: sow the beans.\nInput: None"
    return Conversation(
        id=f"c{i}", task="Sow beans", termination_reason="<CAMEL_TASK_DONE>",
        speakers=[Speaker(name="Grower", role="user"), Speaker(name="Agronomist",
                                                                role="assistant")],
        turns=[Turn(index=0, speaker="Grower", content=user),
               Turn(index=1, speaker="Agronomist", content="Solution: two rows. Next request."),
               Turn(index=2, speaker="Grower", content="<CAMEL_TASK_DONE>")],
        provenance=None if strategy is None else Provenance(
            generator="roleplay", strategy=strategy, model="tiny", backend="vllm", seed=i))


def test_grouping_by_strategy_from_project_records(tmp_path: Path) -> None:
    convs = [_conversation(0, "camel", False), _conversation(1, "camel", True),
             _conversation(2, "camel-minimal", True), _conversation(3, "camel-minimal", True),
             _conversation(4, "camel-minimal", False)]
    (tmp_path / "records.jsonl").write_text("".join(record_to_json(c) + "\n" for c in convs))
    s = audit(tmp_path, detectors=("role_flip",)).summary
    assert s["group_by"] == "strategy" and sorted(s["groups"]) == ["camel", "camel-minimal"]
    camel, minimal = s["groups"]["camel"], s["groups"]["camel-minimal"]
    assert camel["n_conversations"] == 2 and camel["role_flip_rate"] == 0.5
    assert camel["role_flip_message_rate"] == pytest.approx(1 / 6)
    assert minimal["n_conversations"] == 3
    assert minimal["role_flip_rate"] == pytest.approx(2 / 3)
    assert minimal["role_flip_message_rate"] == pytest.approx(2 / 9)
    assert s["role_flip_rate"] == pytest.approx(3 / 5)
    assert set(camel) == SUMMARY_KEYS - PER_GROUP
    no_groups = audit(tmp_path, group_by=None).summary
    assert no_groups["groups"] == {} and no_groups["group_by"] is None


def test_missing_group_values_are_listed_as_none(tmp_path: Path) -> None:
    convs = [_conversation(0, "camel", True), _conversation(1, None, False)]
    (tmp_path / "records.jsonl").write_text("".join(record_to_json(c) + "\n" for c in convs))
    given = {"user_markers": ["Instruction:"], "assistant_markers": ["Solution:"]}
    groups = audit(tmp_path, markers=given).summary["groups"]  # too few turns to infer
    assert sorted(groups) == ["(none)", "camel"]
    assert groups["(none)"]["role_flip_rate"] == 0.0


def test_write_produces_the_output_files(tmp_path: Path) -> None:
    result = audit([CAMEL / "good", CAMEL / "bad"])
    paths = result.write(tmp_path / "out")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {"conversations.parquet", "errors.parquet", "summary.json", "turns.parquet"}
    assert set(paths) == {"turns", "conversations", "errors", "summary"}  # no report: the caller's
    assert json.loads(paths["summary"].read_text()) == result.summary
    assert "\n  " in paths["summary"].read_text()  # indent 2
    turns = pd.read_parquet(paths["turns"])
    assert len(turns) == len(result.turns) and "evidence" in turns.columns
    assert len(pd.read_parquet(paths["errors"])) == 4
    assert len(pd.read_parquet(paths["conversations"])) == 4


def test_zero_conversations(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = audit(tmp_path / "empty")
    s = result.summary
    assert s["n_conversations"] == 0 and s["n_turns"] == 0
    for key in ("mean_turns", "role_flip_rate", "role_flip_message_rate", "interruption_rate"):
        assert s[key] is None
    assert s["termination_reasons"] == {} and s["groups"] == {}
    assert list(result.turns.columns[:len(TURN_COLUMNS)]) == list(TURN_COLUMNS)
    assert {"role_flip", "evidence"} <= set(result.turns.columns)
    assert "role_flip" in result.conversations.columns and result.errors.empty
    result.write(tmp_path / "out")
    assert pd.read_parquet(tmp_path / "out" / "turns.parquet").empty


def test_duplicate_ids_are_kept_renamed_and_reported() -> None:
    path = CAMEL / "good" / "garden_clean.json"
    result = audit([path, path])
    assert result.conversations["conversation_id"].tolist() == ["garden_clean",
                                                                "garden_clean~2"]
    assert len(result.errors) == 1 and "duplicate" in result.errors["message"].iloc[0]


def test_unknown_detector_lists_known_names() -> None:
    with pytest.raises(AnalysisError) as info:
        audit(CAMEL / "good", detectors=("nonesuch",))
    assert "nonesuch" in str(info.value) and "role_flip" in str(info.value)
    with pytest.raises(AnalysisError):
        get_detector("nonesuch")


def test_several_detectors_each_keep_their_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_DETECTORS", dict(registry._DETECTORS))

    @detector("test_long_turn")
    def long_turn(turns: pd.DataFrame, *, limit: int = 60) -> pd.DataFrame:
        long = turns["n_chars"] > limit if len(turns) else pd.Series([], dtype=bool)
        ev = [f"{n} chars > {limit}" if flag else "" for n, flag in zip(turns["n_chars"], long)]
        return pd.DataFrame({"long_turn": list(long), "evidence": ev},
                            index=turns.index).astype({"long_turn": bool})

    assert "test_long_turn" in available_detectors()
    result = audit(CAMEL / "good", detectors=("role_flip", "test_long_turn"),
                   detector_params={"test_long_turn": {"limit": 70}})
    t = result.turns
    assert {"role_flip_evidence", "test_long_turn_evidence", "evidence"} <= set(t.columns)
    both = t[(t["role_flip_evidence"] != "") & (t["test_long_turn_evidence"] != "")]
    assert len(both) > 0
    row = both.iloc[0]
    assert row["evidence"] == f"{row['role_flip_evidence']} | {row['test_long_turn_evidence']}"
    assert "long_turn_rate" in result.summary and "n_long_turn" in result.conversations


def test_analysis_does_not_import_generation() -> None:
    code = ("import sys, artifactual.analysis, artifactual.readers; "
            "bad = [m for m in sys.modules if m.startswith('artifactual.generation')]; "
            "assert not bad, bad")
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_progress_is_reported() -> None:
    calls: list[tuple[str, int, int | None]] = []
    audit(CAMEL / "good", detectors=("role_flip",), progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert [c for c in calls if c[0] == "read"][-1] == ("read", 3, None)
    assert calls[-1] == ("detect", 1, 1)
