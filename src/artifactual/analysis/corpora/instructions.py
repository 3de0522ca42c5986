"""Instruction-data audit: per-record error flags with evidence, diversity, similarity.

Per record (:func:`flag_instructions`), each flag with its reason in ``evidence``:

==================== =====================================================================
empty_output         the output is blank
short_output         fewer than ``min_output_words`` words and 15 characters
                     (classification tasks exempt)
missing_input        the instruction points at an input ("the following", "this text",
                     "given a sentence" ...) but the input is empty and the instruction
                     carries no material itself (no colon, quote or new line after it)
restates_instruction the output repeats the instruction: ROUGE-L precision and recall
                     against it both >= ``restate_threshold``
refusal              a refusal or "as an AI" disclaimer in the output
truncated_output     finish_reason "length", an unclosed code fence or bracket, or an
                     output ending on a comma, colon or function word
non_english          instruction or output: mostly letters outside a-z, or more function
                     words of another European language than of English (outputs of
                     translation tasks exempt; short or code-like text is not judged)
near_duplicate       ROUGE-L (rouge-score, no stemming) >= ``dup_threshold`` with another
                     instruction of the same group (instances of one task are not compared)
==================== =====================================================================

``max_rouge_l`` / ``most_similar`` give each record's nearest other instruction
(:mod:`.rouge`: rouge-score's tokens and F1, an exact pruned search).

Diversity (:func:`verb_noun_pairs`, as in Self-Instruct): the verb closest to the root of
the instruction's first sentence and its first direct-object noun, both lemmatised.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analysis.stats.compare import compare
from artifactual.analysis.corpora.bounds import Guard, tick
from artifactual.analysis.corpora.discourse import parse_texts
from artifactual.analysis.corpora.rouge import (lcs_length, nearest_instructions, rouge_l,
                                                rouge_tokens)
from artifactual.errors import AnalysisError
from artifactual.records import Instruction

__all__ = ["FLAG_COLUMNS", "instructions_frame", "flag_instructions", "nearest_instructions",
           "verb_noun_pairs", "diversity", "similarity_distribution", "audit_instructions",
           "InstructionAudit", "rouge_tokens", "rouge_l", "lcs_length"]

ProgressFn = Callable[[str, int, "int | None"], None]
FLAG_COLUMNS = ["empty_output", "short_output", "missing_input", "restates_instruction",
                "refusal", "truncated_output", "non_english", "near_duplicate"]
_REFERS = re.compile(
    r"\b(the following|(?:given|this|these|the (?:given|provided)|provided|attached|below)\s+"
    r"(?:\w+\s+)?(?:text|sentences?|paragraphs?|passages?|articles?|list|code|table|input|"
    r"data|words?|email|story|poem|review|document|numbers|sequence|statement|"
    r"program|function|tweet|essay|recipe|dialogue|conversation)|the input|below)\b", re.I)
_REFUSAL = re.compile(
    r"\b(as an ai\b[^.]{0,40}|as a language model|as an ai language model|i'?m sorry,? but|"
    r"i am sorry,? but|i (?:cannot|can't|can not|am unable to|am not able to|won't be able to)"
    r" (?:help(?! but)|assist|provide|answer|do|fulfil|fulfill|comply|complete|generate|write|create)"
    r"|i do(?:n't| not) have (?:access|the ability|personal|real-time)|i must decline|"
    r"it is not appropriate for me)", re.I)
_DANGLING = {"and", "or", "the", "a", "an", "of", "to", "with", "for", "in", "on", "but",
             "because", "that", "which", "is", "are", "was", "were", "by", "from", "as", "if"}
_TRANSLATION = re.compile(r"\b(translat\w*|french|spanish|german|chinese|japanese|italian|"
                          r"portuguese|russian|korean|arabic|hindi|latin|dutch|language)\b", re.I)
_CODE = re.compile(r"(```|\bdef |\breturn\b|[{};]\s*$|\w+\(.*\)|==|<\w+>)", re.M)
_WORDS = re.compile(r"[A-Za-z']+")


_LANGS = {"es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
          "nl": "Dutch"}


@lru_cache(maxsize=1)
def _stop_words() -> dict[str, frozenset[str]]:
    """spaCy's stop-word lists: English, and the other languages minus English words."""
    import importlib

    en = frozenset(importlib.import_module("spacy.lang.en.stop_words").STOP_WORDS)
    out = {"en": en}
    for code in _LANGS:
        words = importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS
        out[code] = frozenset(w for w in words if w not in en)
    return out


