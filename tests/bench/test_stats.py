"""Medians, ratios and the issue's PASS/FAIL checks."""

from __future__ import annotations

import pytest

from bench import stats


def run(rps: float, p99: float = 1.0, errors: int = 0) -> dict[str, float | int]:
    return {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 3,
            "errors": errors, "requests": int(rps)}  # fmt: skip


def test_summarise_takes_medians_and_sums_errors() -> None:
    s = stats.summarise([run(100, 3.0, 1), run(300, 1.0, 0), run(200, 2.0, 2)])
    assert s["rps"] == 200
    assert s["p99_ms"] == 2.0
    assert s["max_ms"] == 6.0
    assert s["errors"] == 3
    assert s["repetitions"] == 3


def test_summarise_refuses_no_runs() -> None:
    with pytest.raises(ValueError, match="no repetitions"):
        stats.summarise([])


def test_ratio_is_none_when_a_side_is_missing_or_zero() -> None:
    assert stats.ratio(run(90), run(100)) == pytest.approx(0.9)
    assert stats.ratio(None, run(100)) is None
    assert stats.ratio(run(90), run(0)) is None


def cells(**by_target: tuple[float, float]) -> dict[stats.Cell, dict[str, float | int]]:
    out = {}
    for tid, (rps, p99) in by_target.items():
        for c in (1, 8, 32):
            out[tid.replace("_", "-"), c, 1] = run(rps, p99)
    return out


def test_c_over_b_passes_at_0_90_and_fails_below() -> None:
    ok = stats.ratio_check("c/b", cells(c=(900, 1), b=(1000, 1)), "c", "b", 0.9, [1, 8, 32], 1)
    bad = stats.ratio_check("c/b", cells(c=(899, 1), b=(1000, 1)), "c", "b", 0.9, [1, 8], 1)
    assert ok.status == "PASS"
    assert bad.status == "FAIL"
    assert "c=8 0.90" in bad.detail


def test_ratio_check_with_lower_p99_fails_on_latency_alone() -> None:
    data = cells(c=(1000, 5.0), d=(300, 4.0))
    check = stats.ratio_check("c/d", data, "c", "d", 3, [8], 1, lower_p99=True)
    assert check.status == "FAIL"
    assert "p99 5.00 vs 4.00 ms" in check.detail


def test_ratio_check_is_na_when_a_target_did_not_run() -> None:
    check = stats.ratio_check("c/e", cells(c=(1000, 1)), "c", "e", 3, [8], 1)
    assert check.status == "N/A"
    assert check.line().startswith("N/A ")


def test_issue_checks_cover_every_measurable_target() -> None:
    data = cells(b=(1000, 2), c=(950, 1), c_lean=(980, 1), d=(300, 30), d0=(600, 20),
                 e=(250, 50))  # fmt: skip
    containers = {"c": {"cold_start_s": 1.2, "image_bytes": 300}, "d": {"image_bytes": 1000}}
    checks = {c.name.split(" ")[0] + " " + c.name.split(" ")[1]: c.status
              for c in stats.issue_checks(data, containers, [1, 8, 32])}  # fmt: skip
    assert checks == {
        "c/b >=": "PASS",
        "c/d >=": "PASS",
        "c/d0 >=": "PASS",
        "c/e >=": "PASS",
        "drift +": "PASS",
        "cold start": "PASS",
        "image size": "PASS",
        "heavy model:": "N/A",
    }


def test_logging_cost_check_uses_the_worst_concurrency() -> None:
    data = cells(c=(1000, 1), c_lean=(1000, 1))
    data["c", 32, 1] = run(940)
    (cost,) = [c for c in stats.issue_checks(data, {}, [1, 8, 32]) if c.name.startswith("drift")]
    assert cost.status == "FAIL"
    assert cost.detail.startswith("6.00 %")


@pytest.mark.parametrize(
    ("batched", "unbatched", "status"),
    [
        ((700, 40), (125, 870), "PASS"),
        ((500, 40), (125, 870), "FAIL"),  # only 4x the throughput
        ((700, 100), (125, 870), "FAIL"),  # p99 above a tenth
    ],
)
def test_heavy_check_needs_both_throughput_and_p99(
    batched: tuple[float, float], unbatched: tuple[float, float], status: str
) -> None:
    check = stats.heavy_check(run(*batched), run(*unbatched))
    assert check.status == status
    assert stats.heavy_check(None, run(*unbatched)).status == "N/A"
