"""Medians over repetitions, ratios between targets, and the issue's PASS/FAIL checks.

Pure functions over plain dicts (the same shape as the JSON results file), so tests/bench
covers them without running anything.

Ratios are paired: the runner measures every target of a cell back to back within each
repetition, and a ratio compares the requests both targets served in the repetitions where
both ran. On a shared host the speed of a core drifts by 10-20 % from one minute to the
next; a ratio of two medians taken minutes apart carries that drift, a paired ratio cancels
most of it. Totals rather than a median of ratios: work that comes in bursts (the
prediction log writes every 10 s) lands in some measurements only, and a median would
drop exactly those.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

METRICS = ("rps", "p50_ms", "p99_ms", "max_ms")

Cell = tuple[str, int, int]
"""(target id, concurrency, rows per request)."""


def summarise(runs: Iterable[Mapping[str, Any]]) -> dict[str, float | int]:
    """Median of each metric over repetitions; errors are summed, so none hides.

    Args:
        runs: wrk results of one cell, as ``WrkResult.to_dict()`` gives them.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no repetitions to summarise")
    out: dict[str, float | int] = {m: statistics.median(r[m] for r in runs) for m in METRICS}
    cpu = [r["cpu_us_per_req"] for r in runs if r.get("cpu_us_per_req") is not None]
    if cpu:
        out["cpu_us_per_req"] = statistics.median(cpu)
    out["errors"] = sum(int(r["errors"]) for r in runs)
    out["requests"] = sum(int(r["requests"]) for r in runs)
    out["repetitions"] = len(runs)
    return out


def paired_ratio(
    runs: Iterable[Mapping[str, Any]], num: str, den: str, concurrency: int, rows: int
) -> float | None:
    """``num``'s throughput over ``den``'s, summed over the repetitions that measured both.

    Every measurement lasts the same time, so summed throughputs compare the work each
    target did in the same windows. ``None`` when no repetition measured both.
    """
    by_rep: dict[tuple[str, Any], float] = {
        (r["target"], r["rep"]): float(r["rps"])
        for r in runs
        if r["concurrency"] == concurrency and r["rows"] == rows and r["target"] in (num, den)
    }
    reps = [rep for target, rep in by_rep if target == num and (den, rep) in by_rep]
    total_den = sum(by_rep[den, rep] for rep in reps)
    if not reps or total_den == 0:
        return None
    return sum(by_rep[num, rep] for rep in reps) / total_den


LIGHTGBM_CHECK = "LightGBM c/d >= 3 at c=8 with lower p99 (MLServer's lightgbm runtime)"
"""Issue 13, item 9: the generated service against MLServer, both serving one booster."""


@dataclass(frozen=True)
class Check:
    """One target of issue 8, evaluated on one run."""

    name: str
    status: str  # PASS, FAIL or N/A
    detail: str

    def line(self) -> str:
        """The printed form: ``PASS  c/b >= 0.90 ...: 0.93``."""
        return f"{self.status:<4}  {self.name}: {self.detail}"