def instructions_frame(records: Iterable[Instruction], group: str | None = None) -> pd.DataFrame:
    """One row per Instruction: id, task_id, instruction, input, output, origin, group,
    is_classification, finish_reason (from ``meta``)."""
    rows = []
    for r in records:
        meta = r.meta or {}
        src = meta.get("source_path")
        where = meta.get("source_line", meta.get("source_item"))
        task = f"{src}:{where}" if src and where is not None else r.id.split("#")[0]
        rows.append({"id": r.id, "task_id": task, "instruction": r.instruction,
                     "input": r.input, "output": r.output, "origin": r.origin,
                     "group": group or r.origin,
                     "is_classification": bool(meta.get("is_classification", False)),
                     "finish_reason": meta.get("finish_reason")})
    cols = ["id", "task_id", "instruction", "input", "output", "origin", "group",
            "is_classification", "finish_reason"]
    return pd.DataFrame(rows, columns=cols)


def _non_english(text: str) -> str:
    """Why ``text`` looks non-English, or '' (short or code-like text is not judged).

    Non-English: over 30% of its letters outside a-z, or (8+ words) more function words of
    Spanish, French, German, Italian, Portuguese or Dutch (spaCy's lists, English words
    removed) than English ones, at least 15% of the words.
    """
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 20 or _CODE.search(text):
        return ""
    foreign = sum(1 for c in letters if not ("a" <= c.lower() <= "z")) / len(letters)
    if foreign > 0.3:
        return f"{foreign:.0%} of letters are not English letters"
    words = [w.lower() for w in _WORDS.findall(text)]
    if len(words) < 8:
        return ""
    stops = _stop_words()
    share = {code: sum(w in ws for w in words) / len(words) for code, ws in stops.items()}
    code = max(_LANGS, key=share.__getitem__)
    if share[code] >= 0.15 and share[code] > share["en"]:
        return (f"{share[code]:.0%} {_LANGS[code]} function words vs {share['en']:.0%} "
                f"English in {len(words)} words")
    return ""


def _truncated(output: str, finish_reason: Any) -> str:
    if finish_reason == "length":
        return "finish_reason=length"
    text = output.rstrip()
    if not text:
        return ""
    if text.count("```") % 2:
        return "unclosed ``` code fence"
    for o, c in ("()", "[]", "{}"):
        if text.count(o) > text.count(c):
            return f"unclosed {o!r}"
    if text[-1] in ",:-(":
        return f"ends with {text[-1]!r}"
    last = text.split()[-1].lower()
    if last in _DANGLING:
        return f"ends with {last!r}"
    return ""


