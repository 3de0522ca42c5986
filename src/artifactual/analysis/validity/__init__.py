"""Detector validity: gold labels, seeded injections and precision/recall with bootstrap CIs.

- :mod:`.inject`: one known artifact injected into a copy of a clean conversation;
- :mod:`.gold`: labelled sets in one shape (:class:`~.gold.GoldSet`);
- :mod:`.metrics`: precision / recall / F1 with cluster-bootstrap CIs, rates with Wilson CIs;
- :mod:`.score`: an audit's flags (read from its tables) against a gold set;
- :mod:`.harness`: the steps of ``benchmarks/validity.py``.
"""

from artifactual.analysis.validity.gold import GoldSet
from artifactual.analysis.validity.inject import ARTIFACTS, Injection, inject, inject_corpus
from artifactual.analysis.validity.metrics import PRF, Estimate, prf_with_ci, rate_with_ci
from artifactual.analysis.validity.score import GOLD_TO_FLAGS

__all__ = ["GoldSet", "ARTIFACTS", "Injection", "inject", "inject_corpus", "PRF", "Estimate",
           "prf_with_ci", "rate_with_ci", "GOLD_TO_FLAGS"]
