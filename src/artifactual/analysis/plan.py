"""What one audit runs (:class:`AuditPlan`), resolved and checked from
:func:`artifactual.analysis.audit.audit`'s keywords before any reading (:func:`plan_audit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from artifactual.analysis.applicability import Applicability
from artifactual.analysis.detectors.roles import Markers, as_markers
from artifactual.analysis.encoder import resolve_precision
from artifactual.analysis.registry import detector_needs, resolve_detectors

__all__ = ["AuditPlan", "plan_audit"]


@dataclass
class AuditPlan:
    """What one audit runs, resolved from :func:`audit`'s keywords before any reading.

    Shared by :func:`audit` and :func:`artifactual.scale.audit.audit_ray`, so both read,
    detect and summarise with the same settings (see :func:`plan_audit`).
    """

    detectors: list[str]
    params: dict[str, dict[str, Any]]
    markers: Markers | None
    group_by: str | None
    compare_by: str | None
    reference: str | None = None
    seed: int = 0
    format: str | None = None
    options: dict[str, Any] | None = None
    applicability: Applicability | None = None  # set by :func:`prepare`
    precision: str | None = None  # the encoder's (:mod:`.encoder`); None: its default

    @property
    def needs(self) -> set[str]:
        """What the detectors read from the shared text context."""
        return {need for name in self.detectors for need in detector_needs(name)}


def plan_audit(*, detectors: Sequence[str] | None = None,
               markers: Markers | Mapping[str, Any] | None = None,
               format: str | None = None, group_by: str | None = "strategy",
               compare_by: str | None = None, reference: str | None = None, seed: int = 0,
               detector_params: Mapping[str, Mapping[str, Any]] | None = None,
               speaker_pattern: str | None = None, column: str | None = None,
               encoder_precision: str | None = None,
               task_field: str | None = None) -> AuditPlan:
    """Check and resolve :func:`audit`'s keywords (same meaning); unknown detector names
    and invalid markers fail here, before any reading."""
    names = resolve_detectors(detectors)  # unknown names fail before any reading
    if compare_by is not None:
        compare_by = "input_path" if compare_by == "path" else compare_by
        group_by = compare_by
    params = {k: dict(v) for k, v in (detector_params or {}).items()}
    mk: Markers | None = None
    if "role_flip" in names:
        given = markers if markers is not None else params.get("role_flip", {}).get("markers")
        mk = as_markers(given) if given is not None else None  # None: inferred per corpus
        if mk is not None:
            params.setdefault("role_flip", {})["markers"] = mk
    options = {k: v for k, v in (("speaker_pattern", speaker_pattern), ("column", column),
                                 ("task_field", task_field))
               if v is not None} or None
    return AuditPlan(detectors=names, params=params, markers=mk, group_by=group_by,
                     compare_by=compare_by, reference=reference, seed=seed, format=format,
                     options=options, precision=resolve_precision(encoder_precision))
