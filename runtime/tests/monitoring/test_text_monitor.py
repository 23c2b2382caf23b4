"""The monitor on a text model: text lengths, token counters, and drift of what is derived
from the texts (their length, their share of unknown tokens)."""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_text_models import FOREIGN, RouterAdapter, TicketRouter, Vocabulary, tickets
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from modelrail_runtime import LoadedModel, ServiceClient, save_model
from modelrail_runtime.monitoring.monitor import ModelMonitor
from modelrail_runtime.monitoring.reference_profile import build
from modelrail_runtime.monitoring.text import (
    LENGTH_BUCKETS,
    MAX_TOKENIZED_TEXTS,
    sample_rows,
    texts_of,
)

MODEL = {"model_name": "router", "model_version": "v1"}
TEXT = {**MODEL, "input": "text"}
TRAINING = {"text": tickets(np.random.default_rng(1), 600, foreign=0.02)}
THRESHOLD = 0.2


def monitored(
    router: TicketRouter | None = None, *, window_rows: int = 400, reference: Any = "built"
) -> tuple[ModelMonitor, CollectorRegistry, TicketRouter]:
    router = router or TicketRouter(Vocabulary())
    if reference == "built":
        reference = build(router.monitoring, TRAINING, router.predict(TRAINING))
    registry = CollectorRegistry()
    monitor = ModelMonitor(registry, window_rows=window_rows, min_rows=100, threshold=THRESHOLD)
    monitor.attach(LoadedModel("router", "v1", "test", router, reference))
    return monitor, registry, router


def observe(monitor: ModelMonitor, router: TicketRouter, texts: Any) -> None:
    inputs = {"text": np.asarray(texts, dtype=object)}
    monitor.observe(inputs, router.predict(inputs))
    monitor.refresh()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {**MODEL, **labels})


def drift(registry: CollectorRegistry) -> dict[str, float | None]:
    return {
        "length": sample(registry, "model_feature_drift_psi", feature="text_length"),
        "unknown": sample(registry, "model_feature_drift_psi", feature="text_unknown_token_share"),
        "prediction": sample(registry, "model_prediction_drift_psi", output="label"),
    }


# --- metrics -----------------------------------------------------------------------------
def test_every_text_series_exists_from_the_start() -> None:
    _, registry, _ = monitored()
    assert registry.get_sample_value("model_input_tokens_total", TEXT) == 0
    assert registry.get_sample_value("model_input_unknown_tokens_total", TEXT) == 0
    gauges = drift(registry)
    assert all(value is not None and math.isnan(value) for value in gauges.values()), gauges


def test_the_training_share_of_unknown_tokens_is_exported() -> None:
    _, registry, router = monitored()
    assert router.tokens is not None
    tokens, unknown = router.tokens(list(TRAINING["text"]))
    share = registry.get_sample_value("model_training_unknown_token_share", TEXT)
    assert share == pytest.approx(unknown.sum() / tokens.sum())
    assert 0.01 < share < 0.03, "2% of the training words are foreign"


def test_tokens_and_unknown_tokens_are_counted_per_input() -> None:
    monitor, registry, router = monitored()
    observe(monitor, router, ["invoice refund rechnung", "", "Printer broken, PLEASE help!"])
    assert registry.get_sample_value("model_input_tokens_total", TEXT) == 7
    assert registry.get_sample_value("model_input_unknown_tokens_total", TEXT) == 1
    observe(monitor, router, ["konto zahlung"])
    assert registry.get_sample_value("model_input_tokens_total", TEXT) == 9
    assert registry.get_sample_value("model_input_unknown_tokens_total", TEXT) == 3


def test_every_texts_length_is_observed_in_characters() -> None:
    monitor, registry, router = monitored()
    texts = ["", "é" * 16, "x" * 17, "y" * 20_000]  # code points, not UTF-8 bytes
    observe(monitor, router, texts)
    assert registry.get_sample_value("model_input_text_length_characters_count", TEXT) == 4
    assert registry.get_sample_value("model_input_text_length_characters_sum", TEXT) == 20_033
    name = "model_input_text_length_characters_bucket"
    buckets = {
        le: registry.get_sample_value(name, {**TEXT, "le": le})
        for le in ("16.0", "32.0", "16384.0", "+Inf")
    }
    assert buckets == {"16.0": 2, "32.0": 3, "16384.0": 3, "+Inf": 4}
    assert (LENGTH_BUCKETS[0], LENGTH_BUCKETS[-1]) == (16, 16384)
    assert all(b == 2 * a for a, b in itertools.pairwise(LENGTH_BUCKETS))


def test_a_text_model_without_a_token_counter_has_lengths_only() -> None:
    router = TicketRouter(tokens=None)
    monitor, registry, _ = monitored(router)
    observe(monitor, router, tickets(np.random.default_rng(2), 200))
    assert registry.get_sample_value("model_input_text_length_characters_count", TEXT) == 200
    assert registry.get_sample_value("model_input_tokens_total", TEXT) is None
    assert registry.get_sample_value("model_training_unknown_token_share", TEXT) is None
    gauges = drift(registry)
    assert gauges["unknown"] is None, "no token counter: no unknown-token share"
    assert gauges["length"] is not None
    assert gauges["length"] < THRESHOLD


