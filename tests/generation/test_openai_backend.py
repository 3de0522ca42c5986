"""The openai backend against a real vLLM OpenAI server; a strategy x seed sweep end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

import artifactual
from artifactual.cli import app
from artifactual.config import load_config, parse_config
from artifactual.errors import BackendError, ConfigError
from artifactual.generation.backends import make_backend
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.run import generate
from artifactual.records import Sampling, record_from_json

TASKS = [{"assistant_role": "Carpenter", "user_role": "Homeowner", "task": "Build a small bookshelf."}]


def sweep_config(server, **over) -> dict:
    data = {
        "name": "sweep", "model": "default", "backend": "openai",
        "openai": {"base_url": server.base_url, "api_key_env": server.key_env, "concurrency": 4},
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 32},
        "strategies": ["camel", "camel-terse"], "seeds": [0, 1],
        "cost_per_1k": {"prompt": 0.5, "completion": 1.5},
        "roleplay": {"tasks": TASKS, "max_messages": 4, "word_limit": 20},
    }
    data.update(over)
    return data


def test_chat_seeds_guided_choice_and_context_errors(vllm_server, api_key_env):
    backend = make_backend("openai", vllm_server.model, base_url=vllm_server.base_url, api_key_env=api_key_env)
    reqs = [ChatRequest(messages=[{"role": "user", "content": f"Name a fruit, number {i}."}],
                        sampling=Sampling(temperature=0.9, max_tokens=12, seed=i)) for i in range(3)]
    choice = ChatRequest(messages=[{"role": "user", "content": "Is ice cold? Answer yes or no."}],
                         sampling=Sampling(max_tokens=8, seed=5), guided_choice=["maybe", "never"])
    too_long = ChatRequest(messages=[{"role": "user", "content": "word " * 3000}], sampling=Sampling(max_tokens=8))
    out = asyncio.run(backend.chat(reqs + [choice, too_long]))
    assert len(out) == 5
    assert all(r.ok and r.text and r.prompt_tokens > 0 and r.completion_tokens > 0 for r in out[:3])
    assert all(r.finish_reason in ("stop", "length") for r in out[:3])
    assert out[3].ok and out[3].text in ("maybe", "never")  # constrained: neither is a natural answer
    assert out[4].error and out[4].finish_reason == "context_full" and "HTTP 400" in out[4].error
    again = asyncio.run(backend.chat(reqs[:2]))  # per-request seeds reproduce
    assert [r.text for r in again] == [r.text for r in out[:2]]
    assert backend.stats == {"requests": 7, "retries": 0, "errors": 1}
    info = json.dumps(backend.info())
    assert vllm_server.key not in info and api_key_env in info


def test_sweep_strategies_x_seeds_into_one_run(vllm_server, api_key_env, tmp_path, assert_key_absent):
    cfg = parse_config(sweep_config(vllm_server))
    run = tmp_path / "run"
    result = generate(cfg, run)  # backend built from the config
    assert result.n_total == 4 and result.n_new == 4
    recs = [record_from_json(x) for x in (run / "records.jsonl").read_text().splitlines()]
    expected_ids = {"camel-s0-0000": ("camel", 0), "camel-s1-0000": ("camel", 1),
                    "camel-terse-s0-0000": ("camel-terse", 0), "camel-terse-s1-0000": ("camel-terse", 1)}
    assert sorted(r.id for r in recs) == sorted(expected_ids)
    for r in recs:
        p = r.provenance
        assert (p.strategy, p.seed) == expected_ids[r.id]
        assert p.backend == "openai" and p.model == "smollm2-135m-instruct"
        assert p.engine_version.startswith("openai==") and len(p.strategy_sha256) == 64
        assert p.usage.prompt_tokens > 0 and p.usage.completion_tokens > 0
        assert r.termination_reason != "backend_error" and 1 <= len(r.turns) <= 4
    manifest = json.loads((run / "manifest.json").read_text())
    usage = manifest["usage"]["smollm2-135m-instruct"]
    assert usage["prompt_tokens"] == sum(r.provenance.usage.prompt_tokens for r in recs)
    assert usage["completion_tokens"] == sum(r.provenance.usage.completion_tokens for r in recs)
    cost = manifest["cost"]
    expected = usage["prompt_tokens"] / 1000 * 0.5 + usage["completion_tokens"] / 1000 * 1.5
    assert cost["currency"] == "USD" and cost["total"] == pytest.approx(expected, abs=1e-5)
    assert manifest["sessions"][-1]["backend"] == "openai"
    assert manifest["sessions"][-1]["backend_stats"]["requests"] == result.requests_sent
    assert_key_absent(run)

    # accounting on the command line
    shown = CliRunner().invoke(app, ["runs", "show", str(run)])
    assert shown.exit_code == 0, shown.output
    assert "smollm2-135m-instruct" in shown.output and "complete" in shown.output
    assert str(usage["completion_tokens"]) in shown.output and f"{cost['total']:.6f}" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["runs", "show", str(run), "--json"]).output)
    assert as_json["n_records"] == 4 and as_json["usage"] == manifest["usage"]

    # the audit summary groups by strategy (and by seed on request)
    by_strategy = artifactual.audit([run], group_by="strategy").summary
    assert {k: v["n_conversations"] for k, v in by_strategy["groups"].items()} == {"camel": 2, "camel-terse": 2}
    by_seed = artifactual.audit([run], group_by="seed").summary
    assert sorted(by_seed["groups"]) == ["0", "1"]


def test_openai_run_never_imports_vllm(vllm_server, api_key_env, tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    data = sweep_config(vllm_server, strategies=["camel-minimal"], seeds=[3])
    data["roleplay"].update(max_messages=2, specify_task=False)
    cfg_path.write_text(yaml.safe_dump(data))
    script = ("import sys, json, artifactual; r = artifactual.generate(sys.argv[1], sys.argv[2]); "
              "print(json.dumps({'vllm': 'vllm' in sys.modules, 'n': r.n_new}))")
    proc = subprocess.run([sys.executable, "-c", script, str(cfg_path), str(tmp_path / "run")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"vllm": False, "n": 1}


def test_config_errors_name_the_fix(vllm_server, tmp_path, monkeypatch):
    data = sweep_config(vllm_server, backend="tgi")
    with pytest.raises(ConfigError, match="'vllm', 'openai' or 'langchain'"):
        parse_config(data)
    bad_url = sweep_config(vllm_server)
    bad_url["openai"]["base_url"] = "http://user:secret@127.0.0.1:1/v1"
    with pytest.raises(ConfigError, match="must not hold credentials"):
        parse_config(bad_url)
    monkeypatch.delenv(vllm_server.key_env, raising=False)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(sweep_config(vllm_server)))
    with pytest.raises(BackendError, match=f"{vllm_server.key_env} is not set"):
        generate(load_config(path), tmp_path / "run")
    # the wrong key is refused by the server: error rows, and the key stays out of every file
    monkeypatch.setenv(vllm_server.key_env, "sk-wrong-key-0000")
    data = sweep_config(vllm_server, strategies=["camel"], seeds=[0])
    generate(parse_config(data), tmp_path / "wrong")
    rec = record_from_json((tmp_path / "wrong" / "records.jsonl").read_text().splitlines()[0])
    assert rec.termination_reason == "backend_error" and "HTTP 401" in rec.meta["error"]
    errors = (tmp_path / "wrong" / "errors.jsonl").read_text()
    assert "HTTP 401" in errors and "sk-wrong-key-0000" not in errors


def test_shipped_sweep_and_openai_configs_validate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    compare = load_config(root / "compare_prompting.yaml")
    assert compare.strategies == ["camel", "camel-minimal", "camel-terse"] and len(compare.seeds) >= 2
    assert compare.backend == "vllm" and compare.audit.group_by == "strategy"
    quick = load_config(root / "quickstart_openai.yaml")
    assert quick.backend == "openai" and quick.openai.api_key_env == "ARTIFACTUAL_API_KEY"
    assert quick.roleplay == load_config(root / "quickstart.yaml").roleplay  # same tasks as quickstart


def test_runs_show_names_a_missing_run_and_the_fix(tmp_path):
    shown = CliRunner().invoke(app, ["runs", "show", str(tmp_path / "nowhere")])
    assert shown.exit_code == 2 and "not a run directory" in shown.output
