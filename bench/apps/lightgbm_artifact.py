"""The LightGBM group's model, trained once; run in the LightGBM service's venv (with
modelrail-runtime's ``compile`` extra).

Usage: python lightgbm_artifact.py OUT_DIR

A binary LGBMClassifier (100 trees of 15 leaves, the template's LightGBM parameters) on a
fixed-seed synthetic table of 20 numeric features, fitted once and written twice:

- ``OUT_DIR/service/``: the booster compiled to ONNX (modelrail-runtime's `compile_onnx`,
  checked against the booster on every training row with `check_compiled`), written with
  `save_model`, the ONNX adapter and a tabular schema of 20 FP64 features, which (c)
  serves through ``MODEL_URI``; its graph ``OUT_DIR/service/model.onnx`` is what (b')
  serves with onnxruntime. Every feature is FP64 and none is nullable, so the runtime
  also takes the packed tensor ``input-0`` ``[N, 20]``: the request (b) and MLServer take.
- ``OUT_DIR/model.txt``: LightGBM's own text model of the same booster, for (b) and
  MLServer's lightgbm runtime.

Trained with one thread, which the text model records: MLServer's runtime predicts with
the booster's recorded parameters, so every target predicts on one thread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from lightgbm import LGBMClassifier
from modelrail_runtime import TabularSchema, Task, adapter_for, save_model
from modelrail_runtime.export import check_compiled, compile_onnx
from sklearn.datasets import make_classification

SEED = 42
FEATURES = 20


def main(out: Path) -> None:
    x, y = make_classification(n_samples=2000, n_features=FEATURES, random_state=SEED)
    table = {f"f{i:02d}": x[:, i].astype(np.float64) for i in range(FEATURES)}
    schema = TabularSchema.infer(table, Task.classification([0, 1]))
    matrix = schema.encode(table)
    model = LGBMClassifier(
        n_estimators=100,
        num_leaves=15,
        learning_rate=0.05,
        random_state=SEED,
        n_jobs=1,
        verbose=-1,
    ).fit(matrix, y)
    compiled = compile_onnx(model, schema)
    parity = check_compiled(model, compiled, schema, matrix)
    saved = save_model(
        out / "service",
        adapter_for("onnx"),
        compiled.onnx,
        training_inputs=table,
        schema=schema,
        metadata={
            "model": "LGBMClassifier",
            "n_features": FEATURES,
            "seed": SEED,
            "compiled": compiled.as_metadata(),
            "parity": parity.as_metadata(),
        },
    )
    packed = saved.predictor.signature.packed
    if packed is None:
        raise SystemExit("the runtime offers no packed input-0 tensor for this schema")
    text = out / "model.txt"
    model.booster_.save_model(str(text))
    spec = {"name": packed.name, "datatype": packed.datatype, "shape": list(packed.shape)}
    onnx = out / "service" / adapter_for("onnx").artifact_file
    found = {"model_uri": str(out / "service"), "model_txt": str(text), "onnx": str(onnx)}
    print(json.dumps({**found, "packed": spec}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