def flag_instructions(frame: pd.DataFrame, *, min_output_words: int = 2,
                      dup_threshold: float = 0.7, restate_threshold: float = 0.7,
                      progress: ProgressFn | None = None) -> pd.DataFrame:
    """The flag columns, ``max_rouge_l``, ``most_similar`` and ``evidence`` per row of an
    :func:`instructions_frame` (same index)."""
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    ev: list[list[str]] = [[] for _ in range(n)]
    flags = {c: np.zeros(n, dtype=bool) for c in FLAG_COLUMNS}
    best, arg = nearest_instructions(frame["instruction"].tolist(), frame["group"].tolist(),
                                     frame["task_id"].tolist())
    ids = frame["id"].tolist()
    for k, r in enumerate(frame.itertuples(index=False)):
        instr, inp, output = r.instruction or "", r.input or "", r.output or ""
        n_words = len(output.split())

        def flag(name: str, why: str) -> None:
            flags[name][k] = True
            ev[k].append(f"{name}: {why}")

        if not output.strip():
            flag("empty_output", "the output is blank")
        elif (n_words < min_output_words and len(output.strip()) < 15
              and not r.is_classification):
            flag("short_output", f"{n_words} word(s): {output.strip()[:40]!r}")
        m = _REFERS.search(instr)
        if m and not inp.strip():
            rest = instr[m.end():]
            if not re.search(r":\s*\S+(\s+\S+){2,}|[\"“'].{8,}[\"”']|\n\s*\S", rest):
                flag("missing_input", f"refers to {m.group(0)!r} but the input is empty")
        if output.strip():
            p, rec, _ = rouge_l(rouge_tokens(instr), rouge_tokens(output))
            if min(p, rec) >= restate_threshold:
                flag("restates_instruction", f"ROUGE-L precision {p:.2f}, recall {rec:.2f} "
                     "of the output against the instruction")
        m = _REFUSAL.search(output)
        if m:
            flag("refusal", repr(m.group(0).strip()))
        why = _truncated(output, r.finish_reason)
        if why:
            flag("truncated_output", why)
        why = _non_english(instr)
        if why:
            why = f"instruction: {why}"
        elif not _TRANSLATION.search(instr):
            why = _non_english(output)
            why = f"output: {why}" if why else ""
        if why:
            flag("non_english", why)
        if arg[k] >= 0 and best[k] >= dup_threshold:
            flag("near_duplicate", f"ROUGE-L {best[k]:.2f} with {ids[arg[k]]!r}")
        if progress is not None and ((k + 1) % 500 == 0 or k + 1 == n):
            progress("flag", k + 1, n)
    for c in FLAG_COLUMNS:
        out[c] = flags[c]
    out["max_rouge_l"] = best
    out["most_similar"] = pd.array([ids[j] if j >= 0 else None for j in arg], dtype="string")
    out["evidence"] = ["; ".join(e) for e in ev]
    return out


def _root_pair(doc: Any) -> tuple[str | None, str | None]:
    sent = next(iter(doc.sents), None)
    if sent is None:
        return None, None
    queue, verb = [sent.root], None
    while queue:
        tick()
        tok = queue.pop(0)
        if tok.pos_ == "VERB":
            verb = tok
            break
        queue.extend(tok.children)
    if verb is None:
        return None, None
    noun = next((c for c in verb.children if c.dep_ in ("dobj", "obj")
                 and c.pos_ in ("NOUN", "PROPN")), None)
    return verb.lemma_.lower(), (noun.lemma_.lower() if noun is not None else None)


def verb_noun_pairs(instructions: Sequence[str] | Sequence[Any], *, batch_size: int = 64,
                    progress: ProgressFn | None = None, guard: Guard | None = None,
                    ids: Sequence[Any] | None = None) -> pd.DataFrame:
    """``root_verb`` and ``root_noun`` per instruction (strings parsed once, in batches).

    Each instruction's walk is bounded; one that fails is (None, None) and an error in
    ``guard`` (named by ``ids``, default the position)."""
    items = list(instructions)
    if items and all(isinstance(t, str) for t in items):
        items = parse_texts(items, batch_size=batch_size, progress=progress)
    guard = Guard() if guard is None else guard
    names = range(len(items)) if ids is None else ids
    pairs = [guard.run("instruction root pair", rid, d, _root_pair, d, default=(None, None))
             for rid, d in zip(names, items)]
    return pd.DataFrame(pairs, columns=["root_verb", "root_noun"], dtype="string")


