"""`artifactual audit --ray` writes what the plain `audit` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from artifactual.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
INPUTS = [str(FIXTURES / p) for p in ("camel/good", "openai/chats.jsonl", "spp/logic_grid_small.jsonl")]


def _summary(out: Path) -> dict:
    data = json.loads((out / "summary.json").read_text())
    return json.loads(json.dumps(data), parse_float=lambda x: round(float(x), 6))


def test_audit_cli_with_ray_writes_the_plain_audit(ray_local, tmp_path):
    runner = CliRunner()
    args = ["audit", *INPUTS, "--detectors", "role_flip,impersonation,repetition_loop", "--quiet"]
    plain = runner.invoke(app, [*args, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    ray = runner.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--ray", "--actors", "1"])
    assert ray.exit_code == 0, ray.output
    assert _summary(tmp_path / "ray") == _summary(tmp_path / "plain")
    for table in ("turns", "conversations", "errors"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "plain" / f"{table}.parquet"))
    assert (tmp_path / "ray" / "report.html").stat().st_size > 0
