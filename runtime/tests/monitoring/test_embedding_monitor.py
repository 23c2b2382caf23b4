"""Embedding drift: fixed projections binned at their training quantiles, the largest index
as the prediction drift, and the distance of the recent mean embedding from training's."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from fake_text_models import Encoder, tickets
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry

from modelrail_runtime import LoadedModel
from modelrail_runtime.monitoring.embedding import (
    MEAN_SEGMENTS,
    PROJECTIONS,
    RollingMean,
    combined_psi,
    cosine_distance,
    directions,
)
from modelrail_runtime.monitoring.monitor import ModelMonitor
from modelrail_runtime.monitoring.reference_profile import ReferenceProfile, build

MODEL = {"model_name": "encoder", "model_version": "v1"}
TRAINING = {"text": tickets(np.random.default_rng(1), 800)}
THRESHOLD = 0.2


def profile_of(encoder: Encoder) -> ReferenceProfile:
    return build(encoder.monitoring, TRAINING, encoder.predict(TRAINING))


def monitored(
    encoder: Encoder, reference: ReferenceProfile | None = None, *, window_rows: int = 500
) -> tuple[ModelMonitor, CollectorRegistry]:
    reference = reference or profile_of(Encoder(encoder.dimensions))
    registry = CollectorRegistry()
    monitor = ModelMonitor(registry, window_rows=window_rows, min_rows=100, threshold=THRESHOLD)
    monitor.attach(LoadedModel("encoder", "v1", "test", encoder, reference))
    return monitor, registry


def observe(monitor: ModelMonitor, encoder: Encoder, texts: NDArray[np.object_]) -> None:
    inputs = {"text": texts}
    monitor.observe(inputs, encoder.predict(inputs))
    monitor.refresh()


def gauges(registry: CollectorRegistry) -> dict[str, float | None]:
    values = {
        f"projection {k}": registry.get_sample_value(
            "model_embedding_projection_drift_psi", {**MODEL, "projection": str(k)}
        )
        for k in range(PROJECTIONS)
    }
    values["embedding"] = registry.get_sample_value(
        "model_prediction_drift_psi", {**MODEL, "output": "embedding"}
    )
    values["distance"] = registry.get_sample_value("model_embedding_mean_cosine_distance", MODEL)
    return values


def shifted_encoder(size: float) -> Encoder:
    """Adds ``size`` times the vector's norm along one fixed direction before normalising."""
    direction = np.random.default_rng(5).standard_normal(32)
    return Encoder(32, shift=size * direction / np.linalg.norm(direction))


# --- the pieces --------------------------------------------------------------------------
def test_the_directions_are_fixed_unit_vectors() -> None:
    first, again = directions(384), directions(384)
    assert first.shape == (PROJECTIONS, 384)
    assert np.array_equal(first, again), "the same seed every time"
    assert np.linalg.norm(first, axis=1) == pytest.approx(np.ones(PROJECTIONS), abs=1e-5)
    assert np.all(first == np.round(first, 6)), "stored rounded, used rounded"


def test_the_combined_index_is_the_largest_projection_index() -> None:
    assert combined_psi([0.01, 0.5, 0.02]) == 0.5
    assert combined_psi([math.nan, 0.3]) == 0.3
    assert math.isnan(combined_psi([math.nan, math.nan]))


