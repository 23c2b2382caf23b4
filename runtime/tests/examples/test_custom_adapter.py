"""Bring your own model format: a complete adapter for a linear scorer stored as JSON.

The runtime ships adapters for the formats the template offers. A team with another kind
of model writes two small classes in its own repository, as below:

- a `Predictor`: declares the tensors it takes and gives (``signature``) and what
  monitoring watches (``monitoring``), and predicts on numpy arrays;
- a `ModelAdapter`: turns a trained model into artifact bytes (``dump``) and verified bytes
  back into a predictor (``load``, which must never run code from the artifact).

Training calls ``save_model(directory, adapter, model, ...)``; the service is
``serve(adapter=...)`` in the repository's ``__main__``; its tests use
``ServiceClient(directory, adapter=...)``. Copy this file and replace the model.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime import (
    FeatureSpec,
    ModelLoadError,
    ModelSignature,
    MonitoringSpec,
    ServiceClient,
    Tensor,
    TensorSpec,
    VerifiedArtifact,
    load_model,
    save_model,
)

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [5.7, 2.8, 4.1, 1.3], [6.3, 3.3, 6.0, 2.5]]  # one per class


# --- the model, as the team trains it --------------------------------------------------
@dataclass(frozen=True)
class LinearScorer:
    """Scores each class as ``weights @ x + bias``; the highest score wins."""

    weights: list[list[float]]  # classes x features
    bias: list[float]  # one per class

    @classmethod
    def fit(cls, features: NDArray[np.float64], labels: NDArray[np.int64]) -> LinearScorer:
        """Nearest class centroid, written as a linear scorer."""
        centroids = np.stack([features[labels == k].mean(axis=0) for k in np.unique(labels)])
        bias = -0.5 * (centroids**2).sum(axis=1)
        return cls(centroids.round(6).tolist(), bias.round(6).tolist())


# --- the predictor: tensors in, tensors out --------------------------------------------
class LinearPredictor:
    """A loaded `LinearScorer` behind the runtime's `Predictor` protocol."""

    def __init__(
        self, weights: NDArray[np.float64], bias: NDArray[np.float64], names: Sequence[str]
    ):
        self._weights = weights
        self._bias = bias
        classes, features = weights.shape
        self.signature = ModelSignature(
            inputs=(TensorSpec("features", "FP32", (-1, features)),),
            outputs=(
                TensorSpec("label", "INT64", (-1,)),
                TensorSpec("scores", "FP64", (-1, classes)),
            ),
        )
        self.monitoring = MonitoringSpec(
            features=tuple(
                FeatureSpec(name, "features", column) for column, name in enumerate(names)
            ),
            class_output="label",
            classes=tuple(range(classes)),
            score_output="scores",  # per-class probabilities: a softmax of the scores
        )

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """One label and one row of class probabilities per input row."""
        scores = inputs["features"].astype(np.float64) @ self._weights.T + self._bias
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        return {"label": probabilities.argmax(axis=1).astype(np.int64), "scores": probabilities}


# --- the adapter: the format ----------------------------------------------------------
class LinearJsonAdapter:
    """`LinearScorer` models stored as JSON: nothing in the file is ever executed."""

    name = "linear-json"  # recorded as `framework` in metadata.json
    platform = "linear_json"  # the OIP `platform` of the model metadata
    artifact_file = "model.json"

    def dump(self, model: object) -> bytes:
        """Sorted keys, no whitespace: the same model always gives the same bytes."""
        assert isinstance(model, LinearScorer)
        document = {"bias": model.bias, "weights": model.weights}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def load(self, artifact: VerifiedArtifact) -> LinearPredictor:
        """A predictor from bytes whose sha256 already matched metadata.json."""
        try:
            document = json.loads(artifact.data)
            weights = np.asarray(document["weights"], dtype=np.float64)
            bias = np.asarray(document["bias"], dtype=np.float64)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{artifact.path} is not a linear-json model: {exc}") from None
        if weights.ndim != 2 or bias.shape != (len(weights),):
            raise ModelLoadError(f"{artifact.path}: weights must be classes x features")
        names = artifact.metadata.get("feature_names")
        if not isinstance(names, list) or len(names) != weights.shape[1]:
            names = [f"feature_{column}" for column in range(weights.shape[1])]
        return LinearPredictor(weights, bias, names)

    def library_versions(self) -> dict[str, str]:
        """What shapes the artifact, for metadata.json."""
        return {"numpy": np.__version__}


