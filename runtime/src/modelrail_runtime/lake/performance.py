"""Realized performance: predictions joined with their true outcomes, per version and day.

Each prediction row is joined with the latest label of its ``prediction_id``; then, per
model name, model version and prediction day:

- classifiers: accuracy and macro F1 (the mean of the per-class F1 over the classes that
  occur among the labelled rows' true and predicted classes, as scikit-learn computes it);
- regressors: RMSE and MAE (of the first target);
- both: the predictions, the labelled ones, and the label coverage (labelled/predicted).

Only pyarrow and numpy: the job runs in the service image.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pyarrow as pa

CLASS_OUTPUT: Final = "output_label"
VALUE_OUTPUT: Final = "output_prediction"
FILE_NAME: Final = "performance.parquet"
"""One file per day: a re-run of the day replaces it."""


class PerformanceError(ValueError):
    """The predictions cannot be scored (no class or value output); says why."""


class Performance(NamedTuple):
    """The realized performance of one model version on the predictions of one day."""

    date: str
    model_name: str
    model_version: str
    task: str
    """``classification`` or ``regression``."""
    predictions: int
    labelled: int
    coverage: float
    """labelled / predictions."""
    accuracy: float | None = None
    macro_f1: float | None = None
    rmse: float | None = None
    mae: float | None = None


def latest_labels(labels: pa.Table) -> pa.Table:
    """One row per ``prediction_id``: its most recently observed ``label`` and ``value``."""
    import pyarrow as pa  # noqa: PLC0415

    ordered = labels.sort_by([("observed_at", "ascending")])
    # Without threads, "last" follows the table's order: the latest observation.
    latest = pa.TableGroupBy(ordered, "prediction_id", use_threads=False).aggregate(
        [("label", "last"), ("value", "last")]
    )
    return latest.rename_columns({"label_last": "true_label", "value_last": "true_value"})


def realized_performance(predictions: pa.Table, labels: pa.Table) -> list[Performance]:
    """Per model name, version and day of ``predictions`` (prediction rows with ``date``),
    their realized performance against ``labels`` (rows of the labels table).

    Raises:
        PerformanceError: the predictions have neither ``output_label`` nor
            ``output_prediction`` (an embedding model has no ground truth).
    """
    import pyarrow.compute as pc  # noqa: PLC0415

    task = _task(predictions)
    if predictions.num_rows == 0:
        return []
    joined = predictions.join(latest_labels(labels), "prediction_id", join_type="left outer")
    key_column = pc.binary_join_element_wise(
        joined["model_name"], joined["model_version"], joined["date"], "\x00"
    )
    keys, group_of_row = np.unique(
        key_column.to_numpy(zero_copy_only=False).astype(str), return_inverse=True
    )
    if task == "classification":
        predicted = pc.cast(joined[CLASS_OUTPUT], "string")
        truth = joined["true_label"]
    else:
        predicted = _first_target(joined[VALUE_OUTPUT])
        truth = joined["true_value"]
    labelled = truth.is_valid().to_numpy(zero_copy_only=False)
    predicted_values = predicted.to_numpy(zero_copy_only=False)
    true_values = truth.to_numpy(zero_copy_only=False)
    rows = []
    for group, key in enumerate(keys):
        members = group_of_row == group
        name, version, day = str(key).split("\x00")
        scored = members & labelled
        count, total = int(scored.sum()), int(members.sum())
        metrics = (
            _classification(true_values[scored].astype(str), predicted_values[scored].astype(str))
            if task == "classification"
            else _regression(
                true_values[scored].astype(float), predicted_values[scored].astype(float)
            )
        )
        rows.append(Performance(day, name, version, task, total, count, count / total, **metrics))
    return rows


def _task(predictions: pa.Table) -> str:
    if CLASS_OUTPUT in predictions.column_names:
        return "classification"
    if VALUE_OUTPUT in predictions.column_names:
        return "regression"
    raise PerformanceError(
        f"the predictions have no {CLASS_OUTPUT} or {VALUE_OUTPUT} column: realized "
        "performance is for classifiers and regressors (embeddings have no ground truth)"
    )


def _first_target(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The values of a one-target regressor; the first target's of a multi-target one."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if pa.types.is_list(column.type):
        return pc.list_element(column, 0)
    return column


def _classification(
    truth: NDArray[np.str_], predicted: NDArray[np.str_]
) -> dict[str, float | None]:
    if len(truth) == 0:
        return {"accuracy": None, "macro_f1": None}
    scores = []
    for label in np.union1d(truth, predicted):
        true_positive = np.sum((truth == label) & (predicted == label))
        errors = np.sum((truth == label) != (predicted == label))  # false positives + negatives
        # No support and no prediction cannot happen here: the class occurs in one of them.
        scores.append(2 * true_positive / (2 * true_positive + errors))
    return {"accuracy": float(np.mean(truth == predicted)), "macro_f1": float(np.mean(scores))}


def _regression(
    truth: NDArray[np.float64], predicted: NDArray[np.float64]
) -> dict[str, float | None]:
    if len(truth) == 0:
        return {"rmse": None, "mae": None}
    error = predicted - truth
    return {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error)))}


def as_table(rows: Sequence[Performance], computed_at: datetime | None = None) -> pa.Table:
    """``rows`` as the performance table (`Performance`'s fields, then ``computed_at``)."""
    import pyarrow as pa  # noqa: PLC0415

    when = computed_at or datetime.now(UTC)
    columns = {field: [getattr(row, field) for row in rows] for field in Performance._fields}
    return pa.Table.from_pydict(
        {**columns, "computed_at": [when] * len(rows)}, schema=table_schema()
    )


def table_schema() -> pa.Schema:
    """The Arrow schema of the performance table."""
    import pyarrow as pa  # noqa: PLC0415

    return pa.schema(
        [
            ("date", pa.string()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            ("task", pa.string()),
            ("predictions", pa.int64()),
            ("labelled", pa.int64()),
            ("coverage", pa.float64()),
            ("accuracy", pa.float64()),
            ("macro_f1", pa.float64()),
            ("rmse", pa.float64()),
            ("mae", pa.float64()),
            ("computed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def latest(rows: Sequence[Performance]) -> list[Performance]:
    """Per model name and version, the row of its latest day with labels (none: its latest
    day), for the metrics."""
    chosen: dict[tuple[str, str], Performance] = {}
    for row in sorted(rows, key=lambda row: (row.labelled > 0, row.date)):
        chosen[row.model_name, row.model_version] = row
    return list(chosen.values())
