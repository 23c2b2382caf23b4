"""(e) BentoML serving the iris model, the way BentoML 1.4's docs write a service.

BentoML has its own request shape (not OIP): ``POST /predict`` with
``{"input_data": [[...], ...]}``; the rows are the same as in the OIP body.
"""

from __future__ import annotations

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=1)
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    @bentoml.api
    def predict(self, input_data: np.ndarray) -> np.ndarray:
        return self.model.predict(input_data)
