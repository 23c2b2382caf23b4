"""The heavy model as an artifact the generated service loads; run in that service's venv.

Usage: python heavy_artifact.py PACKAGE OUT_DIR

Fits the same RandomForest as ``train.py`` (100 trees, 20 features, the same fixed-seed
synthetic set) with the service's own scikit-learn, and writes it the way ``make train``
writes the example model: the service's framework serialises it (skops), its
``artifact.write`` adds ``metadata.json`` with the sha256 the loader verifies. The
service then serves it through ``MODEL_URI``, reading the signature (20 features,
2 classes) from the model.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

SEED = 42


def main(package: str, out: Path) -> None:
    framework = importlib.import_module(f"{package}.frameworks.selected").framework
    artifact = importlib.import_module(f"{package}.artifact")
    x, y = make_classification(n_samples=2000, n_features=20, random_state=SEED)
    model = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(x, y)
    path = artifact.write(
        out,
        framework.ARTIFACT_FILE,
        framework.serialize(model),
        {"model": "RandomForestClassifier", "n_estimators": 100, "features": 20, "seed": SEED},
    )
    print(json.dumps({"artifact": str(path)}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
