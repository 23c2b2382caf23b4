"""TXT: BYTES inputs (free text and categories): encodings, element types, sizes.

Every rule here starts from the golden request and changes the data of a BYTES input; a
model without one gets "not applicable", saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import (
    error_body_problem,
    exchange,
    flatten,
    model_path,
    rule,
)
from modelrail_conformance.rules._tensors import Case, check_cases, model_metadata, send
from modelrail_conformance.rules._text import (
    INVALID_UTF8,
    LONE_SURROGATES,
    PLACEHOLDER,
    UNUSUAL_TEXT,
    WRONG_ELEMENTS,
    bytes_inputs,
    oversized,
    require_bytes_input,
    spliced,
    with_value,
)
from modelrail_conformance.rules.inference import output_problem
from modelrail_conformance.target import Target

OVERSIZED_TIMEOUT = 30.0
"""Seconds an oversized request may take to be answered (TXT-004)."""
MAX_OVERSIZED_BYTES = 16 * 1024 * 1024
"""The oversized requests stay under this size, whatever ``max_body_bytes`` says."""


def _golden_text(target: Target) -> tuple[dict[str, Any], dict[str, Any]]:
    """The golden request and its tensor of the first BYTES input (NotApplicable if none)."""
    golden = target.config.golden_request_body()
    return golden, require_bytes_input(model_metadata(target), golden)


def _invalid_utf8() -> st.SearchStrategy[bytes]:
    """Short sequences of bytes 0x80-0xFF that are not UTF-8.

    None of them is a quote or a backslash, so the JSON string around them stays whole.
    """

    def invalid(raw: bytes) -> bool:
        try:
            raw.decode()
        except UnicodeDecodeError:
            return True
        return False

    return st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=6).map(bytes).filter(invalid)


@rule("TXT-001", Level.MUST, "Text that is not valid UTF-8 is a 400")
def invalid_utf8_400(target: Target) -> None:
    """A request whose BYTES data is not valid Unicode text (bytes that are not UTF-8 in the body, or JSON escapes of lone UTF-16 surrogates such as ``"\\ud800"``) MUST get 400, never a 5xx or a 200.

    Why:
        JSON text is UTF-8 (RFC 8259), and a lone surrogate is no character at all. A
        lenient parser lets such strings through to the tokenizer or the prediction log,
        whose UTF-8 encoding then fails with a 5xx; one that replaces them silently
        predicts on text the client never sent.

    Checked by:
        Sending the golden request with the first value of its first BYTES input replaced:
        once for each of 7 invalid byte sequences (a lone continuation byte, 0xFF, a
        truncated sequence, an overlong encoding, an encoded surrogate, a code point
        above U+10FFFF, Latin-1 text) spliced raw into the JSON string, once for each of 4
        lone-surrogate escapes, then 15 more of each kind derived by Hypothesis
        (derandomised); every answer must be a 400. Not applicable when the metadata
        declares no BYTES input.

    Fix:
        Parse the body as strict UTF-8 JSON (orjson refuses both; with the standard
        library, decode with ``errors="strict"`` and check ``text.encode("utf-8")``) and
        answer 400 without echoing the bytes.
    """
    golden, tensor_ = _golden_text(target)
    template = with_value(golden, tensor_, PLACEHOLDER)
    name = tensor_["name"]

    def case(label: str, inner: bytes) -> Case:
        return Case(f"{label} in input {name!r}", spliced(template, b'"ok ' + inner + b' ok"'))

    explicit = [case(label, raw) for label, raw in INVALID_UTF8]
    explicit += [case(label, escape.encode()) for label, escape in LONE_SURROGATES]
    strategies = [
        _invalid_utf8().map(lambda raw: case(f"the bytes {raw.hex(' ')}", raw)),
        st.integers(0xD800, 0xDFFF).map(
            lambda code: case(f"the lone surrogate escape \\u{code:04x}", f"\\u{code:04x}".encode())
        ),
    ]
    check_cases(target, strategies, {400}, '400 with {"error"}', explicit)


def _not_strings() -> st.SearchStrategy[Any]:
    """JSON values that are not strings (nested ones included)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    )


