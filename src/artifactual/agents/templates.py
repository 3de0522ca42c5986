"""Prompting strategies: one Jinja2 template file per strategy, addressed by name.

A strategy file defines macros (e.g. ``assistant_system``, ``user_system``); optional
macros switch features on (role-play: ``user_prefix`` / ``assistant_prefix`` start each
reply with a marker the model continues, ``user_regex`` / ``assistant_regex`` constrain it).
Its name and the sha256 of its text go into every record's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.nodes

from artifactual.errors import ConfigError
from artifactual.records import sha256_text

__all__ = ["Strategy", "load_strategy", "available_strategies", "PROMPTS_DIR"]

PROMPTS_DIR = Path(__file__).parent / "prompts"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                          autoescape=False)


@dataclass(frozen=True)
class Strategy:
    """A named template file; ``render(macro, **vars)`` fills one of its macros."""

    name: str
    text: str
    path: str

    @property
    def sha256(self) -> str:
        return sha256_text(self.text)

    def has(self, macro: str) -> bool:
        """Whether the template defines ``macro`` (optional macros switch features on)."""
        return macro in _macros(self.text)

    def render_optional(self, macro: str, **variables: object) -> str | None:
        """``render(macro)`` when the template defines it, else None."""
        return self.render(macro, **variables) if self.has(macro) else None

    def render(self, macro: str, **variables: object) -> str:
        try:
            module = _ENV.from_string(self.text).make_module(dict(variables))
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template error: {exc}", where=self.path,
                              fix="check the variables the template uses") from exc
        fn = getattr(module, macro, None)
        if fn is None:
            raise ConfigError(f"strategy {self.name!r} has no macro {macro!r}", where=self.path,
                              fix=f"define {{% macro {macro}() %}} in the template")
        try:
            return str(fn()).strip()
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template error in macro {macro!r}: {exc}", where=self.path,
                              fix="check the variables the template uses") from exc


@lru_cache(maxsize=64)
def _macros(text: str) -> frozenset[str]:
    try:
        return frozenset(m.name for m in _ENV.parse(text).find_all(jinja2.nodes.Macro))
    except jinja2.TemplateSyntaxError:
        return frozenset()  # render() reports the syntax error with its fix


def _dirs(extra: str | Path | None) -> list[Path]:
    return ([Path(extra)] if extra else []) + [PROMPTS_DIR]


def available_strategies(extra_dir: str | Path | None = None) -> list[str]:
    """Names of every template file found (user directory first)."""
    names = {p.stem for d in _dirs(extra_dir) if d.is_dir() for p in d.glob("*.j2")}
    return sorted(names)


@lru_cache(maxsize=64)
def _load(name: str, extra_dir: str | None) -> Strategy:
    for d in _dirs(extra_dir):
        path = d / f"{name}.j2"
        if path.is_file():
            return Strategy(name=name, text=path.read_text(encoding="utf-8"), path=str(path))
    raise ConfigError(f"unknown prompting strategy {name!r}",
                      fix=f"use one of {available_strategies(extra_dir)} or add {name}.j2 "
                          f"to your prompts_dir")


def load_strategy(name: str, extra_dir: str | Path | None = None) -> Strategy:
    """Load a strategy by name from ``extra_dir`` (if given) or the built-in prompts."""
    return _load(name, str(extra_dir) if extra_dir else None)
