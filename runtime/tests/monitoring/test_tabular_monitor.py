"""The monitor on a tabular model: data-quality counters, string classes, regression values,
and drift of categorical features, including categories never seen in training."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry

from modelrail_runtime import LoadedModel
from modelrail_runtime.monitoring.monitor import ModelMonitor
from modelrail_runtime.monitoring.reference_profile import build
from modelrail_runtime.tabular import TabularPredictor, TabularSchema, Task

ROWS = 400
RNG = np.random.default_rng(5)
TRAINING = {
    "tenure": RNG.integers(0, 72, ROWS),
    "charge": np.where(np.arange(ROWS) % 20 == 0, np.nan, RNG.normal(70, 20, ROWS).round(2)),
    "contract": RNG.choice(["month-to-month", "one-year", "two-year"], ROWS),
    "support": RNG.random(ROWS) < 0.4,
}
FEATURES = tuple(TRAINING)
COUNTERS = (
    "model_input_missing_values_total",
    "model_input_out_of_range_values_total",
    "model_input_unseen_categories_total",
)
MODEL = {"model_name": "churn", "model_version": "v1"}


def churn_probability(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """P(churned) falls with tenure (the first column): a binary model's one column."""
    return np.clip(1.0 - matrix[:, 0] / 72.0, 0.0, 1.0)


