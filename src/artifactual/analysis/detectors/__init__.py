"""Per-turn conversation detectors: role flips (``roles``, with the corpus's inferred
``markers``), impersonation, role adherence, digression, courtesy loops (``courtesy``),
content repetition (``repetition``), and the per-conversation format failures (``format``).

Each detector module registers its detectors with
:func:`artifactual.analysis.registry.detector` and states its applicability rule (what a
corpus or conversation must have for it to apply) in its docstring.
"""
