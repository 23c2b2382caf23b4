"""Train the bench's models with fixed seeds; run in the floor venv.

Usage: python train.py OUT_DIR

Writes ``iris.joblib`` (StandardScaler + LogisticRegression on scikit-learn's bundled iris:
the template's example model, so every target does the same work per row) and
``heavy.joblib`` (RandomForest, 100 trees, 20 features, on a fixed-seed synthetic set),
plus ``models.json`` describing both.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import joblib
import sklearn
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42


def iris_pipeline() -> Pipeline:
    """The iris model, unfitted (``iris_artifact.py`` fits the same one for (c))."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(C=1.0, max_iter=1000, random_state=SEED)),
        ]
    )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    x, y = load_iris(return_X_y=True)
    iris = iris_pipeline().fit(x, y)
    hx, hy = make_classification(n_samples=2000, n_features=20, random_state=SEED)
    heavy = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(hx, hy)
    info = {"sklearn": sklearn.__version__, "seed": SEED}
    for name, model, features in (("iris", iris, 4), ("heavy", heavy, 20)):
        path = out / f"{name}.joblib"
        joblib.dump(model, path)
        info[name] = {
            "path": str(path),
            "features": features,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    (out / "models.json").write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
