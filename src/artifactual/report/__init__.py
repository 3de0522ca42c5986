"""The self-contained HTML report of an audit: Jinja2 template + matplotlib figures.

``render_report(result)`` returns the page, ``write_report(result, path)`` saves it,
``write_audit_dir(result, out)`` writes an audit's tables, summary and report together and
``report_from_dir(audit_dir)`` rebuilds the report from the files it left.
"""

from artifactual.report.html import render_report, write_report
from artifactual.report.load import load_audit_dir, report_from_dir
from artifactual.report.outputs import write_audit_dir

__all__ = ["render_report", "write_report", "write_audit_dir", "report_from_dir",
           "load_audit_dir"]
