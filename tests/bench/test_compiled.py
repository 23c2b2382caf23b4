"""Issue 15's targets as PASS / FAIL / N/A lines, from made-up cells and images."""

from __future__ import annotations

from typing import Any

import pytest

from bench import agreement, compiled, stats


def cell(rps: float, p99: float, cpu: float | None = None) -> dict[str, Any]:
    out = {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2, "errors": 0,
           "requests": int(rps), "repetitions": 3}  # fmt: skip
    if cpu is not None:
        out["cpu_us_per_req"] = cpu
    return out


def measured(
    at: tuple[int, ...] = (1, 8, 32), **by_target: tuple[float, float]
) -> tuple[dict[stats.Cell, dict[str, Any]], list[dict[str, Any]]]:
    """Cells and three equal repetitions per target at each concurrency, 1 row."""
    cells, runs = {}, []
    for name, (rps, p99) in by_target.items():
        tid = name.replace("_", "-")
        for c in at:
            cells[tid, c, 1] = cell(rps, p99, cpu=1e6 / rps)
            runs += [{"target": tid, "concurrency": c, "rows": 1, "rep": rep, "rps": rps}
                     for rep in (1, 2, 3)]  # fmt: skip
    return cells, runs


GOOD = {
    "b": (1_000, 12.0), "b_onnx": (5_000, 3.0), "c": (4_800, 2.5), "c_lean": (4_900, 2.5),
    "d": (400, 37.0), "e": (350, 200.0),
    "b_onnx_lgbm": (5_000, 3.0), "c_lgbm": (4_600, 3.0),
    "c_heavy": (150, 900.0), "c_heavy_batch": (900, 60.0),
}  # fmt: skip
IMAGE = {"c": {"cold_start_s": 0.8, "image_bytes": 240_000_000}}
SAME = {"rows": 256, "tolerance": 1e-6, "errors": {}, "targets": {
    "c": {"reference": "b", "rows": 256, "max_abs_diff": 6e-8, "worst_row": 3,
          "label_mismatches": 0, "first_mismatch": None, "datatypes": None}}}  # fmt: skip


def statuses(
    cells: dict[stats.Cell, dict[str, Any]],
    runs: list[dict[str, Any]],
    images: dict[str, dict[str, Any]] = IMAGE,
    answers: dict[str, Any] = SAME,
) -> dict[str, str]:
    return {c.name: c.status for c in compiled.checks(cells, runs, images, answers, [1, 8, 32])}


def test_every_target_of_the_issue_passes_on_a_run_that_meets_them() -> None:
    cells, runs = measured(**GOOD)
    cells["c", 1, 1]["cpu_us_per_req"] = 210.0
    found = statuses(cells, runs)
    assert list(found) == list(compiled.CHECKS)
    assert set(found.values()) == {"PASS"}


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"b": (1_700, 12.0)}, compiled.C_OVER_B),  # 2.8x (b)
        ({"b_onnx": (5_400, 3.0)}, compiled.C_OVER_B_ONNX),  # 0.89x (b')
        ({"c_lgbm": (4_450, 3.0)}, compiled.LGBM_C_OVER_B_ONNX),
        ({"d": (490, 37.0)}, compiled.C_OVER_D),  # 9.8x MLServer
        ({"e": (350, 2.0)}, compiled.C_OVER_E),  # 10x or more, but BentoML's p99 is lower
        ({"c_heavy_batch": (600, 60.0)}, compiled.HEAVY),  # 4x the unbatched throughput
        ({"c_lean": (5_100, 2.5)}, compiled.LOGGING),  # logging costs 5.9 %
    ],
)
def test_each_ratio_fails_on_its_own(change: dict[str, tuple[float, float]], failing: str) -> None:
    cells, runs = measured(**{**GOOD, **change})
    cells["c", 1, 1]["cpu_us_per_req"] = 210.0
    found = statuses(cells, runs)
    assert found[failing] == "FAIL"
    assert [name for name, status in found.items() if status != "PASS"] == [failing]


@pytest.mark.parametrize(("cpu", "status"), [(250.0, "PASS"), (251.0, "FAIL")])
def test_cpu_per_request_at_c1_is_at_most_250_us(cpu: float, status: str) -> None:
    cells, runs = measured(**GOOD)
    cells["c", 1, 1]["cpu_us_per_req"] = cpu
    (check,) = [c for c in compiled.checks(cells, runs, IMAGE, SAME, [1]) if c.name == compiled.CPU]
    assert check.status == status
    assert check.detail == f"{cpu:.2f} us (limit 250)"


@pytest.mark.parametrize(
    ("image", "name", "status"),
    [
        ({"cold_start_s": 1.0, "image_bytes": 250_000_000}, compiled.COLD_START, "PASS"),
        ({"cold_start_s": 1.04, "image_bytes": 250_000_000}, compiled.COLD_START, "FAIL"),
        ({"cold_start_s": 0.5, "image_bytes": 250_000_000}, compiled.IMAGE, "PASS"),
        ({"cold_start_s": 0.5, "image_bytes": 632_000_000}, compiled.IMAGE, "FAIL"),
    ],
)
def test_cold_start_and_image_size_of_c(image: dict[str, float], name: str, status: str) -> None:
    cells, runs = measured(**GOOD)
    assert statuses(cells, runs, {"c": image})[name] == status


def test_a_failed_comparison_of_answers_fails_its_line() -> None:
    cells, runs = measured(**GOOD)
    differs = {**SAME, "targets": {"c": {**SAME["targets"]["c"], "label_mismatches": 1,
                                         "first_mismatch": 7}}}  # fmt: skip
    assert statuses(cells, runs, answers=differs)[agreement.CHECK] == "FAIL"


def test_what_was_not_measured_is_na() -> None:
    cells, runs = measured(c=(4_800, 2.5))
    found = statuses(cells, runs, {}, {})
    assert found[compiled.C_OVER_B] == "N/A"
    assert found[compiled.COLD_START] == "N/A"
    assert found[compiled.IMAGE] == "N/A"
    assert found[agreement.CHECK] == "N/A"
    assert found[compiled.HEAVY] == "N/A"
    assert found[compiled.CPU] == "PASS"  # 208 us per request


def test_the_lightgbm_line_looks_only_where_the_group_is_measured() -> None:
    cells, runs = measured((1, 8), b_onnx_lgbm=(5_000, 3.0), c_lgbm=(4_600, 3.0))
    (check,) = [c for c in compiled.checks(cells, runs, {}, {}, [1, 8, 32])
                if c.name == compiled.LGBM_C_OVER_B_ONNX]  # fmt: skip
    assert check.status == "PASS"
    assert check.detail == "c=1 0.92, c=8 0.92"
