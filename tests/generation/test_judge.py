"""The judge's plumbing against a real vLLM OpenAI server on the embedded model.

The 135M model is a poor judge, so these tests check structure (records, provenance,
evidence or error rows, the sample design, summary keys), never its verdicts. Few
requests: three conversations, two per artifact.
"""

from __future__ import annotations

import json

import pandas as pd
import yaml
from typer.testing import CliRunner

import artifactual
from artifactual.agents.templates import PROMPTS_DIR
from artifactual.analysis.stats.calibration import offline_strata, stratified_sample
from artifactual.cli import app
from artifactual.config import JudgeConfig
from artifactual.generation.backends import make_backend
from artifactual.judging import judge_audit
from artifactual.records import Judgment, record_from_json, sha256_text

CORPUS = "tests/fixtures/camel/good"  # three CAMEL role-play transcripts
ESTIMATE_KEYS = {"estimate", "ci_low", "ci_high"}


def judge_yaml(server, tmp_path, **over) -> str:
    data = {"backend": "openai", "model": server.model,
            "openai": {"base_url": server.base_url, "api_key_env": server.key_env},
            "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 120, "seed": 3},
            "seed": 11, "artifacts": ["digression", "role_adherence"]}
    data.update(over)
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_audit_judge_sample_writes_records_and_calibrated_summary(vllm_server, api_key_env, tmp_path):
    out = tmp_path / "audit"
    cfg = judge_yaml(vllm_server, tmp_path)
    run = CliRunner().invoke(app, ["audit", CORPUS, "--out", str(out), "--judge", cfg,
                                   "--judge-sample", "2", "--quiet"])
    assert run.exit_code == 0, run.output
    assert "LLM judge" in run.output and "judge prevalence" in run.output and "offline recall" in run.output

    records = [record_from_json(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(isinstance(j, Judgment) for j in records)
    template = (PROMPTS_DIR / "judge.j2").read_text(encoding="utf-8")
    for j in records:
        p = j.provenance
        assert (p.generator, p.strategy, p.strategy_sha256) == ("judge", "judge", sha256_text(template))
        assert (p.model, p.backend, p.sampling.seed, p.sampling.max_tokens) == (vllm_server.model, "openai", 3, 120)
        assert p.engine_version.startswith("openai==") and p.usage.prompt_tokens > 0
        assert j.id == f"{j.conversation_id}::{j.artifact}" and j.raw
        # constrained to the schema, every answer parses: a verdict, and evidence in its fields
        assert j.error is None and isinstance(j.verdict, bool), j.raw
        assert json.loads(j.raw)["occurs"] is j.verdict
        assert j.evidence_turn is None or isinstance(j.evidence_turn, int)
        assert j.quote_found in (None, True, False)
        assert j.meta["stratum"] in ("flagged", "unflagged", "not_applicable")

    summary = json.loads((out / "summary.json").read_text())
    assert "digression_rate" in summary and "role_adherence_violation_rate" in summary  # offline kept
    # the detectors the judge is asked about run, though both are off by default
    assert summary["digression_rate"] is not None and summary["role_adherence_violation_rate"] is not None
    assert not set(summary.get("not_run") or {}) & {"digression", "role_adherence"}
    section = summary["judge"]
    assert section["template_sha256"] == sha256_text(template) and section["sample"] == 2
    assert (section["n_requests"], section["n_errors"], section["judgments"]) == (4, 0, "judgments.jsonl")
    conversations = pd.read_parquet(out / "conversations.parquet")
    for artifact in ("digression", "role_adherence"):
        a = section["artifacts"][artifact]
        assert a["n_conversations"] == 3 and a["n_sampled"] == 2 and a["n_judged"] == 2
        assert sum(s["size"] for s in a["strata"].values()) == 3
        assert set(a["confusion"]) == {"tp", "fp", "fn", "tn"}
        for key in ("prevalence", "precision", "recall"):
            assert a[key] is None or ESTIMATE_KEYS <= set(a[key])
        # the sample is the seeded stratified design, recomputed from the written flags
        strata, _ = offline_strata(conversations, artifact, summary.get("not_applicable"))
        assert sorted(j.conversation_id for j in records if j.artifact == artifact) == \
            sorted(stratified_sample(strata, 2, seed=11, key=artifact))
    for path in out.iterdir():
        assert vllm_server.key.encode() not in path.read_bytes(), f"API key leaked into {path.name}"


def test_judge_taxonomy_asks_every_failure_mode_and_scores_the_detectors_behind_it(
        vllm_server, api_key_env, tmp_path):
    from artifactual.taxonomy import MODES

    out = tmp_path / "audit"
    cfg = judge_yaml(vllm_server, tmp_path, artifacts=["digression"])
    run = CliRunner().invoke(app, ["audit", CORPUS, "--out", str(out), "--judge", cfg,
                                   "--judge-sample", "1", "--judge-taxonomy", "--quiet"])
    assert run.exit_code == 0, run.output
    records = [record_from_json(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert sorted(j.artifact for j in records) == sorted(["digression", *[m.id for m in MODES]])
    section = json.loads((out / "summary.json").read_text())["judge"]
    assert section["taxonomy"] is True
    offline = json.loads((out / "summary.json").read_text())["failure_modes"]["modes"]
    seen = {m["mode"]: m for m in offline}
    for mode in MODES:
        a = section["artifacts"][mode.id]
        assert a["mode_label"] == mode.label and a["n_sampled"] == 1
        assert a["n_judged"] + a["n_errors"] == 1
        assert a["prevalence"] is None or ESTIMATE_KEYS <= set(a["prevalence"])
        if seen[mode.id]["detectors"]:  # scored against the union of its detectors' flags
            assert a["offline_flag"] == mode.id and set(a["offline_detectors"]) >= set(
                seen[mode.id]["detectors"])
            assert sum(s["size"] for k, s in a["strata"].items() if k != "not_applicable") == 3
        else:  # nothing offline to score: the judge's prevalence alone
            assert a["precision"] is None and a["recall"] is None
    assert "FM-1.2 disobey role specification" in run.output


def test_cut_off_answers_become_error_rows(vllm_server, api_key_env, tmp_path):
    result = artifactual.audit([CORPUS], detectors=["role_flip"])
    cfg = JudgeConfig(backend="openai", model=vllm_server.model, artifacts=["role_flip"],
                      structured=False, sampling={"temperature": 0.0, "max_tokens": 3, "seed": 0})
    backend = make_backend("openai", vllm_server.model, base_url=vllm_server.base_url,
                           api_key_env=api_key_env)
    section = judge_audit(result, cfg, tmp_path, backend=backend)  # every conversation
    rows = [record_from_json(line) for line in (tmp_path / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and section["n_errors"] == 3
    assert all(j.verdict is None and j.error and j.raw and j.meta["finish_reason"] == "length"
               for j in rows)
    a = section["artifacts"]["role_flip"]
    assert (a["n_sampled"], a["n_judged"], a["n_errors"]) == (3, 0, 3)
    assert a["prevalence"] is None and a["precision"] is None and a["recall"] is None
    assert any("no verdict" in note for note in a["notes"])
    assert json.loads((tmp_path / "summary.json").read_text())["judge"]["n_errors"] == 3


def test_langchain_judge_is_constrained_too(vllm_server, api_key_env, tmp_path):
    result = artifactual.audit([CORPUS], detectors=["role_flip"])
    cfg = JudgeConfig(backend="langchain", model=vllm_server.model, artifacts=["role_flip"],
                      openai={"base_url": vllm_server.base_url, "api_key_env": api_key_env},
                      sampling={"temperature": 0.0, "max_tokens": 120, "seed": 0})
    section = judge_audit(result, cfg, tmp_path, sample=1)
    (row,) = [record_from_json(line) for line in (tmp_path / "judgments.jsonl").read_text().splitlines()]
    assert row.provenance.backend == "langchain" and section["backend"] == "langchain"
    assert row.error is None and isinstance(row.verdict, bool), row.raw