@rule("TXT-002", Level.MUST, "Non-string elements of a BYTES input are a 400")
def non_strings_400(target: Target) -> None:
    """A BYTES input whose data holds an element that is not a JSON string (a number, null, a boolean, an object, a list) MUST get 400, never a 5xx or a 200.

    Why:
        ``str()`` turns ``null`` into the text ``"None"`` and ``12.5`` into ``"12.5"``:
        a service that coerces predicts on text nobody wrote, and one that does not check
        fails inside the tokenizer or the vectorizer with a 5xx.

    Checked by:
        Sending the golden request with the first value of its first BYTES input replaced
        by each of 7 JSON values (a float, an integer, an integer beyond 64 bits, null,
        a boolean, an object, a list), then 30 more non-string values (nested ones too)
        derived by Hypothesis (derandomised); every answer must be a 400. Not applicable
        when the metadata declares no BYTES input.

    Fix:
        Check that every element of a BYTES input is a string before calling the model,
        and answer 400 naming the input and the datatype.
    """
    golden, tensor_ = _golden_text(target)
    template = with_value(golden, tensor_, PLACEHOLDER)
    name = tensor_["name"]

    def case(label: str, literal: str) -> Case:
        return Case(f"{label} in the data of {name!r}", spliced(template, literal.encode()))

    explicit = [case(label, literal) for label, literal in WRONG_ELEMENTS]
    generated = _not_strings().map(lambda v: case(f"the value {json.dumps(v)[:40]}", json.dumps(v)))
    check_cases(target, [generated], {400}, '400 with {"error"}', explicit)


@rule("TXT-003", Level.MUST, "Unusual but valid text is answered 200")
def unusual_text_200(target: Target) -> None:
    """BYTES data that is valid Unicode text MUST get 200 with the declared outputs, whatever its characters: emoji, right-to-left scripts and direction marks, NUL and other control characters, combining marks, CJK, zero-width characters, astral-plane letters.

    Why:
        Real text carries all of these (pasted text, chat messages, names); a service
        that answers 5xx or 400 to an emoji drops real traffic, and one that crashes on
        a NUL can be taken down by any client.

    Checked by:
        Sending the golden request with the first value of a BYTES input replaced by each
        of 11 strings (the BYTES inputs take turns), once as raw UTF-8 and once with
        every non-ASCII character as a JSON ``\\u`` escape (astral characters as
        surrogate pairs); each answer must be a 200 whose declared outputs have their
        datatypes, shapes and JSON value types. Not applicable when the metadata
        declares no BYTES input.

    Fix:
        Treat text as opaque Unicode up to the model: no ASCII encoding, no C strings
        that end at NUL, no logging or metrics that choke on them; normalise inside the
        model's own preprocessing (the tokenizer's normaliser), not by rejecting input.
    """
    golden, first = _golden_text(target)
    metadata = model_metadata(target)
    names = {str(s.get("name")) for s in bytes_inputs(metadata)}
    tensors = [t for t in golden["inputs"] if t.get("name") in names and flatten(t.get("data"))]
    rows = int((first.get("shape") or [1])[0])
    specs = [o for o in metadata.get("outputs") or [] if isinstance(o, dict)]
    path = model_path(target.config.model_name) + "/infer"
    expected = "200 with the declared outputs"
    for index, (label, text) in enumerate(UNUSUAL_TEXT):
        tensor_ = tensors[index % len(tensors)]
        body = with_value(golden, tensor_, text)
        for ascii_only, encoding in ((False, "raw UTF-8"), (True, "\\u escapes")):
            raw = json.dumps(body, ensure_ascii=ascii_only).encode()
            case = Case(f"{label} in input {tensor_['name']!r} ({encoding})", raw)
            status, data, command, received = send(target, case, expected)
            request = f"POST {path} with {case.label}"
            if status != 200 or not isinstance(data, dict):
                raise RuleViolation(request, received, expected, reproduce=command)
            outputs = {o.get("name"): o for o in data.get("outputs") or [] if isinstance(o, dict)}
            for spec in specs:
                problem = output_problem(spec, outputs.get(spec.get("name")), rows)
                if problem:
                    raise RuleViolation(request, problem, expected, reproduce=command)


@dataclass(frozen=True)
class Outcome:
    """What the service answered to one oversized request (status 0: no answer at all)."""

    label: str
    status: int
    received: str
    error_problem: str | None


def _reproduce(target: Target, rule_id: str) -> str:
    # The bodies are a megabyte: the suite regenerates them (a curl command would not fit).
    return (
        f"modelrail-conformance --modelrail-rules {rule_id} --modelrail-base-url {target.base_url}"
    )


