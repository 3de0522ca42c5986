"""Config loading: valid configs load; invalid ones name the file, field, line and fix."""

from pathlib import Path

import pytest

from artifactual.config import load_config
from artifactual.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_loads_with_its_strategies():
    cfg = load_config(ROOT / "configs" / "quickstart.yaml")
    assert cfg.generator == "roleplay" and cfg.strategies == ["camel-minimal", "camel", "camel-prefix",
                                                              "camel-constrained"]
    assert len(cfg.section.expand()) >= 8


def test_unknown_field_names_line_and_field(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nsampling:\n  temprature: 0.5\nroleplay:\n  tasks: []\n"
                 "  assistant_roles: [A]\n  user_roles: [B]\n  task_list: [t]\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg and "line 3" in msg and "sampling.temprature" in msg and "Fix:" in msg


def test_missing_task_field_is_reported_inside_the_section(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nroleplay:\n  tasks:\n    - {user_role: Cook, task: soup}\n")
    with pytest.raises(ConfigError, match=r"roleplay\.tasks\.0\.assistant_role"):
        load_config(p)


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nroleplay: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+.*YAML syntax"):
        load_config(p)


def test_unknown_strategy_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    from artifactual.agents.templates import load_strategy

    with pytest.raises(ConfigError, match="camel-minimal"):
        load_strategy("no-such-strategy")