def ratio_check(
    name: str,
    cells: Mapping[Cell, Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    num: str,
    den: str,
    minimum: float,
    concurrencies: Iterable[int],
    rows: int,
    *,
    lower_p99: bool = False,
) -> Check:
    """Paired ``num/den`` throughput ≥ ``minimum`` at each concurrency (optionally lower p99).

    The p99 comparison uses each cell's median p99.
    """
    parts, ok, missing = [], True, False
    for c in concurrencies:
        a, b = cells.get((num, c, rows)), cells.get((den, c, rows))
        r = paired_ratio(runs, num, den, c, rows)
        if r is None:
            missing = True
            parts.append(f"c={c} n/a")
            continue
        good = r >= minimum
        text = f"c={c} {r:.2f}"
        if lower_p99 and a and b:
            good = good and a["p99_ms"] < b["p99_ms"]
            text += f" (p99 {a['p99_ms']:.2f} vs {b['p99_ms']:.2f} ms)"
        ok = ok and good
        parts.append(text)
    status = "N/A" if missing and ok else ("PASS" if ok else "FAIL")
    return Check(name, status, ", ".join(parts))


def threshold_check(
    name: str,
    value: float | None,
    limit: float,
    unit: str,
    *,
    below: bool,
    or_equal: bool = False,
) -> Check:
    """``value`` below ``limit`` (``or_equal``: at most), or at least ``limit``; N/A when
    it was not measured."""
    if value is None:
        return Check(name, "N/A", "not measured")
    under = value <= limit if or_equal else value < limit
    good = under if below else value >= limit
    return Check(name, "PASS" if good else "FAIL", f"{value:.2f} {unit} (limit {limit:g})")


def logging_cost(runs: Sequence[Mapping[str, Any]], concurrencies: Iterable[int]) -> float | None:
    """What drift detection and prediction logging cost (c) in throughput, as a fraction:
    1 - c/c-lean at the worst concurrency (1 row); None when no pair was measured."""
    lean = [paired_ratio(runs, "c", "c-lean", c, 1) for c in concurrencies]
    known = [r for r in lean if r is not None]
    return None if not known else max(1 - r for r in known)


def issue_checks(
    cells: Mapping[Cell, Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    containers: Mapping[str, Mapping[str, Any]],
    concurrencies: Iterable[int],
) -> list[Check]:
    """Every measurable target of issue 8, section 2, and issue 13's, on 1-row requests."""
    conc = list(concurrencies)
    checks = [
        ratio_check("c/b >= 0.90 at every concurrency", cells, runs, "c", "b", 0.90, conc, 1),
        ratio_check(
            "c/d >= 3 at c=8, lower p99 (MLServer defaults)",
            cells,
            runs,
            "c",
            "d",
            3,
            [8],
            1,
            lower_p99=True,
        ),
        ratio_check(
            "c/d0 >= 1.5 at c=8 (MLServer parallel_workers: 0)",
            cells,
            runs,
            "c",
            "d0",
            1.5,
            [8],
            1,
        ),
        ratio_check(
            "c/e >= 3 at c=8, lower p99 (BentoML)",
            cells,
            runs,
            "c",
            "e",
            3,
            [8],
            1,
            lower_p99=True,
        ),
    ]
    checks.append(
        ratio_check(LIGHTGBM_CHECK, cells, runs, "c-lgbm", "d-lgbm", 3, [8], 1, lower_p99=True)
    )
    cost = logging_cost(runs, conc)
    checks.append(
        threshold_check(
            "drift + prediction logging cost < 5% throughput (worst concurrency)",
            None if cost is None else cost * 100,
            5,
            "%",
            below=True,
        )
    )
    cold = containers.get("c", {}).get("cold_start_s")
    checks.append(threshold_check("cold start to ready < 2 s (c)", cold, 2.0, "s", below=True))
    size_c = containers.get("c", {}).get("image_bytes")
    size_d = containers.get("d", {}).get("image_bytes")
    size_ratio = size_c / size_d if size_c and size_d else None
    checks.append(threshold_check("image size c/d <= 0.8", size_ratio, 0.8 + 1e-9, "x", below=True))
    checks.append(
        heavy_check(
            cells.get(("c-heavy-batch", 32, 1)),
            cells.get(("c-heavy", 32, 1)),
            paired_ratio(runs, "c-heavy-batch", "c-heavy", 32, 1),
        )
    )
    return checks


def heavy_check(
    batched: Mapping[str, Any] | None,
    unbatched: Mapping[str, Any] | None,
    speedup: float | None,
) -> Check:
    """Micro-batching on the heavy model at c=32: >= 5x the throughput, <= 1/10 the p99."""
    name = "heavy model: batching on/off >= 5x at c=32, p99 <= 0.1x"
    if speedup is None or batched is None or unbatched is None:
        return Check(name, "N/A", "not measured")
    p99 = float(batched["p99_ms"]) / float(unbatched["p99_ms"])
    good = speedup >= 5 and p99 <= 0.1
    detail = (
        f"{speedup:.2f} x throughput, p99 {batched['p99_ms']:.1f} vs "
        f"{unbatched['p99_ms']:.1f} ms ({p99:.2f} x)"
    )
    return Check(name, "PASS" if good else "FAIL", detail)
