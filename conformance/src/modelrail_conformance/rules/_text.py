"""Strings for BYTES inputs: realistic sentences, unusual but valid text, and hostile text.

Sentences come from a fixed word list, drawn by Hypothesis (derandomised) or by a seeded
``random.Random``, so that runs repeat and a text model does the work real text costs
(known words, sentence lengths like the golden request's), which random noise would not:
a tokenizer maps noise to unknown tokens and a TF-IDF model to an empty vector.

Requests here start from the golden request and change the data of one BYTES input, so
that the one thing changed is the only thing wrong (INF-001 shows the golden request
itself succeeds).
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from modelrail_conformance.failures import NotApplicable
from modelrail_conformance.rules._support import flatten

SEED = 2119
"""The seed of every sentence drawn outside Hypothesis (load runs, oversized text)."""
LOAD_VARIANTS = 16
"""Distinct request bodies a load run cycles through when the model takes text."""
TEXT_MIN_WORDS = 3
"""A golden BYTES value of at least this many words marks its input as free text."""
BODY_MARGIN = 256
"""Bytes an oversized request stays under the body limit by."""
PLACEHOLDER = "__modelrail_text__"
"""Stands for raw bytes in a body built as JSON (see :func:`spliced`)."""
PRINTABLE = string.ascii_letters + string.digits + " -_."
"""The alphabet of short generated tokens, as categories are."""

WORDS = (
    "the", "a", "this", "that", "my", "our", "your", "their", "it", "we", "they", "you",
    "is", "was", "are", "were", "has", "had", "will", "would", "could", "should", "not",
    "and", "but", "or", "so", "because", "when", "after", "before", "while", "until",
    "with", "without", "for", "from", "into", "about", "over", "under", "again", "very",
    "really", "quite", "too", "never", "always", "still", "already", "just", "only",
    "order", "delivery", "package", "product", "service", "support", "team", "account",
    "invoice", "refund", "price", "payment", "subscription", "update", "app", "website",
    "phone", "battery", "screen", "camera", "size", "color", "quality", "problem", "issue",
    "answer", "question", "email", "week", "month", "day", "hour", "time", "store",
    "arrived", "broke", "works", "worked", "stopped", "loves", "hate", "like", "need",
    "wanted", "expected", "received", "returned", "cancelled", "charged", "fixed",
    "helped", "waited", "called", "asked", "tried", "recommend", "switch", "keep",
    "fast", "slow", "late", "early", "cheap", "expensive", "great", "good", "bad",
    "terrible", "excellent", "friendly", "rude", "helpful", "useless", "easy", "hard",
    "broken", "new", "old", "small", "large", "happy", "disappointed", "clean", "noisy",
    "café", "naïve", "résumé", "Zürich", "façade", "jalapeño",
)  # fmt: skip
"""Common words of reviews and support tickets; a few carry accents, as real text does."""
_ENDINGS = (".", ".", ".", "!", "?")

UNUSUAL_TEXT: tuple[tuple[str, str], ...] = (
    ("emoji with a skin tone", "great service \U0001f44d\U0001f3fd \U0001f600"),
    ("an emoji ZWJ sequence and a flag", "family \U0001f469\u200d\U0001f469\u200d\U0001f467 \U0001f1e9\U0001f1ea"),
    ("right-to-left Arabic", "\u0627\u0644\u062e\u062f\u0645\u0629 \u0645\u0645\u062a\u0627\u0632\u0629 \u062c\u062f\u0627"),
    ("Hebrew inside RLO/PDF marks", "order \u202e\u05e9\u05dc\u05d5\u05dd\u202c arrived \u200f"),
    ("a NUL character", "before\x00after"),
    ("control characters", "tab\there\nnew line\r\x07bell \x1b[31mred\x1b[0m \x7f"),
    ("combining marks", "cafe\u0301 nai\u0308ve Z\u0335a\u0336l\u0337g\u0338o"),
    ("CJK text", "\u914d\u9001\u304c\u9045\u3044\u3067\u3059 \ubc30\uc1a1\uc774 \ub2a6\uc5b4\uc694"),
    ("zero-width characters and a BOM", "\ufeffzero\u200bwidth\u200cjoin\u2060ers"),
    ("astral-plane letters", "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 text"),
    ("the replacement character", "broken \ufffd byte"),
)  # fmt: skip
"""Valid text that naive code mishandles (TXT-003): each one must get 200."""

INVALID_UTF8: tuple[tuple[str, bytes], ...] = (
    ("a lone continuation byte 0x80", b"\x80"),
    ("the byte 0xFF, never valid in UTF-8", b"\xff"),
    ("a truncated two-byte sequence", b"\xc3"),
    ("an overlong encoding of '/'", b"\xc0\xaf"),
    ("an encoded surrogate U+D800", b"\xed\xa0\x80"),
    ("a code point above U+10FFFF", b"\xf4\x90\x80\x80"),
    ("Latin-1 text", "caf\xe9".encode("latin-1")),
)
"""Raw bytes spliced into a JSON string: the body is no longer UTF-8 (TXT-001)."""

LONE_SURROGATES: tuple[tuple[str, str], ...] = (
    ("a lone high surrogate escape", "\\ud800"),
    ("a lone low surrogate escape", "\\udfff"),
    ("a high surrogate escape without its pair", "smile \\ud83d please"),
    ("a surrogate pair in the wrong order", "\\ude00\\ud83d"),
)
"""JSON escapes of UTF-16 surrogates that pair with nothing (TXT-001): no Unicode text."""

WRONG_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("a float", "12.5"),
    ("an integer", "7"),
    ("an integer beyond 64 bits", str(10**30)),
    ("null", "null"),
    ("a boolean", "true"),
    ("an object", '{"text": "hello"}'),
    ("a list", '["nested"]'),
)
"""JSON values that are not strings, as the element of a BYTES input (TXT-002)."""


def bytes_inputs(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The metadata's BYTES inputs."""
    return [s for s in metadata["inputs"] if isinstance(s, dict) and s.get("datatype") == "BYTES"]


