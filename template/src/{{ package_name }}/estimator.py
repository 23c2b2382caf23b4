"""The model this repository trains: a scaled logistic regression on the iris measurements.

Change the estimator here; its hyper-parameters live in ``[tool.model-training] params``
of pyproject.toml. modelrail-runtime's scikit-learn adapter stores it (skops, no pickle)
and serves any fitted classifier with ``predict_proba`` whose classes are 0..k-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FRAMEWORK: Final = "scikit-learn"
"""The runtime adapter that stores and serves the model (`modelrail_runtime.adapter_for`)."""


def build(params: Mapping[str, Any], seed: int) -> Pipeline:
    """An unfitted model; the same ``params`` and ``seed`` give the same fitted model."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(random_state=seed, **dict(params))),
        ]
    )
