"""Prediction metrics and drift detection, kept off the request path.

The request path only appends the request's tensors to a bounded deque (`observe`, O(1)).
A background thread (every second) and every ``/metrics`` scrape fold what is pending into
the predicted-class counters, the score histogram, the text and data-quality counters and
the sliding drift window, then recompute the drift indices (`drift.binned_psi`): a few
numpy calls per batch of requests, whatever their number. If more than ``MAX_PENDING``
requests arrive between two folds, the oldest are skipped. Free texts cost more: their
lengths are measured one by one, and at most ``MAX_TOKENIZED_TEXTS`` of them per input are
tokenised per fold (`text`).

The drift window holds one column per watched value, in this order: the features, each
text's length and unknown-token share, the predicted class or value, the embedding's
projections (`ReferenceProfile.drift_columns`).
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter, Gauge

from .batch_histogram import BatchHistogram
from .columns import feature_values, prediction_values
from .drift import SlidingWindow, binned_psi
from .embedding import (
    EmbeddingMetrics,
    RollingMean,
    combined_psi,
    cosine_distance,
    finite_rows,
    project,
    vectors_of,
)
from .reference_profile import Binning, ReferenceProfile
from .registry import MODEL_LABELS
from .text import (
    MAX_TOKENIZED_TEXTS,
    TextMetrics,
    count_tokens,
    derived_names,
    lengths,
    sample_rows,
    texts_of,
    unknown_shares,
)

if TYPE_CHECKING:
    from ..adapter import Tensor, TextSpec
    from ..model import LoadedModel

logger = logging.getLogger(__name__)

MAX_PENDING: Final = 65_536
OTHER_CLASS: Final = "other"
"""The ``predicted_class`` label of a prediction outside the model's declared classes."""
SCORE_BUCKETS: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
FEATURE_LABELS: Final = (*MODEL_LABELS, "feature")

Pending = tuple[Mapping[str, "Tensor"], Mapping[str, "Tensor"]]


