"""engine.enforce_eager: its default follows the device (eager on CPU, CUDA graphs on GPU)."""

from __future__ import annotations

import pytest

from pathlib import Path

import yaml

from artifactual.config import load_config, parse_config
from artifactual.generation.backends.vllm import EngineOptions, engine_device, resolve_enforce_eager


def test_default_is_unset_so_the_device_decides():
    assert EngineOptions().enforce_eager is None


@pytest.mark.parametrize("device, expected", [("cpu", True), ("cuda", False)])
def test_default_follows_the_device(device, expected):
    assert resolve_enforce_eager(None, device) is expected


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("choice", [True, False])
def test_an_explicit_choice_wins_on_every_device(device, choice):
    assert resolve_enforce_eager(choice, device) is choice


def test_this_machine_resolves_to_a_known_device():
    device = engine_device()
    assert device in {"cpu", "cuda"}
    # whatever this machine is, the unset option maps to eager exactly when it is a CPU
    assert resolve_enforce_eager(None, device) is (device == "cpu")


QUICKSTART = Path(__file__).parents[2] / "configs" / "quickstart.yaml"


def test_config_yaml_may_set_it_or_leave_it():
    assert load_config(QUICKSTART).engine.enforce_eager is None
    data = yaml.safe_load(QUICKSTART.read_text())
    data["engine"]["enforce_eager"] = False
    assert parse_config(data).engine.enforce_eager is False