def _oversized(target: Target) -> list[Outcome]:
    """Send (once per run) the two oversized requests that TXT-004 and TXT-005 judge."""
    if "oversized" in target.memo:
        return target.memo["oversized"]
    golden, tensor_ = _golden_text(target)
    names = [str(s.get("name")) for s in bytes_inputs(model_metadata(target))]
    limit = min(target.config.max_body_bytes, MAX_OVERSIZED_BYTES)
    cases = [Case(label, body) for label, body in oversized(golden, tensor_, names, limit)]
    outcomes = []
    path = model_path(target.config.model_name) + "/infer"
    for case in cases:
        try:
            ex = exchange(
                target.base_url, "POST", path, body=case.body,
                headers={"Content-Type": "application/json"},
                expected="an answer", timeout=OVERSIZED_TIMEOUT,
            )  # fmt: skip
        except RuleViolation as exc:  # no answer in time, or the connection dropped
            outcomes.append(Outcome(case.label, 0, exc.received, None))
            continue
        problem = error_body_problem(ex) if ex.status >= 400 else None
        outcomes.append(Outcome(case.label, ex.status, ex.describe(100), problem))
    target.memo["oversized"] = outcomes
    return outcomes


@rule("TXT-004", Level.MUST, "Oversized text never gets a 5xx")
def oversized_text_answered(target: Target) -> None:
    """A request within the body limit that carries one very long string, or as many short strings as the body can hold, MUST be answered within 30 s with a status below 500 (a 413 or 400 refusal, or a 200).

    Why:
        A string of a megabyte reaches the tokenizer or the position embeddings of a
        model that was never meant for it, and hundreds of thousands of strings become one
        batch that exhausts memory: the 5xx, the timeout or the killed process hits every
        request the replica serves, not only the one that caused it.

    Checked by:
        Two requests just under ``max_body_bytes`` (at most 16 MiB): the golden request
        with the first value of its first BYTES input replaced by seeded sentences
        filling the body, and the golden request's first row repeated as often as the
        body holds with every BYTES value the one-letter string ``"a"``. Each must be
        answered within 30 s with a status below 500. Not applicable when the metadata
        declares no BYTES input.

    Fix:
        Limit the length of each string and the number of elements per request, checked
        before the model runs (the modelrail runtime answers 413 beyond
        ``MAX_STRING_BYTES`` and ``MAX_TENSOR_ELEMENTS``), and truncate text to the
        model's maximum sequence length in the tokenizer.
    """
    path = model_path(target.config.model_name) + "/infer"
    for outcome in _oversized(target):
        if outcome.status == 0 or outcome.status >= 500:
            raise RuleViolation(
                f"POST {path} with {outcome.label}",
                outcome.received,
                f"an answer within {OVERSIZED_TIMEOUT:g} s with a status below 500 (413 or 400 "
                "refusing it, or 200)",
                reproduce=_reproduce(target, "TXT-004"),
            )


@rule("TXT-005", Level.SHOULD, "Oversized text is refused with 413")
def oversized_text_413(target: Target) -> None:
    """A request that carries one very long string, or as many short strings as the body can hold, SHOULD be refused with 413 (or 400) and an ``{"error": "<message>"}`` body.

    Why:
        Limits on string length and element count keep one client from holding a replica
        (and its memory) for seconds; a 413 tells the client to split its input instead
        of retrying it, where a slow 200 invites more of the same.

    Checked by:
        TXT-004's two requests (the same answers, sent once): each answer should be a 413
        or a 400 with a JSON object body holding a non-empty string ``error``. Not
        applicable when the metadata declares no BYTES input.

    Fix:
        Check the UTF-8 length of every string and the element count from each ``shape``
        before building arrays, and answer 413 naming the limit and the setting that
        raises it (the modelrail runtime: ``MAX_STRING_BYTES``, ``MAX_TENSOR_ELEMENTS``).
    """
    path = model_path(target.config.model_name) + "/infer"
    for outcome in _oversized(target):
        if outcome.status not in (400, 413) or outcome.error_problem:
            received = outcome.received + (
                f" ({outcome.error_problem})" if outcome.error_problem else ""
            )
            raise RuleViolation(
                f"POST {path} with {outcome.label}",
                received,
                '413 (or 400) with {"error": "<message>"}',
                reproduce=_reproduce(target, "TXT-005"),
            )


RULES = (
    invalid_utf8_400,
    non_strings_400,
    unusual_text_200,
    oversized_text_answered,
    oversized_text_413,
)
