"""The reference profile: how the training data (and the model's answers to it) look.

Training writes it beside the artifact (`reference_profile.json`, its sha256 in
metadata.json); the service compares recent traffic with it to measure drift (`drift`).

Binning (the same code bins the training data and the live window):

- numeric feature: the cut points are the distinct quantiles of the training values at
  1/10, 2/10, ..., 9/10 (``NUMERIC_BINS`` = 10; numpy's "higher" method, so every cut is a
  training value). Bin ``i`` holds the values ``x`` with ``cut[i-1] <= x < cut[i]``; the
  first and last bins are open, so values outside the training range land there.
  Repeated values (ties) merge cut points, so a feature may get fewer than 10 bins.
- categorical feature: one bin per value seen in training, in ascending order, plus a
  last "other" bin (frequency 0 in training) for values never seen.
- prediction: one bin per class the model can predict (`MonitoringSpec.classes`) plus
  "other", filled with the model's predictions on the training rows.

Frequencies are shares of the training rows (they sum to 1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..adapter import MonitoringSpec, Tensor
from ..artifacts import ModelLoadError, VerifiedArtifact, read_companion
from .columns import feature_values, prediction_values

PROFILE_FILE = "reference_profile.json"
METADATA_KEY = "reference_profile"
"""The key of metadata.json that records the profile's file and sha256."""
FORMAT_VERSION = 1
NUMERIC_BINS = 10

Kind = Literal["numeric", "categorical"]


class ProfileError(ValueError):
    """The reference profile file is not one this service can read."""


@dataclass(frozen=True)
class Binning:
    """Bins of one distribution and the reference share of each bin."""

    kind: Kind
    cuts: tuple[float, ...]
    """Numeric: ascending cut points (bins = len(cuts) + 1). Categorical: the known values
    (bins = len(cuts) + 1, the last one for values never seen in training)."""
    frequencies: tuple[float, ...]

    @property
    def bins(self) -> int:
        """Number of bins."""
        return len(self.cuts) + 1

    def counts(self, values: NDArray[Any]) -> NDArray[np.int64]:
        """How many of ``values`` fall in each bin."""
        cuts = np.asarray(self.cuts, dtype=np.float64)
        column = np.asarray(values, dtype=np.float64)
        # Missing values are counted by the data-quality metrics, not binned.
        column = column[~np.isnan(column)]
        if self.kind == "numeric":
            index = np.searchsorted(cuts, column, side="right")
        elif len(cuts) == 0:
            index = np.zeros(len(column), dtype=np.intp)
        else:
            # A value is "known" when the category at its insertion point is the value itself.
            position = np.searchsorted(cuts, column, side="left")
            known = cuts[np.minimum(position, len(cuts) - 1)] == column
            index = np.where(known, position, len(cuts))
        return np.bincount(index, minlength=self.bins).astype(np.int64)

    def as_json(self) -> dict[str, object]:
        """The JSON form stored in the profile file."""
        return {"kind": self.kind, "cuts": list(self.cuts), "frequencies": list(self.frequencies)}


@dataclass(frozen=True)
class FeatureProfile:
    """The reference distribution of one input feature."""

    name: str
    input: str
    column: int
    binning: Binning


@dataclass(frozen=True)
class PredictionProfile:
    """The reference distribution of the predicted class."""

    output: str
    binning: Binning


