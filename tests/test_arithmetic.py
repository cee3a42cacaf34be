"""The addition experiment of Chapter 1: splits, data, the exact-match shortcut, and run()'s checks."""

import random

import pytest
import regex
import torch

from groundup.experiments.arithmetic import (
    NUMBER_SPLITS,
    AdditionData,
    ArithmeticConfig,
    _exact_match,
    make_problems,
    run,
)
from groundup.experiments import threads
from groundup.gpt import GPT, GPTConfig


def split(name, text):
    return regex.findall(NUMBER_SPLITS[name], text)


def test_splits():
    assert split("single digits", "12345+67=") == ["1", "2", "3", "4", "5", "+", "6", "7", "="]
    assert split("3 digits, from the left", "12345+67=") == ["123", "45", "+", "67", "="]
    assert split("3 digits, from the right", "12345+67=") == ["12", "345", "+", "67", "="]
    assert split("3 digits, from the right", "1000005") == ["1", "000", "005"]
    for n in range(1, 2000, 7):  # the right-to-left groups are the thousands groups
        assert split("3 digits, from the right", str(n)) == f"{n:,}".split(",")


def test_problems_are_held_out_and_sized():
    config = ArithmeticConfig(max_digits=3, n_test=50)
    test, held_out = make_problems(config)
    assert sorted(test) == [1, 2, 3]
    assert len(test[1]) == 20 and len(test[2]) == len(test[3]) == 50  # d = 1: a fifth of the 100 pairs
    for d, pairs in test.items():
        assert len(set(pairs)) == len(pairs)
        assert all(len(str(a)) == len(str(b)) == d for a, b in pairs)
    assert held_out == {p for ps in test.values() for p in ps}


def char_encode(text):
    return [ord(c) for c in text]


def test_batch_marks_only_the_answer():
    data = AdditionData(char_encode)
    x, y = data.batch([(12, 34), (5, 7)])  # 12+34=46<END>, 5+7=12<END>
    assert x.shape == y.shape == (2, 8)  # the longest sequence (9 tokens) less its last
    ids = data.vocab
    assert x[0].tolist() == [ids[ord(c)] for c in "12+34=46"]
    assert x[1].tolist() == [ids[ord(c)] for c in "5+7=12"] + [data.PAD] * 2
    assert y[0].tolist() == [-1] * 5 + [ids[ord("4")], ids[ord("6")], data.END]
    assert y[1].tolist() == [-1] * 3 + [ids[ord("1")], ids[ord("2")], data.END] + [-1] * 2


def test_exact_match_equals_greedy_decoding():
    """One teacher-forced pass gives the same verdict as decoding token by token."""
    with threads(1):  # a model this small only loses time to a second thread
        check_exact_match_against_greedy()


def check_exact_match_against_greedy():
    data = AdditionData(char_encode)
    rng = random.Random(0)
    pairs = [(rng.randrange(100), rng.randrange(100)) for _ in range(24)]
    x, y = data.batch(pairs)
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=16, vocab_size=16, n_layer=1, n_head=2, n_embd=16))
    # Make some answers right: a model that has seen the batch a little gets a mix of right and wrong.
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    for _ in range(40):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        fast = _exact_match(model, x, y)
        slow = []
        for a, b in pairs:
            prompt, answer = data.problem(a, b)
            seq = list(prompt)
            for _ in answer:
                logits, _ = model(torch.tensor([seq]))
                seq.append(int(logits[0, -1].argmax()))
            slow.append(seq[len(prompt):] == answer)
    assert fast.tolist() == slow
    assert 0 < sum(slow) < len(slow), "the check needs both right and wrong answers to mean anything"


def test_run_small():
    config = ArithmeticConfig(max_digits=2, n_test=20, n_embd=16, n_head=2, steps=20, batch_size=16, warmup=5)
    results = run({"characters": char_encode}, config, progress=False)
    assert list(results.accuracy) == ["characters"]
    assert sorted(results.accuracy["characters"]) == [1, 2]
    assert all(0.0 <= a <= 1.0 for a in results.accuracy["characters"].values())
    assert len(results.losses["characters"]) == 2
    assert "characters" in results.table()


def test_run_rejects_bad_tokenizers():
    config = ArithmeticConfig(max_digits=4, n_test=5, steps=1)
    with pytest.raises(ValueError, match="at least one tokenizer"):
        run({}, config, progress=False)
    whole_numbers = lambda text: [int(t) if t.isdigit() else -ord(t) for t in regex.findall(r"\d+|\D", text)]
    with pytest.raises(ValueError, match="at most 3"):
        run({"whole numbers": whole_numbers}, config, progress=False)
    backwards = lambda text: [ord(c) for c in reversed(text)]  # "12+34=" is not "21" "+" "43" "="
    with pytest.raises(ValueError, match="differently from its parts"):
        run({"backwards": backwards}, ArithmeticConfig(max_digits=2, n_test=5, steps=1), progress=False)


def test_config_checks():
    with pytest.raises(ValueError, match="max_digits"):
        ArithmeticConfig(max_digits=0)
    with pytest.raises(ValueError, match="divisible"):
        ArithmeticConfig(n_embd=30, n_head=4)
