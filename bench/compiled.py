"""The targets of issue 15: compiled serving, faster than any peer, close to the floor.

(c) serves its model compiled to ONNX; (b) is the bare endpoint on the native framework
and (b') the same endpoint on the same graph (onnxruntime, the runtime's session
options). Each target is a PASS / FAIL / N/A line, from the same run's cells, the paired
ratios, the containers and the comparison of answers (`bench.agreement`); the report
shows them in their own block. Issue 8's and 13's lines stay as they were: these are
stricter, and some repeat theirs at a new limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bench import agreement, stats

C_OVER_B: Final = "c/b >= 3 at c=8 (the compiled graph against the native framework)"
C_OVER_B_ONNX: Final = "c/b' >= 0.90 at every concurrency (the same graph behind bare FastAPI)"
LGBM_C_OVER_B_ONNX: Final = "lgbm c/b' >= 0.90 at c=1 and c=8 (LightGBM's graph)"
C_OVER_D: Final = "c/d >= 10 at c=8, lower p99 (MLServer defaults)"
C_OVER_E: Final = "c/e >= 10 at c=8, lower p99 (BentoML)"
CPU: Final = "CPU per request at c=1 <= 250 us (c)"
COLD_START: Final = "cold start to ready <= 1.0 s (c's image, one core)"
IMAGE: Final = "image size <= 250 MB (c)"
HEAVY: Final = "keep: heavy model batching on/off >= 5x at c=32, p99 <= 0.1x"
LOGGING: Final = "keep: drift + prediction logging cost <= 5% throughput (worst concurrency)"
CHECKS: Final = (
    C_OVER_B,
    agreement.CHECK,
    C_OVER_B_ONNX,
    LGBM_C_OVER_B_ONNX,
    C_OVER_D,
    C_OVER_E,
    CPU,
    COLD_START,
    IMAGE,
    HEAVY,
    LOGGING,
)
"""The names of issue 15's checks, in the order the report lists them."""

CPU_LIMIT_US: Final = 250.0
COLD_START_LIMIT_S: Final = 1.0
IMAGE_LIMIT_MB: Final = 250.0
LIGHTGBM_CONCURRENCIES: Final = (1, 8)
"""Where the LightGBM group is measured (`run.GROUP_CELLS`)."""


def checks(
    cells: Mapping[stats.Cell, Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    containers: Mapping[str, Mapping[str, Any]],
    answers: Mapping[str, Any],
    concurrencies: Iterable[int],
) -> list[stats.Check]:
    """Every target of issue 15, on 1-row requests (the comparison of answers on its own
    rows: `bench.agreement`)."""
    conc = list(concurrencies)
    cpu = cells.get(("c", 1, 1), {}).get("cpu_us_per_req")
    size = containers.get("c", {}).get("image_bytes")
    cost = stats.logging_cost(runs, conc)
    return [
        stats.ratio_check(C_OVER_B, cells, runs, "c", "b", 3, [8], 1),
        agreement.check(answers),
        stats.ratio_check(C_OVER_B_ONNX, cells, runs, "c", "b-onnx", 0.90, conc, 1),
        stats.ratio_check(
            LGBM_C_OVER_B_ONNX,
            cells,
            runs,
            "c-lgbm",
            "b-onnx-lgbm",
            0.90,
            [c for c in conc if c in LIGHTGBM_CONCURRENCIES],
            1,
        ),
        stats.ratio_check(C_OVER_D, cells, runs, "c", "d", 10, [8], 1, lower_p99=True),
        stats.ratio_check(C_OVER_E, cells, runs, "c", "e", 10, [8], 1, lower_p99=True),
        stats.threshold_check(CPU, cpu, CPU_LIMIT_US, "us", below=True, or_equal=True),
        stats.threshold_check(
            COLD_START,
            containers.get("c", {}).get("cold_start_s"),
            COLD_START_LIMIT_S,
            "s",
            below=True,
            or_equal=True,
        ),
        stats.threshold_check(
            IMAGE,
            None if size is None else size / 1e6,
            IMAGE_LIMIT_MB,
            "MB",
            below=True,
            or_equal=True,
        ),
        _renamed(
            stats.heavy_check(
                cells.get(("c-heavy-batch", 32, 1)),
                cells.get(("c-heavy", 32, 1)),
                stats.paired_ratio(runs, "c-heavy-batch", "c-heavy", 32, 1),
            ),
            HEAVY,
        ),
        stats.threshold_check(
            LOGGING, None if cost is None else cost * 100, 5, "%", below=True, or_equal=True
        ),
    ]


def _renamed(check: stats.Check, name: str) -> stats.Check:
    return stats.Check(name, check.status, check.detail)
