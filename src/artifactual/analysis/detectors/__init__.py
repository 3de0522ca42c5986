"""Per-turn conversation detectors (role flips, impersonation, adherence, digression, loops).

Each module registers its detectors with :func:`artifactual.analysis.registry.detector`.
"""
