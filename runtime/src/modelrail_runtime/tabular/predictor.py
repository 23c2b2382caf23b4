"""`TabularPredictor`: a model of the float matrix, behind the `Predictor` protocol.

A framework adapter loads its model and hands over one function, matrix in, scores out:
class probabilities (rows x classes, in the schema's class order; a binary model's one
column of positive-class probability is accepted too) or regression values. Everything
else is the same for every framework: the tensors become the matrix (`TabularSchema.encode`),
the scores become the task's outputs, and the schema gives the signature and what
monitoring watches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..adapter import MonitoringSpec, Tensor
from ..oip.signature import ModelSignature
from ..task import TaskKind
from .schema import TabularSchema

MatrixModel = Callable[[NDArray[np.float64]], NDArray[Any]]


class TabularPredictor:
    """Named feature tensors in, the task's outputs out."""

    def __init__(self, schema: TabularSchema, model: MatrixModel) -> None:
        self.schema = schema
        self.signature: ModelSignature = schema.signature()
        self.monitoring: MonitoringSpec = schema.monitoring()
        self._model = model
        task = schema.task
        self._classification = task.kind is TaskKind.CLASSIFICATION
        self._classes = None
        if task.classes:
            label_type = object if isinstance(task.classes[0], str) else np.int64
            self._classes = np.asarray(task.classes, dtype=label_type)
        self._targets = task.targets

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The task's outputs for a batch of rows."""
        scores = np.asarray(self._model(self.schema.encode(inputs)), dtype=np.float64)
        if not self._classification:
            if self._targets == 1:
                return {"prediction": scores.reshape(-1)}
            return {"prediction": scores.reshape(len(scores), self._targets)}
        assert self._classes is not None  # noqa: S101 - set for every classifier
        if scores.ndim == 1 or scores.shape[1] == 1:  # a binary model's P(positive class)
            positive = scores.reshape(-1)
            scores = np.column_stack([1.0 - positive, positive])
        return {"label": self._classes[np.argmax(scores, axis=1)], "probabilities": scores}
