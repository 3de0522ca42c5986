"""``artifactual reproduce --data DIR`` as a user runs it: a subprocess, its exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("artifactual")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "artifactual.cli"]


def test_reproduce_matches_the_paper(shared_data: Path) -> None:
    proc = subprocess.run([*_cli(), "reproduce", "--data", str(shared_data)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "all 12 checked figures match" in out
    for name in ("CoBBLEr entailment-vs-gpt4 Pearson r", "Labels: ChatGPT all-identical (%)",
                 "SPP logic grid GPT-4 accuracy (%)", "P2C lexicon-vs-GPT-3 Pearson r"):
        assert name in out
    assert "MISMATCH" not in out


def test_reproduce_exits_nonzero_when_figures_cannot_be_checked(tmp_path: Path) -> None:
    (tmp_path / "llm-artifacts").mkdir()  # the folder exists but holds no released files
    proc = subprocess.run([*_cli(), "reproduce", "--data", str(tmp_path), "--no-notes"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "MISMATCH" in proc.stdout and "do not match" in proc.stderr
    missing = subprocess.run([*_cli(), "reproduce", "--data", str(tmp_path / "nowhere")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
