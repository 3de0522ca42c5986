"""Task-label audit and the wide label reader, on hand-built items with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from artifactual.analysis.corpora.labels import (audit_labels, cohen_kappa_majority, distribution_shift,
                                         flip_matrix, item_table, krippendorff_alpha,
                                         label_distribution, labels_to_wide, majority, minority,
                                         sets_match, unique_majority)
from artifactual.errors import AnalysisError, InputError
from artifactual.readers.labels import parse_label_list, read_wide_labels, wide_to_records
from artifactual.records import Label


def test_majority_definition() -> None:
    assert majority([1, 1, 2, 2, 3]) == [1, 2]  # every label with the max count
    assert majority([0, 0, 0, 1, 2]) == [0]
    assert majority([1, 2, 3]) is None  # max count is 1
    assert majority([]) is None
    assert unique_majority([1, 1, 2, 2, 3]) is None
    assert unique_majority([4, 4, 1]) == 4


def test_minority_definition() -> None:
    assert minority([1, 1, 2, 2, 3]) == [3]
    assert minority([0, 0, 0, 1, 2]) == [1, 2]  # every label with the min count
    assert minority([1, 1, 2, 2]) is None  # all counts equal
    assert minority([5, 5, 5]) is None  # one label: all counts equal
    assert minority([1, 2, 3]) is None


def test_match_is_non_empty_intersection() -> None:
    assert sets_match([1, 2], [2, 3])
    assert not sets_match([1], [2])
    assert not sets_match(None, [1])
    assert not sets_match([1], None)


def _wide() -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": ["i1", "i2", "i3", "i4"],
        "human": [[3.0, 4.0, 3.0, 4.0, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 2.0]],
        "model": [[3.0, 3.0, 3.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0, 2.0]],
    })


def test_item_table_by_hand() -> None:
    items = item_table(_wide()).set_index("item_id")
    # i1: human majority {3}, model {3} -> match; human minority {4}, model none -> no match
    assert items.loc["i1", "majority_match"] and not items.loc["i1", "minority_match"]
    # i3: human majority {1}, model {0}: no; human minority {0}, model minority {1}: no
    assert not items.loc["i3", "majority_match"] and not items.loc["i3", "minority_match"]
    # i4: human labels all distinct: no majority
    assert items.loc["i4", "human_majority"] is None and not items.loc["i4", "majority_match"]
    assert items.loc["i1", "human_std"] == pytest.approx(0.5477225575)  # sqrt(0.3), ddof=1
    assert items.loc["i2", "human_std"] == 0.0
    assert items["human_identical"].tolist() == [False, True, False, False]
    assert items["model_identical"].tolist() == [True, True, False, True]


def test_flip_matrix_pairs_by_position() -> None:
    wide = pd.DataFrame({"item_id": ["x"], "human": [[0, 1, 1, 2]], "model": [[0, 0, 2, 2, 2]]})
    flips = flip_matrix(wide)
    assert flips.loc[1, 0] == 1 and flips.loc[1, 2] == 1
    assert int(flips.to_numpy().sum()) == 2  # agreements (0->0, 2->2) and extra labels ignored
    full = flip_matrix(wide, include_agreement=True)
    assert full.loc[0, 0] == 1 and full.loc[2, 2] == 1


def test_distribution_and_js() -> None:
    same = label_distribution(pd.DataFrame({"human": [[0, 1]], "model": [[1, 0]]}))
    assert distribution_shift(same)["js_divergence"] == pytest.approx(0.0)
    apart = label_distribution(pd.DataFrame({"human": [["a", "a"]], "model": [["b"]]}))
    shift = distribution_shift(apart)
    assert shift["js_divergence"] == pytest.approx(1.0)  # disjoint, base 2, squared distance
    assert shift["majority_class"] == "a" and shift["majority_share_delta"] == pytest.approx(-1.0)
    dist = label_distribution(_wide())
    assert dist.sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_kappa_and_alpha() -> None:
    kappa, used = cohen_kappa_majority(_wide())
    assert used == 3  # i4 has no human majority
    # majorities h=[3,0,1], m=[3,0,0]: po=2/3, pe=(1*1+1*2+1*0)/9=1/3 -> kappa=0.5
    assert kappa == pytest.approx(0.5)
    assert krippendorff_alpha([[1, 1], [2, 2], [3, 3]]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[1], [2]]))
    with pytest.raises(AnalysisError):
        krippendorff_alpha([["a", "b"], ["b", "a"]], level="interval")


def test_audit_from_records_equals_wide() -> None:
    wide = _wide()
    records = wide_to_records(wide.assign(text="t"), dataset="toy")
    assert all(isinstance(r, Label) for r in records)
    assert labels_to_wide(records)["human"].tolist() == wide["human"].tolist()
    a, b = audit_labels(wide), audit_labels(records)
    assert a.summary == b.summary
    assert a.summary["majority_match_rate"] == pytest.approx(0.5)  # i1, i2
    assert a.summary["human_identical_rate"] == pytest.approx(0.25)
    assert set(a.items.columns) >= {"majority_match", "minority_match", "human_std"}
    with pytest.raises(AnalysisError):
        audit_labels(pd.DataFrame({"item_id": [], "human": [], "model": []}))
    with pytest.raises(AnalysisError, match="missing"):
        item_table(pd.DataFrame({"item_id": ["x"], "h": [[1]]}))


def test_parse_label_list() -> None:
    assert parse_label_list("[3.0, 4.0]") == [3.0, 4.0]
    assert parse_label_list("['yes', 'no']") == ["yes", "no"]
    for bad in ("", "3.0", "[[1]]", "[1, oops"):
        with pytest.raises(ValueError):
            parse_label_list(bad)


def test_read_wide_labels_keeps_good_rows(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "text,human_annots,model_annots,human_variation\n"
        '"ok, one","[1.0, 1.0, 0.0]","[1.0, 1.0, 1.0]",0.57\n'
        'broken,"[1.0, oops","[0.0]",0\n'
        '"multi\nline","[2.0, 2.0]","[2.0, 1.0]",0\n'
        "short,[1.0]\n", encoding="utf-8")
    table, errors = read_wide_labels(path)
    assert table["text"].tolist() == ["ok, one", "multi\nline"]
    assert table["human"].tolist() == [[1.0, 1.0, 0.0], [2.0, 2.0]]
    assert table["item_id"].tolist() == ["0", "2"]
    assert [e["line"] for e in errors] == [3, 6]
    assert all(set(e) >= {"path", "line", "message", "fix"} for e in errors)
    with pytest.raises(InputError, match="missing"):
        read_wide_labels(path, human_col="humans")
    with pytest.raises(InputError):
        read_wide_labels(tmp_path / "absent.csv")


def test_array_cells_and_custom_index() -> None:
    import numpy as np

    wide = pd.DataFrame({"item_id": ["a", "b"], "human": [np.array([1, 1, 2]), np.array([0, 0])],
                         "model": [[1, 1, 1], [0, 1]]}, index=[10, 20])
    items = item_table(wide)
    assert items["majority_match"].tolist() == [True, False]  # b: model majority is none
    with pytest.raises(AnalysisError, match="not label lists"):
        item_table(pd.DataFrame({"item_id": ["x"], "human": ["[1]"], "model": [[1]]}))
