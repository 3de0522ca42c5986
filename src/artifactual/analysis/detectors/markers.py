"""The corpus's role-marker convention, inferred from its turns (for ``role_flip``).

CAMEL-style role-play marks each message with its role: the user writes
``Instruction: ...`` / ``Input: ...``, the assistant ``Solution: ...`` ending in
``Next request.``, and the user ends the task with ``<CAMEL_TASK_DONE>``. Real logs use
variants (``Solution&Action:``, a bare ``CAMEL_TASK_DONE``), and most logs (OpenAI chat
logs, SPP, human dialogue) use no markers at all. :func:`infer_markers` reads the
convention off the data instead of assuming one.

**Candidates**, per user or assistant turn (roles as declared):

* a line-leading label: a line that opens (after whitespace, ``>``, list bullets and
  markdown emphasis) with 1-3 words, the first capitalised, then a colon
  (``Instruction:``, ``Solution&Action:``, ``Input:``);
* the turn's closing phrase: its last line or sentence when it has at most three words
  (``Next request.``);
* a done token: an upper-case word with an underscore, bare or in angle brackets
  (``CAMEL_TASK_DONE``, ``<CAMEL_TASK_DONE>``), anywhere in the turn.

**Markers of a role.** A label or closing phrase is a marker of a role when it occurs in
at least ``min_share`` (0.2) of that role's turns and at most ``max_other`` (0.5) times
as often in the other role's turns (so headings both roles write, ``Note:``, are not
markers). A done token is kept when it occurs in the user's or the assistant's turns of
at least two conversations and, where it occurs, in a conversation's last two turns.
A label or closing phrase that is a value (``None``, ``N/A``, a number, true/false:
:func:`is_value`) is never a candidate: ``Input: None`` does not make ``None`` a marker.
**Known conventions** are recognised whenever they occur: CAMEL's ``Instruction:`` (user),
``Solution:`` (assistant) and its done token with and without brackets
(``<CAMEL_TASK_DONE>``, ``CAMEL_TASK_DONE``); inference adds the variants, so a small
corpus in the paper's convention keeps its done token.

**A convention** is found when each role's markers (its done tokens included) cover at
least ``min_coverage`` (0.5: "most") of its turns, over at least ``min_turns`` (3) turns
per role. Otherwise the corpus has no role-marker convention and the role-flip rule does
not apply. The inferred markers are matched where labels stand (``anchored``): a label
ending in a colon at a line's start (after whitespace, ``>``, a bullet or markdown
emphasis), a closing phrase as a whole line or a line's last sentence; done tokens
anywhere. Given markers keep the paper's rule (plain substrings anywhere) unless they
say ``anchored``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from artifactual.analysis.detectors.common import DONE_WORD
from artifactual.analysis.detectors.roles import PAPER_MARKERS, Markers

__all__ = ["MarkerInference", "infer_markers", "turn_candidates"]

_LEAD = re.compile(r"^[ \t>]*(?:[-*\u2022][ \t]+)?[*_]{0,2}"
                   r"(?P<label>[A-Z][\w&/'.-]*(?:[ \t][\w&/'.-]+){0,2})[ \t]*[*_]{0,2}:(?!//)")
_DONE = re.compile(DONE_WORD)
_SENT = re.compile(r"[^.!?\n]+[.!?]*")
_CLOSE_WORDS = 3
#: Values, not labels: a line-leading "Input: None" or a last line "None" / "N/A" / "42"
#: is what a label holds, never a marker of a role.
_VALUES = frozenset({"none", "null", "n/a", "na", "nil", "true", "false", "yes", "no",
                     "empty", "nothing", "-", "tbd", "unknown"})
#: The known conventions, recognised whenever they occur (inference adds the variants):
#: CAMEL's markers and its done token with and without angle brackets.
KNOWN_USER = PAPER_MARKERS[:1]
KNOWN_ASSISTANT = PAPER_MARKERS[1:]
KNOWN_DONE = ("<CAMEL_TASK_DONE>", "CAMEL_TASK_DONE")


def is_value(text: str) -> bool:
    """True for a value a label holds (None, N/A, a number, true/false ...), not a label."""
    flat = text.strip().strip(".!*_`'\"").strip()
    if not flat or flat.lower() in _VALUES:
        return True
    return flat.replace(".", "", 1).replace(",", "").replace("-", "", 1).isdigit()


def turn_candidates(text: str) -> tuple[set[str], set[str]]:
    """``(labels and closing phrases, done tokens)`` found in one turn's text."""
    labels: set[str] = set()
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    for line in lines:
        m = _LEAD.match(line)
        if m and not is_value(m.group("label")):
            labels.add(" ".join(m.group("label").split()) + ":")
    done = {m.group(0) for m in _DONE.finditer(text or "")}
    if lines:
        sentences = [s.strip() for s in _SENT.findall(lines[-1]) if s.strip()]
        last = sentences[-1] if sentences else ""
        bare = _DONE.sub("", last).strip()
        n_words = len(bare.split())
        if (1 <= n_words <= _CLOSE_WORDS and bare[:1].isupper() and ":" not in bare
                and not is_value(bare)):
            labels.add(bare)
    return labels, done


