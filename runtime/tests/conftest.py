"""Shared fixtures: the iris model saved with `save_model`, its settings, in-process clients.

The model is the template's default: StandardScaler + LogisticRegression on scikit-learn's
iris, trained once per session into a temporary directory. Tests talk to the service
through `ServiceClient` (the app in this process, lifespan included, no port bound).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelrail_runtime import SavedModel, ServiceClient, Settings, adapter_for, save_model

MODEL_NAME = "iris"
FEATURE_NAMES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# One flower of each species, in the column order of `input-0`: labels 0, 1 and 2.
GOLDEN_ROWS = ((5.1, 3.5, 1.4, 0.2), (7.0, 3.2, 4.7, 1.4), (6.3, 3.3, 6.0, 2.5))

Iris = tuple[NDArray[np.float64], NDArray[np.int64]]


@pytest.fixture(scope="session")
def iris() -> Iris:
    """Iris: 150 flowers, their 4 measurements and their species (0, 1 or 2)."""
    features, labels = load_iris(return_X_y=True)
    return np.ascontiguousarray(features, np.float64), np.ascontiguousarray(labels, np.int64)


@pytest.fixture(scope="session")
def train_iris(iris: Iris) -> Callable[[Path], SavedModel]:
    """Fit the iris pipeline and `save_model` it into a directory, as `make train` does."""
    features, labels = iris

    def train(directory: Path) -> SavedModel:
        pipeline = Pipeline(
            [
                ("scale", StandardScaler()),
                ("classifier", LogisticRegression(C=1.0, max_iter=1000, random_state=42)),
            ]
        ).fit(features, labels)
        # What `make train` records besides what save_model writes itself.
        recorded = {
            "model_name": MODEL_NAME,
            "data": {"name": "iris", "rows": len(labels)},
            "metrics": {"accuracy": float((pipeline.predict(features) == labels).mean())},
        }
        return save_model(
            directory,
            adapter_for("scikit-learn"),
            pipeline,
            training_inputs={"input-0": features},
            feature_names=FEATURE_NAMES,
            metadata=recorded,
        )

    return train


@pytest.fixture(scope="session")
def artifacts(
    tmp_path_factory: pytest.TempPathFactory, train_iris: Callable[[Path], SavedModel]
) -> Path:
    """The artifacts directory of the iris model (model.skops, metadata.json, profile)."""
    directory = tmp_path_factory.mktemp("artifacts")
    train_iris(directory)
    return directory


@pytest.fixture(scope="session")
def settings(artifacts: Path) -> Settings:
    """Settings serving the iris model; no draining delay, prediction logging off."""
    return Settings(
        model_name=MODEL_NAME,
        model_uri=artifacts,
        service_revision="test",
        drain_seconds=0.0,
        prediction_log_sample_rate=0.0,
    )


@pytest.fixture(scope="session")
def start(settings: Settings) -> Callable[..., ServiceClient]:
    """A `ServiceClient` of the iris model, with `settings` changed by keyword.

    Example: ``with start(predict_mode="batch") as client: ...``
    """

    def start(**changes: Any) -> ServiceClient:
        fields = dataclasses.asdict(dataclasses.replace(settings, **changes))
        return ServiceClient(fields.pop("model_uri"), **fields)

    return start


@pytest.fixture(scope="module")
def client(start: Callable[..., ServiceClient]) -> Iterator[ServiceClient]:
    """A client of the service with the iris model loaded (shared by a test module)."""
    with start() as service:
        yield service


@pytest.fixture
def golden_request() -> dict[str, Any]:
    """Three iris rows, one per class: the labels must be 0, 1, 2 (a fresh copy per test)."""
    return {
        "id": "golden-iris-1",
        "inputs": [
            {
                "name": "input-0",
                "shape": [3, 4],
                "datatype": "FP64",
                "data": [value for row in GOLDEN_ROWS for value in row],
            }
        ],
    }