def spend(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Twelve months of charges (70 when missing)."""
    return 12.0 * np.nan_to_num(matrix[:, 1], nan=70.0)


def monitored(
    task: Task, *, window_rows: int = 200, reference: bool = True, model: Any = None
) -> tuple[ModelMonitor, CollectorRegistry, TabularPredictor]:
    schema = TabularSchema.infer(TRAINING, task)
    model = model or (churn_probability if task.classes else spend)
    predictor = TabularPredictor(schema, model)
    profile = build(predictor.monitoring, TRAINING, predictor.predict(TRAINING))
    loaded = LoadedModel("churn", "v1", "test", predictor, profile if reference else None)
    registry = CollectorRegistry()
    monitor = ModelMonitor(registry, window_rows=window_rows, min_rows=50, threshold=0.2)
    monitor.attach(loaded)
    return monitor, registry, predictor


def observe(monitor: ModelMonitor, predictor: TabularPredictor, rows: dict[str, Any]) -> None:
    inputs = {name: np.asarray(values) for name, values in rows.items()}
    monitor.observe(inputs, predictor.predict(inputs))
    monitor.refresh()


def quality(registry: CollectorRegistry) -> dict[tuple[str, str], float | None]:
    return {
        (counter, feature): registry.get_sample_value(counter, {**MODEL, "feature": feature})
        for counter in COUNTERS
        for feature in FEATURES
    }


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {**MODEL, **labels})


def rows(count: int, **columns: Any) -> dict[str, Any]:
    """``count`` training rows (cycling), with some columns replaced."""
    picked = {name: values[np.arange(count) % ROWS] for name, values in TRAINING.items()}
    return {**picked, **columns}


# --- data quality ------------------------------------------------------------------------
def test_every_data_quality_series_exists_from_the_start() -> None:
    _, registry, _ = monitored(Task.classification(["churned", "stayed"]))
    assert quality(registry) == dict.fromkeys(quality(registry), 0.0)


def test_missing_out_of_range_and_unseen_values_are_counted_by_feature() -> None:
    monitor, registry, predictor = monitored(Task.classification(["churned", "stayed"]))
    low, high = float(np.nanmin(TRAINING["charge"])), float(np.nanmax(TRAINING["charge"]))
    observe(
        monitor,
        predictor,
        {
            "tenure": np.array([-1, 0, 71, 500]),  # two outside the training range 0..71
            "charge": np.array([math.nan, low - 0.01, high, math.nan]),
            "contract": np.array(["weekly", "one-year", "daily", "two-year"], dtype=object),
            "support": np.array([True, False, False, True]),
        },
    )
    counted = {key: value for key, value in quality(registry).items() if value}
    assert counted == {
        ("model_input_out_of_range_values_total", "tenure"): 2,
        ("model_input_missing_values_total", "charge"): 2,
        ("model_input_out_of_range_values_total", "charge"): 1,
        ("model_input_unseen_categories_total", "contract"): 2,
    }, "a missing value is not also out of range; the training bounds are inside the range"


def test_training_rows_raise_no_data_quality_counter_but_missing_values() -> None:
    monitor, registry, predictor = monitored(Task.regression())
    observe(monitor, predictor, rows(ROWS))
    counted = {key: value for key, value in quality(registry).items() if value}
    assert counted == {("model_input_missing_values_total", "charge"): ROWS / 20}


# --- predictions -------------------------------------------------------------------------
def test_string_classes_are_counted_and_scored_by_name() -> None:
    monitor, registry, predictor = monitored(Task.classification(["stayed", "churned"]))
    # P(churned) = 1 - tenure / 72: tenures 0 and 9 churn, 60 stays.
    observe(monitor, predictor, rows(3, tenure=np.array([0, 9, 60])))
    assert sample(registry, "model_predictions_total", predicted_class="churned") == 2
    assert sample(registry, "model_predictions_total", predicted_class="stayed") == 1
    assert sample(registry, "model_predictions_total", predicted_class="other") is None
    churned_scores = sample(registry, "model_prediction_score_sum", predicted_class="churned")
    assert churned_scores == pytest.approx(1.0 + (1 - 9 / 72))
    assert sample(registry, "model_prediction_value_count", output="label") is None


def test_a_regression_histogram_is_bucketed_at_the_training_quantiles() -> None:
    monitor, registry, predictor = monitored(Task.regression())
    family = monitor.metrics.prediction_value
    assert family is not None
    reference = spend(TabularSchema.infer(TRAINING, Task.regression()).encode(TRAINING))
    cuts = np.unique(np.quantile(reference, np.arange(1, 10) / 10, method="higher"))
    assert family.bounds.tolist() == cuts.tolist()
    observe(monitor, predictor, rows(3, charge=np.array([0.0, cuts[0] / 12, 1e6])))
    labels = {"output": "prediction"}
    assert sample(registry, "model_prediction_value_count", **labels) == 3
    assert sample(registry, "model_prediction_value_sum", **labels) == pytest.approx(cuts[0] + 12e6)
    first = {**labels, "le": str(float(cuts[0]))}
    assert sample(registry, "model_prediction_value_bucket", **first) == 2, "0 and the cut"
    assert sample(registry, "model_prediction_value_bucket", **labels, le="+Inf") == 3
    assert sample(registry, "model_predictions_total", predicted_class="other") is None


def test_negative_values_are_counted_too() -> None:
    # Training predictions around zero: some buckets are negative, and the count stays.
    def centred(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        return spend(matrix) - 840.0

    monitor, registry, predictor = monitored(Task.regression(), model=centred)
    family = monitor.metrics.prediction_value
    assert family is not None
    assert family.bounds[0] < 0
    observe(monitor, predictor, rows(5))
    assert sample(registry, "model_prediction_value_count", output="prediction") == 5
    assert sample(registry, "model_prediction_value_bucket", output="prediction", le="+Inf") == 5


def test_a_regressor_without_a_profile_still_counts_its_values() -> None:
    monitor, registry, predictor = monitored(Task.regression(), reference=False)
    observe(monitor, predictor, rows(2))
    assert sample(registry, "model_prediction_value_count", output="prediction") == 2


# --- drift -------------------------------------------------------------------------------
def drift(registry: CollectorRegistry) -> dict[str, float]:
    values = {
        feature: sample(registry, "model_feature_drift_psi", feature=feature)
        for feature in FEATURES
    }
    values["prediction"] = sample(registry, "model_prediction_drift_psi", output="label")
    return {name: value for name, value in values.items() if value is not None}


def test_unseen_categories_make_a_categorical_feature_drift() -> None:
    monitor, registry, predictor = monitored(Task.classification(["churned", "stayed"]))
    observe(monitor, predictor, rows(200))
    calm = drift(registry)
    assert all(value < 0.2 for value in calm.values()), calm
    weekly = np.array(["weekly"] * 200, dtype=object)
    observe(monitor, predictor, rows(200, contract=weekly))
    drifted = drift(registry)
    assert drifted["contract"] > 0.2, drifted
    assert all(drifted[name] < 0.2 for name in ("tenure", "charge", "support")), drifted
    assert sample(registry, "model_input_unseen_categories_total", feature="contract") == 200


def test_a_shift_between_known_categories_is_drift_too() -> None:
    monitor, registry, predictor = monitored(Task.classification(["churned", "stayed"]))
    observe(monitor, predictor, rows(200, contract=np.array(["two-year"] * 200)))
    assert drift(registry)["contract"] > 0.2
    assert sample(registry, "model_input_unseen_categories_total", feature="contract") == 0


def test_a_regressors_prediction_drift_is_numeric() -> None:
    monitor, registry, predictor = monitored(Task.regression())
    observe(monitor, predictor, rows(200))
    calm = sample(registry, "model_prediction_drift_psi", output="prediction")
    assert calm is not None
    assert calm < 0.2
    observe(monitor, predictor, rows(200, charge=np.full(200, 500.0)))
    shifted = sample(registry, "model_prediction_drift_psi", output="prediction")
    assert shifted is not None
    assert shifted > 0.2


def test_requests_folded_together_count_as_one_request_of_all_their_rows() -> None:
    # The monitor stacks a batch's requests before converting them: the same counters and
    # drift as one request of every row.
    task = Task.classification(["churned", "stayed"])
    table = rows(
        6,
        tenure=np.array([-1, 0, 71, 500, 3, 4]),
        charge=np.array([math.nan, 1.0, 70.0, math.nan, 2.0, 3.0]),
        contract=np.array(["weekly", "one-year", "daily", "two-year", "a", "b"], dtype=object),
    )
    together, together_registry, predictor = monitored(task, window_rows=6)
    observe(together, predictor, table)
    one_by_one, registry, _ = monitored(task, window_rows=6)
    for row in range(6):
        inputs = {name: np.asarray(values)[row : row + 1] for name, values in table.items()}
        one_by_one.observe(inputs, predictor.predict(inputs))
    one_by_one.refresh()
    assert quality(registry) == quality(together_registry)
    np.testing.assert_equal(drift(registry), drift(together_registry))  # NaN equals NaN
    for name in ("churned", "stayed"):
        labels = {"predicted_class": name}
        assert sample(registry, "model_predictions_total", **labels) == sample(
            together_registry, "model_predictions_total", **labels
        )
