"""A histogram fed whole arrays: one numpy call per batch instead of one call per value."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString


class BatchHistogram(Collector):
    """A labelled histogram whose observations arrive as arrays.

    prometheus_client's `Histogram.observe` costs about a microsecond per value; the
    prediction scores arrive in batches of many rows, off the request path.
    """

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Iterable[float]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = np.asarray(sorted(buckets), dtype=np.float64)
        # `le` labels spelled as prometheus_client spells them ("0.1", "1.0").
        bounds = [floatToGoString(bound) for bound in self.bounds]  # type: ignore[no-untyped-call]
        self._les = [*bounds, "+Inf"]
        self._series: dict[tuple[str, ...], tuple[NDArray[np.int64], float]] = {}
        self._lock = threading.Lock()

    def observe_many(self, labels: tuple[str, ...], values: NDArray[Any]) -> None:
        """Observe every value of ``values`` under ``labels``."""
        observed = np.asarray(values, dtype=np.float64)
        # Bucket i counts values <= bound i (Prometheus' `le`), the last one is +Inf.
        index = np.searchsorted(self.bounds, observed, side="left")
        counts = np.bincount(index, minlength=len(self.bounds) + 1).astype(np.int64)
        total = float(observed.sum())
        with self._lock:
            previous, previous_sum = self._series.get(
                labels, (np.zeros(len(self.bounds) + 1, dtype=np.int64), 0.0)
            )
            self._series[labels] = (previous + counts, previous_sum + total)

    def describe(self) -> Iterator[Metric]:
        """The family without samples (lets the registry check names once)."""
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with one histogram per label set observed so far."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            series = dict(self._series)
        for labels, (counts, total) in sorted(series.items()):
            cumulative = np.cumsum(counts)
            buckets = [(le, float(count)) for le, count in zip(self._les, cumulative, strict=True)]
            family.add_metric(list(labels), buckets, total)
            if len(self.bounds) and self.bounds[0] < 0:
                # Below zero, add_metric leaves out _sum (no longer monotonic) and _count
                # with it; a Histogram keeps _count, and so does this one: a regressor's
                # values, bucketed at their training quantiles, may well be negative.
                named = dict(zip(self.labelnames, labels, strict=True))
                family.samples.append(Sample(self.name + "_count", named, buckets[-1][1]))
        yield family