def diversity(pairs: pd.DataFrame, group_col: str = "group", top: int = 10) -> pd.DataFrame:
    """Per group: tasks, shares with a verb / verb-noun pair, unique verbs and pairs, pair
    entropy (bits) and the ``top`` pairs as "verb noun (count)"."""
    rows = []
    for g, part in pairs.groupby(group_col, sort=True):
        full = part.dropna(subset=["root_verb", "root_noun"])
        combo = Counter(zip(full["root_verb"], full["root_noun"]))
        total = sum(combo.values())
        entropy = -sum(c / total * math.log2(c / total) for c in combo.values()) if total else 0.0
        rows.append({group_col: g, "n": len(part),
                     "verb_share": float(part["root_verb"].notna().mean()),
                     "pair_share": float(len(full) / len(part)) if len(part) else math.nan,
                     "unique_verbs": int(part["root_verb"].nunique()),
                     "unique_pairs": len(combo), "pair_entropy_bits": entropy,
                     "top_pairs": "; ".join(f"{v} {n} ({c})" for (v, n), c in combo.most_common(top))})
    return pd.DataFrame(rows)


def similarity_distribution(table: pd.DataFrame, group_col: str = "group",
                            bins: int = 10) -> pd.DataFrame:
    """Per group: mean/median/p90 of ``max_rouge_l`` and counts in ``bins`` equal bins."""
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for g, part in table.groupby(group_col, sort=True):
        x = part["max_rouge_l"].to_numpy(float)
        hist, _ = np.histogram(x, bins=edges)
        rows.append({group_col: g, "n": len(x), "mean": float(x.mean()),
                     "median": float(np.median(x)), "p90": float(np.quantile(x, 0.9)),
                     **{f"[{a:.1f},{b:.1f})": int(h) for a, b, h in zip(edges, edges[1:], hist)}})
    return pd.DataFrame(rows)


@dataclass
class InstructionAudit:
    """``records``: the frame + flags + verb/noun; ``rates``: flag rates per group with CIs
    (and p-values against the reference when there are several groups)."""

    records: pd.DataFrame
    rates: pd.DataFrame
    diversity: pd.DataFrame
    similarity: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)  # StageError per failed document


def audit_instructions(data: pd.DataFrame | Iterable[Instruction], *, reference: str | None = None,
                       seed: int = 0, progress: ProgressFn | None = None,
                       **flag_options: Any) -> InstructionAudit:
    """Flags, diversity, similarity and per-group flag rates of instruction data
    (groups from the frame's ``group`` column, else the records' origin)."""
    frame = data if isinstance(data, pd.DataFrame) else instructions_frame(data)
    if frame.empty:
        raise AnalysisError("no instruction records to audit",
                            fix="pass Self-Instruct, Alpaca-like or instruction records")
    frame = frame.reset_index(drop=True)
    flags = flag_instructions(frame, progress=progress, **flag_options)
    tasks = frame.drop_duplicates("task_id")
    guard = Guard()
    pairs = verb_noun_pairs(tasks["instruction"].tolist(), progress=progress, guard=guard,
                            ids=tasks["task_id"].tolist())
    pairs.index = tasks.index
    pairs = pairs.reindex(frame.index)
    pairs = pairs.assign(task_id=frame["task_id"]).groupby("task_id")[["root_verb", "root_noun"]] \
        .transform("first")
    records = pd.concat([frame, flags.drop(columns="evidence"), pairs, flags[["evidence"]]], axis=1)
    rates = compare(records, FLAG_COLUMNS, "group", reference=reference, seed=seed)
    per_task = records.drop_duplicates("task_id")
    div = diversity(per_task)
    sim = similarity_distribution(per_task)
    summary = {"n_records": int(len(records)), "n_tasks": int(len(per_task)),
               "groups": sorted(map(str, records["group"].unique())),
               "flag_rates": {str(g): {c: float(p[c].mean()) for c in FLAG_COLUMNS}
                              for g, p in records.groupby("group")},
               "diversity": div.to_dict("records"), "similarity": sim.to_dict("records")}
    return InstructionAudit(records, rates, div, sim, summary, guard.errors)
