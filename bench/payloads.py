"""Request bodies: the same rows for every target, in each server's request shape."""

from __future__ import annotations

import json
import random

# The first rows of scikit-learn's bundled iris (one per class among them), so the runner
# needs neither numpy nor scikit-learn to build a request.
IRIS_ROWS = (
    (5.1, 3.5, 1.4, 0.2),
    (7.0, 3.2, 4.7, 1.4),
    (6.3, 3.3, 6.0, 2.5),
    (4.9, 3.0, 1.4, 0.2),
    (6.4, 3.2, 4.5, 1.5),
    (5.8, 2.7, 5.1, 1.9),
)
HEAVY_FEATURES = 20
LIGHTGBM_FEATURES = 20
IRIS_RANGES = ((4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5))
"""Each iris measurement's range in the data set (cm)."""


def rows(n: int, features: int = 4) -> list[list[float]]:
    """``n`` rows: iris rows cycled for 4 features, fixed-seed normals for the 20-feature
    models (the RandomForest and the LightGBM classifier, both fitted on such features)."""
    if features == 4:
        return [list(IRIS_ROWS[i % len(IRIS_ROWS)]) for i in range(n)]
    rng = random.Random(42)
    return [[round(rng.gauss(0, 1), 4) for _ in range(features)] for _ in range(n)]


def spread_rows(n: int, features: int = 4) -> list[list[float]]:
    """``n`` distinct rows for comparing answers (`bench.agreement`): for iris, the measured
    rows first, then fixed-seed rows drawn across each measurement's range (to 0.1 cm, as
    the data set), so that every class and the borders between them are met; for the
    20-feature models, `rows` (already distinct)."""
    if features != 4:
        return rows(n, features)
    rng = random.Random(15)
    drawn = [[round(rng.uniform(lo, hi), 1) for lo, hi in IRIS_RANGES] for _ in range(n)]
    return ([list(row) for row in IRIS_ROWS] + drawn)[:n]


def oip(n: int, *, features: int = 4, input_name: str = "input-0") -> str:
    """An Open Inference Protocol v2 request: one FP64 tensor of shape [n, features]."""
    return oip_rows(rows(n, features), input_name=input_name)


def oip_rows(table: list[list[float]], *, input_name: str = "input-0") -> str:
    """An OIP request of one FP64 tensor ``[len(table), features]`` holding ``table``."""
    data = [v for row in table for v in row]
    shape = [len(table), len(table[0]) if table else 0]
    tensor = {"name": input_name, "shape": shape, "datatype": "FP64", "data": data}
    return json.dumps({"id": "bench", "inputs": [tensor]}, separators=(",", ":"))


def bentoml(n: int, *, features: int = 4) -> str:
    """BentoML's own shape for an ``np.ndarray`` argument named ``input_data``."""
    return json.dumps({"input_data": rows(n, features)}, separators=(",", ":"))


def oip_text(texts: list[str], *, input_name: str = "text") -> str:
    """An OIP request of one BYTES tensor ``[len(texts)]``: the embedding group's body."""
    tensor = {"name": input_name, "shape": [len(texts)], "datatype": "BYTES", "data": texts}
    return json.dumps({"id": "bench", "inputs": [tensor]}, separators=(",", ":"))
