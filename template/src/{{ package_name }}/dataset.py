"""The training data: load it, split it reproducibly, fingerprint it, score predictions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_iris


@dataclass(frozen=True)
class Dataset:
    """A labelled data set: one row of ``features`` per label."""

    name: str
    feature_names: tuple[str, ...]
    features: NDArray[np.float64]
    labels: NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """Training and held-out rows of a data set."""

    train_features: NDArray[np.float64]
    train_labels: NDArray[np.int64]
    test_features: NDArray[np.float64]
    test_labels: NDArray[np.int64]


def load() -> Dataset:
    """Iris: 150 flowers, 4 measurements in cm, 3 species; it ships inside scikit-learn."""
    features, labels = load_iris(return_X_y=True)
    return Dataset(
        name="iris",
        feature_names=("sepal_length", "sepal_width", "petal_length", "petal_width"),
        features=np.ascontiguousarray(features, dtype=np.float64),
        labels=np.ascontiguousarray(labels, dtype=np.int64),
    )


def split(dataset: Dataset, test_size: float, seed: int) -> Split:
    """Shuffle with ``seed`` and hold out ``test_size`` of the rows (at least one)."""
    order = np.random.default_rng(seed).permutation(len(dataset.labels))
    held_out = max(1, round(len(order) * test_size))
    test, train = order[:held_out], order[held_out:]
    return Split(
        train_features=dataset.features[train],
        train_labels=dataset.labels[train],
        test_features=dataset.features[test],
        test_labels=dataset.labels[test],
    )


def fingerprint(dataset: Dataset) -> str:
    """sha256 over the features and labels, their dtypes and shapes."""
    digest = hashlib.sha256()
    for array in (dataset.features, dataset.labels):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def accuracy(predicted: NDArray[np.int64], expected: NDArray[np.int64]) -> float:
    """Share of rows where ``predicted`` equals ``expected``."""
    return float(np.mean(predicted == expected))
