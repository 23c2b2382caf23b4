"""The runner's options and the command line the doc shows."""

from __future__ import annotations

import pytest

from bench import run
from bench.targets import Group


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
        *("a", "b", "b-onnx", "c", "c-lean", "d", "d0", "e"),
        *("b-heavy", "c-heavy", "c-heavy-batch", "d-heavy-batch"),
        *("b-lgbm", "b-onnx-lgbm", "c-lgbm", "d-lgbm"),
        *("b-emb", "c-emb", "c-emb-nobatch"),
    ]


def test_the_heavy_targets_run_at_one_row_and_c1_c32_only() -> None:
    args = run.parse_args([])
    assert run.cells_of(run.BY_ID["c-heavy-batch"], args) == [(1, 1), (32, 1)]
    assert len(run.cells_of(run.BY_ID["c"], args)) == 6
    assert run.parse_args(["--no-heavy", "--no-lightgbm", "--no-embedding"]).target_ids[-1] == "e"


def test_the_lightgbm_targets_run_at_c1_and_c8_on_both_payloads() -> None:
    args = run.parse_args([])
    expected = [(1, 1), (1, 64), (8, 1), (8, 64)]
    for tid in ("b-lgbm", "b-onnx-lgbm", "c-lgbm", "d-lgbm"):
        assert run.cells_of(run.BY_ID[tid], args) == expected
    narrow = run.parse_args(["--concurrency", "8,32", "--rows", "1"])
    assert run.cells_of(run.BY_ID["d-lgbm"], narrow) == [(8, 1)]
    ids = run.parse_args(["--no-lightgbm"]).target_ids
    assert not [t for t in ids if t.endswith("-lgbm")]


@pytest.mark.parametrize(
    ("ids", "needed"),
    [
        (["a", "b", "d"], set()),
        (["b", "c"], {Group.IRIS}),
        (["b-onnx"], {Group.IRIS}),  # the graph (c) serves, compiled in its venv
        (["b-onnx-lgbm"], {Group.LIGHTGBM}),
        (["c-heavy"], {Group.IRIS}),
        (["b-lgbm"], {Group.LIGHTGBM}),  # its model is trained in the LightGBM render's venv
        (["c-lgbm", "d-lgbm"], {Group.LIGHTGBM}),
        (["c-lean", "c-lgbm"], {Group.IRIS, Group.LIGHTGBM}),
        (["b-emb"], set()),  # sentence-transformers in the bench's own venv
        (["c-emb-nobatch"], {Group.EMBEDDING}),
        (["c", "b-emb", "c-emb"], {Group.IRIS, Group.EMBEDDING}),
    ],
)
def test_each_render_is_made_only_when_a_target_needs_it(
    ids: list[str], needed: set[Group]
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


def test_the_embedding_group_runs_one_text_per_request_at_c1_and_c32() -> None:
    args = run.parse_args([])
    for tid in ("b-emb", "c-emb", "c-emb-nobatch"):
        assert run.cells_of(run.BY_ID[tid], args) == [(1, 1), (32, 1)]
    ids = run.parse_args(["--no-embedding"]).target_ids
    assert not [t for t in ids if "-emb" in t]


def test_the_embedding_group_gets_its_own_longer_windows() -> None:
    args = run.parse_args([])
    assert run.timing(run.BY_ID["c-emb"], args) == (2.0, 6.0)
    assert run.timing(run.BY_ID["c"], args) == (0.5, 2.0)
    quick = run.parse_args(["--quick"])
    assert run.timing(run.BY_ID["b-emb"], quick) == (1.0, 2.0)
    custom = run.parse_args(["--embedding-warmup", "3", "--embedding-duration", "10"])
    assert run.timing(run.BY_ID["c-emb-nobatch"], custom) == (3.0, 10.0)


def test_only_selects_whole_groups() -> None:
    assert run.parse_args(["--only", "embedding"]).target_ids == ["b-emb", "c-emb", "c-emb-nobatch"]
    both = run.parse_args(["--only", "lightgbm,embedding", "--no-embedding"]).target_ids
    assert both == [
        *("b-lgbm", "b-onnx-lgbm", "c-lgbm", "d-lgbm"),
        *("b-emb", "c-emb", "c-emb-nobatch"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "embeddings"], "--only: unknown group embeddings; choose from iris, heavy"),
        (["--only", ","], "--only: unknown group (none)"),
        (["--only", "embedding", "--targets", "b"], "--only and --targets: give one of them"),
    ],
)
def test_only_refuses_what_it_cannot_select(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run.parse_args(argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ids", "files"),
    [
        (["b", "c"], ["latest.json"]),
        (["b-emb", "c-emb"], ["latest-embedding.json"]),
        (["c", "c-emb"], ["latest.json", "latest-embedding.json"]),
    ],
)
def test_a_run_replaces_the_latest_results_of_the_groups_it_measured(
    ids: list[str], files: list[str]
) -> None:
    assert run.latest_files(ids) == files
