"""Filter rules: what ``artifactual filter`` removes, trims or keeps, checked against an audit.

A rule set is given on the command line or in a YAML file with the same keys::

    drop: [role_flip, impersonation]   # drop a conversation carrying any of these flags
    trim: [courtesy_loop]              # cut a conversation before its first flagged turn
    drop_format_failures: true         # drop what the audit could not parse into its format
    max: {drift_mean: 0.8}             # drop a conversation whose score is above the bound
    min: {task_similarity_mean: 0.2}   # ... or below it
    keep: false                        # true: keep only what the rules match, unchanged
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from artifactual.errors import ConfigError

__all__ = ["FilterRules", "load_rules", "parse_bounds", "check_rules"]


class FilterRules(BaseModel):
    """One rule set (module docstring). Rules apply in this order and a conversation is
    counted under the first that matches: format failures, drops, bounds, trims."""

    model_config = ConfigDict(extra="forbid")

    drop: list[str] = []
    trim: list[str] = []
    drop_format_failures: bool = False
    max: dict[str, float] = {}
    min: dict[str, float] = {}
    keep: bool = False

    def merged(self, other: "FilterRules") -> "FilterRules":
        """These rules plus ``other``'s (lists joined, bounds of ``other`` win, flags or-ed)."""
        return FilterRules(
            drop=list(dict.fromkeys([*self.drop, *other.drop])),
            trim=list(dict.fromkeys([*self.trim, *other.trim])),
            drop_format_failures=self.drop_format_failures or other.drop_format_failures,
            max={**self.max, **other.max}, min={**self.min, **other.min},
            keep=self.keep or other.keep)

    @property
    def empty(self) -> bool:
        return not (self.drop or self.trim or self.drop_format_failures or self.max or self.min)


def load_rules(path: str | Path) -> FilterRules:
    """Rules from a YAML file (module docstring); ConfigError naming the file and key."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read filter rules {p}: {exc}",
                          fix="pass a readable YAML file with keys drop, trim, "
                              "drop_format_failures, max, min, keep") from None
    if not isinstance(data, dict):
        raise ConfigError(f"filter rules {p} must be a mapping, not {type(data).__name__}",
                          fix="write keys such as `drop: [role_flip]` at the top level")
    try:
        return FilterRules.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid filter rules in {p}: {where}",
                          fix="keys: drop, trim (lists of flags), drop_format_failures, keep "
                              "(true/false), max, min ({score column: number})") from None


def parse_bounds(items: list[str] | None, option: str) -> dict[str, float]:
    """``["drift_mean=0.8", ...]`` -> ``{"drift_mean": 0.8}``; ConfigError on a bad item."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"{option} {item!r} is not COLUMN=NUMBER",
                              fix=f"write e.g. {option} drift_mean=0.8") from None
    return out


def _flags(conversations: pd.DataFrame) -> list[str]:
    return [c for c in conversations.columns if pd.api.types.is_bool_dtype(conversations[c])
            and c not in {"audited", "format_failure", "parsed", "format_collapsed", "correct"}]


def _scores(conversations: pd.DataFrame) -> list[str]:
    return [c for c in conversations.columns if pd.api.types.is_float_dtype(conversations[c])]


def check_rules(rules: FilterRules, conversations: pd.DataFrame, turns: pd.DataFrame) -> None:
    """ConfigError when a rule names a flag or score the audit does not have."""
    flags, scores = _flags(conversations), _scores(conversations)
    for name in rules.drop:
        if name not in flags:
            raise ConfigError(f"--drop {name!r}: the audit has no such conversation flag",
                              fix=f"use one of: {', '.join(flags) or '(none)'}; or re-audit "
                                  "with that detector")
    for name in rules.trim:
        if name not in turns.columns or not pd.api.types.is_bool_dtype(turns[name]):
            turn_flags = [c for c in _flags(turns)]
            raise ConfigError(f"--trim {name!r}: the audit has no such per-turn flag",
                              fix=f"use one of: {', '.join(turn_flags) or '(none)'}")
    for option, bounds in (("--max", rules.max), ("--min", rules.min)):
        for name in bounds:
            if name not in scores:
                raise ConfigError(f"{option} {name!r}: the audit has no such score column",
                                  fix=f"use one of: {', '.join(scores) or '(none)'}")


def describe(rules: FilterRules) -> dict[str, Any]:
    """The rules as plain data (for filter.json and the card)."""
    return rules.model_dump()