# --- the tests a team would keep ------------------------------------------------------
@pytest.fixture
def trained(tmp_path: Path, iris: tuple[NDArray[np.float64], NDArray[np.int64]]) -> Path:
    """``make train``: fit the scorer and save it with its metadata and reference profile."""
    features, labels = iris
    save_model(
        tmp_path / "artifacts",
        LinearJsonAdapter(),
        LinearScorer.fit(features, labels),
        training_inputs={"features": features.astype(np.float32)},
        feature_names=FEATURES,
        metadata={"model_name": "iris-linear"},
    )
    return tmp_path / "artifacts"


def infer_body() -> dict[str, Any]:
    return {"inputs": [{"name": "features", "datatype": "FP32", "shape": [3, 4], "data": ROWS}]}


def test_the_saved_model_records_its_format(trained: Path) -> None:
    metadata = json.loads((trained / "metadata.json").read_text())
    assert metadata["framework"] == "linear-json"
    assert metadata["artifact"] == "model.json"
    assert metadata["libraries"] == {"numpy": np.__version__}
    assert set(json.loads((trained / "model.json").read_text())) == {"bias", "weights"}


def test_the_service_serves_it_with_the_adapter(trained: Path) -> None:
    with ServiceClient(trained, adapter=LinearJsonAdapter(), model_name="iris-linear") as client:
        metadata = client.model_metadata()
        response = client.infer(infer_body())
        metrics = client.get("/metrics").text
    assert metadata["platform"] == "linear_json"
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert response.status_code == 200
    label = response.json()["outputs"][0]
    assert label == {"name": "label", "datatype": "INT64", "shape": [3], "data": [0, 1, 2]}
    assert 'model_feature_drift_psi{feature="petal_length"' in metrics


def test_without_the_adapter_the_model_is_refused_with_the_way_out(trained: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"'linear-json'.*serve\(adapter=\.\.\.\)"):
        load_model(trained)


def test_a_damaged_artifact_is_refused_by_the_runtime_before_the_adapter_sees_it(
    trained: Path,
) -> None:
    (trained / "model.json").write_text('{"weights": "print(1)"}')
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(trained, adapter=LinearJsonAdapter())


# The repository's `__main__` (here written next to the model, in a temporary directory).
MAIN = """
import sys

sys.path.insert(0, {examples!r})
from modelrail_runtime import serve
from test_custom_adapter import LinearJsonAdapter

raise SystemExit(serve(LinearJsonAdapter(), model_name="iris-linear"))
"""


def test_the_real_process_serves_it_with_serve_adapter(trained: Path, tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text(MAIN.format(examples=str(Path(__file__).parent)))
    port = free_port()
    env = {
        "MODEL_URI": str(trained),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DRAIN_SECONDS": "0",
        "PREDICTION_LOG_SAMPLE_RATE": "0",
    }
    process = subprocess.Popen(
        [sys.executable, str(main)], env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
    )
    try:
        body = json.dumps(infer_body()).encode()
        url = f"http://127.0.0.1:{port}/v2/models/iris-linear/infer"
        deadline = time.monotonic() + 60
        while (answer := post(url, body)) is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no answer after 60s"
            time.sleep(0.05)
        assert answer["outputs"][0]["data"] == [0, 1, 2]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes) -> Any:
    """The JSON answer of a 200, or None while the service is not up or not ready."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())
    except (urllib.error.HTTPError, OSError):
        return None
