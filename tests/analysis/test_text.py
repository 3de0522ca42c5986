"""The shared text pipeline: one spaCy pass and one MiniLM pass per audit, real models."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.analysis import audit, text
from artifactual.analysis.tables import to_frames
from artifactual.analysis.text import TextContext, build_context, context_for, task_texts
from artifactual.errors import AnalysisError
from artifactual.records import Conversation, Speaker, Turn

FIXTURES = Path(__file__).parents[1] / "fixtures"
audit_module = importlib.import_module("artifactual.analysis.audit")  # the package's `audit`
# attribute is the function, so `import ... as` would not give the module


def _turns(contents: list[str], index: list[int] | None = None) -> pd.DataFrame:
    conv = Conversation(id="c1", task="Grow tomatoes on a balcony.",
                        speakers=[Speaker(name="U", role="user"), Speaker(name="A")],
                        turns=[Turn(index=i, speaker="UA"[i % 2], content=c)
                               for i, c in enumerate(contents)])
    turns, _ = to_frames([conv])
    if index is not None:
        turns.index = pd.Index(index)
    return turns


def test_context_keys_docs_and_vectors_by_turn_label() -> None:
    turns = _turns(["Water the pots every morning.", "Thanks!", "Water the pots every morning.",
                    "Cherry tomatoes ripen with little sun."], index=[40, 7, 99, 3])
    ctx = build_context(turns, tasks={"c1": "Grow tomatoes on a balcony."})
    assert [d.text for d in ctx.docs_for([3, 40])] == ["Cherry tomatoes ripen with little sun.",
                                                       "Water the pots every morning."]
    assert ctx.docs_for([40])[0] is ctx.docs_for([99])[0]  # identical texts parsed once
    assert list(ctx.docs_for([3])[0].sents)  # the parser ran: sentence boundaries are set
    assert "ner" not in text.load_nlp().pipe_names and "parser" in text.load_nlp().pipe_names
    vecs = ctx.embeddings_for([40, 7, 99, 3])
    assert vecs.shape == (4, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vecs[0], vecs[2])
    task = ctx.task_embeddings["c1"]
    # the tomato turn is closer to the tomato task than the bare thank-you is
    assert float(vecs[3] @ task) > float(vecs[1] @ task)
    with pytest.raises(AnalysisError, match="not in the text context"):
        ctx.docs_for([5])


def test_context_for_reuses_a_covering_context_and_rebuilds_otherwise() -> None:
    turns = _turns(["Pick a sunny corner.", "Use a twenty litre pot."])
    ctx = build_context(turns, needs=("docs",))
    assert ctx.embeddings is None and ctx.covers(turns, ("docs",))
    assert context_for(turns, ctx, ("docs",)) is ctx
    assert not ctx.covers(turns, ("embeddings",))
    assert context_for(turns, ctx, ("embeddings",)).embeddings is not None
    changed = turns.assign(content=["Pick a sunny corner.", "Something else entirely."])
    assert not ctx.covers(changed, ("docs",))
    fresh = context_for(changed, ctx, ("docs",))
    assert fresh is not ctx and fresh.docs_for([1])[0].text == "Something else entirely."
    with pytest.raises(AnalysisError, match="no embeddings"):
        ctx.embeddings_for([0])


def test_empty_and_missing_text() -> None:
    empty = build_context(_turns([]))
    assert empty.docs == [] and empty.embeddings.shape == (0, 384)
    with_na = _turns(["", "Some words here."])
    with_na.loc[0, "content"] = pd.NA
    ctx = build_context(with_na)
    assert ctx.docs_for([0])[0].text == "" and ctx.texts[0] == ""
    with pytest.raises(AnalysisError, match="content"):
        build_context(with_na.drop(columns=["content"]))


def test_task_texts_prefers_the_specified_task() -> None:
    conv = pd.DataFrame({"conversation_id": ["a", "b", "c"],
                         "specified_task": ["Specific task.", None, "  "],
                         "task": ["General task.", "Only a task.", None]})
    assert task_texts(conv) == {"a": "Specific task.", "b": "Only a task."}


def test_progress_reports_parse_and_embed() -> None:
    calls: list[tuple[str, int, int | None]] = []
    build_context(_turns(["One.", "Two.", "One."]), tasks={"c1": "Count."},
                  progress=lambda *c: calls.append(c))
    assert calls[-2:] == [("parse", 2, 2), ("embed", 3, 3)]  # 2 distinct turns + 1 task


def test_audit_parses_and_embeds_every_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spies around the real functions: one context, one nlp.pipe pass, one encoding pass."""
    counts = {"build": 0, "parse": 0, "embed": 0}
    seen: list[TextContext] = []

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            counts[name] += 1
            out = fn(*args, **kwargs)
            if name == "build":
                seen.append(out)
            return out
        return wrapped

    monkeypatch.setattr(audit_module, "build_context", spy("build", audit_module.build_context))
    monkeypatch.setattr(text, "parse", spy("parse", text.parse))
    monkeypatch.setattr(text, "embed", spy("embed", text.embed))
    result = audit(FIXTURES / "camel" / "good",
                   detectors=("role_flip", "digression", "role_adherence"))
    assert counts == {"build": 1, "parse": 1, "embed": 1}
    assert seen[0].covers(result.turns, ("docs", "embeddings"))
    assert set(seen[0].task_embeddings) == set(result.conversations["conversation_id"])
    counts.update(build=0, parse=0, embed=0)
    audit(FIXTURES / "camel" / "good", detectors=("role_flip",))
    assert counts == {"build": 0, "parse": 0, "embed": 0}  # nothing needs text: no models
