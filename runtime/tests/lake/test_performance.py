"""Realized performance: metrics against scikit-learn's, latest label wins, idempotency,
the command line and the Prometheus textfile."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, root_mean_squared_error

from modelrail_runtime.lake import __main__ as lake_cli
from modelrail_runtime.lake.labels import Label, labels_table
from modelrail_runtime.lake.performance import PerformanceError, realized_performance
from modelrail_runtime.lake.report import ReportRequest, run
from modelrail_runtime.lake.tables import write_day

CLASSES = np.array(["churned", "stayed", "unknown"])
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def predictions(
    ids: list[str], outputs: list[object], version: str = "1", output: str = "output_label"
) -> pa.Table:
    """Prediction rows as the log holds them (the columns the job reads)."""
    return pa.table(
        {
            "prediction_id": ids,
            "model_name": ["churn"] * len(ids),
            "model_version": [version] * len(ids),
            output: outputs,
        }
    )


def with_day(table: pa.Table, day: str) -> pa.Table:
    return table.append_column("date", pa.array([day] * table.num_rows, pa.string()))


def test_classification_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    truth = rng.choice(CLASSES, 500, p=[0.3, 0.6, 0.1])
    predicted = np.where(rng.random(500) < 0.7, truth, rng.choice(CLASSES, 500))
    ids = [f"p-{i}" for i in range(600)]  # 100 predictions never labelled
    table = with_day(predictions(ids, [*predicted, *["stayed"] * 100]), "2026-03-01")
    labels = labels_table([Label(ids[i], str(truth[i]), None) for i in range(500)], "test")
    [row] = realized_performance(table, labels)
    assert row.accuracy == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert row.macro_f1 == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-12)
    assert (row.predictions, row.labelled, row.coverage) == (600, 500, pytest.approx(500 / 600))
    assert (row.rmse, row.mae) == (None, None)


def test_macro_f1_counts_a_class_only_predicted() -> None:
    truth = np.array(["a", "a", "b", "b"])
    predicted = np.array(["a", "c", "b", "b"])  # "c" never true: its F1 is 0
    labels = labels_table([Label(str(i), t, None) for i, t in enumerate(truth)], "test")
    [row] = realized_performance(
        with_day(predictions(["0", "1", "2", "3"], list(predicted)), "d"), labels
    )
    assert row.macro_f1 == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(100, 30, 300)
    predicted = truth + rng.normal(0, 10, 300)
    ids = [f"r-{i}" for i in range(300)]
    table = with_day(predictions(ids, list(predicted), output="output_prediction"), "2026-03-01")
    labels = labels_table([Label(ids[i], None, float(truth[i])) for i in range(300)], "test")
    [row] = realized_performance(table, labels)
    assert row.rmse == pytest.approx(root_mean_squared_error(truth, predicted), rel=1e-12)
    assert row.mae == pytest.approx(mean_absolute_error(truth, predicted), rel=1e-12)
    assert (row.labelled, row.coverage, row.accuracy) == (300, 1.0, None)


def test_the_latest_label_wins_and_groups_are_per_version_and_day() -> None:
    table = pa.concat_tables(
        [
            with_day(predictions(["a", "b"], ["stayed", "stayed"], "1"), "2026-03-01"),
            with_day(predictions(["c"], ["churned"], "2"), "2026-03-01"),
            with_day(predictions(["d"], ["churned"], "2"), "2026-03-02"),
        ]
    )
    labels = pa.concat_tables(
        [
            labels_table([Label("a", "churned", None)], "first", observed_at=1000.0),
            labels_table([Label("a", "stayed", None)], "correction", observed_at=2000.0),
            labels_table([Label("c", "stayed", None)], "job", observed_at=1500.0),
        ]
    )
    rows = {(row.model_version, row.date): row for row in realized_performance(table, labels)}
    assert set(rows) == {("1", "2026-03-01"), ("2", "2026-03-01"), ("2", "2026-03-02")}
    assert (rows["1", "2026-03-01"].accuracy, rows["1", "2026-03-01"].labelled) == (1.0, 1)
    assert rows["2", "2026-03-01"].accuracy == 0.0
    assert (rows["2", "2026-03-02"].labelled, rows["2", "2026-03-02"].accuracy) == (0, None)


def test_an_embedding_log_cannot_be_scored() -> None:
    table = with_day(predictions(["a"], [[1.0, 0.0]], output="output_embedding"), "d")
    with pytest.raises(PerformanceError, match="embeddings have no ground truth"):
        realized_performance(table, labels_table([], "test"))


def lake(tmp_path: Path) -> ReportRequest:
    """Two days of churn predictions and some labels under ``tmp_path``."""
    write_day(
        str(tmp_path / "predictions"),
        "2026-03-01",
        "part-1.parquet",
        predictions(["a", "b", "c"], ["stayed", "churned", "stayed"]),
    )
    write_day(
        str(tmp_path / "predictions"),
        "2026-03-02",
        "part-2.parquet",
        predictions(["d", "e"], ["stayed", "stayed"], "2"),
    )
    write_day(
        str(tmp_path / "labels"),
        "2026-03-02",
        "job.parquet",
        labels_table(
            [Label("a", "stayed", None), Label("b", "stayed", None), Label("d", "churned", None)],
            "job",
        ),
    )
    return ReportRequest(
        str(tmp_path / "predictions"),
        str(tmp_path / "labels"),
        str(tmp_path / "performance"),
        textfile=tmp_path / "metrics" / "performance.prom",
    )


def test_the_job_writes_one_file_per_day_and_a_rerun_replaces_it(tmp_path: Path) -> None:
    request = lake(tmp_path)
    run(request, now=NOW)
    first = sorted(p.relative_to(tmp_path) for p in (tmp_path / "performance").rglob("*"))
    run(request, now=NOW)
    second = sorted(p.relative_to(tmp_path) for p in (tmp_path / "performance").rglob("*"))
    assert (
        first
        == second
        == [
            Path("performance/date=2026-03-01"),
            Path("performance/date=2026-03-01/performance.parquet"),
            Path("performance/date=2026-03-02"),
            Path("performance/date=2026-03-02/performance.parquet"),
        ]
    )
    table = ds.dataset(tmp_path / "performance", partitioning="hive").to_table()
    assert table.num_rows == 2
    assert sorted(
        zip(table["model_version"].to_pylist(), table["accuracy"].to_pylist(), strict=True)
    ) == [
        ("1", 0.5),
        ("2", 0.0),
    ]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_textfile_holds_each_versions_latest_scores(tmp_path: Path) -> None:
    request = lake(tmp_path)
    run(request, now=NOW)
    found = samples((tmp_path / "metrics" / "performance.prom").read_text())
    version = {
        1: {("model_name", "churn"), ("model_version", "1")},
        2: {("model_name", "churn"), ("model_version", "2")},
    }
    assert found["model_realized_accuracy", frozenset(version[1])] == 0.5
    assert found["model_label_coverage", frozenset(version[1])] == pytest.approx(2 / 3)
    assert found["model_realized_accuracy", frozenset(version[2])] == 0.0
    assert found["model_labelled_predictions", frozenset(version[2])] == 1
    stamp = ("model_realized_performance_timestamp_seconds", frozenset({("model_name", "churn")}))
    assert found[stamp] == NOW.timestamp()
    assert not [name for name, _ in found if name == "model_realized_rmse"]


def test_days_limits_the_window(tmp_path: Path) -> None:
    request = lake(tmp_path)
    rows = run(ReportRequest(**{**request.__dict__, "days": 1}), now=NOW)
    assert [(row.date, row.model_version) for row in rows] == [("2026-03-02", "2")]


def test_the_command_line_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = lake(tmp_path)
    status = lake_cli.main(
        [
            "performance",
            "--predictions",
            request.predictions_url,
            "--labels",
            request.labels_url,
            "--output",
            request.output_url,
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == [
        "date",
        "model_version",
        "predictions",
        "labelled",
        "coverage",
        "accuracy",
        "macro_f1",
    ]
    assert printed[1].split()[:5] == ["2026-03-01", "1", "3", "2", "0.6667"]


def test_the_command_line_names_a_lake_without_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = lake_cli.main(
        [
            "performance",
            "--predictions",
            str(tmp_path / "none"),
            "--labels",
            str(tmp_path),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == 1
    assert f"no predictions under {tmp_path / 'none'}" in capsys.readouterr().err
