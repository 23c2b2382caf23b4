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
- text (`text`): its length in characters and its share of unknown tokens, binned like
  numeric features, except that a value found at two or more of the quantiles (a tenth of
  the texts or more: typically "no unknown token") gets a bin of its own, ``[v, the next
  float after v)``. Otherwise ties would put "none" and "some" in one bin, and a vocabulary
  that stops covering the traffic would go unseen.
- prediction: one bin per class the model can predict (`MonitoringSpec.classes`) plus
  "other", filled with the model's predictions on the training rows; or, for a regressor,
  the predicted value binned like a numeric feature.
- embedding (`embedding`): the vectors projected on fixed unit directions (stored in the
  profile), each projection binned like a numeric feature; and the mean vector.

Frequencies are shares of the training rows (they sum to 1).

Format 1 holds features and a prediction; format 2 adds free texts and embeddings. A
profile without them is still written as format 1, byte for byte as before, so that a
tabular model's profile does not change with the runtime version; this runtime reads both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from ..adapter import MonitoringSpec, Tensor, TextSpec
from ..artifacts import ModelLoadError, VerifiedArtifact, read_companion
from .columns import feature_values, prediction_values
from .embedding import PROJECTION_SEED, directions, finite_rows, project, vectors_of
from .text import (
    count_tokens,
    length_name,
    lengths,
    texts_of,
    unknown_share_name,
    unknown_shares,
)

PROFILE_FILE = "reference_profile.json"
METADATA_KEY = "reference_profile"
"""The key of metadata.json that records the profile's file and sha256."""
FORMAT_VERSION: Final = 2
"""The newest format, written for models with free texts or an embedding."""
TABULAR_FORMAT_VERSION: Final = 1
"""The format of a profile with features and a prediction only (written as before)."""
NUMERIC_BINS = 10

Kind = Literal["numeric", "categorical"]

_BINNING_RULES = (
    f"numeric: distinct quantiles (numpy 'higher') at 1/{NUMERIC_BINS}.."
    f"{NUMERIC_BINS - 1}/{NUMERIC_BINS} of the training values, "
    "bin i = cut[i-1] <= x < cut[i]; "
    "categorical and prediction: one bin per value, then one for unseen values"
)
_TEXT_AND_EMBEDDING_RULES = (
    "; texts: length in characters and unknown tokens / tokens per text, numeric bins plus "
    "[v, next float) for a value at two or more quantiles; embedding: projections on the "
    f"stored unit directions (numpy default_rng({PROJECTION_SEED}).standard_normal, "
    "normalised, rounded), numeric bins"
)


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
class TextProfile:
    """The reference distributions of one free-text input."""

    input: str
    length: Binning
    """Length of each text in characters."""
    unknown_share: Binning | None
    """Share of each text's tokens the model does not know (None: it counts no tokens)."""
    overall_unknown_share: float | None
    """Unknown tokens / tokens over all the training texts (None: no tokens counted)."""

    def drift_columns(self) -> tuple[tuple[str, Binning], ...]:
        """The ``feature`` label and binning of each value drift watches, in window order."""
        length = (length_name(self.input), self.length)
        if self.unknown_share is None:
            return (length,)
        return (length, (unknown_share_name(self.input), self.unknown_share))

    def as_json(self) -> dict[str, object]:
        """The JSON form stored in the profile file."""
        return {
            "input": self.input,
            "length": self.length.as_json(),
            "unknown_share": None if self.unknown_share is None else self.unknown_share.as_json(),
            "overall_unknown_share": self.overall_unknown_share,
        }


@dataclass(frozen=True)
class PredictionProfile:
    """The reference distribution of the predicted class."""

    output: str
    binning: Binning


