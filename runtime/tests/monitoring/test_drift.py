"""Drift math: the population stability index and the sliding window it is computed on."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray

from modelrail_runtime.monitoring.drift import SlidingWindow, binned_psi, psi, smoothed
from modelrail_runtime.monitoring.reference_profile import categorical_binning


def test_psi_of_a_known_shift() -> None:
    # (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5) = 0.8789...
    value = psi(np.array([0.5, 0.5]), np.array([90, 10]))
    assert value == pytest.approx(0.4 * math.log(1.8) + 0.4 * math.log(5), rel=1e-3)


def test_psi_of_the_same_distribution_is_zero_and_of_nothing_is_nan() -> None:
    assert psi(np.array([0.25, 0.75]), np.array([25, 75])) == pytest.approx(0, abs=1e-12)
    assert math.isnan(psi(np.array([0.25, 0.75]), np.array([0, 0])))


def test_an_empty_bin_gives_a_large_finite_index() -> None:
    assert 1 < psi(np.array([0.5, 0.5, 0.0]), np.array([0, 0, 10])) < 100
    assert smoothed(np.array([0.0, 1.0])).sum() == pytest.approx(1)
    assert (smoothed(np.array([0.0, 1.0])) > 0).all()


@given(
    arrays(np.float64, 6, elements=st.floats(0, 1)).filter(lambda a: a.sum() > 0),
    arrays(np.int64, 6, elements=st.integers(0, 1000)).filter(lambda a: a.sum() > 0),
)
def test_psi_is_never_negative(reference: NDArray[np.float64], counts: NDArray[np.int64]) -> None:
    assert psi(reference / reference.sum(), counts) >= -1e-12


def test_binned_psi_bins_values_like_the_reference() -> None:
    binning = categorical_binning(np.array([1.0, 1.0, 2.0, 3.0]))
    assert binned_psi(binning, np.array([1.0, 1.0, 2.0, 3.0])) == pytest.approx(0, abs=1e-12)
    assert binned_psi(binning, np.array([9.0] * 4)) > 1


def test_the_window_keeps_the_most_recent_rows() -> None:
    window = SlidingWindow(capacity=5, columns=2)
    window.add(np.array([[1, 1], [2, 2], [3, 3]]))
    assert len(window) == 3
    window.add(np.array([[4, 4], [5, 5], [6, 6]]))
    assert sorted(window.rows()[:, 0].tolist()) == [2, 3, 4, 5, 6]
    window.add(np.arange(20).reshape(10, 2))
    assert sorted(window.rows()[:, 1].tolist()) == [11, 13, 15, 17, 19]
    assert len(window) == 5


def test_the_window_hands_out_copies_and_ignores_empty_adds() -> None:
    window = SlidingWindow(capacity=3, columns=1)
    window.add(np.array([[1.0]]))
    window.rows()[0, 0] = 99
    assert window.rows().tolist() == [[1.0]]
    window.add(np.zeros((0, 1)))
    assert len(window) == 1
    empty = SlidingWindow(capacity=0, columns=1)
    empty.add(np.array([[1.0]]))
    assert len(empty) == 0


def test_the_window_takes_rows_from_several_threads() -> None:
    window = SlidingWindow(capacity=10_000, columns=1)

    def add_rows() -> None:
        for _ in range(500):
            window.add(np.ones((1, 1)))

    threads = [threading.Thread(target=add_rows) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(window) == 2000
