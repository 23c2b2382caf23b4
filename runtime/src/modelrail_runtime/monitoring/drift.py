"""Drift math: the population stability index and the sliding window it is computed on.

PSI compares the share of the reference (training) rows in each bin, ``e``, with the
share of the recent rows, ``a``::

    PSI = sum over bins of (a - e) * ln(a / e)

Shares are smoothed first, ``s' = (s + EPSILON) / (1 + bins * EPSILON)``, so that an
empty bin on either side gives a large but finite value. Rules of thumb: below 0.1 no
shift, 0.1 to 0.2 a moderate one, above 0.2 (the default ``DRIFT_THRESHOLD``) a shift
worth a look. With ``n`` recent rows, same-distribution noise is about ``(bins - 1) / n``
(0.009 for 10 bins and the default window of 1000 rows).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .reference_profile import Binning

EPSILON = 1e-4


def smoothed(shares: NDArray[np.float64], epsilon: float = EPSILON) -> NDArray[np.float64]:
    """Additive smoothing of bin shares: no zero, still summing to 1."""
    return (shares + epsilon) / (1.0 + len(shares) * epsilon)


def psi(
    reference: NDArray[np.float64], counts: NDArray[np.int64], epsilon: float = EPSILON
) -> float:
    """Population stability index of observed bin ``counts`` against ``reference`` shares."""
    total = int(counts.sum())
    if total == 0:
        return float("nan")
    expected = smoothed(np.asarray(reference, dtype=np.float64), epsilon)
    actual = smoothed(counts.astype(np.float64) / total, epsilon)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def binned_psi(binning: Binning, values: NDArray[Any]) -> float:
    """PSI of ``values`` binned like the reference distribution ``binning``."""
    reference = np.asarray(binning.frequencies, dtype=np.float64)
    return psi(reference, binning.counts(values))


class SlidingWindow:
    """The most recent ``capacity`` rows of a fixed number of columns (a ring buffer).

    `add` copies rows in; `rows` returns a copy of what the window holds (oldest rows may
    come after newer ones: order does not matter to a histogram). Thread-safe.
    """

    def __init__(self, capacity: int, columns: int) -> None:
        self.capacity = capacity
        self._buffer = np.zeros((capacity, columns), dtype=np.float64)
        self._next = 0
        self._filled = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._filled

    def add(self, rows: NDArray[Any]) -> None:
        """Append ``rows`` (rows x columns), overwriting the oldest ones when full."""
        if self.capacity == 0 or len(rows) == 0:
            return
        block = np.asarray(rows, dtype=np.float64)[-self.capacity :]
        with self._lock:
            start = self._next
            first = min(len(block), self.capacity - start)
            self._buffer[start : start + first] = block[:first]
            self._buffer[: len(block) - first] = block[first:]
            self._next = (start + len(block)) % self.capacity
            self._filled = min(self.capacity, self._filled + len(block))

    def rows(self) -> NDArray[np.float64]:
        """A copy of the rows in the window."""
        with self._lock:
            return self._buffer[: self._filled].copy()
