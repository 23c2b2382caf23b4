"""Tabular models: named, mixed-type features, classification or regression.

`TabularSchema` is inferred from the training table and recorded in metadata.json; a
framework adapter wraps its model in a `TabularPredictor`, which turns the request's
feature tensors into the model's matrix and its scores into the task's outputs. `Task`
and `SchemaError` are shared with text models (`modelrail_runtime.task`).
"""

from ..task import SchemaError, Task, TaskKind
from .predictor import MatrixModel, TabularPredictor
from .schema import Feature, TabularSchema

__all__ = [
    "Feature",
    "MatrixModel",
    "SchemaError",
    "TabularPredictor",
    "TabularSchema",
    "Task",
    "TaskKind",
]
