"""The embedding group's inputs: support-ticket sentences, the same for every target.

A search or routing service embeds what users type: one short text per request, a few
words to a few sentences. `sentences` writes such texts from fixed parts with a seeded
generator, so every run, and every target within a run, gets the same texts in the same
order, and the batching target pads batches of texts as unequal in length as real ones.

Pure Python (``random.Random`` with an integer seed gives the same sequence on every
CPython 3), so the runner needs neither numpy nor a data set.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

SEED: Final = 14
COUNT: Final = 256
"""Texts per run: wrk cycles through them, one per request."""
MIN_WORDS: Final = 5
MAX_WORDS: Final = 40

# A ticket opens with what is wrong (a subject and a symptom); details, what the user
# tried and a request follow while the text stays under its drawn length.
_SUBJECTS: Final = (
    "the invoice page",
    "my password reset email",
    "the mobile app",
    "two-factor login",
    "the CSV export",
    "our team dashboard",
    "the checkout",
    "single sign-on",
    "the search box",
    "my subscription",
    "the API key page",
    "the shipping tracker",
    "email notifications",
    "the Android widget",
    "the billing address form",
    "our webhook endpoint",
)
_SYMPTOMS: Final = (
    "keeps timing out",
    "shows the wrong currency",
    "never arrives",
    "crashes on start",
    "is stuck on loading",
    "charges me twice",
    "returns an error 500",
    "logs me out every few minutes",
    "shows last month's numbers",
    "cannot be opened",
    "rejects my card",
    "is missing half of the rows",
    "fails without any message",
    "is extremely slow today",
)
_WHEN: Final = (
    "since yesterday",
    "after the last update",
    "on Safari",
    "only on my work laptop",
    "for everyone in our office",
    "since we changed plans",
    "every Monday morning",
    "when I use the VPN",
)
_DETAILS: Final = (
    "I already cleared the cache and tried another browser.",
    "Reinstalling the app did not help.",
    "My colleague sees the same problem on her account.",
    "The order number is in the screenshot I attached.",
    "We have a customer demo on Thursday, so this is urgent.",
    "It worked fine until last week.",
    "I was charged although the payment page showed an error.",
    "The status page says everything is operational.",
    "Our admin checked the permissions and they look right.",
)
_REQUESTS: Final = (
    "Could you please look into it?",
    "Please refund the duplicate charge.",
    "Can someone call me back today?",
    "How do I fix this?",
    "Please escalate this to your engineers.",
    "Is there a workaround in the meantime?",
    "Thanks for your help.",
)


def _words(text: str) -> int:
    return len(text.split())


def ticket(rng: random.Random, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> str:
    """One ticket of ``min_words`` to ``max_words`` words, drawn from ``rng``.

    Its length is drawn first (uniformly), then whole sentences are added while they fit:
    a text ends on a full sentence, as a user's does.
    """
    target = rng.randint(min_words, max_words)
    subject, symptom = rng.choice(_SUBJECTS), rng.choice(_SYMPTOMS)
    opening = f"{subject[0].upper()}{subject[1:]} {symptom}"
    when = f"{opening} {rng.choice(_WHEN)}."
    parts = [when if _words(when) <= target else f"{opening}."]
    extras = [*rng.sample(_DETAILS, 2), rng.choice(_REQUESTS)]
    for extra in extras:
        if _words(" ".join([*parts, extra])) <= target:
            parts.append(extra)
    text = " ".join(parts)
    # Fewer words than asked for only when even the opening was too long: pad with a
    # request, never below the minimum.
    while _words(text) < min_words:
        text = f"{text} {rng.choice(_REQUESTS)}"
    return text


def sentences(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` tickets from ``seed``: the same list on every call and every machine."""
    rng = random.Random(seed)
    return [ticket(rng) for _ in range(count)]


def word_counts(texts: Sequence[str]) -> tuple[int, int, float]:
    """The shortest, longest and mean word count of ``texts`` (for the report)."""
    counts = [_words(t) for t in texts]
    return min(counts), max(counts), sum(counts) / len(counts)
