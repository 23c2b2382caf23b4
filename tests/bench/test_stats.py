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


Measured = tuple[dict[stats.Cell, dict[str, float | int]], list[dict[str, object]]]


def measured(**by_target: tuple[float, float]) -> Measured:
    """Cells and their runs: three equal repetitions per target at c=1, 8 and 32."""
    cells, runs = {}, []
    for tid, (rps, p99) in by_target.items():
        for c in (1, 8, 32):
            target = tid.replace("_", "-")
            cells[target, c, 1] = run(rps, p99)
            runs += [
                {"target": target, "concurrency": c, "rows": 1, "rep": rep, **run(rps, p99)}
                for rep in (1, 2, 3)
            ]
    return cells, runs


def at(target: str, rep: int, rps: float) -> dict[str, object]:
    """One measurement at c=8, 1 row."""
    return {"target": target, "concurrency": 8, "rows": 1, "rep": rep, "rps": rps}


def test_paired_ratio_compares_the_same_repetitions() -> None:
    # The host slows down in repetition 2 for both targets: the pairs see it, medians not.
    runs = [at("c", 1, 900), at("b", 1, 1000), at("c", 2, 450), at("b", 2, 500),
            at("c", 3, 950), at("b", 3, 1000), at("c", 4, 999)]  # fmt: skip
    assert stats.paired_ratio(runs, "c", "b", 8, 1) == pytest.approx(2300 / 2500)
    assert stats.paired_ratio(runs, "c", "b", 32, 1) is None
    assert stats.paired_ratio(runs, "c", "e", 8, 1) is None
    assert stats.paired_ratio([at("c", 1, 900), at("e", 1, 0)], "c", "e", 8, 1) is None


def test_a_burst_in_one_repetition_counts_in_a_paired_ratio() -> None:
    # c loses 30 % in one repetition of three (a prediction-log flush): a median of the
    # per-repetition ratios would say 0 %, the work lost is 10 %.
    runs = [at("c", 1, 1000), at("c-lean", 1, 1000), at("c", 2, 700), at("c-lean", 2, 1000),
            at("c", 3, 1000), at("c-lean", 3, 1000)]  # fmt: skip
    assert stats.paired_ratio(runs, "c", "c-lean", 8, 1) == pytest.approx(0.9)


def test_c_over_b_passes_at_0_90_and_fails_below() -> None:
    ok = stats.ratio_check("c/b", *measured(c=(900, 1), b=(1000, 1)), "c", "b", 0.9, [1, 8, 32], 1)
    bad = stats.ratio_check("c/b", *measured(c=(899, 1), b=(1000, 1)), "c", "b", 0.9, [1, 8], 1)
    assert ok.status == "PASS"
    assert bad.status == "FAIL"
    assert "c=8 0.90" in bad.detail


def test_ratio_check_with_lower_p99_fails_on_latency_alone() -> None:
    data = measured(c=(1000, 5.0), d=(300, 4.0))
    check = stats.ratio_check("c/d", *data, "c", "d", 3, [8], 1, lower_p99=True)
    assert check.status == "FAIL"
    assert "p99 5.00 vs 4.00 ms" in check.detail


def test_ratio_check_is_na_when_a_target_did_not_run() -> None:
    check = stats.ratio_check("c/e", *measured(c=(1000, 1)), "c", "e", 3, [8], 1)
    assert check.status == "N/A"
    assert check.line().startswith("N/A ")


def test_issue_checks_cover_every_measurable_target() -> None:
    data = measured(b=(1000, 2), c=(950, 1), c_lean=(980, 1), d=(300, 30), d0=(600, 20),
                    e=(250, 50))  # fmt: skip
    containers = {"c": {"cold_start_s": 1.2, "image_bytes": 300}, "d": {"image_bytes": 1000}}
    checks = {c.name.split(" ")[0] + " " + c.name.split(" ")[1]: c.status
              for c in stats.issue_checks(*data, containers, [1, 8, 32])}  # fmt: skip
    assert checks == {
        "c/b >=": "PASS",
        "c/d >=": "PASS",
        "c/d0 >=": "PASS",
        "c/e >=": "PASS",
        "drift +": "PASS",
        "cold start": "PASS",
        "image size": "PASS",
        "heavy model:": "N/A",
        "LightGBM c/d": "N/A",
    }


@pytest.mark.parametrize(
    ("c_lgbm", "d_lgbm", "status"),
    [
        ((1500, 6.0), (450, 25.0), "PASS"),
        ((1300, 6.0), (450, 25.0), "FAIL"),  # 2.9x the throughput
        ((1500, 30.0), (450, 25.0), "FAIL"),  # the higher p99
    ],
)
def test_lightgbm_check_compares_the_groups_c_and_d_at_c8(
    c_lgbm: tuple[float, float], d_lgbm: tuple[float, float], status: str
) -> None:
    # The iris group's own c and d do not count: only the LightGBM targets do.
    data = measured(c=(100, 1), d=(1000, 1), c_lgbm=c_lgbm, d_lgbm=d_lgbm)
    (check,) = [c for c in stats.issue_checks(*data, {}, [1, 8]) if c.name.startswith("LightGBM")]
    assert check.name == stats.LIGHTGBM_CHECK
    assert check.status == status
    assert check.line().startswith(f"{status:<4}  LightGBM c/d >= 3 at c=8 with lower p99")
    assert f"c=8 {c_lgbm[0] / d_lgbm[0]:.2f}" in check.detail


def test_logging_cost_check_uses_the_worst_concurrency() -> None:
    cells, runs = measured(c=(1000, 1), c_lean=(1000, 1))
    for r in runs:
        if r["target"] == "c" and r["concurrency"] == 32:
            r["rps"] = 940
    checks = stats.issue_checks(cells, runs, {}, [1, 8, 32])
    (cost,) = [c for c in checks if c.name.startswith("drift")]
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
    check = stats.heavy_check(run(*batched), run(*unbatched), batched[0] / unbatched[0])
    assert check.status == status
    assert stats.heavy_check(None, run(*unbatched), None).status == "N/A"


@pytest.mark.parametrize(
    ("value", "or_equal", "status"),
    [(250.0, True, "PASS"), (250.0, False, "FAIL"), (249.9, False, "PASS"), (250.1, True, "FAIL")],
)
def test_threshold_check_at_the_limit(value: float, or_equal: bool, status: str) -> None:
    check = stats.threshold_check("cpu", value, 250, "us", below=True, or_equal=or_equal)
    assert check.status == status
    assert stats.threshold_check("cpu", None, 250, "us", below=True).status == "N/A"


def test_logging_cost_is_the_worst_concurrency_or_none() -> None:
    _, runs = measured(c=(950, 1), c_lean=(1000, 1))
    assert stats.logging_cost(runs, [1, 8]) == pytest.approx(0.05)
    assert stats.logging_cost(runs, [64]) is None