@dataclass(frozen=True)
class EmbeddingProfile:
    """The reference distribution of an embedding output, through fixed projections."""

    output: str
    directions: tuple[tuple[float, ...], ...]
    """Unit vectors (one per projection) the embeddings are projected on."""
    mean: tuple[float, ...]
    """The mean embedding of the training rows."""
    projections: tuple[Binning, ...]
    """The binning of the projection on each direction."""

    @property
    def dimensions(self) -> int:
        """Components of each embedding."""
        return len(self.mean)

    def as_json(self) -> dict[str, object]:
        """The JSON form stored in the profile file."""
        return {
            "output": self.output,
            "dimensions": self.dimensions,
            "directions": [list(direction) for direction in self.directions],
            "mean": list(self.mean),
            "projections": [binning.as_json() for binning in self.projections],
        }


@dataclass(frozen=True)
class ReferenceProfile:
    """Every distribution the service compares live traffic with."""

    rows: int
    features: tuple[FeatureProfile, ...]
    prediction: PredictionProfile | None
    """The class or value output (None for a model whose only output is an embedding)."""
    texts: tuple[TextProfile, ...] = ()
    embedding: EmbeddingProfile | None = None

    def drift_columns(self) -> tuple[tuple[str, Binning], ...]:
        """The ``feature`` label and binning of each input value drift watches: the
        features, then each text's derived values (the first columns of the drift window)."""
        columns = [(feature.name, feature.binning) for feature in self.features]
        for text in self.texts:
            columns.extend(text.drift_columns())
        return tuple(columns)

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys): the same training data gives the same bytes."""
        newer = bool(self.texts) or self.embedding is not None
        document: dict[str, object] = {
            "format_version": FORMAT_VERSION if newer else TABULAR_FORMAT_VERSION,
            "binning": _BINNING_RULES + (_TEXT_AND_EMBEDDING_RULES if newer else ""),
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
            "prediction": None
            if self.prediction is None
            else {"output": self.prediction.output, **self.prediction.binning.as_json()},
        }
        if newer:
            document["texts"] = [text.as_json() for text in self.texts]
            document["embedding"] = None if self.embedding is None else self.embedding.as_json()
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def numeric_binning(
    values: NDArray[Any], bins: int = NUMERIC_BINS, *, ties_own_bins: bool = False
) -> Binning:
    """Quantile bins of ``values`` and the share of ``values`` in each.

    ``ties_own_bins``: a value at two or more of the quantiles also gets a bin of its own
    (``[v, next float after v)``), instead of sharing one with the values above it.
    """
    column = np.asarray(values, dtype=np.float64)
    if column.size == 0:
        return Binning("numeric", (), (1.0,))  # nothing to compare with: one bin, no drift
    quantiles = np.quantile(column, np.arange(1, bins) / bins, method="higher")
    cuts, repeats = np.unique(quantiles, return_counts=True)
    edges = {float(cut) for cut in cuts}
    if ties_own_bins:
        edges |= {float(np.nextafter(cut, np.inf)) for cut in cuts[repeats > 1]}
    return _with_frequencies("numeric", tuple(sorted(edges)), column)


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
    """Profile the training ``inputs`` and the model's ``outputs`` for them.

    Raises:
        ValueError: the spec watches no output, two watched values share a name, or a
            token counter does not count one value per text.
    """
    _ = spec.watched_output  # raises for a spec that watches no output
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
    texts = tuple(text_profile(text, inputs) for text in spec.texts)
    profile = ReferenceProfile(rows=0, features=tuple(features), prediction=None, texts=texts)
    names = [name for name, _ in profile.drift_columns()]
    if len(set(names)) != len(names):
        clashes = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(
            f"drift would watch two values named {clashes}: a feature is named like the "
            "length or unknown-token share of a text input (<input>_length, "
            "<input>_unknown_token_share); rename the feature"
        )
    prediction = None
    rows = 0
    output = spec.class_output or spec.value_output
    if output is not None:
        predicted = prediction_values(outputs, output, spec.classes)
        if spec.classes:
            binning = categorical_binning(predicted, range(len(spec.classes)))
        else:
            binning = numeric_binning(predicted)
        prediction = PredictionProfile(output, binning)
        rows = len(predicted)
    embedding = None
    if spec.embedding_output is not None:
        embedding = embedding_profile(spec.embedding_output, outputs)
        rows = len(vectors_of(outputs, spec.embedding_output))
    return ReferenceProfile(rows, tuple(features), prediction, texts, embedding)


def text_profile(text: TextSpec, inputs: Mapping[str, Tensor]) -> TextProfile:
    """The length and unknown-token share of the training texts of ``text.input``."""
    texts = texts_of(inputs, text.input)
    length = numeric_binning(lengths(texts), ties_own_bins=True)
    if text.tokens is None:
        return TextProfile(text.input, length, None, None)
    tokens, unknown = count_tokens(text, texts)
    shares = unknown_shares(tokens, unknown)
    share = numeric_binning(shares[~np.isnan(shares)], ties_own_bins=True)
    total = int(tokens.sum())
    overall = float(unknown.sum()) / total if total else None
    return TextProfile(text.input, length, share, overall)


def embedding_profile(output: str, outputs: Mapping[str, Tensor]) -> EmbeddingProfile:
    """Projections and mean of the training embeddings of ``output`` (finite rows)."""
    vectors = finite_rows(vectors_of(outputs, output))
    on = directions(vectors.shape[1])
    projected = project(vectors, on)
    return EmbeddingProfile(
        output=output,
        directions=tuple(tuple(float(value) for value in row) for row in on),
        mean=tuple(float(value) for value in vectors.mean(axis=0)),
        projections=tuple(numeric_binning(projected[:, k]) for k in range(len(on))),
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
    """Read a profile written by `ReferenceProfile.to_json` (format 1 or 2).

    Raises:
        ProfileError: the text is not a profile of a known format version.
    """
    try:
        document = json.loads(text)
        version = document["format_version"]
        if version not in (TABULAR_FORMAT_VERSION, FORMAT_VERSION):
            raise ProfileError(
                f"reference profile format {version!r} is not one this runtime reads "
                f"({TABULAR_FORMAT_VERSION} or {FORMAT_VERSION}); re-run `make train`"
            )
        features = tuple(
            FeatureProfile(
                str(item["name"]), str(item["input"]), int(item["column"]), _binning(item)
            )
            for item in document["features"]
        )
        item = document["prediction"]
        if item is None and version == TABULAR_FORMAT_VERSION:
            raise ValueError("a format 1 profile has a prediction")
        prediction = None
        if item is not None:
            prediction = PredictionProfile(str(item["output"]), _binning(item))
        if version == TABULAR_FORMAT_VERSION:
            return ReferenceProfile(int(document["rows"]), features, prediction)
        texts = tuple(_text(item) for item in document["texts"])
        item = document["embedding"]
        embedding = None if item is None else _embedding(item)
        return ReferenceProfile(int(document["rows"]), features, prediction, texts, embedding)
    except ProfileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
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


def _text(item: Mapping[str, Any]) -> TextProfile:
    share = item["unknown_share"]
    overall = item["overall_unknown_share"]
    return TextProfile(
        input=str(item["input"]),
        length=_binning(item["length"]),
        unknown_share=None if share is None else _binning(share),
        overall_unknown_share=None if overall is None else float(overall),
    )


def _embedding(item: Mapping[str, Any]) -> EmbeddingProfile:
    dimensions = int(item["dimensions"])
    on = tuple(tuple(float(value) for value in direction) for direction in item["directions"])
    mean = tuple(float(value) for value in item["mean"])
    projections = tuple(_binning(binning) for binning in item["projections"])
    if dimensions < 1 or len(mean) != dimensions or any(len(d) != dimensions for d in on):
        raise ValueError(
            f"the embedding's mean and directions must have its {dimensions} dimensions"
        )
    if len(on) != len(projections) or not on:
        raise ValueError("the embedding needs one projection binning per direction")
    return EmbeddingProfile(str(item["output"]), on, mean, projections)
