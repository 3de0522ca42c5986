"""Gold labels for detector validity: loading the labelled sets into one shape.

A :class:`GoldSet` names the files to audit together (one corpus), the conversations
to score, and the gold labels: per turn (``turns[conv_id][turn_index]`` = the set of labels
true for that turn) where the set is labelled per turn, and per conversation
(``conversations[conv_id]``). ``labels`` lists what was labelled; a label missing from it
is unknown for this set (not negative) and is not scored. Gold label names are the ones of
``../shared/labels/README.md``: ``role_flip``, ``off_task``, ``courtesy``, ``impersonation``,
``repetition``, ``malformed``, plus ``courtesy_loop`` (a run of >= 3 consecutive courtesy
turns, derived), ``off_task_loose`` (SPP: off-task or courtesy-only content) and
``no_final_answer`` (SPP: the transcript gives no final answer).

Loaders: :func:`load_spp_digression`, :func:`load_smollm2`, :func:`load_turn_labels` (the
sets labelled by ``benchmarks/data/LABELLING.md``), :func:`from_injections`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from artifactual.analysis.validity.inject import Injection
from artifactual.errors import InputError
from artifactual.readers import ErrorLog, read

__all__ = ["GoldSet", "TURN_LABELS", "load_spp_digression", "load_smollm2", "from_injections",
           "load_turn_labels",
           "courtesy_runs", "SPP_DATA", "SPP_LABELS", "SMOLLM2_LABELS", "SMOLLM2_RECORDS"]

TURN_LABELS = ("role_flip", "off_task", "courtesy", "impersonation", "repetition", "malformed")
SPP_DATA = "data/llm-artifacts/simulation/spp_logic_grid_gpt4_200.jsonl"
SPP_LABELS = "labels/spp_gpt4_digression.json"
SMOLLM2_LABELS = "labels/smollm2_quickstart.json"
SMOLLM2_RECORDS = "labels/smollm2_quickstart_records.jsonl"


@dataclass
class GoldSet:
    """One corpus to audit and its gold labels (see the module docstring)."""

    name: str
    paths: list[Path]
    labels: tuple[str, ...]
    conversations: dict[str, frozenset[str]]
    turns: dict[str, dict[int, frozenset[str]]] | None = None
    description: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """Conversation ids to score, in order."""
        return list(self.conversations)


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise InputError(f"{what} not found", where=str(path),
                         fix="pass the folder that holds labels/ and data/ (../shared)")
    return path


def courtesy_runs(flags: Sequence[bool], min_run: int = 3) -> list[bool]:
    """Per turn: inside a run of >= ``min_run`` consecutive True values."""
    out = [False] * len(flags)
    i = 0
    while i < len(flags):
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        if j - i >= min_run:
            out[i:j] = [True] * (j - i)
        i = j
    return out


def load_spp_digression(shared: Path) -> GoldSet:
    """The 60 labelled GPT-4 SPP transcripts: conversation-level strict and loose digression.

    The whole 200-transcript file is audited (the digression threshold depends on the
    corpus); the 60 labelled ones are scored, matched by the transcript's ``idx``.
    """
    data = _need(shared / SPP_DATA, "SPP transcripts")
    rows = json.loads(_need(shared / SPP_LABELS, "SPP digression labels").read_text("utf-8"))
    by_idx = {c.meta.get("idx"): c.id for c in read(data, errors=ErrorLog())
              if hasattr(c, "turns")}
    convs: dict[str, frozenset[str]] = {}
    for row in rows:
        cid = by_idx.get(row["idx"])
        if cid is None:
            continue
        labels = {"off_task"} if row["digression"] else set()
        if row["digression_loose"]:
            labels.add("off_task_loose")
        if row.get("final_answer_given") is False:
            labels.add("no_final_answer")
        convs[cid] = frozenset(labels)
    return GoldSet("spp_gpt4", [data], ("off_task", "off_task_loose", "no_final_answer"), convs,
                   description="60 GPT-4 SPP logic-grid transcripts, conversation-level labels")


def load_smollm2(shared: Path) -> GoldSet:
    """The 16 SmolLM2 role-play dialogues, every turn labelled."""
    records = _need(shared / SMOLLM2_RECORDS, "SmolLM2 records")
    rows = json.loads(_need(shared / SMOLLM2_LABELS, "SmolLM2 labels").read_text("utf-8"))
    turns: dict[str, dict[int, frozenset[str]]] = {}
    convs: dict[str, frozenset[str]] = {}
    for row in rows:
        ordered = sorted(row["turns"], key=lambda t: t["index"])
        loops = courtesy_runs([bool(t["courtesy"]) for t in ordered])
        per: dict[int, frozenset[str]] = {}
        for t, loop in zip(ordered, loops):
            labels = {name for name in TURN_LABELS if t.get(name)}
            if loop:
                labels.add("courtesy_loop")
            per[int(t["index"])] = frozenset(labels)
        turns[row["id"]] = per
        convs[row["id"]] = frozenset().union(*per.values()) if per else frozenset()
    return GoldSet("smollm2_roleplay", [records], (*TURN_LABELS, "courtesy_loop"), convs, turns,
                   description="16 SmolLM2-135M CAMEL role-play dialogues, every turn labelled")


def load_turn_labels(name: str, paths: Sequence[Path], labels_path: Path,
                     labels: Sequence[str], *, negatives: Sequence[str] = (),
                     description: str = "") -> GoldSet:
    """A set labelled per turn by ``benchmarks/data/LABELLING.md``: ``labels_path`` is a
    JSON list of ``{"id", "turns": [{"index", <label>: bool, ...}]}`` over the
    conversations of ``paths``. ``labels`` are the labels read from the file; ``negatives``
    are labels known to be false on every turn of this set (e.g. role flips in human
    dialogues) and are scored as such. Only the labelled conversations are scored."""
    rows = json.loads(_need(labels_path, f"{name} labels").read_text("utf-8"))
    turns: dict[str, dict[int, frozenset[str]]] = {}
    convs: dict[str, frozenset[str]] = {}
    for row in rows:
        per = {int(t["index"]): frozenset(n for n in labels if t.get(n)) for t in row["turns"]}
        turns[str(row["id"])] = per
        convs[str(row["id"])] = frozenset().union(*per.values()) if per else frozenset()
    return GoldSet(name, [_need(p, f"{name} data") for p in paths],
                   (*labels, *negatives), convs, turns, description=description)


def from_injections(name: str, path: Path, injections: Iterable[Injection],
                    n_turns: dict[str, int], description: str = "") -> GoldSet:
    """Gold for an injected corpus: the injected turns carry the label, all others do not.

    ``n_turns`` gives each injected conversation's number of turns. Only the injected
    label is scored (the base conversations are not labelled for anything else).
    """
    turns: dict[str, dict[int, frozenset[str]]] = {}
    convs: dict[str, frozenset[str]] = {}
    labels: list[str] = []
    for inj in injections:
        cid = inj.conversation.id
        hit = set(inj.turns)
        turns[cid] = {i: frozenset({inj.label}) if i in hit else frozenset()
                      for i in range(n_turns[cid])}
        convs[cid] = frozenset({inj.label})
        if inj.label not in labels:
            labels.append(inj.label)
    return GoldSet(name, [path], tuple(labels), convs, turns, description=description)
