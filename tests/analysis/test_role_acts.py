"""Role flips without markers, from what a turn does (real spaCy sentences, MiniLM acts)."""

from __future__ import annotations

from artifactual.analysis import audit, run_detector
from artifactual.analysis.tables import to_frames
from artifactual.records import Conversation, Speaker, Turn

TASK = "Write a Python script that tracks the daily closing price of one stock."


def _conv(cid: str, texts: list[str], task: str | None = TASK) -> Conversation:
    return Conversation(id=cid, task=task,
                        speakers=[Speaker(name="Stock Trader", role="user"),
                                  Speaker(name="Python Programmer", role="assistant")],
                        turns=[Turn(index=i, speaker=("Stock Trader", "Python Programmer")[i % 2],
                                    content=t) for i, t in enumerate(texts)])


def test_flips_of_both_sides_and_what_is_not_a_flip() -> None:
    flips = _conv("f", [
        "I'm glad you're here. How can I help you today?",                  # user offers help
        "Your task is to write a Python script that tracks the daily closing price of one "
        "stock. Please start with the data download.",                        # hands it back
        "Here is the script:\n```python\nimport yfinance\nprint(yfinance.download('ACME'))\n```",
        "Thanks, I will run it."])
    clean = _conv("c", [
        "Please write a function that downloads the daily closing prices of one stock.",
        "Which stock ticker and which data source should I use?",           # asks for info
        "Use the ticker ACME and the free Yahoo Finance data.",
        "Here is the function:\n```python\ndef closes(t):\n    return download(t)['Close']\n```"])
    turns, _ = to_frames([flips, clean])
    out = run_detector("role_flip_unmarked", turns)
    assert out["role_flip_unmarked"].tolist() == [True, True, True, False,
                                                  False, False, False, False]
    assert out["evidence"].iloc[0].startswith("offers_help:")
    assert out["evidence"].iloc[1].startswith("instructs:")
    assert out["evidence"].iloc[2].startswith("delivers_work:")
    assert (out["evidence"].iloc[4:] == "").all()


def test_not_applicable_without_a_task_or_declared_roles(tmp_path) -> None:
    chat = _conv("chat", ["Have you seen the new Star Wars film?", "Yes, I loved the music."],
                 task=None)
    path = tmp_path / "records.jsonl"
    path.write_text(chat.model_dump_json() + "\n", encoding="utf-8")
    result = audit(path, detectors=["role_flip_unmarked"])
    assert result.summary["not_applicable"]["role_flip_unmarked"] == (
        "no task or goal statement in this corpus")
    assert result.summary.get("role_flip_unmarked_rate") is None


def test_an_assistant_that_parrots_its_request_back_hands_the_task_back() -> None:
    conv = _conv("p", ["Please list five cheap vegetarian dinners that cook in one pot.",
                       "I need you to list five cheap vegetarian dinners that cook in one pot "
                       "yourself. Please send them when you are done."],
                 task="Plan a week of student meals.")
    turns, _ = to_frames([conv])
    out = run_detector("role_flip_unmarked", turns)
    assert out["role_flip_unmarked"].tolist() == [False, True]
    assert "restating its task or request" in out["evidence"].iloc[1]


def test_a_user_proxy_relaying_a_tool_result_is_not_delivering_the_work() -> None:
    """AutoGen's user proxy posts the program's output as its own turn; the output is the
    environment's, so the instructing side is not doing the assistant's job. The same
    informing text written by the user is."""
    output = ("Code output:\nTitle: A formal dataset for olympiad theorem proving\nSummary: "
              "The dataset holds one hundred and forty nine problems taken from the shortlist. "
              "Each problem comes with a formal statement and an informal proof. The authors "
              "test three provers on it and report how many problems each one solves. The best "
              "prover solves a small share of the algebra problems. None of the provers solves "
              "a geometry problem. The paper closes with a list of open questions.")
    code = ("Here is the script:\n```python\nimport arxiv\nfor r in arxiv.Search('theorem "
            "proving').results():\n    print(r.title, r.summary)\n```")
    relayed = _conv("relay", ["Find a recent paper on formal theorem proving and summarise it.",
                              code, "exitcode: 0 (execution succeeded)\n" + output],
                    task="Find a recent paper on formal theorem proving and summarise it.")
    written = _conv("wrote", ["Find a recent paper on formal theorem proving and summarise it.",
                              code, output],
                    task="Find a recent paper on formal theorem proving and summarise it.")
    turns, _ = to_frames([relayed, written])
    out = run_detector("role_flip_unmarked", turns)
    assert out["role_flip_unmarked"].tolist() == [False, False, False, False, False, True]
    assert out["evidence"].iloc[5].startswith("delivers_work:")


def _service(cid: str, texts: list[str], task: str) -> Conversation:
    return Conversation(id=cid, task=task,
                        speakers=[Speaker(name="user", role="user"),
                                  Speaker(name="system", role="assistant")],
                        turns=[Turn(index=i, speaker=("user", "system")[i % 2], content=t)
                               for i, t in enumerate(texts)])


def test_a_service_reporting_a_balance_or_asking_to_confirm_does_not_hand_the_task_back() -> None:
    """Shaped on Schema-Guided Dialogue: "You have $..." informs (it is not "you have to"),
    and "Sure, please confirm ..." asks for a decision on the request it restates."""
    balance = _service("bal", ["Could you check how much money is in my savings account?",
                               "You have $9,377.78 in your savings account."],
                       task="Check the balance of a savings account.")
    confirm = _service("bus", ["I need a bus ticket for one from Vancouver to Seattle on March "
                               "5th at 8:30 am.",
                               "Sure, please confirm your reservation for 1 for the bus travelling "
                               "from Vancouver to Seattle, WA on March 5th at 8:30 am."],
                       task="Book a bus ticket from Vancouver to Seattle.")
    handback = _service("back", ["Could you check how much money is in my savings account?",
                                 "You have to check how much money is in your savings account "
                                 "yourself."],
                        task="Check the balance of a savings account.")
    turns, _ = to_frames([balance, confirm, handback])
    out = run_detector("role_flip_unmarked", turns)
    assert out["role_flip_unmarked"].tolist() == [False, False, False, False, False, True]
