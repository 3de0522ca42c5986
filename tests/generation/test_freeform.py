"""Free-form texts: LLM counterparts of human texts, paired by source_id, on the real model."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from artifactual.config import parse_config
from artifactual.generation.freeform import split_prefix
from artifactual.generation.run import generate
from artifactual.records import Text, record_from_json

CORPUS = Path(__file__).resolve().parents[2] / "src" / "artifactual" / "data" / "freeform_human.jsonl"


def freeform_config(data: Path | str = CORPUS, *, strategies: list[str] | None = None,
                    seeds: list[int] | None = None, **section) -> object:
    body = {"data": str(data), "limit": 2, **section}
    cfg = {"name": "freeform-test", "generator": "freeform", "model": "default",
           "sampling": {"temperature": 0.8, "top_p": 0.95, "max_tokens": 24},
           "seeds": seeds or [0], "freeform": body}
    if strategies:
        cfg["strategies"] = strategies
    return parse_config(cfg)


def _records(run: Path) -> list[Text]:
    return [record_from_json(x) for x in (run / "records.jsonl").read_text().splitlines()]


def _errors(run: Path) -> list[dict]:
    p = run / "errors.jsonl"
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def _corpus() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, CORPUS.read_text().splitlines())}


@pytest.fixture(scope="module")
def answer_run(engine, tmp_path_factory) -> Path:
    """Two human texts x two strategies x two seeds, answer mode."""
    run = tmp_path_factory.mktemp("freeform") / "answer"
    res = generate(freeform_config(strategies=["freeform-answer", "freeform-plain"], seeds=[0, 1]),
                   run, backend=engine)
    assert res.n_total == 8 and res.n_new == 8
    return run


def test_split_prefix_keeps_the_text_verbatim():
    text = "One  two\tthree four five"
    assert split_prefix(text, 2) == ("One  two", "\tthree four five")
    assert split_prefix("just three words", 3) is None


def test_pairing_and_provenance(answer_run):
    recs = _records(answer_run)
    assert all(isinstance(r, Text) for r in recs)
    humans = [r for r in recs if r.origin == "human"]
    llms = [r for r in recs if r.origin == "llm"]
    corpus = _corpus()
    # the human side is written once per text, however many strategies x seeds are swept
    assert sorted(r.id for r in humans) == ["human:h01", "human:h02"]
    for h in humans:
        assert h.source_id == h.id.split(":", 1)[1] and h.provenance is None
        assert h.text == corpus[h.source_id]["text"] and h.meta["prompt"] == corpus[h.source_id]["prompt"]
    assert Counter(r.source_id for r in llms) == {"h01": 4, "h02": 4}
    assert {r.id for r in llms} == {f"llm:{s}:s{k}:{i}" for s in ("freeform-answer", "freeform-plain")
                                    for k in (0, 1) for i in ("h01", "h02")}
    for r in llms:
        p = r.provenance
        assert p.generator == "freeform" and p.strategy == r.id.split(":")[1] and len(p.strategy_sha256) == 64
        assert p.seed == int(r.id.split(":")[2][1:]) and p.model == "smollm2-135m-instruct"
        assert p.usage.completion_tokens > 0 and p.usage.prompt_tokens > 0
        # length matching: target = human words; max_tokens from it, capped by sampling.max_tokens
        human_words = len(corpus[r.source_id]["text"].split())
        assert r.meta["target_words"] == human_words == r.meta["human_words"]
        assert p.sampling.max_tokens == r.meta["max_tokens"] == 24
        assert p.usage.completion_tokens <= 24 and r.text.strip()
    assert len({r.text for r in llms}) > 1  # seeds and strategies give different texts
    assert not _errors(answer_run)


def test_length_target_reaches_prompt_and_max_tokens(tmp_path):
    from artifactual.generation.freeform import build

    cfg = freeform_config(length_ratio=0.5)
    cfg = cfg.model_copy(update={"sampling": cfg.sampling.model_copy(update={"max_tokens": 512})})
    units = build(cfg, cfg.section)
    words = len(_corpus()["h01"]["text"].split())
    u = units[0]
    assert u.target_words == round(words * 0.5)
    assert f"about {u.target_words} words" in u.request.messages[-1]["content"]
    assert u.request.sampling.max_tokens == math.ceil(u.target_words * 1.4 * 1.5)  # under the cap
    off = freeform_config(length_match=False)
    u2 = build(off, off.section)[0]
    assert u2.target_words is None and u2.request.sampling.max_tokens == 24
    assert "words" not in u2.request.messages[-1]["content"]


def test_continue_mode_stores_the_shared_prefix(engine, tmp_path):
    run = tmp_path / "continue"
    generate(freeform_config(mode="continue", prefix_tokens=6), run, backend=engine)
    recs = {r.id: r for r in _records(run)}
    corpus = _corpus()
    for sid in ("h01", "h02"):
        human, llm = recs[f"human:{sid}"], recs[f"llm:freeform-continue:s0:{sid}"]
        prefix = " ".join(corpus[sid]["text"].split()[:6])
        assert human.meta["prefix"] == llm.meta["prefix"] == prefix
        assert human.text == corpus[sid]["text"] and human.text.startswith(prefix)
        assert llm.text.startswith(prefix + " ")
        continuation = llm.text[len(prefix):].strip()
        assert continuation and llm.meta["target_words"] == len(corpus[sid]["text"].split()) - 6
        assert llm.text != human.text
    # the model sees the prefix, never the human continuation
    from artifactual.generation.freeform import build

    cfg = freeform_config(mode="continue", prefix_tokens=6)
    message = build(cfg, cfg.section)[0].request.messages[-1]["content"]
    rest = corpus["h01"]["text"][len(" ".join(corpus["h01"]["text"].split()[:6])):]
    assert " ".join(corpus["h01"]["text"].split()[:6]) in message and rest.strip() not in message


def test_resume_after_kill(engine, tmp_path):
    run = tmp_path / "rewrite"
    cfg = freeform_config(mode="rewrite", limit=3)
    generate(cfg, run, backend=engine)
    path = run / "records.jsonl"
    full = path.read_bytes().splitlines(keepends=True)
    assert len(full) == 6  # human + llm per text
    kept = b"".join(full[:3])  # drop the last llm, the last human and one more llm
    path.write_bytes(kept + full[3][:25])  # a torn line, as a hard kill leaves it
    res = generate(cfg, run, backend=engine)
    assert res.n_new == 2 and res.n_skipped == 1
    after = path.read_bytes()
    assert after.startswith(kept)
    ids = [r.id for r in _records(run)]
    assert len(ids) == len(set(ids)) == 6
    before = {r.id: r.text for r in (record_from_json(x.decode()) for x in full)}
    assert {r.id: r.text for r in _records(run)} == before  # replayed from the request cache
    assert generate(cfg, run, backend=engine).n_new == 0
    assert path.read_bytes() == after


def test_bad_rows_are_reported_and_the_rest_run(engine, tmp_path):
    data = tmp_path / "corpus.csv"
    data.write_text("id,prompt,text\n"
                    "a1,Why walk?,Walking clears my head after a long day at the desk.\n"
                    ",Why run?,Running is hard on the knees but good for the lungs.\n"
                    "a3,Why swim?,\n"
                    "a1,Why cycle?,Cycling is how I get to work when it is not raining.\n"
                    "a5,,Nobody asked but I like rowing on the lake in May.\n"
                    "a6,Why climb?,Climbing teaches you to trust your own hands and feet.\n",
                    encoding="utf-8")
    run = tmp_path / "bad"
    res = generate(freeform_config(data, limit=None), run, backend=engine)
    errors = {e["where"]: e for e in _errors(run)}
    assert set(errors) == {f"{data}:{n}" for n in (3, 4, 5, 6)}
    assert "missing or empty id" in errors[f"{data}:3"]["error"] and errors[f"{data}:3"]["fix"]
    assert "empty text" in errors[f"{data}:4"]["error"]
    assert "id 'a1' repeats line" in errors[f"{data}:5"]["error"]
    assert "needs a prompt" in errors[f"{data}:6"]["error"]
    assert res.n_total == 2
    assert sorted(r.id for r in _records(run)) == ["human:a1", "human:a6", "llm:freeform-answer:s0:a1",
                                                   "llm:freeform-answer:s0:a6"]


def test_compare_text_pairs_the_run(answer_run):
    from artifactual.analysis.kinds import compare_kind

    result = compare_kind("text", [answer_run])
    assert result.summary["groups"] == ["human", "llm"] or set(result.summary["groups"]) == {"human", "llm"}
    assert result.summary["reference"] == "human" and result.summary["paired_by"] == "source_id"
    table = result.tables["texts"]
    assert Counter(table["group"]) == {"human": 2, "llm": 8}
    assert not result.comparison.empty
