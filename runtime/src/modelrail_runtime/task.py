"""What a model predicts: classes, values or vectors, and the output tensors that follow.

Every kind of schema (`TabularSchema` for named features, `TextSchema` for free text)
records a `Task` in metadata.json; the task decides the outputs, so that dashboards and
the prediction log see the same ``label``/``probabilities``, ``prediction`` or
``embedding`` tensors whatever the model's inputs are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from .oip.signature import TensorSpec


class SchemaError(ValueError):
    """A training table or a recorded schema the runtime cannot serve; says how to fix it."""


class TaskKind(StrEnum):
    """What the model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    EMBEDDING = "embedding"


@dataclass(frozen=True)
class Task:
    """Classification (with its classes, in the order of the model's probabilities),
    regression (with the number of targets) or embedding (with the vectors' dimensions)."""

    kind: TaskKind
    classes: tuple[int | str, ...] = ()
    targets: int = 1
    dimensions: int = 0
    """Embedding: the length of each vector."""

    @classmethod
    def classification(cls, classes: Sequence[int | str]) -> Task:
        """A classifier of ``classes`` (at least two; all integers or all strings)."""
        values = tuple(_plain(value) for value in classes)
        kinds = {type(value) for value in values}
        if len(values) < 2 or len(set(values)) != len(values) or len(kinds) != 1:
            raise SchemaError(
                "a classifier needs at least two distinct classes, all integers or all strings"
            )
        return cls(TaskKind.CLASSIFICATION, classes=values)

    @classmethod
    def regression(cls, targets: int = 1) -> Task:
        """A regressor predicting ``targets`` values per row."""
        if targets < 1:
            raise SchemaError("a regressor predicts at least one target")
        return cls(TaskKind.REGRESSION, targets=targets)

    @classmethod
    def embedding(cls, dimensions: int) -> Task:
        """An encoder giving one vector of ``dimensions`` numbers per row."""
        # bool is an int to Python; a vector of True dimensions is a mistake, not a size.
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
            raise SchemaError(
                f"an embedding has at least one dimension (got {dimensions!r}): pass the "
                "length of the model's vectors, e.g. Task.embedding(384)"
            )
        return cls(TaskKind.EMBEDDING, dimensions=dimensions)

    def outputs(self) -> tuple[TensorSpec, ...]:
        """The task's output tensors."""
        if self.kind is TaskKind.REGRESSION:
            shape = (-1,) if self.targets == 1 else (-1, self.targets)
            return (TensorSpec("prediction", "FP64", shape),)
        if self.kind is TaskKind.EMBEDDING:
            return (TensorSpec("embedding", "FP32", (-1, self.dimensions)),)
        label = "BYTES" if isinstance(self.classes[0], str) else "INT64"
        return (
            TensorSpec("label", label, (-1,)),
            TensorSpec("probabilities", "FP64", (-1, len(self.classes))),
        )

    def as_metadata(self) -> dict[str, Any]:
        """The task as metadata.json records it."""
        if self.kind is TaskKind.REGRESSION:
            return {"kind": str(self.kind), "targets": self.targets}
        if self.kind is TaskKind.EMBEDDING:
            return {"kind": str(self.kind), "dimensions": self.dimensions}
        return {"kind": str(self.kind), "classes": list(self.classes)}

    @classmethod
    def from_metadata(cls, record: Mapping[str, Any]) -> Task:
        """The task metadata.json records (the inverse of `as_metadata`).

        Raises:
            SchemaError: the record is malformed or names an unknown kind.
        """
        if not isinstance(record, Mapping):
            raise SchemaError("metadata.json records a task that is not an object")
        kind = record.get("kind")
        try:
            if kind == TaskKind.REGRESSION:
                return cls.regression(int(record.get("targets", 1)))
            if kind == TaskKind.CLASSIFICATION:
                return cls.classification(record["classes"])
            if kind == TaskKind.EMBEDDING:
                return cls.embedding(record["dimensions"])
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"metadata.json records a malformed {kind} task "
                f"({type(exc).__name__}: {exc}); re-run `make train`"
            ) from None
        known = ", ".join(str(value) for value in TaskKind)
        raise SchemaError(f"metadata.json records an unknown task kind {kind!r} (known: {known})")


def _plain(value: Any) -> int | str:
    """A class label as JSON holds it: numpy integers become int, strings stay."""
    if isinstance(value, str):
        return str(value)  # a numpy string becomes a plain one
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise SchemaError(f"class {value!r} is neither an integer nor a string")
