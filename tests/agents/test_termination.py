"""Termination rules on hand-written dialogues."""

from artifactual.agents.termination import (
    Termination, TurnView, assistant_role_flip, max_messages, near_duplicate, repetition_loop,
    task_done, user_without_instruction)

U, A = "user", "assistant"


def dlg(*pairs: tuple[str, str]) -> list[TurnView]:
    return [TurnView(r, c) for r, c in pairs]


GOOD = dlg((U, "Instruction: list three tomato varieties.\nInput: None"),
           (A, "Solution: Roma, Cherokee Purple, Sungold. Next request."))


def test_task_done_fires_on_user_token_only():
    rule = task_done()
    assert rule(GOOD + dlg((U, "<CAMEL_TASK_DONE>")), None) == "task_done"
    assert rule(GOOD + dlg((A, "Solution: done <CAMEL_TASK_DONE>")), None) is None
    assert rule(GOOD, None) is None


def test_max_messages():
    assert max_messages(2)(GOOD, None) == "max_messages"
    assert max_messages(3)(GOOD, None) is None


def test_assistant_role_flip():
    flipped = GOOD + dlg((U, "Instruction: water them?\nInput: None"),
                         (A, "Instruction: tell me your soil type.\nInput: None"))
    assert assistant_role_flip()(flipped, None) == "assistant_role_flip"
    assert assistant_role_flip()(GOOD, None) is None
    # a user instruction is not an assistant flip
    assert assistant_role_flip()(GOOD[:1], None) is None


def test_user_without_instruction_counts_consecutive_user_turns():
    chatty = dlg((U, "Hello there"), (A, "Solution: hi. Next request."),
                 (U, "Thanks!"), (A, "Solution: welcome. Next request."), (U, "Great work"))
    assert user_without_instruction(3)(chatty, None) == "user_without_instruction"
    assert user_without_instruction(4)(chatty, None) is None
    mixed = chatty[:4] + dlg((U, "Instruction: prune the roses.\nInput: None"))
    assert user_without_instruction(3)(mixed, None) is None
    # the done token is not a missing instruction
    done = chatty[:4] + dlg((U, "<CAMEL_TASK_DONE>"))
    assert user_without_instruction(3)(done, None) is None


def test_repetition_loop_thank_you_loop_and_echo():
    loop = GOOD + dlg((U, "Thank you so much for your help!"), (A, "You're welcome! Happy to help."),
                      (U, "Thank you so much for your help!"), (A, "You're welcome! Happy to help!"))
    assert repetition_loop()(loop, None) == "repetition_loop"
    echo = GOOD + dlg((U, "Instruction: add compost.\nInput: None"),
                      (A, "Instruction: add compost.\nInput: None"))
    assert repetition_loop()(echo, None) == "repetition_loop"
    assert repetition_loop()(GOOD, None) is None


def test_near_duplicate_threshold():
    assert near_duplicate("Thank you very much", "thank you very much")
    assert not near_duplicate("Plant the beans in May", "Harvest the squash in October")
    assert not near_duplicate("", "something")


def test_camel_rule_order_and_backend_error():
    term = Termination.camel(max_msgs=40)
    assert term.check(GOOD, "engine exploded") == "backend_error"
    assert term.check(GOOD) is None
    both = GOOD + dlg((U, "<CAMEL_TASK_DONE>"))
    assert Termination.camel(max_msgs=3).check(both) == "task_done"  # done wins over max
    custom = Termination.camel(user_markers=("Task:",))
    flipped = dlg((U, "Task: sow seeds"), (A, "Task: you sow them"))
    assert custom.check(flipped) == "assistant_role_flip"