@dataclass(frozen=True)
class ReferenceProfile:
    """Every distribution the service compares live traffic with."""

    rows: int
    features: tuple[FeatureProfile, ...]
    prediction: PredictionProfile

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys): the same training data gives the same bytes."""
        document = {
            "format_version": FORMAT_VERSION,
            "binning": (
                f"numeric: distinct quantiles (numpy 'higher') at 1/{NUMERIC_BINS}.."
                f"{NUMERIC_BINS - 1}/{NUMERIC_BINS} of the training values, "
                "bin i = cut[i-1] <= x < cut[i]; "
                "categorical and prediction: one bin per value, then one for unseen values"
            ),
            "rows": self.rows,
            "features": [
                {
                    "name": feature.name,
                    "input": feature.input,
                    "column": feature.column,
                    **feature.binning.as_json(),
                }
                for feature in self.features
            ],
            "prediction": {"output": self.prediction.output, **self.prediction.binning.as_json()},
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def numeric_binning(values: NDArray[Any], bins: int = NUMERIC_BINS) -> Binning:
    """Quantile bins of ``values`` and the share of ``values`` in each."""
    column = np.asarray(values, dtype=np.float64)
    quantiles = np.quantile(column, np.arange(1, bins) / bins, method="higher")
    cuts = tuple(float(cut) for cut in np.unique(quantiles))
    return _with_frequencies("numeric", cuts, column)


def categorical_binning(values: NDArray[Any], categories: Sequence[float] = ()) -> Binning:
    """One bin per value of ``categories`` (default: the values seen) plus "other"."""
    column = np.asarray(values, dtype=np.float64)
    known = categories if categories else np.unique(column)
    cuts = tuple(sorted(float(value) for value in set(known)))
    return _with_frequencies("categorical", cuts, column)


def _with_frequencies(kind: Kind, cuts: tuple[float, ...], column: NDArray[np.float64]) -> Binning:
    counts = Binning(kind, cuts, ()).counts(column)
    total = max(int(counts.sum()), 1)
    return Binning(kind, cuts, tuple(float(count) / total for count in counts))


def build(
    spec: MonitoringSpec, inputs: Mapping[str, Tensor], outputs: Mapping[str, Tensor]
) -> ReferenceProfile:
    """Profile the training ``inputs`` and the model's ``outputs`` for them."""
    features = []
    for feature in spec.features:
        values = feature_values(feature, inputs)
        if feature.kind == "numeric":
            binning = numeric_binning(values[~np.isnan(values)])
        elif feature.categories:
            binning = categorical_binning(values, range(len(feature.categories)))
        else:
            binning = categorical_binning(values)
        column = -1 if feature.column is None else feature.column
        features.append(FeatureProfile(feature.name, feature.input, column, binning))
    output = spec.watched_output
    predicted = prediction_values(outputs, output, spec.classes)
    if spec.classes:
        binning = categorical_binning(predicted, range(len(spec.classes)))
    else:
        binning = numeric_binning(predicted)
    return ReferenceProfile(
        rows=len(predicted), features=tuple(features), prediction=PredictionProfile(output, binning)
    )


def load_beside(artifact: VerifiedArtifact) -> ReferenceProfile | None:
    """The profile metadata.json records beside ``artifact``, checked against its sha256.

    Returns None for an artifact trained without a profile (drift detection stays off).

    Raises:
        ModelLoadError: the recorded profile is missing, altered or unreadable.
    """
    data = read_companion(artifact, METADATA_KEY)
    if data is None:
        return None
    try:
        return parse(data.decode("utf-8"))
    except (ProfileError, UnicodeDecodeError) as exc:
        raise ModelLoadError(str(exc)) from None


def parse(text: str) -> ReferenceProfile:
    """Read a profile written by `write`.

    Raises:
        ProfileError: the text is not a profile of a known format version.
    """
    try:
        document = json.loads(text)
        if document["format_version"] != FORMAT_VERSION:
            raise ProfileError(
                f"reference profile format {document['format_version']!r} is not "
                f"{FORMAT_VERSION}; re-run `make train`"
            )
        features = tuple(
            FeatureProfile(
                str(item["name"]), str(item["input"]), int(item["column"]), _binning(item)
            )
            for item in document["features"]
        )
        prediction = PredictionProfile(
            str(document["prediction"]["output"]), _binning(document["prediction"])
        )
        return ReferenceProfile(int(document["rows"]), features, prediction)
    except ProfileError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"reference profile is not valid: {type(exc).__name__}: {exc}") from None


def _binning(item: Mapping[str, Any]) -> Binning:
    kind = item["kind"]
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"unknown binning kind {kind!r}")
    cuts = tuple(float(cut) for cut in item["cuts"])
    frequencies = tuple(float(share) for share in item["frequencies"])
    if len(frequencies) != len(cuts) + 1 or list(cuts) != sorted(set(cuts)):
        raise ValueError("cuts must ascend and there must be one frequency per bin")
    return Binning(kind, cuts, frequencies)
