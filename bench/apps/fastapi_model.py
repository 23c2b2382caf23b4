"""(b) A bare FastAPI endpoint: pydantic-validated OIP request, the model, no middleware.

It returns what the generated service returns (label and probabilities), so (c)/(b)
measures the service's own overhead.

The model path comes from ``BENCH_MODEL_PATH``: a joblib file (the iris pipeline, the
RandomForest: ``predict_proba``) or LightGBM's text model (``*.txt``: ``Booster.predict``
on one thread, as the generated service calls it). This is what an engineer writes in an
afternoon; the generated service must stay within 10% of it.
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
    if not path.endswith(".txt"):
        return joblib.load(path).predict_proba
    import lightgbm  # only the LightGBM group needs it

    booster = lightgbm.Booster(model_file=path)

    def probabilities(x: np.ndarray) -> np.ndarray:
        p = booster.predict(x, num_threads=1)
        # A binary booster gives P(class 1) per row.
        return np.column_stack((1.0 - p, p)) if p.ndim == 1 else p

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