def test_a_large_fold_tokenises_an_even_sample_only() -> None:
    monitor, registry, router = monitored()
    assert router.tokens is not None
    before = router.tokens.texts_counted
    rng = np.random.default_rng(3)
    texts = tickets(rng, 3 * MAX_TOKENIZED_TEXTS, foreign=0.3)
    observe(monitor, router, texts)
    assert router.tokens.texts_counted - before == MAX_TOKENIZED_TEXTS
    assert registry.get_sample_value("model_input_text_length_characters_count", TEXT) == len(texts)
    tokens = registry.get_sample_value("model_input_tokens_total", TEXT)
    unknown = registry.get_sample_value("model_input_unknown_tokens_total", TEXT)
    assert tokens is not None
    assert unknown is not None
    assert unknown / tokens == pytest.approx(0.3, abs=0.02), "the sample's share is the traffic's"
    assert drift(registry)["unknown"] > THRESHOLD  # type: ignore[operator]


# --- drift -------------------------------------------------------------------------------
def test_texts_like_the_training_data_stay_below_the_threshold() -> None:
    monitor, registry, router = monitored()
    observe(monitor, router, tickets(np.random.default_rng(4), 400, foreign=0.02))
    calm = drift(registry)
    assert all(value is not None and value < 0.1 for value in calm.values()), calm


def known_words_only() -> tuple[ModelMonitor, CollectorRegistry, TicketRouter]:
    """A router profiled on texts whose every word it knows (a share of 0 each)."""
    known = {"text": tickets(np.random.default_rng(7), 300)}
    router = TicketRouter(Vocabulary())
    return monitored(router, reference=build(router.monitoring, known, router.predict(known)))


def test_much_longer_texts_make_the_length_drift() -> None:
    # Known words only: with some unknown words, longer texts would also have fewer texts
    # without any, a shift of the per-text share as well.
    monitor, registry, router = known_words_only()
    observe(monitor, router, tickets(np.random.default_rng(5), 400, words=(80, 200)))
    drifted = drift(registry)
    assert drifted["length"] > 1.0, drifted  # type: ignore[operator]
    assert drifted["unknown"] < THRESHOLD, drifted  # type: ignore[operator]


def test_unknown_words_make_the_unknown_token_share_drift() -> None:
    monitor, registry, router = monitored()
    observe(monitor, router, tickets(np.random.default_rng(6), 400, foreign=0.3))
    drifted = drift(registry)
    assert drifted["unknown"] > 1.0, drifted  # type: ignore[operator]
    assert drifted["length"] < THRESHOLD, drifted  # type: ignore[operator]


def test_when_training_texts_know_every_word_any_unknown_word_shows() -> None:
    # Every training text has a share of 0: without a bin of its own for 0, all the texts
    # would share one bin and no vocabulary change could ever show.
    monitor, registry, router = known_words_only()
    observe(monitor, router, tickets(np.random.default_rng(8), 400))
    assert drift(registry)["unknown"] == pytest.approx(0.0, abs=1e-9)
    observe(monitor, router, tickets(np.random.default_rng(9), 400, foreign=0.05))
    assert drift(registry)["unknown"] > THRESHOLD  # type: ignore[operator]


def test_a_profile_of_other_texts_turns_drift_off(caplog: pytest.LogCaptureFixture) -> None:
    without_tokens = TicketRouter(tokens=None)
    profile = build(without_tokens.monitoring, TRAINING, without_tokens.predict(TRAINING))
    with caplog.at_level(logging.WARNING):
        monitor, registry, router = monitored(reference=profile)
    assert "watches other features or texts than the model declares" in caplog.text
    assert "drift detection is off" in caplog.text
    observe(monitor, router, tickets(np.random.default_rng(10), 200))
    assert drift(registry) == dict.fromkeys(("length", "unknown", "prediction"))
    # The counters do not depend on the profile.
    assert registry.get_sample_value("model_input_text_length_characters_count", TEXT) == 200


# --- end to end --------------------------------------------------------------------------
def test_a_served_text_model_exports_its_text_metrics(tmp_path: Path) -> None:
    """Saved with its profile, served, asked in BYTES: every family has its series."""
    save_model(tmp_path, RouterAdapter(), Vocabulary(), training_inputs=TRAINING)
    texts = [*tickets(np.random.default_rng(12), 150, foreign=0.02), f"refund {FOREIGN[0]}"]
    with ServiceClient(tmp_path, adapter=RouterAdapter(), drift_min_rows=100) as client:
        for start in range(0, len(texts), 50):
            chunk = texts[start : start + 50]
            tensor = {"name": "text", "datatype": "BYTES", "shape": [len(chunk)], "data": chunk}
            response = client.infer({"inputs": [tensor]})
            assert response.status_code == 200, response.text
        exposition = client.get("/metrics").text
    samples = {
        (sample.name, sample.labels.get("input") or sample.labels.get("feature")): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.labels.get("model_name") == "model"
    }
    assert samples["model_input_text_length_characters_count", "text"] == len(texts)
    unknown = samples["model_input_unknown_tokens_total", "text"]
    assert 0 < unknown < samples["model_input_tokens_total", "text"]
    assert 0 < samples["model_training_unknown_token_share", "text"] < 0.05
    assert samples["model_feature_drift_psi", "text_length"] < THRESHOLD
    assert samples["model_feature_drift_psi", "text_unknown_token_share"] < THRESHOLD


# --- the pieces --------------------------------------------------------------------------
def test_a_text_input_is_one_text_per_row() -> None:
    column = np.array([["first", "ignored"], ["second", "ignored"]], dtype=object)
    assert texts_of({"text": column}, "text") == ["first", "second"]
    assert texts_of({"text": np.array(["é", "caf\u00e9".encode()], dtype=object)}, "text") == [
        "é",
        "café",
    ]


def test_a_sample_of_rows_is_spread_evenly() -> None:
    assert sample_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    picked = sample_rows(10_000, 1_000)
    assert len(picked) == 1_000
    assert (picked[0], picked[-1]) == (0, 9_999)
    assert set(np.diff(picked).tolist()) <= {10, 11}
