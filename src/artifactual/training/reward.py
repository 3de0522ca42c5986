"""Pairwise reward model (Bradley-Terry) trained on human vs LLM-judge preferences.

A cross-encoder scores ``(prompt, response)``: the embedded MiniLM (by default) reads the
prompt and the response as two segments; mean pooling and a linear head give one scalar
reward. Training minimises ``-log sigmoid(r(chosen) - r(rejected))``. The prediction for a
pair is the response with the higher reward, so the model has no position bias.

The pool holds the pairs that *both* judges decided (no tie), so the human-trained and the
LLM-trained model see the same pairs and differ only in which response was preferred.
Pairs are split by group (CoBBLEr instruction, MT-Bench question) so no prompt is on both
sides; the test pairs are every human-decided pair of the held-out groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch.nn.functional as F

from artifactual.errors import InputError
from artifactual.training.classifier import PooledEncoder, Tokenized
from artifactual.training.common import (PreferenceData, Progress, RewardSection, TrainConfig,
                                         require_size, resolve_path, seed_everything, split_indices)
from artifactual.training.metrics import accuracy
from artifactual.training.mixing import Mix
from artifactual.training.run import RunResult, Timer, fit

__all__ = ["PreferenceTask", "judge_table", "load_task", "train_mix", "METRICS"]

METRICS = ["accuracy", "llm_judge_accuracy", "prefers_longer"]
_CODE = {"a": 0, "b": 1}
_GROUP_COLS = ("example", "question_id")


def _frame(data: PreferenceData, base_dir: str) -> tuple[pd.DataFrame, str]:
    """A preference frame (id, prompt, a, b, choice, judge, order, ...) from the data spec."""
    from artifactual.analysis.corpora.preferences import preferences_to_frame
    from artifactual.readers import base as readers
    from artifactual.readers import preferences as prefs
    from artifactual.records import Preference

    if data.format == "pair_csv":
        hp = resolve_path(data.human_path or "", base_dir, "human pair CSV")
        lp = resolve_path(data.llm_path or "", base_dir, "LLM pair CSV")
        human, _ = prefs.read_pair_csv(hp, data.human_judge)
        llm, _ = prefs.read_pair_csv(lp, data.llm_judge)
        if len(human) != len(llm):
            raise InputError(f"mismatched pair ids: the human file has {len(human)} pairs, the "
                             f"LLM file {len(llm)}", where=f"{hp} vs {lp}",
                             fix="give two files of the same pairs in the same row order")
        return pd.concat([human, llm], ignore_index=True), f"{hp} + {lp}"
    path = resolve_path(data.path or "", base_dir, "preference data")
    if data.format == "cobbler":
        rankings, _ = prefs.read_cobbler(path)
        rankings = rankings[rankings["evaluator"].isin([data.human_judge, data.llm_judge])]
        return prefs.cobbler_pairs(rankings), str(path)
    if data.format == "mtbench":
        return prefs.read_mtbench(path)[0], str(path)
    log = readers.ErrorLog()
    records = [r for r in readers.read(path, errors=log) if isinstance(r, Preference)]
    return preferences_to_frame(records), str(path)


def _vote(choices: pd.Series) -> str:
    """The most common choice of one judge on one pair; a tie when no choice wins outright."""
    counts = choices.value_counts()
    return str(counts.index[0]) if len(counts) == 1 or counts.iloc[0] > counts.iloc[1] else "tie"


def judge_table(frame: pd.DataFrame, human_judge: str, llm_judge: str,
                where: str = "preferences") -> pd.DataFrame:
    """One row per pair id judged by both: id, prompt, a, b, group, human, llm (a/b/tie).

    Raises InputError for a missing judge, no shared pair ids, or a pair id whose texts
    differ between the judges (mismatched pair ids). Several verdicts of one judge on a pair
    are reduced to their majority.
    """
    if frame.empty:
        raise InputError("missing labels: no preferences were read", where=where,
                         fix="check the path and format of the preference data")
    frame = frame[frame["choice"].isin(["a", "b", "tie"])]
    if "order" in frame and (frame["order"] == "original").any():
        frame = frame[frame["order"] == "original"]
    judges = set(frame["judge"])
    for name, judge in (("human", human_judge), ("LLM", llm_judge)):
        if judge not in judges:
            raise InputError(f"missing labels: no preferences by the {name} judge {judge!r}",
                             where=where, fix=f"set data.{'human' if name == 'human' else 'llm'}"
                             f"_judge to one of {sorted(judges)}")
    group = next((c for c in _GROUP_COLS if c in frame), "id")
    sides = {}
    for name, judge in (("human", human_judge), ("llm", llm_judge)):
        part = frame[frame["judge"] == judge]
        sides[name] = part.groupby("id", sort=False).agg(
            prompt=("prompt", "first"), a=("a", "first"), b=("b", "first"),
            group=(group, "first"), choice=("choice", _vote))
    h, m = sides["human"], sides["llm"]
    shared = h.index.intersection(m.index)
    if len(shared) == 0:
        raise InputError("mismatched pair ids: no pair id is judged by both judges",
                         where=where, fix="give both judges' verdicts on the same pairs (same ids)")
    bad = [i for i in shared if h.at[i, "a"] != m.at[i, "a"] or h.at[i, "b"] != m.at[i, "b"]]
    if bad:
        raise InputError(f"mismatched pair ids: {len(bad)} ids name different texts for the two "
                         f"judges (first: {bad[0]!r})", where=where,
                         fix="align the files so each id names the same two responses")
    out = h.loc[shared, ["prompt", "a", "b", "group"]].copy()
    out["human"] = h.loc[shared, "choice"]
    out["llm"] = m.loc[shared, "choice"]
    out.attrs["n_unmatched"] = int(len(h.index.union(m.index)) - len(shared))
    return out.reset_index().rename(columns={"index": "id"})


@dataclass
class PreferenceTask:
    """Decided-by-both pool and held-out human test pairs, with one text table per side."""

    pool: pd.DataFrame
    test: pd.DataFrame
    human: np.ndarray  # 0: a preferred, 1: b preferred
    llm: np.ndarray
    texts: Tokenized
    pool_rows: np.ndarray  # (n, 2): text-table rows of a and b
    test_rows: np.ndarray
    encoder: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_human_pool(self) -> int:
        return len(self.pool)

    n_llm_pool = None


def load_task(cfg: TrainConfig) -> PreferenceTask:
    """Read both judges' preferences on the same pairs and split by group."""
    from transformers import AutoTokenizer

    from artifactual.assets import resolve_encoder

    section: RewardSection = cfg.reward  # type: ignore[assignment]
    frame, where = _frame(section.data, cfg.base_dir)
    table = judge_table(frame, section.data.human_judge, section.data.llm_judge, where)
    if section.data.group_col:
        if section.data.group_col not in frame:
            raise InputError(f"group column {section.data.group_col!r} is missing", where=where,
                             fix=f"use one of {list(frame.columns)} or leave group_col unset")
        groups = frame.drop_duplicates("id").set_index("id")[section.data.group_col]
        table["group"] = table["id"].map(groups)
    decided = table[table["human"] != "tie"].reset_index(drop=True)
    require_size(len(decided), section.n_test + section.n_train, "pairs with a human verdict",
                 where, "lower reward.n_train / n_test")
    train_idx, test_idx = split_indices(decided["group"], section.n_test, cfg.split_seed)
    test = decided.iloc[test_idx].reset_index(drop=True)
    rest = decided.iloc[train_idx]
    pool = rest[rest["llm"] != "tie"].reset_index(drop=True)
    require_size(len(pool), section.n_train, "training pairs decided by both judges", where,
                 "lower reward.n_train or reward.n_test")
    encoder = resolve_encoder(section.encoder)
    keys: dict[tuple[str, str], int] = {}

    def rows(part: pd.DataFrame) -> np.ndarray:
        return np.array([[keys.setdefault((p, r), len(keys)) for r in (a, b)]
                         for p, a, b in zip(part["prompt"], part["a"], part["b"])], dtype=int)

    pool_rows, test_rows = rows(pool), rows(test)
    ordered = sorted(keys, key=keys.get)
    prompts = [p for p, _ in ordered]
    tok = AutoTokenizer.from_pretrained(encoder)
    texts = Tokenized(tok, [r for _, r in ordered] if not any(prompts) else prompts,
                      section.max_length, None if not any(prompts) else [r for _, r in ordered])
    task = PreferenceTask(pool, test, pool["human"].map(_CODE).to_numpy(),
                          pool["llm"].map(_CODE).to_numpy(), texts, pool_rows, test_rows, encoder)
    task.info = {"data": where, "format": section.data.format, "n_pairs": int(len(table)),
                 "n_unmatched_ids": table.attrs.get("n_unmatched", 0),
                 "n_human_decided": int(len(decided)), "n_pool": int(len(pool)),
                 "n_test": int(len(test)), "n_test_groups": int(test["group"].nunique()),
                 "pool_human_llm_agreement": float(np.mean(task.human == task.llm)),
                 "human_judge": section.data.human_judge, "llm_judge": section.data.llm_judge}
    return task


