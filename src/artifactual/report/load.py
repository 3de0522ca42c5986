"""An audit rebuilt from its output directory (:func:`load_audit_dir`), and its report
re-rendered from there (:func:`report_from_dir`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from artifactual.analysis.audit import AuditResult
from artifactual.errors import InputError
from artifactual.report.html import DEFAULT_TITLE, write_report

__all__ = ["load_audit_dir", "report_from_dir"]


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):  # pandas "split"/"columns" layouts, or {"rows": [...]}
        data = data.get("rows", data.get("data", data))
    return pd.DataFrame(data)


def load_audit_dir(audit_dir: str | Path) -> AuditResult:
    """An AuditResult rebuilt from the files ``AuditResult.write`` left in ``audit_dir``."""
    root = Path(audit_dir)
    needed = [root / "turns.parquet", root / "conversations.parquet", root / "summary.json"]
    absent = [p.name for p in needed if not p.is_file()]
    if absent:
        raise InputError(f"not an audit output directory: {', '.join(absent)} missing",
                         where=str(root),
                         fix="point at a directory written by `artifactual audit --out DIR` "
                             "or write_audit_dir(result, DIR)")
    try:
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"summary.json is not valid JSON: {exc}", where=str(root),
                         fix="re-run the audit to rewrite it") from None
    errors_path = root / "errors.parquet"
    tables = {"turns": pd.read_parquet(needed[0]), "conversations": pd.read_parquet(needed[1]),
              "errors": pd.read_parquet(errors_path) if errors_path.is_file() else pd.DataFrame()}
    comparison = next((_read_table(p) for p in (root / "comparison.parquet",
                                                 root / "comparison.json") if p.is_file()), None)
    return AuditResult(summary=summary, comparison=comparison, **tables)


def report_from_dir(audit_dir: str | Path, path: str | Path | None = None,
                    title: str = DEFAULT_TITLE) -> Path:
    """Rebuild ``report.html`` from an audit directory's Parquet/JSON files; return its path.

    ``path`` defaults to ``audit_dir/report.html``.
    """
    result = load_audit_dir(audit_dir)
    return write_report(result, Path(audit_dir) / "report.html" if path is None else path,
                        title=title)
