"""Offline audit throughput vs the bare cost of parsing and embedding the same texts.

The corpus is either N synthetic 10-turn conversations (``--corpus synthetic``, the
default: seeded topics, instructions, solutions, code, digressions, thank-you loops and
impersonated lines written for this benchmark) or the 200 real GPT-4 Solo Performance
Prompting transcripts of the paper's release (``--corpus spp``, read from
``../shared/data``; it exits with a reason when that folder is absent). One process
times, side by side and alternating ``--repeat`` times:

1. **bare**: one ``nlp.pipe`` pass over every turn text (the audit's spaCy pipeline,
   the same disabled components and batch size) plus MiniLM fp32 encoding (batch 64,
   normalised) of every turn text: what parsing and embedding everything costs;
2. **audit**: ``artifactual.audit(path)`` as shipped, every default detector, reading,
   the lazy text context (only the turns a detector reads are tagged, parsed or
   embedded, each distinct text once), the encoder at its default precision (auto:
   bf16 on CPUs with native bfloat16), aggregation and the summary;
3. **audit fp32**: the same audit with ``encoder_precision="fp32"``, the reference for
   agreement.

Both models are loaded and warmed up before any timing. It prints conversations/s and
turns/s for each, what the audit parsed, tagged and embedded and the seconds each
took, the ratio bare / audit (target: >= 3x), the encoder's achieved GFLOP/s beside a
plain matmul on this CPU (what bounds the audit; ``--no-bound`` skips it), and the agreement of the audit with the
fp32 path: per detector, the turn flags that differ, and the largest difference of the
similarities the flags threshold. Stated tolerance: at most 0.5% of any detector's turn
flags differ, and every differing flag is borderline: the flagged side is within 0.005 of
a threshold it crossed (its smallest slack among the similarity conditions its evidence
quotes; for content_repetition, its similarity's distance to 0.9).

    .venv/bin/python benchmarks/audit_throughput.py [--corpus synthetic|spp]
        [--conversations 1000] [--turns 10] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vllm_server import cpu_flags  # noqa: E402

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


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SPP = SHARED / "llm-artifacts" / "simulation" / "spp_logic_grid_gpt4_200.jsonl"
# flag column -> the similarity column it thresholds
SIMILARITY = {"digression": "task_similarity", "content_repetition": "repetition_similarity"}
REPEATS = 0.9  # content_repetition's default threshold


def _bare(nlp, encoder, texts: list[str]) -> tuple[float, float]:
    """Seconds for one nlp.pipe pass and one MiniLM fp32 encoding of ``texts``."""
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=128):
        pass
    t1 = time.perf_counter()
    encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                   show_progress_bar=False)
    return t1 - t0, time.perf_counter() - t1


def _audit(path: Path, precision: str | None):
    """Seconds for the full audit, and its result."""
    from artifactual.analysis import audit

    t0 = time.perf_counter()
    result = audit(path, encoder_precision=precision)
    return time.perf_counter() - t0, result


_SLACK = re.compile(r"similarity (-?\d+\.\d+) <= (-?\d+\.\d+)")
MARGIN = 0.005  # a differing flag must sit this close to a threshold it crossed


def _margin(col: str, fast_row, ref_row) -> float:
    """How far the flagged side of a differing flag is from un-flagging: the smallest
    slack of the similarity conditions its evidence quotes (digression), or the distance
    of the similarity to 0.9 (content_repetition)."""
    if col == "content_repetition":
        return abs(float(ref_row["repetition_similarity"]) - REPEATS)
    flagged = fast_row if bool(fast_row[col]) else ref_row
    slacks = [float(t) - float(x) for x, t in _SLACK.findall(str(flagged["evidence"]))]
    return min(slacks) if slacks else float("nan")


def _agreement(fast, ref) -> list[str]:
    """Lines: per detector flag column, the turn flags that differ from the fp32 audit,
    the largest change of the similarity it thresholds, and the differing flags' margins."""
    lines, ok = [], True
    flag_cols = [c for c in ref.turns.columns if ref.turns[c].dtype.name in ("bool", "boolean")
                 and c in fast.turns.columns]
    for col in flag_cols:
        a = fast.turns[col].astype("boolean")
        b = ref.turns[col].astype("boolean")
        known = a.notna() & b.notna()
        n = int(known.sum())
        if n == 0:
            continue
        diff = known & (a != b)
        share = int(diff.sum()) / n
        line = f"  {col:<20} {int(diff.sum()):>4} of {n:>6} turn flags differ ({share:.2%})"
        if col in SIMILARITY:
            sim = SIMILARITY[col]
            d = (fast.turns[sim] - ref.turns[sim]).abs()
            margins = [_margin(col, fast.turns.loc[i], ref.turns.loc[i])
                       for i in diff[diff].index]
            worst = max(margins) if margins else 0.0
            line += f"; max |d {sim}| {d.max():.5f}; differing flags' margin <= {worst:.4f}"
            ok &= worst <= MARGIN
        ok &= share <= 0.005
        lines.append(line)
    lines.append(f"  tolerance (<= 0.5% of a detector's flags differ, each within {MARGIN} of a "
                 f"threshold it crossed): {'MET' if ok else 'NOT MET'}")
    return lines


