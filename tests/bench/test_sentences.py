"""The embedding group's texts: the same on every call, as many words as the bench says."""

from __future__ import annotations

import random

from bench import sentences


def test_the_texts_are_the_same_on_every_call() -> None:
    assert sentences.sentences() == sentences.sentences()
    assert len(sentences.sentences()) == sentences.COUNT
    # Pinned: a change here changes what every target of the group is measured on, and
    # makes runs before and after it incomparable.
    assert sentences.sentences()[0] == (
        "Single sign-on is stuck on loading for everyone in our office."
    )


def test_another_seed_gives_other_texts() -> None:
    assert sentences.sentences(32, seed=1) != sentences.sentences(32, seed=2)
    assert sentences.sentences(32, seed=1) == sentences.sentences(32, seed=1)


def test_every_text_has_5_to_40_words_and_lengths_vary() -> None:
    texts = sentences.sentences()
    shortest, longest, mean = sentences.word_counts(texts)
    assert shortest >= sentences.MIN_WORDS
    assert longest <= sentences.MAX_WORDS
    # Unequal lengths are what a batching server pads: short and long texts both occur.
    assert shortest <= 8
    assert longest >= 30
    assert 12 <= mean <= 30


def test_texts_end_on_a_full_sentence_and_are_mostly_distinct() -> None:
    texts = sentences.sentences()
    assert all(t.endswith((".", "?")) for t in texts)
    assert len(set(texts)) >= 0.9 * len(texts)


def test_a_ticket_never_falls_below_the_minimum_even_for_a_short_draw() -> None:
    rng = random.Random(0)
    for _ in range(200):
        assert len(sentences.ticket(rng, min_words=12, max_words=12).split()) >= 12
