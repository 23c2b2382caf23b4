"""(b) A bare FastAPI endpoint: pydantic-validated OIP request, the model, no middleware.

It returns what the generated service returns (label and probabilities), so (c)/(b)
measures the service's own overhead.

The model path comes from ``BENCH_MODEL_PATH``: a joblib file (the iris pipeline, the
RandomForest: ``predict_proba``), LightGBM's text model (``*.txt``: ``Booster.predict``
on one thread, as the generated service calls it), or an ONNX graph (``*.onnx``, (b'):
the compiled model (c) serves, run with onnxruntime with the session options the runtime
uses). This is what an engineer writes in an afternoon.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

Scores = Callable[[np.ndarray], np.ndarray]


def load(path: str) -> Scores:
    """Class probabilities ``[rows, classes]`` for a float matrix, from the model at ``path``."""
    if path.endswith(".onnx"):
        return onnx_scores(path)
    if not path.endswith(".txt"):
        return joblib.load(path).predict_proba
    import lightgbm  # only the LightGBM group needs it

    booster = lightgbm.Booster(model_file=path)

    def probabilities(x: np.ndarray) -> np.ndarray:
        p = booster.predict(x, num_threads=1)
        # A binary booster gives P(class 1) per row.
        return np.column_stack((1.0 - p, p)) if p.ndim == 1 else p

    return probabilities


def onnx_scores(path: str) -> Scores:
    """The graph's one output (probabilities, float32) for the float32 matrix it takes.

    The session is the runtime's (``open_session``): one thread per operator, operators in
    sequence, no spinning; so (c)/(b') compares the servers, not onnxruntime's settings.
    The probabilities go out as float64, as the service sends them.
    """
    import onnxruntime  # only (b') needs it

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    with open(path, "rb") as f:
        session = onnxruntime.InferenceSession(
            f.read(), sess_options=options, providers=["CPUExecutionProvider"]
        )
    feed = session.get_inputs()[0].name
    output = [session.get_outputs()[0].name]

    def probabilities(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(output, {feed: x.astype(np.float32)})[0], dtype=np.float64)

    return probabilities


PREDICT_PROBA = load(os.environ["BENCH_MODEL_PATH"])


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferRequest(BaseModel):
    id: str | None = None
    inputs: list[Tensor]


app = FastAPI()


@app.get("/v2/health/ready")
async def ready() -> dict[str, bool]:
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: InferRequest) -> dict[str, Any]:
    tensor = request.inputs[0]
    x = np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)
    probabilities = PREDICT_PROBA(x)
    labels = np.argmax(probabilities, axis=1)
    return {
        "model_name": name,
        "id": request.id,
        "outputs": [
            {"name": "label", "shape": [len(labels)], "datatype": "INT64", "data": labels.tolist()},
            {
                "name": "probabilities",
                "shape": list(probabilities.shape),
                "datatype": "FP64",
                "data": probabilities.ravel().tolist(),
            },
        ],
    }
