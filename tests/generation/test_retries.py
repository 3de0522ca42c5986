"""Retries and failures of the openai backend, against a tiny loopback server.

A real vLLM server cannot answer 429 or stall on demand, so this scripted one on
127.0.0.1 does: each request takes the next action of its script (the last one
repeats). Its error bodies echo the Authorization header, to prove the key is
scrubbed from every error the run writes.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from artifactual.config import parse_config
from artifactual.generation.backends.base import ChatRequest
from artifactual.generation.backends.openai import OpenAIBackend, OpenAIOptions, backoff_delay, scrub
from artifactual.generation.run import generate
from artifactual.records import Sampling, record_from_json

KEY = "sk-loopback-SECRET-4242"
KEY_ENV = "ARTIFACTUAL_LOOPBACK_KEY"


class Loopback:
    """A scripted chat-completions server: actions are ``ok``, ``stall`` or an HTTP status."""

    def __init__(self, script: list[str], delay_s: float = 0.0):
        self.script, self.delay_s = list(script), delay_s
        self.hits: list[str] = []
        self.auth: set[str] = set()
        self.inflight = self.max_inflight = 0
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _next(self) -> str:
        with self.lock:
            action = self.script[min(len(self.hits), len(self.script) - 1)]
            self.hits.append(action)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            return action

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.auth.add(self.headers.get("Authorization", ""))
                action = server._next()
                try:
                    if action == "stall":  # longer than the client's timeout
                        server.release.wait(timeout=10)
                        return
                    if server.delay_s:
                        server.release.wait(timeout=server.delay_s)
                    if action == "ok":
                        n = len(server.hits)
                        self._send(200, {
                            "id": f"c{n}", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                "role": "assistant", "content": f"Noted, step {n}."}}],
                            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
                    else:
                        echo = f"denied for {self.headers.get('Authorization')}"
                        self._send(int(action), {"error": {"message": echo, "code": int(action)}},
                                   {"Retry-After": "0"} if action == "429" else {})
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.inflight -= 1

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> "Loopback":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def _options(server: Loopback, **over) -> dict:
    opts = {"base_url": server.base_url, "api_key_env": KEY_ENV, "timeout_s": 0.5, "max_retries": 4,
            "backoff_base_s": 0.01, "backoff_max_s": 0.05, "concurrency": 1}
    opts.update(over)
    return opts


def _config(server: Loopback, **over) -> dict:
    return {"name": "retry", "model": "remote-model", "backend": "openai", "openai": _options(server, **over),
            "sampling": {"max_tokens": 16}, "strategies": ["camel"], "seeds": [0],
            "roleplay": {"tasks": [{"assistant_role": "Clerk", "user_role": "Visitor", "task": "Find a form."}],
                         "specify_task": False, "max_messages": 2}}


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def test_backoff_grows_with_jitter_and_respects_caps():
    rng = random.Random(0)
    for attempt in range(8):
        span = min(4.0, 0.25 * 2 ** attempt)
        for _ in range(20):
            d = backoff_delay(attempt, 0.25, 4.0, rng)
            assert span / 2 <= d <= span
    delays = {backoff_delay(3, 0.25, 4.0, rng) for _ in range(20)}
    assert len(delays) > 1  # jittered
    assert backoff_delay(0, 0.25, 4.0, rng, retry_after=2.0) == 2.0  # Retry-After raises the floor
    assert backoff_delay(0, 0.25, 4.0, rng, retry_after=60.0) == 4.0  # ... within the cap
    assert scrub(f"bad key {KEY}!", KEY) == "bad key ***!"


def test_run_completes_through_429_500_and_a_stall(tmp_path, assert_key_absent):
    with Loopback(["429", "500", "stall", "ok"]) as server:
        result = generate(parse_config(_config(server)), tmp_path / "run")
    assert server.hits == ["429", "500", "stall", "ok", "ok"]  # 3 retries, then both turns
    assert server.auth == {f"Bearer {KEY}"}  # the key was sent on every attempt
    rec = record_from_json((tmp_path / "run" / "records.jsonl").read_text().strip())
    assert [t.meta["role"] for t in rec.turns] == ["user", "assistant"]
    assert rec.termination_reason == "max_messages" and rec.provenance.usage.completion_tokens == 14
    assert (tmp_path / "run" / "errors.jsonl").read_text() == ""
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and result.n_new == 1
    assert manifest["sessions"][-1]["backend_stats"] == {"requests": 2, "retries": 3, "errors": 0}
    assert manifest["usage"] == {"remote-model": {"prompt_tokens": 22, "completion_tokens": 14}}
    assert manifest["cost"] is None  # no price configured
    assert_key_absent(tmp_path / "run", KEY)


def test_request_that_always_fails_becomes_an_error_row_after_the_cap(tmp_path, assert_key_absent):
    with Loopback(["503"]) as server:
        generate(parse_config(_config(server, max_retries=2)), tmp_path / "run")
    assert server.hits == ["503"] * 3  # first try + 2 retries
    rec = record_from_json((tmp_path / "run" / "records.jsonl").read_text().strip())
    assert rec.termination_reason == "backend_error" and rec.turns == []
    assert "HTTP 503 after 3 attempt(s)" in rec.meta["error"] and "***" in rec.meta["error"]
    errors = [json.loads(x) for x in (tmp_path / "run" / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 1 and errors[0]["record_id"] == rec.id and "HTTP 503" in errors[0]["error"]
    assert_key_absent(tmp_path / "run", KEY)


def test_client_errors_are_not_retried_and_concurrency_is_bounded():
    req = ChatRequest(messages=[{"role": "user", "content": "hi"}], sampling=Sampling(max_tokens=4, seed=1))
    with Loopback(["400"]) as server:
        backend = OpenAIBackend("m", OpenAIOptions(**_options(server)))
        [res] = asyncio.run(backend.chat([req]))
    assert server.hits == ["400"] and res.error.startswith("HTTP 400") and KEY not in res.error
    with Loopback(["ok"], delay_s=0.05) as server:
        backend = OpenAIBackend("m", OpenAIOptions(**_options(server, concurrency=2)))
        out = asyncio.run(backend.chat([req] * 6))
    assert all(r.ok for r in out) and len(server.hits) == 6
    assert 1 <= server.max_inflight <= 2
