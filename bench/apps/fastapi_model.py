"""(b) A bare FastAPI endpoint: pydantic-validated OIP request, the iris model, no middleware.

It returns what the generated service returns (label and probabilities from
``predict_proba``), so (c)/(b) measures the service's own overhead.

The model path comes from ``BENCH_MODEL_PATH``. This is what an engineer writes in an
afternoon; the generated service must stay within 10% of it.
"""

from __future__ import annotations

import os
from typing import Any

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = joblib.load(os.environ["BENCH_MODEL_PATH"])
MODEL_NAME = os.environ.get("BENCH_MODEL_NAME", "iris")


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
    probabilities = MODEL.predict_proba(x)
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
