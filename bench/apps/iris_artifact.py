"""The iris model as an artifact the generated service loads; run in that service's venv.

Usage: python iris_artifact.py OUT_DIR

Fits the pipeline of ``train.py`` (same recipe, same seed) with the service's own
scikit-learn and writes it with modelrail-runtime's `save_model` and its scikit-learn
adapter. Without a tabular schema the runtime serves it as (a), (b), (d) and (e) do: one
FP64 tensor ``input-0`` of shape ``[-1, 4]``, ``label`` and ``probabilities`` out. The
template's own example (a table of named, mixed-type features) takes another request, so
(c) serves this one through ``MODEL_URI`` instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from modelrail_runtime import adapter_for, save_model
from sklearn.datasets import load_iris
from train import SEED, iris_pipeline


def main(out: Path) -> None:
    x, y = load_iris(return_X_y=True)
    save_model(
        out,
        adapter_for("scikit-learn"),
        iris_pipeline().fit(x, y),
        training_inputs={"input-0": x},
        metadata={"model": "StandardScaler + LogisticRegression", "data": "iris", "seed": SEED},
    )
    print(json.dumps({"model_uri": str(out)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
