"""What monitoring reads from tensors: one float column per feature and for the prediction."""

from __future__ import annotations

import math

import numpy as np

from modelrail_runtime import FeatureSpec
from modelrail_runtime.monitoring.columns import codes, feature_values, prediction_values

TENSORS = {
    "x": np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]),
    "charge": np.array([5.5, math.nan, 7.0]),
    "contract": np.array(["one-year", "weekly", "month-to-month"], dtype=object),
    "support": np.array([True, False, True]),
}


def test_a_feature_is_a_column_of_an_input_or_a_whole_one_dimensional_input() -> None:
    assert feature_values(FeatureSpec("size", "x", 1), TENSORS).tolist() == [10.0, 20.0, 30.0]
    charge = feature_values(FeatureSpec("charge", "charge", None), TENSORS)
    assert charge.dtype == np.float64
    assert charge[0] == 5.5
    assert math.isnan(charge[1]), "a missing value stays NaN"


def test_a_string_category_is_its_index_and_an_unseen_one_the_next() -> None:
    spec = FeatureSpec(
        "contract", "contract", None, "categorical", ("month-to-month", "one-year", "two-year")
    )
    assert feature_values(spec, TENSORS).tolist() == [1.0, 3.0, 0.0]


def test_a_boolean_is_zero_or_one() -> None:
    spec = FeatureSpec("support", "support", None, "categorical")
    assert feature_values(spec, TENSORS).tolist() == [1.0, 0.0, 1.0]


def test_codes_flatten_and_code_anything_unknown_as_the_last() -> None:
    assert codes(np.array([[2, 9], [0, 2]]), [0, 1, 2]).tolist() == [2.0, 3.0, 0.0, 2.0]
    assert codes(np.array([], dtype=object), ["a"]).tolist() == []


def test_predicted_classes_are_class_indices() -> None:
    outputs = {"label": np.array(["stayed", "churned", "maybe"], dtype=object)}
    values = prediction_values(outputs, "label", ("churned", "stayed"))
    assert values.tolist() == [1.0, 0.0, 2.0], "a class outside the declared ones: 'other'"
    numbered = prediction_values({"label": np.array([2, 0])}, "label", (0, 1, 2))
    assert numbered.tolist() == [2.0, 0.0]


def test_a_regression_is_watched_on_its_first_target() -> None:
    single = prediction_values({"prediction": np.array([1.5, 2.5])}, "prediction", ())
    assert single.tolist() == [1.5, 2.5]
    several = {"prediction": np.array([[1.0, 10.0], [2.0, 20.0]])}
    assert prediction_values(several, "prediction", ()).tolist() == [1.0, 2.0]
