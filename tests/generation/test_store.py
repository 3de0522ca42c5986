"""Run store: torn-tail repair, fingerprint guard, skip of finished ids, cache round trip."""

import json

import pytest

from artifactual.errors import RunStoreError
from artifactual.generation.backends.base import ChatRequest, ChatResult, request_key
from artifactual.generation.store import ResultCache, RunStore
from artifactual.records import Conversation, Turn


def conv(i: int) -> Conversation:
    return Conversation(id=f"c{i}", task="t", turns=[Turn(index=0, speaker="A", content=f"hello {i}")])


def test_append_skips_duplicates_and_survives_torn_tail(tmp_path):
    store = RunStore(tmp_path, {"name": "x"})
    assert store.append([conv(0), conv(1)]) == 2
    assert store.append([conv(1)]) == 0
    store.close()
    good = (tmp_path / "records.jsonl").read_bytes()
    with open(tmp_path / "records.jsonl", "ab") as fh:  # a hard kill mid-write
        fh.write(b'{"kind":"conversation","id":"c2","tur')
    store = RunStore(tmp_path, {"name": "x"})
    assert store.done_ids == {"c0", "c1"}
    assert (tmp_path / "records.jsonl").read_bytes() == good
    store.append([conv(2)])
    store.close()
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["c0", "c1", "c2"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["resumed_at"]) == 1


def test_other_config_is_refused(tmp_path):
    RunStore(tmp_path, {"name": "x"}).close()
    with pytest.raises(RunStoreError, match="different config"):
        RunStore(tmp_path, {"name": "y"})


def test_cache_keeps_only_successes(tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    ok = ChatRequest(messages=[{"role": "user", "content": "hi"}])
    bad = ChatRequest(messages=[{"role": "user", "content": "boom"}])
    k1, k2 = request_key("m", ok), request_key("m", bad)
    assert k1 != k2
    cache.put_many([(k1, ChatResult(text="hello", completion_tokens=1)), (k2, ChatResult(error="x"))])
    got = cache.get_many([k1, k2])
    assert set(got) == {k1} and got[k1].text == "hello" and got[k1].cached
    # the seed is part of the key; the tag is not
    seeded = ok.model_copy(update={"sampling": ok.sampling.model_copy(update={"seed": 7})})
    assert request_key("m", seeded) != k1
    assert request_key("m", ok.model_copy(update={"tag": "other"})) == k1
