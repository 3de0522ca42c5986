"""artifactual filter on real audits: kept lines byte for byte, rules, trims, refusal of an
audit made of other inputs, and the prevalence figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from artifactual.cli import app
from artifactual.curate import FilterRules, filter_records, load_rules
from artifactual.errors import ConfigError, InputError


def _lines(path: Path) -> list[bytes]:
    return [ln for ln in path.read_bytes().splitlines(keepends=True) if ln.strip()]


def _removed(out: Path) -> list[dict]:
    return [json.loads(ln) for ln in (out / "removed.jsonl").read_text().splitlines()]


def _flags(audit_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(audit_dir / "conversations.parquet")


def _a_present_flag(audit_dir: Path) -> str:
    conv = _flags(audit_dir)
    for flag in ("role_flip_unmarked", "content_repetition", "digression", "courtesy_only",
                 "interruption", "impersonation"):
        if flag in conv and conv[flag].fillna(False).astype(bool).any():
            return flag
    pytest.fail("the fixture audit flags nothing; pick a fixture with artifacts")


def test_kept_lines_are_byte_identical_and_in_order(audited_run, tmp_path):
    run, audit_dir = audited_run
    flag = _a_present_flag(audit_dir)
    res = filter_records(run, audit_dir, tmp_path / "out", FilterRules(drop=[flag]))
    src, kept = _lines(run / "records.jsonl"), _lines(tmp_path / "out" / "records.jsonl")
    removed = _removed(tmp_path / "out")
    removed_lines = {r["source"]["line"] for r in removed}
    assert kept == [ln for n, ln in enumerate(src, 1) if n not in removed_lines]
    conv = _flags(audit_dir)
    flagged = set(conv.loc[conv[flag].fillna(False).astype(bool), "conversation_id"])
    assert {r["id"] for r in removed} == flagged
    assert all(r["rule"] == f"drop:{flag}" and r["evidence"]["evidence"] for r in removed)
    assert res.summary["n_kept"] + res.summary["n_removed"] == len(src)
    assert res.summary["removed_by_rule"] == {f"drop:{flag}": len(flagged)}
    assert (tmp_path / "out" / "manifest.json").read_bytes() == (run / "manifest.json").read_bytes()


def test_keep_is_the_inverse(audited_run, tmp_path):
    run, audit_dir = audited_run
    flag = _a_present_flag(audit_dir)
    filter_records(run, audit_dir, tmp_path / "drop", FilterRules(drop=[flag]))
    filter_records(run, audit_dir, tmp_path / "keep", FilterRules(drop=[flag], keep=True))
    dropped = set(_lines(tmp_path / "drop" / "records.jsonl"))
    kept = set(_lines(tmp_path / "keep" / "records.jsonl"))
    assert not dropped & kept
    assert dropped | kept == set(_lines(run / "records.jsonl"))
    assert {r["rule"] for r in _removed(tmp_path / "keep")} == {"keep:unmatched"}


def test_trim_cuts_before_the_first_flagged_turn(audited_run, tmp_path):
    run, audit_dir = audited_run
    turns = pd.read_parquet(audit_dir / "turns.parquet")
    # a turn flag whose first hit in some conversation is past its first turn
    flag, cid, cut = None, None, None
    for f in ("content_repetition", "role_flip_unmarked", "digression", "courtesy_only"):
        hits = turns[turns[f].fillna(False).astype(bool)].groupby("conversation_id")["turn_index"].min()
        later = hits[hits > 0]
        if len(later):
            flag, cid, cut = f, later.index[0], int(later.iloc[0])
            break
    assert flag is not None, "the fixture has no flag after a first turn"
    res = filter_records(run, audit_dir, tmp_path / "out", FilterRules(trim=[flag]))
    out = [json.loads(ln) for ln in _lines(tmp_path / "out" / "records.jsonl")]
    rec = next(r for r in out if r["id"] == cid)
    assert [t["index"] for t in rec["turns"]] == list(range(cut))
    assert rec["termination_reason"] == f"trim:{flag}"
    entry = next(r for r in _removed(tmp_path / "out") if r["id"] == cid)
    assert entry["action"] == "trimmed" and entry["cut"] == cut
    assert res.summary["n_trimmed"] >= 1
    # the prevalence after the trim counts no conversation still carrying the flag
    assert res.summary["prevalence_after"][flag]["k"] == 0


def test_prevalence_before_equals_the_audit_summary(audited_run, tmp_path):
    run, audit_dir = audited_run
    summary = json.loads((audit_dir / "summary.json").read_text())
    res = filter_records(run, audit_dir, tmp_path / "out", FilterRules(drop_format_failures=True))
    before = res.summary["prevalence_before"]
    for flag in ("role_flip", "role_flip_unmarked", "digression", "content_repetition"):
        if summary.get(f"{flag}_rate") is not None:
            assert before[flag]["rate"] == pytest.approx(summary[f"{flag}_rate"])
    # dropping format failures leaves none in the kept set
    if "format_failure" in res.summary["prevalence_after"]:
        assert res.summary["prevalence_after"]["format_failure"]["k"] == 0


def test_refuses_an_audit_of_other_inputs(audited_run, tmp_path):
    run, audit_dir = audited_run
    other = tmp_path / "run"
    shutil.copytree(run, other)
    lines = _lines(other / "records.jsonl")
    (other / "records.jsonl").write_bytes(b"".join(lines[1:]))  # one record fewer
    with pytest.raises(InputError, match="audit was made of other inputs") as exc:
        filter_records(other, audit_dir, tmp_path / "out", FilterRules(drop=["role_flip"]))
    assert "records.jsonl" in str(exc.value) and exc.value.fix
    assert not (tmp_path / "out" / "records.jsonl").exists()


def test_refuses_an_audit_without_fingerprints(audited_run, tmp_path):
    run, audit_dir = audited_run
    old = tmp_path / "old_audit"
    shutil.copytree(audit_dir, old)
    summary = json.loads((old / "summary.json").read_text())
    summary.pop("inputs")
    (old / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match="no input fingerprints"):
        filter_records(run, old, tmp_path / "out", FilterRules(drop=["role_flip"]))


def test_unknown_flag_and_bad_yaml_are_clear_errors(audited_run, tmp_path):
    run, audit_dir = audited_run
    with pytest.raises(ConfigError, match="no such conversation flag"):
        filter_records(run, audit_dir, tmp_path / "o", FilterRules(drop=["no_such_flag"]))
    bad = tmp_path / "rules.yaml"
    bad.write_text("drop: [role_flip]\nbogus: 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_rules(bad)


def test_rules_from_yaml_and_thresholds_match_the_cli(audited_run, tmp_path):
    run, audit_dir = audited_run
    conv = _flags(audit_dir)
    bound = float(conv["drift_mean"].dropna().median())
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"max: {{drift_mean: {bound}}}\n")
    runner = CliRunner()
    a = runner.invoke(app, ["filter", str(run), "--audit", str(audit_dir), "--out",
                            str(tmp_path / "a"), "--rules", str(rules)])
    b = runner.invoke(app, ["filter", str(run), "--audit", str(audit_dir), "--out",
                            str(tmp_path / "b"), "--max", f"drift_mean={bound}"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert (tmp_path / "a" / "records.jsonl").read_bytes() == \
        (tmp_path / "b" / "records.jsonl").read_bytes()
    above = int((conv["drift_mean"] > bound).sum())
    assert above and json.loads((tmp_path / "a" / "filter.json").read_text())[
        "removed_by_rule"] == {"max:drift_mean": above}
    none = runner.invoke(app, ["filter", str(run), "--audit", str(audit_dir), "--out",
                               str(tmp_path / "c")])
    assert none.exit_code == 2 and "no filter rule" in none.output


def test_a_foreign_log_keeps_its_own_lines(audited_log, tmp_path):
    log, audit_dir = audited_log
    conv = _flags(audit_dir)
    flag = next(f for f in ("content_repetition", "digression", "impersonation", "role_flip_unmarked",
                            "courtesy_only", "courtesy_loop")
                if f in conv and conv[f].fillna(False).astype(bool).any())
    res = filter_records(log, audit_dir, tmp_path / "out", FilterRules(drop=[flag]))
    kept = _lines(tmp_path / "out" / "chats.jsonl")
    assert kept and set(kept) <= set(_lines(log))
    assert res.summary["n_removed"] == int(conv[flag].fillna(False).astype(bool).sum())
    assert len(kept) == res.summary["n_kept"]
