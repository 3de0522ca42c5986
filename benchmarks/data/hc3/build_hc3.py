"""Trim HC3 (Human ChatGPT Comparison Corpus, English) to a small paired file.

Reads the per-domain JSONL files of HC3 (``{"question", "human_answers": [...],
"chatgpt_answers": [...]}`` per line) from a copy of the dataset and writes
``hc3_pairs.jsonl`` next to this script: one row per question, ``{"id", "domain",
"question", "human_text", "machine_text"}`` (the texts readers turn such a row into a
human and an LLM Text sharing ``source_id = id``; ``domain`` is kept for ``--context``).

Selection, fixed before any metric was computed: for each domain, the questions with
exactly one human answer, paired with the first ChatGPT answer (open_qa has three per
question; the others have one), both of at least ``--min-words`` (20) words (style
measures need running text; open_qa human answers have a median of 27 words, so 20 and
not more), shuffled with ``random.Random(seed)`` and the
first ``--per-domain`` kept. Texts are unchanged apart from stripping outer whitespace.

    python benchmarks/data/hc3/build_hc3.py --hc3 DIR [--per-domain 100] [--seed 0]

``DIR`` holds ``medicine.jsonl``, ``open_qa.jsonl`` and ``wiki_csai.jsonl`` (the copy
used: github.com/andersenaaron1-bot/debias at a28e7f0, ``data/HC3/``, a clone of the
Hugging Face dataset Hello-SimpleAI/HC3; see SOURCES.md).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DOMAINS = ("medicine", "open_qa", "wiki_csai")
OUT = Path(__file__).resolve().parent / "hc3_pairs.jsonl"


def pairs(path: Path, domain: str, per_domain: int, min_words: int, seed: int) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        hum, gpt = obj.get("human_answers") or [], obj.get("chatgpt_answers") or []
        if len(hum) != 1 or not gpt:  # open_qa holds three ChatGPT answers: the first is used
            continue
        h, m = str(hum[0]).strip(), str(gpt[0]).strip()
        if len(h.split()) >= min_words and len(m.split()) >= min_words:
            rows.append((obj["question"].strip(), h, m))
    random.Random(seed).shuffle(rows)
    return [{"id": f"hc3-{domain}-{i:03d}", "domain": domain, "question": q,
             "human_text": h, "machine_text": m}
            for i, (q, h, m) in enumerate(rows[:per_domain])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hc3", type=Path, required=True)
    ap.add_argument("--per-domain", type=int, default=100)
    ap.add_argument("--min-words", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = [r for d in DOMAINS
           for r in pairs(a.hc3 / f"{d}.jsonl", d, a.per_domain, a.min_words, a.seed)]
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out),
                   encoding="utf-8")
    print(f"wrote {len(out)} pairs to {OUT}")


if __name__ == "__main__":
    main()
