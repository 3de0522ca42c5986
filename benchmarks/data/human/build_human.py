"""Rebuild the human dialogue sets in this folder from the public corpora (seeded).

Usage (each argument is a bare git directory of the corpus, e.g. from ``git clone --mirror``)::

    python benchmarks/data/human/build_human.py SGD_GIT TASKMASTER_GIT TOPICAL_CHAT_GIT

Writes ``task_oriented.jsonl`` (Schema-Guided Dialogue dev + Taskmaster-4 coffee orders, each
with a ``goal``) and ``chitchat.jsonl`` (Topical-Chat valid_freq, no goal), one conversation per
line in the OpenAI ``messages`` shape. See README.md for sources, licences and choices.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 0
N_SGD, N_TM4, N_TOPICAL = 100, 50, 150


def _show(git_dir: str, path: str) -> Any:
    out = subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"],
                         check=True, capture_output=True).stdout
    return json.loads(out)


def _sgd(git_dir: str, rng: random.Random) -> list[dict[str, Any]]:
    """Dev dialogues of SGD; the goal joins the descriptions of the intents the user pursued."""
    intents = {i["name"]: i["description"] for s in _show(git_dir, "dev/schema.json")
               for i in s["intents"]}
    pool: list[dict[str, Any]] = []
    for k in range(1, 15):
        pool.extend(_show(git_dir, f"dev/dialogues_{k:03d}.json"))
    rng.shuffle(pool)
    out = []
    for d in pool:
        seen: list[str] = []
        for t in d["turns"]:
            for f in t["frames"]:
                name = f.get("state", {}).get("active_intent")
                if name and name != "NONE" and name not in seen:
                    seen.append(name)
        if not seen or len(d["turns"]) < 6:
            continue
        goal = "The user wants to: " + "; then ".join(intents[n].rstrip(".").lower() for n in seen)
        msgs = [{"role": "user" if t["speaker"] == "USER" else "assistant",
                 "content": t["utterance"]} for t in d["turns"]]
        out.append({"id": f"sgd-{d['dialogue_id']}", "goal": goal + ".", "corpus": "sgd",
                    "messages": msgs})
        if len(out) == N_SGD:
            break
    return out


def _drinks(d: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for u in d["utterances"]:
        for a in u.get("annotations", []):
            if a["name"] == "request":
                try:
                    q = json.loads(a["value"]).get("query")
                except (ValueError, AttributeError):
                    q = None
                if isinstance(q, str) and q.strip() and " OR " not in q and q not in names:
                    names.append(q.strip())
    return names


def _tm4(git_dir: str, rng: random.Random) -> list[dict[str, Any]]:
    """Taskmaster-4 coffee self-dialogs with >= 6 turns; the goal names the drinks asked for."""
    pool: list[dict[str, Any]] = []
    for k in range(4):
        pool.extend(d for d in _show(git_dir, f"TM-4-2024/data/data_{k:02d}.json")
                    if len(d["utterances"]) >= 6)
    rng.shuffle(pool)
    out = []
    for d in pool[:N_TM4]:
        drinks = _drinks(d)
        goal = ("The customer wants to order " + " and ".join(drinks) if drinks else
                "The customer wants to order a drink") + " at a coffee shop."
        msgs = [{"role": "user" if u["speaker"] == "user" else "assistant", "content": u["text"]}
                for u in d["utterances"]]
        out.append({"id": f"tm4-{d['conversation_id'][4:]}", "goal": goal, "corpus": "taskmaster4",
                    "messages": msgs})
    return out


def _topical(git_dir: str, rng: random.Random) -> list[dict[str, Any]]:
    """Topical-Chat valid_freq: open chit-chat between two workers (no goal)."""
    data = _show(git_dir, "conversations/valid_freq.json")
    keys = sorted(data)
    rng.shuffle(keys)
    out = []
    for key in keys[:N_TOPICAL]:
        msgs = [{"role": "user" if m["agent"] == "agent_1" else "assistant",
                 "content": m["message"]} for m in data[key]["content"]]
        out.append({"id": f"topical-{key[2:]}", "corpus": "topical_chat", "messages": msgs})
    return out


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> None:
    """Build both files from the three corpus git directories."""
    sgd, tm, topical = argv
    rng = random.Random(SEED)
    _write(HERE / "task_oriented.jsonl", _sgd(sgd, rng) + _tm4(tm, rng))
    _write(HERE / "chitchat.jsonl", _topical(topical, rng))


if __name__ == "__main__":
    main(sys.argv[1:])
