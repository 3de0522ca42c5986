"""Pairwise-preference files: CoBBLEr rankings, pair CSVs (P2C, CoBBLEr, MT-Bench), MT-Bench
judgments, per-sentence entailment scores and word lexicons.

Every pair table uses the *preference frame* columns: ``id``, ``prompt``, ``a``, ``b``,
``choice`` (``"a"`` | ``"b"`` | ``"tie"``), ``judge``, ``order``, plus format-specific
extras. Readers return :class:`~artifactual.readers.labels.TableRead` (frame, errors);
a malformed row or example becomes an error entry and the rest is still loaded.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from artifactual.errors import InputError
from artifactual.readers.labels import TableRead, error_row, parse_label_list
from artifactual.records import Preference

__all__ = ["PREFERENCE_COLUMNS", "COBBLER_MODELS", "TARGET_TO_CHOICE", "read_cobbler",
           "cobbler_pairs", "read_pair_csv", "read_mtbench", "read_entailment", "read_lexicon",
           "frame_to_preferences"]

PREFERENCE_COLUMNS = ["id", "prompt", "a", "b", "choice", "judge", "order"]
#: The model order the paper's CoBBLEr pairs come from (then shuffled with seed 42).
COBBLER_MODELS = ("gpt4", "vicuna", "koala", "llama", "falcon", "instructgpt", "dolly", "baize",
                  "wizardlm", "chatgpt", "alpaca", "mpt", "openassist", "redpajama", "cohere")
#: Pair-CSV ``target`` coding: 0 = first output preferred, 1 = second, 2 = tie.
TARGET_TO_CHOICE = {0: "a", 1: "b", 2: "tie"}
_MTBENCH_CHOICE = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (inconsistent)": "tie"}


def _open(path: Path, what: str):
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot open the {what}: {exc.strerror}", where=str(path),
                         fix="check the path") from exc


def read_cobbler(path: str | Path) -> TableRead:
    """CoBBLEr ranking JSON (one file or a folder of ``*.json``) as one row per ranked output.

    Columns: evaluator, example (int), instruction, reference, model, rank, point, output.
    """
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise InputError("no CoBBLEr *.json files found", where=str(path),
                         fix="point at a CoBBLEr ranking file or a folder of them")
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for file in files:
        try:
            with _open(file, "CoBBLEr file") as fh:
                data = json.load(fh)
        except ValueError as exc:
            errors.append(error_row(file, None, f"not valid JSON: {exc}",
                                    "re-export the file as one JSON object"))
            continue
        if not isinstance(data, dict):
            errors.append(error_row(file, None, "expected a JSON object with example_<i> keys",
                                    "use the CoBBLEr {evaluator, example_i: {...}} layout"))
            continue
        evaluator = str(data.get("evaluator") or file.stem)
        for key, ex in data.items():
            if key == "evaluator":
                continue
            try:
                rows.extend(_cobbler_example(evaluator, key, ex))
            except (KeyError, TypeError, ValueError) as exc:
                errors.append(error_row(file, None, f"bad example: {exc!r}", "each example "
                                        "needs instruction, reference and rankings[{rank, point,"
                                        " model, output}]", record_id=key))
    cols = ["evaluator", "example", "instruction", "reference", "model", "rank", "point", "output"]
    return TableRead(pd.DataFrame(rows, columns=cols), errors)


def _cobbler_example(evaluator: str, key: str, ex: dict[str, Any]) -> list[dict[str, Any]]:
    number = int(key.rsplit("_", 1)[-1])
    out = []
    for r in ex["rankings"]:
        out.append({"evaluator": evaluator, "example": number, "instruction": ex["instruction"],
                    "reference": ex.get("reference", ""), "model": str(r["model"]),
                    "rank": int(r["rank"]), "point": float(r["point"]), "output": r["output"]})
    return out


def cobbler_pairs(rankings: pd.DataFrame, models: Sequence[str] | None = None,
                  seed: int | None = 42) -> pd.DataFrame:
    """Pairwise preferences from CoBBLEr rankings, one row per (evaluator, example, pair).

    Pairs are ``itertools.combinations(models)`` shuffled once with ``random.Random(seed)``
    (the paper's orientation: models in :data:`COBBLER_MODELS` order, seed 42). The output
    with more points wins; equal points are a tie. Extra columns: example, reference,
    model_a, model_b, target (0/1/2). Positions here come from the pairing, not from what a
    judge was shown, so position bias is not meaningful on these pairs.
    """
    present = set(rankings["model"])
    if models is None:
        models = [m for m in COBBLER_MODELS if m in present]
        models += sorted(present - set(models))
    pairs = list(itertools.combinations(models, 2))
    if seed is not None:
        random.Random(seed).shuffle(pairs)
    lookup = {(r.evaluator, r.example, r.model): r for r in rankings.itertuples(index=False)}
    rows = []
    for (evaluator, example), _ in rankings.groupby(["evaluator", "example"], sort=True):
        for ma, mb in pairs:
            ra, rb = lookup.get((evaluator, example, ma)), lookup.get((evaluator, example, mb))
            if ra is None or rb is None:
                continue
            target = 0 if ra.point > rb.point else 1 if ra.point < rb.point else 2
            rows.append({"id": f"{example}:{ma}|{mb}", "prompt": ra.instruction, "a": ra.output,
                         "b": rb.output, "choice": TARGET_TO_CHOICE[target], "judge": evaluator,
                         "order": "original", "example": example, "reference": ra.reference,
                         "model_a": ma, "model_b": mb, "target": target})
    cols = PREFERENCE_COLUMNS + ["example", "reference", "model_a", "model_b", "target"]
    return pd.DataFrame(rows, columns=cols)


def _csv_rows(path: Path, needed: Sequence[str], what: str):
    """Yield (line, row) from a CSV with a header; raise InputError on missing columns."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open(path, what) as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in needed if c not in header]
        if missing:
            raise InputError(f"columns {missing} are missing (header: {header})",
                             where=f"{path}:1", fix=f"give a {what} with columns {list(needed)}")
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, exc
                return
            yield start, row
            start = reader.line_num + 1


def read_pair_csv(path: str | Path, judge: str, prompt: str = "") -> TableRead:
    """A pair CSV with ``output1, output2, target`` (0 first, 1 second, 2 tie).

    ``id`` is the 0-based data row number, so two judges' files of the same pairs align.
    """
    path = Path(path)
    rows, errors = [], []
    for index, (line, raw) in enumerate(_csv_rows(path, ["output1", "output2", "target"],
                                                  "pair CSV")):
        if isinstance(raw, Exception):
            errors.append(error_row(path, line, f"malformed CSV: {raw}", "fix the quoting"))
            break
        try:
            target = int(float(raw["target"]))
            choice = TARGET_TO_CHOICE[target]
        except (KeyError, TypeError, ValueError):
            errors.append(error_row(path, line, f"target {raw.get('target')!r} is not 0, 1 or 2",
                                    "code target as 0 (first), 1 (second) or 2 (tie)", str(index)))
            continue
        if raw["output1"] is None or raw["output2"] is None:
            errors.append(error_row(path, line, "row has too few fields",
                                    "give output1, output2 and target", str(index)))
            continue
        rows.append({"id": str(index), "prompt": prompt, "a": raw["output1"],
                     "b": raw["output2"], "choice": choice, "judge": judge, "order": "original",
                     "target": target})
    return TableRead(pd.DataFrame(rows, columns=PREFERENCE_COLUMNS + ["target"]), errors)


def read_mtbench(path: str | Path) -> TableRead:
    """MT-Bench human + GPT-4 judgments (``mtbench-gpt4-human-pref.csv`` layout), long form.

    Two rows per data row: judge ``human`` (annotator in ``annotator``) and ``gpt4``.
    ``tie (inconsistent)`` becomes a tie with ``inconsistent=True``.
    """
    path = Path(path)
    need = ["question_id", "model_a", "model_b", "human_model", "conversation_a",
            "conversation_b", "turn", "gpt4_model"]
    rows, errors = [], []
    for index, (line, raw) in enumerate(_csv_rows(path, need, "MT-Bench CSV")):
        if isinstance(raw, Exception):
            errors.append(error_row(path, line, f"malformed CSV: {raw}", "fix the quoting"))
            break
        pair_id = str(index)
        verdicts = {"human": raw.get("human_model"), "gpt4": raw.get("gpt4_model")}
        bad = [j for j, v in verdicts.items() if v not in _MTBENCH_CHOICE]
        if bad or raw["conversation_a"] is None or raw["conversation_b"] is None:
            errors.append(error_row(path, line, f"bad verdicts {verdicts!r}", "use model_a, "
                                    "model_b, tie or 'tie (inconsistent)'", pair_id))
            continue
        for judge, verdict in verdicts.items():
            rows.append({"id": pair_id, "prompt": "", "a": raw["conversation_a"],
                         "b": raw["conversation_b"], "choice": _MTBENCH_CHOICE[verdict],
                         "judge": judge, "order": "original", "question_id": raw["question_id"],
                         "model_a": raw["model_a"], "model_b": raw["model_b"],
                         "turn": raw["turn"], "annotator": raw.get("human_info") if
                         judge == "human" else "gpt4",
                         "inconsistent": verdict == "tie (inconsistent)"})
    extra = ["question_id", "model_a", "model_b", "turn", "annotator", "inconsistent"]
    return TableRead(pd.DataFrame(rows, columns=PREFERENCE_COLUMNS + extra), errors)


def read_entailment(path: str | Path) -> TableRead:
    """Per-output sentence entailment scores: example, model, sentence, scores (list[float])."""
    path = Path(path)
    rows, errors = [], []
    for line, raw in _csv_rows(path, ["example_idx", "model", "roberta_entail"],
                               "entailment CSV"):
        if isinstance(raw, Exception):
            errors.append(error_row(path, line, f"malformed CSV: {raw}", "fix the quoting"))
            break
        try:
            scores = [float(v) for v in parse_label_list(raw["roberta_entail"])]
            if not scores:
                raise ValueError("no scores")
            rows.append({"example": int(raw["example_idx"]), "model": raw["model"],
                         "sentence": raw.get("sentence") or "", "scores": scores})
        except (TypeError, ValueError) as exc:
            errors.append(error_row(path, line, f"bad row: {exc}", "give example_idx as an "
                                    "integer and roberta_entail as a list of probabilities"))
    return TableRead(pd.DataFrame(rows, columns=["example", "model", "sentence", "scores"]),
                     errors)


def read_lexicon(path: str | Path, word_col: str = "word",
                 score_col: str = "avg_attr") -> dict[str, float]:
    """A word -> score lexicon from a TSV (Hummingbird layout: ``word``, ``avg_attr``)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t", keep_default_na=False, dtype={word_col: str})
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the lexicon: {exc}", where=str(path),
                         fix="give a tab-separated file with a header row") from exc
    if word_col not in table or score_col not in table:
        raise InputError(f"lexicon needs columns {word_col!r} and {score_col!r}",
                         where=f"{path}:1", fix="pass word_col=/score_col= for this file")
    scores = pd.to_numeric(table[score_col], errors="coerce")
    keep = scores.notna()
    return dict(zip(table.loc[keep, word_col], scores[keep].astype(float)))


def frame_to_preferences(frame: pd.DataFrame) -> list[Preference]:
    """Preference records from a preference frame."""
    return [Preference(id=str(r["id"]), prompt=str(r.get("prompt") or ""), a=str(r["a"]),
                       b=str(r["b"]), choice=r["choice"] if isinstance(r["choice"], str) else None,
                       judge=str(r["judge"]),
                       order=r.get("order") or "original")
            for r in frame.to_dict("records")]