def test_cosine_distance() -> None:
    assert cosine_distance(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(0.0)
    assert cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(1.0)
    assert cosine_distance(np.array([1.0, 1.0]), np.array([-1.0, -1.0])) == pytest.approx(2.0)
    assert math.isnan(cosine_distance(np.zeros(2), np.array([1.0, 0.0])))


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_the_rolling_mean_covers_about_the_last_rows(chunk: int) -> None:
    rows, dimensions = 200, 5
    rolling = RollingMean(rows, dimensions)
    assert rolling.mean() is None
    # Rows that differ by their position: a mean over the wrong rows shows.
    noise = np.random.default_rng(3).standard_normal((2000, dimensions))
    vectors = noise + np.arange(2000)[:, None]
    segment = math.ceil(rows / MEAN_SEGMENTS)
    for start in range(0, len(vectors), chunk):
        rolling.add(vectors[start : start + chunk])
        seen = min(start + chunk, len(vectors))
        covered = len(rolling)
        assert min(seen, rows - segment + 1) <= covered <= rows
        mean = rolling.mean()
        assert mean is not None
        assert mean == pytest.approx(vectors[seen - covered : seen].mean(axis=0))


# --- the monitor -------------------------------------------------------------------------
def test_the_embedding_gauges_are_nan_until_the_window_has_enough_rows() -> None:
    encoder = Encoder()
    monitor, registry = monitored(encoder)
    assert all(value is not None and math.isnan(value) for value in gauges(registry).values())
    observe(monitor, encoder, tickets(np.random.default_rng(2), 99))
    assert all(value is not None and math.isnan(value) for value in gauges(registry).values())
    observe(monitor, encoder, tickets(np.random.default_rng(3), 1))
    assert not any(value is None or math.isnan(value) for value in gauges(registry).values())


def test_embeddings_like_the_training_ones_stay_near_zero() -> None:
    encoder = Encoder()
    monitor, registry = monitored(encoder)
    observe(monitor, encoder, tickets(np.random.default_rng(4), 500))
    calm = gauges(registry)
    assert all(value is not None and value < 0.1 for value in calm.values()), calm
    assert calm["distance"] < 0.01, calm  # type: ignore[operator]


def test_shifted_embeddings_drift() -> None:
    shifted = shifted_encoder(0.5)
    monitor, registry = monitored(shifted)
    observe(monitor, shifted, tickets(np.random.default_rng(4), 500))
    drifted = gauges(registry)
    projections = [drifted[f"projection {k}"] for k in range(PROJECTIONS)]
    assert drifted["embedding"] == max(projections), "the largest projection index"  # type: ignore[type-var]
    assert drifted["embedding"] > THRESHOLD, drifted  # type: ignore[operator]
    assert drifted["distance"] > 0.05, drifted  # type: ignore[operator]


def test_texts_about_something_else_drift() -> None:
    # Half the words are ones the training texts never had: their vectors move elsewhere.
    encoder = Encoder()
    monitor, registry = monitored(encoder)
    observe(monitor, encoder, tickets(np.random.default_rng(6), 500, foreign=0.5))
    drifted = gauges(registry)
    assert drifted["embedding"] > THRESHOLD, drifted  # type: ignore[operator]
    assert drifted["distance"] > 0.05, drifted  # type: ignore[operator]
    unknown = registry.get_sample_value(
        "model_feature_drift_psi", {**MODEL, "feature": "text_unknown_token_share"}
    )
    assert unknown is not None
    assert unknown > THRESHOLD, "the texts' own drift shows it too"


def test_the_drift_rises_with_the_shift() -> None:
    indices, distances = [], []
    for size in (0.0, 0.3, 0.6, 1.0):
        encoder = shifted_encoder(size)
        monitor, registry = monitored(encoder)
        observe(monitor, encoder, tickets(np.random.default_rng(7), 500))
        indices.append(gauges(registry)["embedding"])
        distances.append(gauges(registry)["distance"])
    assert indices == sorted(indices), indices  # type: ignore[type-var]
    assert distances == sorted(distances), distances  # type: ignore[type-var]


def test_an_embedding_of_another_width_turns_drift_off(caplog: pytest.LogCaptureFixture) -> None:
    narrow = Encoder(16)
    with caplog.at_level(logging.WARNING):
        monitor, registry = monitored(narrow, profile_of(Encoder(32)))
    assert "'embedding' output has 16 dimensions, its reference profile 32" in caplog.text
    observe(monitor, narrow, tickets(np.random.default_rng(8), 200))
    assert all(value is None for value in gauges(registry).values())
    length = {**MODEL, "input": "text"}
    assert registry.get_sample_value("model_input_text_length_characters_count", length) == 200


def test_a_profile_without_the_embedding_turns_drift_off(caplog: pytest.LogCaptureFixture) -> None:
    encoder = Encoder()
    profile = profile_of(encoder)
    tabular_like = ReferenceProfile(profile.rows, profile.features, None, profile.texts, None)
    with caplog.at_level(logging.WARNING):
        monitor, registry = monitored(encoder, tabular_like)
    assert "watches other outputs than the model declares" in caplog.text
    observe(monitor, encoder, tickets(np.random.default_rng(9), 200))
    assert all(value is None for value in gauges(registry).values())


def test_a_vector_with_nan_is_left_out() -> None:
    encoder = Encoder()
    monitor, registry = monitored(encoder)
    texts = tickets(np.random.default_rng(10), 200)
    outputs = encoder.predict({"text": texts})
    outputs["embedding"][0] = np.nan
    monitor.observe({"text": texts}, outputs)
    monitor.refresh()
    calm = gauges(registry)
    assert all(value is not None and 0 <= value < 0.15 for value in calm.values()), calm
