"""AI-society enumeration: list parsing, the shared plan, and a real enumerate-then-role-play run."""

from __future__ import annotations

import json

from artifactual.agents.templates import load_strategy
from artifactual.config import parse_config
from artifactual.generation.backends.base import ChatResult
from artifactual.generation.run import generate
from artifactual.generation.society import Section, build, parse_list
from artifactual.records import record_from_json


def society_config(**section):
    body = {"n_assistant_roles": 2, "n_user_roles": 1, "n_tasks": 1, "max_messages": 4, "word_limit": 20}
    body.update(section)
    return parse_config({"name": "society-test", "generator": "society", "model": "default",
                         "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 40},
                         "strategies": ["camel"], "seeds": [0], "society": body})


def test_parse_list():
    assert parse_list("1. Chef\n2. **Pilot**: flies planes\n3. chef\n4. Tax - Adviser", 6) == \
        ["Chef", "Pilot", "Tax"]
    assert parse_list("Here are roles:\n- Nurse\n- Data Analyst (numbers)", 6) == ["Nurse", "Data Analyst"]
    assert parse_list("Task 1:\nPlan a garden.\nTask 2:\nBake bread.", 60) == ["Plan a garden", "Bake bread"]
    assert parse_list("1. A role with far too many words in its name here", 6) == []
    assert parse_list("", 6) == []


def test_section_refuses_explicit_tasks():
    import pytest

    from artifactual.errors import ConfigError

    with pytest.raises(ConfigError, match="society enumerates"):
        society_config(task_list=["Bake bread."])


def _answer(text: str) -> ChatResult:
    return ChatResult(text=text, prompt_tokens=5, completion_tokens=5)


def test_plan_carriers_retries_and_short_lists():
    """Drive the units by hand: one carrier per list and step, retries, enumeration_short."""
    cfg = society_config(n_assistant_roles=2, n_user_roles=1, n_tasks=2, max_enumeration_attempts=2)
    units = build(cfg, cfg.section)
    assert [u.id for u in units] == ["camel-s0-a0-u0-t0", "camel-s0-a0-u0-t1", "camel-s0-a1-u0-t0",
                                     "camel-s0-a1-u0-t1"]
    reqs = [u.next_request() for u in units]
    assert "assistant" in reqs[0].messages[0]["content"] and "kinds of people" in reqs[1].messages[0]["content"]
    assert reqs[2] is None and reqs[3] is None  # nothing left to carry: they wait this step

    def step(reqs, answers):  # as the scheduler does: only units with a request get a result
        for u, r, a in zip(units, reqs, answers):
            if r is not None:
                u.apply(_answer(a))

    step(reqs, ["1. Chef", "1. Student", "", ""])  # one role short of two: asked again
    first_seed = reqs[0].sampling.seed
    reqs = [u.next_request() for u in units]
    assert reqs.count(None) == 3
    assert "assistant" in reqs[0].messages[0]["content"] and reqs[0].sampling.seed != first_seed
    step(reqs, ["1. Chef\n2. Pilot", "", "", ""])
    assert units[0].plan.items(("assistant",)) == ["Chef", "Pilot"]
    reqs = [u.next_request() for u in units]  # tasks per pair: (0, 0) and (1, 0)
    assert "Chef" in reqs[0].messages[0]["content"] and "Pilot" in reqs[2].messages[0]["content"]
    assert reqs[1] is None and reqs[3] is None
    step(reqs, ["1. Cook soup for a student.\n2. Plan a week of meals.", "", "1. Fly to Rome.", ""])
    for _ in range(2):  # pair (1, 0) has one task of two: asked again, still one
        reqs = [u.next_request() for u in units]
        step(reqs, ["1. Fly to Rome." if r is not None and "Pilot" in r.messages[0]["content"] else ""
                    for r in reqs])
    assert all(u.done or u.session is not None for u in units[:3])
    assert units[3].done and units[3].termination_reason == "enumeration_short"
    assert units[0].session.task.task == "Cook soup for a student"
    assert units[1].session.task.task == "Plan a week of meals"
    assert (units[2].session.task.assistant_role, units[2].session.task.user_role) == ("Pilot", "Student")


def test_society_run(engine, tmp_path):
    res = generate(society_config(), tmp_path / "run", backend=engine)
    assert res.n_total == 2
    recs = [record_from_json(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert sorted(r.id for r in recs) == ["camel-s0-a0-u0-t0", "camel-s0-a1-u0-t0"]
    plans = [r.meta["society"] for r in recs]
    assert plans[0]["assistant_roles"] == plans[1]["assistant_roles"]  # one shared enumeration
    assert plans[0]["user_roles"] == plans[1]["user_roles"]
    for r, s in zip(recs, plans):
        p = r.provenance
        assert p.generator == "society" and p.strategy == "camel" and p.usage.completion_tokens > 0
        assert s["template"] == "society" and len(s["template_sha256"]) == 64
        if r.termination_reason == "enumeration_short":
            assert not r.turns
            continue
        i = s["index"]["assistant"]
        names = {sp.role: sp.name for sp in r.speakers}
        assert names == {"assistant": s["assistant_roles"][i], "user": s["user_roles"][0]}
        assert r.task == s["tasks"][0] and r.specified_task and 1 <= len(r.turns) <= 4
    # enumeration ran once: the first two steps hold the role lists, then the task lists
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
