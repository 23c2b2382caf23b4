"""``make evaluate``: score the trained artifact on the held-out rows against the threshold.

Exits 1 when accuracy is below ``[tool.model-training.evaluation] min_accuracy``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from . import dataset
from .artifact import ModelLoadError
from .frameworks.selected import framework
from .identity import MODEL_NAME
from .model import load_model
from .training_config import TrainingConfig, TrainingConfigError, load_training_config


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of one artifact against the configured threshold."""

    accuracy: float
    min_accuracy: float
    version: str

    @property
    def passed(self) -> bool:
        """True when the accuracy reaches the threshold."""
        return self.accuracy >= self.min_accuracy


def evaluate(artifact: Path, config: TrainingConfig) -> Evaluation:
    """Load ``artifact`` as the service does (hash-checked) and score it on held-out rows."""
    model = load_model(artifact, MODEL_NAME)
    rows = dataset.split(framework.load_dataset(), config.test_size, config.seed)
    predicted = model.predictor.predict({model.signature.inputs[0].name: rows.test_features})
    score = dataset.accuracy(predicted["label"], rows.test_labels)
    return Evaluation(accuracy=score, min_accuracy=config.min_accuracy, version=model.version)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m <package>.evaluate [--artifact FILE] [--pyproject FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--artifact", type=Path, default=Path("artifacts") / framework.ARTIFACT_FILE
    )
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.artifact, load_training_config(args.pyproject))
    except (TrainingConfigError, ModelLoadError) as exc:
        parser.exit(2, f"evaluate: {exc}\n")
    print(
        json.dumps(
            {
                "model_version": result.version,
                "accuracy": result.accuracy,
                "min_accuracy": result.min_accuracy,
                "passed": result.passed,
            }
        )
    )
    if not result.passed:
        print(
            f"evaluate: accuracy {result.accuracy:.4f} is below min_accuracy "
            f"{result.min_accuracy:.4f} ([tool.model-training.evaluation] in pyproject.toml)"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
