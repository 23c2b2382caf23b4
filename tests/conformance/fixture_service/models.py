"""The fixture's models, chosen with ``FIXTURE_MODEL``.

``tabular`` (the default) has the shape real services have: one input per named feature
with mixed datatypes, string class names as labels, and a ``prediction_id`` per row.
``single`` is the older shape: one FP64 tensor ``features`` of shape [-1, 4] and INT64
labels. ``text`` and ``embedding`` take one BYTES input ``text`` (see ``text_models``).
All are plain Python read from a JSON file (``MODEL_URI``).
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any, ClassVar

from fixture_service.spec import Spec
from fixture_service.text_models import TextClassifierModel, TextEmbeddingModel

HERE = Path(__file__).parent


def _stable_sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # also NaN for NaN, which only the nan_passthrough flaw lets through
    return e / (1.0 + e)


class TabularModel:
    """Churn as logistic regression over four named features; labels are class names."""

    name: ClassVar[str] = "tabular"
    platform: ClassVar[str] = "python-logistic"
    default_file: ClassVar[Path] = HERE / "model.json"
    inputs: ClassVar[tuple[Spec, ...]] = (
        Spec("tenure_months", "INT64", (-1,)),
        Spec("monthly_charges", "FP64", (-1,), nullable=True),
        Spec("contract", "BYTES", (-1,)),
        Spec("has_support", "BOOL", (-1,)),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        self.classes: list[str] = list(params["classes"])
        if len(self.classes) != 2:
            raise ValueError(f"a binary classifier: 2 classes, not {self.classes!r}")
        self.intercept = float(params["intercept"])
        self.weights: dict[str, float] = {k: float(v) for k, v in params["weights"].items()}
        self.contract: dict[str, float] = {k: float(v) for k, v in params["contract"].items()}
        self.charges_mean = float(params["monthly_charges_mean"])

    @classmethod
    def outputs(cls, flaw: str) -> list[dict[str, Any]]:
        """The output metadata (two classes: model.json's ``classes``)."""
        label = "INT64" if flaw == "metadata_label_int" else "BYTES"
        return [
            {"name": "label", "datatype": label, "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        ]

    def example(self) -> dict[str, list[Any]]:
        """One row of valid columns."""
        return {
            "tenure_months": [12],
            "monthly_charges": [50.0],
            "contract": ["one-year"],
            "has_support": [False],
        }

    def predict(self, columns: dict[str, list[Any]], rows: int, flaw: str) -> list[list[float]]:
        """Class probabilities per row (an unseen contract adds nothing, as one-hot does)."""
        w = self.weights
        probs = []
        for i in range(rows):
            charges = columns["monthly_charges"][i]
            contract = columns["contract"][i]
            if flaw == "unknown_category_500":
                self.contract[contract]  # KeyError on a category the model never saw
            z = (
                self.intercept
                + w["tenure_months"] * columns["tenure_months"][i]
                + w["monthly_charges"] * (self.charges_mean if charges is None else charges)
                + self.contract.get(contract, 0.0)
                + w["has_support"] * (1.0 if columns["has_support"][i] else 0.0)
            )
            p = _stable_sigmoid(z)
            probs.append([1.0 - p, p])
        return probs

    def response(self, probs: list[list[float]], flaw: str) -> list[dict[str, Any]]:
        """The outputs of a response."""
        n, k = len(probs), len(self.classes)
        indices = [row.index(max(row)) for row in probs]
        classes = self.classes[::-1] if flaw == "classes_swapped" else self.classes
        label: dict[str, Any] = {"name": "label", "datatype": "BYTES", "shape": [n],
                                 "data": [classes[i] for i in indices]}  # fmt: skip
        if flaw == "label_indices":
            label.update(datatype="INT64", data=indices)
        return [
            label,
            {"name": "probabilities", "datatype": "FP64", "shape": [n, k],
             "data": [p for row in probs for p in row]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [n],
             "data": [uuid.uuid4().hex for _ in range(n)]},
        ]  # fmt: skip


class SingleTensorModel:
    """The older shape: scores = x * w (elementwise) over 4 FP64 features, softmax, argmax."""

    name: ClassVar[str] = "single"
    platform: ClassVar[str] = "python-linear"
    default_file: ClassVar[Path] = HERE / "model_single.json"
    inputs: ClassVar[tuple[Spec, ...]] = (Spec("features", "FP64", (-1, 4)),)

    def __init__(self, params: dict[str, Any]) -> None:
        self.weights = [float(w) for w in params["weights"]]

    @classmethod
    def outputs(cls, flaw: str) -> list[dict[str, Any]]:
        """The output metadata."""
        return [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 4]},
        ]

    def example(self) -> dict[str, list[Any]]:
        """One row of valid columns."""
        return {"features": [0.0, 0.0, 0.0, 0.0]}

    def predict(self, columns: dict[str, list[Any]], rows: int, flaw: str) -> list[list[float]]:
        """Softmax probabilities per row."""
        flat = columns["features"]
        probs = []
        for i in range(rows):
            scores = [x * w for x, w in zip(flat[i * 4 : i * 4 + 4], self.weights, strict=True)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            probs.append([e / total for e in exps])
        return probs

    def response(self, probs: list[list[float]], flaw: str) -> list[dict[str, Any]]:
        """The outputs of a response."""
        n = len(probs)
        return [
            {"name": "label", "datatype": "INT64", "shape": [n],
             "data": [row.index(max(row)) for row in probs]},
            {"name": "probabilities", "datatype": "FP64", "shape": [n, 4],
             "data": [p for row in probs for p in row]},
        ]  # fmt: skip


ModelClass = (
    type[TabularModel]
    | type[SingleTensorModel]
    | type[TextClassifierModel]
    | type[TextEmbeddingModel]
)
MODELS: dict[str, ModelClass] = {
    "tabular": TabularModel,
    "single": SingleTensorModel,
    "text": TextClassifierModel,
    "embedding": TextEmbeddingModel,
}


def model_class(name: str | None) -> ModelClass:
    """The model called ``name`` (default tabular)."""
    key = name or "tabular"
    if key not in MODELS:
        raise ValueError(f"unknown FIXTURE_MODEL {key!r}; known: {sorted(MODELS)}")
    return MODELS[key]


def load(cls: ModelClass, path: str) -> Any:
    """Read the model's parameters from a JSON file."""
    return cls(json.loads(Path(path).read_text()))
