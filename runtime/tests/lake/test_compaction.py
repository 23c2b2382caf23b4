"""Compaction: one file per past day, rows once each in order, idempotent, local and on S3."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from tests.servers.seaweedfs import SECRET_KEY, SeaweedS3

from modelrail_runtime.lake.__main__ import main
from modelrail_runtime.lake.compaction import compact
from modelrail_runtime.lake.labels import Label, labels_table
from modelrail_runtime.lake.location import open_location
from modelrail_runtime.prediction_log import ParquetSink

TODAY = dt.datetime.now(dt.UTC).date()
DAY_1 = (TODAY - dt.timedelta(days=2)).isoformat()
DAY_2 = (TODAY - dt.timedelta(days=1)).isoformat()


def rows(day: str, numbers: list[int]) -> pa.Table:
    """Prediction rows ``p<number>`` of ``day``, the number as the second of the day."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return pa.table(
        {
            "timestamp": pa.array(
                [start + dt.timedelta(seconds=n) for n in numbers], pa.timestamp("us", tz="UTC")
            ),
            "prediction_id": [f"p{n:04d}" for n in numbers],
            "output_label": [n % 3 for n in numbers],
        }
    )


def fill(url: str) -> None:
    """Parts as the writer leaves them: out of order, one row stored twice (a retry)."""
    sink = ParquetSink.open(url)
    sink.write(DAY_1, rows(DAY_1, [5, 3, 9]))
    sink.write(DAY_1, rows(DAY_1, [1, 3]))  # p0003 again
    sink.write(DAY_1, rows(DAY_1, [7]))
    sink.write(DAY_2, rows(DAY_2, [2, 1]))
    sink.write(TODAY.isoformat(), rows(TODAY.isoformat(), [4]))  # still being written


def digests(url: str) -> dict[str, str]:
    """sha256 of every file under ``url``, by path."""
    location = open_location(url)
    selector = pafs.FileSelector(location.root, recursive=True)
    files = [info.path for info in location.filesystem.get_file_info(selector) if info.is_file]
    result = {}
    for path in files:
        with location.filesystem.open_input_stream(path) as stream:
            result[path.removeprefix(location.root)] = hashlib.sha256(stream.read()).hexdigest()
    return result


def read(url: str, day: str, name: str = "compacted.parquet") -> list[tuple[Any, ...]]:
    location = open_location(url)
    table = pq.read_table(location.path(f"date={day}", name), filesystem=location.filesystem)
    return [(row["prediction_id"], row["output_label"]) for row in table.to_pylist()]


def check_compaction_of(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(url)
    assert main(["compact", url]) == 0
    output = capsys.readouterr().out
    assert f"{DAY_1}: 3 files -> " in output
    assert "(5 rows, 1 duplicates dropped)" in output
    assert "compacted 2 of 2 days: 4 files in, 2 files out, 7 rows" in output
    first = digests(url)
    past = sorted(path for path in first if f"/date={TODAY}/" not in path)
    assert past == [f"/date={DAY_1}/compacted.parquet", f"/date={DAY_2}/compacted.parquet"]
    (today,) = (path for path in first if f"/date={TODAY}/" in path)
    assert today.rsplit("/", 1)[1].startswith("part-"), "today is left to the writer"
    assert read(url, DAY_1) == [
        ("p0001", 1),
        ("p0003", 0),
        ("p0005", 2),
        ("p0007", 1),
        ("p0009", 0),
    ]
    assert read(url, DAY_2) == [("p0001", 1), ("p0002", 2)]
    # Twice: nothing to do, every byte as it was.
    assert main(["compact", url]) == 0
    assert "compacted 0 of 2 days" in capsys.readouterr().out
    assert digests(url) == first


def test_a_local_lake_is_compacted_to_one_file_per_past_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check_compaction_of(str(tmp_path / "lake"), capsys)
    assert not list((tmp_path / "lake").rglob(".*")), "no temporary file left"


def test_an_s3_lake_is_compacted_to_one_file_per_past_day(
    s3_store: SeaweedS3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in s3_store.client_env().items():
        monkeypatch.setenv(key, value)
    check_compaction_of(f"s3://lake/compaction-{uuid.uuid4().hex[:8]}", capsys)


def test_a_crash_between_write_and_delete_is_repaired_to_the_same_file(tmp_path: Path) -> None:
    url = str(tmp_path)
    sink = ParquetSink.open(url)
    sink.write(DAY_1, rows(DAY_1, [2, 1]))
    sink.write(DAY_1, rows(DAY_1, [3]))
    parts = {path.name: path.read_bytes() for path in tmp_path.glob("date=*/part-*")}
    location = open_location(url)
    compact(location, [DAY_1])
    compacted = tmp_path / f"date={DAY_1}" / "compacted.parquet"
    once = compacted.read_bytes()
    # The crash: the merged file was written, the parts were not deleted.
    for name, data in parts.items():
        (tmp_path / f"date={DAY_1}" / name).write_bytes(data)
    (summary,) = compact(location, [DAY_1])
    assert (summary.files_in, summary.rows, summary.duplicates) == (3, 3, 3)
    assert compacted.read_bytes() == once
    assert [p.name for p in (tmp_path / f"date={DAY_1}").iterdir()] == ["compacted.parquet"]


def test_late_parts_are_merged_into_the_compacted_file(tmp_path: Path) -> None:
    url = str(tmp_path)
    sink = ParquetSink.open(url)
    sink.write(DAY_1, rows(DAY_1, [2]))
    location = open_location(url)
    compact(location, [DAY_1])
    sink.write(DAY_1, rows(DAY_1, [1, 3]))
    (summary,) = compact(location, [DAY_1])
    assert (summary.files_in, summary.rows) == (2, 3)
    assert [row[0] for row in read(url, DAY_1)] == ["p0001", "p0002", "p0003"]


def test_bad_arguments_are_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["compact", "lake", "--day", "yesterday"])
    assert exit_.value.code == 2
    assert "'yesterday' is not a day: expected YYYY-MM-DD" in capsys.readouterr().err
    assert main(["compact", f"s3://modelrail-test:{SECRET_KEY}@lake/logs"]) == 2
    captured = capsys.readouterr()
    assert SECRET_KEY not in captured.err + captured.out
    assert "credentials in the URL are refused" in captured.err


def test_labels_are_compacted_too_every_report_kept_and_the_latest_still_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "labels")
    sink = ParquetSink.open(url)
    noon = dt.datetime.fromisoformat(DAY_1).replace(tzinfo=dt.UTC).timestamp() + 43_200
    # One file per request, as the endpoint writes them; p1 reported twice (the later wins).
    sink.write(DAY_1, labels_table([Label("p1", "stayed", None)], "crm", noon + 60))
    sink.write(DAY_1, labels_table([Label("p2", "churned", None)], "crm", noon))
    sink.write(DAY_1, labels_table([Label("p1", "churned", None)], "crm", noon + 120))
    # A run that died after writing its file but before deleting the parts: rows twice.
    first = open_location(url)
    merged_once = pq.read_table(first.path(f"date={DAY_1}"), filesystem=first.filesystem)
    pq.write_table(merged_once, first.path(f"date={DAY_1}", "compacted.parquet"))
    assert main(["compact", url]) == 0
    assert "1 of 1 days" in capsys.readouterr().out
    table = pq.read_table(first.path(f"date={DAY_1}", "compacted.parquet"))
    assert [(r["prediction_id"], r["label"]) for r in table.to_pylist()] == [
        ("p2", "churned"),
        ("p1", "stayed"),
        ("p1", "churned"),
    ]
