"""The self-contained HTML report of an audit: Jinja2 template + matplotlib figures.

``render_report(result)`` returns the page, ``write_report(result, path)`` saves it and
``report_from_dir(audit_dir)`` rebuilds it from the files ``AuditResult.write`` left.
"""

from artifactual.report.html import render_report, write_report
from artifactual.report.load import load_audit_dir, report_from_dir

__all__ = ["render_report", "write_report", "report_from_dir", "load_audit_dir"]