def _encoder_bound(encoder, texts: list[str]) -> list[str]:
    """Lines: MiniLM's achieved GFLOP/s in its linear layers (from the token count after
    truncation and the model's shape) at fp32 and under bf16 autocast, beside a plain
    matrix product of the same width on this CPU: how close the encoder runs to the
    hardware, and so what bounds an audit whose time is the encoder's."""
    import torch

    cfg = encoder[0].auto_model.config
    hidden, inter, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    limit = encoder.max_seq_length
    n_tok = sum(min(len(ids), limit) for ids in encoder.tokenizer(texts)["input_ids"])
    flop = n_tok * layers * (4 * hidden * hidden + 2 * hidden * inter) * 2
    lines = [f"encoder bound: {len(texts)} texts, {n_tok} word pieces after truncation to {limit}"]
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        ctx = torch.autocast("cpu", dtype=torch.bfloat16, enabled=name == "bf16")
        with ctx:
            encoder.encode(texts[:128], batch_size=64, show_progress_bar=False)
            t0 = time.perf_counter()
            encoder.encode(texts, batch_size=64, show_progress_bar=False)
            secs = time.perf_counter() - t0
        a = torch.randn(64 * 32, hidden, dtype=dtype)
        b = torch.randn(hidden, inter, dtype=dtype)
        for _ in range(3):
            a @ b
        t0 = time.perf_counter()
        for _ in range(50):
            a @ b
        peak = 50 * 2 * a.shape[0] * hidden * inter / (time.perf_counter() - t0) / 1e9
        got = flop / secs / 1e9
        lines.append(f"  {name}: encode {secs:6.2f} s = {got:6.1f} GFLOP/s in the linear layers; "
                     f"a plain {a.shape[0]}x{hidden}x{inter} matmul {peak:6.1f} GFLOP/s "
                     f"({got / peak:.0%})")
    return lines




