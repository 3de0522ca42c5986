"""An audit's output directory: its tables and summary (the result's own ``write``) and
``report.html`` beside them (:func:`write_audit_dir`).

The analysis returns tables and a summary and never imports the report; this is the one
place where the two meet, for the conversation audit (:class:`AuditResult`, plain or on
Ray) and for ``audit --kind`` / ``compare`` (:class:`KindResult`).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from artifactual.analysis.audit import AuditResult
from artifactual.analysis.kinds import KindResult
from artifactual.report.html import write_report

__all__ = ["write_audit_dir", "kind_report_input"]


def write_audit_dir(result: AuditResult | KindResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``result``'s tables and summary into ``out_dir`` and ``report.html`` beside
    them; return the paths (``report`` among them)."""
    paths = result.write(out_dir)
    report = Path(out_dir) / "report.html"
    if isinstance(result, KindResult):
        paths["report"] = write_report(kind_report_input(result), report,
                                       title=f"artifactual {result.kind} audit")
    else:
        paths["report"] = write_report(result, report)
    return paths


def kind_report_input(result: KindResult) -> Any:
    """What the shared HTML report reads, from a kind's result: its main table as the
    'turns' (one row per text, label item, pair or instruction)."""
    main = next(iter(result.tables.values()), pd.DataFrame())
    flags = [c for c in main.columns
             if pd.api.types.is_bool_dtype(main[c]) and c != "is_classification"]
    text_col = next((c for c in ("text", "output", "a") if c in main.columns), None)
    turns = pd.DataFrame({
        "conversation_id": main.get("id", main.get("item_id", pd.Series(main.index))).astype(str),
        "turn_index": 0, "speaker": main.get("group", "").astype(str) if "group" in main else "",
        "role": main.get("origin", ""), "content": main[text_col] if text_col else "",
        **{c: main[c] for c in flags},
        "evidence": main["evidence"] if "evidence" in main else ""})
    summary = {k: v for k, v in result.summary.items() if not isinstance(v, (dict, list))}
    summary.update({f"finding {i}": line for i, line in
                    enumerate(result.summary.get("spread_findings") or [], 1)})
    return SimpleNamespace(turns=turns, conversations=pd.DataFrame({"conversation_id": []}),
                           errors=result.errors, summary=summary, comparison=result.comparison)
