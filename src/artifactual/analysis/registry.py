"""Detectors registered by name, so configs and the CLI can select them.

Shape contract (DESIGN.md, "Detector shape")::

    @detector("role_flip")
    def detect(turns: DataFrame, **params) -> DataFrame: ...

The result has one row per input turn with the same index as ``turns``, one
boolean or numeric column per finding, and an ``evidence`` column of str (empty
when nothing was found). Every parameter has a default. An empty ``turns`` frame
gives an empty result with the same columns. :func:`run_detector` checks this.

A detector that reads parsed text declares it: ``@detector("digression",
needs=("embeddings",))``. ``needs`` names what it takes from the shared
:class:`artifactual.analysis.text.TextContext` (``"docs"``: spaCy docs,
``"embeddings"``: MiniLM vectors). ``audit`` builds that context once and passes it
as ``context=``; called without one, such a detector builds its own.

``scope`` says what a detector's result for one conversation depends on:
``"conversation"`` (the default: that conversation's turns only, so the turns table may
be cut into shards of whole conversations and each shard audited apart, as
:func:`artifactual.scale.audit.audit_ray` does) or ``"corpus"`` (other conversations
too, e.g. ``digression``'s null thresholds; such a detector runs over the whole table,
and may need only ``"embeddings"``, which a sharded audit ships back from its shards).

``requires`` says what a corpus or conversation must have for the detector to apply
(any of :data:`REQUIREMENTS`): ``"role_markers"`` (a role-marker convention inferred
from the corpus, or given: :mod:`.detectors.markers`), ``"task"`` (a task or goal
statement, per conversation), ``"declared_roles"`` (a declared user and a declared
assistant, per conversation). The audit checks them (:mod:`.applicability`) and runs
the detector only on the conversations it applies to; where it applies to none, its
rates are ``None`` in the summary with the reason in ``not_applicable``. Every
detector also skips conversations that failed their format (``format_failure`` with
``audited`` False). ``default=False`` keeps a detector out of the audit's default set
(it runs only when named), e.g. a deprecated one kept for compatibility, or one whose
measured precision is below the project's bar (0.8 on every labelled source, issue 20);
``off_reason`` says which, with the figures. The name ``"all"`` in a selection stands for
every registered detector except the legacy ones (:data:`LEGACY`).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import pandas as pd

from artifactual.errors import AnalysisError

__all__ = ["Detector", "detector", "get_detector", "available_detectors", "run_detector",
           "detector_needs", "detector_scope", "detector_requires", "default_detectors", "off_by_default",
           "resolve_detectors", "TEXT_NEEDS", "SCOPES", "REQUIREMENTS", "LEGACY"]


class Detector(Protocol):
    def __call__(self, turns: pd.DataFrame, **params: Any) -> pd.DataFrame: ...


_DETECTORS: dict[str, Detector] = {}
TEXT_NEEDS = ("docs", "embeddings")
SCOPES = ("conversation", "corpus")
REQUIREMENTS = ("role_markers", "task", "declared_roles")
#: Detectors kept for compatibility only, left out of ``"all"``: ``repetition_loop`` mixes
#: what ``courtesy_loop`` and ``content_repetition`` report apart.
LEGACY = ("repetition_loop",)


def detector(name: str, needs: tuple[str, ...] = (), scope: str = "conversation",
             requires: tuple[str, ...] = (),
             default: bool = True, off_reason: str = "") -> Callable[[Detector], Detector]:
    """Decorator: register ``detect(turns, **params) -> DataFrame`` under ``name``.

    ``needs`` lists what the detector reads from the shared text context
    (any of :data:`TEXT_NEEDS`); such a detector accepts a ``context=`` keyword.
    ``scope`` is ``"conversation"`` or ``"corpus"``; ``requires`` lists any of
    :data:`REQUIREMENTS`; ``default`` puts it in :func:`default_detectors` (module
    docstring); ``off_reason`` says why a detector is kept out of that set (shown in the
    summary's ``not_run`` map when an audit leaves it out).
    """
    unknown = sorted(set(needs) - set(TEXT_NEEDS))
    if unknown:
        raise AnalysisError(f"detector {name!r} needs unknown text resource(s) {unknown}",
                            fix=f"use any of {list(TEXT_NEEDS)}")
    if scope not in SCOPES:
        raise AnalysisError(f"detector {name!r} has unknown scope {scope!r}",
                            fix=f"use one of {list(SCOPES)}")
    bad = sorted(set(requires) - set(REQUIREMENTS))
    if bad:
        raise AnalysisError(f"detector {name!r} requires unknown condition(s) {bad}",
                            fix=f"use any of {list(REQUIREMENTS)}")

    def register(fn: Detector) -> Detector:
        _DETECTORS[name] = fn
        fn.detector_name = name  # type: ignore[attr-defined]
        fn.needs = tuple(needs)  # type: ignore[attr-defined]
        fn.scope = scope  # type: ignore[attr-defined]
        fn.requires = tuple(requires)  # type: ignore[attr-defined]
        fn.default = bool(default)  # type: ignore[attr-defined]
        fn.off_reason = off_reason  # type: ignore[attr-defined]
        return fn
    return register


def detector_needs(name: str) -> tuple[str, ...]:
    """What the detector ``name`` reads from the shared text context (may be empty)."""
    return tuple(getattr(get_detector(name), "needs", ()))


def detector_scope(name: str) -> str:
    """``"conversation"`` or ``"corpus"``: what the detector ``name`` reads beyond one
    conversation (module docstring)."""
    return str(getattr(get_detector(name), "scope", "conversation"))


def detector_requires(name: str) -> tuple[str, ...]:
    """What a corpus or conversation must have for the detector ``name`` to apply."""
    return tuple(getattr(get_detector(name), "requires", ()))


def off_by_default() -> dict[str, str]:
    """Registered detectors outside the default set that give a reason: name -> reason."""
    return {n: fn.off_reason for n, fn in sorted(_DETECTORS.items())
            if not getattr(fn, "default", True) and getattr(fn, "off_reason", "")}


def default_detectors() -> list[str]:
    """Registered detector names an audit runs by default (``default=True``), sorted."""
    return [n for n in available_detectors() if getattr(_DETECTORS[n], "default", True)]


def resolve_detectors(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """The detector names an audit runs: the default set for ``None``; otherwise ``names``
    in order, with ``"all"`` standing for every registered detector but :data:`LEGACY`,
    duplicates dropped. Unknown names fail (AnalysisError listing the known ones)."""
    if names is None:
        return default_detectors()
    out: list[str] = []
    for name in names:
        expanded = ([n for n in available_detectors() if n not in LEGACY] if name == "all"
                    else [name])
        for n in expanded:
            get_detector(n)
            if n not in out:
                out.append(n)
    return out


def available_detectors() -> list[str]:
    """Registered detector names, sorted."""
    return sorted(_DETECTORS)


def get_detector(name: str) -> Detector:
    """The detector registered as ``name``; AnalysisError listing the known names if none
    (``"all"`` is a selection, :func:`resolve_detectors`, not a detector)."""
    try:
        return _DETECTORS[name]
    except KeyError:
        known = ", ".join(available_detectors()) or "(none registered)"
        raise AnalysisError(f"unknown detector {name!r}",
                            fix=f"use one of: {known} (or all)") from None


def run_detector(name: str, turns: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """Run a registered detector and check the shape contract."""
    out = get_detector(name)(turns, **params)
    if not isinstance(out, pd.DataFrame):
        raise AnalysisError(f"detector {name!r} returned {type(out).__name__}, not a DataFrame",
                            fix="return one row per turn with an 'evidence' column")
    if not out.index.equals(turns.index):
        raise AnalysisError(f"detector {name!r} returned {len(out)} rows with another index "
                            f"than its {len(turns)} input turns",
                            fix="build the result with index=turns.index")
    if "evidence" not in out.columns:
        raise AnalysisError(f"detector {name!r} returned no 'evidence' column",
                            fix="add an 'evidence' str column ('' when nothing was found)")
    return out