def _longer(a: pd.Series, b: pd.Series) -> np.ndarray:
    """0 when a is longer (in characters), 1 when b is, -1 on equal length."""
    la, lb = a.str.len().to_numpy(), b.str.len().to_numpy()
    return np.where(la > lb, 0, np.where(lb > la, 1, -1))


def train_mix(task: PreferenceTask, mix: Mix, cfg: TrainConfig, seed: int,
              progress: Progress = None, desc: str = "reward") -> RunResult:
    """Train a Bradley-Terry reward model on the mix and score it on the human test pairs."""
    section: RewardSection = cfg.reward  # type: ignore[assignment]
    seed_everything(seed, cfg.threads)
    idx, choice = mix.labelled(task.human, task.llm, desc, "raise reward.n_train")
    chosen = task.pool_rows[idx, choice]
    rejected = task.pool_rows[idx, 1 - choice]
    model = PooledEncoder(task.encoder, 1, section.dropout, section.train_layers)
    seen = [0]

    def step(batch: np.ndarray) -> Any:
        seen[0] += len(batch)
        scores = model(**task.texts.batch(np.concatenate([chosen[batch], rejected[batch]])))[:, 0]
        n = len(batch)
        return -F.logsigmoid(scores[:n] - scores[n:]).mean()

    with Timer() as t:
        losses = fit(model, len(idx), step, section.train, seed, progress, desc)
    uniq = np.unique(task.test_rows)
    reward = dict(zip(uniq.tolist(), task.texts.scores(model, uniq)[:, 0].tolist()))
    ra = np.array([reward[i] for i in task.test_rows[:, 0]])
    rb = np.array([reward[i] for i in task.test_rows[:, 1]])
    pred = (rb > ra).astype(int)
    human = task.test["human"].map(_CODE).to_numpy()
    llm_dec = (task.test["llm"] != "tie").to_numpy()
    llm = task.test["llm"].map(_CODE).to_numpy()
    longer = _longer(task.test["a"], task.test["b"])
    differ = longer >= 0
    pool_longer = _longer(task.pool["a"], task.pool["b"])[idx]
    p_differ = pool_longer >= 0
    metrics = {"accuracy": accuracy(human, pred),
               "llm_judge_accuracy": accuracy(llm[llm_dec], pred[llm_dec]),
               "prefers_longer": float(np.mean(pred[differ] == longer[differ])),
               "test_human_prefers_longer": float(np.mean(human[differ] == longer[differ])),
               "train_prefers_longer": float(np.mean(choice[p_differ] == pool_longer[p_differ]))}
    preds = pd.DataFrame({"id": task.test["id"].astype(str), "human": task.test["human"],
                          "llm": task.test["llm"], "reward_a": ra, "reward_b": rb,
                          "predicted": np.where(pred == 0, "a", "b")})
    meta = {"encoder": task.encoder, "seed": seed, "head": "bradley-terry scalar reward"}
    return RunResult(metrics, losses, {"predictions": preds}, n_train=len(idx), samples=seen[0],
                     seconds=t.seconds, save=lambda p: model.save(p, task.texts.tokenizer, meta))
