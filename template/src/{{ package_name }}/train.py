"""``make train``: fit the model and write it to ``artifacts/`` as the service loads it.

Writes the artifact, ``metadata.json`` and ``reference_profile.json`` (the training data's
distributions, which drift detection compares traffic with) through modelrail-runtime's
`save_model`. The same code, configuration, data and library versions give
byte-identical files (same sha256); metadata.json records where the artifact came from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelrail_runtime import Predictor, adapter_for, save_model

from . import MODEL_NAME, dataset, estimator
from .training_config import TrainingConfig, TrainingConfigError, load_training_config

INPUT = "input-0"
"""The input tensor the scikit-learn adapter serves: one row of features per prediction."""


def train(output_dir: Path, config: TrainingConfig) -> Mapping[str, Any]:
    """Train, evaluate on the held-out rows, write the artifact; return its metadata."""
    data = dataset.load()
    rows = dataset.split(data, config.test_size, config.seed)
    model = estimator.build(config.params, config.seed)
    model.fit(rows.train_features, rows.train_labels)

    def score(predictor: Predictor) -> dict[str, float]:
        # The artifact as the service loads it, on the held-out rows.
        predicted = predictor.predict({INPUT: rows.test_features})["label"]
        return {"accuracy": dataset.accuracy(predicted, rows.test_labels)}

    saved = save_model(
        output_dir,
        adapter_for(estimator.FRAMEWORK),
        model,
        training_inputs={INPUT: rows.train_features},
        feature_names=data.feature_names,
        metadata={
            "model_name": MODEL_NAME,
            "git_revision": _git_revision(),
            "data": {
                "name": data.name,
                "sha256": dataset.fingerprint(data),
                "rows": len(data.labels),
                "test_rows": len(rows.test_labels),
            },
            "seed": config.seed,
            "test_size": config.test_size,
            "params": config.params,
        },
        score=score,
    )
    return saved.metadata


def _git_revision() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    head = subprocess.run(  # noqa: S603 - fixed arguments, no user input
        [git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m <package>.train [--output-dir DIR] [--pyproject FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output-dir", type=Path, default=Path("artifacts"))
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    try:
        config = load_training_config(args.pyproject)
    except TrainingConfigError as exc:
        parser.exit(2, f"train: {exc}\n")
    metadata = train(args.output_dir, config)
    summary = {
        "artifact": str(args.output_dir / metadata["artifact"]),
        "sha256": metadata["artifact_sha256"],
        "accuracy": metadata["metrics"]["accuracy"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
