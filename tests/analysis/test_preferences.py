"""Preference audit and the preference readers, on hand-built pairs with known answers."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.analysis.corpora.preferences import (agreement, agreement_with, audit_preferences,
                                              choice_codes, entailment_cue, length_bias,
                                              lexicon_cue, locality, p2c_lexicon_cue,
                                              position_bias, preference_from_scores,
                                              preferences_to_frame, vader_cue)
from artifactual.errors import AnalysisError, InputError
from artifactual.readers.preferences import (cobbler_pairs, frame_to_preferences, read_cobbler,
                                             read_entailment, read_lexicon, read_mtbench,
                                             read_pair_csv)
from artifactual.records import Preference


def _frame() -> pd.DataFrame:
    rows = [  # (id, a, b, choice, judge, order); swapped rows show b first
        ("p1", "short", "a much longer answer", "b", "human", "original"),
        ("p1", "short", "a much longer answer", "b", "judge", "original"),
        ("p1", "a much longer answer", "short", "a", "judge", "swapped"),
        ("p2", "one two three four", "one", "a", "human", "original"),
        ("p2", "one two three four", "one", "a", "judge", "original"),
        ("p2", "one", "one two three four", "a", "judge", "swapped"),
        ("p3", "same size", "also same", "tie", "human", "original"),
        ("p3", "same size", "also same", "a", "judge", "original"),
    ]
    return pd.DataFrame(rows, columns=["id", "a", "b", "choice", "judge", "order"])


def test_choice_codes_and_scores() -> None:
    assert choice_codes(["a", "b", "tie"]).tolist() == [0, 1, 2]
    assert math.isnan(choice_codes([None])[0])
    out = preference_from_scores([1.0, 0.0, 0.5, np.nan], [0.0, 1.0, 0.5, 1.0])
    assert out[:3].tolist() == [0, 1, 2] and math.isnan(out[3])


def test_agreement_by_hand() -> None:
    res = agreement(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert res == {"n": 4, "accuracy": 0.75, "kappa": pytest.approx(0.5)}
    assert agreement([None], ["a"])["n"] == 0
    table = agreement_with(_frame(), "human").set_index("judge")
    # original order only: p1 b=b, p2 a=a, p3 tie vs a -> 2/3
    assert table.loc["judge", "n"] == 3
    assert table.loc["judge", "accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(AnalysisError):
        agreement_with(_frame(), "nobody")


def test_position_bias_by_hand() -> None:
    pb = position_bias(_frame()).set_index("judge")
    # judge picks position a in 4 of 5 decided judgments
    assert pb.loc["judge", "first_position_win_rate"] == pytest.approx(4 / 5)
    # p1: b then a (same response, consistent); p2: a then a (flipped, inconsistent)
    assert pb.loc["judge", "n_swapped_pairs"] == 2
    assert pb.loc["judge", "swap_consistency"] == pytest.approx(0.5)
    assert pb.loc["human", "tie_rate"] == pytest.approx(1 / 3)
    assert math.isnan(pb.loc["human", "swap_consistency"])


def test_length_bias_by_hand() -> None:
    lb = length_bias(_frame()).set_index("judge")
    # human: p1 longer (b) wins, p2 longer (a) wins, p3 tie excluded -> 1.0
    assert lb.loc["human", "n"] == 2 and lb.loc["human", "longer_win_rate"] == 1.0
    # judge: p1 wins x2, p2 original yes, p2 swapped picks "one" (shorter), p3 equal length
    assert lb.loc["judge", "n"] == 4 and lb.loc["judge", "longer_win_rate"] == 0.75


def test_locality_and_cues() -> None:
    assert locality([0, 1, 0, 1], [0, 1, 0, 1])["r"] == pytest.approx(1.0)
    assert locality([0, 1, 0, 1], [1, 0, 1, 0])["r"] == pytest.approx(-1.0)
    assert math.isnan(locality([0, 0, 0], [0, 1, 0])["r"])
    with pytest.raises(AnalysisError):
        locality([0, 1], [0])
    # max over sentences: a's best 0.9 beats b's best 0.5; equal maxima tie
    assert entailment_cue([[0.1, 0.9], [0.2]], [[0.5, 0.4], [0.2, 0.1]]).tolist() == [0, 2]
    lex = {"great": 0.9, "fine": 0.3}
    assert lexicon_cue(["Great day", "fine", "nothing"], ["fine", "GREAT", "nope"],
                       lex).tolist() == [0, 1, 2]
    cue = vader_cue(["I love this, it is wonderful!"], ["The box is on the table."])
    assert cue.tolist() == [0]
    assert vader_cue(["This is awful and horrible."], ["It is a chair."],
                     mode="intensity").tolist() == [0]


def test_p2c_vote() -> None:
    names = ["anger", "disgust", "fear", "joy", "offensive", "politeness", "sadness", "sentiment"]
    lex = {n: {} for n in names}
    lex["joy"] = {"happy": 0.8, "glad": 0.4}
    lex["sentiment"] = {"happy": 0.9, "bad": -0.7, "awful": -0.95}
    lex["anger"] = {"furious": 0.9}
    cue = p2c_lexicon_cue(["so happy", "glad", "furious and awful", "x"],
                          ["glad", "so happy", "bad", "y"],
                          ["positive", "positive", "negative", "neutral"], lex)
    # pair 1: joy a, politeness tie, sentiment a -> a; pair 2: joy b, sentiment b -> b
    # pair 3: anger a, |min sentiment| a (.95 > .7), others tie (5 ties) -> tie wins argmax
    assert cue[:3].tolist() == [0, 1, 2] and math.isnan(cue[3])
    with pytest.raises(AnalysisError, match="missing"):
        p2c_lexicon_cue(["a"], ["b"], ["positive"], {"joy": {}})


def test_audit_from_records() -> None:
    frame = _frame()
    records = frame_to_preferences(frame.assign(prompt="q"))
    assert all(isinstance(r, Preference) for r in records)
    back = preferences_to_frame(records)
    cols = ["id", "choice", "judge", "order"]
    assert back[cols].equals(frame[cols])
    cue = choice_codes(frame["choice"])
    audit = audit_preferences(records, cue=cue)
    judges = audit.judges.set_index("judge")
    assert judges.loc["judge", "agreement"] == pytest.approx(2 / 3)
    assert judges.loc["human", "locality_r"] == pytest.approx(1.0)
    assert audit.summary["n_pairs"] == 3
    with pytest.raises(AnalysisError):
        audit_preferences(frame, cue=[0.0])


def test_read_pair_csv_collects_errors(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('output1,output2,target\n"A, first",B,0\nC,D,7\nE,"F\nG",2\nH,I,\n',
                    encoding="utf-8")
    table, errors = read_pair_csv(path, judge="human")
    assert table["choice"].tolist() == ["a", "tie"]
    assert table["id"].tolist() == ["0", "2"] and table["b"].tolist()[1] == "F\nG"
    assert [e["line"] for e in errors] == [3, 6]
    with pytest.raises(InputError):
        read_pair_csv(tmp_path / "missing.csv", judge="x")


def _cobbler_file(path: Path, evaluator: str, points: dict[str, int]) -> None:
    ranked = sorted(points, key=lambda m: -points[m])
    data = {"evaluator": evaluator,
            "example_1": {"instruction": "Q?", "reference": "R", "rankings": [
                {"rank": i + 1, "point": points[m], "model": m, "output": f"out {m}"}
                for i, m in enumerate(ranked)]},
            "example_2": {"instruction": "Q2?"}}  # malformed: no rankings
    path.write_text(json.dumps(data), encoding="utf-8")


def test_cobbler_reader_and_pairs(tmp_path: Path) -> None:
    _cobbler_file(tmp_path / "human.json", "human", {"gpt4": 3, "vicuna": 2, "koala": 2})
    _cobbler_file(tmp_path / "judge.json", "judge", {"gpt4": 1, "vicuna": 3, "koala": 2})
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    rankings, errors = read_cobbler(tmp_path)
    assert len(rankings) == 6 and len(errors) == 3  # bad file + two malformed examples
    pairs = cobbler_pairs(rankings, seed=42)
    expected = list(itertools.combinations(["gpt4", "vicuna", "koala"], 2))
    random.Random(42).shuffle(expected)
    human = pairs[pairs.judge == "human"]
    assert list(zip(human.model_a, human.model_b)) == expected
    by_pair = dict(zip(zip(human.model_a, human.model_b), human.choice))
    assert by_pair[("vicuna", "koala")] == "tie" and by_pair[("gpt4", "vicuna")] == "a"
    agree = agreement_with(pairs, "human").set_index("judge")
    assert agree.loc["judge", "n"] == 3


def test_mtbench_entailment_lexicon(tmp_path: Path) -> None:
    mt = tmp_path / "mt.csv"
    mt.write_text("question_id,model_a,model_b,human_model,human_info,conversation_a,"
                  "conversation_b,turn,gpt4_model\n"
                  "81,x,y,model_b,author_2,hello,hi,1,tie (inconsistent)\n"
                  "82,x,y,maybe,author_1,hello,hi,1,model_a\n", encoding="utf-8")
    table, errors = read_mtbench(mt)
    assert table["choice"].tolist() == ["b", "tie"]
    assert table["inconsistent"].tolist() == [False, True]
    assert len(errors) == 1 and errors[0]["line"] == 3
    ent = tmp_path / "ent.csv"
    ent.write_text('example_idx,model,sentence,word_count,roberta_entail\n'
                   '1,gpt4,s,3,"[0.1, 0.7]"\n1,vicuna,s,3,"[]"\nx,koala,s,3,"[0.2]"\n',
                   encoding="utf-8")
    scores, errors = read_entailment(ent)
    assert scores["scores"].tolist() == [[0.1, 0.7]] and len(errors) == 2
    lex = tmp_path / "lex.tsv"
    lex.write_text("idx\tword\tcount\tavg_attr\n0\tnull\t1\t0.5\n1\tbad\t2\tx\n",
                   encoding="utf-8")
    assert read_lexicon(lex) == {"null": 0.5}
    with pytest.raises(InputError):
        read_lexicon(lex, score_col="score")
