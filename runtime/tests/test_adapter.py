"""The adapter protocols' data: what a `MonitoringSpec` watches."""

from __future__ import annotations

import pytest

from modelrail_runtime import FeatureSpec, MonitoringSpec

FEATURES = (FeatureSpec("charge", "charge", None),)


def test_a_classifier_watches_its_class_output_and_a_regressor_its_values() -> None:
    classifier = MonitoringSpec(FEATURES, "label", ("no", "yes"), score_output="probabilities")
    assert classifier.watched_output == "label"
    regressor = MonitoringSpec(FEATURES, value_output="prediction")
    assert regressor.watched_output == "prediction"
    assert (regressor.class_output, regressor.classes, regressor.score_output) == (None, (), None)


def test_a_spec_watching_no_output_says_what_it_needs() -> None:
    with pytest.raises(
        ValueError, match="names a class_output, a value_output or an embedding_output"
    ):
        _ = MonitoringSpec(FEATURES).watched_output


def test_a_feature_is_numeric_without_categories_or_range_by_default() -> None:
    (feature,) = FEATURES
    assert (feature.column, feature.kind, feature.categories) == (None, "numeric", ())
    assert (feature.minimum, feature.maximum) == (None, None)
