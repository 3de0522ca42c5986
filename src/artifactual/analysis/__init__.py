"""Analysis: detectors over flat tables, aggregation and the ``audit`` entry point.

Data flows one way: this package reads records (via :mod:`artifactual.readers`)
and never imports :mod:`artifactual.generation`.
"""

from artifactual.analysis.detectors import roles  # noqa: F401  (registers the "role_flip" detector)
from artifactual.analysis.detectors import impersonation, repetition  # noqa: F401  (register detectors)
from artifactual.analysis.detectors import adherence, digression  # noqa: F401  (register detectors)
from artifactual.analysis.detectors import courtesy  # noqa: F401  (registers "courtesy_loop")
from artifactual.analysis.detectors import role_acts  # noqa: F401  (registers "role_flip_unmarked")
from artifactual.analysis.audit import AuditResult, audit
from artifactual.analysis.kinds import KindResult, audit_kind, compare_kind
from artifactual.analysis.registry import (available_detectors, detector, get_detector,
                                           run_detector)
from artifactual.analysis.detectors.roles import Markers, classify_message, detect_role_flips
from artifactual.analysis.stats.summary import conversation_flags, summarize
from artifactual.analysis.tables import CONVERSATION_COLUMNS, TURN_COLUMNS, to_frames
from artifactual.analysis.text import TextContext, build_context

__all__ = ["audit", "AuditResult", "detector", "get_detector", "available_detectors",
           "run_detector", "Markers", "classify_message", "detect_role_flips",
           "conversation_flags", "summarize", "to_frames", "TURN_COLUMNS",
           "CONVERSATION_COLUMNS", "TextContext", "build_context", "audit_kind", "compare_kind",
           "KindResult"]
