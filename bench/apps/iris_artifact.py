"""The iris model, compiled to ONNX, as an artifact the generated service loads; run in
that service's venv (with modelrail-runtime's ``compile`` extra).

Usage: python iris_artifact.py OUT_DIR

Fits the pipeline of ``train.py`` (same recipe, same seed) with the service's own
scikit-learn, on the matrix of a tabular schema of the four iris measurements (all FP64),
compiles it with modelrail-runtime's `compile_onnx`, checks the graph against the fitted
pipeline on every training row (`check_compiled`: probabilities within 1e-6, the same
labels) and writes the graph with `save_model` and the ONNX adapter, as ``make train``
writes a compiled model. Every feature is FP64 and none nullable, so the runtime also
takes the packed tensor ``input-0`` ``[rows, 4]``: the request (a), (b), (d) and (e) take.
The service answers ``label`` (INT64 class values, the classes 0, 1, 2) and
``probabilities`` ``[rows, 3]``, as (b) does.

The graph is ``OUT_DIR/model.onnx``, which (b') serves with onnxruntime as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from modelrail_runtime import TabularSchema, Task, adapter_for, save_model
from modelrail_runtime.export import check_compiled, compile_onnx
from sklearn.datasets import load_iris
from train import SEED, iris_pipeline

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = (0, 1, 2)


def main(out: Path) -> None:
    x, y = load_iris(return_X_y=True)
    table = {name: x[:, i] for i, name in enumerate(FEATURES)}
    schema = TabularSchema.infer(table, Task.classification(CLASSES))
    matrix = schema.encode(table)
    model = iris_pipeline().fit(matrix, y)
    compiled = compile_onnx(model, schema)
    parity = check_compiled(model, compiled, schema, matrix)
    saved = save_model(
        out,
        adapter_for("onnx"),
        compiled.onnx,
        schema=schema,
        training_inputs=table,
        metadata={
            "model": "StandardScaler + LogisticRegression",
            "data": "iris",
            "seed": SEED,
            "compiled": compiled.as_metadata(),
            "parity": parity.as_metadata(),
        },
    )
    if saved.predictor.signature.packed is None:
        raise SystemExit("the runtime offers no packed input-0 tensor for this schema")
    onnx = out / adapter_for("onnx").artifact_file
    print(json.dumps({"model_uri": str(out), "onnx": str(onnx)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
