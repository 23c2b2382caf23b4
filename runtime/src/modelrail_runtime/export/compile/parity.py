"""`check_compiled`: the compiled graph, run as the service runs it, against the model.

The bounds are on what a client sees. A classifier's probabilities may differ by float32
rounding (the graph computes in float32; about 1e-7 measured) but every row's label must
be the same. A regressor's values may differ relatively: float32 keeps about seven
digits, so a value of 300 moves by ~1e-4 while a value below 1 moves by ~1e-7, and the
bound is ``relative_tolerance * max(1, |native value|)``. A tree ensemble compares float32
features with float32 thresholds: a held-out value within float32 rounding of a split
would take the other branch, which is what this check is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...frameworks.onnx import open_session
from ...frameworks.onnx_tabular import tabular_model
from ...tabular import TabularSchema, TaskKind
from ..parity import ParityError
from .compiled import FALLBACK_EXTRAS, CompiledModel
from .converters import source_of

DEFAULT_PROBABILITY_TOLERANCE = 1e-6
DEFAULT_RELATIVE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class CompiledParity:
    """How close the compiled graph's answers are to the model's, over held-out rows."""

    rows: int
    """Rows compared."""
    max_abs_diff: float
    """The largest absolute difference of one probability (one value, for regression)."""
    max_rel_diff: float | None = None
    """Regression: the largest difference relative to ``max(1, |native value|)``."""
    label_mismatches: int | None = None
    """Classification: rows whose most probable class differs."""

    def as_metadata(self) -> dict[str, Any]:
        """The report for metadata.json (the fields that apply to the task)."""
        record: dict[str, Any] = {"rows": self.rows, "max_abs_diff": self.max_abs_diff}
        if self.max_rel_diff is not None:
            record["max_rel_diff"] = self.max_rel_diff
        if self.label_mismatches is not None:
            record["label_mismatches"] = self.label_mismatches
        return record


def check_compiled(
    model: Any,
    compiled: CompiledModel | bytes,
    schema: TabularSchema,
    matrix: NDArray[Any],
    *,
    probability_tolerance: float = DEFAULT_PROBABILITY_TOLERANCE,
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE,
) -> CompiledParity:
    """Run ``model`` and its compiled graph on ``matrix``; raise when a row differs too much.

    Args:
        model: the fitted model ``compiled`` came from.
        compiled: `compile_onnx`'s result, or its bytes.
        schema: the features and task it is served with.
        matrix: held-out rows, encoded (``schema.encode(table)``): rows with missing values
            and unseen categories belong in it.
        probability_tolerance: classification: the largest absolute difference a
            probability may have.
        relative_tolerance: regression: the largest difference, relative to
            ``max(1, |native value|)``.

    Returns:
        The report: rows, largest differences, label mismatches.

    Raises:
        ParityError: the outputs differ in shape, a value beyond the bound (the message
            names the worst row, both values and the bound), or a row's label.
        ValueError: ``matrix`` is not rows of the schema's features; a tolerance is not a
            positive number.
        ModelLoadError: the graph does not load as the service loads it.
    """
    held_out = _check_matrix(matrix, schema)
    for name, value in (
        ("probability_tolerance", probability_tolerance),
        ("relative_tolerance", relative_tolerance),
    ):
        if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, not {value!r}")
    data = compiled.onnx if isinstance(compiled, CompiledModel) else compiled
    graph = tabular_model(open_session(data, where="the compiled graph"), schema)
    received = np.asarray(graph(held_out), dtype=np.float64)
    if schema.task.kind is TaskKind.REGRESSION:
        expected = np.asarray(model.predict(held_out), dtype=np.float64)
        return _regression(model, expected, received, relative_tolerance)
    expected = np.asarray(model.predict_proba(held_out), dtype=np.float64)
    return _classification(model, expected, received, probability_tolerance)


def _check_matrix(matrix: NDArray[Any], schema: TabularSchema) -> NDArray[np.float64]:
    rows = np.asarray(matrix, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != len(schema.features) or len(rows) == 0:
        raise ValueError(
            f"the parity check takes held-out rows [rows, {len(schema.features)}] "
            f"(schema.encode(table)), not an array of shape {list(rows.shape)}"
        )
    return rows


def _classification(
    model: Any, expected: NDArray[np.float64], received: NDArray[np.float64], tolerance: float
) -> CompiledParity:
    if received.ndim == 1 or (received.ndim == 2 and received.shape[1] == 1):
        # A binary graph may give the positive class's probability alone, as served.
        positive = received.reshape(-1)
        received = np.column_stack([1.0 - positive, positive])
    what = type(model).__name__
    if received.shape != expected.shape:
        raise ParityError(
            f"the compiled graph gives probabilities {list(received.shape)}, the {what} "
            f"{list(expected.shape)}: compile the model that is checked"
        )
    differences = _differences(expected, received)
    mismatches = np.argmax(expected, axis=1) != np.argmax(received, axis=1)
    report = CompiledParity(
        rows=len(expected),
        max_abs_diff=float(differences.max()),
        label_mismatches=int(mismatches.sum()),
    )
    row = int(np.argmax(differences.max(axis=1)))
    if report.max_abs_diff > tolerance or report.label_mismatches:
        if report.max_abs_diff <= tolerance:
            row = int(np.argmax(mismatches))
        raise ParityError(
            f"the compiled graph's probabilities differ from the {what}'s at row {row}: "
            f"{_values(expected[row])} natively, {_values(received[row])} from the graph "
            f"(largest difference {report.max_abs_diff:.3g}, bound probability_tolerance="
            f"{tolerance:g}; labels differ on {report.label_mismatches} of {report.rows} rows). "
            f"Fix: {_fix(model)}",
            report,
        )
    return report


def _regression(
    model: Any, expected: NDArray[np.float64], received: NDArray[np.float64], tolerance: float
) -> CompiledParity:
    what = type(model).__name__
    rows = len(expected)
    if received.size != expected.size or len(received) != rows:
        raise ParityError(
            f"the compiled graph gives values {list(received.shape)}, the {what} "
            f"{list(expected.shape)}: compile the model that is checked"
        )
    # One column per target: [rows] and [rows, 1] are the same values.
    expected = expected.reshape(rows, -1)
    received = received.reshape(rows, -1)
    differences = _differences(expected, received)
    scale = np.maximum(1.0, np.abs(expected))
    relative = differences / scale
    report = CompiledParity(
        rows=rows, max_abs_diff=float(differences.max()), max_rel_diff=float(relative.max())
    )
    row, target = np.unravel_index(int(np.argmax(relative)), relative.shape)
    if relative[row, target] > tolerance:
        where = f"row {row}" if expected.shape[1] == 1 else f"row {row}, target {target}"
        raise ParityError(
            f"the compiled graph's prediction differs from the {what}'s at {where}: "
            f"{expected[row, target]:.9g} natively, {received[row, target]:.9g} from the graph "
            f"(difference {differences[row, target]:.3g}, bound relative_tolerance * max(1, "
            f"|native|) = {tolerance * scale[row, target]:.3g}). Fix: {_fix(model)}",
            report,
        )
    return report


def _differences(
    expected: NDArray[np.float64], received: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Absolute differences; NaN on either side (but not both) is an infinite difference."""
    differences = np.abs(expected - received)
    both = np.isnan(expected) & np.isnan(received)
    return np.where(both, 0.0, np.nan_to_num(differences, nan=np.inf))


def _values(row: NDArray[np.float64]) -> str:
    return "[" + ", ".join(f"{value:.9g}" for value in row) + "]"


def _fix(model: Any) -> str:
    """What to do when the graph answers otherwise: check the pairing, then serve natively."""
    source = source_of(model)
    native = (
        f"adapter_for({source!r}) and modelrail-runtime[{FALLBACK_EXTRAS[source]}] in the image"
        if source in FALLBACK_EXTRAS
        else "its framework's adapter"
    )
    return (
        "check the graph compiled from this very model (compile_onnx(model, schema)). If it "
        "is, the difference is float32 rounding: the graph computes in float32, and a value "
        "within float32 precision of a tree's split takes the other branch. Serve the model "
        f"natively ({native}), or raise the tolerance if the difference is acceptable"
    )
