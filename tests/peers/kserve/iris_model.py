"""The iris classifier as a custom KServe model, written the way KServe's docs write one.

``load`` reads the joblib file from ``--model_dir``; ``predict`` turns the Open Inference
Protocol request into rows and the predictions back into a response with kserve's own
helpers; ``kserve.ModelServer`` serves it (HTTP on 8080, gRPC on 8081).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from kserve import InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.utils.utils import get_predict_input, get_predict_response


class IrisModel(Model):
    """A scikit-learn classifier loaded from ``model_dir/model.joblib``."""

    def __init__(self, name: str, model_dir: Path) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.model = None

    def load(self) -> bool:
        self.model = joblib.load(self.model_dir / "model.joblib")
        self.ready = True
        return self.ready

    def predict(
        self, payload: InferRequest, headers: dict[str, str] | None = None
    ) -> InferResponse:
        rows = get_predict_input(payload)
        return get_predict_response(payload, self.model.predict(rows), self.name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", type=Path, default=Path("/mnt/models"))
    args, _ = parser.parse_known_args()
    model = IrisModel(args.model_name, args.model_dir)
    model.load()
    ModelServer().start([model])
