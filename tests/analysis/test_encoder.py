"""The encoder's precision: resolution, CPU detection, and bf16 against fp32 on the real
MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from artifactual.analysis import encoder as enc
from artifactual.errors import AnalysisError

TEXTS = ["Water the tomato pots every morning.", "Thanks!",
         "The striker signed for forty million euros last week.",
         "Instruction: List two common mistakes for a sourdough starter.\nInput: None",
         "def plan(days=3):\n    return list(range(days))", "word " * 400]


def test_precision_comes_from_the_argument_then_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(enc.PRECISION_ENV, "bf16")
    assert enc.resolve_precision() == "bf16"
    assert enc.resolve_precision("fp32") == "fp32"
    monkeypatch.setenv(enc.PRECISION_ENV, "FP32 ")
    assert enc.resolve_precision() == "fp32"
    monkeypatch.setenv(enc.PRECISION_ENV, "int4")
    with pytest.raises(AnalysisError, match=enc.PRECISION_ENV) as info:
        enc.resolve_precision()
    assert "auto, fp32, bf16" in info.value.fix


def test_auto_follows_the_cpu(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(enc.PRECISION_ENV, raising=False)
    with_bf16 = tmp_path / "a"
    with_bf16.write_text("processor : 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n")
    without = tmp_path / "b"
    without.write_text("processor : 0\nflags\t\t: fpu sse2 avx2\n")
    assert enc.native_bf16(str(with_bf16)) and not enc.native_bf16(str(without))
    assert not enc.native_bf16(str(tmp_path / "missing"))
    monkeypatch.setattr(enc, "native_bf16", lambda: True)
    assert enc.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(enc, "native_bf16", lambda: False)
    assert enc.resolve_precision(None) == "fp32"


def test_bf16_vectors_stay_close_to_fp32() -> None:
    fp32 = enc.embed(TEXTS, precision="fp32")
    bf16 = enc.embed(TEXTS, precision="bf16")
    assert fp32.dtype == bf16.dtype == np.float32 and fp32.shape == bf16.shape
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-4)
    cos = (fp32 * bf16).sum(axis=1)
    assert cos.min() > 0.999, cos  # measured >= 0.99996 (benchmarks/audit_throughput.py)
    sims32, sims16 = fp32 @ fp32.T, bf16 @ bf16.T
    assert np.abs(sims32 - sims16).max() < 0.01
    assert not np.array_equal(fp32, bf16)  # bf16 really ran


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_a_vector_does_not_depend_on_the_texts_batched_with_it(precision: str) -> None:
    # as a Ray shard sees a corpus: other neighbours, other batches; texts of one length
    # in word pieces ("Thanks!" and "Water ..." differ) and of several
    same_length = ["The kettle is on the stove.", "The cat is on the windowsill."]
    texts = [*TEXTS, *same_length, "Plant the garlic in late autumn, pointed end up."]
    whole = enc.embed(texts, precision=precision)
    alone = np.vstack([enc.embed([t], precision=precision) for t in texts])
    shards = np.vstack([enc.embed(texts[:4], precision=precision),
                        enc.embed(texts[4:], precision=precision)])
    # measured here: bf16 identical, fp32 within 3e-7; padded batches differed by up to
    # 1e-3 under bf16 (the padded length changes the products' rounding)
    np.testing.assert_allclose(alone, whole, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shards, whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize("multiple", [1, 16])
def test_batches_hold_texts_of_one_padded_length(multiple: int) -> None:
    model = enc.load_encoder()
    assert enc._pad_multiple(model) in (1, 16)
    texts = [*TEXTS, "The kettle is on the stove.", "The cat is on the windowsill.",
             "Thin the carrot seedlings to a hand's width once they show four leaves each."]
    batches = enc._batches(model, texts, 2, multiple)
    lengths = [-(-len(i) // multiple) * multiple for i in model.tokenizer(
        texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]
    assert sorted(int(i) for b in batches for i in b) == list(range(len(texts)))
    assert all(len(b) <= 2 and len({lengths[i] for i in b}) == 1 for b in batches)
    assert [lengths[b[0]] for b in batches] == sorted(lengths[b[0]] for b in batches)
    assert max(lengths) <= model.max_seq_length
