"""A loopback fault server for the soak test: an OpenAI-compatible proxy that fails on purpose.

It forwards ``POST /v1/chat/completions`` to a real upstream server (a local vLLM OpenAI
server) and, on a share of calls, answers instead with one of:

* ``429`` (with ``Retry-After: 0``),
* ``500`` whose body echoes the request's ``Authorization`` header (a server that leaks the
  key into its error text: the client must scrub it),
* a stall (no answer for ``stall_s``, longer than the client's timeout, then ``504``),
* a dropped connection (the socket is aborted without an answer).

Whether a call fails is decided from (seed, request body, how many times that body came),
so a run's faults do not depend on the order in which concurrent calls arrive. Every call
is logged (arrival order, the request's cache key, its attempt number, what it got), so the
soak test can count retries, give-ups and requests sent again. Runs in a thread with its
own event loop; the API key is checked on every call (401 without it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultServer", "Call", "FAULTS", "body_key"]

FAULTS = ("429", "500", "stall", "drop")


def body_key(body: dict[str, Any]) -> str:
    """The run store's cache key of the request this chat-completions body was sent for."""
    from artifactual.generation.backends.base import ChatRequest, request_key
    from artifactual.records import Sampling

    extra = body.get("extra_body") or {}
    sampling = {k: body[k] for k in ("temperature", "top_p", "max_tokens", "seed") if k in body}
    req = ChatRequest(messages=body["messages"], sampling=Sampling(**sampling),
                      guided_choice=(body.get("structured_outputs") or extra.get("structured_outputs")
                                     or {}).get("choice"))
    return request_key(body["model"], req)


@dataclass
class Call:
    n: int  # arrival order
    key: str  # cache key of the request
    attempt: int  # 0 = first time this body came
    outcome: str  # "ok", one of FAULTS, "upstream <status>", "unauthorised"
    session: int  # which generate process sent it (set by the caller via .session)
    at: float = field(default_factory=time.monotonic)


class FaultServer:
    """``with FaultServer(upstream, rate=0.3, key=KEY) as fs: ... fs.base_url ... fs.calls``"""

    def __init__(self, upstream: str, *, key: str | None, rate: float = 0.3, seed: int = 0,
                 stall_s: float = 6.0, host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream.rstrip("/")
        self.key, self.rate, self.seed, self.stall_s = key, rate, seed, stall_s
        self.host, self.port = host, port
        self.calls: list[Call] = []
        self.session = 0  # the soak test bumps it before each generate process
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def fault_for(self, digest: str, attempt: int) -> str | None:
        """The fault for the ``attempt``-th arrival of a body (None: forward it)."""
        h = hashlib.sha256(f"{self.seed}:{digest}:{attempt}".encode()).digest()
        if int.from_bytes(h[:8], "big") / 2 ** 64 >= self.rate:
            return None
        return FAULTS[h[8] % len(FAULTS)]

    # -- serving ------------------------------------------------------------------
    async def _chat(self, request):
        from aiohttp import web

        raw = await request.read()
        if self.key and request.headers.get("Authorization") != f"Bearer {self.key}":
            self._log("?", 0, "unauthorised")
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        body = json.loads(raw)
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            attempt = self._seen.get(digest, 0)
            self._seen[digest] = attempt + 1
        key = body_key(body)
        fault = self.fault_for(digest, attempt)
        self._log(key, attempt, fault or "ok")
        if fault == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": "0"})
        if fault == "500":
            echo = request.headers.get("Authorization", "")
            return web.json_response({"error": {"message": f"internal error serving {echo}"}}, status=500)
        if fault == "stall":
            await asyncio.sleep(self.stall_s)
            return web.json_response({"error": {"message": "stalled"}}, status=504)
        if fault == "drop":
            request.transport.abort()
            raise ConnectionResetError("dropped on purpose")
        async with self._client.post(f"{self.upstream}/chat/completions", data=raw,
                                     headers={"Content-Type": "application/json"}) as resp:
            data = await resp.read()
            if resp.status != 200:
                self._log(key, attempt, f"upstream {resp.status}")
            return web.Response(body=data, status=resp.status, content_type="application/json")

    async def _models(self, request):
        from aiohttp import web

        async with self._client.get(f"{self.upstream}/models") as resp:
            return web.Response(body=await resp.read(), status=resp.status, content_type="application/json")

    def _log(self, key: str, attempt: int, outcome: str) -> None:
        with self._lock:
            self.calls.append(Call(len(self.calls), key, attempt, outcome, self.session))

    async def _serve(self) -> None:
        import aiohttp
        from aiohttp import web

        self._stop = asyncio.Event()
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()
            await self._client.close()

    def start(self) -> "FaultServer":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())

        self._thread = threading.Thread(target=run, name="fault-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("fault server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(30)

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
