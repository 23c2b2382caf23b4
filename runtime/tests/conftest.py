"""Shared fixtures: the iris model saved with `save_model`, its settings, in-process clients;
a tabular churn table with a classifier and a regressor trained on it; and a text model
with BYTES inputs and outputs (`echo_text`).

The iris model is the legacy single-tensor path (``input-0``): StandardScaler +
LogisticRegression on scikit-learn's iris. The churn models are tabular (named, mixed-type
features recorded in metadata.json). Each is trained once per session into a temporary
directory. Tests talk to the service through `ServiceClient` (the app in this process,
lifespan included, no port bound). `s3_store` is the repository's real S3 server
(`tests/servers/`): the tests run from the repository's root.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from echo_text import MODEL_NAME as ECHO_MODEL_NAME
from echo_text import EchoTextAdapter, save_echo_model
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelrail_runtime import SavedModel, ServiceClient, Settings, adapter_for, save_model
from modelrail_runtime.tabular import TabularSchema, Task

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


# --- a tabular model: named, mixed-type features -----------------------------------------
CHURN_CLASSES = ("churned", "stayed")
CONTRACTS = ("month-to-month", "one-year", "two-year")


@dataclass(frozen=True)
class Churn:
    """A small churn-like training table and its two targets."""

    table: dict[str, NDArray[Any]]
    """tenure_months (INT64), monthly_charges (FP64, some missing), contract (BYTES),
    has_support (BOOL), in that column order."""
    churned: NDArray[np.str_]
    """The classification target: "churned" or "stayed"."""
    spend: NDArray[np.float64]
    """The regression target: a yearly spend."""


@pytest.fixture(scope="session")
def churn() -> Churn:
    """300 customers, mixed feature types, a missing charge every 25 rows."""
    rng = np.random.default_rng(0)
    rows = 300
    contract = rng.choice(CONTRACTS, rows, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(0, 72, rows)
    charges = np.round(rng.normal(70, 20, rows), 2)
    charges[::25] = np.nan
    support = rng.random(rows) < 0.4
    filled = np.nan_to_num(charges, nan=70.0)
    logit = 1.5 * (contract == "month-to-month") - 0.04 * tenure + 0.01 * filled - support
    churned = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), *CHURN_CLASSES)
    table = {
        "tenure_months": tenure,
        "monthly_charges": charges,
        "contract": contract,
        "has_support": support,
    }
    return Churn(table, churned, 12 * filled + 5 * tenure)


@dataclass(frozen=True)
class TrainedTabular:
    """A tabular model as training left it: its artifacts, the fitted model, its schema."""

    directory: Path
    model: Pipeline
    schema: TabularSchema


@pytest.fixture(scope="session")
def churn_pipeline() -> Callable[[TabularSchema, Any], Pipeline]:
    """The template's tabular pipeline around an estimator: impute and scale the numbers,
    one-hot the category codes (unseen ones, NaN, ignored)."""

    def pipeline(schema: TabularSchema, estimator: Any) -> Pipeline:
        categorical = schema.categorical_columns
        numeric = [i for i in range(len(schema.features)) if i not in categorical]
        prepare = ColumnTransformer(
            [
                ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )
        return Pipeline([("prepare", prepare), ("estimator", estimator)])

    return pipeline


@pytest.fixture(scope="session")
def churn_classifier(
    tmp_path_factory: pytest.TempPathFactory,
    churn: Churn,
    churn_pipeline: Callable[[TabularSchema, Any], Pipeline],
) -> TrainedTabular:
    """A churn classifier fitted on the string classes themselves."""
    schema = TabularSchema.infer(churn.table, Task.classification(CHURN_CLASSES))
    model = churn_pipeline(schema, LogisticRegression(max_iter=1000))
    model.fit(schema.encode(churn.table), churn.churned)
    directory = tmp_path_factory.mktemp("churn-classifier")
    save_model(
        directory,
        adapter_for("scikit-learn"),
        model,
        training_inputs=churn.table,
        schema=schema,
        metadata={"model_name": "churn"},
    )
    return TrainedTabular(directory, model, schema)


@pytest.fixture(scope="session")
def churn_regressor(
    tmp_path_factory: pytest.TempPathFactory,
    churn: Churn,
    churn_pipeline: Callable[[TabularSchema, Any], Pipeline],
) -> TrainedTabular:
    """A regressor of the yearly spend, on the same features."""
    schema = TabularSchema.infer(churn.table, Task.regression())
    model = churn_pipeline(schema, Ridge()).fit(schema.encode(churn.table), churn.spend)
    directory = tmp_path_factory.mktemp("churn-regressor")
    save_model(
        directory, adapter_for("scikit-learn"), model, training_inputs=churn.table, schema=schema
    )
    return TrainedTabular(directory, model, schema)


DATATYPE_OF = {"i": "INT64", "f": "FP64", "U": "BYTES", "O": "BYTES", "b": "BOOL"}


@pytest.fixture(scope="session")
def named_inputs(churn: Churn) -> Callable[..., list[dict[str, Any]]]:
    """OIP input tensors, one per churn feature, from Python values by feature name.

    Example: ``named_inputs(contract=["one-year", None], ...)``; a feature not given takes
    the first training rows.
    """

    def inputs(rows: int = 2, **columns: list[Any]) -> list[dict[str, Any]]:
        tensors = []
        for name, training in churn.table.items():
            given = columns.get(name)
            data = given if given is not None else training[:rows].tolist()
            if given is None and training.dtype.kind == "f":
                data = [None if np.isnan(value) else value for value in data]
            tensors.append(
                {
                    "name": name,
                    "datatype": DATATYPE_OF[training.dtype.kind],
                    "shape": [len(data)],
                    "data": data,
                }
            )
        return tensors

    return inputs


# --- a text model: BYTES in and out ------------------------------------------------------
@pytest.fixture(scope="session")
def echo_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifacts directory of the echo text model (`echo_text`)."""
    directory = tmp_path_factory.mktemp("echo-text")
    save_echo_model(directory)
    return directory


@pytest.fixture(scope="session")
def start_echo(echo_artifacts: Path) -> Callable[..., ServiceClient]:
    """A `ServiceClient` of the echo text model, with settings given by keyword."""

    def start(**settings: Any) -> ServiceClient:
        return ServiceClient(
            echo_artifacts, adapter=EchoTextAdapter(), model_name=ECHO_MODEL_NAME, **settings
        )

    return start