def _corpus(args, tmp: Path) -> Path:
    if args.corpus == "spp":
        if not SPP.exists():
            sys.exit(f"--corpus spp reads {SPP}, which is absent (the paper's release in "
                     "../shared/data); use --corpus synthetic")
        return SPP
    path = tmp / "records.jsonl"
    write_corpus(path, args.conversations, args.turns, args.seed)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("synthetic", "spp"), default="synthetic")
    ap.add_argument("--conversations", type=int, default=1000, help="synthetic corpus size")
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate bare and the audits this many times; report the fastest")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--no-bound", action="store_true",
                    help="skip timing the encoder against a plain matmul (GFLOP/s)")
    args = ap.parse_args()

    import torch

    from artifactual.analysis.registry import default_detectors
    from artifactual.analysis.encoder import resolve_precision
    from artifactual.analysis.text import load_encoder, load_nlp
    from artifactual.readers import ErrorLog, read

    with tempfile.TemporaryDirectory() as tmp:
        path = _corpus(args, Path(tmp))
        convs = [c for c in read(path, errors=ErrorLog()) if hasattr(c, "turns")]
        texts = [t.content for conv in convs for t in conv.turns]
        n, n_turns = len(convs), len(texts)
        print(f"CPU: {cpu_flags()}; torch threads {torch.get_num_threads()}")
        print(f"{args.corpus}: {n} conversations, {n_turns} turns ({len(set(texts))} distinct, "
              f"{sum(len(t.split()) for t in texts) / max(n_turns, 1):.0f} words each); "
              f"detectors: {', '.join(default_detectors())}; audit precision: "
              f"{resolve_precision()}")
        nlp, encoder = load_nlp(), load_encoder()
        list(nlp.pipe(texts[:64]))  # warm-up: first batches pay one-off costs
        encoder.encode(texts[:64], batch_size=64, show_progress_bar=False)
        _audit(path, None)  # warm-up of the tagger-only pipeline and the bf16 kernels
        runs: dict[str, list] = {"bare": [], "audit": [], "audit fp32": []}
        for r in range(args.repeat):
            parse_s, embed_s = _bare(nlp, encoder, texts)
            runs["bare"].append((parse_s + embed_s, (parse_s, embed_s)))
            runs["audit"].append(_audit(path, None))
            runs["audit fp32"].append(_audit(path, "fp32"))
            print(f"run {r + 1}: bare {parse_s + embed_s:.2f} s (nlp.pipe {parse_s:.2f} + MiniLM "
                  f"{embed_s:.2f}); audit {runs['audit'][-1][0]:.2f} s; audit fp32 "
                  f"{runs['audit fp32'][-1][0]:.2f} s")
        best = {k: min(v, key=lambda x: x[0]) for k, v in runs.items()}
        figures: dict[str, dict] = {}
        for name, (secs, extra) in best.items():
            figures[name] = {"seconds": round(secs, 3), "conversations_per_s": round(n / secs, 2),
                             "turns_per_s": round(n_turns / secs, 1)}
            detail = (f"nlp.pipe {extra[0]:.2f} s + MiniLM fp32 {extra[1]:.2f} s"
                      if name == "bare" else _stats(extra.summary["text_models"]))
            print(f"{name:<11} {secs:7.2f} s  {n / secs:7.1f} conversations/s  "
                  f"{n_turns / secs:8.1f} turns/s  ({detail})")
        ratio = best["bare"][0] / best["audit"][0]
        print(f"bare / audit = {ratio:.2f}x (target >= 3x); bare / audit fp32 = "
              f"{best['bare'][0] / best['audit fp32'][0]:.2f}x")
        print("agreement of the audit with the fp32 audit:")
        lines = _agreement(best["audit"][1], best["audit fp32"][1])
        print("\n".join(lines))
        bound = [] if args.no_bound else _encoder_bound(encoder, list(dict.fromkeys(texts)))
        print("\n".join(bound))
        if args.json:
            figures.update(bound=bound, corpus=args.corpus, conversations=n, turns=n_turns, cpu=cpu_flags(),
                           ratio_bare_over_audit=round(ratio, 3), agreement=lines)
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def _stats(tm: dict) -> str:
    return (f"{tm['encoder_precision']}: parsed {tm.get('parsed', 0)}, tagged "
            f"{tm.get('tagged', 0)} in {tm.get('parse_s', 0):.2f} s; embedded "
            f"{tm.get('embedded', 0)} in {tm.get('embed_s', 0):.2f} s")


if __name__ == "__main__":
    main()
