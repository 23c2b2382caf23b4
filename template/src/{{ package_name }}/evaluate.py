"""``make evaluate``: score the trained artifact and gate it before it ships.

Exits 1 when the held-out accuracy is below ``[tool.model-training.evaluation]
min_accuracy``, or, given ``--baseline`` (the previous model's report), when it is more
than ``max_regression`` below the baseline's accuracy. Exits 2 on a usage error.
``--output`` writes the report, which becomes the next run's baseline.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import dataset
from .artifact import ModelLoadError
from .baseline import BaselineError, Comparison, compare, load_baseline
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


def report(result: Evaluation, comparison: Comparison | None) -> dict[str, Any]:
    """The evaluation report: printed, written by ``--output``, read back as a baseline."""
    return {
        "model_name": MODEL_NAME,
        "model_version": result.version,
        "accuracy": result.accuracy,
        "min_accuracy": result.min_accuracy,
        "passed": result.passed and not (comparison and comparison.regressed),
        "baseline": comparison.as_report() if comparison else None,
    }


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a fraction between 0 and 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m <package>.evaluate [--baseline FILE] [--output FILE] ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--artifact", type=Path, default=Path("artifacts") / framework.ARTIFACT_FILE
    )
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the previous model's report (from --output) or metadata.json to compare with",
    )
    parser.add_argument(
        "--max-regression",
        type=_fraction,
        help="largest accuracy drop allowed below the baseline "
        "(default: [tool.model-training.evaluation] max_regression)",
    )
    parser.add_argument("--output", type=Path, help="write the report (JSON) to this file")
    args = parser.parse_args(argv)
    try:
        config = load_training_config(args.pyproject)
        baseline = load_baseline(args.baseline) if args.baseline else None
        result = evaluate(args.artifact, config)
    except (TrainingConfigError, ModelLoadError, BaselineError) as exc:
        parser.exit(2, f"evaluate: {exc}\n")
    max_regression = config.max_regression if args.max_regression is None else args.max_regression
    comparison = compare(baseline, result.accuracy, max_regression) if baseline else None
    document = report(result, comparison)
    print(json.dumps(document))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if not result.passed:
        print(
            f"evaluate: accuracy {result.accuracy:.4f} is below min_accuracy "
            f"{result.min_accuracy:.4f} ([tool.model-training.evaluation] in pyproject.toml)"
        )
    if comparison and comparison.regressed:
        print(
            f"evaluate: accuracy {result.accuracy:.4f} is {comparison.drop:.4f} below the "
            f"baseline's {comparison.baseline.accuracy:.4f} (model "
            f"{comparison.baseline.model_version}, {comparison.baseline.source}); at most "
            f"{max_regression:.4f} is allowed (max_regression)"
        )
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
