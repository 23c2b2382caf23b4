"""The heavy model as an artifact the generated service loads; run in that service's venv.

Usage: python heavy_artifact.py OUT_DIR

Fits the same RandomForest as ``train.py`` (100 trees, 20 features, the same fixed-seed
synthetic set) with the service's own scikit-learn, and writes it the way ``make train``
writes the example model: modelrail-runtime's `save_model` with its scikit-learn adapter
(skops), which writes ``metadata.json`` with the sha256 the loader verifies and the
training rows' reference profile. The service then serves OUT_DIR through ``MODEL_URI``,
reading the signature (20 features, 2 classes) from the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from modelrail_runtime import adapter_for, save_model
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

SEED = 42


def main(out: Path) -> None:
    x, y = make_classification(n_samples=2000, n_features=20, random_state=SEED)
    model = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(x, y)
    save_model(
        out,
        adapter_for("scikit-learn"),
        model,
        training_inputs={"input-0": x},
        metadata={
            "model": "RandomForestClassifier",
            "n_estimators": 100,
            "n_features": 20,
            "seed": SEED,
        },
    )
    print(json.dumps({"model_uri": str(out)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
