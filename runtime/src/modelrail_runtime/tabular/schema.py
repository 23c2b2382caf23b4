"""A tabular model's schema: its named features, its task, and how rows become a matrix.

Training infers the schema from the training table (`TabularSchema.infer`) and records it
in metadata.json; serving reads it back (`TabularSchema.from_metadata`). The same
`encode` turns a table, at training and at serving, into the float matrix the model sees:
numbers as they are (a missing value is NaN), booleans as 0/1, and string categories as
their index in the training vocabulary (NaN for a value never seen in training, which
gradient-boosted trees route like a missing value and one-hot encoders ignore).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..adapter import FeatureSpec, MonitoringSpec, Tensor
from ..oip.signature import ModelSignature, TensorSpec
from ..task import SchemaError, Task, TaskKind

CATEGORICAL_TYPES: Final = frozenset({"BYTES", "BOOL"})
NUMERIC_TYPES: Final = frozenset({"FP64", "FP32", "INT64"})
FLOAT_TYPES: Final = frozenset({"FP64", "FP32"})
PACKED_INPUT: Final = "input-0"
"""The one tensor ``[N, features]`` a request may send instead of one tensor per feature,
when every feature has the same numeric datatype."""
RESERVED: Final = frozenset(
    {
        "timestamp",
        "prediction_id",
        "request_id",
        "model_name",
        "model_version",
        "latency_seconds",
        "row",
        "inputs_sha256",
        # Readers of the prediction log add `date` from the partition path, and each output
        # is a column `output_<name>`: a feature of either name would clash with them.
        "date",
        "output_label",
        "output_probabilities",
        "output_prediction",
        PACKED_INPUT,
    }
)
"""Names a feature cannot take: the prediction log's own columns, and the packed input."""


@dataclass(frozen=True)
class Feature:
    """One named input column."""

    name: str
    datatype: str
    """FP64, FP32, INT64 (numbers), BOOL, or BYTES (strings: a categorical feature)."""
    categories: tuple[str, ...] = ()
    """BYTES: every value seen in training, sorted; their index is the model's code."""
    minimum: float | None = None
    maximum: float | None = None
    """Numbers: the training range (values outside it are counted, not refused)."""
    nullable: bool = False
    """FP64/FP32: whether a request may send ``null`` (a missing value, NaN to the model)."""

    @property
    def categorical(self) -> bool:
        """BYTES and BOOL features are categories; numbers are not."""
        return self.datatype in CATEGORICAL_TYPES

    def spec(self) -> TensorSpec:
        """The feature's OIP input tensor: one value per row."""
        return TensorSpec(self.name, self.datatype, (-1,), nullable=self.nullable)

    def as_metadata(self) -> dict[str, Any]:
        """The feature as metadata.json records it."""
        record: dict[str, Any] = {"name": self.name, "datatype": self.datatype}
        if self.datatype == "BYTES":
            record["categories"] = list(self.categories)
        if self.minimum is not None:
            record.update(minimum=self.minimum, maximum=self.maximum)
        if self.nullable:
            record["nullable"] = True
        return record


