"""What monitoring reads from a batch of tensors: one float column per watched value.

Drift bins these columns, the data-quality counters inspect them, and the reference
profile is built from the same function at training time, so production and training are
binned alike. A numeric feature is its values (NaN: missing); a string category its index
in the training vocabulary (``len(categories)`` for a value never seen); a boolean 0/1; a
predicted class its index among the model's classes (``len(classes)`` for anything else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..adapter import FeatureSpec, Tensor


def feature_values(feature: FeatureSpec, tensors: Mapping[str, Tensor]) -> NDArray[np.float64]:
    """The watched values of ``feature`` in ``tensors``, as floats."""
    tensor = np.asarray(tensors[feature.input])
    column = tensor if feature.column is None else tensor[:, feature.column]
    if feature.categories:
        return codes(column, feature.categories)
    return column.astype(np.float64)


def codes(values: NDArray[Any], known: Sequence[Any]) -> NDArray[np.float64]:
    """The index of each value in ``known``; ``len(known)`` for any other value."""
    index = {value: float(position) for position, value in enumerate(known)}
    other = float(len(known))
    return np.fromiter(
        (index.get(value, other) for value in np.asarray(values).ravel().tolist()),
        dtype=np.float64,
        count=np.asarray(values).size,
    )


def prediction_values(
    outputs: Mapping[str, Tensor], output: str, classes: Sequence[int | str]
) -> NDArray[np.float64]:
    """Predicted classes as class indices, or the first predicted value per row."""
    tensor = np.asarray(outputs[output])
    if classes:
        return codes(tensor, classes)
    return (tensor if tensor.ndim == 1 else tensor[:, 0]).astype(np.float64)
