"""Tabular models: named, mixed-type features, classification or regression.

`TabularSchema` is inferred from the training table and recorded in metadata.json; a
framework adapter wraps its model in a `TabularPredictor`, which turns the request's
feature tensors into the model's matrix and its scores into the task's outputs.
"""

from .predictor import MatrixModel, TabularPredictor
from .schema import Feature, SchemaError, TabularSchema, Task, TaskKind

__all__ = [
    "Feature",
    "MatrixModel",
    "SchemaError",
    "TabularPredictor",
    "TabularSchema",
    "Task",
    "TaskKind",
]
