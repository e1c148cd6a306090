"""ROUGE-L in any script: the tokenizer handed to rouge-score."""

from __future__ import annotations

import random
import string

import pytest
from eval_metrics import UnicodeTokenizer, score_sample
from rouge_score import tokenizers

CHAT = {"task": "chat"}


@pytest.mark.parametrize(
    "answer",
    ["Привет, как дела?", "你好世界", "こんにちは、世界", "नमस्ते दुनिया", "Ünïcödé straße"],
)
def test_an_identical_answer_scores_one_in_any_script(answer):
    assert score_sample(answer, answer, CHAT)["rouge_l"] == pytest.approx(1.0)


def test_cjk_characters_are_tokens_and_words_are_runs_of_letters():
    text = "Hello, 世界! Привет_мир 42 ＳＥＬＥＣＴ नमस्ते 2023年"
    tokens = ["hello", "世", "界", "привет", "мир", "42", "select", "नमस्ते", "2023", "年"]
    assert UnicodeTokenizer().tokenize(text) == tokens
    # Half the characters of the reference, all in order: precision 1, recall 1/2.
    assert score_sample("你好", "你好世界", CHAT)["rouge_l"] == pytest.approx(2 / 3)
    assert score_sample("Привет", "Пока", CHAT)["rouge_l"] == 0.0


# Scores rouge-score's own tokenizer gave before the change, pinned.
ASCII_SCORES = [
    ("SELECT name FROM ships WHERE age > 30", "select name from ships where 30 < age", 6 / 7),
    ("SELECT first_name, COUNT(*) FROM t GROUP BY first_name", "SELECT first_name FROM t", 2 / 3),
    (
        "The price of the album named Granite is 1000.",
        "SELECT price FROM albums WHERE name = 'Granite'",
        0.25,
    ),
    ("Paris", "<b>Quito</b>", 0.0),
    ("Hello, World! 42 times.", "hello world 42", 6 / 7),
]


@pytest.mark.parametrize(("reference", "prediction", "score"), ASCII_SCORES)
def test_ascii_scores_are_the_ones_before(reference, prediction, score):
    assert score_sample(prediction, reference, CHAT)["rouge_l"] == pytest.approx(score, abs=1e-12)


def test_ascii_tokens_are_rouge_scores_own():
    default = tokenizers.DefaultTokenizer(use_stemmer=False)
    rng = random.Random(0)
    texts = ["".join(map(chr, range(128))), "first_name__x  A-b.C,d;1e5 O'Brien\tTAB\n"]
    texts += ["".join(rng.choices(string.printable, k=40)) for _ in range(200)]
    for text in texts:
        assert UnicodeTokenizer().tokenize(text) == default.tokenize(text), repr(text)