@dataclass(frozen=True)
class TabularSchema:
    """The features a tabular model takes, in the order of its matrix columns, and its task."""

    features: tuple[Feature, ...]
    task: Task

    def __post_init__(self) -> None:
        if self.task.kind is TaskKind.EMBEDDING:
            raise SchemaError(
                "a tabular model classifies or regresses; an embedding is served for free "
                "text: use TextSchema(Task.embedding(dimensions))"
            )

    # --- training ------------------------------------------------------------------
    @classmethod
    def infer(cls, table: Mapping[str, NDArray[Any]], task: Task) -> TabularSchema:
        """The schema of a training ``table`` (column name -> values), in column order.

        Floats are FP64 (FP32 for float32 columns; NaN: missing, and the feature nullable),
        integers INT64, booleans BOOL, strings BYTES with their sorted values as categories.

        Raises:
            SchemaError: a column is empty, of another type, or named like a reserved column.
        """
        features = []
        for name, raw in table.items():
            column = np.asarray(raw)
            _check_name(name)
            if column.ndim != 1 or len(column) == 0:
                raise SchemaError(f"feature {name!r} must be a non-empty column of values")
            features.append(_infer_feature(name, column))
        return cls(tuple(features), task)

    def encode(self, table: Mapping[str, Tensor]) -> NDArray[np.float64]:
        """The model's matrix for ``table`` (one column per feature, in schema order)."""
        if self._numbers_only:
            # Numbers only: every column converted in one C loop and turned into rows, a
            # third of the time of filling the matrix column by column (a served request
            # has one row or a few, so the per-column calls were most of the cost).
            stacked = np.array([table[feature.name] for feature in self.features], np.float64)
            if stacked.ndim == 2:
                return np.ascontiguousarray(stacked.T)
        rows = len(next(iter(table.values()))) if table else 0
        matrix = np.empty((rows, len(self.features)), dtype=np.float64)
        for position, feature in enumerate(self.features):
            matrix[:, position] = encode_column(feature, table[feature.name])
        return matrix

    @functools.cached_property
    def _numbers_only(self) -> bool:
        return not self.categorical_columns

    @property
    def categorical_columns(self) -> list[int]:
        """Positions of the BYTES features in the matrix (their values are category codes)."""
        return [i for i, feature in enumerate(self.features) if feature.datatype == "BYTES"]

    # --- serving -------------------------------------------------------------------
    def signature(self) -> ModelSignature:
        """One input per feature; the task's outputs; the packed form when it applies."""
        datatypes = {feature.datatype for feature in self.features}
        packed = None
        if len(datatypes) == 1 and datatypes <= NUMERIC_TYPES and not self.nullable:
            packed = TensorSpec(PACKED_INPUT, datatypes.pop(), (-1, len(self.features)))
        return ModelSignature(
            inputs=tuple(feature.spec() for feature in self.features),
            outputs=self.task.outputs(),
            packed=packed,
        )

    @property
    def nullable(self) -> bool:
        """Whether any feature takes missing values."""
        return any(feature.nullable for feature in self.features)

    def monitoring(self) -> MonitoringSpec:
        """What drift detection and the data-quality counters watch for this schema."""
        features = tuple(
            FeatureSpec(
                feature.name,
                feature.name,
                None,
                "categorical" if feature.categorical else "numeric",
                categories=feature.categories,
                minimum=feature.minimum,
                maximum=feature.maximum,
            )
            for feature in self.features
        )
        if self.task.kind is TaskKind.REGRESSION:
            return MonitoringSpec(features, value_output="prediction")
        return MonitoringSpec(features, "label", self.task.classes, score_output="probabilities")

    def as_metadata(self) -> dict[str, Any]:
        """``{"features": [...], "task": {...}}`` for metadata.json."""
        return {
            "features": [feature.as_metadata() for feature in self.features],
            "task": self.task.as_metadata(),
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> TabularSchema | None:
        """The schema metadata.json records, or None when it records none (an artifact
        trained before named features).

        Raises:
            SchemaError: the recorded schema is malformed.
        """
        if "features" not in metadata and "task" not in metadata:
            return None
        try:
            features = tuple(_feature_from(item) for item in metadata["features"])
            task = Task.from_metadata(metadata["task"])
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"metadata.json has a malformed feature schema ({type(exc).__name__}: {exc}); "
                "re-run `make train`"
            ) from None
        if not features:
            raise SchemaError("metadata.json lists no features; re-run `make train`")
        if len({feature.name for feature in features}) != len(features):
            raise SchemaError("metadata.json lists a feature twice; re-run `make train`")
        return cls(features, task)


def encode_column(feature: Feature, values: Tensor) -> NDArray[np.float64]:
    """One feature's values as the model's floats (category codes for BYTES; NaN: missing
    or unseen)."""
    column = np.asarray(values)
    if feature.datatype == "BYTES":
        index = {category: float(i) for i, category in enumerate(feature.categories)}
        return np.fromiter(
            (index.get(value, np.nan) for value in column.tolist()),
            dtype=np.float64,
            count=len(column),
        )
    return column.astype(np.float64)


def _infer_feature(name: str, column: NDArray[Any]) -> Feature:
    if column.dtype == np.bool_:
        return Feature(name, "BOOL")
    if column.dtype.kind in "iu":
        return Feature(name, "INT64", minimum=float(column.min()), maximum=float(column.max()))
    if column.dtype.kind == "f":
        present = column[~np.isnan(column)]
        if len(present) == 0:
            raise SchemaError(f"feature {name!r} has no value in the training table")
        return Feature(
            name,
            "FP32" if column.dtype == np.float32 else "FP64",
            minimum=float(present.min()),
            maximum=float(present.max()),
            nullable=bool(len(present) < len(column)),
        )
    if column.dtype.kind in "OUS":
        values = column.tolist()
        if not all(isinstance(value, str) for value in values):
            raise SchemaError(f"feature {name!r} mixes strings with other values (or None)")
        return Feature(name, "BYTES", categories=tuple(sorted(set(values))))
    raise SchemaError(
        f"feature {name!r} has values of type {column.dtype}: use numbers, booleans or strings"
    )


def _check_name(name: str) -> None:
    if name in RESERVED or not name or not name.isprintable():
        raise SchemaError(
            f"feature {name!r} cannot be served under that name (reserved: "
            f"{', '.join(sorted(RESERVED))}): rename the column"
        )


def _feature_from(item: Mapping[str, Any]) -> Feature:
    _check_name(str(item["name"]))
    datatype = str(item["datatype"])
    if datatype not in NUMERIC_TYPES | CATEGORICAL_TYPES:
        raise SchemaError(f"feature {item['name']!r} has datatype {datatype!r}")
    nullable = bool(item.get("nullable", False))
    if nullable and datatype not in FLOAT_TYPES:
        # The protocol layer turns null into NaN, which only a float column can hold.
        raise SchemaError(f"feature {item['name']!r} of datatype {datatype} cannot be nullable")
    minimum = item.get("minimum")
    maximum = item.get("maximum")
    return Feature(
        name=str(item["name"]),
        datatype=datatype,
        categories=tuple(str(value) for value in item.get("categories", ())),
        minimum=None if minimum is None else float(minimum),
        maximum=None if maximum is None else float(maximum),
        nullable=nullable,
    )
