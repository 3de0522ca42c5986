"""Errors. Every error says what was wrong, where, and what to do.

    ArtifactualError
    ├── ConfigError          a config file is invalid (file, field, fix)
    ├── AssetError           an embedded model is missing or cannot be prepared
    ├── BackendError         an engine could not start or answer
    ├── RunStoreError        a run directory is inconsistent (e.g. another config)
    ├── InputError           a log file or record cannot be read (file:line, fix)
    └── AnalysisError        a detector or comparison got unusable data
"""

from __future__ import annotations

__all__ = ["ArtifactualError", "ConfigError", "AssetError", "BackendError",
           "RunStoreError", "InputError", "AnalysisError"]


class ArtifactualError(Exception):
    """Base class. ``where`` names the file:line or record id; ``fix`` says what to do."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        parts = [f"{where}: {message}" if where else message]
        if fix:
            parts.append(f"Fix: {fix}")
        super().__init__(" ".join(parts))


class ConfigError(ArtifactualError):
    """A config file is invalid."""


class AssetError(ArtifactualError):
    """An embedded model is missing or cannot be prepared."""


class BackendError(ArtifactualError):
    """An engine could not start or answer."""


class RunStoreError(ArtifactualError):
    """A run directory cannot be used as asked."""


class InputError(ArtifactualError):
    """An input file or record cannot be read."""


class AnalysisError(ArtifactualError):
    """A detector or comparison got unusable data."""
