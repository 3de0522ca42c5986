"""The detectors in the terms of the MAST failure taxonomy (Cemri et al. 2025): every
artifact flag is placed (a mode, or a reason for none), and the summary's per-mode rates
are the share of conversations any of the mode's detectors flagged."""

from __future__ import annotations

import pandas as pd

from artifactual.taxonomy import (DETECTOR_MODES, MODES, UNMAPPED, failure_modes,
                                           mode_flags, mode_of)
from artifactual.report.findings import ARTIFACTS


def test_every_artifact_flag_names_its_mode_or_why_it_has_none():
    for flag in ARTIFACTS:
        assert (flag in DETECTOR_MODES) != (flag in UNMAPPED), flag
    ids = {m.id for m in MODES}
    assert len(ids) == 14 and {m.category for m in MODES} == {
        "specification issues", "inter-agent misalignment", "task verification"}
    assert {mode for mode, _, _ in DETECTOR_MODES.values()} <= ids
    assert mode_of("role_flip")["label"] == "disobey role specification"
    assert mode_of("courtesy_only") is None


def test_a_mode_is_flagged_when_any_of_its_detectors_is_and_null_where_none_applied():
    conv = pd.DataFrame({
        "conversation_id": ["a", "b", "c", "d"],
        "audited": [True, True, True, False],
        "role_flip": pd.array([True, False, None, True], dtype="boolean"),
        "impersonation": pd.array([False, True, None, False], dtype="boolean"),
        "digression": pd.array([False, False, True, False], dtype="boolean"),
        "courtesy_only": pd.array([True, True, True, True], dtype="boolean"),
    })
    flags = mode_flags(conv)
    assert list(flags["FM-1.2"]) == [True, True, pd.NA, True]
    assert "FM-1.3" not in flags  # no detector column for step repetition here
    section = failure_modes(conv)
    modes = {m["mode"]: m for m in section["modes"]}
    # the unaudited conversation d is left out; c has no FM-1.2 verdict
    assert (modes["FM-1.2"]["k"], modes["FM-1.2"]["n"]) == (2, 2)
    assert modes["FM-1.2"]["detectors"] == ["role_flip", "impersonation"]
    assert modes["FM-1.2"]["fit"] == "full"  # role_flip's flags are the mode itself
    assert (modes["FM-2.3"]["k"], modes["FM-2.3"]["n"], modes["FM-2.3"]["fit"]) == (1, 3, "partial")
    assert modes["FM-3.2"]["rate"] is None and "judge" in modes["FM-3.2"]["note"]
    assert section["detectors"]["courtesy_only"]["mode"] is None
    assert "Cemri" in section["source"]