def require_bytes_input(metadata: dict[str, Any], golden: dict[str, Any]) -> dict[str, Any]:
    """The golden request's tensor of the model's first BYTES input.

    Raises:
        NotApplicable: the metadata declares no BYTES input (or the golden request lacks it).
    """
    names = [str(s.get("name")) for s in bytes_inputs(metadata)]
    if not names:
        declared = ", ".join(f"{s.get('name')!r} {s.get('datatype')}" for s in metadata["inputs"])
        raise NotApplicable(f"the model has no BYTES input ({declared}); the text rules need one")
    for tensor_ in golden.get("inputs") or []:
        if (
            isinstance(tensor_, dict)
            and tensor_.get("name") in names
            and flatten(tensor_.get("data"))
        ):
            return tensor_
    raise NotApplicable(
        f"the golden request has no data for the BYTES input(s) {names} (see INF-001)"
    )


def sentence(rng: random.Random, words: int) -> str:
    """A sentence of ``words`` words from :data:`WORDS`."""
    chosen = [rng.choice(WORDS) for _ in range(max(1, words))]
    if len(chosen) > 6 and rng.random() < 0.5:
        chosen[rng.randrange(2, len(chosen) - 2)] += ","
    return chosen[0].capitalize() + "".join(" " + w for w in chosen[1:]) + rng.choice(_ENDINGS)


def sentences() -> st.SearchStrategy[str]:
    """Short sentences (3-16 words) from :data:`WORDS`."""
    return st.lists(st.sampled_from(WORDS), min_size=TEXT_MIN_WORDS, max_size=16).map(
        lambda words: " ".join(words).capitalize() + "."
    )


def bytes_values() -> st.SearchStrategy[str]:
    """Valid BYTES elements: sentences, short tokens (as categories are) and any Unicode.

    Any of them fits a text input and a categorical one (an unseen category must still get
    an answer). Never empty, never a lone surrogate.
    """
    return st.one_of(
        sentences(),
        st.text(PRINTABLE, min_size=1, max_size=12),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=24),
    )


def text_inputs(metadata: dict[str, Any], golden: dict[str, Any]) -> set[str]:
    """BYTES inputs that hold free text: a golden value of at least 3 words.

    The metadata does not say whether a BYTES input is text or a category; the golden
    request does (categories such as ``month-to-month`` are one word). Either guess is
    safe: every string is valid for both.
    """
    names = {str(s.get("name")) for s in bytes_inputs(metadata)}
    return {
        str(t.get("name"))
        for t in golden.get("inputs") or []
        if isinstance(t, dict)
        and t.get("name") in names
        and any(len(str(v).split()) >= TEXT_MIN_WORDS for v in flatten(t.get("data")))
    }


