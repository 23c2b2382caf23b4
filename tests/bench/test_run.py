"""The runner's options and the command line the doc shows."""

from __future__ import annotations

import pytest

from bench import run


def test_quick_shortens_cells_and_skips_containers_and_profiles() -> None:
    args = run.parse_args(["--quick"])
    assert (args.warmup, args.duration) == (1.0, 1.0)
    assert args.containers is False
    assert args.profile is False
    assert args.repetitions == 3


def test_defaults_cover_the_issue_matrix() -> None:
    args = run.parse_args([])
    assert args.repetitions == 4
    assert args.concurrency == [1, 8, 32]
    assert args.rows == [1, 64]
    assert args.target_ids == [
        *("a", "b", "c", "c-lean", "d", "d0", "e"),
        *("b-heavy", "c-heavy", "c-heavy-batch", "d-heavy-batch"),
        *("b-lgbm", "c-lgbm", "d-lgbm"),
    ]


def test_the_heavy_targets_run_at_one_row_and_c1_c32_only() -> None:
    args = run.parse_args([])
    assert run.cells_of(run.BY_ID["c-heavy-batch"], args) == [(1, 1), (32, 1)]
    assert len(run.cells_of(run.BY_ID["c"], args)) == 6
    assert run.parse_args(["--no-heavy", "--no-lightgbm"]).target_ids[-1] == "e"


def test_the_lightgbm_targets_run_at_c1_and_c8_on_both_payloads() -> None:
    args = run.parse_args([])
    expected = [(1, 1), (1, 64), (8, 1), (8, 64)]
    for tid in ("b-lgbm", "c-lgbm", "d-lgbm"):
        assert run.cells_of(run.BY_ID[tid], args) == expected
    narrow = run.parse_args(["--concurrency", "8,32", "--rows", "1"])
    assert run.cells_of(run.BY_ID["d-lgbm"], narrow) == [(8, 1)]
    ids = run.parse_args(["--no-lightgbm"]).target_ids
    assert not [t for t in ids if t.endswith("-lgbm")]


@pytest.mark.parametrize(
    ("ids", "needed"),
    [
        (["a", "b", "d"], (False, False)),
        (["b", "c"], (True, False)),
        (["c-heavy"], (True, False)),
        (["b-lgbm"], (False, True)),  # its model is trained in the LightGBM render's venv
        (["c-lgbm", "d-lgbm"], (False, True)),
        (["c-lean", "c-lgbm"], (True, True)),
    ],
)
def test_each_render_is_made_only_when_a_target_needs_it(
    ids: list[str], needed: tuple[bool, bool]
) -> None:
    assert run.services_needed(ids) == needed


def test_unknown_target_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run.parse_args(["--targets", "a,zz"])
    assert "unknown zz; choose from a, b" in capsys.readouterr().err


def test_command_leaves_the_note_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_VIA_MAKE", raising=False)
    shown = run._command(["--quick", "--note", "busy machine", "--rows", "1"])
    assert shown == "uv run python -m bench --quick --rows 1"


def test_command_under_make_shows_bench_args(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_VIA_MAKE", "1")
    monkeypatch.setenv("BENCH_ARGS", "--quick")
    assert run._command(["--quick"]) == 'make bench BENCH_ARGS="--quick"'


def test_group_cpu_seconds_counts_this_process_group() -> None:
    import os

    from bench.servers import group_cpu_seconds

    sum(i * i for i in range(200_000))  # burn a little CPU
    assert group_cpu_seconds(os.getpgid(0)) > 0
    assert group_cpu_seconds(2**22 + 12345) == 0


def test_the_targets_of_a_cell_are_measured_back_to_back() -> None:
    order = run.schedule(
        {
            "b": [(1, 1), (8, 1), (32, 1)],
            "c": [(1, 1), (8, 1), (32, 1)],
            "c-heavy": [(1, 1), (32, 1)],
        }
    )
    assert order == [
        ("b", 1, 1), ("c", 1, 1), ("c-heavy", 1, 1),
        ("b", 8, 1), ("c", 8, 1),
        ("b", 32, 1), ("c", 32, 1), ("c-heavy", 32, 1),
    ]  # fmt: skip
