"""Offline audit throughput vs the bare cost of parsing and embedding the same texts.

Generates N synthetic 10-turn conversations (seeded; topics, instructions, solutions,
code, digressions, thank-you loops and impersonated lines written for this benchmark),
writes them as a records JSONL file, then times in one process:

1. **bare**: one ``nlp.pipe`` pass (the audit's spaCy pipeline, same disabled
   components and batch size) plus MiniLM encoding (batch 64, normalised) of every
   turn text;
2. **audit**: ``artifactual.audit(path)`` with every registered detector: reading,
   the shared text context (parse + embed, task statements included), all detectors,
   aggregation and the summary.

Both models are loaded and warmed up before either timing. Prints conversations/s for
each, the audit's time per stage, and the ratio audit / bare (target: <= 1.5x).

    .venv/bin/python benchmarks/audit_throughput.py [--conversations 1000] [--turns 10]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

TOPICS = ["a tomato bed on a balcony", "a sourdough starter", "a bicycle drivetrain",
          "a budget for a student term", "a rail trip through the Alps", "a home aquarium",
          "a wooden birdhouse", "a small bakery menu", "a CSV of sales records",
          "a museum visit for a school class", "a beginner running plan", "a flower shop page"]
VERBS = ["Describe", "List", "Explain", "Suggest", "Choose", "Compare", "Estimate", "Write",
         "Outline", "Recommend"]
THINGS = ["the first step", "two common mistakes", "a cheap option", "the main risk",
          "a weekly routine", "the tools needed", "a realistic timeline", "one way to save time",
          "the best order of tasks", "a quick test"]
FACTS = ["{n} minutes of preparation keep the work calm and predictable",
         "most beginners underestimate the effort by about {n} percent",
         "a checklist with {n} items catches nearly every problem early",
         "the cost stays under {n} pounds if parts are bought second hand",
         "results improve after {n} days of steady practice",
         "experts repeat the basic routine {n} times before changing anything"]
DIGRESSIONS = ["By the way, the football club signed a striker for {n} million euros.",
               "Unrelated, but my cousin adopted a grey parrot that knows {n} words.",
               "The weather in Lisbon was sunny for {n} days in a row last spring."]


def _turn(rng: random.Random, topic: str, i: int, user: str) -> str:
    n = rng.randint(2, 500)
    if i % 2 == 0:
        text = f"{rng.choice(VERBS)} {rng.choice(THINGS)} for {topic}, in {n} words or fewer."
        return ("Instruction: " + text + "\nInput: None") if rng.random() < 0.5 else text
    roll = rng.random()
    fact = rng.choice(FACTS).format(n=n)
    if roll < 0.08:
        return rng.choice(DIGRESSIONS).format(n=n)
    if roll < 0.14:
        return f"Thank you, that helps with {topic}. Happy to help again ({n})!"
    if roll < 0.18:
        return f"For {topic}, {fact}.\n{user}: Great, what should I do next?"
    if roll < 0.28:
        return (f"For {topic}, {fact}. Here is a helper:\n```python\n"
                f"def plan(days={n}):\n    return list(range(days))\n```")
    return f"For {topic}, {fact}. After that, the next part gets easier. Next request."


def write_corpus(path: Path, n_conversations: int, n_turns: int, seed: int) -> None:
    """N records of 10-turn role-play conversations, seeded."""
    from artifactual.records import Conversation, Provenance, Speaker, Turn, record_to_json

    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for c in range(n_conversations):
            topic = rng.choice(TOPICS)
            user, assistant = "Planner", "Expert"
            turns = [Turn(index=i, speaker=user if i % 2 == 0 else assistant,
                          content=_turn(rng, topic, i, user)) for i in range(n_turns)]
            conv = Conversation(
                id=f"bench-{c}", task=f"Plan {topic}.", specified_task=f"Make a plan for {topic}.",
                speakers=[Speaker(name=user, role="user"), Speaker(name=assistant, role="assistant")],
                turns=turns, termination_reason="max_turns_reached",
                provenance=Provenance(generator="bench", strategy=rng.choice(["a", "b"]),
                                      model="synthetic", backend="none", seed=seed))
            f.write(record_to_json(conv) + "\n")


def _bare(nlp, encoder, texts: list[str]) -> tuple[float, float]:
    """Seconds for one nlp.pipe pass and one MiniLM encoding of ``texts``."""
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=128):
        pass
    t1 = time.perf_counter()
    encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                   show_progress_bar=False)
    return t1 - t0, time.perf_counter() - t1


def _audit(path: Path) -> tuple[float, dict[str, float], int]:
    """Seconds for the full audit, the end time of each stage, and the turns audited."""
    from artifactual.analysis import audit

    ends: dict[str, float] = {}
    t0 = time.perf_counter()
    result = audit(path, progress=lambda stage, done, total: ends.__setitem__(
        stage, time.perf_counter() - t0))
    return time.perf_counter() - t0, ends, len(result.turns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate bare and audit this many times; report the fastest of each")
    args = ap.parse_args()

    from artifactual.analysis import available_detectors
    from artifactual.analysis.text import load_encoder, load_nlp
    from artifactual.readers import read

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        write_corpus(path, args.conversations, args.turns, args.seed)
        texts = [t.content for conv in read(path) for t in conv.turns]
        n = args.conversations
        print(f"{n} conversations x {args.turns} turns = {len(texts)} turns "
              f"({len(set(texts))} distinct texts); detectors: {', '.join(available_detectors())}")
        nlp, encoder = load_nlp(), load_encoder()
        list(nlp.pipe(texts[:64]))  # warm-up: first batches pay one-off costs
        encoder.encode(texts[:64], batch_size=64, show_progress_bar=False)
        bares, audits = [], []
        for r in range(args.repeat):
            parse_s, embed_s = _bare(nlp, encoder, texts)
            bares.append((parse_s + embed_s, parse_s, embed_s))
            full, ends, n_turns = _audit(path)
            audits.append((full, ends))
            print(f"run {r + 1}: bare {parse_s + embed_s:.2f} s (nlp.pipe {parse_s:.2f} + MiniLM "
                  f"{embed_s:.2f}); audit {full:.2f} s ({n_turns} turns)")
        bare, parse_s, embed_s = min(bares)
        full, ends = min(audits, key=lambda a: a[0])
        print(f"bare:  nlp.pipe {parse_s:7.2f} s + MiniLM {embed_s:7.2f} s = {bare:7.2f} s "
              f"-> {n / bare:7.1f} conversations/s")
        print(f"audit: {full:7.2f} s -> {n / full:7.1f} conversations/s")
        prev = 0.0
        for stage, end in ends.items():
            print(f"  {stage:<8} ends {end:7.2f} s (+{end - prev:.2f} s)")
            prev = end
        print(f"  summary  ends {full:7.2f} s (+{full - prev:.2f} s)")
        print(f"ratio audit / bare = {full / bare:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