def load_bodies(metadata: dict[str, Any], golden: dict[str, Any]) -> list[dict[str, Any]]:
    """The bodies a load run sends: the golden request, or variants of it for text models.

    Each text input's value becomes a seeded sentence with as many words as the golden
    value it replaces, so that the load costs what the golden request costs, with
    different words each time (no cache can answer it).
    """
    names = text_inputs(metadata, golden)
    if not names:
        return [golden]
    rng = random.Random(SEED)
    bodies = []
    for _ in range(LOAD_VARIANTS):
        inputs = [
            dict(t, data=[sentence(rng, len(str(v).split())) for v in flatten(t.get("data"))])
            if isinstance(t, dict) and t.get("name") in names
            else t
            for t in golden["inputs"]
        ]
        bodies.append(dict(golden, inputs=inputs))
    return bodies


def with_value(golden: dict[str, Any], tensor_: dict[str, Any], value: Any) -> dict[str, Any]:
    """The golden request with the first element of ``tensor_`` replaced (data made flat)."""
    data = flatten(tensor_.get("data"))
    changed = dict(tensor_, data=[value, *data[1:]])
    return dict(golden, inputs=[changed if t is tensor_ else t for t in golden["inputs"]])


def spliced(body: dict[str, Any], raw: bytes) -> bytes:
    """``body`` as JSON with the string :data:`PLACEHOLDER` replaced by ``raw`` verbatim."""
    text = json.dumps(body).encode()
    return text.replace(json.dumps(PLACEHOLDER).encode(), raw, 1)


def long_text(size: int) -> str:
    """Seeded sentences, ``size`` bytes of UTF-8 (a document pasted into one field)."""
    rng = random.Random(SEED)
    parts: list[str] = []
    length = 0
    while length < size:
        parts.append(sentence(rng, rng.randint(5, 20)))
        length += len(parts[-1].encode()) + 1
    return " ".join(parts).encode()[:size].decode("utf-8", "ignore")


def many_rows(
    golden: dict[str, Any], names: Sequence[str], size: int
) -> tuple[dict[str, Any], int]:
    """The golden request's first row repeated to about ``size`` bytes, BYTES values as "a".

    Returns the body and its number of rows: as many one-letter strings as the body can
    carry, with every other input's first value beside them.
    """

    def body(rows: int) -> dict[str, Any]:
        inputs = []
        for t in golden["inputs"]:
            shape = [int(d) for d in t.get("shape") or [1]]
            row = flatten(t.get("data"))[: math.prod(shape[1:])]
            if t.get("name") in names:
                row = ["a"] * len(row)
            inputs.append(dict(t, shape=[rows, *shape[1:]], data=row * rows))
        return dict(golden, inputs=inputs)

    one, two = len(json.dumps(body(1))), len(json.dumps(body(2)))
    rows = max(1, (size - one) // max(1, two - one) + 1)
    while rows > 1 and len(json.dumps(body(rows))) > size:
        rows -= 1
    return body(rows), rows


def oversized(
    golden: dict[str, Any], tensor_: dict[str, Any], names: Sequence[str], limit: int
) -> list[tuple[str, bytes]]:
    """The two oversized requests of TXT-004, (label, body), each just under ``limit`` bytes.

    One long string of sentences as the first value of ``tensor_`` (raw UTF-8, so that the
    string's bytes are the body's: escapes would make it longer), and the first row
    repeated with every input in ``names`` the one-letter string ``"a"``.
    """
    size = limit - BODY_MARGIN
    envelope = len(json.dumps(with_value(golden, tensor_, ""), ensure_ascii=False).encode())
    text = long_text(max(1, size - envelope))
    rows_body, rows = many_rows(golden, names, size)
    return [
        (
            f"a {len(text.encode())}-byte string in input {tensor_['name']!r}",
            json.dumps(with_value(golden, tensor_, text), ensure_ascii=False).encode(),
        ),
        (f"{rows} rows of one-letter strings", json.dumps(rows_body).encode()),
    ]
