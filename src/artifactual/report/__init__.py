"""The self-contained HTML report of an audit: Jinja2 template + matplotlib figures.

``render_report(result)`` returns the page, ``write_report(result, path)`` saves it and
``report_from_dir(audit_dir)`` rebuilds it from the files ``AuditResult.write`` left.
"""

from artifactual.report.html import load_audit_dir, render_report, report_from_dir, write_report

__all__ = ["render_report", "write_report", "report_from_dir", "load_audit_dir"]
