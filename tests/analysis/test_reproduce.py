"""`reproduce` against the paper's released files (skipped when ../shared/data is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.analysis.reproduce import (REPRODUCE_COLUMNS, _row, format_table, mismatches,
                                            reproduce, resolve_data_dir)
from artifactual.errors import InputError


def _data_dir() -> Path:
    env = os.environ.get("ARTIFACTUAL_SHARED_DATA")
    return Path(env) if env else Path(__file__).parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    root = _data_dir()
    if not (root / "llm-artifacts").is_dir() and not (root / "preference").is_dir():
        pytest.skip(f"../shared/data is absent: no paper release at {root} "
                    "(set ARTIFACTUAL_SHARED_DATA to its folder to run this test)")
    return reproduce(root)


def test_every_checked_row_matches(table: pd.DataFrame) -> None:
    assert list(table.columns) == REPRODUCE_COLUMNS
    bad = mismatches(table)
    assert bad.empty, format_table(bad)
    checked = table[table["ok"].map(lambda v: v is True)]
    assert len(checked) == 12


@pytest.mark.parametrize("name, paper", [
    ("CoBBLEr entailment-vs-gpt4 Pearson r", 0.0655),
    ("CoBBLEr entailment-vs-chatgpt Pearson r", 0.0551),
    ("CoBBLEr entailment-vs-human Pearson r", 0.0334),
    ("CoBBLEr human-gpt4 agreement (%)", 66.9),
    ("CoBBLEr human-gpt4 Cohen's kappa", 0.354),
    ("CoBBLEr human-chatgpt agreement (%)", 77.9),
    ("CoBBLEr human-chatgpt Cohen's kappa", 0.572),
    ("Labels: ChatGPT all-identical (%)", 95.7),
    ("Labels: human all-identical (%)", 52.2),
    ("Labels: ChatGPT mean per-item std", 0.023),
    ("Labels: human mean per-item std", 0.357),
    ("SPP logic grid GPT-4 accuracy (%)", 66.0),
])
def test_paper_value(table: pd.DataFrame, name: str, paper: float) -> None:
    row = table.set_index("name").loc[name]
    assert row["paper_value"] == paper
    assert abs(row["recomputed"] - paper) <= row["tolerance"] + 1e-12


def test_info_rows_are_explained(table: pd.DataFrame) -> None:
    info = table[table["ok"].isna()]
    assert {"P2C lexicon-vs-human Pearson r", "P2C lexicon-vs-GPT-3 Pearson r",
            "Labels: majority match (%)", "Labels: minority match (%)"} <= set(info["name"])
    assert info["note"].str.len().gt(0).all()
    text = format_table(table)
    assert "SPP logic grid GPT-4 accuracy (%)" in text and "info" in text


def test_row_tolerance_is_rounding() -> None:
    assert _row("x", 0.0655, 0.065454, 4)["ok"] is True
    assert _row("x", 0.0655, 0.06556, 4)["ok"] is False
    assert _row("x", 66.9, 66.857, 1)["ok"] is True
    assert _row("x", 66.9, float("nan"), 1)["ok"] is False
    assert _row("x", None, 1.0, None)["ok"] is None


def test_missing_files_give_failed_rows(tmp_path: Path) -> None:
    (tmp_path / "llm-artifacts").mkdir()
    out = reproduce(tmp_path)
    assert len(out) == 4 and (out["ok"] == False).all()  # noqa: E712 (object column)
    assert out["note"].str.contains("missing").all()
    assert not mismatches(out).empty
    with pytest.raises(InputError):
        resolve_data_dir(tmp_path / "nowhere")
    assert np.isnan(out["recomputed"]).all()
