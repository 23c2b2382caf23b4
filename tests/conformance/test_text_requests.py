"""The strings and requests the suite builds for BYTES inputs, without a service."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

from hypothesis import given, settings
from modelrail_conformance.rules._support import curl, flatten
from modelrail_conformance.rules._text import (
    LOAD_VARIANTS,
    WORDS,
    bytes_values,
    load_bodies,
    oversized,
    text_inputs,
)
from modelrail_conformance.rules.inference import golden_tolerance

from fixture_service.models import load, model_class
from tests.conformance.conftest import PROJECT

TEXT_METADATA = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}]}
TABULAR_METADATA = {
    "inputs": [
        {"name": "tenure_months", "datatype": "INT64", "shape": [-1]},
        {"name": "monthly_charges", "datatype": "FP64", "shape": [-1]},
        {"name": "contract", "datatype": "BYTES", "shape": [-1]},
        {"name": "has_support", "datatype": "BOOL", "shape": [-1]},
    ]
}


def _golden(directory: str = "") -> dict[str, Any]:
    return json.loads((PROJECT / "golden" / directory / "request.json").read_text())


def test_text_inputs_are_bytes_inputs_whose_golden_values_are_sentences() -> None:
    assert text_inputs(TEXT_METADATA, _golden("text")) == {"text"}
    # "month-to-month" and "two-year" are categories: one word each.
    assert text_inputs(TABULAR_METADATA, _golden()) == set()


def test_a_tabular_load_run_sends_the_golden_request() -> None:
    golden = _golden()
    assert load_bodies(TABULAR_METADATA, golden) == [golden]


def test_a_text_load_run_sends_seeded_sentences_as_long_as_the_golden_ones() -> None:
    golden = _golden("text")
    bodies = load_bodies(TEXT_METADATA, golden)
    assert bodies == load_bodies(TEXT_METADATA, golden)  # seeded: every run sends the same
    assert len(bodies) == LOAD_VARIANTS
    texts = [tuple(body["inputs"][0]["data"]) for body in bodies]
    assert len(set(texts)) == LOAD_VARIANTS
    golden_words = [len(text.split()) for text in golden["inputs"][0]["data"]]
    vocabulary = {word.lower() for word in WORDS}
    for body, row in zip(bodies, texts, strict=True):
        assert body["id"] == golden["id"]
        assert body["inputs"][0]["shape"] == golden["inputs"][0]["shape"]
        assert [len(text.split()) for text in row] == golden_words
        words = {w.lower() for text in row for w in re.findall(r"[^\s,.!?]+", text)}
        assert words <= vocabulary


@settings(max_examples=200, derandomize=True, database=None)
@given(value=bytes_values())
def test_generated_bytes_values_are_non_empty_unicode_text(value: str) -> None:
    assert value
    value.encode("utf-8")  # no lone surrogate


def test_oversized_requests_fill_the_body_limit_without_passing_it() -> None:
    limit = 1_048_576
    for golden, metadata in ((_golden("text"), TEXT_METADATA), (_golden(), TABULAR_METADATA)):
        names = [s["name"] for s in metadata["inputs"] if s["datatype"] == "BYTES"]
        tensor_ = next(t for t in golden["inputs"] if t["name"] in names)
        (string_label, string_body), (rows_label, rows_body) = oversized(
            golden, tensor_, names, limit
        )
        for body in (string_body, rows_body):
            assert limit - 2048 < len(body) <= limit
        long = json.loads(string_body)
        value = next(t for t in long["inputs"] if t["name"] == tensor_["name"])["data"][0]
        assert len(value.encode()) > limit - 2048
        assert f"a {len(value.encode())}-byte string" in string_label
        many = json.loads(rows_body)
        rows = int(rows_label.split()[0])
        for t in many["inputs"]:
            assert t["shape"][0] == rows
            assert len(flatten(t["data"])) == rows
            if t["name"] in names:
                assert set(t["data"]) == {"a"}
        assert rows > 20_000


def test_the_curl_command_of_a_body_that_is_not_utf8_sends_the_same_bytes() -> None:
    body = b'{"inputs": [{"data": ["ok \xff\xc3 it\'s \\\\ 100% \x80"]}]}'
    command = curl("POST", "http://127.0.0.1:1/v2/models/m/infer", body=body)
    process = command.split("--data-binary @", 1)[1]
    sent = subprocess.run(["bash", "-c", f"cat {process}"], capture_output=True, check=True).stdout
    assert sent == body


def test_fp32_outputs_are_compared_within_1e_4_at_least() -> None:
    assert golden_tolerance("FP32", 1e-6) == 1e-4
    assert golden_tolerance("FP32", 1e-3) == 1e-3
    assert golden_tolerance("FP64", 1e-6) == 1e-6


def test_the_embedding_golden_file_needs_the_fp32_tolerance() -> None:
    # The fixture's golden embeddings are rounded to 5 decimals: INF-001 passes on the
    # conforming embedding service only because FP32 outputs get 1e-4.
    cls = model_class("embedding")
    model = load(cls, str(cls.default_file))
    texts = _golden("embedding")["inputs"][0]["data"]
    live = model.response(model.predict({"text": texts}, len(texts), ""), "")[0]["data"]
    response = json.loads((PROJECT / "golden" / "embedding" / "response.json").read_text())
    golden = response["outputs"][0]["data"]
    worst = max(abs(a - b) for a, b in zip(live, golden, strict=True))
    assert 1e-6 < worst < 1e-4