@dataclass
class MarkerInference:
    """What :func:`infer_markers` found; ``markers`` is None when there is no convention."""

    markers: Markers | None
    coverage: dict[str, float | None] = field(default_factory=dict)
    n_turns: dict[str, int] = field(default_factory=dict)
    shares: dict[str, dict[str, float]] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: the markers found (or None), per-role coverage, turns and shares."""
        return {"user_markers": self.markers.user_markers if self.markers else [],
                "assistant_markers": self.markers.assistant_markers if self.markers else [],
                "done_tokens": self.markers.done_tokens if self.markers else [],
                "convention": self.markers is not None,
                "coverage": self.coverage, "n_turns": self.n_turns,
                "candidate_shares": self.shares, "reason": self.reason}


def _role_markers(own: Counter, other: Counter, n_own: int, n_other: int,
                  min_share: float, max_other: float) -> list[str]:
    out = []
    for cand, k in sorted(own.items(), key=lambda kv: (-kv[1], kv[0])):  # deterministic
        share = k / n_own
        other_share = other.get(cand, 0) / n_other if n_other else 0.0
        if share >= min_share and other_share <= max_other * share:
            out.append(cand)
    return out


def _done_tokens(rows: list[tuple[str, int, int, set[str]]]) -> list[str]:
    """Done tokens: in >= 2 conversations, and only ever in a conversation's last 2 turns.
    Forms with and without angle brackets pool their counts; every form found is kept."""
    convs: dict[str, set[str]] = {}
    late: dict[str, bool] = {}
    forms: dict[str, set[str]] = {}
    for cid, pos, n, done in rows:
        for tok in done:
            core = tok.strip("<>")
            forms.setdefault(core, set()).add(tok)
            convs.setdefault(core, set()).add(cid)
            late[core] = late.get(core, True) and pos >= n - 2
    return sorted(f for core, cs in convs.items() if len(cs) >= 2 and late[core]
                  for f in forms[core])


def infer_markers(turns: pd.DataFrame, *, min_share: float = 0.2, max_other: float = 0.5,
                  min_coverage: float = 0.5, min_turns: int = 3) -> MarkerInference:
    """The role-marker convention of ``turns`` (module docstring); needs the columns
    conversation_id, role and content (turn order within a conversation = row order)."""
    if not len(turns) or not {"conversation_id", "role", "content"} <= set(turns.columns):
        return MarkerInference(None, reason="no role markers in this corpus")
    roles = turns["role"].astype("string").str.lower().fillna("")
    cids = turns["conversation_id"].astype(str).tolist()
    sizes = Counter(cids)
    seen: Counter = Counter()
    per_role: dict[str, list[tuple[set[str], set[str]]]] = {"user": [], "assistant": []}
    done_rows: list[tuple[str, int, int, set[str]]] = []
    for cid, role, text in zip(cids, roles, turns["content"].tolist()):
        pos = seen[cid]
        seen[cid] += 1
        if role not in per_role:
            continue
        labels, done = turn_candidates("" if pd.isna(text) else str(text))
        per_role[role].append((labels, done))
        done_rows.append((cid, pos, sizes[cid], done))
    counts = {r: Counter(c for labels, _ in rows for c in labels) for r, rows in per_role.items()}
    n = {r: len(rows) for r, rows in per_role.items()}
    seen_done = {tok for *_, done in done_rows for tok in done}
    known_done = [t for t in KNOWN_DONE if any(t.strip("<>") == s.strip("<>") for s in seen_done)]
    done_tokens = sorted(set(_done_tokens(done_rows)) | set(known_done))
    found = {}
    for role, other in (("user", "assistant"), ("assistant", "user")):
        found[role] = _role_markers(counts[role], counts[other], n[role] or 1, n[other],
                                    min_share, max_other) if n[role] else []
    for role, known in (("user", KNOWN_USER), ("assistant", KNOWN_ASSISTANT)):
        found[role] += [m for m in known if counts[role].get(m) and m not in found[role]]
    coverage: dict[str, float | None] = {}
    for role, rows in per_role.items():
        mine = set(found[role]) | set(done_tokens)
        hit = sum(bool((labels | done) & mine) for labels, done in rows)
        coverage[role] = hit / len(rows) if rows else None
    shares = {r: {c: round(k / n[r], 3) for c, k in
                  sorted(counts[r].items(), key=lambda kv: (-kv[1], kv[0]))[:8]}
              for r in counts if n[r]}
    ok = all(n[r] >= min_turns and found[r] and (coverage[r] or 0.0) >= min_coverage
             for r in per_role)
    if not ok:
        return MarkerInference(None, coverage, n, shares, reason="no role markers in this corpus")
    markers = Markers(user_markers=found["user"], assistant_markers=found["assistant"],
                      done_tokens=done_tokens, anchored=True)
    return MarkerInference(markers, coverage, n, shares)