class MonitorMetrics:
    """The families the monitor fills: predictions, scores, drift, texts, embeddings."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.predictions = Counter(
            "model_predictions",
            "Predictions made, one per input row, by predicted class.",
            [*MODEL_LABELS, "predicted_class"],
            registry=registry,
        )
        self.prediction_score = BatchHistogram(
            "model_prediction_score",
            "Probability the model gave the class it predicted, one observation per row.",
            [*MODEL_LABELS, "predicted_class"],
            SCORE_BUCKETS,
        )
        registry.register(self.prediction_score)
        self.feature_drift = Gauge(
            "model_feature_drift_psi",
            "Population stability index of each input feature: the recent window against "
            "the training data (NaN until the window holds DRIFT_MIN_ROWS rows).",
            [*MODEL_LABELS, "feature"],
            registry=registry,
        )
        self.prediction_drift = Gauge(
            "model_prediction_drift_psi",
            "Population stability index of the predicted class: the recent window against "
            "the predictions on the training data (NaN until DRIFT_MIN_ROWS rows).",
            [*MODEL_LABELS, "output"],
            registry=registry,
        )
        self.drift_threshold = Gauge(
            "model_drift_psi_threshold",
            "DRIFT_THRESHOLD: a drift index above it raises the drift alerts.",
            registry=registry,
        )
        self.drift_window_rows = Gauge(
            "model_drift_window_rows",
            "Input rows in the sliding window the drift indices are computed on.",
            MODEL_LABELS,
            registry=registry,
        )
        self.missing_values = Counter(
            "model_input_missing_values",
            "Input values sent as missing (null), by feature.",
            FEATURE_LABELS,
            registry=registry,
        )
        self.out_of_range = Counter(
            "model_input_out_of_range_values",
            "Numeric input values outside the training range, by feature.",
            FEATURE_LABELS,
            registry=registry,
        )
        self.unseen_categories = Counter(
            "model_input_unseen_categories",
            "Categorical input values never seen in training, by feature.",
            FEATURE_LABELS,
            registry=registry,
        )
        self.text = TextMetrics(registry)
        self.embedding = EmbeddingMetrics(registry)
        self._registry = registry
        self.prediction_value: BatchHistogram | None = None

    def watch_values(self, buckets: tuple[float, ...]) -> None:
        """Register the regression histogram, bucketed like the training predictions."""
        if self.prediction_value is None:
            self.prediction_value = BatchHistogram(
                "model_prediction_value",
                "Value the model predicted (its first target), one observation per row; the "
                "buckets are the quantiles of its predictions on the training data.",
                [*MODEL_LABELS, "output"],
                buckets or (0.0,),
            )
            self._registry.register(self.prediction_value)

    def observe_predictions(
        self,
        model_name: str,
        model_version: str,
        classes: Sequence[str],
        counts: NDArray[np.int64],
        scores: Sequence[NDArray[np.float64]] | None,
    ) -> None:
        """Count predicted classes and record their scores (one batch of rows at a time)."""
        for index, name in enumerate(classes):
            if counts[index]:
                self.predictions.labels(model_name, model_version, name).inc(int(counts[index]))
            if scores is not None and len(scores[index]):
                self.prediction_score.observe_many((model_name, model_version, name), scores[index])


class ModelMonitor:
    """Watches what the served model is asked and what it answers."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        window_rows: int,
        min_rows: int,
        threshold: float,
        interval_seconds: float = 1.0,
    ) -> None:
        self.metrics = MonitorMetrics(registry)
        self._window_rows = window_rows
        self._min_rows = min_rows
        self._interval = interval_seconds
        self._pending: collections.deque[Pending] = collections.deque(maxlen=MAX_PENDING)
        self._model: LoadedModel | None = None
        self._window: SlidingWindow | None = None
        self._directions: NDArray[np.float64] | None = None
        self._recent_mean: RollingMean | None = None
        self._class_names: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.metrics.drift_threshold.set(threshold)

    def attach(self, model: LoadedModel) -> None:
        """Start watching ``model`` (called once it is loaded)."""
        spec = model.monitoring
        with self._lock:
            self._model = model
            self._class_names = (*(str(value) for value in spec.classes), OTHER_CLASS)
            reference = model.reference
            if spec.value_output is not None:
                prediction = reference.prediction if reference is not None else None
                self.metrics.watch_values(prediction.binning.cuts if prediction else ())
            for feature in spec.features:  # every series exists from the start
                labels = (model.name, model.version, feature.name)
                self.metrics.missing_values.labels(*labels)
                self.metrics.out_of_range.labels(*labels)
                self.metrics.unseen_categories.labels(*labels)
            for text in spec.texts:
                if text.tokens is not None:
                    labels = (model.name, model.version, text.input)
                    self.metrics.text.tokens.labels(*labels)
                    self.metrics.text.unknown_tokens.labels(*labels)
            self._window, self._directions, self._recent_mean = None, None, None
            problem = drift_problem(model)
            if problem is not None:
                logger.warning("%s: drift detection is off (re-run `make train`)", problem)
            elif reference is not None:
                self._watch(model, reference)
            self._update_drift(model)

    def observe(self, inputs: Mapping[str, Tensor], outputs: Mapping[str, Tensor]) -> None:
        """Hand one request's tensors over (request path: one deque append)."""
        self._pending.append((inputs, outputs))

    def refresh(self) -> None:
        """Fold pending requests into the metrics and the window; recompute drift."""
        with self._lock:
            model = self._model
            if model is None or not self._pending:
                return
            batch: list[Pending] = []
            pending = self._pending
            while pending:
                batch.append(pending.popleft())
            self._fold(model, batch)
            self._update_drift(model)

    def start(self) -> None:
        """Refresh every ``interval_seconds`` in a background thread."""
        self._thread = threading.Thread(target=self._run, name="model-monitor", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.refresh()
            except Exception:
                logger.exception("model monitor: refresh failed")

    def _watch(self, model: LoadedModel, reference: ReferenceProfile) -> None:
        """Set what the profile gives whatever the window: the training baselines; then
        open the drift window (unless ``DRIFT_WINDOW_ROWS`` is 0)."""
        for text in reference.texts:
            if text.overall_unknown_share is not None:
                labels = (model.name, model.version, text.input)
                self.metrics.text.training_unknown_share.labels(*labels).set(
                    text.overall_unknown_share
                )
        if self._window_rows == 0:
            return
        columns = len(reference.drift_columns()) + (reference.prediction is not None)
        embedding = reference.embedding
        if embedding is not None:
            columns += len(embedding.directions)
            self._directions = np.asarray(embedding.directions, dtype=np.float64)
            self._recent_mean = RollingMean(self._window_rows, embedding.dimensions)
        self._window = SlidingWindow(self._window_rows, columns)

    def _fold(self, model: LoadedModel, batch: list[Pending]) -> None:
        spec = model.monitoring
        # The batch's rows of each watched tensor first, then each column once: a request
        # is one row or a few, and converting them one request at a time cost more than
        # the request's own parsing.
        inputs = stacked([inputs for inputs, _ in batch], {f.input for f in spec.features})
        columns = [feature_values(feature, inputs) for feature in spec.features]
        self._count_quality(model, columns)
        for text in spec.texts:
            columns.extend(self._fold_text(model, text, batch))
        output = spec.class_output or spec.value_output
        if output is not None:
            outputs = stacked([outputs for _, outputs in batch], {output})
            predicted = prediction_values(outputs, output, spec.classes)
            if spec.classes:
                self._count_classes(model, batch, predicted.astype(np.intp))
            elif self.metrics.prediction_value is not None:
                labels = (model.name, model.version, output)
                self.metrics.prediction_value.observe_many(labels, predicted)
            columns.append(predicted)
        if spec.embedding_output is not None:
            columns.extend(self._fold_embedding(model, spec.embedding_output, batch))
        if self._window is not None:
            self._window.add(np.column_stack(columns))

    def _fold_text(
        self, model: LoadedModel, text: TextSpec, batch: list[Pending]
    ) -> list[NDArray[np.float64]]:
        """Observe the texts of one input; their lengths and unknown-token shares (NaN for
        texts left untokenised) as drift columns."""
        texts = [value for inputs, _ in batch for value in texts_of(inputs, text.input)]
        labels = (model.name, model.version, text.input)
        measured = lengths(texts)
        self.metrics.text.length.observe_many(labels, measured)
        if text.tokens is None:
            return [measured]
        rows = sample_rows(len(texts), MAX_TOKENIZED_TEXTS)
        tokens, unknown = count_tokens(text, [texts[row] for row in rows])
        self.metrics.text.tokens.labels(*labels).inc(int(tokens.sum()))
        self.metrics.text.unknown_tokens.labels(*labels).inc(int(unknown.sum()))
        shares = np.full(len(texts), np.nan)
        shares[rows] = unknown_shares(tokens, unknown)
        return [measured, shares]

    def _fold_embedding(
        self, model: LoadedModel, output: str, batch: list[Pending]
    ) -> list[NDArray[np.float64]]:
        """Add the vectors to the recent mean; their projections as drift columns."""
        if self._directions is None or self._recent_mean is None:
            return []
        vectors = np.concatenate([vectors_of(outputs, output) for _, outputs in batch])
        expected = self._recent_mean.dimensions
        if vectors.shape[1] != expected:
            logger.warning(
                "the model's %r output has %d dimensions, its reference profile %d: drift "
                "detection is off (re-run `make train`)",
                output,
                vectors.shape[1],
                expected,
            )
            self._window, self._directions, self._recent_mean = None, None, None
            return []
        # A row with a NaN projects to NaN (left out of the bins like a missing value).
        self._recent_mean.add(finite_rows(vectors))
        return list(project(vectors, self._directions).T)

    def _count_classes(
        self, model: LoadedModel, batch: list[Pending], index: NDArray[np.intp]
    ) -> None:
        spec = model.monitoring
        counts = np.bincount(index, minlength=len(self._class_names)).astype(np.int64)
        scores = None
        if spec.score_output is not None:
            probabilities = np.concatenate(
                [np.asarray(outputs[spec.score_output]) for _, outputs in batch]
            )
            top = probabilities.max(axis=1).astype(np.float64)
            scores = [top[index == position] for position in range(len(self._class_names))]
        self.metrics.observe_predictions(
            model.name, model.version, self._class_names, counts, scores
        )

    def _count_quality(self, model: LoadedModel, columns: list[NDArray[np.float64]]) -> None:
        metrics = self.metrics
        for feature, values in zip(model.monitoring.features, columns, strict=True):
            labels = (model.name, model.version, feature.name)
            if feature.categories:
                unseen = int(np.count_nonzero(values == len(feature.categories)))
                if unseen:
                    metrics.unseen_categories.labels(*labels).inc(unseen)
                continue
            missing = np.isnan(values)
            if missing.any():
                metrics.missing_values.labels(*labels).inc(int(missing.sum()))
            if feature.minimum is not None and feature.maximum is not None:
                present = values[~missing]
                outside = (present < feature.minimum) | (present > feature.maximum)
                if outside.any():
                    metrics.out_of_range.labels(*labels).inc(int(outside.sum()))

    def _update_drift(self, model: LoadedModel) -> None:
        reference = model.reference
        if self._window is None or reference is None:
            return
        rows = self._window.rows()
        enough = len(rows) >= self._min_rows
        metrics = self.metrics
        identity = (model.name, model.version)
        metrics.drift_window_rows.labels(*identity).set(len(rows))
        indices = [
            binned_psi(binning, rows[:, position]) if enough else float("nan")
            for position, binning in enumerate(self._binnings(reference))
        ]
        position = len(reference.drift_columns())
        for (name, _), value in zip(reference.drift_columns(), indices[:position], strict=True):
            metrics.feature_drift.labels(*identity, name).set(value)
        if reference.prediction is not None:
            output = reference.prediction.output
            metrics.prediction_drift.labels(*identity, output).set(indices[position])
            position += 1
        embedding = reference.embedding
        if embedding is not None:
            projections = indices[position:]
            for number, value in enumerate(projections):
                metrics.embedding.projection_drift.labels(*identity, str(number)).set(value)
            combined = combined_psi(projections) if enough else float("nan")
            metrics.prediction_drift.labels(*identity, embedding.output).set(combined)
            mean = self._recent_mean.mean() if self._recent_mean is not None else None
            distance = (
                cosine_distance(mean, np.asarray(embedding.mean))
                if enough and mean is not None
                else float("nan")
            )
            metrics.embedding.mean_cosine_distance.labels(*identity).set(distance)

    @staticmethod
    def _binnings(reference: ReferenceProfile) -> list[Binning]:
        """The binning of each column of the drift window, in order."""
        binnings = [binning for _, binning in reference.drift_columns()]
        if reference.prediction is not None:
            binnings.append(reference.prediction.binning)
        if reference.embedding is not None:
            binnings.extend(reference.embedding.projections)
        return binnings


def stacked(tensors: Sequence[Mapping[str, Tensor]], names: Set[str]) -> dict[str, Tensor]:
    """Each of ``names`` across a batch of requests' ``tensors``, rows one after another."""
    return {name: np.concatenate([each[name] for each in tensors]) for name in names}


def drift_problem(model: LoadedModel) -> str | None:
    """Why drift cannot be measured against the model's reference profile (None: it can).

    The profile must watch what the model declares: the same features and texts, the
    same outputs, an embedding of the same width.
    """
    spec, reference = model.monitoring, model.reference
    if reference is None:
        return "no reference profile beside the model artifact"
    declared = [feature.name for feature in spec.features]
    declared += [name for text in spec.texts for name in derived_names(text)]
    if [name for name, _ in reference.drift_columns()] != declared:
        return "the reference profile watches other features or texts than the model declares"
    output = spec.class_output or spec.value_output
    profiled = reference.prediction.output if reference.prediction is not None else None
    embedding = reference.embedding.output if reference.embedding is not None else None
    if (profiled, embedding) != (output, spec.embedding_output):
        return "the reference profile watches other outputs than the model declares"
    if reference.embedding is not None:
        width = next(
            (o.shape[-1] for o in model.signature.outputs if o.name == embedding and o.shape),
            -1,
        )
        if width not in (-1, reference.embedding.dimensions):
            return (
                f"the model's {embedding!r} output has {width} dimensions, its reference "
                f"profile {reference.embedding.dimensions}"
            )
    return None
